"""Colour augmentation that works under NumPy 2.

:class:`ColorJitter` replaces mmpretrain's transform of the same name in the
``facessl`` scope. mmpretrain's version calls mmcv-lite 2.2.0's
``mmcv.adjust_hue``, which shifts the hue channel with
``h += np.uint8(hue_factor * 255)``. NumPy 2 refuses to convert a negative
Python integer to ``uint8`` and raises ``OverflowError: Python integer -12 out
of bounds for uint8`` for every negative ``hue_factor`` -- half of the draws of
the DINO recipe (``hue=0.1``) -- on both the ``cv2`` and ``pillow`` backends.
Even for positive factors it quantises the shift to 1/255 of the colour
circle. mmpretrain's ``RandomResizedCrop``, ``RandomFlip``,
``RandomGrayscale``, ``GaussianBlur``, ``Solarize``, ``RandomApply`` and
``MultiView`` run correctly under NumPy 2 with the DINO arguments and are used
unchanged.

The adjustments below follow torchvision's definitions, computed in float32
on the whole image at once with OpenCV/NumPy; the result is rounded back to
the input dtype once, at the end.
"""
import numbers
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from facessl.registry import TRANSFORMS

# ITU-R 601-2 luma weights in B, G, R order (torchvision's grayscale).
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)

Range = Union[float, Sequence[float]]


def _is_color(img: np.ndarray) -> bool:
    return img.ndim == 3 and img.shape[2] == 3


def _gray(img: np.ndarray) -> np.ndarray:
    """Luma of a float BGR image, shape (H, W, 1); a gray image as is."""
    if not _is_color(img):
        return img if img.ndim == 3 else img[..., None]
    return (img @ _LUMA_BGR)[..., None]


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend an image with black: ``clip(factor * img, 0, 255)``.

    Args:
        img (np.ndarray): float32 image in [0, 255], BGR or gray.
        factor (float): 0 gives black, 1 the original image.

    Returns:
        np.ndarray: float32 image in [0, 255].
    """
    return np.clip(img * np.float32(factor), 0, 255)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend an image with the mean of its luma (torchvision's contrast).

    ``clip(factor * img + (1 - factor) * mean(gray(img)), 0, 255)``.

    Args:
        img (np.ndarray): float32 image in [0, 255], BGR or gray.
        factor (float): 0 gives a uniform gray image, 1 the original.

    Returns:
        np.ndarray: float32 image in [0, 255].
    """
    mean = np.float32(_gray(img).mean())
    return np.clip(
        img * np.float32(factor) + (1 - np.float32(factor)) * mean, 0, 255)


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend an image with its own luma, pixel by pixel.

    ``clip(factor * img + (1 - factor) * gray(img), 0, 255)``; a gray image
    is returned unchanged.

    Args:
        img (np.ndarray): float32 image in [0, 255], BGR or gray.
        factor (float): 0 gives the gray image, 1 the original.

    Returns:
        np.ndarray: float32 image in [0, 255].
    """
    if not _is_color(img):
        return img
    f = np.float32(factor)
    return np.clip(img * f + (1 - f) * _gray(img), 0, 255)


def adjust_hue(img: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue of a BGR image by ``shift`` turns of the colour circle.

    Converts to HSV (OpenCV float: H in degrees), adds ``360 * shift``
    degrees modulo 360 and converts back; saturation and value are kept.
    A gray image is returned unchanged.

    Args:
        img (np.ndarray): float32 BGR image in [0, 255].
        shift (float): hue shift in [-0.5, 0.5]; +-0.5 gives the
            complementary colours.

    Returns:
        np.ndarray: float32 BGR image in [0, 255].
    """
    if not -0.5 <= shift <= 0.5:
        raise ValueError(f'hue shift {shift} is not in [-0.5, 0.5]')
    if not _is_color(img):
        return img
    hsv = cv2.cvtColor(img / np.float32(255), cv2.COLOR_BGR2HSV)
    hsv[..., 0] = np.mod(hsv[..., 0] + np.float32(360 * shift), 360)
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    return np.clip(bgr * np.float32(255), 0, 255)


def color_jitter(img: np.ndarray,
                 order: Sequence[int],
                 brightness: Optional[float] = None,
                 contrast: Optional[float] = None,
                 saturation: Optional[float] = None,
                 hue: Optional[float] = None) -> np.ndarray:
    """Apply the four colour adjustments with given factors in given order.

    Args:
        img (np.ndarray): uint8 (or float in [0, 255]) BGR or gray image.
        order (Sequence[int]): order of the adjustments, a permutation of
            0 (brightness), 1 (contrast), 2 (saturation), 3 (hue).
        brightness (float, optional): brightness factor; None skips it.
        contrast (float, optional): contrast factor; None skips it.
        saturation (float, optional): saturation factor; None skips it.
        hue (float, optional): hue shift in turns; None skips it.

    Returns:
        np.ndarray: the adjusted image, same dtype and shape as ``img``
        (integer images are rounded to nearest).
    """
    out = img.astype(np.float32)
    ops = {
        0: (adjust_brightness, brightness),
        1: (adjust_contrast, contrast),
        2: (adjust_saturation, saturation),
        3: (adjust_hue, hue),
    }
    for index in order:
        fn, value = ops[int(index)]
        if value is not None:
            out = fn(out, value)
    if np.issubdtype(img.dtype, np.integer):
        out = np.rint(out)
    return out.astype(img.dtype)


# force=True: deliberately overrides mmpretrain's ColorJitter in the facessl
# scope (its hue adjustment fails under NumPy 2, see the docstring).
@TRANSFORMS.register_module(force=True)
class ColorJitter(BaseTransform):
    """Randomly change brightness, contrast, saturation and hue of an image.

    Drop-in replacement for mmpretrain's ``ColorJitter`` (same arguments,
    same random draws) that works under NumPy 2: mmcv-lite 2.2.0's
    ``adjust_hue`` raises ``OverflowError`` for every negative hue shift
    (see the module docstring). Semantics are torchvision's: the four
    adjustments run in a random order, each factor is drawn uniformly from
    its range, and the hue is rotated by a fraction of the colour circle in
    [-hue, hue]. Everything is computed in float32 and rounded once.

    mmpretrain's transform stays reachable as ``mmpretrain.ColorJitter``.

    **Required Keys:** img (uint8 BGR, or gray). **Modified Keys:** img.

    Args:
        brightness (float | Sequence[float]): factor drawn from
            ``[max(0, 1 - brightness), 1 + brightness]`` or the given
            ``(min, max)``. Defaults to 0 (no change).
        contrast (float | Sequence[float]): as ``brightness``. Defaults to 0.
        saturation (float | Sequence[float]): as ``brightness``.
            Defaults to 0.
        hue (float | Sequence[float]): shift drawn from ``[-hue, hue]``
            (``0 <= hue <= 0.5``) or the given ``(min, max)`` within
            [-0.5, 0.5]. Defaults to 0.
        backend (str): accepted for config compatibility with mmpretrain
            ('cv2' or 'pillow'); the computation is always OpenCV/NumPy.
            Defaults to 'cv2'.
    """

    def __init__(self,
                 brightness: Range = 0.,
                 contrast: Range = 0.,
                 saturation: Range = 0.,
                 hue: Range = 0.,
                 backend: str = 'cv2') -> None:
        self.brightness = self._set_range(brightness, 'brightness')
        self.contrast = self._set_range(contrast, 'contrast')
        self.saturation = self._set_range(saturation, 'saturation')
        self.hue = self._set_range(
            hue, 'hue', center=0., bound=(-0.5, 0.5), clip_first=False)
        if backend not in ('cv2', 'pillow'):
            raise ValueError(f"ColorJitter: backend '{backend}' is not "
                             "supported, expected 'cv2' or 'pillow'")
        self.backend = backend

    @staticmethod
    def _set_range(value: Range,
                   name: str,
                   center: float = 1.,
                   bound: Tuple[float, float] = (0., float('inf')),
                   clip_first: bool = True) -> Optional[Tuple[float, float]]:
        """Turn an argument into a (min, max) range, None for no change."""
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f'ColorJitter: {name}={value}, expected a '
                                 'non-negative number')
            low, high = center - float(value), center + float(value)
            if clip_first:  # torchvision: max(0, 1 - value)
                low = max(low, bound[0])
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            low, high = float(value[0]), float(value[1])
        else:
            raise TypeError(f'ColorJitter: {name}={value!r}, expected a '
                            'number or a (min, max) pair')
        if not bound[0] <= low <= high <= bound[1]:
            raise ValueError(f'ColorJitter: {name} range ({low}, {high}) is '
                             f'not an ordered range within {bound}')
        if low == high == center:
            return None
        return low, high

    @cache_randomness
    def _rand_params(self) -> tuple:
        """Draw the order of the adjustments and their factors."""
        order = np.random.permutation(4)
        factors = [
            None if r is None else np.random.uniform(r[0], r[1])
            for r in (self.brightness, self.contrast, self.saturation,
                      self.hue)
        ]
        return (order, *factors)

    def transform(self, results: Dict) -> Dict:
        """Jitter ``results['img']``.

        Args:
            results (dict): result dict with a uint8 BGR ``img``.

        Returns:
            dict: ``results`` with the adjusted ``img``.
        """
        order, b, c, s, h = self._rand_params()
        results['img'] = color_jitter(results['img'], order, b, c, s, h)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue})')
