"""Tests of the plugin's ``RandomFaceCutout`` transform."""
import numpy as np
import pytest

from facessl.registry import TRANSFORMS
from facessl_example_plugin import RandomFaceCutout


def _face(height=40, width=30, channels=3, seed=0):
    """A random uint8 image with no zero pixel (so fill=0 is visible)."""
    shape = (height, width) + ((channels, ) if channels else ())
    return np.random.default_rng(seed).integers(1, 256, shape, np.uint8)


def _erased_box(before, after):
    """Bounding box ``(x1, y1, x2, y2)`` and mask of the changed pixels."""
    changed = before != after
    mask = changed.any(axis=-1) if changed.ndim == 3 else changed
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None, mask
    return (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), mask


def test_registered_in_facessl_transforms():
    transform = TRANSFORMS.build(dict(type='RandomFaceCutout', prob=0.3))
    assert isinstance(transform, RandomFaceCutout)
    assert transform.prob == 0.3


def test_prob_zero_leaves_image_untouched():
    np.random.seed(0)
    transform = RandomFaceCutout(prob=0.0)
    img = _face()
    for _ in range(50):
        out = transform(dict(img=img.copy()))['img']
        np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize('seed', range(20))
def test_prob_one_erases_exactly_one_rectangle(seed):
    np.random.seed(seed)
    area_ratio = (0.05, 0.25)
    transform = RandomFaceCutout(
        prob=1.0, area_ratio=area_ratio, aspect_ratio=(0.5, 2.0), fill=0)
    img = _face(seed=seed)
    out = transform(dict(img=img))['img']
    assert out.shape == img.shape and out.dtype == img.dtype
    assert (img != 0).all(), 'the input must not be modified in place'
    box, mask = _erased_box(img, out)
    assert box is not None, 'prob=1 must erase'
    x1, y1, x2, y2 = box
    # One filled rectangle: its bounding box is entirely erased and
    # nothing outside it changed.
    assert mask[y1:y2, x1:x2].all()
    assert mask.sum() == (x2 - x1) * (y2 - y1)
    assert (out[y1:y2, x1:x2] == 0).all()
    height, width = img.shape[:2]
    ratio = (x2 - x1) * (y2 - y1) / (height * width)
    # Rounding each side to whole pixels moves the area by < a row + column.
    slack = (height + width) / (height * width)
    assert area_ratio[0] - slack <= ratio <= area_ratio[1] + slack


def test_box_centre_follows_face_region():
    np.random.seed(0)
    transform = RandomFaceCutout(
        prob=1.0,
        area_ratio=(0.04, 0.04),
        aspect_ratio=(1.0, 1.0),
        face_region=(0.5, 0.5, 0.5, 0.5))
    img = _face(height=50, width=50)
    box, _ = _erased_box(img, transform(dict(img=img))['img'])
    assert box == (20, 20, 30, 30)  # a 10 x 10 box centred at (25, 25)


def test_probability_and_grey_images():
    np.random.seed(0)
    transform = RandomFaceCutout(prob=0.5, fill=7)
    img = _face(channels=0)
    erased = 0
    for _ in range(200):
        out = transform(dict(img=img))['img']
        assert out.shape == img.shape
        erased += int((out != img).any())
    assert 70 <= erased <= 130


def test_noise_fill_stays_inside_one_box():
    np.random.seed(1)
    transform = RandomFaceCutout(prob=1.0, area_ratio=(0.2, 0.2),
                                 fill='noise')
    img = _face()
    box, mask = _erased_box(img, transform(dict(img=img))['img'])
    x1, y1, x2, y2 = box
    # All changes lie in one box of the sampled size, nearly all of which
    # changed (uniform noise rarely repeats a pixel's three values).
    assert (x2 - x1) * (y2 - y1) <= 0.2 * img[..., 0].size + 40 + 30
    assert mask[y1:y2, x1:x2].mean() > 0.9


@pytest.mark.parametrize('kwargs', [
    dict(prob=1.5),
    dict(area_ratio=(0.5, 0.1)),
    dict(aspect_ratio=(0.0, 1.0)),
    dict(face_region=(0.8, 0.2, 0.2, 0.8)),
    dict(fill='mean'),
])
def test_invalid_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        RandomFaceCutout(**kwargs)
