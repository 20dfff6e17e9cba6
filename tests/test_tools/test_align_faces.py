"""tools/misc/align_faces.py on tiny data: output and clear errors."""
import os.path as osp
import runpy
import subprocess
import sys

import cv2
import numpy as np
import pytest

from facessl.datasets.transforms.alignment import (ARCFACE_TEMPLATE,
                                                   align_face,
                                                   transform_points)
from tests.conftest import REPO_ROOT

ALIGN = osp.join(REPO_ROOT, 'tools/misc/align_faces.py')


def _run(tool, args, env, cwd):
    return subprocess.run([sys.executable, tool, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_align_faces_writes_aligned_images(tmp_path, subprocess_env):
    rng = np.random.default_rng(0)
    (tmp_path / 'raw' / 'a').mkdir(parents=True)
    lines = []
    for k in range(2):
        img = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
        cv2.imwrite(str(tmp_path / 'raw' / 'a' / f'{k}.png'), img)
        pts = transform_points(ARCFACE_TEMPLATE,
                               np.array([[.7, .1, 20. + k], [-.1, .7, 5.]]))
        lines.append(f'a/{k}.png ' + ' '.join(f'{v:.4f}' for v in pts.ravel()))
    (tmp_path / 'lmk.txt').write_text('\n'.join(lines) + '\n')
    run = _run(ALIGN, ['lmk.txt', 'raw', 'out', '--no-progress'],
               subprocess_env, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert 'aligned 2 images' in run.stdout
    out = cv2.imread(str(tmp_path / 'out' / 'a' / '1.png'))
    img = cv2.imread(str(tmp_path / 'raw' / 'a' / '1.png'))
    pts = np.array(lines[1].split()[1:], np.float32).reshape(5, 2)
    assert np.array_equal(out, align_face(img, pts))


def test_align_faces_errors(tmp_path, monkeypatch):
    main = runpy.run_path(ALIGN, run_name='facessl_tool')['main']
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'lmk.txt').write_text('a.png 1 2 3 4 5 6 7 8 9 10\n'
                                      'b.png 1 2 3\n')
    with pytest.raises(SystemExit, match='lmk.txt: line 2: expected 11 '
                       'columns "image_name x1 y1 ... x5 y5", got 4'):
        main(['lmk.txt', '.', 'out', '--no-progress'])
    (tmp_path / 'lmk.txt').write_text('a.png 1 2 3 4 5 6 7 8 9 10\n')
    with pytest.raises(SystemExit, match=r'a.png: image file not found '
                       r'\(record 1 of lmk.txt\)'):
        main(['lmk.txt', '.', 'out', '--no-progress'])
    with pytest.raises(SystemExit, match='expected 12 columns'):
        main(['lmk.txt', '.', 'out', '--with-score'])
    with pytest.raises(SystemExit, match='multiple of 112 or 128'):
        main(['lmk.txt', '.', 'out', '--image-size', '100'])
