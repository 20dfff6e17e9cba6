"""IRA network of 3D-BERL: canonical depth and albedo from backbone features.

He et al., *Enhancing Face Recognition with Self-Supervised 3D
Reconstruction*, CVPR 2022: the "identity-related attribute" (IRA) network
decodes the canonical depth and albedo of a face from an intermediate
feature map of the recognition backbone (the 14 x 14 stage-3 map of
IResNet), so that the reconstruction loss shapes that map. The decoders
are Unsup3D's (:class:`~.unsup3d_blocks.Unsup3DDecoder`); Unsup3D's
image encoder is replaced by an encoder of the feature map with three
convolutions, as the paper states. Their kernels, strides and widths are
facessl's choice after Unsup3D's encoder pattern (the paper gives the
count only): Conv4x4(stride 2) - GN - LeakyReLU(0.2) to ``4 nf``
channels (14 -> 7), Conv4x4(stride 2) - GN - LeakyReLU(0.2) to ``8 nf``
(7 -> 3), then a valid Conv over the remaining 3 x 3 - ReLU to a ``zdim``
code.

Ranges. :meth:`IRANet.forward` returns network-range maps, Unsup3D's:
depth = tanh of the per-image mean-centred decoder output, albedo = tanh,
both in (-1, 1). :meth:`IRANet.to_physical` is the one place that maps
them to the renderer's units (:class:`facessl.models.renderers
.DepthMapRenderer`): depth in metres, ``(1 + d) / 2 * max_depth +
(1 - d) / 2 * min_depth`` (Unsup3D's ``depth_rescaler``: +1 is the
farthest), albedo ``a / 2 + 0.5`` in (0, 1).

Initialisation. With ``flat_init=True`` (the default) the last convolution
of both decoders starts at zero, so a fresh network predicts a flat face
(depth 0 -> the middle of [min_depth, max_depth]) of grey albedo (0.5),
facessl's choice. With PyTorch's default initialisation the depth decoder
starts as pixel noise of about +-2 cm between neighbouring pixels (a
pixel is 2.7 mm wide at 1 m with a 10 degree FOV), whose normals are
nearly parallel to the image plane: the shading is close to zero and
the reconstruction loss settles on the same noise pattern for every face
(configs/berl/README.md has the measurements).
"""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from facessl.registry import MODELS
from .unsup3d_blocks import Unsup3DDecoder, group_norm


def _down(size: int) -> int:
    """Side after a 4x4 stride-2 convolution with padding 1."""
    return (size + 2 - 4) // 2 + 1


class FeatureEncoderDecoder(nn.Module):
    """Feature map ``(B, C, S, S)`` -> code ``(B, zdim, 1, 1)`` -> map
    ``(B, out_channels, 64, 64)``, no output activation.

    The encoder has three convolutions (see the module docstring).

    Args:
        in_channels (int): channels ``C`` of the feature map.
        in_size (int): side ``S`` of the feature map (at least 4).
        out_channels (int): output channels.
        nf (int): decoder base width. Defaults to 64.
        zdim (int): code size. Defaults to 256.
    """

    def __init__(self, in_channels: int, in_size: int, out_channels: int,
                 nf: int = 64, zdim: int = 256) -> None:
        super().__init__()
        last = _down(_down(in_size))
        if last < 1:
            raise ValueError(f'IRANet: in_size={in_size} is too small for '
                             'two stride-2 convolutions (need >= 4)')
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, nf * 4, 4, 2, 1, bias=False),
            group_norm(nf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(nf * 4, nf * 8, 4, 2, 1, bias=False),
            group_norm(nf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(nf * 8, zdim, last, 1, 0, bias=False),
            nn.ReLU(inplace=True))
        self.decoder = Unsup3DDecoder(zdim, out_channels, nf)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """Decode the feature map to ``(B, out_channels, 64, 64)``."""
        return self.decoder(self.encoder(feat))


@MODELS.register_module()
class IRANet(BaseModule):
    """3D-BERL IRA network: depth and albedo decoders of a feature map.

    Two independent :class:`FeatureEncoderDecoder` s, ``depth_net`` (1
    channel) and ``albedo_net`` (3 channels), as Unsup3D's ``netD`` and
    ``netA`` (nf = 64, zdim = 256).

    Args:
        in_channels (int): feature channels (IResNet stage 3: 256).
            Defaults to 256.
        in_size (int): feature side (14 at 112 x 112). Defaults to 14.
        nf (int): decoder base width. Defaults to 64.
        zdim (int): code size. Defaults to 256.
        min_depth (float): nearest depth in metres. Defaults to 0.9.
        max_depth (float): farthest depth in metres. Defaults to 1.1.
        flat_init (bool): zero the last convolution of both decoders, so
            the initial depth is flat and the albedo grey (see the module
            docstring). Defaults to True.
        init_cfg (dict, optional): init config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 256,
                 in_size: int = 14,
                 nf: int = 64,
                 zdim: int = 256,
                 min_depth: float = 0.9,
                 max_depth: float = 1.1,
                 flat_init: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0 < min_depth < max_depth:
            raise ValueError(f'IRANet: need 0 < min_depth < max_depth, got '
                             f'{min_depth} and {max_depth}')
        self.in_channels, self.in_size = in_channels, in_size
        self.min_depth, self.max_depth = float(min_depth), float(max_depth)
        self.depth_net = FeatureEncoderDecoder(in_channels, in_size, 1, nf,
                                               zdim)
        self.albedo_net = FeatureEncoderDecoder(in_channels, in_size, 3, nf,
                                                zdim)
        self.flat_init = bool(flat_init)
        self._zero_output_convs()

    def _zero_output_convs(self) -> None:
        """Zero the decoders' last convolutions if ``flat_init``."""
        if self.flat_init:
            for net in (self.depth_net, self.albedo_net):
                nn.init.zeros_(net.decoder[-1].weight)

    def init_weights(self) -> None:
        """Initialise (``init_cfg``), then re-apply ``flat_init``."""
        super().init_weights()
        self._zero_output_convs()

    def forward(self, feat: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Network-range depth and albedo.

        Args:
            feat (Tensor): ``(B, in_channels, in_size, in_size)`` features.

        Returns:
            dict[str, Tensor]: ``depth`` ``(B, 1, 64, 64)`` in (-1, 1),
            zero-centred before the tanh (Unsup3D); ``albedo``
            ``(B, 3, 64, 64)`` in (-1, 1). Map them with
            :meth:`to_physical`.
        """
        expected = (self.in_channels, self.in_size, self.in_size)
        if feat.dim() != 4 or tuple(feat.shape[1:]) != expected:
            raise ValueError(
                f'IRANet expects features (B, {self.in_channels}, '
                f'{self.in_size}, {self.in_size}) (e.g. IResNet stage 3 at '
                f'112x112), got shape {tuple(feat.shape)}')
        raw = self.depth_net(feat)
        depth = (raw - raw.mean(dim=(1, 2, 3), keepdim=True)).tanh()
        return dict(depth=depth, albedo=self.albedo_net(feat).tanh())

    def to_physical(self, out: Dict[str, torch.Tensor]
                    ) -> Dict[str, torch.Tensor]:
        """Renderer units from :meth:`forward`'s output.

        Args:
            out (dict[str, Tensor]): ``depth`` ``(B, 1, H, W)`` and
                ``albedo`` ``(B, 3, H, W)`` in [-1, 1].

        Returns:
            dict[str, Tensor]: ``depth`` ``(B, H, W)`` in metres in
            [min_depth, max_depth] (+1 -> ``max_depth``, the farthest, as
            Unsup3D); ``albedo`` ``(B, 3, H, W)`` in [0, 1].
        """
        d = out['depth'][:, 0]
        depth = (1 + d) / 2 * self.max_depth + (1 - d) / 2 * self.min_depth
        return dict(depth=depth, albedo=out['albedo'] / 2 + 0.5)
