"""Image grids: tensors to RGB pictures, labelled tiles, grids of views.

Everything returns RGB ``uint8`` arrays (H, W, 3), the layout MMEngine's
visualiser backends expect; nothing here imports the engine.
"""
from typing import List, Optional, Sequence, Union

import cv2
import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]

FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.4
TEXT_HEIGHT = 16  # pixels of a caption strip
BACKGROUND = 255
TEXT_COLOUR = (20, 20, 20)


def to_rgb_image(img: ArrayLike,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 channel_order: str = 'rgb') -> np.ndarray:
    """One image (tensor or array) as an RGB uint8 (H, W, 3) array.

    A ``uint8`` input is taken as pixels. Any other dtype is de-normalised
    as ``img * std + mean`` (when given) and clipped to [0, 255]. Channel-
    first tensors/arrays (C, H, W) with C in (1, 3) are transposed.

    Args:
        img (np.ndarray | torch.Tensor): (C, H, W) or (H, W, C) or (H, W).
        mean (Sequence[float], optional): per-channel mean in the input's
            channel order. Defaults to None.
        std (Sequence[float], optional): per-channel std. Defaults to None.
        channel_order (str): 'rgb' or 'bgr', the input's channel order.
            Defaults to 'rgb'.

    Returns:
        np.ndarray: RGB uint8 image.
    """
    if channel_order not in ('rgb', 'bgr'):
        raise ValueError(f"channel_order='{channel_order}', expected 'rgb' "
                         "or 'bgr'")
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[2] not in (
            1, 3):
        img = img.transpose(1, 2, 0)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise ValueError(f'expected an image (C, H, W) or (H, W, C) with '
                         f'1 or 3 channels, got shape {img.shape}')
    if img.dtype != np.uint8:
        img = img.astype(np.float32)
        if std is not None:
            img = img * np.asarray(std, np.float32).reshape(-1)[:img.shape[2]]
        if mean is not None:
            img = img + np.asarray(mean,
                                   np.float32).reshape(-1)[:img.shape[2]]
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif channel_order == 'bgr':
        img = img[..., ::-1]
    return np.ascontiguousarray(img)


def resize_to_height(img: np.ndarray, height: int) -> np.ndarray:
    """Resize an image to ``height`` rows, keeping its aspect ratio.

    Args:
        img (np.ndarray): (H, W[, C]) image.
        height (int): output height; cubic interpolation up, area down.

    Returns:
        np.ndarray: the resized image (``img`` itself if already so high).
    """
    h, w = img.shape[:2]
    if h == height:
        return img
    width = max(1, int(round(w * height / h)))
    interp = cv2.INTER_CUBIC if height > h else cv2.INTER_AREA
    return cv2.resize(img, (width, height), interpolation=interp)


def caption_strip(text: str, width: int) -> np.ndarray:
    """A white strip ``TEXT_HEIGHT`` rows high with ``text`` centred.

    Args:
        text (str): caption; shortened from the end until it fits.
        width (int): strip width in pixels.

    Returns:
        np.ndarray: RGB uint8 strip (TEXT_HEIGHT, width, 3).
    """
    strip = np.full((TEXT_HEIGHT, width, 3), BACKGROUND, np.uint8)
    (tw, th), _ = cv2.getTextSize(text, FONT, FONT_SCALE, 1)
    while tw > width - 2 and len(text) > 1:
        text = text[:-1]
        (tw, th), _ = cv2.getTextSize(text, FONT, FONT_SCALE, 1)
    x = max(1, (width - tw) // 2)
    y = (TEXT_HEIGHT + th) // 2
    cv2.putText(strip, text, (x, y), FONT, FONT_SCALE, TEXT_COLOUR, 1,
                cv2.LINE_AA)
    return strip


def captioned(img: np.ndarray, text: str) -> np.ndarray:
    """An image with a caption strip on top.

    Args:
        img (np.ndarray): (H, W, 3) RGB uint8 image.
        text (str): caption.

    Returns:
        np.ndarray: (H + TEXT_HEIGHT, W, 3) RGB uint8 image.
    """
    return np.concatenate([caption_strip(text, img.shape[1]), img],
                          axis=0)


def tile_grid(rows: Sequence[Sequence[np.ndarray]],
              col_titles: Optional[Sequence[str]] = None,
              row_titles: Optional[Sequence[str]] = None,
              pad: int = 2) -> np.ndarray:
    """Lay out RGB tiles of equal height row by row, with titles.

    Tiles in a column are centred in the widest tile of that column.

    Args:
        rows (Sequence[Sequence[np.ndarray]]): rows of RGB uint8 tiles; all
            tiles have the same height.
        col_titles (Sequence[str], optional): one caption per column, drawn
            above the first row. Defaults to None.
        row_titles (Sequence[str], optional): one caption per row, drawn on
            a strip above the row. Defaults to None.
        pad (int): white gap between tiles. Defaults to 2.

    Returns:
        np.ndarray: RGB uint8 grid.
    """
    if not rows or not rows[0]:
        raise ValueError('tile_grid needs at least one row with one tile')
    height = rows[0][0].shape[0]
    ncols = max(len(r) for r in rows)
    widths = [0] * ncols
    for r in rows:
        for j, tile in enumerate(r):
            if tile.shape[0] != height:
                raise ValueError(f'tile heights differ: {tile.shape[0]} vs '
                                 f'{height}; resize tiles to one height')
            widths[j] = max(widths[j], tile.shape[1])
    total = sum(widths) + pad * (ncols + 1)

    def _row(tiles: Sequence[np.ndarray], h: int) -> np.ndarray:
        out = np.full((h, total, 3), BACKGROUND, np.uint8)
        x = pad
        for j, tile in enumerate(tiles):
            off = x + (widths[j] - tile.shape[1]) // 2
            out[:tile.shape[0], off:off + tile.shape[1]] = tile
            x += widths[j] + pad
        return out

    parts: List[np.ndarray] = [np.full((pad, total, 3), BACKGROUND,
                                       np.uint8)]
    if col_titles is not None:
        strips = [caption_strip(t, w) for t, w in zip(col_titles, widths)]
        parts.append(_row(strips, TEXT_HEIGHT))
    for i, r in enumerate(rows):
        if row_titles is not None:
            parts.append(caption_strip(row_titles[i], total))
        parts.append(_row(r, height))
        parts.append(np.full((pad, total, 3), BACKGROUND, np.uint8))
    return np.concatenate(parts, axis=0)


def view_grid(views: Union[ArrayLike, Sequence[ArrayLike]],
              num_samples: int = 4,
              height: int = 112,
              mean: Optional[Sequence[float]] = None,
              std: Optional[Sequence[float]] = None,
              channel_order: str = 'rgb',
              view_names: Optional[Sequence[str]] = None,
              row_titles: Optional[Sequence[str]] = None) -> np.ndarray:
    """A grid of the augmented views of a few samples.

    One row per sample, one column per view; every view is de-normalised
    (if floating point) and resized to ``height`` so small local crops are
    comparable with the global ones. Column titles name the view and its
    original side length.

    Args:
        views (Tensor | Sequence[Tensor]): a batch (B, C, H, W) or a list of
            such batches, one per view (the ``inputs`` of a multi-view
            batch); numpy arrays work too.
        num_samples (int): first samples to show. Defaults to 4.
        height (int): common tile height. Defaults to 112.
        mean (Sequence[float], optional): normalisation mean to undo.
        std (Sequence[float], optional): normalisation std to undo.
        channel_order (str): channel order of ``views``: 'rgb' after a
            ``to_rgb`` data preprocessor, 'bgr' straight from a facessl
            pipeline. Defaults to 'rgb'.
        view_names (Sequence[str], optional): column names. Defaults to
            'view 1', 'view 2', ... with the view size.
        row_titles (Sequence[str], optional): one caption per sample,
            e.g. its identity. Defaults to none.

    Returns:
        np.ndarray: RGB uint8 grid.
    """
    if isinstance(views, (torch.Tensor, np.ndarray)):
        views = [views]
    if not views:
        raise ValueError('view_grid got no views')
    n = min(num_samples, len(views[0]))
    rows = [[
        resize_to_height(
            to_rgb_image(v[i], mean, std, channel_order), height)
        for v in views
    ] for i in range(n)]
    if view_names is None:
        view_names = [f'view {j + 1}' for j in range(len(views))]
    titles = [
        f'{name} ({v.shape[-1]}px)' for name, v in zip(view_names, views)
    ]
    return tile_grid(
        rows,
        col_titles=titles,
        row_titles=None if row_titles is None else list(row_titles)[:n])


def default_view_names(num_views: int, num_global: int = 2) -> List[str]:
    """View names in DINO's multi-crop order: global views, then local.

    Args:
        num_views (int): total number of views.
        num_global (int): leading global views. Defaults to 2.

    Returns:
        list[str]: 'global 1', 'global 2', 'local 1', ...
    """
    return [
        f'global {j + 1}' if j < num_global else f'local {j - num_global + 1}'
        for j in range(num_views)
    ]
