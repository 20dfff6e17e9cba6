"""Tests of the COCO, 300-W and WFLW landmark data sets and layouts."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from facessl.datasets.face_landmarks import (CocoFaceLandmarks,
                                             Landmarks300W, WFLWLandmarks,
                                             read_pts)
from facessl.datasets.landmark_layouts import (WFLW98_FLIP_INDICES,
                                               check_flip_indices)
from facessl.datasets.synthetic import FLIP_INDICES
from facessl.registry import DATASETS


def _image(path, h=8, w=6):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.zeros((h, w, 3), np.uint8))


# --- COCO keypoints --------------------------------------------------------
def _coco(tmp_path, anns, keypoints=('l_eye', 'nose', 'r_eye')):
    doc = dict(
        images=[dict(id=1, file_name='a.png', width=6, height=8),
                dict(id=2, file_name='b.png', width=6, height=8)],
        annotations=anns,
        categories=[dict(id=1, name='face', keypoints=list(keypoints),
                         skeleton=[[1, 2], [2, 3]])])
    (tmp_path / 'ann.json').write_text(json.dumps(doc))
    _image(tmp_path / 'imgs' / 'a.png')
    _image(tmp_path / 'imgs' / 'b.png')


ANNS = [
    dict(id=5, image_id=1, category_id=1, iscrowd=0, num_keypoints=3,
         keypoints=[1, 2, 2, 3, 4, 1, 5, 2, 2], bbox=[0.5, 1, 5, 6]),
    dict(id=6, image_id=2, category_id=1, iscrowd=1, num_keypoints=3,
         keypoints=[1, 1, 2] * 3, bbox=[0, 0, 1, 1]),  # crowd: skipped
    dict(id=7, image_id=2, category_id=1, iscrowd=0, num_keypoints=0,
         keypoints=[0, 0, 0] * 3, bbox=[0, 0, 1, 1]),  # empty
    dict(id=8, image_id=2, category_id=1, iscrowd=0, num_keypoints=2,
         keypoints=[1, 1, 2, 0, 0, 0, 3, 5, 2]),  # no bbox
]


def test_coco_records_and_meta(tmp_path):
    _coco(tmp_path, ANNS)
    ds = DATASETS.build(
        dict(type='CocoFaceLandmarks', ann_file='ann.json',
             data_root=str(tmp_path), data_prefix='imgs',
             flip_indices=[2, 1, 0]))
    assert isinstance(ds, CocoFaceLandmarks)
    assert len(ds) == 2  # crowd and empty annotations dropped
    info = ds[0]
    assert info['img'].shape == (8, 6, 3)
    assert (info['img_id'], info['ann_id']) == (1, 5)
    assert info['landmarks'].dtype == np.float32
    assert info['landmarks'].tolist() == [[1, 2], [3, 4], [5, 2]]
    assert info['landmarks_visible'].tolist() == [True, False, True]
    assert info['landmarks_labelled'].all()
    assert info['bbox'].tolist() == [0.5, 1, 5.5, 7]  # xywh -> xyxy
    info = ds[1]
    assert info['landmarks_labelled'].tolist() == [True, False, True]
    assert info['bbox'].tolist() == [1, 1, 3, 5]  # labelled points' box
    meta = ds.metainfo
    assert meta['num_landmarks'] == 3
    assert meta['landmark_names'] == ('l_eye', 'nose', 'r_eye')
    assert meta['skeleton'] == ((0, 1), (1, 2))
    assert meta['flip_indices'] == (2, 1, 0)
    assert len(CocoFaceLandmarks(str(tmp_path / 'ann.json'),
                                 skip_empty=False)) == 3


def test_coco_errors(tmp_path):
    bad = dict(ANNS[0], id=9, image_id=2, keypoints=[1, 2, 2, 3, 4, 2])
    _coco(tmp_path, [ANNS[0], bad])
    with pytest.raises(ValueError, match=r'ann.json: annotation 9 of image '
                       r'2 \(b.png\) has 6 keypoint values, expected 9 '
                       r'\(3 landmarks'):
        CocoFaceLandmarks(str(tmp_path / 'ann.json'))
    _coco(tmp_path, [ANNS[0]])
    with pytest.raises(ValueError, match='has 9 keypoint values, expected '
                       '204 '):
        CocoFaceLandmarks(str(tmp_path / 'ann.json'), num_landmarks=68)
    with pytest.raises(ValueError, match='flip_indices must pair up'):
        CocoFaceLandmarks(str(tmp_path / 'ann.json'), flip_indices=[1, 2, 0])
    (tmp_path / 'ann.json').write_text('{"images": [')
    with pytest.raises(ValueError, match='ann.json: not valid JSON'):
        CocoFaceLandmarks(str(tmp_path / 'ann.json'))
    (tmp_path / 'ann.json').write_text('{"images": []}')
    with pytest.raises(ValueError, match='expected a COCO object'):
        CocoFaceLandmarks(str(tmp_path / 'ann.json'))


# --- 300-W .pts ------------------------------------------------------------
def _pts(path, points, count=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    body = '\n'.join(f'{x} {y}' for x, y in points)
    path.write_text(f'version: 1\nn_points:  {count or len(points)}\n{{\n'
                    f'{body}\n}}\n')


def test_300w_subsets_and_one_based(tmp_path):
    pts = [(k + 1.5, 2 * k + 1.) for k in range(68)]
    for sub, name in [('helen/testset', 'x1'), ('helen/testset', 'x2'),
                      ('lfpw/testset/deep', 'y'), ('ibug', 'z')]:
        _image(tmp_path / sub / f'{name}.jpg')
        _pts(tmp_path / sub / f'{name}.pts', pts)
    _image(tmp_path / 'helen/testset/no_pts.jpg')  # ignored: no .pts
    for hidden in ('helen/testset/.ipynb_checkpoints/x1', 'ibug/._z'):
        _image(tmp_path / f'{hidden}.jpg')  # ignored: hidden copies
        _pts(tmp_path / f'{hidden}.pts', pts)
    ds = DATASETS.build(dict(type='Landmarks300W', data_root=str(tmp_path)))
    assert isinstance(ds, Landmarks300W)
    assert [osp.basename(i['img_path']) for i in ds] == [
        'x1.jpg', 'x2.jpg', 'y.jpg'
    ]  # the 'common' split
    info = ds[0]
    assert info['img'].shape == (8, 6, 3)
    assert info['landmarks'][3].tolist() == [3.5, 6.]  # 1-based -> 0
    assert info['bbox'].tolist() == [0.5, 0, 67.5, 134]
    assert ds.metainfo['flip_indices'] == FLIP_INDICES
    assert len(Landmarks300W(str(tmp_path), split='challenging')) == 1
    raw = Landmarks300W(str(tmp_path), subsets=['ibug'], one_based=False)
    assert raw[0]['landmarks'][3].tolist() == [4.5, 7.]
    (tmp_path / 'list.txt').write_text('ibug/z.jpg\nhelen/testset/x2.jpg\n')
    listed = Landmarks300W(str(tmp_path), ann_file='list.txt')
    assert [osp.basename(i['img_path']) for i in listed] == ['z.jpg',
                                                             'x2.jpg']
    with pytest.raises(FileNotFoundError, match='subset folder .*afw'):
        Landmarks300W(str(tmp_path), split='train')
    with pytest.raises(ValueError, match='split must be one of'):
        Landmarks300W(str(tmp_path), split='helen')


def test_read_pts_errors(tmp_path):
    path = tmp_path / 'a.pts'
    _pts(path, [(1, 2), (3, 4)], count=3)
    with pytest.raises(ValueError, match='n_points is 3 but 2 point lines'):
        read_pts(str(path))
    _pts(path, [(1, 2), (3, 4)])
    assert read_pts(str(path)).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match='a.pts: has 2 points, expected 68'):
        read_pts(str(path), 68)
    _pts(path, [(1, 2), (3, 'x')])
    with pytest.raises(ValueError, match="point coordinates contain 'x'"):
        read_pts(str(path))
    path.write_text('1 2\n3 4\n')
    with pytest.raises(ValueError, match='a.pts: not a .pts file'):
        read_pts(str(path))


# --- WFLW ------------------------------------------------------------------
def _wflw_line(offset, name, rect=True):
    coords = ' '.join(f'{offset + k / 2:.3f}' for k in range(196))
    tail = ' 10 20 110 120 1 0 0 1 0 1' if rect else ''
    return f'{coords}{tail} {name}\n'


def test_wflw_lines(tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text(_wflw_line(0, '1--A/a.jpg') +
                   _wflw_line(5, '1--A/a.jpg', rect=False))
    _image(tmp_path / 'WFLW_images' / '1--A' / 'a.jpg')
    ds = DATASETS.build(dict(type='WFLWLandmarks', data_root=str(tmp_path),
                             ann_file='list.txt'))
    assert isinstance(ds, WFLWLandmarks)
    info = ds[0]
    assert info['img'].shape == (8, 6, 3)
    assert info['landmarks'].shape == (98, 2)
    assert info['landmarks'][1].tolist() == [1., 1.5]
    assert info['bbox'].tolist() == [10, 20, 110, 120]
    assert info['wflw_attributes'].tolist() == [1, 0, 0, 1, 0, 1]
    info = ds[1]
    assert info['bbox'].tolist() == [5, 5.5, 102, 102.5]
    assert 'wflw_attributes' not in info
    assert ds.metainfo['num_landmarks'] == 98
    assert ds.metainfo['wflw_attribute_names'][3] == 'make-up'
    assert ds.metainfo['flip_indices'] == WFLW98_FLIP_INDICES
    ann.write_text(_wflw_line(0, 'a.jpg').replace(' 1 0 0 1', ' 1 0 2 1'))
    with pytest.raises(ValueError, match=r"line 1: attribute flags "
                       r"\['1', '0', '2'"):
        WFLWLandmarks(str(tmp_path), ann_file='list.txt')
    ann.write_text('1 2 3 a.jpg\n')
    with pytest.raises(ValueError, match='line 1: expected 207 columns'):
        WFLWLandmarks(str(tmp_path), ann_file='list.txt')


def test_wflw_mirror_pairs():
    flip = WFLW98_FLIP_INDICES
    assert check_flip_indices(flip, 98, 'wflw') == flip  # an involution
    # partners listed by WFLW's layout (as in mmpose's wflw.py swap names)
    for a, b in [(0, 32), (15, 17), (33, 46), (37, 42), (38, 50), (41, 47),
                 (55, 59), (60, 72), (64, 68), (65, 75), (67, 73), (76, 82),
                 (83, 87), (88, 92), (93, 95), (96, 97)]:
        assert flip[a] == b and flip[b] == a
    fixed = [i for i in range(98) if flip[i] == i]
    assert fixed == [16, 51, 52, 53, 54, 57, 79, 85, 90, 94]
