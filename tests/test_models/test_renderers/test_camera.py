import math

import pytest
import torch

from facessl.models.renderers import (PerspectiveCamera,
                                      inverse_transform_points,
                                      rotation_matrix, transform_points)


def test_intrinsics_by_hand():
    cam = PerspectiveCamera(64, fov=10., obj_distance=1.)
    assert cam.center == 31.5
    assert cam.focal == pytest.approx(31.5 / math.tan(math.radians(5)))
    assert cam.focal == pytest.approx(360.046, abs=1e-3)
    # the corner pixel centre lies on the edge of the field of view
    point = cam.unproject(torch.ones(1, 64, 64))[0, 0, 63]
    assert point.tolist() == pytest.approx(
        [math.tan(math.radians(5)), -math.tan(math.radians(5)), 1.])


def test_project_unproject_round_trip():
    cam = PerspectiveCamera(16, fov=30.)
    depth = 0.9 + 0.2 * torch.rand(2, 16, 16)
    uvz = cam.project(cam.unproject(depth))
    grid = cam.pixel_grid().expand(2, -1, -1, -1)
    assert torch.allclose(uvz[..., :2], grid, atol=1e-4)
    assert torch.allclose(uvz[..., 2], depth)
    assert torch.allclose(cam.unproject_points(uvz), cam.unproject(depth))


def test_rotation_matrix_order_and_signs():
    yaw = rotation_matrix(torch.tensor([[0., math.pi / 2, 0.]]))[0]
    # R_y(90 deg) maps +z to +x
    assert torch.allclose(yaw @ torch.tensor([0., 0., 1.]),
                          torch.tensor([1., 0., 0.]), atol=1e-6)
    a = torch.tensor([[0.3, -0.2, 0.5]])
    rot = rotation_matrix(a)[0]
    rx = rotation_matrix(torch.tensor([[0.3, 0., 0.]]))[0]
    ry = rotation_matrix(torch.tensor([[0., -0.2, 0.]]))[0]
    rz = rotation_matrix(torch.tensor([[0., 0., 0.5]]))[0]
    assert torch.allclose(rot, rz @ ry @ rx, atol=1e-6)
    assert not torch.allclose(rot, rx @ ry @ rz, atol=1e-3)
    assert rx[1, 2] == pytest.approx(-math.sin(0.3))
    assert rz[0, 1] == pytest.approx(-math.sin(0.5))


def test_transform_about_object_centre_and_inverse():
    # a point 0.1 m in front of the centre, yawed 90 deg, goes to x = -0.1
    point = torch.tensor([[[0., 0., 0.9]]])
    view = torch.tensor([[0., math.pi / 2, 0., 0.01, 0.02, 0.03]])
    moved = transform_points(point, view, obj_distance=1.)
    assert moved[0, 0].tolist() == pytest.approx([-0.09, 0.02, 1.03],
                                                 abs=1e-6)
    points = torch.randn(2, 5, 7, 3)
    view = torch.randn(2, 6)
    back = inverse_transform_points(
        transform_points(points, view, 1.), view, 1.)
    assert torch.allclose(back, points, atol=1e-5)


def test_bad_camera_arguments():
    with pytest.raises(ValueError, match='fov must be in'):
        PerspectiveCamera(64, fov=0.)
    with pytest.raises(ValueError, match='image_size must be >= 2'):
        PerspectiveCamera(1)
