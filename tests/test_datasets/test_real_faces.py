"""Tests of the real faces bundled with scikit-image."""
import cv2
import numpy as np
import pytest
from skimage import data

from facessl.datasets import real_face_images
from facessl.datasets.real_faces import ASTRONAUT_FACE_BOX
from facessl.registry import DATASETS


def _haar():
    return cv2.CascadeClassifier(cv2.data.haarcascades +
                                 'haarcascade_frontalface_default.xml')


def build(**cfg):
    return DATASETS.build(dict(type='LFWFaceSubset', **cfg))


def test_splits_are_deterministic_and_disjoint():
    full, train, test = (build(split=s) for s in ('all', 'train', 'test'))
    assert (len(full), len(train), len(test)) == (200, 140, 60)
    assert np.bincount(train.get_gt_labels()).tolist() == [70, 70]
    assert np.bincount(test.get_gt_labels()).tolist() == [30, 30]
    src = [{ds.get_data_info(i)['source_index']
            for i in range(len(ds))} for ds in (train, test)]
    assert not src[0] & src[1] and len(src[0] | src[1]) == 200
    assert build(split='test').get_data_info(0)['source_index'] == 70
    faces = build(with_nonfaces=False)
    assert len(faces) == 100 and set(faces.get_gt_labels()) == {1}
    assert full.metainfo['classes'] == ('non-face', 'face')
    with pytest.raises(ValueError, match='split'):
        build(split='val')


def test_images_and_labels_match_content():
    ds = build()
    info = ds.get_data_info(0)
    img = info['img']
    assert img.shape == (25, 25, 3) and img.dtype == np.uint8
    assert (img[..., 0] == img[..., 2]).all()
    expected = np.round(data.lfw_subset()[0] * 255).astype(np.uint8)
    assert np.array_equal(img[..., 0], expected)
    # label 1 really are faces: OpenCV's Haar cascade finds most of them
    haar = _haar()
    found = {0: 0, 1: 0}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        grey = cv2.resize(info['img'][..., 0], (75, 75))
        hits = haar.detectMultiScale(grey, 1.1, 3, minSize=(40, 40))
        found[info['gt_label']] += len(hits) > 0
    assert found[1] >= 70 and found[0] <= 10


def test_linear_probe_style_pipeline():
    ds = build(
        split='train',
        pipeline=[dict(type='Resize', scale=32),
                  dict(type='PackInputs')])
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 32, 32)
    assert out['data_samples'].gt_label.tolist() == [1]


def test_real_face_images_are_bgr_with_a_face():
    imgs = real_face_images()
    img = imgs['astronaut']
    assert img.shape == (512, 512, 3) and img.dtype == np.uint8
    assert np.array_equal(img, data.astronaut()[..., ::-1])
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    (x, y, w, h), = _haar().detectMultiScale(grey, 1.1, 5)
    x0, y0, x1, y1 = ASTRONAUT_FACE_BOX
    assert abs(x - x0) < 10 and abs(y - y0) < 10 and abs(x + w - x1) < 10
