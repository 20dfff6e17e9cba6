"""OpenCV drawing primitives with sub-pixel, anti-aliased polygons.

Coordinates are float pixels ``(x, y)`` with integer values at pixel
centres (OpenCV's convention); they are drawn with ``shift=4`` (1/16 px).
"""
from typing import Optional, Sequence

import cv2
import numpy as np

SHIFT = 4
_ONE = 1 << SHIFT


def fixed(points: np.ndarray) -> np.ndarray:
    """Float (N, 2) pixel coordinates -> int32 fixed point for OpenCV."""
    return np.rint(np.multiply(points, _ONE)).astype(np.int32)


def colour(value) -> tuple:
    """A BGR float array -> a tuple of Python floats clipped to [0, 255]."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return tuple(min(255., max(0., float(c))) for c in value)


def _many(points) -> list:
    if isinstance(points, (list, tuple)):
        return [fixed(p) for p in points]
    return [fixed(points)]


def fill(img: np.ndarray, points, value, aa: bool = True):
    """Fill one polygon, or several (a list) in one call.

    Args:
        img (np.ndarray): image drawn in place.
        points (np.ndarray | list): (N, 2) float vertices, or a list.
        value: BGR colour (or a scalar for one-channel images).
        aa (bool): anti-aliased edges. Defaults to True.
    """
    line = cv2.LINE_AA if aa else cv2.LINE_8
    cv2.fillPoly(img, _many(points), value, line, SHIFT)


def polyline(img: np.ndarray, points, value, thickness: int,
             closed: bool = False):
    """Draw anti-aliased open or closed polylines.

    Args:
        img (np.ndarray): image drawn in place.
        points (np.ndarray | list): (N, 2) float vertices, or a list.
        value: BGR colour.
        thickness (int): line width in pixels (at least 1).
        closed (bool): join the last vertex to the first. Defaults to False.
    """
    cv2.polylines(img, _many(points), closed, value, max(1, thickness),
                  cv2.LINE_AA, SHIFT)


def circle(img: np.ndarray, centre, radius: float, value):
    """Fill an anti-aliased circle of float centre and radius."""
    c = fixed(centre)
    cv2.circle(img, (int(c[0]), int(c[1])), max(1, int(radius * _ONE)),
               value, -1, cv2.LINE_AA, SHIFT)


_CIRCLES = {}


def unit_circle(num: int) -> np.ndarray:
    """Cached (num, 2) points ``(cos t, sin t)``, t in [0, 2 pi)."""
    if num not in _CIRCLES:
        t = np.linspace(0., 2 * np.pi, num, endpoint=False)
        _CIRCLES[num] = np.stack([np.cos(t), np.sin(t)], 1)
    return _CIRCLES[num]


def ellipse_points(centre, matrix: np.ndarray, num: int = 40) -> np.ndarray:
    """Boundary of the 2-D ellipse ``(u - c)^T M (u - c) = 1``.

    Args:
        centre: (2,) centre ``c``.
        matrix (np.ndarray): (2, 2) symmetric positive-definite ``M``.
        num (int): number of boundary points. Defaults to 40.

    Returns:
        np.ndarray: (num, 2) points.
    """
    vals, vecs = np.linalg.eigh(matrix)
    circle_pts = unit_circle(num) / np.sqrt(vals)
    return np.asarray(centre)[None] + circle_pts @ vecs.T


def project_ellipsoid(camera, centre: np.ndarray, axes: np.ndarray):
    """Silhouette of a template-frame ellipsoid under the camera.

    Args:
        camera (Camera): the image's camera.
        centre (np.ndarray): (3,) ellipsoid centre in template units.
        axes (np.ndarray): (3,) semi-axes along template x, y, z.

    Returns:
        tuple: ``(c, M)``, the image ellipse ``(u - c)^T M (u - c) = 1``.
    """
    rot = camera.rotation
    q = rot @ np.diag(1. / np.square(axes)) @ rot.T / camera.scale**2
    m = q[:2, :2] - np.outer(q[:2, 2], q[2, :2]) / q[2, 2]
    c = camera.to_camera(centre[None])[0, :2]
    return c, m


_GRIDS = {}


def grid(h: int, w: int):
    """Cached float32 pixel-coordinate grids ``(xs, ys)`` of shape (h, w)."""
    key = (h, w)
    if key not in _GRIDS:
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        _GRIDS[key] = (xs, ys)
    return _GRIDS[key]


def background(rng: np.random.Generator, h: int, w: int,
               colours: Optional[Sequence] = None) -> np.ndarray:
    """A smooth random background: a linear gradient plus blotches.

    Args:
        rng (np.random.Generator): source of the texture.
        h (int): height.
        w (int): width.
        colours (Sequence, optional): two BGR end colours; random if None.

    Returns:
        np.ndarray: (h, w, 3) uint8 BGR image.
    """
    if colours is None:
        colours = rng.uniform(20., 235., (2, 3))
    c0, c1 = (np.asarray(c, np.float32) for c in colours)
    # built on a coarse grid; bilinear upsampling keeps the gradient linear
    cells = int(rng.integers(3, 7))
    ys, xs = np.mgrid[0:cells, 0:cells] / (cells - 1.)
    angle = rng.uniform(0., 2 * np.pi)
    t = np.cos(angle) * xs + np.sin(angle) * ys
    t = ((t - t.min()) / max(float(np.ptp(t)), 1e-6)).astype(np.float32)
    coarse = c0 + t[..., None] * (c1 - c0)
    coarse += rng.uniform(-1., 1., (cells, cells, 3)).astype(
        np.float32) * np.float32(rng.uniform(5., 35.))
    # cubic to 16 x 16 then linear: smooth and fast (cubic up-sampling to
    # the full size costs 15x more)
    coarse = cv2.resize(
        np.clip(coarse, 0, 255).astype(np.uint8), (16, 16),
        interpolation=cv2.INTER_CUBIC)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
