"""Perspective camera and rigid view transforms of the 3D-BERL renderer.

Camera convention (used by every module of :mod:`facessl.models.renderers`):

* Camera frame: ``x`` to the right of the image, ``y`` down the image, ``z``
  forward from the camera into the scene (right-handed). Depths are ``z``
  values in metres, positive in front of the camera.
* Pixels: ``u`` is the column, ``v`` the row; pixel centres are at integers
  ``0 .. W - 1``. The principal point is the image centre
  ``c = (W - 1) / 2`` and the focal length ``f = c / tan(fov / 2)``, so the
  outermost pixel centres lie on the edge of the field of view (Unsup3D's
  intrinsics). A pixel ``(u, v)`` with depth ``z`` is the point
  ``z * ((u - c) / f, (v - c) / f, 1)``.
* Normals point out of the surface, towards the camera: a depth map of
  constant depth has normal ``(0, 0, -1)`` everywhere.
* A view is ``(pitch, yaw, roll, t_x, t_y, t_z)``: rotation angles in
  radians about the ``x``, ``y`` and ``z`` axes and a translation in metres.
  It moves a canonical point ``X`` about the object centre
  ``C = (0, 0, obj_distance)`` as ``X' = R (X - C) + C + t`` with
  ``R = R_z(roll) R_y(yaw) R_x(pitch)`` (pitch applied first), each a
  right-handed rotation, e.g. ``R_y(a) = [[cos a, 0, sin a], [0, 1, 0],
  [-sin a, 0, cos a]]``. A positive yaw thus moves points in front of the
  centre (the nose) towards ``-x``, the left of the image.

Only square images are supported, as in Unsup3D.
"""
import math

import torch


class PerspectiveCamera:
    """Pinhole camera looking at an object ``obj_distance`` metres away.

    Args:
        image_size (int): width and height of the image in pixels.
        fov (float): full field of view in degrees. Defaults to 10.
        obj_distance (float): distance of the object centre, the rotation
            centre of views, in metres. Defaults to 1.
    """

    def __init__(self,
                 image_size: int,
                 fov: float = 10.,
                 obj_distance: float = 1.) -> None:
        if int(image_size) < 2:
            raise ValueError(f'image_size must be >= 2, got {image_size}')
        if not 0 < fov < 180:
            raise ValueError(f'fov must be in (0, 180) degrees, got {fov}')
        self.image_size = int(image_size)
        self.fov = float(fov)
        self.obj_distance = float(obj_distance)
        self.center = (self.image_size - 1) / 2
        self.focal = self.center / math.tan(math.radians(self.fov) / 2)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(image_size={self.image_size}, '
                f'fov={self.fov}, obj_distance={self.obj_distance})')

    def pixel_grid(self, device=None, dtype=None) -> torch.Tensor:
        """(H, W, 2) pixel centres ``(u, v)``, ``u`` the column (default
        float dtype unless ``dtype`` is given)."""
        dtype = dtype or torch.get_default_dtype()
        r = torch.arange(self.image_size, device=device, dtype=dtype)
        v, u = torch.meshgrid(r, r, indexing='ij')
        return torch.stack([u, v], -1)

    def unproject(self, depth: torch.Tensor) -> torch.Tensor:
        """3D points seen through every pixel at the given depth.

        Args:
            depth (Tensor): (B, H, W) depth (``z``) in metres.

        Returns:
            Tensor: (B, H, W, 3) camera-frame points ``(x, y, z)``.
        """
        uv = self.pixel_grid(depth.device, depth.dtype)
        xy = (uv - self.center) / self.focal
        return torch.cat([xy * depth[..., None], depth[..., None]], -1)

    def unproject_points(self, uvz: torch.Tensor) -> torch.Tensor:
        """Camera-frame points of pixels ``(u, v)`` at depths ``z``.

        Args:
            uvz (Tensor): (..., 3) pixel coordinates and depth.

        Returns:
            Tensor: (..., 3) points ``(x, y, z)``.
        """
        z = uvz[..., 2:]
        return torch.cat([(uvz[..., :2] - self.center) / self.focal * z, z],
                         -1)

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """Pixel coordinates and depth of camera-frame points.

        Args:
            points (Tensor): (..., 3) points ``(x, y, z)`` with ``z > 0``.

        Returns:
            Tensor: (..., 3) ``(u, v, z)``.
        """
        z = points[..., 2:]
        uv = points[..., :2] / z * self.focal + self.center
        return torch.cat([uv, z], -1)

    def to_grid(self, uv: torch.Tensor) -> torch.Tensor:
        """Pixel coordinates as ``F.grid_sample`` coordinates in [-1, 1]
        (``align_corners=True``)."""
        return uv / (self.image_size - 1) * 2 - 1


def rotation_matrix(angles: torch.Tensor) -> torch.Tensor:
    """``R = R_z(roll) R_y(yaw) R_x(pitch)`` of (pitch, yaw, roll) angles.

    Args:
        angles (Tensor): (B, 3) angles in radians about x, y and z.

    Returns:
        Tensor: (B, 3, 3) rotation matrices.
    """
    one = torch.ones_like(angles[:, 0])
    zero = torch.zeros_like(one)
    (cx, cy, cz), (sx, sy, sz) = angles.cos().unbind(1), angles.sin().unbind(1)
    r_x = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1)
    r_y = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1)
    r_z = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1)
    shape = angles.shape[:1] + (3, 3)
    return r_z.view(shape) @ r_y.view(shape) @ r_x.view(shape)


def _centre(points: torch.Tensor, obj_distance: float) -> torch.Tensor:
    return points.new_tensor([0., 0., obj_distance])


def transform_points(points: torch.Tensor, view: torch.Tensor,
                     obj_distance: float) -> torch.Tensor:
    """Move canonical points to a view: ``X' = R (X - C) + C + t``.

    Args:
        points (Tensor): (B, ..., 3) camera-frame points.
        view (Tensor): (B, 6) ``(pitch, yaw, roll, t_x, t_y, t_z)``.
        obj_distance (float): ``z`` of the rotation centre ``C``.

    Returns:
        Tensor: (B, ..., 3) moved points.
    """
    b = points.shape[0]
    rot, trans = rotation_matrix(view[:, :3]), view[:, 3:]
    c = _centre(points, obj_distance)
    flat = (points.reshape(b, -1, 3) - c) @ rot.transpose(1, 2)
    return (flat + c + trans[:, None]).view(points.shape)


def inverse_transform_points(points: torch.Tensor, view: torch.Tensor,
                             obj_distance: float) -> torch.Tensor:
    """Undo :func:`transform_points`: ``X = R^T (X' - C - t) + C``."""
    b = points.shape[0]
    rot, trans = rotation_matrix(view[:, :3]), view[:, 3:]
    c = _centre(points, obj_distance)
    flat = (points.reshape(b, -1, 3) - c - trans[:, None]) @ rot
    return (flat + c).view(points.shape)
