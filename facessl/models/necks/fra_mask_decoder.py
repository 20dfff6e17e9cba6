"""FRA's mask decoder: learnable facial mask embeddings and heatmaps.

Gao et al., *Self-Supervised Facial Representation Learning with Facial
Region Awareness* (FRA), CVPR 2024, https://arxiv.org/abs/2403.02138.
``K`` learnable mask embeddings (queries) go through one transformer
decoder layer that attends to the backbone's pixel features; each pixel
is then softly assigned to the ``K`` embeddings (the facial heatmaps) and
each region's feature is the heatmap-weighted mean of the pixel features.
mmpretrain has no such decoder; its attention uses PyTorch's fused
``nn.MultiheadAttention``.
"""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from facessl.registry import MODELS


def pixel_assignments(pixels: torch.Tensor, embeddings: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """Heatmaps: softmax over the K embeddings of each pixel's correlation.

    ``A[b, k, i] = softmax_k(<p_bi, e_bk> / tau)``.

    Args:
        pixels (Tensor): (B, N, d) projected pixel features.
        embeddings (Tensor): (B, K, d) mask embeddings.
        temperature (float): softmax temperature ``tau``.

    Returns:
        Tensor: (B, K, N), summing to one over K at every pixel.
    """
    logits = torch.einsum('bnd,bkd->bkn', pixels, embeddings)
    return (logits / temperature).softmax(dim=1)


def region_features(feats: torch.Tensor,
                    heatmaps: torch.Tensor,
                    eps: float = 1e-6) -> torch.Tensor:
    """Heatmap-weighted mean of the pixel features of every region.

    ``r_bk = sum_i A[b, k, i] f_bi / sum_i A[b, k, i]``.

    Args:
        feats (Tensor): (B, C, h, w) backbone pixel features.
        heatmaps (Tensor): (B, K, h*w) assignments.
        eps (float): guards empty regions. Defaults to 1e-6.

    Returns:
        Tensor: (B, K, C).
    """
    flat = feats.flatten(2)  # B, C, N
    weighted = torch.einsum('bkn,bcn->bkc', heatmaps, flat)
    return weighted / (heatmaps.sum(-1, keepdim=True) + eps)


@MODELS.register_module()
class FRAMaskDecoder(BaseModule):
    """One transformer decoder layer over K learnable mask embeddings.

    Pixel features (B, C, h, w) are projected to ``embed_dims`` by a 1x1
    convolution (memory). The layer (pre-norm) updates the queries by
    self-attention among them, cross-attention to the memory and an FFN.
    The heatmaps (:func:`pixel_assignments`) correlate the projected pixel
    features with the updated embeddings, each scaled to unit length (so
    ``temperature`` sets the sharpness); the region features
    (:func:`region_features`) pool the *backbone* features.

    Args:
        in_channels (int): backbone channels C (2048 for ResNet-50).
        num_masks (int): K, the number of mask embeddings. Defaults to 8.
        embed_dims (int): decoder width d. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        ffn_ratio (float): FFN hidden width / d. Defaults to 4.
        temperature (float): heatmap softmax temperature. Defaults to 0.1.
        init_cfg (dict, optional): MMEngine init config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 num_masks: int = 8,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 ffn_ratio: float = 4.,
                 temperature: float = 0.1,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_masks < 2 or embed_dims % num_heads:
            raise ValueError(
                f'FRAMaskDecoder: num_masks={num_masks} must be >= 2 and '
                f'embed_dims={embed_dims} divisible by num_heads='
                f'{num_heads}')
        self.num_masks = num_masks
        self.temperature = temperature
        self.mask_embed = nn.Parameter(torch.randn(num_masks, embed_dims))
        self.pixel_proj = nn.Conv2d(in_channels, embed_dims, 1)
        self.norm_self = nn.LayerNorm(embed_dims)
        self.self_attn = nn.MultiheadAttention(
            embed_dims, num_heads, batch_first=True)
        self.norm_cross = nn.LayerNorm(embed_dims)
        self.norm_memory = nn.LayerNorm(embed_dims)
        self.cross_attn = nn.MultiheadAttention(
            embed_dims, num_heads, batch_first=True)
        self.norm_ffn = nn.LayerNorm(embed_dims)
        hidden = int(embed_dims * ffn_ratio)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, hidden), nn.GELU(),
            nn.Linear(hidden, embed_dims))

    def decode(self, memory: torch.Tensor) -> torch.Tensor:
        """Updated mask embeddings (B, K, d) given the (B, N, d) memory."""
        q = self.mask_embed.expand(memory.shape[0], -1, -1)
        x = self.norm_self(q)
        q = q + self.self_attn(x, x, x, need_weights=False)[0]
        mem = self.norm_memory(memory)
        q = q + self.cross_attn(
            self.norm_cross(q), mem, mem, need_weights=False)[0]
        return q + self.ffn(self.norm_ffn(q))

    def forward(self, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Mask embeddings, heatmaps and region features of pixel features.

        Args:
            feats (Tensor): (B, C, h, w) backbone features.

        Returns:
            dict: ``embeddings`` (B, K, d), ``cosine`` (B, K, h, w) pixel /
            embedding cosine similarities, ``heatmaps`` (B, K, h, w)
            (their softmax over K at ``temperature``, summing to one at
            each pixel; :func:`pixel_assignments` of the unit vectors) and
            ``regions`` (B, K, C).
        """
        memory = self.pixel_proj(feats).flatten(2).transpose(1, 2)
        embeddings = self.decode(memory)
        cosine = torch.einsum('bnd,bkd->bkn', F.normalize(memory, dim=-1),
                              F.normalize(embeddings, dim=-1))
        heat = (cosine / self.temperature).softmax(dim=1)
        size = feats.shape[-2:]
        return dict(
            embeddings=embeddings,
            cosine=cosine.unflatten(-1, size),
            heatmaps=heat.unflatten(-1, size),
            regions=region_features(feats, heat))
