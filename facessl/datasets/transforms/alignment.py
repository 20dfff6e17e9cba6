"""5-point face alignment to the ArcFace 112 x 112 template.

The five points are, in image order, the left-most eye centre, the other
eye centre, the nose tip and the left and right mouth corners (the order of
insightface's detectors and of IJB's ``*_name_5pts_score.txt``). A
similarity transform (rotation, uniform scale, translation) fitted by least
squares (Umeyama 1991) maps them onto :data:`ARCFACE_TEMPLATE`; the face is
then warped with ``cv2.warpAffine`` (bilinear, black border), as
insightface's ``norm_crop`` does.
"""
from typing import Dict

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from facessl.registry import TRANSFORMS

#: insightface's ``arcface_dst`` (``python-package/insightface/utils/
#: face_align.py``): the five points of a 112 x 112 aligned face, (x, y).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
     [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32)


def template_points(image_size: int = 112) -> np.ndarray:
    """The ArcFace template for an output of ``image_size`` pixels.

    Multiples of 112 scale the template; multiples of 128 scale it by
    ``image_size / 128`` and shift it right by ``8 * image_size / 128``
    (insightface's ``estimate_norm``).

    Args:
        image_size (int): output side. Defaults to 112.

    Returns:
        np.ndarray: (5, 2) float64 (x, y) points.
    """
    if image_size > 0 and image_size % 112 == 0:
        return ARCFACE_TEMPLATE.astype(np.float64) * (image_size / 112)
    if image_size > 0 and image_size % 128 == 0:
        ratio = image_size / 128
        return ARCFACE_TEMPLATE.astype(np.float64) * ratio + [8 * ratio, 0]
    raise ValueError(f'image_size must be a positive multiple of 112 or '
                     f'128, got {image_size}')


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform mapping ``src`` onto ``dst``.

    Umeyama's closed form: with centred point sets and the SVD
    ``U S V^T`` of their cross-covariance, ``R = U D V^T`` where ``D``
    flips the last axis if needed so that ``R`` is a rotation,
    ``scale = trace(S D) / var(src)`` and ``t = mean(dst) - scale R
    mean(src)``.

    Args:
        src (np.ndarray): (K, 2) source points, K >= 2.
        dst (np.ndarray): (K, 2) destination points.

    Returns:
        np.ndarray: (2, 3) float64 matrix ``[scale R | t]``.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if (src.ndim != 2 or src.shape[1] != 2 or src.shape != dst.shape
            or len(src) < 2):
        raise ValueError(f'expected two (K, 2) point arrays with K >= 2, '
                         f'got {src.shape} and {dst.shape}')
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    var = (src_c**2).sum() / len(src)
    if var <= 1e-12:
        raise ValueError(f'cannot fit a similarity transform: the source '
                         f'points coincide ({src.tolist()})')
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    scale = (s * d).sum() / var
    shift = dst_mean - scale * rot @ src_mean
    return np.hstack([scale * rot, shift[:, None]])


def estimate_alignment(points5: np.ndarray,
                       image_size: int = 112) -> np.ndarray:
    """The (2, 3) matrix taking the five points to the ArcFace template.

    Args:
        points5 (np.ndarray): (5, 2) (x, y) points in the input image.
        image_size (int): output side (multiple of 112 or 128).

    Returns:
        np.ndarray: (2, 3) float64 affine matrix for ``cv2.warpAffine``.
    """
    points5 = np.asarray(points5, np.float64)
    if points5.shape != (5, 2):
        raise ValueError(f'expected (5, 2) landmarks, got {points5.shape}')
    return similarity_transform(points5, template_points(image_size))


def align_face(img: np.ndarray,
               points5: np.ndarray,
               image_size: int = 112) -> np.ndarray:
    """Warp a face to the ArcFace template (insightface's ``norm_crop``).

    Args:
        img (np.ndarray): (H, W, C) or (H, W) image of any dtype OpenCV
            warps.
        points5 (np.ndarray): (5, 2) (x, y) points in ``img``.
        image_size (int): output side. Defaults to 112.

    Returns:
        np.ndarray: the (image_size, image_size[, C]) aligned face.
    """
    matrix = estimate_alignment(points5, image_size)
    return cv2.warpAffine(
        img, matrix, (image_size, image_size), borderValue=0.0)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (..., 2) points.

    Args:
        points (np.ndarray): (..., 2) (x, y) points.
        matrix (np.ndarray): (2, 3) affine matrix.

    Returns:
        np.ndarray: transformed points, float32.
    """
    points = np.asarray(points, np.float64)
    out = points @ matrix[:, :2].T + matrix[:, 2]
    return out.astype(np.float32)


@TRANSFORMS.register_module()
class AlignFace(BaseTransform):
    """Align ``img`` to the ArcFace template with its ``landmarks5``.

    **Required keys:** ``img``, ``landmarks5`` (5, 2) (x, y).
    **Modified keys:** ``img`` (now ``image_size`` square), ``img_shape``,
    ``landmarks5`` and, when present, ``landmarks`` (K, 2) (mapped by the
    same matrix). **Added keys:** ``align_matrix`` (2, 3) float64.

    Args:
        image_size (int): output side, a multiple of 112 or 128.
            Defaults to 112.
    """

    def __init__(self, image_size: int = 112) -> None:
        template_points(image_size)  # validates
        self.image_size = image_size

    def transform(self, results: Dict) -> Dict:
        """Warp the image and its landmarks."""
        if 'landmarks5' not in results:
            raise KeyError(f'AlignFace needs a (5, 2) "landmarks5" entry; '
                           f'got keys {sorted(results)}')
        matrix = estimate_alignment(results['landmarks5'], self.image_size)
        size = (self.image_size, self.image_size)
        results['img'] = cv2.warpAffine(
            results['img'], matrix, size, borderValue=0.0)
        results['img_shape'] = size
        results['landmarks5'] = transform_points(results['landmarks5'],
                                                 matrix)
        if results.get('landmarks') is not None:
            results['landmarks'] = transform_points(results['landmarks'],
                                                    matrix)
        results['align_matrix'] = matrix
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(image_size={self.image_size})'
