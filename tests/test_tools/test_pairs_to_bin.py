"""Tests of tools/dataset_converters/pairs_to_bin.py on tiny data."""
import os.path as osp
import runpy
import subprocess
import sys

import cv2
import numpy as np
import pytest

from facessl.datasets.verification_bin import (VerificationBin,
                                               load_verification_bin)

TOOL = osp.join('tools', 'dataset_converters', 'pairs_to_bin.py')
PAIRS = """2\t2
Alice\t1\t2
Alice\t1\tBob\t1

Bob\t1\t2
Bob\t2\tCarol\t1
"""


@pytest.fixture
def lfw_like(tmp_path):
    """IMAGE_ROOT/<name>/<name>_000N.png with random 16 x 16 pixels."""
    rng = np.random.default_rng(0)
    images = {}
    for name, count in (('Alice', 2), ('Bob', 2), ('Carol', 1)):
        (tmp_path / 'faces' / name).mkdir(parents=True)
        for n in range(1, count + 1):
            img = rng.integers(0, 256, (16, 16, 3), np.uint8)
            cv2.imwrite(
                str(tmp_path / 'faces' / name / f'{name}_{n:04d}.png'), img)
            images[(name, n)] = img
    (tmp_path / 'pairs.txt').write_text(PAIRS)
    return tmp_path, images


def _tool(repo_root):
    return runpy.run_path(osp.join(repo_root, TOOL), run_name='tool')


def test_tool_round_trip(lfw_like, repo_root, subprocess_env):
    root, images = lfw_like
    proc = subprocess.run([
        sys.executable,
        osp.join(repo_root, TOOL), 'faces', 'pairs.txt', 'out/lfw.bin',
        '--ext', '.png', '--image-size', '16', '--no-progress'
    ],
                          cwd=str(root),
                          env=subprocess_env,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert 'wrote 4 pairs (2 same, 2 different)' in proc.stdout
    assert 'resized' not in proc.stdout
    path = str(root / 'out' / 'lfw.bin')
    bins, issame = load_verification_bin(path)
    assert issame.tolist() == [True, False, True, False]
    with open(root / 'faces' / 'Bob' / 'Bob_0002.png', 'rb') as f:
        assert bins[6] == f.read()  # same-size images keep their bytes
    ds = VerificationBin(path, image_size=16, flip_test=False)
    order = [('Alice', 1), ('Alice', 2), ('Alice', 1), ('Bob', 1),
             ('Bob', 1), ('Bob', 2), ('Bob', 2), ('Carol', 1)]
    for idx, key in enumerate(order):
        assert np.array_equal(ds[idx]['img'], images[key])
        assert ds[idx]['set_name'] == 'lfw'


def test_tool_resizes_other_sizes(lfw_like, repo_root, capsys):
    root, images = lfw_like
    out = str(root / 'small.bin')
    _tool(repo_root)['main']([
        str(root / 'faces'),
        str(root / 'pairs.txt'), out, '--ext', 'png', '--image-size', '8',
        '--no-progress'
    ])
    assert 'resized 8 images to 8x8' in capsys.readouterr().out
    bins, _ = load_verification_bin(out)
    img = cv2.imdecode(np.frombuffer(bins[0], np.uint8), cv2.IMREAD_COLOR)
    expected = cv2.resize(images[('Alice', 1)], (8, 8),
                          interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(img, expected)  # re-encoded as PNG: lossless


def test_tool_errors(lfw_like, repo_root):
    root, _ = lfw_like
    main = _tool(repo_root)['main']
    args = [str(root / 'faces'), str(root / 'pairs.txt'),
            str(root / 'x.bin'), '--no-progress']
    with pytest.raises(FileNotFoundError,
                       match='pairs.txt: line 2: image .*Alice_0001.jpg '
                       'not found'):
        main(args)  # default --ext .jpg
    (root / 'pairs.txt').write_text('Alice 1 2\nAlice 1 Bob 1 x\n')
    with pytest.raises(ValueError, match='line 2: expected "name n1 n2" or '
                       '"name1 n1 name2 n2", got 5 columns'):
        main(args + ['--ext', '.png'])
    (root / 'pairs.txt').write_text('Alice 1 two\n')
    with pytest.raises(ValueError, match="line 1: image number 'two'"):
        main(args + ['--ext', '.png'])
    (root / 'faces' / 'Alice' / 'Alice_0002.png').write_bytes(b'no image')
    (root / 'pairs.txt').write_text('Alice 1 2\n')
    with pytest.raises(ValueError, match='line 1: image .*Alice_0002.png '
                       'cannot be decoded'):
        main(args + ['--ext', '.png'])
    assert not osp.exists(root / 'x.bin')


def test_tool_help(repo_root, capsys):
    with pytest.raises(SystemExit) as err:
        _tool(repo_root)['main'](['--help'])
    assert err.value.code == 0
    assert '--image-size' in capsys.readouterr().out
