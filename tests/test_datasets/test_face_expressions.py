"""Tests of the RAF-DB and AffectNet expression data sets."""
import cv2
import numpy as np
import pytest

from facessl.datasets.face_expressions import RAFDB, RAFDB_CLASSES, AffectNet
from facessl.registry import DATASETS


def _image(path, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((4, 4, 3), value, np.uint8))


@pytest.fixture
def rafdb(tmp_path):
    """RAF-DB basic layout with 3 train and 1 test image."""
    labels = [('train_00001.jpg', 5), ('train_00002.jpg', 1),
              ('test_0001.jpg', 7), ('train_00003.jpg', 4)]
    (tmp_path / 'EmoLabel').mkdir()
    (tmp_path / 'EmoLabel' / 'list_patition_label.txt').write_text(''.join(
        f'{n} {y}\n' for n, y in labels))
    for name, _ in labels:
        stem = name[:-4]
        _image(tmp_path / 'Image' / 'aligned' / f'{stem}_aligned.jpg')
        _image(tmp_path / 'Image' / 'original' / name)
    return tmp_path


def test_rafdb_splits_and_labels(rafdb):
    train = DATASETS.build(dict(type='RAFDB', data_root=str(rafdb)))
    assert isinstance(train, RAFDB)
    assert train.metainfo['classes'] == RAFDB_CLASSES
    assert RAFDB_CLASSES[4] == 'Sadness'  # label 5
    assert train.get_gt_labels().tolist() == [4, 0, 3]
    info = train[0]
    assert info['img_path'].endswith('Image/aligned/train_00001_aligned.jpg')
    assert info['img'].shape == (4, 4, 3)
    assert info['gt_label'] == 4
    test = RAFDB(str(rafdb), split='test')
    assert test.get_gt_labels().tolist() == [6]  # Neutral
    original = RAFDB(str(rafdb), split='all', aligned=False)
    assert len(original) == 4
    assert original[2]['img_path'].endswith('Image/original/test_0001.jpg')
    packed = RAFDB(str(rafdb), pipeline=[dict(type='PackInputs')])[0]
    assert packed['data_samples'].gt_label.tolist() == [4]


@pytest.mark.parametrize('line, match', [
    ('train_00009.jpg 8', r"line 2: label '8', expected 1..7 \(Surprise"),
    ('train_00009.jpg 0', "label '0'"),
    ('val_00001.jpg 3', "line 2: image val_00001.jpg does not start with "
     "'train_' or 'test_'"),
    ('train_00009.jpg 3 1', 'line 2: expected 2 columns'),
])
def test_rafdb_bad_lines(tmp_path, line, match):
    ann = tmp_path / 'labels.txt'
    ann.write_text(f'train_00001.jpg 1\n{line}\n')
    with pytest.raises(ValueError, match=match):
        RAFDB(str(tmp_path), ann_file='labels.txt')
    with pytest.raises(ValueError, match="split must be 'train'"):
        RAFDB(str(tmp_path), ann_file='labels.txt', split='val')


HEADER = ('subDirectory_filePath,face_x,face_y,face_width,face_height,'
          'facial_landmarks,expression,valence,arousal')


def _points(offset):
    return ';'.join(f'{offset + k}.5' for k in range(136))


@pytest.fixture
def affectnet(tmp_path):
    rows = [
        f'1/a.jpg,10,20,30,40,{_points(0)},0,0.5,-0.25',
        f'1/b.jpg,,,,,{_points(100)},7,0.1,0.2',  # Contempt, no box
        '2/c.jpg,0,0,5,5,,8,-2,-2',  # None: always dropped
        '2/d.jpg,1,2,3,4,,10,-2,-2',  # No-Face: dropped
        '3/e.jpg,1,2,3,4,,3,0,0',  # Surprise, no landmarks
    ]
    (tmp_path / 'training.csv').write_text(HEADER + '\n' + '\n'.join(rows))
    for name in ('1/a.jpg', '1/b.jpg', '3/e.jpg'):
        _image(tmp_path / 'Manually_Annotated_Images' / name)
    return tmp_path


def test_affectnet_rows_and_geometry(affectnet):
    ds = DATASETS.build(dict(type='AffectNet', data_root=str(affectnet)))
    assert isinstance(ds, AffectNet)
    assert len(ds.metainfo['classes']) == 8
    assert ds.get_gt_labels().tolist() == [0, 7, 3]
    assert ds.num_dropped == 2
    info = ds[0]
    assert info['img'].shape == (4, 4, 3)
    assert info['bbox'].tolist() == [10, 20, 40, 60]  # x, y, x + w, y + h
    assert info['landmarks'].shape == (68, 2)
    assert info['landmarks'][1].tolist() == [2.5, 3.5]
    assert info['landmarks_visible'].all()
    assert (info['valence'], info['arousal']) == (0.5, -0.25)
    # no box columns: the box of the landmarks
    assert ds[1]['bbox'].tolist() == [100.5, 101.5, 234.5, 235.5]
    assert 'landmarks' not in ds[2]
    assert ds.metainfo['num_landmarks'] == 68
    assert ds.metainfo['flip_indices'][36] == 45
    seven = AffectNet(str(affectnet), num_classes=7)
    assert seven.get_gt_labels().tolist() == [0, 3]
    assert seven.num_dropped == 3
    assert seven.metainfo['classes'][-1] == 'Anger'


def test_affectnet_errors(tmp_path):
    csv = tmp_path / 'training.csv'
    csv.write_text('path,label\na.jpg,1\n')
    with pytest.raises(ValueError, match="header lacks"
                       r" \['subDirectory_filePath', 'expression'\]"):
        AffectNet(str(tmp_path))
    ds = AffectNet(str(tmp_path), path_column='path', label_column='label',
                   load_image=False)
    assert ds.get_data_info(0)['gt_label'] == 1
    csv.write_text(HEADER + '\na.jpg,1,2,3,4,,11,0,0\n')
    with pytest.raises(ValueError, match=r"line 2: expression '11', "
                       r'expected an integer 0..10'):
        AffectNet(str(tmp_path))
    csv.write_text(HEADER + '\na.jpg,1,2,3,4,1;2;3,1,0,0\n')
    with pytest.raises(ValueError, match='line 2: facial_landmarks has 3 '
                       'values'):
        AffectNet(str(tmp_path))
    csv.write_text(HEADER + '\na.jpg,1,2,x,4,,1,0,0\n')
    with pytest.raises(ValueError, match="face box values contain 'x'"):
        AffectNet(str(tmp_path))
    with pytest.raises(ValueError, match='num_classes must be 7 or 8'):
        AffectNet(str(tmp_path), num_classes=11)
