"""FRA's mask decoder: learnable facial mask embeddings and heatmaps.

Gao et al., *Self-Supervised Facial Representation Learning with Facial
Region Awareness* (FRA), CVPR 2024, https://arxiv.org/abs/2403.02138.
``K`` learnable mask embeddings (queries) go through one transformer
decoder layer that attends to the backbone's pixel features; each pixel
is then softly assigned to the ``K`` embeddings (the facial heatmaps) and
each region's feature is the heatmap-weighted mean of the pixel features.
The supplementary (section 5.1) takes MaskFormer's transformer decoder
(Cheng et al., NeurIPS 2021, itself DETR's) with one layer: post-norm,
FFN width 2048, dropout 0.1, a sine position encoding added to the pixel
memory. mmpretrain has no such decoder; its attention uses PyTorch's fused
``nn.MultiheadAttention``.
"""
import math
from typing import Dict, Optional

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


def sine_position_encoding(height: int,
                           width: int,
                           num_feats: int,
                           temperature: float = 10000.,
                           scale: float = 2 * math.pi,
                           eps: float = 1e-6,
                           device=None) -> torch.Tensor:
    """DETR / MaskFormer sine position encoding of an ``h x w`` grid.

    Row ``y`` and column ``x`` (counted from 1) are normalised to
    ``y / (h + eps) * scale`` and ``x / (w + eps) * scale``; channel ``j``
    of each half divides them by ``temperature ** (2 floor(j / 2) /
    num_feats)`` and takes the sine for even ``j``, the cosine for odd
    ``j``. The first ``num_feats`` channels encode ``y``, the next
    ``num_feats`` encode ``x`` (Carion et al., ECCV 2020, with
    ``normalize=True`` as MaskFormer uses it).

    Args:
        height (int): grid rows h.
        width (int): grid columns w.
        num_feats (int): channels per axis (half the embedding width).
        temperature (float): frequency base. Defaults to 10000.
        scale (float): range of the normalised coordinate. Defaults to
            2 pi.
        eps (float): guards the normalisation. Defaults to 1e-6.
        device: tensor device. Defaults to None (CPU).

    Returns:
        Tensor: (h * w, 2 * num_feats), pixels in row-major order.
    """
    y = torch.arange(1, height + 1, dtype=torch.float32, device=device)
    x = torch.arange(1, width + 1, dtype=torch.float32, device=device)
    y = y / (height + eps) * scale
    x = x / (width + eps) * scale
    j = torch.arange(num_feats, dtype=torch.float32, device=device)
    dim_t = temperature**(2 * torch.div(j, 2, rounding_mode='floor') /
                          num_feats)

    def encode(v):
        pos = v[:, None] / dim_t  # n, num_feats
        return torch.stack((pos[:, 0::2].sin(), pos[:, 1::2].cos()),
                           dim=2).flatten(1)

    pos_y = encode(y)[:, None].expand(-1, width, -1)
    pos_x = encode(x)[None].expand(height, -1, -1)
    return torch.cat((pos_y, pos_x), dim=-1).flatten(0, 1)


@MODELS.register_module()
class FRAMaskDecoder(BaseModule):
    """Transformer decoder over K learnable mask embeddings.

    Pixel features (B, C, h, w) are projected to ``embed_dims`` by a 1x1
    convolution (the memory). With ``norm_order='post'`` (the default,
    MaskFormer's decoder as FRA's supplementary describes it) every layer
    is, with ``p`` the learnable query embeddings (``mask_embed``), ``P``
    the sine position encoding of the memory and content ``t`` starting
    at zero::

        t = LN(t + Drop(SelfAttn(q=t + p, k=t + p, v=t)))
        t = LN(t + Drop(CrossAttn(q=t + p, k=M + P, v=M)))
        t = LN(t + Drop(FFN(t)))        # Linear-ReLU-Drop-Linear

    followed by the decoder's final LayerNorm and MaskFormer's 3-layer
    mask-embedding MLP. With ``query_content='learned'`` the content ``t``
    starts at a second learnable embedding (``query_feat``, as
    Mask2Former) instead of zero: with zero content all K decoded
    embeddings start nearly alike (cosine about 0.99 on the CPU demo's
    4 x 4 maps), and so do the heatmaps (configs/fra/README.md).
    ``norm_order='pre'`` is a pre-norm variant (queries are the
    embeddings themselves, pre-norm residual blocks ``t = t + f(LN(t))``,
    no final norm, no MLP), usually with ``dropout=0., pos_encoding=None,
    act='gelu'``. The heatmaps (:func:`pixel_assignments`) correlate the
    projected pixel features with the decoded embeddings, each scaled to
    unit length (so ``temperature`` sets the sharpness); the region
    features (:func:`region_features`) pool the *backbone* features.

    Args:
        in_channels (int): backbone channels C (2048 for ResNet-50).
        num_masks (int): K, the number of mask embeddings. Defaults to 8.
        embed_dims (int): decoder width d. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        num_layers (int): decoder layers. Defaults to 1.
        ffn_channels (int): FFN hidden width. Defaults to 2048.
        dropout (float): dropout of attention weights, residual branches
            and FFN (active in training only). Defaults to 0.1.
        norm_order (str): ``'post'`` or ``'pre'``. Defaults to ``'post'``.
        pos_encoding (str, optional): ``'sine'`` adds
            :func:`sine_position_encoding` to the memory keys; None adds
            nothing. Defaults to ``'sine'``.
        act (str): FFN activation, ``'relu'`` or ``'gelu'``. Defaults to
            ``'relu'``.
        query_content (str): initial query content with
            ``norm_order='post'``: ``'zeros'`` (MaskFormer) or
            ``'learned'`` (Mask2Former). Defaults to ``'zeros'``.
        temperature (float): heatmap softmax temperature. Defaults to 0.1.
        init_cfg (dict, optional): MMEngine init config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 num_masks: int = 8,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_layers: int = 1,
                 ffn_channels: int = 2048,
                 dropout: float = 0.1,
                 norm_order: str = 'post',
                 pos_encoding: Optional[str] = 'sine',
                 act: str = 'relu',
                 query_content: str = 'zeros',
                 temperature: float = 0.1,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_masks < 2 or embed_dims % num_heads or num_layers < 1:
            raise ValueError(
                f'FRAMaskDecoder: num_masks={num_masks} must be >= 2, '
                f'num_layers={num_layers} >= 1 and embed_dims={embed_dims} '
                f'divisible by num_heads={num_heads}')
        choices = dict(norm_order=(norm_order, ('post', 'pre')),
                       pos_encoding=(pos_encoding, ('sine', None)),
                       act=(act, ('relu', 'gelu')),
                       query_content=(query_content, ('zeros', 'learned')))
        for key, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(f'FRAMaskDecoder: {key}={value!r}, '
                                 f'expected one of {allowed}')
        if pos_encoding == 'sine' and embed_dims % 4:
            raise ValueError(
                f'FRAMaskDecoder: embed_dims={embed_dims} must be divisible '
                'by 4 for the sine position encoding')
        self.num_masks = num_masks
        self.temperature = temperature
        self.norm_order = norm_order
        self.pos_encoding = pos_encoding
        self.mask_embed = nn.Parameter(torch.randn(num_masks, embed_dims))
        self.pixel_proj = nn.Conv2d(in_channels, embed_dims, 1)
        self.layers = nn.ModuleList(
            DecoderLayer(embed_dims, num_heads, ffn_channels, dropout,
                         norm_order, act) for _ in range(num_layers))
        self.query_feat = None
        if norm_order == 'post' and query_content == 'learned':
            self.query_feat = nn.Parameter(
                torch.randn(num_masks, embed_dims))
        if norm_order == 'post':
            self.final_norm = nn.LayerNorm(embed_dims)
            self.mask_mlp = nn.Sequential(
                nn.Linear(embed_dims, embed_dims), nn.ReLU(),
                nn.Linear(embed_dims, embed_dims), nn.ReLU(),
                nn.Linear(embed_dims, embed_dims))

    def decode(self, memory: torch.Tensor,
               pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Mask embeddings (B, K, d) given the (B, N, d) memory.

        Args:
            memory (Tensor): (B, N, d) projected pixel features.
            pos (Tensor, optional): (N, d) memory position encoding.
        """
        query = self.mask_embed.expand(memory.shape[0], -1, -1)
        if self.norm_order == 'pre':
            t, query_pos = query, None
        elif self.query_feat is None:
            t, query_pos = torch.zeros_like(query), query
        else:
            t = self.query_feat.expand(memory.shape[0], -1, -1)
            query_pos = query
        for layer in self.layers:
            t = layer(t, memory, query_pos, pos)
        if self.norm_order == 'post':
            t = self.mask_mlp(self.final_norm(t))
        return t

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
        pos = None
        if self.pos_encoding == 'sine':
            h, w = feats.shape[-2:]
            pos = sine_position_encoding(
                h, w, memory.shape[-1] // 2,
                device=feats.device).to(memory.dtype)
        embeddings = self.decode(memory, pos)
        cosine = torch.einsum('bnd,bkd->bkn', F.normalize(memory, dim=-1),
                              F.normalize(embeddings, dim=-1))
        heat = (cosine / self.temperature).softmax(dim=1)
        size = feats.shape[-2:]
        return dict(
            embeddings=embeddings,
            cosine=cosine.unflatten(-1, size),
            heatmaps=heat.unflatten(-1, size),
            regions=region_features(feats, heat))


class DecoderLayer(nn.Module):
    """One transformer decoder layer, post-norm (DETR) or pre-norm.

    Args:
        embed_dims (int): width d.
        num_heads (int): attention heads.
        ffn_channels (int): FFN hidden width.
        dropout (float): dropout probability (attention, residuals, FFN).
        norm_order (str): ``'post'`` or ``'pre'``.
        act (str): ``'relu'`` or ``'gelu'``.
    """

    def __init__(self, embed_dims: int, num_heads: int, ffn_channels: int,
                 dropout: float, norm_order: str, act: str) -> None:
        super().__init__()
        self.norm_order = norm_order
        self.self_attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, ffn_channels),
            nn.ReLU() if act == 'relu' else nn.GELU(), nn.Dropout(dropout),
            nn.Linear(ffn_channels, embed_dims))
        self.norm_self = nn.LayerNorm(embed_dims)
        self.norm_cross = nn.LayerNorm(embed_dims)
        self.norm_ffn = nn.LayerNorm(embed_dims)
        if norm_order == 'pre':
            self.norm_memory = nn.LayerNorm(embed_dims)
        self.drop_self = nn.Dropout(dropout)
        self.drop_cross = nn.Dropout(dropout)
        self.drop_ffn = nn.Dropout(dropout)

    @staticmethod
    def _with_pos(x: torch.Tensor, pos: Optional[torch.Tensor]):
        return x if pos is None else x + pos

    def forward(self, t: torch.Tensor, memory: torch.Tensor,
                query_pos: Optional[torch.Tensor] = None,
                pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Updated content (B, K, d) of the queries.

        Args:
            t (Tensor): (B, K, d) query content.
            memory (Tensor): (B, N, d) memory.
            query_pos (Tensor, optional): (B, K, d) added to the queries
                (and keys) of the attentions.
            pos (Tensor, optional): (N, d) added to the memory keys.
        """
        if self.norm_order == 'pre':
            x = self.norm_self(t)
            q = self._with_pos(x, query_pos)
            t = t + self.drop_self(
                self.self_attn(q, q, x, need_weights=False)[0])
            mem = self.norm_memory(memory)
            x = self.norm_cross(t)
            t = t + self.drop_cross(self.cross_attn(
                self._with_pos(x, query_pos), self._with_pos(mem, pos), mem,
                need_weights=False)[0])
            return t + self.drop_ffn(self.ffn(self.norm_ffn(t)))
        q = self._with_pos(t, query_pos)
        t = self.norm_self(t + self.drop_self(
            self.self_attn(q, q, t, need_weights=False)[0]))
        t = self.norm_cross(t + self.drop_cross(self.cross_attn(
            self._with_pos(t, query_pos), self._with_pos(memory, pos),
            memory, need_weights=False)[0]))
        return self.norm_ffn(t + self.drop_ffn(self.ffn(t)))
