"""Square crop around the face box, resized, with the landmarks mapped.

The usual input of face-alignment benchmarks (300-W, WFLW): the face box
(``bbox``, ``[x1, y1, x2, y2]`` in pixel coordinates, e.g. the landmarks'
tight box or WFLW's rectangle) is enlarged to a square of side
``scale * max(w, h)`` about its centre and resized to ``size``; image
parts outside the source are black. Landmarks follow with facessl's
convention (pixel centres at integers, see
:func:`facessl.datasets.transforms.landmark_geometry.crop_resize_points`).
"""
from typing import Dict, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from facessl.registry import TRANSFORMS

from .landmark_geometry import crop_resize_points


@TRANSFORMS.register_module()
class LandmarkBoxCrop(BaseTransform):
    """Crop a square about the face box, resize it, map the landmarks.

    **Required keys:** ``img``, ``bbox``. **Modified keys:** ``img``,
    ``img_shape``, the keys of ``landmark_keys`` present. **Added keys:**
    ``crop_bbox`` (4,) float32, the square ``[x1, y1, x2, y2]`` (inclusive
    pixel indices, possibly beyond the image).

    Args:
        size (int): output side in pixels.
        scale (float): square side over the box's longer side.
            Defaults to 1.25.
        landmark_keys (Sequence[str]): point arrays to map.
            Defaults to ('landmarks', ).
    """

    def __init__(self,
                 size: int,
                 scale: float = 1.25,
                 landmark_keys: Sequence[str] = ('landmarks', )) -> None:
        if size < 1 or scale <= 0:
            raise ValueError(f'LandmarkBoxCrop: size must be >= 1 and '
                             f'scale > 0, got size={size}, scale={scale}')
        self.size = int(size)
        self.scale = float(scale)
        self.landmark_keys = tuple(landmark_keys)

    def transform(self, results: Dict) -> Dict:
        """Crop, resize and map the points."""
        if 'bbox' not in results:
            raise KeyError(f'LandmarkBoxCrop: {results.get("img_path", "?")}'
                           ' has no "bbox" [x1, y1, x2, y2]')
        x1, y1, x2, y2 = (float(v) for v in np.asarray(results['bbox']))
        side = self.scale * max(x2 - x1, y2 - y1, 1.)
        left = (x1 + x2) / 2 - side / 2 + 0.5
        top = (y1 + y2) / 2 - side / 2 + 0.5
        crop = [left, top, left + side - 1, top + side - 1]
        k = self.size / side
        # output pixel u <- input (u + 0.5) / k - 0.5 + left
        matrix = np.array([[k, 0., k * (0.5 - left) - 0.5],
                           [0., k, k * (0.5 - top) - 0.5]])
        results['img'] = cv2.warpAffine(
            results['img'], matrix, (self.size, self.size),
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
            borderValue=0)
        results['img_shape'] = (self.size, self.size)
        results['crop_bbox'] = np.array(crop, np.float32)
        for key in self.landmark_keys:
            if results.get(key) is not None:
                results[key] = crop_resize_points(
                    results[key], crop, (self.size, self.size))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, '
                f'scale={self.scale})')
