"""Tests of facessl's NumPy-2-safe ColorJitter."""
import colorsys

import cv2
import numpy as np
import pytest

from facessl.datasets.transforms.color import (ColorJitter,
                                               adjust_contrast, adjust_hue,
                                               color_jitter)
from facessl.registry import TRANSFORMS


def _pure(bgr, size=4):
    return np.tile(np.array(bgr, np.uint8), (size, size, 1))


def _expected_hue_shift(rgb, shift):
    """The colour ``rgb`` (0-255) with its hue rotated, in BGR, by hand."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    r, g, b = colorsys.hsv_to_rgb((h + shift) % 1.0, s, v)
    return np.rint(np.array([b, g, r]) * 255)


@pytest.mark.parametrize('shift', [0.1, -0.1, -0.37, 0.5])
def test_hue_fixed_shift_on_pure_colours(shift):
    # A (min, max) range with min == max makes the draw deterministic.
    t = ColorJitter(hue=(shift, shift))
    for rgb in [(255, 0, 0), (30, 200, 90), (250, 240, 20)]:
        img = _pure(rgb[::-1])
        out = t(dict(img=img.copy()))['img']
        assert out.dtype == np.uint8 and out.shape == img.shape
        expected = _expected_hue_shift(rgb, shift)
        assert np.abs(out[0, 0].astype(int) - expected).max() <= 1


def test_hue_shift_matches_drawn_amount():
    t = ColorJitter(0.4, 0.4, 0.2, 0.1)
    t_hue = ColorJitter(hue=0.1)
    img = _pure((0, 0, 255))  # pure red, hue 0
    negatives = 0
    for seed in range(20):
        np.random.seed(seed)
        order, b, c, s, h = t._rand_params()
        assert sorted(order) == [0, 1, 2, 3]
        assert 0.6 <= b <= 1.4 and 0.6 <= c <= 1.4 and 0.8 <= s <= 1.2
        assert -0.1 <= h <= 0.1
        # The full transform applies exactly the drawn factors and order.
        np.random.seed(seed)
        full = t(dict(img=img.copy()))['img']
        np.testing.assert_array_equal(full,
                                      color_jitter(img, order, b, c, s, h))
        # Hue alone: the OpenCV hue of the output is the drawn shift.
        np.random.seed(seed)
        _, _, _, _, h_only = t_hue._rand_params()
        np.random.seed(seed)
        out = t_hue(dict(img=img.copy()))['img']
        hsv = cv2.cvtColor(out[:1, :1].astype(np.float32) / 255,
                           cv2.COLOR_BGR2HSV)
        got = hsv[0, 0, 0] / 360
        diff = (got - h_only % 1.0 + 0.5) % 1.0 - 0.5
        assert abs(diff) < 0.005
        negatives += h_only < 0
    assert 0 < negatives < 20  # negative shifts (the mmcv bug) were hit


def test_brightness_contrast_saturation_exact():
    img = np.array([[[10, 20, 30], [200, 100, 50]],
                    [[0, 0, 0], [255, 255, 255]]], np.uint8)
    f = img.astype(np.float64)
    luma = f @ np.array([0.114, 0.587, 0.299])
    order = [0, 1, 2, 3]

    got = color_jitter(img, order, brightness=0.5)
    np.testing.assert_array_equal(got, np.rint(f * 0.5))
    got = color_jitter(img, order, brightness=1.5)
    np.testing.assert_array_equal(got, np.clip(np.rint(f * 1.5), 0, 255))

    mean = luma.mean()
    got = color_jitter(img, order, contrast=0.3)
    np.testing.assert_array_equal(got, np.rint(0.3 * f + 0.7 * mean))

    got = color_jitter(img, order, saturation=0.25)
    expect = np.clip(np.rint(0.25 * f + 0.75 * luma[..., None]), 0, 255)
    np.testing.assert_array_equal(got, expect)
    got = color_jitter(img, order, saturation=0.0)
    assert (got[..., 0] == got[..., 1]).all()  # fully gray

    # The transform with degenerate ranges applies those factors.
    out = ColorJitter(brightness=(1.5, 1.5))(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(out, np.clip(np.rint(f * 1.5), 0, 255))


def test_order_matters_and_is_followed():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    a = color_jitter(img, [1, 3, 0, 2], contrast=1.8, hue=0.3)
    b = color_jitter(img, [3, 1, 0, 2], contrast=1.8, hue=0.3)
    assert not np.array_equal(a, b)
    by_hand = adjust_contrast(adjust_hue(img.astype(np.float32), 0.3), 1.8)
    np.testing.assert_array_equal(b, np.rint(by_hand))
    # The transform draws the order at random: both outcomes occur.
    t = ColorJitter(contrast=(1.8, 1.8), hue=(0.3, 0.3))
    seen = set()
    for seed in range(12):
        np.random.seed(seed)
        out = t(dict(img=img.copy()))['img']
        assert np.array_equal(out, a) or np.array_equal(out, b)
        seen.add(np.array_equal(out, a))
    assert seen == {True, False}


def test_identity_cases():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    out = ColorJitter()(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(out, img)
    np.testing.assert_array_equal(
        color_jitter(img, [0, 1, 2, 3], 1.0, 1.0, 1.0, 0.0), img)
    # p = 0 through RandomApply, as in the configs.
    t = TRANSFORMS.build(
        dict(
            type='RandomApply',
            transforms=[dict(type='ColorJitter', brightness=0.9, hue=0.4)],
            prob=0.))
    for _ in range(5):
        np.testing.assert_array_equal(t(dict(img=img.copy()))['img'], img)
    # Gray images: hue and saturation are no-ops.
    gray = img[..., 0]
    np.testing.assert_array_equal(adjust_hue(gray.astype(np.float32), 0.3),
                                  gray)
    out = ColorJitter(saturation=(0., 0.), hue=0.5)(dict(img=gray.copy()))
    np.testing.assert_array_equal(out['img'], gray)


def test_registry_resolution():
    t = TRANSFORMS.build(
        dict(
            type='RandomApply',
            transforms=[dict(type='ColorJitter', hue=0.1)],
            prob=1.))
    assert isinstance(t.transforms.transforms[0], ColorJitter)
    theirs = TRANSFORMS.build(dict(type='mmpretrain.ColorJitter', hue=0.1))
    assert type(theirs).__module__.startswith('mmpretrain.')
    # Ours runs on negative hue draws, where mmcv-lite 2.2.0 overflows.
    out = TRANSFORMS.build(dict(type='ColorJitter', hue=(-0.1, -0.1)))(
        dict(img=_pure((0, 0, 255))))
    assert out['img'].dtype == np.uint8


@pytest.mark.parametrize('kwargs, match', [
    (dict(brightness=-0.1), 'brightness'),
    (dict(hue=0.6), 'hue'),
    (dict(contrast=(1.2, 0.8)), 'contrast'),
    (dict(saturation='x'), 'saturation'),
    (dict(backend='pil'), 'backend'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ColorJitter(**kwargs)


def test_large_factor_clips_lower_bound_like_torchvision():
    assert ColorJitter(brightness=1.5).brightness == (0., 2.5)
    assert ColorJitter(hue=0.5).hue == (-0.5, 0.5)
