"""IIA network of 3D-BERL: viewpoint and lighting from the input image.

He et al., *Enhancing Face Recognition with Self-Supervised 3D
Reconstruction*, CVPR 2022: the "identity-irrelevant attribute" (IIA)
network estimates the pose and the illumination of the face from the
input image (resized to 64 x 64), with Unsup3D's view and light encoders
(:func:`~.unsup3d_blocks.conv_encoder`, nf = 32: 5 Conv-ReLU, then a
Conv1x1 and a Tanh).

Ranges. :meth:`IIANet.forward` returns the tanh outputs in (-1, 1);
:meth:`IIANet.to_physical` is the one place that maps them to the
renderer's units (:class:`facessl.models.renderers.DepthMapRenderer`),
as Unsup3D's ``model.py``:

- view ``(B, 6)``: rotations ``(pitch, yaw, roll) = v * rotation_range``
  degrees, returned in radians (60 degrees: (-pi/3, pi/3)); translations
  ``(t_x, t_y) = v * xy_translation_range`` and ``t_z = v *
  z_translation_range`` metres (0.1 each; Unsup3D's CelebA config uses
  ``z_translation_range=0``);
- light ``(B, 4)``: ``k_a = (1 + v) / 2 * hi + (1 - v) / 2 * lo`` in
  ``ambient_range`` and ``k_d`` likewise in ``diffuse_range`` (both
  (0, 1)); the light direction ``(l_dx, l_dy)`` is the tanh output itself,
  in (-1, 1), normalised with a third component 1 by the renderer.
"""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from facessl.registry import MODELS
from .unsup3d_blocks import conv_encoder


def rescale(value: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Map ``value`` in [-1, 1] linearly to [low, high] (-1 -> low)."""
    return (1 + value) / 2 * high + (1 - value) / 2 * low


@MODELS.register_module()
class IIANet(BaseModule):
    """3D-BERL IIA network: view and light encoders of the image.

    Args:
        image_size (int): input side (a multiple of 16). Defaults to 64.
        nf (int): encoder base width. Defaults to 32 (Unsup3D).
        rotation_range (float): rotation bound in degrees. Defaults to 60.
        xy_translation_range (float): x/y translation bound in metres.
            Defaults to 0.1.
        z_translation_range (float): z translation bound in metres.
            Defaults to 0.1.
        ambient_range (Sequence[float]): ``(lo, hi)`` of ``k_a``.
            Defaults to (0, 1).
        diffuse_range (Sequence[float]): ``(lo, hi)`` of ``k_d``.
            Defaults to (0, 1).
        init_cfg (dict, optional): init config. Defaults to None.
    """

    def __init__(self,
                 image_size: int = 64,
                 nf: int = 32,
                 rotation_range: float = 60.,
                 xy_translation_range: float = 0.1,
                 z_translation_range: float = 0.1,
                 ambient_range: Sequence[float] = (0., 1.),
                 diffuse_range: Sequence[float] = (0., 1.),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, (lo, hi) in (('ambient_range', ambient_range),
                               ('diffuse_range', diffuse_range)):
            if not 0 <= lo <= hi:
                raise ValueError(f'IIANet: {name} must be (lo, hi) with '
                                 f'0 <= lo <= hi, got {(lo, hi)}')
        self.image_size = int(image_size)
        self.rotation_range = float(rotation_range)
        self.xy_translation_range = float(xy_translation_range)
        self.z_translation_range = float(z_translation_range)
        self.ambient_range = tuple(float(v) for v in ambient_range)
        self.diffuse_range = tuple(float(v) for v in diffuse_range)
        self.view_net = nn.Sequential(
            conv_encoder(3, 6, nf, self.image_size), nn.Tanh())
        self.light_net = nn.Sequential(
            conv_encoder(3, 4, nf, self.image_size), nn.Tanh())

    def forward(self, img: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Network-range view and light.

        Args:
            img (Tensor): ``(B, 3, image_size, image_size)`` faces,
                normalised to about [-1, 1] (Unsup3D: ``2 x - 1``).

        Returns:
            dict[str, Tensor]: ``view`` ``(B, 6)`` and ``light`` ``(B, 4)``
            in (-1, 1); map them with :meth:`to_physical`.
        """
        s = self.image_size
        if img.dim() != 4 or tuple(img.shape[1:]) != (3, s, s):
            raise ValueError(f'IIANet expects images (B, 3, {s}, {s}) '
                             f'(resize the input to {s}x{s} first), got '
                             f'shape {tuple(img.shape)}')
        return dict(view=self.view_net(img).flatten(1),
                    light=self.light_net(img).flatten(1))

    def to_physical(self, out: Dict[str, torch.Tensor]
                    ) -> Dict[str, torch.Tensor]:
        """Renderer units from :meth:`forward`'s output.

        Args:
            out (dict[str, Tensor]): ``view`` ``(B, 6)`` and ``light``
                ``(B, 4)`` in [-1, 1].

        Returns:
            dict[str, Tensor]: ``view`` ``(B, 6)`` = ``(pitch, yaw, roll)``
            in radians and ``(t_x, t_y, t_z)`` in metres; ``light``
            ``(B, 4)`` = ``(k_a, k_d, l_dx, l_dy)``.
        """
        view, light = out['view'], out['light']
        scale = view.new_tensor(
            [math.radians(self.rotation_range)] * 3 +
            [self.xy_translation_range] * 2 + [self.z_translation_range])
        k_a = rescale(light[:, :1], *self.ambient_range)
        k_d = rescale(light[:, 1:2], *self.diffuse_range)
        return dict(view=view * scale,
                    light=torch.cat([k_a, k_d, light[:, 2:]], 1))
