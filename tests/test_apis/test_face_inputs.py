"""facessl.apis.face_inputs: what each kind of input becomes."""
import cv2
import numpy as np
import pytest

from facessl.apis.face_inputs import (collect_inputs, dataset_for_path,
                                      dataset_inputs)
from facessl.datasets import FaceImageFolder, VerificationBin
from facessl.datasets.synthetic.export_bin import \
    write_synthetic_verification_bin


def test_paths_become_datasets(tmp_path):
    for name in ('a', 'b'):
        write_synthetic_verification_bin(
            str(tmp_path / f'{name}.bin'), num_pairs=4, img_size=16,
            num_identities=3, images_per_identity=2, num_folds=2)
    assert isinstance(dataset_for_path(str(tmp_path / 'a.bin')),
                      VerificationBin)
    two = VerificationBin(bin_files=[str(tmp_path / 'a.bin'),
                                     str(tmp_path / 'b.bin')])
    faces = dataset_inputs(two)  # flip copies skipped
    assert [f.source for f in faces] == [
        f'{s}.bin#{i}' for s in 'ab' for i in range(8)]
    assert [f.extra['pair_index'] for f in faces[:4]] == [0, 0, 1, 1]
    img = np.full((20, 20, 3), 7, np.uint8)
    (tmp_path / 'ids' / 'x').mkdir(parents=True)
    cv2.imwrite(str(tmp_path / 'ids' / 'x' / '1.png'), img)
    assert isinstance(dataset_for_path(str(tmp_path / 'ids')),
                      FaceImageFolder)
    (tmp_path / 'flat').mkdir()
    cv2.imwrite(str(tmp_path / 'flat' / '1.png'), img)
    assert dataset_for_path(str(tmp_path / 'flat')) is None
    flat = collect_inputs(str(tmp_path / 'flat'))
    assert [f.source for f in flat] == [str(tmp_path / 'flat' / '1.png')]
    loaded, points = flat[0].load()
    assert (loaded == img).all() and points is None
    (tmp_path / 'ijb' / 'meta').mkdir(parents=True)
    (tmp_path / 'ijb' / 'meta' / 'ijbb_face_tid_mid.txt').write_text('')
    with pytest.raises(FileNotFoundError,
                       match='IJBDataset: image folder .*loose_crop'):
        dataset_for_path(str(tmp_path / 'ijb'))  # IJB layout detected
    (tmp_path / 'x.rec').write_bytes(b'')
    with pytest.raises(FileNotFoundError, match='x.idx: RecordIO index'):
        dataset_for_path(str(tmp_path / 'x.rec'))  # read as RecordIO
    (tmp_path / 'notes.md').write_text('')
    with pytest.raises(ValueError, match=r'notes.md: expected an image'):
        dataset_for_path(str(tmp_path / 'notes.md'))


def test_arrays_and_landmarks():
    imgs = np.zeros((2, 8, 8, 3), np.uint8)
    faces = collect_inputs(imgs, landmarks=[np.zeros((5, 2)), None])
    assert [f.source for f in faces] == ['array[0]', 'array[1]']
    assert faces[0].load()[1].shape == (5, 2) and faces[1].load()[1] is None
    with pytest.raises(ValueError, match='input 0 is a int'):
        collect_inputs([3])
