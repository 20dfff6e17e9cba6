"""Facial landmarks drawn on faces, landmark views and patch mosaics.

Landmarks are pixel (x, y) with pixel centres at integers. Landmarks with
ids (LAFS's predicted, perturbed, shuffled or subset tokens) are coloured
by id on a hue wheel, so the same landmark has the same colour in every
view and after shuffling.
"""
import math
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from .grid import resize_to_height, tile_grid, to_rgb_image

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


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def landmark_colours(ids: np.ndarray, num_ids: int) -> np.ndarray:
    """RGB colours of landmark ids on a hue wheel (id 0 red).

    Args:
        ids (np.ndarray): (N,) integer ids in ``[0, num_ids)``.
        num_ids (int): number of distinct ids (R).

    Returns:
        np.ndarray: (N, 3) uint8 RGB colours, fully saturated.
    """
    ids = np.asarray(ids, np.int64).reshape(-1)
    hue = (180. * (ids % max(num_ids, 1)) / max(num_ids, 1)).astype(np.uint8)
    hsv = np.stack([hue, np.full_like(hue, 255), np.full_like(hue, 255)], 1)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0]


def draw_landmark_ids(img: np.ndarray,
                      landmarks,
                      ids=None,
                      num_ids: Optional[int] = None,
                      scale: float = 2.,
                      radius: float = 1.5) -> np.ndarray:
    """Draw landmarks coloured by their id on an RGB image.

    Points outside the image are not drawn.

    Args:
        img (np.ndarray): (H, W, 3) RGB uint8 image.
        landmarks (np.ndarray | torch.Tensor): (N, 2) pixel (x, y).
        ids (np.ndarray | torch.Tensor, optional): (N,) landmark ids;
            defaults to 0..N-1.
        num_ids (int, optional): size of the colour wheel; defaults to
            ``max(ids) + 1``. Give R (e.g. 196) to keep colours stable
            across views that hold subsets.
        scale (float): upsampling of the output. Defaults to 2.
        radius (float): point radius in output pixels. Defaults to 1.5.

    Returns:
        np.ndarray: the annotated copy, ``scale`` times larger.
    """
    pts = _numpy(landmarks).astype(np.float64).reshape(-1, 2)
    ids = np.arange(len(pts)) if ids is None else _numpy(ids).reshape(-1)
    if len(ids) != len(pts):
        raise ValueError(f'draw_landmark_ids: {len(pts)} landmarks but '
                         f'{len(ids)} ids')
    num_ids = int(num_ids or (ids.max() + 1 if len(ids) else 1))
    h, w = img.shape[:2]
    out = cv2.resize(img, (int(round(w * scale)), int(round(h * scale))),
                     interpolation=cv2.INTER_CUBIC)
    inside = ((pts[:, 0] > -0.5) & (pts[:, 0] < w - 0.5) &
              (pts[:, 1] > -0.5) & (pts[:, 1] < h - 0.5))
    fixed = np.rint(((pts + 0.5) * scale - 0.5) *
                    (1 << _SHIFT)).astype(np.int32)
    r = int(round(radius * (1 << _SHIFT)))
    for p, c, ok in zip(fixed, landmark_colours(ids, num_ids), inside):
        if ok:
            cv2.circle(out, (int(p[0]), int(p[1])), r,
                       tuple(int(v) for v in c), -1, cv2.LINE_AA, _SHIFT)
    return out


def view_landmark_grid(images: Sequence[Sequence],
                       landmarks: Sequence[Sequence],
                       ids: Optional[Sequence[Sequence]] = None,
                       num_ids: Optional[int] = None,
                       col_titles: Optional[Sequence[str]] = None,
                       row_titles: Optional[Sequence[str]] = None,
                       height: int = 112,
                       scale: float = 2.,
                       channel_order: str = 'rgb',
                       mean: Optional[Sequence[float]] = None,
                       std: Optional[Sequence[float]] = None) -> np.ndarray:
    """Rows of views, each with its own (perturbed / subset) landmarks.

    E.g. one row per image kind (photometric, geometric) or per sample,
    one column per view; ``images[i][j]`` carries ``landmarks[i][j]``.

    Args:
        images (Sequence[Sequence]): rows of images, each (C, H, W) or
            (H, W, C), tensor or array (normalised ones with mean/std).
        landmarks (Sequence[Sequence]): matching rows of (N, 2) pixel
            (x, y) of each image (None draws no points).
        ids (Sequence[Sequence], optional): matching rows of (N,) ids.
        num_ids (int, optional): colour-wheel size, see
            :func:`draw_landmark_ids`.
        col_titles (Sequence[str], optional): caption per column.
        row_titles (Sequence[str], optional): caption per row.
        height (int): tile height before the ``scale`` upsampling.
            Defaults to 112.
        scale (float): upsampling. Defaults to 2.
        channel_order (str): 'rgb' or 'bgr' of the images.
            Defaults to 'rgb'.
        mean (Sequence[float], optional): normalisation mean to undo.
        std (Sequence[float], optional): normalisation std to undo.

    Returns:
        np.ndarray: RGB uint8 grid.
    """
    rows = []
    for i, row in enumerate(images):
        tiles = []
        for j, img in enumerate(row):
            rgb = to_rgb_image(img, mean, std, channel_order)
            pts = landmarks[i][j]
            if pts is None:
                pts = np.zeros((0, 2))
            pts = _numpy(pts).astype(np.float64).reshape(-1, 2)
            factor = height / rgb.shape[0]
            rgb = resize_to_height(rgb, height)
            pts = (pts + 0.5) * factor - 0.5
            tile_ids = None if ids is None else ids[i][j]
            tiles.append(
                draw_landmark_ids(rgb, pts, tile_ids, num_ids, scale))
        rows.append(tiles)
    return tile_grid(rows, col_titles=col_titles, row_titles=row_titles)


def patches_to_images(patches,
                      channels: int = 3,
                      layout: str = 'chw') -> np.ndarray:
    """Unflatten (N, C*P*P) patch vectors into (N, P, P, C) images.

    Args:
        patches (np.ndarray | torch.Tensor): (N, C*P*P) flattened patches.
        channels (int): C. Defaults to 3.
        layout (str): flattening order of each vector: 'chw' (channel
            major, ``patch.reshape(-1)`` of a (C, P, P) patch) or 'hwc'
            (einops ``(p1 p2 c)``, the authors' Part fViT). Defaults to
            'chw'.

    Returns:
        np.ndarray: (N, P, P, C) float32 patches.
    """
    arr = _numpy(patches).astype(np.float32)
    if arr.ndim != 2:
        raise ValueError(f'expected (N, C*P*P) patches, got {arr.shape}')
    p = int(round(math.sqrt(arr.shape[1] / channels)))
    if p * p * channels != arr.shape[1]:
        raise ValueError(f'patch length {arr.shape[1]} is not {channels} '
                         'x P x P for an integer P')
    if layout == 'chw':
        return arr.reshape(-1, channels, p, p).transpose(0, 2, 3, 1)
    if layout == 'hwc':
        return arr.reshape(-1, p, p, channels)
    raise ValueError(f"layout='{layout}', expected 'chw' or 'hwc'")


def patch_mosaic(patches,
                 channels: int = 3,
                 layout: str = 'chw',
                 cols: Optional[int] = None,
                 zoom: int = 4,
                 gap: int = 1,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 channel_order: str = 'rgb',
                 titles: Optional[Sequence[str]] = None) -> np.ndarray:
    """The sampled patches of one or more samples as mosaics.

    Each sample's N patches are laid out in token order, ``cols`` per row
    (default ``ceil(sqrt(N))``), each enlarged ``zoom`` times (nearest
    neighbour, so the sampled pixels stay visible) with a white ``gap``;
    samples are placed side by side.

    Args:
        patches (np.ndarray | torch.Tensor): (N, C*P*P) or (B, N, C*P*P).
        channels (int): C. Defaults to 3.
        layout (str): 'chw' or 'hwc', see :func:`patches_to_images`.
        cols (int, optional): patches per mosaic row.
        zoom (int): enlargement of every patch. Defaults to 4.
        gap (int): white pixels between patches. Defaults to 1.
        mean (Sequence[float], optional): normalisation mean to undo.
        std (Sequence[float], optional): normalisation std to undo.
        channel_order (str): 'rgb' or 'bgr'. Defaults to 'rgb'.
        titles (Sequence[str], optional): caption per sample.

    Returns:
        np.ndarray: RGB uint8 image.
    """
    arr = _numpy(patches)
    batch = [arr] if arr.ndim == 2 else list(arr)
    mosaics: List[np.ndarray] = []
    for sample in batch:
        tiles = patches_to_images(sample, channels, layout)
        n, p = len(tiles), tiles.shape[1]
        ncols = cols or max(1, math.ceil(math.sqrt(n)))
        nrows = max(1, math.ceil(n / ncols))
        side = p * zoom
        out = np.full((nrows * (side + gap) + gap,
                       ncols * (side + gap) + gap, 3), 255, np.uint8)
        for k, tile in enumerate(tiles):
            rgb = to_rgb_image(tile, mean, std, channel_order)
            rgb = cv2.resize(rgb, (side, side),
                             interpolation=cv2.INTER_NEAREST)
            y = gap + (k // ncols) * (side + gap)
            x = gap + (k % ncols) * (side + gap)
            out[y:y + side, x:x + side] = rgb
        mosaics.append(out)
    return tile_grid([mosaics], col_titles=titles)
