"""Facial landmarks drawn on faces (iBUG 300-W 68-point contours)."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from .grid import tile_grid

#: iBUG 68-point contours: (first, last, closed).
IBUG68_CONTOURS: Tuple[Tuple[int, int, bool], ...] = (
    (0, 16, False),  # jaw
    (17, 21, False),  # brow (image left)
    (22, 26, False),  # brow (image right)
    (27, 30, False),  # nose bridge
    (31, 35, False),  # nostrils
    (36, 41, True),  # eye (image left)
    (42, 47, True),  # eye (image right)
    (48, 59, True),  # outer lips
    (60, 67, True),  # inner lips
)
_SHIFT = 4  # sub-pixel drawing: coordinates in 1/16 pixel


def draw_landmarks(img: np.ndarray,
                   landmarks: np.ndarray,
                   scale: float = 2.,
                   point_colour: Tuple[int, int, int] = (255, 40, 40),
                   line_colour: Optional[Tuple[int, int, int]] = (60, 220,
                                                                  60),
                   radius: float = 1.5,
                   visible: Optional[np.ndarray] = None) -> np.ndarray:
    """Draw landmarks (and, for 68 points, the iBUG contours) on a face.

    Args:
        img (np.ndarray): (H, W, 3) uint8 image (colours are given in the
            image's channel order) or (H, W) gray.
        landmarks (np.ndarray): (K, 2) pixel (x, y) of ``img``.
        scale (float): upsampling of the output so small faces stay
            readable. Defaults to 2.
        point_colour (tuple): colour of the points. Defaults to red (RGB).
        line_colour (tuple, optional): colour of the contours; None draws
            points only. Defaults to green.
        radius (float): point radius in output pixels. Defaults to 1.5.
        visible (np.ndarray, optional): (K,) bool; hidden points are drawn
            hollow. Defaults to all visible.

    Returns:
        np.ndarray: the annotated copy, ``scale`` times larger.
    """
    pts = np.asarray(landmarks, np.float64).reshape(-1, 2)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    h, w = img.shape[:2]
    out = cv2.resize(img, (int(round(w * scale)), int(round(h * scale))),
                     interpolation=cv2.INTER_CUBIC)
    # Pixel centres: (x + 0.5) * scale - 0.5 in the upsampled image.
    fixed = np.rint(((pts + 0.5) * scale - 0.5) *
                    (1 << _SHIFT)).astype(np.int32)
    if line_colour is not None and len(pts) == 68:
        for first, last, closed in IBUG68_CONTOURS:
            cv2.polylines(out, [fixed[first:last + 1]], closed, line_colour,
                          1, cv2.LINE_AA, _SHIFT)
    vis = np.ones(len(pts), bool) if visible is None else np.asarray(visible)
    r = int(round(radius * (1 << _SHIFT)))
    for p, v in zip(fixed, vis):
        cv2.circle(out, (int(p[0]), int(p[1])), r, point_colour,
                   -1 if v else 1, cv2.LINE_AA, _SHIFT)
    return out


def landmark_grid(images: Sequence[np.ndarray],
                  landmarks: Sequence[np.ndarray],
                  titles: Optional[Sequence[str]] = None,
                  scale: float = 2.) -> np.ndarray:
    """Several faces with their landmarks, side by side.

    Args:
        images (Sequence[np.ndarray]): RGB uint8 faces of equal height.
        landmarks (Sequence[np.ndarray]): (K, 2) pixel (x, y) per face.
        titles (Sequence[str], optional): caption per face.
        scale (float): upsampling, see :func:`draw_landmarks`.

    Returns:
        np.ndarray: RGB uint8 grid (one row).
    """
    tiles = [draw_landmarks(i, p, scale) for i, p in zip(images, landmarks)]
    return tile_grid([tiles], col_titles=titles)
