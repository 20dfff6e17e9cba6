import math

import pytest
import torch

from facessl.models.renderers import (PerspectiveCamera, depth_to_normals,
                                      lambertian_shading, light_direction)


def test_flat_depth_has_constant_normals_towards_camera():
    cam = PerspectiveCamera(64)
    normal = depth_to_normals(torch.full((2, 64, 64), 1.03), cam)
    assert normal.shape == (2, 3, 64, 64)
    expected = torch.tensor([0., 0., -1.])[None, :, None, None]
    assert torch.allclose(normal, expected.expand_as(normal), atol=1e-6)


def test_tilted_plane_normal_by_hand():
    # plane z = 1 + 0.5 x: outward normal (0.5, 0, -1) / sqrt(1.25)
    cam = PerspectiveCamera(32, fov=40.)
    a = (cam.pixel_grid()[..., 0] - cam.center) / cam.focal
    depth = 1 / (1 - 0.5 * a)
    normal = depth_to_normals(depth[None], cam)[0]
    expected = torch.tensor([0.5, 0., -1.]) / math.sqrt(1.25)
    assert torch.allclose(normal.permute(1, 2, 0), expected, atol=1e-5)


def test_light_direction_by_hand():
    light = light_direction(torch.tensor([[0., 0.], [3., -4.]]))
    assert light[0].tolist() == pytest.approx([0., 0., -1.])
    assert light[1].tolist() == pytest.approx(
        [3 / math.sqrt(26), -4 / math.sqrt(26), -1 / math.sqrt(26)])


def _sphere_depth(cam, centre_z, radius):
    """Depth of the near side of a sphere at (0, 0, centre_z), per pixel
    ray (a, b, 1) t: |t d - c|^2 = r^2, and its analytic normals."""
    ab = (cam.pixel_grid(dtype=torch.float64) - cam.center) / cam.focal
    d = torch.cat([ab, torch.ones_like(ab[..., :1])], -1)
    dd, dc = (d * d).sum(-1), d[..., 2] * centre_z
    disc = dc**2 - dd * (centre_z**2 - radius**2)
    hit = disc > 0
    t = (dc - disc.clamp(min=0).sqrt()) / dd
    depth = torch.where(hit, t, torch.full_like(t, centre_z))
    normal = (d * depth[..., None] - d.new_tensor([0, 0, centre_z]))
    return depth, normal / radius, hit


def test_sphere_shading_matches_analytic_lambertian():
    cam = PerspectiveCamera(64)
    depth, normal, hit = _sphere_depth(cam, 1., 0.08)
    light_dxy = torch.tensor([[0.6, -0.3]], dtype=torch.float64)
    light = light_direction(light_dxy)
    shading = lambertian_shading(
        depth_to_normals(depth[None], cam), light)[0, 0]
    analytic = (normal @ light[0]).clamp(min=0)
    inner = hit & (normal[..., 2] < -0.5)  # away from the rim
    assert inner.sum() > 1000
    err = (shading - analytic)[inner].abs()
    # central differences: O(h^2) error, largest where the sphere slopes
    assert err.max() < 1e-2 and err.mean() < 1e-3
    steep = hit & (normal[..., 2] < -0.9)
    assert (shading - analytic)[steep].abs().max() < 1e-3
    # both lit and self-shadowed parts are compared
    assert (analytic[inner] == 0).any() and (analytic[inner] > 0.9).any()


@pytest.mark.parametrize('mode', ['central', 'forward'])
def test_both_modes_on_flat_and_tilted_planes(mode):
    cam = PerspectiveCamera(32, fov=40.)
    flat = depth_to_normals(torch.full((1, 32, 32), 1.), cam, mode=mode)
    assert torch.allclose(flat, torch.tensor([0., 0., -1.])[None, :, None,
                                                             None],
                          atol=1e-6)
    a = (cam.pixel_grid()[..., 0] - cam.center) / cam.focal
    normal = depth_to_normals((1 / (1 - 0.5 * a))[None], cam, mode=mode)
    expected = torch.tensor([0.5, 0., -1.]) / math.sqrt(1.25)
    assert torch.allclose(normal[0].permute(1, 2, 0), expected, atol=1e-5)


def test_forward_mode_sees_depth_alternating_every_other_column():
    cam = PerspectiveCamera(16)
    depth = torch.ones(1, 16, 16)
    depth[..., ::2] += 0.002  # 2 mm up and down, every other column
    central = depth_to_normals(depth, cam)
    forward = depth_to_normals(depth, cam, mode='forward')
    # central differences skip the pixel: the stripes are invisible
    assert central[:, 0].abs().max() < 0.01
    # forward differences: a 2 mm step over a pixel of about 1.1 mm
    pixel = 2 * math.tan(math.radians(5)) / 16
    tilt = forward[0, 0, 4, :4].abs()
    assert torch.allclose(tilt, torch.full((4, ), 0.002 / math.hypot(
        0.002, pixel)), atol=0.02)
    with pytest.raises(ValueError, match="mode must be 'central' or "
                       "'forward', got 'sobel'"):
        depth_to_normals(depth, cam, mode='sobel')


def test_conventions_against_unsup3d_code():
    """Same shading as Unsup3D's code with (l_dx, l_dy) negated; normals
    exactly unit where Unsup3D's are |n| / (|n| + 1e-7)."""
    cam = PerspectiveCamera(64, fov=10., obj_distance=1.)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 64),
                            torch.linspace(-1, 1, 64), indexing='ij')
    depth = (1. + 0.03 * (xx**2 + yy**2))[None]  # a bowl, 0.03 m deep
    light = torch.tensor([[0.4, -0.3]])
    ours = lambertian_shading(depth_to_normals(depth, cam),
                              light_direction(light))
    # Unsup3D's code: cross(t_u, t_v), divided by |n| + 1e-7, light
    # (l_dx, l_dy, 1) normalised
    p = cam.unproject(depth)
    t_u = p[:, 1:-1, 2:] - p[:, 1:-1, :-2]
    t_v = p[:, 2:, 1:-1] - p[:, :-2, 1:-1]
    n = torch.linalg.cross(t_u, t_v, dim=-1)
    length = n.norm(dim=-1, keepdim=True)
    n_unsup3d = n / (length + 1e-7)
    flipped = torch.cat([-light, torch.ones(1, 1)], 1)
    flipped = flipped / flipped.norm()
    theirs = (n_unsup3d * flipped[:, None, None]).sum(-1).clamp(min=0)
    inner = ours[:, 0, 1:-1, 1:-1]
    exact = theirs * (length[..., 0] + 1e-7) / length[..., 0]
    torch.testing.assert_close(inner, exact, atol=1e-5, rtol=1e-5)
    # Unsup3D's normals are about 0.3 % short at the centre (flat there)
    ratio = float(theirs[0, 31, 31] / inner[0, 31, 31])
    assert math.isclose(ratio, 1 / (1 + 1e-7 / float(length[0, 31, 31])),
                        rel_tol=1e-5)
    assert 0.996 < ratio < 0.998
    # with the sign NOT flipped the shading differs
    same_sign = torch.cat([light, torch.ones(1, 1)], 1)
    same_sign = same_sign / same_sign.norm()
    wrong = (n_unsup3d * same_sign[:, None, None]).sum(-1).clamp(min=0)
    assert not torch.allclose(inner, wrong, atol=1e-3)
