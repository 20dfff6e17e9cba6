"""Face-occlusion augmentation registered in facessl's ``TRANSFORMS``."""
import math
from numbers import Number
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from facessl.registry import TRANSFORMS

Box = Tuple[int, int, int, int]


@TRANSFORMS.register_module()
class RandomFaceCutout(BaseTransform):
    """Erase one random rectangle of a face image, imitating an occluder.

    Real occluders (sunglasses, masks, hands, microphones) cover one
    contiguous part of the *face*. mmpretrain's ``RandomErasing`` places its
    box anywhere in the image; here the box centre is drawn inside
    ``face_region`` (relative to the image; the default is the inner face of
    an aligned crop) and the box is shifted to lie fully inside the image,
    so its area is exactly the sampled one. See `Random Erasing Data
    Augmentation <https://arxiv.org/abs/1708.04896>`_ and `Cutout
    <https://arxiv.org/abs/1708.04552>`_.

    **Required keys:** ``img`` (``H x W`` or ``H x W x C`` array).

    **Modified keys:** ``img`` (a modified copy; the input is untouched).

    Args:
        prob (float): Probability of erasing a rectangle. Defaults to 0.5.
        area_ratio (tuple[float, float]): Range of the box area as a
            fraction of the image area. Defaults to ``(0.05, 0.25)``.
        aspect_ratio (tuple[float, float]): Range of the box height / width,
            sampled log-uniformly. Defaults to ``(0.3, 3.3)``.
        face_region (tuple[float, float, float, float]): ``(x1, y1, x2, y2)``
            in ``[0, 1]``, where the box centre may fall.
            Defaults to ``(0.2, 0.2, 0.8, 0.8)``.
        fill (Number | Sequence[Number] | str): A constant (one value or one
            per channel) written into the box, or ``'noise'`` for uniform
            random values in ``[0, 255]``. Defaults to 0.
    """

    def __init__(self,
                 prob: float = 0.5,
                 area_ratio: Tuple[float, float] = (0.05, 0.25),
                 aspect_ratio: Tuple[float, float] = (0.3, 3.3),
                 face_region: Tuple[float, float, float,
                                    float] = (0.2, 0.2, 0.8, 0.8),
                 fill: Union[Number, Sequence[Number], str] = 0) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob={prob} must be in [0, 1]')
        if not 0 < area_ratio[0] <= area_ratio[1] <= 1:
            raise ValueError(f'area_ratio={area_ratio} must satisfy '
                             '0 < low <= high <= 1')
        if not 0 < aspect_ratio[0] <= aspect_ratio[1]:
            raise ValueError(f'aspect_ratio={aspect_ratio} must satisfy '
                             '0 < low <= high')
        x1, y1, x2, y2 = face_region
        if not (0 <= x1 <= x2 <= 1 and 0 <= y1 <= y2 <= 1):
            raise ValueError(f'face_region={face_region} must be '
                             '(x1, y1, x2, y2) with 0 <= x1 <= x2 <= 1 and '
                             '0 <= y1 <= y2 <= 1')
        if isinstance(fill, str) and fill != 'noise':
            raise ValueError(f"fill={fill!r}: expected a number, a sequence "
                             "of numbers or 'noise'")
        self.prob = prob
        self.area_ratio = tuple(area_ratio)
        self.aspect_ratio = tuple(aspect_ratio)
        self.face_region = tuple(face_region)
        self.fill = fill

    @cache_randomness
    def _sample_box(self, height: int, width: int) -> Optional[Box]:
        """Draw ``(x1, y1, x2, y2)`` (exclusive ends), or None to skip."""
        if np.random.rand() >= self.prob:
            return None
        area = np.random.uniform(*self.area_ratio) * height * width
        log_low, log_high = (math.log(r) for r in self.aspect_ratio)
        aspect = math.exp(np.random.uniform(log_low, log_high))
        h = min(height, max(1, round(math.sqrt(area * aspect))))
        w = min(width, max(1, round(math.sqrt(area / aspect))))
        fx1, fy1, fx2, fy2 = self.face_region
        cx = np.random.uniform(fx1, fx2) * width
        cy = np.random.uniform(fy1, fy2) * height
        x1 = int(np.clip(round(cx - w / 2), 0, width - w))
        y1 = int(np.clip(round(cy - h / 2), 0, height - h))
        return x1, y1, x1 + w, y1 + h

    def transform(self, results: dict) -> dict:
        """Erase one rectangle of ``results['img']`` with probability p."""
        img = results['img']
        box = self._sample_box(*img.shape[:2])
        if box is None:
            return results
        x1, y1, x2, y2 = box
        img = img.copy()
        if self.fill == 'noise':
            patch_shape = (y2 - y1, x2 - x1) + img.shape[2:]
            img[y1:y2, x1:x2] = np.random.randint(0, 256, patch_shape)
        else:
            img[y1:y2, x1:x2] = self.fill
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'area_ratio={self.area_ratio}, '
                f'aspect_ratio={self.aspect_ratio}, '
                f'face_region={self.face_region}, fill={self.fill!r})')
