"""Pictures for convolutional backbones and for identity retrieval.

- :func:`feature_energy_maps` / :func:`activation_grid`: where a CNN's last
  feature map responds (the per-pixel L2 norm over channels), the CNN
  counterpart of a ViT's class-token attention;
- :func:`nearest_neighbours` / :func:`retrieval_grid`: held-out query faces
  with their nearest neighbours under one or more embeddings, each
  neighbour framed green (same identity) or red (another identity), so a
  reader sees at a glance what kNN accuracy measures.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from torch import nn

from .attention import overlay
from .grid import resize_to_height, tile_grid

#: RGB frame colours of a correct and a wrong neighbour
SAME, OTHER = (40, 170, 60), (210, 40, 40)


@torch.no_grad()
def feature_energy_maps(backbone: nn.Module,
                        inputs: torch.Tensor) -> torch.Tensor:
    """Per-pixel L2 norm over channels of a CNN's last feature map.

    The backbone runs in eval mode; every module's mode is restored.

    Args:
        backbone (nn.Module): returns a ``(B, C, h, w)`` map or a tuple
            whose last element is one (mmpretrain's ``ResNet``).
        inputs (torch.Tensor): (B, 3, H, W) normalised images.

    Returns:
        torch.Tensor: (B, 1, h, w) maps.
    """
    modes = [(m, m.training) for m in backbone.modules()]
    backbone.eval()
    try:
        out = backbone(inputs)
    finally:
        for module, mode in modes:
            module.training = mode
    out = out[-1] if isinstance(out, (tuple, list)) else out
    if out.dim() != 4:
        raise ValueError(f'{type(backbone).__name__}: expected a (B, C, h, '
                         f'w) feature map, got shape {tuple(out.shape)}')
    return out.float().norm(dim=1, keepdim=True)


def activation_grid(images: Sequence[np.ndarray],
                    maps: torch.Tensor,
                    row_titles: Optional[Sequence[str]] = None,
                    size: int = 112) -> np.ndarray:
    """Faces next to their feature-energy map.

    Args:
        images (Sequence[np.ndarray]): RGB uint8 faces.
        maps (torch.Tensor): (B, 1, h, w) from :func:`feature_energy_maps`.
        row_titles (Sequence[str], optional): one caption per face.
        size (int): side of every tile. Defaults to 112.

    Returns:
        np.ndarray: RGB uint8 grid, one row per face.
    """
    maps = maps.detach().float().cpu().numpy()
    rows = []
    for img, m in zip(images, maps):
        face = resize_to_height(img, size)
        rows.append([face, overlay(face, m[0])])
    return tile_grid(rows, col_titles=['input', 'activation'],
                     row_titles=row_titles)


def nearest_neighbours(feats: torch.Tensor, queries: Sequence[int],
                       k: int) -> torch.Tensor:
    """Indices of the ``k`` most cosine-similar samples of each query.

    The query itself is excluded (leave-one-out, as the kNN evaluation).

    Args:
        feats (torch.Tensor): (N, D) features.
        queries (Sequence[int]): query indices.
        k (int): neighbours per query, ``1 <= k < N``.

    Returns:
        torch.Tensor: (len(queries), k) indices, nearest first.
    """
    if not 1 <= k < feats.shape[0]:
        raise ValueError(f'k must be in [1, {feats.shape[0] - 1}], got {k}')
    x = torch.nn.functional.normalize(feats.float(), dim=1)
    q = torch.as_tensor(list(queries), dtype=torch.long)
    sim = x[q] @ x.T
    sim[torch.arange(len(q)), q] = -float('inf')
    return sim.topk(k, dim=1).indices


def _framed(img: np.ndarray, colour, width: int = 4) -> np.ndarray:
    out = img.copy()
    out[:width], out[-width:] = colour, colour
    out[:, :width], out[:, -width:] = colour, colour
    return out


def retrieval_grid(images: Sequence[np.ndarray],
                   labels: Sequence[int],
                   feats: Dict[str, torch.Tensor],
                   queries: Sequence[int],
                   k: int = 5,
                   size: int = 64) -> np.ndarray:
    """Query faces and their nearest neighbours under each embedding.

    One row per query and embedding (the embeddings of one query one
    after the other): the query, then its ``k`` nearest neighbours framed
    green (same identity) or red (another one); the row title names the
    embedding and its hits.

    Args:
        images (Sequence[np.ndarray]): RGB uint8 faces, one per sample.
        labels (Sequence[int]): identity of each sample.
        feats (dict): embedding name -> (N, D) features of the samples.
        queries (Sequence[int]): query indices.
        k (int): neighbours shown. Defaults to 5.
        size (int): tile height. Defaults to 64.

    Returns:
        np.ndarray: RGB uint8 grid.
    """
    labels = [int(y) for y in labels]
    if any(len(f) != len(labels) for f in feats.values()) or len(
            images) != len(labels):
        raise ValueError('retrieval_grid: images, labels and every feature '
                         'set need one entry per sample')
    faces = [resize_to_height(img, size) for img in images]
    found = {name: nearest_neighbours(f, queries, k)
             for name, f in feats.items()}
    rows, titles = [], []
    for i, q in enumerate(queries):  # each query under every embedding
        for name, nbrs in ((name, nn[i]) for name, nn in found.items()):
            same = [labels[int(j)] == labels[q] for j in nbrs]
            rows.append([faces[q]] + [
                _framed(faces[int(j)], SAME if s else OTHER)
                for j, s in zip(nbrs, same)
            ])
            titles.append(f'{name}: {sum(same)}/{k} same identity')
    return tile_grid(
        rows,
        col_titles=['query'] + [f'#{i + 1}' for i in range(k)],
        row_titles=titles)
