"""Random resized crop and horizontal flip that carry landmarks along.

Landmarks are (K, 2) pixel (x, y) coordinates with pixel centres at
integers (facessl's convention, see :mod:`facessl.datasets.face_landmarks`).
Resizing maps the centre of output pixel ``u`` to input ``(u + 0.5) / s -
0.5`` (OpenCV's and Pillow's convention), so a crop starting at pixel
``x1`` and resized by ``s`` maps ``x`` to ``(x - x1 + 0.5) * s - 0.5``. A
horizontal flip maps ``x`` to ``W - 1 - x`` and renumbers the points with
their mirror partners (the image-left eye corner becomes the image-right
one).
"""
from typing import Dict, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpretrain.datasets.transforms import RandomResizedCrop

from facessl.registry import TRANSFORMS

from ..landmark_layouts import check_flip_indices, default_flip_indices


def crop_resize_points(points: np.ndarray, bbox: Sequence[int],
                       out_size: Tuple[int, int]) -> np.ndarray:
    """Map points through a crop followed by a resize.

    Args:
        points (np.ndarray): (..., 2) pixel (x, y) in the source image.
        bbox (Sequence[int]): crop ``[x1, y1, x2, y2]``, inclusive pixel
            indices (``mmcv.imcrop``'s convention).
        out_size (tuple[int, int]): (height, width) after resizing.

    Returns:
        np.ndarray: float32 (..., 2) pixel (x, y) in the output image.
    """
    x1, y1, x2, y2 = (float(v) for v in bbox)
    scale = np.array(
        [out_size[1] / (x2 - x1 + 1), out_size[0] / (y2 - y1 + 1)])
    pts = np.asarray(points, np.float64)
    return ((pts - [x1, y1] + 0.5) * scale - 0.5).astype(np.float32)


def flip_points(points: np.ndarray, width: int,
                flip_indices: Sequence[int]) -> np.ndarray:
    """Mirror points horizontally and renumber them by mirror partner.

    Point ``i`` of the flipped image is the mirror image of point
    ``flip_indices[i]`` of the original.

    Args:
        points (np.ndarray): (K, 2) pixel (x, y).
        width (int): image width W; ``x`` becomes ``W - 1 - x``.
        flip_indices (Sequence[int]): mirror partner of every point.

    Returns:
        np.ndarray: float32 (K, 2) points of the flipped image.
    """
    out = np.array(points, np.float32)[list(flip_indices)]
    out[:, 0] = width - 1 - out[:, 0]
    return out


def _check_points(results: Dict, key: str, where: str) -> np.ndarray:
    pts = np.asarray(results[key])
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f'{where}: "{key}" must be (K, 2) pixel (x, y), '
                         f'got shape {pts.shape}')
    return pts


@TRANSFORMS.register_module()
class LandmarkRandomResizedCrop(RandomResizedCrop):
    """mmpretrain's ``RandomResizedCrop`` that also maps landmarks.

    The crop box is drawn exactly as mmpretrain draws it (area fraction in
    ``crop_ratio_range``, log-uniform aspect ratio, central fallback).

    **Required keys:** ``img``. **Modified keys:** ``img``, ``img_shape``
    and every key of ``landmark_keys`` present ((K, 2) float32 pixel
    (x, y) of the output). **Added keys:** ``crop_bbox`` (4,) int64
    ``[x1, y1, x2, y2]`` inclusive, in the input image.

    Args:
        scale (int | tuple[int, int]): output size, an int for a square
            or (height, width) as in mmpretrain.
        landmark_keys (Sequence[str]): point arrays to map.
            Defaults to ('landmarks', ).
        **kwargs: ``crop_ratio_range``, ``aspect_ratio_range``,
            ``max_attempts``, ``interpolation``, ``backend`` of
            :class:`mmpretrain.datasets.transforms.RandomResizedCrop`.
    """

    def __init__(self,
                 scale,
                 landmark_keys: Sequence[str] = ('landmarks', ),
                 **kwargs) -> None:
        super().__init__(scale, **kwargs)
        self.landmark_keys = tuple(landmark_keys)

    def transform(self, results: Dict) -> Dict:
        """Crop and resize ``img``; map the landmarks the same way."""
        img = results['img']
        top, left, height, width = self.rand_crop_params(img)
        bbox = np.array([left, top, left + width - 1, top + height - 1])
        img = mmcv.imcrop(img, bboxes=bbox)
        img = mmcv.imresize(
            img,
            tuple(self.scale[::-1]),
            interpolation=self.interpolation,
            backend=self.backend)
        for key in self.landmark_keys:
            if results.get(key) is not None:
                pts = _check_points(results, key, type(self).__name__)
                results[key] = crop_resize_points(pts, bbox, img.shape[:2])
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['crop_bbox'] = bbox.astype(np.int64)
        return results

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] +
                f', landmark_keys={self.landmark_keys})')


@TRANSFORMS.register_module()
class LandmarkRandomFlip(BaseTransform):
    """Horizontal flip of ``img`` and its landmarks, with probability p.

    Flipped points follow ``x -> W - 1 - x`` and are renumbered by their
    mirror partners. The partners come, in this order, from the
    ``flip_indices`` argument, from a ``flip_indices`` entry of the data
    info, or from the known layout of K points (5 CelebA, 68 iBUG,
    98 WFLW; :mod:`facessl.datasets.landmark_layouts`), which is what
    facessl data sets put in ``metainfo['flip_indices']``. A data set with
    its own layout (e.g. a COCO json with custom keypoints) must pass its
    ``metainfo['flip_indices']`` here: pipelines do not see metainfo.

    **Required keys:** ``img``. **Modified keys:** ``img``, the keys of
    ``landmark_keys`` present and ``landmarks_visible`` (renumbered with
    the points). **Added keys:** ``flip`` (bool), ``flip_direction``
    ('horizontal' or None).

    Args:
        prob (float): flip probability. Defaults to 0.5.
        flip_indices (Sequence[int], optional): mirror partner of every
            landmark. Defaults to None (see above).
        landmark_keys (Sequence[str]): point arrays to flip.
            Defaults to ('landmarks', ).
    """

    def __init__(self,
                 prob: float = 0.5,
                 flip_indices: Optional[Sequence[int]] = None,
                 landmark_keys: Sequence[str] = ('landmarks', )) -> None:
        if not 0. <= prob <= 1.:
            raise ValueError(f'LandmarkRandomFlip: prob must be in [0, 1], '
                             f'got {prob}')
        self.prob = prob
        if flip_indices is not None:
            flip_indices = check_flip_indices(flip_indices,
                                              len(flip_indices),
                                              'LandmarkRandomFlip')
        self.flip_indices = flip_indices
        self.landmark_keys = tuple(landmark_keys)

    @cache_randomness
    def _do_flip(self) -> bool:
        return bool(np.random.rand() < self.prob)

    def partners(self, results: Dict, key: str, num: int) -> Tuple[int, ...]:
        """Mirror partners for the ``num`` points of ``results[key]``."""
        where = f'LandmarkRandomFlip ("{key}")'
        flip = self.flip_indices
        if flip is None and results.get('flip_indices') is not None:
            flip = check_flip_indices(results['flip_indices'],
                                      len(results['flip_indices']), where)
        if flip is None:
            flip = default_flip_indices(num)
        if flip is None:
            raise ValueError(
                f'{where}: no mirror partners known for {num} landmarks '
                '(known layouts: 5, 68, 98); pass flip_indices=[...] '
                "(the data set's metainfo['flip_indices'])")
        if len(flip) != num:
            raise ValueError(f'{where}: flip_indices has {len(flip)} '
                             f'entries, but there are {num} landmarks')
        return flip

    def transform(self, results: Dict) -> Dict:
        """Flip ``img`` and its landmarks (or leave them)."""
        flip = self._do_flip()
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        if not flip:
            return results
        width = results['img'].shape[1]
        results['img'] = mmcv.imflip(results['img'], direction='horizontal')
        for key in self.landmark_keys:
            if results.get(key) is None:
                continue
            pts = _check_points(results, key, type(self).__name__)
            partners = self.partners(results, key, len(pts))
            results[key] = flip_points(pts, width, partners)
            if key == 'landmarks' and results.get(
                    'landmarks_visible') is not None:
                results['landmarks_visible'] = np.asarray(
                    results['landmarks_visible'])[list(partners)]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, flip_indices='
                f'{self.flip_indices}, landmark_keys={self.landmark_keys})')
