"""The DINO projection head: MLP, L2-normalised bottleneck, weight-normed
prototypes layer.

Caron et al., *Emerging Properties in Self-Supervised Vision Transformers*,
ICCV 2021, https://arxiv.org/abs/2104.14294 (Sec. 3.1, Appendix).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_

from facessl.registry import MODELS


class WeightNormLinear(nn.Module):
    """A bias-free linear layer with weight normalisation per output unit.

    ``weight = g * v / ||v||`` row by row (Salimans & Kingma, 2016), kept as
    the two parameters ``weight_g`` ``(out, 1)`` and ``weight_v``
    ``(out, in)`` -- the names of :func:`torch.nn.utils.weight_norm`, so DINO
    checkpoints map key for key. The normalised weight is computed by
    PyTorch's fused weight-norm kernel (one pass forward and backward).

    Args:
        in_features (int): input size.
        out_features (int): output size.
        fix_norm (bool): fix ``g`` to 1 (not trained): every output unit is a
            unit vector. Defaults to True.
    """

    def __init__(self,
                 in_features: int,
                 out_features: int,
                 fix_norm: bool = True) -> None:
        super().__init__()
        # default nn.Linear init of the direction, as DINO (its last layer is
        # created after the truncated-normal init of the MLP)
        v = nn.Linear(in_features, out_features, bias=False).weight.detach()
        self.weight_v = nn.Parameter(v.clone())
        self.weight_g = nn.Parameter(
            torch.ones(out_features, 1), requires_grad=not fix_norm)

    @property
    def weight(self) -> torch.Tensor:
        """The normalised weight ``g * v / ||v||``, shape ``(out, in)``."""
        return torch._weight_norm(self.weight_v, self.weight_g, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the normalised linear map.

        Args:
            x (Tensor): ``(N, in_features)``.

        Returns:
            Tensor: ``(N, out_features)``.
        """
        return F.linear(x, self.weight)


def _official_one_layer_names(module: nn.Module, state_dict: dict,
                              prefix: str, *args) -> None:
    """Rename DINO's one-layer ``mlp.weight``/``mlp.bias`` to ``mlp.0.*``.
    """
    if len(module.mlp) != 1:
        return
    for name in ('weight', 'bias'):
        key = f'{prefix}mlp.{name}'
        if key in state_dict:
            state_dict[f'{prefix}mlp.0.{name}'] = state_dict.pop(key)


@MODELS.register_module()
class DINOHead(BaseModule):
    """DINO head: ``num_layers``-layer MLP, L2 norm, weight-normed last layer.

    ``x -> MLP (Linear, [BN], GELU, ..., Linear to bottleneck_dim) ->
    x / ||x|| -> WeightNormLinear(bottleneck_dim, out_dim)``. MLP weights use
    a truncated normal (std 0.02), biases zero, as in DINO.

    Args:
        in_channels (int): input feature size (the backbone's width).
        out_dim (int): number of prototypes K. Defaults to 65536.
        hidden_dim (int): MLP hidden size. Defaults to 2048.
        bottleneck_dim (int): size of the normalised bottleneck.
            Defaults to 256.
        num_layers (int): MLP layers, at least 1. Defaults to 3.
        norm_last_layer (bool): fix the last layer's magnitude g to 1.
            Defaults to True.
        use_bn (bool): BatchNorm after each hidden linear layer.
            Defaults to False.
        init_cfg (dict, optional): MMEngine init config. Defaults to None.

    Weights are named as DINO's ``DINOHead`` (``mlp.N.*``,
    ``last_layer.weight_g``/``weight_v``); DINO's one-layer head is a bare
    ``nn.Linear`` named ``mlp``, and its ``mlp.weight``/``mlp.bias`` are
    read into ``mlp.0`` here, so official checkpoints load as they are.
    """

    def __init__(self,
                 in_channels: int,
                 out_dim: int = 65536,
                 hidden_dim: int = 2048,
                 bottleneck_dim: int = 256,
                 num_layers: int = 3,
                 norm_last_layer: bool = True,
                 use_bn: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'DINOHead: num_layers must be >= 1, '
                             f'got {num_layers}')
        self.out_dim = out_dim
        dims = [in_channels] + [hidden_dim] * (num_layers - 1)
        layers = []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers.append(nn.Linear(d_in, d_out))
            if use_bn:
                layers.append(nn.BatchNorm1d(d_out))
            layers.append(nn.GELU())
        layers.append(nn.Linear(dims[-1], bottleneck_dim))
        self.mlp = nn.Sequential(*layers)
        self._init_mlp()
        self.last_layer = WeightNormLinear(
            bottleneck_dim, out_dim, fix_norm=norm_last_layer)
        self.register_load_state_dict_pre_hook(_official_one_layer_names)

    def _init_mlp(self) -> None:
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project features to prototype scores.

        Args:
            x (Tensor): ``(N, in_channels)`` features.

        Returns:
            Tensor: ``(N, out_dim)`` scores (logits before temperature).
        """
        x = F.normalize(self.mlp(x), dim=-1, p=2)
        return self.last_layer(x)
