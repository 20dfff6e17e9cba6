"""Photometric reconstruction loss of 3D-BERL."""
import torch


def masked_l1_loss(pred: torch.Tensor, target: torch.Tensor,
                   mask: torch.Tensor) -> torch.Tensor:
    r"""Mean absolute error over the valid pixels.

    .. math::

        L_{recon} = \frac{\sum_{b,c,i} m_{bi}\,|\hat I_{bci} - I_{bci}|}
                         {C \sum_{b,i} m_{bi}}

    the L1 loss of 3D-BERL (He et al., CVPR 2022) between the re-rendered
    image :math:`\hat I` and the input :math:`I`, over the pixels the
    renderer reaches (mask 1). An empty mask gives 0 (no division by 0).

    Args:
        pred (Tensor): re-rendered images ``(B, C, H, W)``.
        target (Tensor): input images, same shape.
        mask (Tensor): valid pixels ``(B, 1, H, W)`` in {0, 1} (or weights).

    Returns:
        Tensor: scalar loss.
    """
    if pred.shape != target.shape or pred.dim() != 4:
        raise ValueError(f'masked_l1_loss: pred and target must be '
                         f'(B, C, H, W) of one shape, got '
                         f'{tuple(pred.shape)} and {tuple(target.shape)}')
    if mask.shape != (pred.shape[0], 1, *pred.shape[2:]):
        raise ValueError(f'masked_l1_loss: mask must be (B, 1, H, W) = '
                         f'{(pred.shape[0], 1, *pred.shape[2:])}, got '
                         f'{tuple(mask.shape)}')
    total = ((pred - target).abs() * mask).sum()
    return total / (mask.sum() * pred.shape[1]).clamp(min=1)


def total_variation_loss(depth: torch.Tensor) -> torch.Tensor:
    r"""Anisotropic total variation of a map, mean over pixel pairs.

    .. math::

        L_{TV} = \operatorname{mean}_{b,c,i,j} |d_{b,c,i+1,j} - d_{b,c,i,j}|
                 + \operatorname{mean}_{b,c,i,j} |d_{b,c,i,j+1} - d_{b,c,i,j}|

    An optional smoothness prior on 3D-BERL's network-range depth (not part
    of the paper's loss).

    Args:
        depth (Tensor): ``(B, C, H, W)`` maps, ``H, W >= 2``.

    Returns:
        Tensor: scalar loss.
    """
    if depth.dim() != 4 or min(depth.shape[-2:]) < 2:
        raise ValueError(f'total_variation_loss: expected (B, C, H, W) with '
                         f'H, W >= 2, got {tuple(depth.shape)}')
    return ((depth[..., 1:, :] - depth[..., :-1, :]).abs().mean() +
            (depth[..., :, 1:] - depth[..., :, :-1]).abs().mean())
