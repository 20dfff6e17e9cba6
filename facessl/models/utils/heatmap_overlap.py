"""How much K soft region heatmaps overlap: are the regions distinct?"""
import torch


def heatmap_overlap(heatmaps: torch.Tensor,
                    eps: float = 1e-12) -> torch.Tensor:
    """Pairwise Bhattacharyya coefficients of the K spatial heatmaps.

    Each heatmap ``A_k`` (B, K, h, w) is normalised over the pixels to a
    spatial distribution ``m_k = A_k / sum_i A_k(i)``;
    ``BC(k, l) = sum_i sqrt(m_k(i) m_l(i))`` is 1 for identical maps and 0
    for disjoint ones. Averaged over the batch.

    Args:
        heatmaps (Tensor): (B, K, h, w) non-negative heatmaps.
        eps (float): guards empty maps. Defaults to 1e-12.

    Returns:
        Tensor: (K, K) symmetric, ones on the diagonal.
    """
    m = heatmaps.flatten(2)
    m = m / (m.sum(-1, keepdim=True) + eps)
    root = m.clamp_min(0).sqrt()
    return torch.einsum('bkn,bln->bkl', root, root).mean(0)


def mean_pairwise_overlap(heatmaps: torch.Tensor) -> torch.Tensor:
    """Mean off-diagonal :func:`heatmap_overlap`: 1 = all maps identical."""
    bc = heatmap_overlap(heatmaps)
    k = bc.shape[0]
    off = ~torch.eye(k, dtype=torch.bool, device=bc.device)
    return bc[off].mean()
