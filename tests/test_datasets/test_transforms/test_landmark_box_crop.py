"""Tests of LandmarkBoxCrop."""
import numpy as np
import pytest

from facessl.registry import TRANSFORMS


def test_box_to_square_and_points_follow_pixels():
    img = np.zeros((60, 80, 3), np.uint8)
    points = np.array([[30., 20.], [50., 40.], [41., 33.]], np.float32)
    for x, y in points.astype(int):
        img[y, x] = 255  # a bright pixel under every landmark
    crop = TRANSFORMS.build(dict(type='LandmarkBoxCrop', size=60,
                                 scale=1.5))
    out = crop(dict(img=img.copy(), bbox=np.array([30., 20., 50., 40.]),
                    landmarks=points.copy()))
    assert out['img'].shape == (60, 60, 3)
    assert out['img_shape'] == (60, 60)
    # a 30-px square about the box centre (40, 30), its edges at x = 25
    # and 55 (y = 15 and 45), resized by 2; an edge maps to -0.5
    want = (points - [25., 15.]) * 2 - 0.5
    assert np.allclose(out['crop_bbox'], [25.5, 15.5, 54.5, 44.5])
    assert np.allclose(out['landmarks'], want, atol=1e-5)
    for x, y in out['landmarks']:
        # the bright pixel lands under the mapped point
        assert out['img'][int(round(y)), int(round(x))].max() > 0


def test_scale_pads_outside_black_and_needs_bbox():
    img = np.full((20, 20, 3), 200, np.uint8)
    crop = TRANSFORMS.build(dict(type='LandmarkBoxCrop', size=20,
                                 scale=2.))
    out = crop(dict(img=img, bbox=np.array([0., 0., 19., 19.])))
    assert out['img'][0, 0].max() == 0 and out['img'][10, 10].min() == 200
    with pytest.raises(KeyError, match='a.jpg has no "bbox"'):
        crop(dict(img=img, img_path='a.jpg'))
    with pytest.raises(ValueError, match='size must be'):
        TRANSFORMS.build(dict(type='LandmarkBoxCrop', size=0))
