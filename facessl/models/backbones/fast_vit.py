"""mmpretrain's VisionTransformer with a leaner training step.

Same architecture presets, parameters and state-dict keys as
:class:`mmpretrain.models.VisionTransformer` (checkpoints load either way)
and the same outputs; only the way the layers are evaluated changes:

1. ``q, k, v`` are split with ``unbind`` in the ``(B, N, 3, heads, dim)``
   layout of the qkv projection (one ``stack`` in the backward pass, into
   that layout) instead of three indexing ops after a permute, whose
   backward zero-fills three full ``qkv``-sized gradients, sums them and
   copies the result back through the permute;
2. stochastic depth and the residual add are one ``addcmul``
   (``x + branch * mask / keep_prob``) instead of ``div``, ``mul``, ``add``;
3. with ``out_type='cls_token'`` and only the last layer as output, the last
   layer evaluates only what the class token depends on: keys and values of
   all tokens, the query, attention output, projection and MLP of the class
   token. The rest of that layer never reaches the output (mmpretrain
   computes it and then drops it with ``x[:, 0]``), so the output and every
   gradient are unchanged while ~7% of the FLOPs of a 12-layer ViT are
   skipped (``cls_only_last_layer=False`` computes everything).

Layers with options the fast path does not cover (e.g. SwiGLU FFNs,
``v_shortcut``, a custom ``qk_scale``) run mmpretrain's own forward.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.vision_transformer import (
    TransformerEncoderLayer, VisionTransformer)
from mmpretrain.models.utils import resize_pos_embed

from facessl.registry import MODELS


def _drop_prob(module: nn.Module) -> float:
    """Drop-path probability of a ``DropPath`` (0 for ``Identity``)."""
    return float(getattr(module, 'drop_prob', 0.))


def residual_drop_path(x: torch.Tensor, branch: torch.Tensor,
                       drop_prob: float, training: bool) -> torch.Tensor:
    """``x + drop_path(branch)`` in one pass.

    Stochastic depth (Huang et al., 2016) as mmcv's ``DropPath``: each
    sample's branch is kept with probability ``1 - drop_prob`` and scaled by
    ``1 / (1 - drop_prob)``.

    Args:
        x (Tensor): residual stream ``(B, ...)``.
        branch (Tensor): branch output, same shape.
        drop_prob (float): probability of dropping a sample's branch.
        training (bool): apply stochastic depth.

    Returns:
        Tensor: ``x + mask * branch / (1 - drop_prob)``.
    """
    if drop_prob == 0. or not training:
        return x + branch
    keep = 1 - drop_prob
    shape = (branch.shape[0], ) + (1, ) * (branch.dim() - 1)
    mask = (keep + torch.rand(shape, dtype=branch.dtype,
                              device=branch.device)).floor_()
    return torch.addcmul(x, branch, mask.div_(keep))


def _is_drop_path(module: nn.Module) -> bool:
    """A per-sample DropPath, or a no-op."""
    return (type(module).__name__ in ('DropPath', 'Identity')
            or _drop_prob(module) == 0.)


def _fast_path_ok(layer: nn.Module) -> bool:
    """Whether :func:`_layer_forward` reproduces ``layer.forward``."""
    if type(layer) is not TransformerEncoderLayer:
        return False
    attn, ffn = layer.attn, layer.ffn
    if not (_is_drop_path(attn.out_drop)
            and _is_drop_path(getattr(ffn, 'dropout_layer', None))):
        return False
    if attn.v_shortcut or attn.input_dims != attn.embed_dims:
        return False
    if attn.scaled_dot_product_attention is not F.scaled_dot_product_attention:
        return False  # e.g. qk_scale set: mmpretrain's python attention
    layers = getattr(ffn, 'layers', None)
    return (getattr(ffn, 'num_fcs', None) == 2
            and getattr(ffn, 'add_identity', False)
            and isinstance(layers, nn.Sequential) and len(layers) == 3
            and isinstance(layers[1], nn.Linear))


def _attention(layer: nn.Module, x: torch.Tensor,
               cls_only: bool) -> torch.Tensor:
    """Multi-head self-attention branch (of the class token if cls_only)."""
    attn = layer.attn
    B, N, C = x.shape
    h, d = attn.num_heads, attn.head_dims
    p = attn.attn_drop if attn.training else 0.
    w, b = attn.qkv.weight, attn.qkv.bias
    # unbind along the (B, N, 3, h, d) layout of the qkv output: its backward
    # stacks the three gradients straight into that layout (no extra copy)
    if cls_only:
        q = F.linear(x[:, :1], w[:C], None if b is None else b[:C])
        q = q.reshape(B, 1, h, d)
        kv = F.linear(x, w[C:], None if b is None else b[C:])
        k, v = kv.reshape(B, N, 2, h, d).unbind(2)
        n_out = 1
    else:
        q, k, v = F.linear(x, w, b).reshape(B, N, 3, h, d).unbind(2)
        n_out = N
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), dropout_p=p)
    out = out.transpose(1, 2).reshape(B, n_out, C)
    return attn.gamma1(attn.proj_drop(attn.proj(out)))


def _layer_forward(layer: nn.Module, x: torch.Tensor,
                   cls_only: bool = False) -> torch.Tensor:
    """One ``TransformerEncoderLayer`` (pre-norm attention, then MLP)."""
    training = layer.training
    branch = _attention(layer, layer.ln1(x), cls_only)
    if cls_only:
        x = x[:, :1]
    x = residual_drop_path(x, branch, _drop_prob(layer.attn.out_drop),
                           training)
    ffn = layer.ffn
    branch = ffn.gamma2(ffn.layers(layer.ln2(x)))
    return residual_drop_path(x, branch, _drop_prob(ffn.dropout_layer),
                              training)


@MODELS.register_module()
class FastVisionTransformer(VisionTransformer):
    """:class:`mmpretrain.models.VisionTransformer` with a leaner step.

    Same arguments, parameters, state-dict keys and outputs as mmpretrain's
    ViT (e.g. ``arch='deit-small', patch_size=8``); see the module docstring
    for what is evaluated differently.

    Args:
        cls_only_last_layer (bool): with ``out_type='cls_token'`` and
            ``out_indices=-1``, evaluate only the class token's path through
            the last layer. Defaults to True.
        **kwargs: :class:`mmpretrain.models.VisionTransformer` arguments.
    """

    def __init__(self, *args, cls_only_last_layer: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.cls_only_last_layer = cls_only_last_layer
        self._fast = [_fast_path_ok(layer) for layer in self.layers]

    def forward(self, x: torch.Tensor) -> tuple:
        """Patch embedding, class token, position embedding, layers.

        Args:
            x (Tensor): images ``(B, C, H, W)``.

        Returns:
            tuple[Tensor]: one output per ``out_indices``, formatted by
            ``out_type`` as in mmpretrain.
        """
        B = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        x = self.pre_norm(self.drop_after_pos(x))
        last = len(self.layers) - 1
        cls_only = (self.cls_only_last_layer and self.out_type == 'cls_token'
                    and self.out_indices == [last] and self._fast[last])
        outs = []
        for i, layer in enumerate(self.layers):
            if self._fast[i]:
                x = _layer_forward(layer, x, cls_only and i == last)
            else:
                x = layer(x)
            if i == last and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)
