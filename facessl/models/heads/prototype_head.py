"""The ProS projection head: a 3-layer MLP and K learnable prototypes.

Di et al., *ProS: Facial Omni-Representation Learning via Prototype-based
Self-Distillation*, WACV 2024: features are projected by an MLP to
dimension d (256), L2-normalised and compared by cosine similarity with K
(1024) L2-normalised prototypes initialised U[-1/sqrt(d), 1/sqrt(d)].
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_

from facessl.registry import MODELS


@MODELS.register_module()
class PrototypeHead(BaseModule):
    """Projection MLP to normalised features, plus learnable prototypes.

    ``forward`` returns the L2-normalised projections; the prototype
    scores (cosine logits, before any temperature) come from
    :meth:`cosine_logits`, so an algorithm may score the teacher's
    projections against either network's prototypes.

    Args:
        in_channels (int): backbone feature dimension.
        hidden_dim (int): hidden width of the MLP. Defaults to 2048.
        out_dim (int): projection/prototype dimension d. Defaults to 256.
        num_prototypes (int): number of prototypes K. Defaults to 1024.
        num_layers (int): linear layers of the MLP (GELU between them).
            Defaults to 3.
        init_cfg (dict, optional): MMEngine init config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_dim: int = 2048,
                 out_dim: int = 256,
                 num_prototypes: int = 1024,
                 num_layers: int = 3,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'PrototypeHead: num_layers must be >= 1, got '
                             f'{num_layers}')
        self.out_dim = out_dim
        self.num_prototypes = num_prototypes
        dims = [in_channels] + [hidden_dim] * (num_layers - 1) + [out_dim]
        layers = []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(d_in, d_out), nn.GELU()]
        self.mlp = nn.Sequential(*layers[:-1])  # no GELU after the last
        self.prototypes = nn.Parameter(torch.empty(num_prototypes, out_dim))
        self._init()

    def _init(self) -> None:
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                nn.init.zeros_(m.bias)
        bound = 1 / math.sqrt(self.out_dim)
        nn.init.uniform_(self.prototypes, -bound, bound)

    def init_weights(self) -> None:
        """Re-initialise unless an ``init_cfg`` (e.g. Pretrained) is set."""
        if self.init_cfg:
            super().init_weights()
        else:
            self._init()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project features and L2-normalise them.

        Args:
            x (Tensor): ``(N, in_channels)`` features.

        Returns:
            Tensor: ``(N, out_dim)`` unit-norm projections.
        """
        return F.normalize(self.mlp(x), dim=-1)

    def cosine_logits(self, z: torch.Tensor,
                      detach_prototypes: bool = False) -> torch.Tensor:
        """Cosine similarities of projections to the normalised prototypes.

        Args:
            z (Tensor): ``(..., out_dim)`` projections (normalised here).
            detach_prototypes (bool): score against prototypes without
                gradient (e.g. for teacher targets). Defaults to False.

        Returns:
            Tensor: ``(..., num_prototypes)`` cosines in [-1, 1].
        """
        protos = self.prototypes.detach() if detach_prototypes else (
            self.prototypes)
        return F.normalize(z, dim=-1) @ F.normalize(protos, dim=-1).t()
