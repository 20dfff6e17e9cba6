"""Tests of FaceImageFolder and the synthetic-face writer tool."""
import json
import os.path as osp
import runpy

import numpy as np
import pytest

from facessl.datasets.synthetic import SyntheticFaceGenerator
from facessl.datasets.synthetic.export import write_synthetic_faces
from facessl.registry import DATASETS


@pytest.fixture(scope='module')
def written(tmp_path_factory):
    """2 identities x 2 images written by the tool's library function."""
    root = str(tmp_path_factory.mktemp('faces'))
    write_synthetic_faces(root, 2, 2, img_size=32, seed=3)
    return root


def build(**cfg):
    return DATASETS.build(dict(type='FaceImageFolder', **cfg))


def test_round_trip_pixels_labels_landmarks(written):
    gen = SyntheticFaceGenerator(img_size=32, seed=3)
    folder = build(data_root=written)
    listed = build(data_root=written, ann_file='list.txt')
    annotated = build(data_root=written, ann_file='annotations.json')
    for ds in (folder, listed, annotated):
        assert len(ds) == 4
        assert ds.get_gt_labels().tolist() == [0, 0, 1, 1]
        assert ds.metainfo['classes'] == ('000000', '000001')
    for idx, (identity, index) in enumerate([(0, 0), (0, 1), (1, 0),
                                             (1, 1)]):
        ref = gen(identity, index)
        for ds in (folder, listed, annotated):
            info = ds[idx]
            assert np.array_equal(info['img'], ref['img'])  # lossless PNG
            assert info['img_shape'] == (32, 32)
        info = annotated[idx]
        assert info['landmarks'].dtype == np.float32
        assert np.array_equal(info['landmarks'], ref['landmarks'])
        assert np.array_equal(info['attributes'], ref['attributes'])
        assert np.array_equal(info['landmarks_visible'], ref['visible'])
        assert info['identity'] == identity
    assert annotated.metainfo['num_landmarks'] == 68
    assert annotated.metainfo['attribute_names'][0] == 'smiling'


def test_pipeline_and_lazy_labels(written):
    ds = build(
        data_root=written,
        ann_file='list.txt',
        pipeline=[dict(type='Resize', scale=16),
                  dict(type='PackInputs')])
    out = ds[2]
    assert tuple(out['inputs'].shape) == (3, 16, 16)
    assert out['data_samples'].gt_label.tolist() == [1]
    # without load_image the pipeline reads the file itself
    ds = build(
        data_root=written,
        load_image=False,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackInputs')])
    assert tuple(ds[0]['inputs'].shape) == (3, 32, 32)


def test_tool_writes_folder_list_and_json(tmp_path, repo_root, capsys):
    tool = runpy.run_path(
        osp.join(repo_root, 'tools', 'misc', 'make_synthetic_faces.py'),
        run_name='facessl_tool')
    out = str(tmp_path / 'set')
    tool['main']([
        '--out', out, '--num-identities', '2', '--images-per-identity', '3',
        '--img-size', '24', '--seed', '1', '--no-progress'
    ])
    assert 'folder: 6 images of 2 identities' in capsys.readouterr().out
    assert osp.isfile(osp.join(out, '000001', '0002.png'))
    with open(osp.join(out, 'list.txt')) as f:
        lines = f.read().split('\n')
    assert lines[0] == '000000/0000.png 0' and lines[5] == '000001/0002.png 1'
    with open(osp.join(out, 'annotations.json')) as f:
        ann = json.load(f)
    rec = ann['images'][4]
    assert rec['path'] == '000001/0001.png' and rec['label'] == 1
    assert len(rec['landmarks']) == 68 and set(rec['light']) == {
        'ambient', 'diffuse', 'direction'
    }


def test_missing_root_and_files(tmp_path, written):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        build(data_root=missing)
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        build(data_root=written, ann_file='nope.txt')
    listing = tmp_path / 'list.txt'
    listing.write_text('000000/0000.png 0\n000000/9999.png 0\n')
    ds = build(data_root=written, ann_file=str(listing))
    with pytest.raises(FileNotFoundError, match='9999.png'):
        ds[1]
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='no sub-folders'):
        build(data_root=str(empty))


def test_corrupt_image(tmp_path):
    (tmp_path / 'alice').mkdir()
    (tmp_path / 'alice' / 'broken.png').write_bytes(b'not a png at all')
    ds = build(data_root=str(tmp_path))
    with pytest.raises(ValueError, match='broken.png.*decode'):
        ds[0]


@pytest.mark.parametrize('line, message', [
    ('000000/0000.png', 'line 2: expected 2 columns'),
    ('000000/0000.png 0 extra', 'line 2: expected 2 columns'),
    ('000000/0000.png zero', 'not an integer'),
    ('000000/0000.png 7', 'expected 0..'),
])
def test_bad_list_lines(tmp_path, written, line, message):
    listing = tmp_path / 'bad.txt'
    listing.write_text(f'000000/0001.png 0\n{line}\n')
    with pytest.raises(ValueError, match=message) as err:
        build(data_root=written, ann_file=str(listing),
              classes=['a', 'b'])
    assert 'bad.txt' in str(err.value) or '0000.png' in str(err.value)


def test_bad_json(tmp_path, written):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'images': [{'path': '000000/0000.png'}]}))
    with pytest.raises(ValueError, match='record 0 has no "label"'):
        build(data_root=written, ann_file=str(bad))
