"""scalar_records reads the newest run's scalars.json, or names the dir."""
import json

import pytest

from facessl.apis.berl_chain import read_scalars
from facessl.utils.scalars import scalar_records


def _write(root, stamp, rows):
    d = root / stamp / 'vis_data'
    d.mkdir(parents=True)
    (d / 'scalars.json').write_text(''.join(json.dumps(r) + '\n'
                                            for r in rows))


def test_newest_run_is_read(tmp_path):
    _write(tmp_path, '20260101_000000', [dict(iter=1, loss=9.)])
    _write(tmp_path, '20260102_000000',
           [dict(iter=1, loss=2.), dict(iter=2, loss=1., lr=0.1)])
    assert scalar_records(str(tmp_path)) == [
        dict(iter=1, loss=2.), dict(iter=2, loss=1., lr=0.1)]
    assert read_scalars(str(tmp_path), 'lr') == [(2, 0.1)]


def test_missing_file_names_the_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        scalar_records(str(tmp_path))
