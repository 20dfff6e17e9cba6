"""Face-aware crop retrieval: drop local crops that are not of the face.

Di et al., *ProS: Facial Omni-Representation Learning via Prototype-based
Self-Distillation*, WACV 2024, https://arxiv.org/abs/2311.01929 (Sec. 3):
a frozen, pretrained ArcFace model embeds the global and the local crops
before augmentation; a local crop whose cosine similarity to the global
crops is below -0.5 is left out of the student's loss. Any multi-crop
method can use the mask.

The paper does not say how the similarities to its several global crops
combine. facessl scores each local crop against *every* global crop and,
by default, keeps it when its best match reaches the threshold
(``reduce='max'``): the global crops are random crops of the same face
that need not contain the region a local crop shows, so only a crop
unlike all of them is evidence of a non-face crop, and the low threshold
(-0.5) says the filter is meant to remove clear outliers only.
``reduce='mean'`` and ``'min'`` are stricter alternatives.
"""
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from facessl.registry import MODELS
from .pretrained import load_pretrained

Size = Union[int, Tuple[int, int]]


REDUCTIONS = ('max', 'mean', 'min')


@MODELS.register_module()
class FaceAwareCropFilter(BaseModule):
    """A frozen face-recognition model that masks off-face local crops.

    The backbone (ProS: an ArcFace ``IResNet``) is built from its config
    and loaded *strictly* from a local checkpoint (:func:`load_pretrained`)
    at construction; it stays in eval mode, without gradient, and is
    skipped by ``init_weights`` (its weights are the checkpoint's). Its
    weights are not part of the trained model: state dicts leave them out
    and a load does not expect them, so ProS checkpoints do not carry the
    scorer and load strictly into configs without it. Its
    embedding is the last backbone output, average-pooled if it is a
    feature map. Give it the un-augmented crops, normalised as the
    recognition model expects (insightface: RGB, ``(x - 127.5) / 127.5``,
    which facessl's SSL data preprocessors apply).

    Args:
        backbone (dict): config of the recognition backbone.
        checkpoint (str): local path of its checkpoint.
        prefix (str, optional): key prefix of the backbone in the
            checkpoint, e.g. ``'backbone.'``. Defaults to None (all keys).
        threshold (float): a crop whose combined cosine similarity is
            below it is dropped. Defaults to -0.5.
        reduce (str): how a crop's similarities to the global crops
            combine: ``'max'`` (kept if any global matches), ``'mean'``
            or ``'min'`` (kept only if all match). Defaults to 'max'.
        input_size (int | tuple[int, int], optional): size every crop is
            resized to (bilinear, antialiased) before embedding, e.g. 112
            for an ArcFace IResNet. Defaults to None: the first global
            crop's size.
    """

    def __init__(self,
                 backbone: dict,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 threshold: float = -0.5,
                 reduce: str = 'max',
                 input_size: Optional[Size] = None) -> None:
        super().__init__()
        if reduce not in REDUCTIONS:
            raise ValueError(f'FaceAwareCropFilter: reduce must be one of '
                             f'{REDUCTIONS}, got {reduce!r}')
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'FaceAwareCropFilter: checkpoint {checkpoint} is not a local '
                'file; give the path of a trained recognition model')
        self.backbone = MODELS.build(backbone)
        load_pretrained(self.backbone, checkpoint, prefix=prefix)
        self.backbone.requires_grad_(False)
        self.checkpoint = checkpoint
        self.threshold = threshold
        self.reduce = reduce
        self.input_size = ((input_size, input_size) if isinstance(
            input_size, int) else input_size)
        self.is_init = True  # init_weights must not overwrite the weights
        self._load_prefix = ''
        self._register_state_dict_hook(_drop_scorer)
        self._register_load_state_dict_pre_hook(self._remember_prefix)
        self.register_load_state_dict_post_hook(_scorer_not_expected)
        self.eval()

    def _remember_prefix(self, state_dict, prefix, *args) -> None:
        self._load_prefix = prefix

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
        """Cosine similarity of each local crop to each global crop.

        Args:
            global_views (Tensor | list[Tensor]): ``G`` global crops
                ``(B, C, H, W)`` (a tensor is one).
            local_views (list[Tensor]): ``L`` crops ``(B, C, h, w)``.

        Returns:
            Tensor: ``(G, L, B)`` cosines; ``[g, l, b]`` compares local
            crop ``l`` of image ``b`` with global crop ``g`` of the same
            image.
        """
        globs = ([global_views] if isinstance(global_views, torch.Tensor)
                 else list(global_views))
        if not globs:
            raise ValueError('FaceAwareCropFilter: no global crop to score '
                             'the local crops against')
        size = self.input_size or tuple(globs[0].shape[-2:])
        batch = globs[0].shape[0]
        if len(local_views) == 0:
            return globs[0].new_zeros(len(globs), 0, batch)
        crops = torch.cat([self.embed(v, size) for v in local_views])
        refs = torch.cat([self.embed(g, size) for g in globs])
        crops = crops.view(len(local_views), batch, -1)
        refs = refs.view(len(globs), batch, -1)
        return torch.einsum('gbd,lbd->glb', refs, crops)

    @torch.no_grad()
    def keep_mask(self, global_views: Union[torch.Tensor,
                                            Sequence[torch.Tensor]],
                  local_views: Sequence[torch.Tensor]) -> torch.Tensor:
        """Which local crops to keep.

        Args:
            global_views (Tensor | list[Tensor]): see :meth:`similarities`.
            local_views (list[Tensor]): ``L`` crops ``(B, C, h, w)``.

        Returns:
            Tensor: ``(L, B)`` bool, False for a crop whose similarities
            to the global crops, combined by :attr:`reduce`, are below
            :attr:`threshold`.
        """
        sims = self.similarities(global_views, local_views)
        if self.reduce == 'max':
            score = sims.max(0).values
        elif self.reduce == 'min':
            score = sims.min(0).values
        else:
            score = sims.mean(0)
        return score >= self.threshold


def _drop_scorer(module: FaceAwareCropFilter, state_dict, prefix, _meta):
    """State-dict hook: leave the frozen scorer's weights out."""
    for key in [k for k in state_dict if k.startswith(prefix + 'backbone.')]:
        del state_dict[key]
    return state_dict


def _scorer_not_expected(module: FaceAwareCropFilter, incompatible) -> None:
    """Load post-hook: the scorer's weights are not missing (they come from
    its own checkpoint)."""
    head = module._load_prefix + 'backbone.'
    incompatible.missing_keys[:] = [
        k for k in incompatible.missing_keys if not k.startswith(head)]
