"""Class-token attention maps of a ViT's last block, drawn over the input.

mmpretrain's ``MultiheadAttention`` calls ``F.scaled_dot_product_attention``,
which never materialises the attention weights. For pictures only, this
module captures the last block's input with a forward pre-hook and recomputes
the weights explicitly from that block's ``qkv`` projection of the
normalised tokens: ``softmax(q k^T * scale)`` with the block's scale
(``head_dims ** -0.5``, as SDPA uses). Training never runs this code.
"""
from functools import partial
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmpretrain.models import VisionTransformer
from torch import nn

from .grid import resize_to_height, tile_grid


def last_block(backbone: nn.Module) -> nn.Module:
    """The last transformer block of a ViT.

    Args:
        backbone (nn.Module): a backbone with a ``layers`` (mmpretrain) or
            ``blocks`` (timm-style) module list.

    Returns:
        nn.Module: ``layers[-1]`` or ``blocks[-1]``.
    """
    for name in ('layers', 'blocks'):
        blocks = getattr(backbone, name, None)
        if isinstance(blocks, (nn.ModuleList, nn.Sequential)) and len(blocks):
            return blocks[-1]
    raise AttributeError(
        f'{type(backbone).__name__} has no non-empty `layers` or `blocks` '
        'module list of transformer blocks')


def block_attention(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Attention weights of one pre-norm ViT block for its input tokens.

    Args:
        block (nn.Module): a block with ``ln1`` (or ``norm1``) and ``attn``
            holding ``qkv`` (a Linear to 3 x embed dims) and ``num_heads``.
        x (torch.Tensor): (B, N, C) tokens entering the block.

    Returns:
        torch.Tensor: (B, heads, N, N) weights; every row sums to one.
    """
    norm = getattr(block, 'ln1', None) or getattr(block, 'norm1', None)
    attn = getattr(block, 'attn', None)
    if norm is None or attn is None or not hasattr(attn, 'qkv'):
        raise AttributeError(
            f'{type(block).__name__} needs `ln1`/`norm1` and an `attn` with '
            'a `qkv` projection to draw attention maps')
    heads = attn.num_heads
    tokens = norm(x)
    b, n, _ = tokens.shape
    qkv = attn.qkv(tokens).reshape(b, n, 3, heads, -1).permute(2, 0, 3, 1, 4)
    q, k = qkv[0], qkv[1]
    scale = getattr(attn, 'scale', q.shape[-1]**-0.5)
    return (q @ k.transpose(-2, -1) * scale).softmax(dim=-1)


@torch.no_grad()
def last_block_attention(backbone: nn.Module,
                         inputs: torch.Tensor) -> torch.Tensor:
    """Run ``backbone`` on ``inputs`` and return its last block's attention.

    The backbone runs in eval mode (every module's mode is restored
    afterwards); a forward pre-hook on the last block records the tokens
    entering it.

    Args:
        backbone (nn.Module): a ViT (mmpretrain ``VisionTransformer`` or
            any backbone with ``layers``/``blocks``).
        inputs (torch.Tensor): (B, 3, H, W) normalised images.

    Returns:
        torch.Tensor: (B, heads, N, N) attention weights.
    """
    block = last_block(backbone)
    captured = []
    handle = block.register_forward_pre_hook(
        lambda module, args: captured.append(args[0]))
    # Restore each module's own flag: a teacher may keep its dropout in
    # eval mode while the rest trains, which ``train(mode)`` would undo.
    modes = [(m, m.training) for m in backbone.modules()]
    backbone.eval()
    # A subclass may evaluate its layers through a fused path that never
    # calls the block (facessl's FastVisionTransformer): run mmpretrain's
    # own forward, which calls every block, on the same parameters.
    forward = (partial(VisionTransformer.forward, backbone) if isinstance(
        backbone, VisionTransformer) else backbone)
    try:
        forward(inputs)
    finally:
        handle.remove()
        for module, mode in modes:
            module.training = mode
    if not captured:
        raise RuntimeError(f'{type(backbone).__name__}: its last block '
                           f'{type(block).__name__} was not called')
    return block_attention(block, captured[-1])


def cls_attention_maps(weights: torch.Tensor,
                       image_hw: Tuple[int, int],
                       num_extra_tokens: int = 1) -> torch.Tensor:
    """Attention of the class token (token 0) to the patches, as a grid.

    Args:
        weights (torch.Tensor): (B, heads, N, N) attention weights.
        image_hw (tuple[int, int]): input image (H, W), to recover the patch
            grid's aspect ratio.
        num_extra_tokens (int): tokens before the patches (class token and
            any register tokens). Defaults to 1.

    Returns:
        torch.Tensor: (B, heads, h, w) maps.
    """
    patches = weights.shape[-1] - num_extra_tokens
    ratio = image_hw[0] / image_hw[1]
    h = max(1, int(round((patches * ratio)**0.5)))
    w = patches // h
    if h * w != patches:
        raise ValueError(f'{patches} patch tokens do not form a grid with '
                         f'the aspect ratio of a {image_hw} image')
    cls_row = weights[:, :, 0, num_extra_tokens:]
    return cls_row.reshape(*cls_row.shape[:2], h, w)


def _heat(att: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Min-max normalised map, upsampled (nearest) and coloured, RGB."""
    att = att - att.min()
    att = att / max(float(att.max()), 1e-12)
    att = cv2.resize((att * 255).astype(np.uint8), (size[1], size[0]),
                     interpolation=cv2.INTER_NEAREST)
    return cv2.applyColorMap(att, cv2.COLORMAP_INFERNO)[..., ::-1]


def overlay(img: np.ndarray, att: np.ndarray, alpha: float = 0.6
            ) -> np.ndarray:
    """Blend a coloured attention map over an RGB uint8 image.

    Args:
        img (np.ndarray): (H, W, 3) RGB uint8.
        att (np.ndarray): (h, w) attention; min-max normalised here.
        alpha (float): weight of the map. Defaults to 0.6.

    Returns:
        np.ndarray: (H, W, 3) RGB uint8.
    """
    heat = _heat(att, img.shape[:2]).astype(np.float32)
    out = alpha * heat + (1 - alpha) * img.astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def attention_grid(images: Sequence[np.ndarray],
                   maps: torch.Tensor,
                   row_titles: Optional[Sequence[str]] = None,
                   size: int = 112) -> np.ndarray:
    """Faces with their class-token attention: mean over heads, then each.

    Args:
        images (Sequence[np.ndarray]): RGB uint8 faces.
        maps (torch.Tensor): (B, heads, h, w) from :func:`cls_attention_maps`.
        row_titles (Sequence[str], optional): one caption per face.
        size (int): side of every tile. Defaults to 112.

    Returns:
        np.ndarray: RGB uint8 grid, one row per face.
    """
    maps = maps.detach().float().cpu().numpy()
    heads = maps.shape[1]
    rows = []
    for img, m in zip(images, maps):
        face = resize_to_height(img, size)
        rows.append([face, overlay(face, m.mean(0))] +
                    [overlay(face, m[i]) for i in range(heads)])
    titles = ['input', 'mean'] + [f'head {i + 1}' for i in range(heads)]
    return tile_grid(rows, col_titles=titles, row_titles=row_titles)
