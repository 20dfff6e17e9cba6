"""Gaussian landmark heatmaps: rendering, decoding and rescaling.

Points are (x, y) with pixel centres at integers (facessl's convention, see
:mod:`facessl.datasets.face_landmarks`). A heatmap of size ``(h, w)`` over
an image of size ``(H, W)`` samples it with stride ``H / h``: heatmap
pixel ``u`` covers the image around ``(u + 0.5) * H / h - 0.5``, the
centre convention of OpenCV's and Pillow's resize (and of
:func:`facessl.datasets.transforms.landmark_geometry.crop_resize_points`).
"""
from typing import Optional, Sequence, Tuple, Union

import torch

Size = Union[int, Sequence[int]]


def _pair(size: Size) -> Tuple[int, int]:
    """``(h, w)`` of an int (square) or a pair."""
    if isinstance(size, int):
        return size, size
    h, w = size
    return int(h), int(w)


def scale_points(points: torch.Tensor, src_size: Size,
                 dst_size: Size) -> torch.Tensor:
    """Map points from a ``src_size`` image frame to a ``dst_size`` one.

    ``x_dst = (x_src + 0.5) * w_dst / w_src - 0.5`` (likewise y), so pixel
    centres map onto the resized pixel grid; use it from image to heatmap
    pixels and back.

    Args:
        points (Tensor): (..., 2) pixel (x, y).
        src_size (int | Sequence[int]): source (h, w).
        dst_size (int | Sequence[int]): destination (h, w).

    Returns:
        Tensor: (..., 2) points in the destination frame.
    """
    (sh, sw), (dh, dw) = _pair(src_size), _pair(dst_size)
    scale = points.new_tensor([dw / sw, dh / sh])
    return (points + 0.5) * scale - 0.5


def render_gaussian_heatmaps(points: torch.Tensor, size: Size,
                             sigma: float = 2.) -> torch.Tensor:
    """Unnormalised Gaussians ``exp(-d^2 / (2 sigma^2))`` at the points.

    Args:
        points (Tensor): (B, K, 2) (x, y) in heatmap pixels; sub-pixel
            positions are rendered exactly (no rounding).
        size (int | Sequence[int]): heatmap (h, w).
        sigma (float): standard deviation in heatmap pixels. Defaults to 2.

    Returns:
        Tensor: (B, K, h, w) heatmaps with peak value 1 at a point on a
        pixel centre.
    """
    if points.dim() != 3 or points.shape[-1] != 2:
        raise ValueError('render_gaussian_heatmaps: points must be '
                         f'(B, K, 2), got {tuple(points.shape)}')
    if sigma <= 0:
        raise ValueError(f'render_gaussian_heatmaps: sigma must be > 0, '
                         f'got {sigma}')
    h, w = _pair(size)
    xs = torch.arange(w, dtype=points.dtype, device=points.device)
    ys = torch.arange(h, dtype=points.dtype, device=points.device)
    dx = (xs - points[..., 0, None]) ** 2  # (B, K, w)
    dy = (ys - points[..., 1, None]) ** 2  # (B, K, h)
    return torch.exp(-(dy[..., :, None] + dx[..., None, :]) /
                     (2 * sigma**2))


def soft_argmax(heatmaps: torch.Tensor,
                beta: float = 1.,
                radius: Optional[int] = None) -> torch.Tensor:
    """Expected (x, y) under ``softmax(beta * heatmap)`` of each map.

    Differentiable in the heatmap values. Over a whole map, the flat
    background (``exp(0) = 1`` at every one of the ``h * w`` pixels) pulls
    the estimate to the centre unless ``beta`` is large, and a large
    ``beta`` leaves a peak too narrow to locate between pixels. With
    ``radius`` the softmax only covers the ``(2r + 1)^2`` window around
    each map's maximum (the local soft-argmax), so a moderate ``beta``
    works: for Gaussians of sigma 2, ``beta=10, radius=3`` recovers
    sub-pixel points to ~0.005 px (the softmax peak then has sigma
    ``2 / sqrt(10)``; a window cut by the border biases the estimate).

    Args:
        heatmaps (Tensor): (B, K, h, w).
        beta (float): inverse temperature. Defaults to 1.
        radius (int, optional): window half-size around the maximum.
            Defaults to None (the whole map).

    Returns:
        Tensor: (B, K, 2) (x, y) in heatmap pixels.
    """
    b, k, h, w = heatmaps.shape
    logits = heatmaps * beta
    xs = torch.arange(w, dtype=heatmaps.dtype, device=heatmaps.device)
    ys = torch.arange(h, dtype=heatmaps.dtype, device=heatmaps.device)
    if radius is not None:
        peak = hard_argmax(heatmaps.detach())
        inside_x = (xs - peak[..., 0, None]).abs() <= radius
        inside_y = (ys - peak[..., 1, None]).abs() <= radius
        inside = inside_y[..., :, None] & inside_x[..., None, :]
        logits = logits.masked_fill(~inside, float('-inf'))
    prob = torch.softmax(logits.reshape(b, k, -1), dim=-1)
    prob = prob.reshape(b, k, h, w)
    x = (prob.sum(2) * xs).sum(-1)
    y = (prob.sum(3) * ys).sum(-1)
    return torch.stack([x, y], dim=-1)


def hard_argmax(heatmaps: torch.Tensor) -> torch.Tensor:
    """Integer (x, y) of each map's maximum (first one on ties).

    Args:
        heatmaps (Tensor): (B, K, h, w).

    Returns:
        Tensor: (B, K, 2) float (x, y) in heatmap pixels.
    """
    b, k, h, w = heatmaps.shape
    idx = heatmaps.reshape(b, k, -1).argmax(-1)
    return torch.stack([idx % w, idx // w], dim=-1).to(heatmaps.dtype)


def decode_heatmaps(heatmaps: torch.Tensor,
                    method: str = 'soft_argmax',
                    beta: float = 10.,
                    radius: Optional[int] = 3) -> torch.Tensor:
    """Landmark positions of heatmaps.

    Args:
        heatmaps (Tensor): (B, K, h, w).
        method (str): ``'soft_argmax'`` (:func:`soft_argmax`, sub-pixel)
            or ``'argmax'`` (:func:`hard_argmax`, integer pixels).
            Defaults to 'soft_argmax'.
        beta (float): soft-argmax inverse temperature. Defaults to 10.
        radius (int, optional): soft-argmax window half-size (None: the
            whole map). Defaults to 3 (suits Gaussians of sigma 2).

    Returns:
        Tensor: (B, K, 2) (x, y) in heatmap pixels; map them to the image
        with :func:`scale_points`.
    """
    if heatmaps.dim() != 4:
        raise ValueError('decode_heatmaps: heatmaps must be (B, K, h, w), '
                         f'got {tuple(heatmaps.shape)}')
    if method == 'soft_argmax':
        return soft_argmax(heatmaps, beta, radius)
    if method == 'argmax':
        return hard_argmax(heatmaps)
    raise ValueError(f"decode_heatmaps: method must be 'soft_argmax' or "
                     f"'argmax', got {method!r}")
