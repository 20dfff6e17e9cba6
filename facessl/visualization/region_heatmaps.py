"""FRA's K facial-region heatmaps drawn over the input faces."""
from typing import Optional, Sequence

import cv2
import numpy as np
import torch

from .grid import resize_to_height, tile_grid
from .landmarks import landmark_colours


def probability_overlay(img: np.ndarray, prob: np.ndarray,
                        alpha: float = 0.6) -> np.ndarray:
    """Blend a [0, 1] map (not rescaled: 1 is red) over an RGB face.

    Args:
        img (np.ndarray): (H, W, 3) RGB uint8.
        prob (np.ndarray): (h, w) values in [0, 1], resized bilinearly.
        alpha (float): weight of the map. Defaults to 0.6.

    Returns:
        np.ndarray: (H, W, 3) RGB uint8.
    """
    h, w = img.shape[:2]
    up = cv2.resize(prob.astype(np.float32), (w, h),
                    interpolation=cv2.INTER_LINEAR)
    heat = cv2.applyColorMap(
        np.clip(up * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    heat = heat[..., ::-1].astype(np.float32)
    return np.clip(alpha * heat + (1 - alpha) * img, 0, 255).astype(np.uint8)


def region_map(img: np.ndarray, heatmaps: np.ndarray,
               alpha: float = 0.5) -> np.ndarray:
    """Each pixel coloured by its most likely region, over the face.

    Args:
        img (np.ndarray): (H, W, 3) RGB uint8.
        heatmaps (np.ndarray): (K, h, w) assignments.
        alpha (float): weight of the colours. Defaults to 0.5.

    Returns:
        np.ndarray: (H, W, 3) RGB uint8.
    """
    h, w = img.shape[:2]
    up = np.stack([
        cv2.resize(m.astype(np.float32), (w, h),
                   interpolation=cv2.INTER_LINEAR) for m in heatmaps
    ])
    k = len(heatmaps)
    colours = landmark_colours(np.arange(k), k).astype(np.float32)
    paint = colours[up.argmax(0)]
    return np.clip(alpha * paint + (1 - alpha) * img, 0, 255).astype(
        np.uint8)


def region_heatmap_grid(images: Sequence[np.ndarray],
                        heatmaps: torch.Tensor,
                        row_titles: Optional[Sequence[str]] = None,
                        size: int = 112) -> np.ndarray:
    """Faces, their region map and each of the K heatmaps, one row a face.

    Args:
        images (Sequence[np.ndarray]): RGB uint8 faces.
        heatmaps (Tensor): (B, K, h, w), summing to one over K.
        row_titles (Sequence[str], optional): one caption per face.
        size (int): side of every tile. Defaults to 112.

    Returns:
        np.ndarray: RGB uint8 grid.
    """
    maps = heatmaps.detach().float().cpu().numpy()
    k = maps.shape[1]
    rows = []
    for img, m in zip(images, maps):
        face = resize_to_height(img, size)
        rows.append([face, region_map(face, m)] +
                    [probability_overlay(face, m[i]) for i in range(k)])
    titles = ['input', 'argmax'] + [f'region {i + 1}' for i in range(k)]
    return tile_grid(rows, col_titles=titles, row_titles=row_titles)
