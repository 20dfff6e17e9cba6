"""Unsup3D-style photo-geometric renderer of 3D-BERL.

He et al., *Enhancing Face Recognition with Self-Supervised 3D
Reconstruction*, CVPR 2022; the renderer is Unsup3D's (Wu et al.,
*Unsupervised Learning of Probably Symmetric Deformable 3D Objects from
Images in the Wild*, CVPR 2020, https://arxiv.org/abs/1911.11130, Sec. 3.1):

* shading ``s = max(0, <l, n>)`` from the normals ``n`` of the canonical
  depth map and the light direction ``l``;
* canonical image ``I_c = a * (k_a + k_d * s)`` from the albedo ``a``;
* re-projection of ``I_c`` to the view: the depth-map mesh is moved to the
  view and z-buffered (:mod:`.rasterize`), each visible pixel is lifted to
  3D with that depth, moved back to the canonical frame and projected, and
  ``I_c`` is sampled there bilinearly.

Camera, pixel, normal, light and view conventions are in
:mod:`facessl.models.renderers.camera`. Everything is pure PyTorch and
differentiable w.r.t. depth, albedo, light and view.

Two conventions differ from Unsup3D's code (``unsup3d/model.py`` and
``renderer.py``), on purpose:

* **Light direction sign.** facessl's normals point towards the camera in
  a ``z``-forward frame (``(0, 0, -1)`` for a flat face) and the light is
  ``(l_dx, l_dy, -1) / ||.||`` (:func:`~.shading.light_direction`);
  Unsup3D's code takes ``cross(t_u, t_v)`` (the opposite normal) and the
  light ``(l_dx, l_dy, 1) / ||.||``. The shading ``<l, n>`` is the same
  for ``(l_dx, l_dy)_facessl = -(l_dx, l_dy)_Unsup3D``: facessl's
  ``l_dx > 0`` lights the face from the right of the image (``+x``),
  Unsup3D's from the left. Negate both to compare lighting predictions or
  to load an Unsup3D lighting network.
* **Unit normals.** facessl divides the cross product by its norm (floored
  at ``eps = 1e-12``), so the normals are exactly unit; Unsup3D divides by
  ``|n| + 1e-7``. With 64 px, FOV 10 degrees and a face at 1 m the central
  difference cross product has ``|n|`` of about 3.1e-5 m^2 on a flat face,
  so Unsup3D's normals (and its diffuse shading) are about 0.3 % shorter
  there, less where the surface is slanted.
"""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from facessl.registry import MODELS
from .camera import (PerspectiveCamera, inverse_transform_points,
                     transform_points)
from .rasterize import grid_faces, rasterize_depth
from .shading import depth_to_normals, lambertian_shading, light_direction


def check_image_size(img: torch.Tensor, image_size: int) -> None:
    """Raise if an image batch is smaller than the renderer's size.

    Args:
        img (Tensor): (..., H, W) images.
        image_size (int): the renderer's square size.

    Raises:
        ValueError: ``H`` or ``W`` is below ``image_size``.
    """
    if img.dim() < 2:
        raise ValueError(f'expected images of shape (..., H, W), got '
                         f'{tuple(img.shape)}')
    h, w = img.shape[-2:]
    if h < image_size or w < image_size:
        raise ValueError(
            f'input images are {h}x{w} (shape {tuple(img.shape)}), smaller '
            f'than the renderer size {image_size}x{image_size}; use inputs '
            f'of at least {image_size}x{image_size} pixels or a smaller '
            'renderer image_size')


def _check_shape(name: str, tensor: torch.Tensor, expected: tuple) -> None:
    """``expected`` holds ints, or ``None`` for the batch size."""
    shape = tuple(tensor.shape)
    if len(shape) != len(expected) or any(
            e is not None and s != e for s, e in zip(shape, expected)):
        want = ', '.join('B' if e is None else str(e) for e in expected)
        raise ValueError(f'{name} must have shape ({want}), got {shape}')


def render_canonical(depth: torch.Tensor, albedo: torch.Tensor,
                     light: torch.Tensor, camera: PerspectiveCamera,
                     normal_mode: str = 'central'
                     ) -> Dict[str, torch.Tensor]:
    """Shade the albedo: ``I_c = a * (k_a + k_d * max(0, <l, n>))``.

    Args:
        depth (Tensor): (B, H, W) canonical depth in metres.
        albedo (Tensor): (B, C, H, W) albedo, typically in [0, 1].
        light (Tensor): (B, 4) ``(k_a, k_d, l_dx, l_dy)``.
        camera (PerspectiveCamera): the canonical camera.
        normal_mode (str): finite differences of the normals, see
            :func:`.shading.depth_to_normals`. Defaults to ``'central'``.

    Returns:
        dict[str, Tensor]: ``normal`` (B, 3, H, W), ``shading``
        (B, 1, H, W) and ``canonical`` (B, C, H, W).
    """
    normal = depth_to_normals(depth, camera, mode=normal_mode)
    shading = lambertian_shading(normal, light_direction(light[:, 2:]))
    k_a, k_d = light[:, 0, None, None, None], light[:, 1, None, None, None]
    canonical = albedo * (k_a + k_d * shading)
    return dict(normal=normal, shading=shading, canonical=canonical)


def warp_to_view(image: torch.Tensor, depth: torch.Tensor,
                 view: torch.Tensor, camera: PerspectiveCamera,
                 background_depth: float) -> Dict[str, torch.Tensor]:
    """Re-render a canonical image (or any per-pixel map) from a view.

    Args:
        image (Tensor): (B, C, H, W) canonical image or map to warp.
        depth (Tensor): (B, H, W) canonical depth in metres.
        view (Tensor): (B, 6) ``(pitch, yaw, roll, t_x, t_y, t_z)``,
            radians and metres.
        camera (PerspectiveCamera): the camera, whose ``obj_distance`` is
            the rotation centre.
        background_depth (float): ``recon_depth`` where the surface does
            not reach.

    Returns:
        dict[str, Tensor]: ``recon`` (B, C, H, W), zero outside the mask;
        ``recon_depth`` (B, H, W) depth seen from the view;
        ``recon_mask`` (B, 1, H, W) float, 1 where the surface is seen
        and maps back inside the canonical image.
    """
    b, _, h, w = image.shape
    points = camera.unproject(depth).reshape(b, -1, 3)
    moved = transform_points(points, view, camera.obj_distance)
    recon_depth, covered = rasterize_depth(
        camera.project(moved), grid_faces(h, w, depth.device), h, w,
        background_depth)
    uv = camera.pixel_grid(depth.device, depth.dtype).expand(b, h, w, 2)
    seen = camera.unproject_points(
        torch.cat([uv, recon_depth[..., None]], -1))
    back = inverse_transform_points(seen, view, camera.obj_distance)
    src = camera.project(back)[..., :2]
    inside = ((src > -1e-3) & (src < camera.image_size - 1 + 1e-3)).all(-1)
    mask = (covered & inside)[:, None].to(image.dtype)
    recon = F.grid_sample(
        image, camera.to_grid(src), mode='bilinear', padding_mode='border',
        align_corners=True)
    return dict(recon=recon * mask, recon_depth=recon_depth,
                recon_mask=mask)


@MODELS.register_module()
class DepthMapRenderer(nn.Module):
    """Unsup3D-style photo-geometric renderer used by 3D-BERL.

    Renders the canonical image from depth, albedo and light and re-renders
    it from a view with a perspective camera (see the module docstring and
    :mod:`facessl.models.renderers.camera` for the conventions). It holds
    no parameters.

    Args:
        image_size (int): side of the square depth/albedo maps and
            outputs. Defaults to 64.
        fov (float): field of view in degrees. Defaults to 10.
        obj_distance (float): distance of the object (rotation) centre in
            metres. Defaults to 1.
        min_depth (float): nearest depth of the surface in metres (the
            networks map their outputs to [min_depth, max_depth] in one
            place, :meth:`facessl.models.necks.IRANet.to_physical`).
            Defaults to 0.9.
        max_depth (float): farthest depth; also ``recon_depth`` where the
            surface does not reach. Defaults to 1.1.
        border_depth (float, optional): if set, the ``border_width``
            leftmost and rightmost depth columns are replaced by this depth
            before rendering, as Unsup3D does to hide the mesh edge.
            Defaults to None (no border).
        border_width (int): columns each side set to ``border_depth``.
            Defaults to 2.
        normal_mode (str): ``'central'`` (Unsup3D's differences between
            a pixel's neighbours, blind to depth alternating every other
            pixel) or ``'forward'`` (differences to the next pixel); see
            :func:`.shading.depth_to_normals`. Defaults to ``'central'``.
    """

    def __init__(self,
                 image_size: int = 64,
                 fov: float = 10.,
                 obj_distance: float = 1.,
                 min_depth: float = 0.9,
                 max_depth: float = 1.1,
                 border_depth: Optional[float] = None,
                 border_width: int = 2,
                 normal_mode: str = 'central') -> None:
        super().__init__()
        if not 0 < min_depth < max_depth:
            raise ValueError(f'need 0 < min_depth < max_depth, got '
                             f'{min_depth} and {max_depth}')
        if image_size < 3:
            raise ValueError(f'image_size must be >= 3, got {image_size}')
        if border_width < 0 or 2 * border_width >= image_size:
            raise ValueError(f'border_width {border_width} does not fit an '
                             f'image of size {image_size}')
        self.camera = PerspectiveCamera(image_size, fov, obj_distance)
        self.image_size = int(image_size)
        self.min_depth, self.max_depth = float(min_depth), float(max_depth)
        self.border_depth = border_depth
        self.border_width = int(border_width)
        if normal_mode not in ('central', 'forward'):
            raise ValueError(f"normal_mode must be 'central' or 'forward', "
                             f'got {normal_mode!r}')
        self.normal_mode = normal_mode

    def extra_repr(self) -> str:
        return (f'image_size={self.image_size}, fov={self.camera.fov}, '
                f'obj_distance={self.camera.obj_distance}, '
                f'depth=[{self.min_depth}, {self.max_depth}], '
                f'border_depth={self.border_depth}')

    def check_image_size(self, img: torch.Tensor) -> None:
        """Raise a ValueError if ``img`` (..., H, W) is smaller than
        ``image_size``; see :func:`check_image_size`."""
        check_image_size(img, self.image_size)

    def apply_border(self, depth: torch.Tensor) -> torch.Tensor:
        """Set the left/right ``border_width`` columns to ``border_depth``
        (identity when ``border_depth`` is None)."""
        if self.border_depth is None or self.border_width == 0:
            return depth
        border = torch.zeros_like(depth[:1])
        border[..., :self.border_width] = 1
        border[..., -self.border_width:] = 1
        return depth * (1 - border) + self.border_depth * border

    def check_inputs(self, depth: torch.Tensor, albedo: torch.Tensor,
                     light: torch.Tensor, view: torch.Tensor) -> None:
        """Raise a ValueError naming the input with a wrong shape."""
        s = self.image_size
        _check_shape('depth', depth, (None, s, s))
        _check_shape('albedo', albedo, (None, 3, s, s))
        _check_shape('light', light, (None, 4))
        _check_shape('view', view, (None, 6))
        sizes = [len(t) for t in (depth, albedo, light, view)]
        if len(set(sizes)) > 1:
            raise ValueError(f'depth, albedo, light and view must share the '
                             f'batch size, got {sizes}')

    def forward(self, depth: torch.Tensor, albedo: torch.Tensor,
                light: torch.Tensor,
                view: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Render canonical and view images.

        Args:
            depth (Tensor): (B, S, S) canonical depth in metres, expected
                in [min_depth, max_depth] (not clamped).
            albedo (Tensor): (B, 3, S, S) albedo in [0, 1]; map a [-1, 1]
                network output with ``a / 2 + 0.5`` first.
            light (Tensor): (B, 4) ``(k_a, k_d, l_dx, l_dy)``: ambient and
                diffuse strengths (>= 0, not checked) and the light
                direction ``(l_dx, l_dy, 1)`` normalised (see
                :func:`.shading.light_direction`).
            view (Tensor): (B, 6) ``(pitch, yaw, roll)`` rotations in
                radians about x, y, z (``R = R_z R_y R_x``) about the
                object centre, then ``(t_x, t_y, t_z)`` in metres.

        Returns:
            dict[str, Tensor]: ``normal`` (B, 3, S, S) unit normals
            (``(0, 0, -1)`` when flat); ``shading`` (B, 1, S, S);
            ``canonical`` (B, 3, S, S); ``recon_depth`` (B, S, S) depth
            seen from the view (``max_depth`` where the surface does not
            reach); ``recon`` (B, 3, S, S) the re-rendered image, zero
            outside ``recon_mask`` (B, 1, S, S), 1.0 at valid pixels.
        """
        self.check_inputs(depth, albedo, light, view)
        depth = self.apply_border(depth)
        out = render_canonical(depth, albedo, light, self.camera,
                               self.normal_mode)
        out.update(
            warp_to_view(out['canonical'], depth, view, self.camera,
                         self.max_depth))
        return out
