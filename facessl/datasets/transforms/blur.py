"""Gaussian blur whose strength is defined relative to the image size."""
from typing import Dict, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from facessl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ScaledGaussianBlur(BaseTransform):
    """Gaussian blur with sigma given for a reference image size.

    DINO blurs its 224-px global and 96-px local crops with
    sigma ~ U(0.1, 2.0) pixels. Applied unchanged to the smaller crops used
    on faces (112/48 px, or 64/32 px in a CPU demo), the same sigma removes
    several times more of the face, up to leaving a blob. This transform
    draws sigma ~ U(``sigma_range``) for an image of ``ref_size`` pixels
    and scales it by ``min(H, W) / ref_size``, so a recipe keeps its
    relative blur at any resolution (``ref_size=224`` for global views,
    ``96`` for local views reproduce DINO exactly at DINO's sizes).

    Args:
        sigma_range (tuple[float, float]): sigma range in pixels at
            ``ref_size``. Defaults to (0.1, 2.0).
        ref_size (int): image size the sigma range refers to.
            Defaults to 224.
        prob (float): probability of blurring. Defaults to 0.5.
    """

    def __init__(self,
                 sigma_range: Tuple[float, float] = (0.1, 2.0),
                 ref_size: int = 224,
                 prob: float = 0.5) -> None:
        if not (0 < sigma_range[0] <= sigma_range[1]):
            raise ValueError('ScaledGaussianBlur: sigma_range must be '
                             f'0 < low <= high, got {sigma_range}')
        if ref_size <= 0 or not 0. <= prob <= 1.:
            raise ValueError('ScaledGaussianBlur: ref_size must be > 0 and '
                             f'prob in [0, 1], got {ref_size}, {prob}')
        self.sigma_range = tuple(sigma_range)
        self.ref_size = ref_size
        self.prob = prob

    @cache_randomness
    def _draw(self):
        """(apply?, sigma at the reference size)."""
        return (np.random.rand() < self.prob,
                np.random.uniform(*self.sigma_range))

    def sigma_for(self, img: np.ndarray, ref_sigma: float) -> float:
        """The sigma in pixels of ``img`` for ``ref_sigma`` at ref_size."""
        return ref_sigma * min(img.shape[:2]) / self.ref_size

    def transform(self, results: Dict) -> Dict:
        """Blur ``results['img']`` (any channel count, uint8 or float)."""
        apply, ref_sigma = self._draw()
        if apply:
            img = results['img']
            sigma = self.sigma_for(img, ref_sigma)
            results['img'] = cv2.GaussianBlur(
                img, (0, 0), sigmaX=sigma, sigmaY=sigma,
                borderType=cv2.BORDER_REFLECT_101)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(sigma_range={self.sigma_range}, '
                f'ref_size={self.ref_size}, prob={self.prob})')
