"""Face-aware crop retrieval: drop local crops that are not of the face.

Di et al., *ProS: Facial Omni-Representation Learning via Prototype-based
Self-Distillation*, WACV 2024: a frozen, pretrained face-recognition model
embeds the global view and each local crop; a local crop whose cosine
similarity to its global view is below a threshold (-0.5 in the paper) is
left out of the student's loss. Any multi-crop method can use the mask.
"""
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from facessl.registry import MODELS
from .pretrained import load_pretrained

Size = Union[int, Tuple[int, int]]


@MODELS.register_module()
class FaceAwareCropFilter(BaseModule):
    """A frozen face-recognition model that masks off-face local crops.

    The backbone is built from its config and loaded *strictly* from a
    local checkpoint (:func:`load_pretrained`) at construction; it stays in
    eval mode, without gradient, and is skipped by ``init_weights`` (its
    weights are the checkpoint's). Its embedding is the last backbone
    output, average-pooled if it is a feature map. The views it sees are
    the model's inputs as they are (after the data preprocessor): the
    recognition model should expect the same normalisation.

    Args:
        backbone (dict): config of the recognition backbone.
        checkpoint (str): local path of its checkpoint.
        prefix (str, optional): key prefix of the backbone in the
            checkpoint, e.g. ``'backbone.'``. Defaults to None (all keys).
        threshold (float): a crop with cosine similarity below it is
            dropped. Defaults to -0.5.
        input_size (int | tuple[int, int], optional): size the global view
            and the crops are resized to (bilinear, antialiased) before
            embedding. Defaults to None: the global view's size.
    """

    def __init__(self,
                 backbone: dict,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 threshold: float = -0.5,
                 input_size: Optional[Size] = None) -> None:
        super().__init__()
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'FaceAwareCropFilter: checkpoint {checkpoint} is not a local '
                'file; give the path of a trained recognition model')
        self.backbone = MODELS.build(backbone)
        load_pretrained(self.backbone, checkpoint, prefix=prefix)
        self.backbone.requires_grad_(False)
        self.checkpoint = checkpoint
        self.threshold = threshold
        self.input_size = ((input_size, input_size) if isinstance(
            input_size, int) else input_size)
        self.is_init = True  # init_weights must not overwrite the weights
        self.eval()

    def train(self, mode: bool = True) -> 'FaceAwareCropFilter':
        """Stay in eval mode whatever ``mode`` is."""
        return super().train(False)

    @torch.no_grad()
    def embed(self, x: torch.Tensor,
              size: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """L2-normalised embeddings of images resized to ``size``.

        Args:
            x (Tensor): ``(N, C, H, W)`` images.
            size (tuple[int, int], optional): resize to it first.

        Returns:
            Tensor: ``(N, D)`` unit-norm embeddings.
        """
        if size is not None and tuple(x.shape[-2:]) != tuple(size):
            x = F.interpolate(
                x, size=size, mode='bilinear', align_corners=False,
                antialias=True)
        out = self.backbone(x)
        out = out[-1] if isinstance(out, (tuple, list)) else out
        if out.dim() > 2:
            out = out.flatten(2).mean(-1)
        return F.normalize(out.float(), dim=-1)

    @torch.no_grad()
    def similarities(self, global_views: Union[torch.Tensor,
                                               Sequence[torch.Tensor]],
                     local_views: Sequence[torch.Tensor]) -> torch.Tensor:
        """Cosine similarity of each local crop to its first global view.

        Args:
            global_views (Tensor | list[Tensor]): ``(B, C, H, W)`` or a
                list whose first element is the first global view.
            local_views (list[Tensor]): ``L`` crops ``(B, C, h, w)``.

        Returns:
            Tensor: ``(L, B)`` cosines.
        """
        glob = (global_views if isinstance(global_views, torch.Tensor) else
                global_views[0])
        size = self.input_size or tuple(glob.shape[-2:])
        batch = glob.shape[0]
        if len(local_views) == 0:
            return glob.new_zeros(0, batch)
        crops = torch.cat([self.embed(v, size) for v in local_views])
        ref = self.embed(glob, size)
        return (crops.view(len(local_views), batch, -1) *
                ref.unsqueeze(0)).sum(-1)

    @torch.no_grad()
    def keep_mask(self, global_views: Union[torch.Tensor,
                                            Sequence[torch.Tensor]],
                  local_views: Sequence[torch.Tensor]) -> torch.Tensor:
        """Which local crops to keep.

        Args:
            global_views (Tensor | list[Tensor]): see :meth:`similarities`.
            local_views (list[Tensor]): ``L`` crops ``(B, C, h, w)``.

        Returns:
            Tensor: ``(L, B)`` bool, False for a crop whose similarity is
            below :attr:`threshold`.
        """
        return self.similarities(global_views, local_views) >= self.threshold
