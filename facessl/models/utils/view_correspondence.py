"""Where each feature pixel of one augmented view lies in another view.

Two views of a face are random resized crops (``crop_bbox`` ``[x1, y1,
x2, y2]``, inclusive pixel indices of the original face, resized to the
view's ``S x S``) followed by an optional horizontal flip. Their feature
maps are ``h x w`` grids over the view. All maps below work in *edge*
coordinates ``X = x + 0.5`` (pixel ``x`` covers ``[x, x + 1)`` in edge
units), in which every step is linear and matches the transforms'
conventions (:mod:`facessl.datasets.transforms.landmark_geometry`: a
resize maps pixel centre ``u`` to ``(u + 0.5) / s - 0.5``, a flip maps
``x`` to ``W - 1 - x``):

- feature pixel ``j`` of a ``w``-wide grid -> view edge ``(j + 0.5) S / w``;
- flip: view edge ``X -> S - X``;
- crop + resize by ``s = S / (x2 - x1 + 1)``: original edge
  ``X_o = x1 + X / s``.

A feature pixel of view A goes to the original face and from there
forward into view B's grid; it is *valid* if it lands inside B's crop.
"""
from typing import Tuple

import torch


def _grid_to_original(grid: torch.Tensor, bbox: torch.Tensor,
                      flip: torch.Tensor, view_size: Tuple[int, int],
                      grid_size: Tuple[int, int]) -> torch.Tensor:
    """(B, N, 2) grid pixel (x, y) -> original edge coordinates."""
    vh, vw = view_size
    gh, gw = grid_size
    scale = grid.new_tensor([vw / gw, vh / gh])
    edge = (grid + 0.5) * scale
    x = torch.where(flip[:, None], vw - edge[..., 0], edge[..., 0])
    edge = torch.stack([x, edge[..., 1]], -1)
    x1y1 = bbox[:, None, :2].to(grid)
    size = (bbox[:, None, 2:] - bbox[:, None, :2] + 1).to(grid)
    return x1y1 + edge * size / grid.new_tensor([vw, vh])


def _original_to_grid(orig: torch.Tensor, bbox: torch.Tensor,
                      flip: torch.Tensor, view_size: Tuple[int, int],
                      grid_size: Tuple[int, int]) -> torch.Tensor:
    """Original edge coordinates -> (B, N, 2) grid pixel (x, y)."""
    vh, vw = view_size
    gh, gw = grid_size
    x1y1 = bbox[:, None, :2].to(orig)
    size = (bbox[:, None, 2:] - bbox[:, None, :2] + 1).to(orig)
    edge = (orig - x1y1) / size * orig.new_tensor([vw, vh])
    x = torch.where(flip[:, None], vw - edge[..., 0], edge[..., 0])
    edge = torch.stack([x, edge[..., 1]], -1)
    return edge * orig.new_tensor([gw / vw, gh / vh]) - 0.5


def grid_points(height: int, width: int,
                device=None) -> torch.Tensor:
    """(h*w, 2) pixel (x, y) of an ``h x w`` grid, row-major."""
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device, dtype=torch.float32),
        torch.arange(width, device=device, dtype=torch.float32),
        indexing='ij')
    return torch.stack([xs.flatten(), ys.flatten()], -1)


def view_correspondence(bbox_a: torch.Tensor, flip_a: torch.Tensor,
                        bbox_b: torch.Tensor, flip_b: torch.Tensor,
                        grid_size: Tuple[int, int],
                        view_size_a: Tuple[int, int],
                        view_size_b: Tuple[int, int] = None,
                        grid_size_b: Tuple[int, int] = None
                        ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Map every feature pixel of view A into view B's feature grid.

    Args:
        bbox_a (Tensor): (B, 4) crop ``[x1, y1, x2, y2]`` (inclusive) of
            view A in the original face.
        flip_a (Tensor): (B,) bool, view A was flipped horizontally.
        bbox_b (Tensor): (B, 4) crop of view B.
        flip_b (Tensor): (B,) bool, view B was flipped.
        grid_size (tuple[int, int]): (h, w) of view A's feature grid.
        view_size_a (tuple[int, int]): (H, W) of view A's image.
        view_size_b (tuple[int, int], optional): (H, W) of view B's image.
            Defaults to ``view_size_a``.
        grid_size_b (tuple[int, int], optional): (h, w) of view B's
            feature grid. Defaults to ``grid_size``.

    Returns:
        tuple[Tensor, Tensor]: ``coords`` (B, h*w, 2) float pixel (x, y) in
        B's grid of each pixel of A's grid (row-major, pixel centres at
        integers) and ``valid`` (B, h*w) bool, True where the point lies
        inside B's crop (``-0.5 <= coords < size - 0.5``).
    """
    view_size_b = view_size_b or view_size_a
    grid_size_b = grid_size_b or grid_size
    flip_a = torch.as_tensor(flip_a, dtype=torch.bool)
    flip_b = torch.as_tensor(flip_b, dtype=torch.bool)
    bbox_a = torch.as_tensor(bbox_a)
    bbox_b = torch.as_tensor(bbox_b)
    grid = grid_points(*grid_size, device=bbox_a.device)
    grid = grid.expand(bbox_a.shape[0], -1, -1)
    orig = _grid_to_original(grid, bbox_a, flip_a, view_size_a, grid_size)
    coords = _original_to_grid(orig, bbox_b, flip_b, view_size_b,
                               grid_size_b)
    hb, wb = grid_size_b
    valid = ((coords[..., 0] >= -0.5) & (coords[..., 0] < wb - 0.5) &
             (coords[..., 1] >= -0.5) & (coords[..., 1] < hb - 0.5))
    return coords, valid


def sample_at(maps: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinearly sample (B, C, h, w) maps at (B, N, 2) grid pixels.

    Returns:
        Tensor: (B, N, C); points outside the grid read the border value.
    """
    h, w = maps.shape[-2:]
    norm = torch.stack([(coords[..., 0] + 0.5) / w * 2 - 1,
                        (coords[..., 1] + 0.5) / h * 2 - 1], -1)
    out = torch.nn.functional.grid_sample(
        maps, norm[:, :, None].to(maps.dtype), mode='bilinear',
        padding_mode='border', align_corners=False)
    return out[..., 0].transpose(1, 2)
