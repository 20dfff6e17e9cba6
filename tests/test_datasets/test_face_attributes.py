"""Tests of the CelebA and generic attribute-list data sets."""
import cv2
import numpy as np
import pytest
import torch
from mmpretrain.structures import label_to_onehot

from facessl.datasets.face_attributes import AttributeList, CelebAAttributes
from facessl.registry import DATASETS, MODELS

NAMES = ('Eyeglasses', 'Male', 'Smiling')
ROWS = [('000001.jpg', (-1, 1, 1)), ('000002.jpg', (1, -1, -1)),
        ('000003.jpg', (-1, -1, -1)), ('000004.jpg', (1, 1, 1))]
PARTITION = ['0', '0', '1', '2']


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'{line}\n' for line in lines))


@pytest.fixture
def celeba(tmp_path):
    """4 CelebA-style images: 2 train, 1 val, 1 test; 5 landmarks each."""
    _write(tmp_path / 'list_attr_celeba.txt',
           [str(len(ROWS)), ' '.join(NAMES)] +
           [f'{n} ' + ' '.join(f'{v:2d}' for v in vals) for n, vals in ROWS])
    _write(tmp_path / 'list_eval_partition.txt',
           [f'{n} {p}' for (n, _), p in zip(ROWS, PARTITION)])
    _write(tmp_path / 'list_landmarks_align_celeba.txt',
           ['4', 'lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y '
            'leftmouth_x leftmouth_y rightmouth_x rightmouth_y'] +
           [f'{n} ' + ' '.join(str(10 * i + k) for k in range(10))
            for i, (n, _) in enumerate(ROWS)])
    (tmp_path / 'img_align_celeba').mkdir()
    for i, (name, _) in enumerate(ROWS):
        # PNG bytes under a .jpg name: decoding reads the content
        ok, buf = cv2.imencode('.png', np.full((6, 5, 3), i, np.uint8))
        (tmp_path / 'img_align_celeba' / name).write_bytes(buf.tobytes())
    return tmp_path


def test_celeba_splits_labels_and_images(celeba):
    train = DATASETS.build(dict(type='CelebAAttributes', data_root=str(
        celeba)))
    assert isinstance(train, CelebAAttributes)
    assert len(train) == 2
    info = train[0]
    assert info['img'].shape == (6, 5, 3) and info['img'].dtype == np.uint8
    assert info['img_shape'] == info['ori_shape'] == (6, 5)
    # multi-label convention: indices of the present attributes
    assert info['gt_label'].tolist() == [1, 2]
    assert info['attributes'].tolist() == [0, 1, 1]
    assert train[1]['gt_label'].tolist() == [0]
    assert train.metainfo['attribute_names'] == NAMES
    assert train.metainfo['classes'] == NAMES
    assert train.get_cat_ids(0) == [1, 2]
    assert train.get_gt_labels().tolist() == [[0, 1, 1], [1, 0, 0]]
    val = CelebAAttributes(str(celeba), split='val')
    assert [i['img_path'][-10:] for i in val] == ['000003.jpg']
    assert val[0]['gt_label'].tolist() == []
    assert len(CelebAAttributes(str(celeba), split='test')) == 1
    assert len(CelebAAttributes(str(celeba), split='all')) == 4


def test_celeba_landmarks(celeba):
    ds = CelebAAttributes(
        str(celeba),
        split='test',
        landmarks_file='list_landmarks_align_celeba.txt')
    info = ds[0]  # 000004.jpg, the 4th row: 30..39
    assert info['landmarks'].dtype == np.float32
    assert info['landmarks'].tolist() == [[30, 31], [32, 33], [34, 35],
                                          [36, 37], [38, 39]]
    assert info['landmarks_visible'].all()
    assert ds.metainfo['num_landmarks'] == 5
    assert ds.metainfo['flip_indices'] == (1, 0, 2, 4, 3)


def test_packed_labels_feed_mmpretrain_multilabel_head(celeba):
    ds = CelebAAttributes(
        str(celeba), split='all', pipeline=[dict(type='PackInputs')])
    samples = [ds[i]['data_samples'] for i in range(4)]
    assert samples[0].gt_label.tolist() == [1, 2]
    assert torch.equal(
        label_to_onehot(samples[3].gt_label, 3), torch.tensor([1, 1, 1]))
    head = MODELS.build(
        dict(type='MultiLabelLinearClsHead', num_classes=3, in_channels=2))
    loss = head.loss((torch.zeros(4, 2), ), samples)['loss']
    assert torch.isfinite(loss)  # empty label sets (000003) are fine too


def test_attribute_list_without_header(tmp_path):
    _write(tmp_path / 'lfwa.txt', ['a/1.jpg 1 0', 'b/2.jpg 0 0'])
    ds = AttributeList('lfwa.txt', data_root=str(tmp_path),
                       data_prefix='imgs', attribute_names=['Male', 'Young'],
                       load_image=False)
    assert ds[0]['img_path'].endswith('imgs/a/1.jpg')
    assert ds[0]['gt_label'].tolist() == [0]
    assert ds.metainfo['attribute_names'] == ('Male', 'Young')
    with pytest.raises(ValueError, match='no attribute names line'):
        AttributeList(str(tmp_path / 'lfwa.txt'))
    _write(tmp_path / 'named.txt', ['Male Young', 'a.jpg -1 1'])
    ds = AttributeList(str(tmp_path / 'named.txt'))
    assert ds.metainfo['attribute_names'] == ('Male', 'Young')
    assert ds.get_data_info(0)['attributes'].tolist() == [0, 1]


def test_attribute_list_wrong_number_of_columns(tmp_path):
    _write(tmp_path / 'lfwa.txt', ['Male Young', 'a.jpg -1 1', 'b.jpg 1'])
    with pytest.raises(ValueError, match=r'lfwa\.txt: line 3: expected 3 '
                       r'columns \(image name and 2 attribute values\), '
                       'got 2'):
        AttributeList(str(tmp_path / 'lfwa.txt'), load_image=False)


@pytest.mark.parametrize('line, match', [
    ('000002.jpg 1 -1', r'line 4: expected 4 columns \(image name and 3 '
     r'attribute values\), got 3'),
    ('000002.jpg 1 2 -1', r"line 4: attribute 'Male' of 000002.jpg has "
     r"value '2', expected one of 1, -1"),
    ('000002.jpg 1 0 -1', "value '0'"),  # CelebA is strictly 1/-1
])
def test_celeba_bad_rows(celeba, line, match):
    path = celeba / 'list_attr_celeba.txt'
    lines = path.read_text().splitlines()
    lines[3] = line
    _write(path, lines)
    with pytest.raises(ValueError, match=match):
        CelebAAttributes(str(celeba), split='all')


def test_celeba_file_errors(celeba):
    with pytest.raises(ValueError, match="split must be 'train'"):
        CelebAAttributes(str(celeba), split='valid')
    attr = celeba / 'list_attr_celeba.txt'
    _write(attr, ['5'] + attr.read_text().splitlines()[1:])
    with pytest.raises(ValueError, match='announces 5 records, found 4'):
        CelebAAttributes(str(celeba))
    _write(attr, ['4'] + attr.read_text().splitlines()[1:])
    part = celeba / 'list_eval_partition.txt'
    _write(part, part.read_text().splitlines()[:3])
    with pytest.raises(ValueError, match='no partition for 000004.jpg'):
        CelebAAttributes(str(celeba))
    _write(part, part.read_text().splitlines() + ['000004.jpg 3'])
    with pytest.raises(ValueError, match=r"line 4: partition '3', expected"):
        CelebAAttributes(str(celeba))
    part.unlink()
    with pytest.raises(FileNotFoundError, match='list_eval_partition.txt'):
        CelebAAttributes(str(celeba))
    assert len(CelebAAttributes(str(celeba), split='all')) == 4
    (celeba / 'img_align_celeba' / '000001.jpg').unlink()
    ds = CelebAAttributes(str(celeba), split='all')
    with pytest.raises(FileNotFoundError, match='000001.jpg: image file '
                       'not found'):
        ds[0]
