"""GridLandmarks: the patch-grid centres, so a Part fViT becomes a fViT.

A plain face ViT (fViT) cuts a ``S x S`` face into ``(S / P)^2`` patches
on a regular grid. :class:`~facessl.models.backbones.PartFViT` centres a
``P x P`` patch on each landmark, so landmarks at the grid centres give
exactly those patches (row-major, like a strided-conv patch embedding).
Used in place of the landmark CNN for the LAFS paper's fViT ablations
(Sun et al., CVPR 2024, Sec. 3.3, Table 2); it has no parameters.
"""
import torch
from torch import nn

from facessl.registry import MODELS


@MODELS.register_module()
class GridLandmarks(nn.Module):
    """Fixed landmarks at the centres of a regular ``P x P`` patch grid.

    Centre of patch ``(r, c)`` (row, column) is pixel
    ``(x, y) = (P c + (P - 1) / 2, P r + (P - 1) / 2)`` in PartFViT's
    convention (pixel ``(i, j)`` centred at ``x = j, y = i``), so the patch
    PartFViT samples there is the image block
    ``[P r, P r + P) x [P c, P c + P)``.

    Args:
        img_size (int): side ``S`` of the square input. Defaults to 112.
        patch_size (int): patch side ``P``; must divide ``S``.
            Defaults to 8.
    """

    def __init__(self, img_size: int = 112, patch_size: int = 8) -> None:
        super().__init__()
        if patch_size < 1 or img_size % patch_size:
            raise ValueError(f'GridLandmarks: patch_size {patch_size} must '
                             f'divide img_size {img_size}')
        self.img_size = img_size
        self.patch_size = patch_size
        side = img_size // patch_size
        self.num_landmarks = side * side
        centres = torch.arange(side, dtype=torch.float32) * patch_size + (
            patch_size - 1) / 2
        y, x = torch.meshgrid(centres, centres, indexing='ij')
        self.register_buffer(
            'grid', torch.stack((x, y), dim=-1).view(1, -1, 2),
            persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, (S / P)^2, 2)`` pixel ``(x, y)`` grid centres for images
        ``(B, C, S, S)``."""
        if x.dim() != 4 or tuple(x.shape[2:]) != (self.img_size, ) * 2:
            raise ValueError(f'GridLandmarks expects images (B, C, '
                             f'{self.img_size}, {self.img_size}), got shape '
                             f'{tuple(x.shape)}')
        return self.grid.to(x.dtype).expand(x.shape[0], -1, -1)

    def extra_repr(self) -> str:
        return f'img_size={self.img_size}, patch_size={self.patch_size}'
