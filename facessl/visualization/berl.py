"""Pictures of a 3D-BERL reconstruction: depth, albedo, shading, new views.

:func:`berl_pictures` turns the output of ``BERL.reconstruct`` into images
in [0, 1] (shaded depth, albedo, shading, the re-rendered input and the
canonical face re-rendered from rotated viewpoints) with the renderer's own
functions; :func:`berl_panel` lays them out, one row per sample.
"""
import math
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from facessl.models.renderers import render_canonical, warp_to_view
from .grid import resize_to_height, tile_grid, to_rgb_image

#: light of the shaded-depth picture: (k_a, k_d, l_dx, l_dy), from the
#: upper left of the image
DEPTH_LIGHT = (0.15, 0.85, -0.5, -0.5)


def shade_depth(depth: torch.Tensor, camera,
                light: Sequence[float] = DEPTH_LIGHT) -> torch.Tensor:
    """A depth map drawn as a white Lambertian surface.

    Args:
        depth (Tensor): ``(B, H, W)`` depth in metres.
        camera (PerspectiveCamera): the renderer's camera.
        light (Sequence[float]): ``(k_a, k_d, l_dx, l_dy)``. Defaults to
            :data:`DEPTH_LIGHT`.

    Returns:
        Tensor: ``(B, 1, H, W)`` grey levels ``k_a + k_d max(0, <l, n>)``.
    """
    albedo = depth.new_ones(depth.shape[0], 1, *depth.shape[1:])
    light = depth.new_tensor(light).expand(depth.shape[0], 4)
    return render_canonical(depth, albedo, light, camera)['canonical']


def rotated_views(image: torch.Tensor, depth: torch.Tensor, renderer,
                  yaws: Sequence[float]) -> Dict[str, torch.Tensor]:
    """``image`` (a canonical map) re-rendered after a yaw about the face.

    Args:
        image (Tensor): ``(B, C, H, W)`` canonical image.
        depth (Tensor): ``(B, H, W)`` canonical depth in metres.
        renderer (DepthMapRenderer): gives the camera and the background
            depth.
        yaws (Sequence[float]): yaw angles in degrees (positive turns the
            nose to the left of the image).

    Returns:
        dict[str, Tensor]: ``'yaw <a>'`` -> ``(B, C, H, W)``, zero where
        the surface is not seen.
    """
    out = OrderedDict()
    for yaw in yaws:
        view = depth.new_zeros(depth.shape[0], 6)
        view[:, 1] = math.radians(yaw)
        out[f'yaw {yaw:+g}'] = warp_to_view(image, depth, view,
                                            renderer.camera,
                                            renderer.max_depth)['recon']
    return out


@torch.no_grad()
def berl_pictures(out: Dict[str, torch.Tensor], renderer,
                  yaws: Sequence[float] = (-30., 30.)
                  ) -> Dict[str, torch.Tensor]:
    """The panel's images, each ``(B, C, S, S)`` in [0, 1].

    Args:
        out (dict[str, Tensor]): ``BERL.reconstruct`` output (``target``,
            ``depth``, ``albedo``, ``shading``, ``canonical``, ``recon``).
        renderer (DepthMapRenderer): the model's renderer.
        yaws (Sequence[float]): viewpoints of the re-rendered canonical
            face, degrees. Defaults to (-30, 30).

    Returns:
        dict[str, Tensor]: ``input``, ``depth`` (shaded), ``albedo``,
        ``shading``, ``reconstruction`` and ``yaw <a>`` per yaw.
    """
    depth = renderer.apply_border(out['depth'])
    pictures = OrderedDict(
        input=out['target'],
        depth=shade_depth(depth, renderer.camera),
        albedo=out['albedo'],
        shading=out['shading'],
        reconstruction=out['recon'])
    pictures.update(rotated_views(out['canonical'], depth, renderer, yaws))
    return OrderedDict(
        (k, v.detach().float().clamp(0, 1).cpu())
        for k, v in pictures.items())


def berl_panel(pictures: Dict[str, torch.Tensor],
               num_samples: Optional[int] = None,
               height: int = 128) -> np.ndarray:
    """One row per sample, one column per picture, titled.

    Args:
        pictures (dict[str, Tensor]): name -> ``(B, C, H, W)`` in [0, 1]
            (C = 1 or 3, RGB), e.g. from :func:`berl_pictures`.
        num_samples (int, optional): first samples to draw. Defaults to
            all.
        height (int): tile height in pixels. Defaults to 128.

    Returns:
        np.ndarray: RGB uint8 image.
    """
    if not pictures:
        raise ValueError('berl_panel: no pictures given')
    sizes = {k: v.shape[0] for k, v in pictures.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f'berl_panel: pictures of different batch sizes '
                         f'{sizes}')
    count = next(iter(sizes.values()))
    count = count if num_samples is None else min(count, num_samples)
    rows = []
    for i in range(count):
        rows.append([
            resize_to_height(to_rgb_image(img[i], std=[255.] * 3), height)
            for img in pictures.values()
        ])
    return tile_grid(rows, col_titles=list(pictures),
                     row_titles=[f'sample {i}' for i in range(count)])
