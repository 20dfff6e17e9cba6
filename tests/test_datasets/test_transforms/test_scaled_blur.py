"""ScaledGaussianBlur: sigma follows the image size."""
import cv2
import numpy as np
import pytest

from facessl.datasets.transforms import ScaledGaussianBlur


def _impulse(size):
    img = np.zeros((size, size, 3), np.float32)
    img[size // 2, size // 2] = 1000.
    return img


def _measured_sigma(blurred):
    row = blurred[blurred.shape[0] // 2, :, 0].astype(np.float64)
    x = np.arange(row.size) - row.size // 2
    return float(np.sqrt((row * x**2).sum() / row.sum()))


@pytest.mark.parametrize('size', [224, 112, 48])
def test_sigma_scales_with_image_size(size):
    blur = ScaledGaussianBlur(sigma_range=(4.0, 4.0), ref_size=224, prob=1.)
    out = blur(dict(img=_impulse(size)))['img']
    expected = 4.0 * size / 224
    assert _measured_sigma(out) == pytest.approx(expected, rel=0.08)
    ref = cv2.GaussianBlur(_impulse(size), (0, 0), expected,
                           borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_allclose(out, ref, atol=1e-4)


def test_prob_zero_is_identity_and_uint8_kept():
    img = np.random.default_rng(0).integers(0, 255, (40, 40, 3), np.uint8)
    out = ScaledGaussianBlur(prob=0.)(dict(img=img.copy()))['img']
    assert np.array_equal(out, img)
    out = ScaledGaussianBlur(sigma_range=(10., 10.), prob=1.)(
        dict(img=img.copy()))['img']
    assert out.dtype == np.uint8 and not np.array_equal(out, img)


def test_bad_arguments():
    with pytest.raises(ValueError, match='sigma_range'):
        ScaledGaussianBlur(sigma_range=(2.0, 1.0))
    with pytest.raises(ValueError, match='prob'):
        ScaledGaussianBlur(prob=1.5)
