"""tools/dataset_converters/folder_to_rec.py on tiny folders and lists."""
import os
import os.path as osp
import runpy
import subprocess
import sys

import numpy as np
import pytest

from facessl.datasets.synthetic.export import write_synthetic_faces
from facessl.registry import DATASETS
from tests.conftest import REPO_ROOT

TOOL = osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'folder_to_rec.py')


@pytest.fixture(scope='module')
def faces(tmp_path_factory):
    """3 identities x 2 PNG faces: folders, list.txt, annotations.json."""
    root = str(tmp_path_factory.mktemp('faces'))
    write_synthetic_faces(root, 3, 2, img_size=24, seed=4)
    return root


def run(args, env, cwd):
    """Run the tool as a command (slow: a fresh interpreter)."""
    return subprocess.run([sys.executable, TOOL, *args, '--no-progress'],
                          env=env, cwd=str(cwd), capture_output=True,
                          text=True, timeout=120)


def main(args, cwd, monkeypatch):
    """Run the tool's ``main`` in this process, from ``cwd``."""
    monkeypatch.chdir(cwd)
    runpy.run_path(TOOL, run_name='facessl_tool')['main'](
        [*args, '--no-progress'])


def test_folder_round_trip_png(faces, tmp_path, subprocess_env):
    done = run([faces, 'pack/train', '--encoding', '.png'], subprocess_env,
               tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'wrote 6 images of 3 identities' in done.stdout
    out = tmp_path / 'pack'
    assert sorted(os.listdir(out)) == [
        'train.classes.txt', 'train.idx', 'train.lst', 'train.rec']
    assert (out / 'train.lst').read_text().splitlines()[2] == \
        f'3\t1\t{osp.join(faces, "000001", "0000.png")}'
    ds = DATASETS.build(dict(
        type='FaceRecordIO', data_root=str(out),
        classes=str(out / 'train.classes.txt')))
    folder = DATASETS.build(dict(type='FaceImageFolder', data_root=faces))
    assert ds.metainfo['classes'] == ('000000', '000001', '000002')
    assert ds.get_gt_labels().tolist() == folder.get_gt_labels().tolist()
    for idx in range(6):
        assert np.array_equal(ds[idx]['img'], folder[idx]['img'])


def test_list_with_names_jpeg_and_swapped_channels(faces, tmp_path,
                                                   monkeypatch):
    listing = tmp_path / 'ids.txt'
    listing.write_text('000002/0001.png carol\n000000/0000.png alice\n'
                       '000002/0000.png carol\n000000/0001.png alice\n')
    main([str(listing), 'swapped', '--root', faces, '--quality', '98',
          '--channel-order', 'bgr'], tmp_path, monkeypatch)
    assert (tmp_path / 'swapped.classes.txt').read_text() == 'alice\ncarol\n'
    ds = DATASETS.build(dict(
        type='FaceRecordIO', data_root=str(tmp_path),
        rec_file='swapped.rec', channel_order='bgr'))
    assert ds.get_gt_labels().tolist() == [0, 0, 1, 1]
    folder = DATASETS.build(dict(type='FaceImageFolder', data_root=faces))
    # grouped by label, in list order within a label
    for idx, ref in enumerate([0, 1, 5, 4]):
        diff = np.abs(ds[idx]['img'].astype(int) - folder[ref]['img'])
        assert diff.mean() < 6  # JPEG q98


def test_failure_keeps_the_previous_pack(faces, tmp_path, monkeypatch,
                                         capsys):
    main([faces, 'train'], tmp_path, monkeypatch)
    before = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)}
    listing = tmp_path / 'broken.txt'
    listing.write_text('000000/0000.png 0\n000000/9999.png 0\n')
    with pytest.raises(FileNotFoundError, match='9999.png: image file not '
                       'found'):
        main([str(listing), 'train', '--root', faces], tmp_path,
             monkeypatch)
    after = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)
             if f != 'broken.txt'}
    assert after == before  # nothing replaced, no temporary files left
    with pytest.raises(SystemExit):
        main(['--help'], tmp_path, monkeypatch)
    assert '--channel-order' in capsys.readouterr().out
