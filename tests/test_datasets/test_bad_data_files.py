"""Bad data files fail once, naming the file and the record or line."""
import os
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest

from facessl.datasets.image_decode import decode_bgr
from facessl.datasets.synthetic.export import write_synthetic_faces
from facessl.datasets.synthetic.export_ijb import write_synthetic_ijb
from facessl.datasets.verification_bin import load_verification_bin
from facessl.registry import DATASETS


def _png():
    ok, buf = cv2.imencode('.png', np.full((8, 8, 3), 90, np.uint8))
    return buf.tobytes()


@pytest.mark.parametrize('empty', [b'', np.zeros(0, np.uint8)],
                         ids=['bytes', 'imencode-array'])
def test_zero_length_image_in_verification_bin(tmp_path, empty):
    path = tmp_path / 'lfw.bin'
    path.write_bytes(pickle.dumps(([_png(), _png(), _png(), empty],
                                  [True, False])))
    with pytest.raises(ValueError) as err:
        load_verification_bin(str(path))
    assert str(err.value).startswith(
        f'{path}: image 3 (pair 1) is empty (0 bytes); expected JPEG/PNG')


def test_decode_names_where_for_empty_and_junk_bytes():
    with pytest.raises(ValueError, match=r'^a\.bin: image 4: cannot decode '
                       r'an empty image \(0 bytes\); expected JPEG/PNG'):
        decode_bgr(b'', 'a.bin: image 4')
    with pytest.raises(ValueError, match=r'^x\.png: cannot decode the image '
                       r'\(3 bytes\)'):
        decode_bgr(np.frombuffer(b'abc', np.uint8), 'x.png')
    assert decode_bgr(_png(), 'ok').shape == (8, 8, 3)


@pytest.fixture
def faces(tmp_path):
    root = tmp_path / 'faces'
    write_synthetic_faces(str(root), 3, 2, img_size=16, seed=0)
    return root


def _folder(root):
    return DATASETS.build(dict(type='FaceImageFolder', data_root=str(root)))


def test_zero_byte_image_file_in_folder(faces):
    ds = _folder(faces)
    bad = ds.get_data_info(1)['img_path']
    open(bad, 'wb').close()
    with pytest.raises(ValueError) as err:
        ds[1]
    assert str(err.value).startswith(f'{bad} (record 1 of ')
    assert '): cannot decode an empty image (0 bytes)' in str(err.value)


def test_hidden_entries_are_skipped_and_labels_unchanged(faces):
    clean = _folder(faces)
    before = [(clean.get_data_info(i)['img_path'],
               clean.get_data_info(i)['gt_label']) for i in range(len(clean))]
    first = sorted(os.listdir(faces))[0]
    image = osp.join(faces, first, sorted(os.listdir(faces / first))[0])
    # a notebook checkpoint folder holding an image sorts before the
    # identities; a macOS .DS_Store and a hidden file inside an identity
    os.makedirs(faces / '.ipynb_checkpoints')
    with open(image, 'rb') as src:
        data = src.read()
    (faces / '.ipynb_checkpoints' / 'x.png').write_bytes(data)
    (faces / '.DS_Store').write_bytes(b'\0\0\0\1Bud1')
    (faces / first / '._0000.png').write_bytes(b'resource fork')
    ds = _folder(faces)
    after = [(ds.get_data_info(i)['img_path'], ds.get_data_info(i)['gt_label'])
             for i in range(len(ds))]
    assert after == before
    assert ds.metainfo['classes'] == clean.metainfo['classes']
    assert '.ipynb_checkpoints' not in ds.metainfo['classes']


def test_nan_in_ijb_landmarks_names_file_and_line(tmp_path):
    root = str(tmp_path / 'ijbc')
    write_synthetic_ijb(root, 2, 2, img_size=32, seed=0)
    meta = osp.join(root, 'meta', 'ijbc_name_5pts_score.txt')
    with open(meta) as f:
        lines = f.readlines()
    cols = lines[2].split()
    cols[3] = 'nan'
    lines[2] = ' '.join(cols) + '\n'
    with open(meta, 'w') as f:
        f.writelines(lines)
    with pytest.raises(ValueError) as err:
        DATASETS.build(dict(type='IJBDataset', data_root=root))
    assert str(err.value).startswith(
        f"{meta}: line 3: {cols[0]} has non-finite values ['nan']")
