"""Normals of a depth map and Lambertian shading (3D-BERL / Unsup3D).

Frames and signs follow :mod:`facessl.models.renderers.camera`: normals
point towards the camera, ``(0, 0, -1)`` for a constant depth.
"""
import torch
import torch.nn.functional as F

from .camera import PerspectiveCamera


def depth_to_normals(depth: torch.Tensor, camera: PerspectiveCamera,
                     eps: float = 1e-12, mode: str = 'central'
                     ) -> torch.Tensor:
    """Unit surface normals of a depth map by finite differences.

    Each pixel's 3D point is :meth:`PerspectiveCamera.unproject`-ed; the
    normal is the normalised cross product ``t_v x t_u`` of a vertical
    (``t_v``) and a horizontal (``t_u``) difference of points, which
    points towards the camera.

    - ``'central'`` (Unsup3D): differences between a pixel's two
      neighbours; the one-pixel image border copies the nearest inner
      normal (Unsup3D pads it with a constant instead). Blind to a depth
      that alternates every other row or column (both neighbours are
      equal), so the shading cannot see such a pattern.
    - ``'forward'``: differences to the right and lower neighbour (the
      normal of the pixel's quad, half a pixel off-centre); sees every
      depth step. The last row and column copy their neighbours.

    Args:
        depth (Tensor): (B, H, W) depth in metres, H, W >= 3.
        camera (PerspectiveCamera): the camera of the depth map.
        eps (float): guards the normalisation of a zero cross product.
        mode (str): ``'central'`` or ``'forward'``. Defaults to
            ``'central'``.

    Returns:
        Tensor: (B, 3, H, W) unit normals (exactly: divided by their norm;
        Unsup3D's code divides by ``|n| + 1e-7``, see
        :mod:`facessl.models.renderers.renderer`).
    """
    points = camera.unproject(depth)
    if mode == 'central':
        t_u = points[:, 1:-1, 2:] - points[:, 1:-1, :-2]
        t_v = points[:, 2:, 1:-1] - points[:, :-2, 1:-1]
        pad = (1, 1, 1, 1)
    elif mode == 'forward':
        t_u = points[:, :-1, 1:] - points[:, :-1, :-1]
        t_v = points[:, 1:, :-1] - points[:, :-1, :-1]
        pad = (0, 1, 0, 1)
    else:
        raise ValueError(f"depth_to_normals: mode must be 'central' or "
                         f"'forward', got {mode!r}")
    normal = torch.linalg.cross(t_v, t_u, dim=-1).permute(0, 3, 1, 2)
    normal = F.pad(normal, pad, mode='replicate')
    return normal / normal.norm(dim=1, keepdim=True).clamp(min=eps)


def light_direction(light_dxy: torch.Tensor) -> torch.Tensor:
    """Unit vector from the surface towards the light.

    The paper's light direction ``(l_dx, l_dy, 1)`` (normalised) is given in
    a frame whose ``z`` points at the viewer; in the camera frame (``z``
    forward) it is ``(l_dx, l_dy, -1) / ||.||``: ``(0, 0)`` is a light at
    the camera, ``l_dx > 0`` a light to the right of the image (``+x``),
    ``l_dy > 0`` a light below it (``+y``). Unsup3D's code builds
    ``(l_dx, l_dy, 1)`` against normals of the opposite sign, so its
    ``(l_dx, l_dy)`` is the negative of facessl's for the same shading.

    Args:
        light_dxy (Tensor): (B, 2) ``(l_dx, l_dy)``.

    Returns:
        Tensor: (B, 3) unit light directions.
    """
    minus_one = -torch.ones_like(light_dxy[:, :1])
    direction = torch.cat([light_dxy, minus_one], 1)
    return direction / direction.norm(dim=1, keepdim=True)


def lambertian_shading(normal: torch.Tensor,
                       light_dir: torch.Tensor) -> torch.Tensor:
    """Diffuse shading ``s = max(0, <l, n>)``.

    Args:
        normal (Tensor): (B, 3, H, W) unit normals.
        light_dir (Tensor): (B, 3) unit vectors towards the light.

    Returns:
        Tensor: (B, 1, H, W) shading in [0, 1].
    """
    cos = (normal * light_dir[:, :, None, None]).sum(1, keepdim=True)
    return cos.clamp(min=0)
