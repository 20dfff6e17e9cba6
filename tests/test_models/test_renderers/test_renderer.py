import math

import pytest
import torch
import torch.nn.functional as F

from facessl.models.renderers import (DepthMapRenderer, check_image_size,
                                      render_canonical, warp_to_view)
from facessl.registry import MODELS


def _smooth_depth(b, size=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    coarse = 1 + 0.04 * torch.randn(b, 1, 6, 6, generator=gen)
    return F.interpolate(coarse, size, mode='bicubic',
                         align_corners=True)[:, 0].clamp(0.9, 1.1)


def _ramp_albedo(b, size=64):
    r = torch.arange(size, dtype=torch.float32) / (size - 1)
    v, u = torch.meshgrid(r, r, indexing='ij')
    return torch.stack([u, v, 1 - u], 0).expand(b, 3, size, size)


def test_built_from_registry():
    renderer = MODELS.build(dict(type='DepthMapRenderer', image_size=32))
    assert isinstance(renderer, DepthMapRenderer)
    assert renderer.camera.image_size == 32
    assert list(renderer.parameters()) == []


def test_output_shapes_and_canonical_formula():
    renderer = DepthMapRenderer(image_size=16)
    depth = torch.full((2, 16, 16), 1.)
    albedo = torch.rand(2, 3, 16, 16)
    # light at the camera: flat shading is 1, I_c = a (k_a + k_d)
    light = torch.tensor([[0.2, 0.5, 0., 0.], [1., 0., 0.3, 0.3]])
    out = renderer(depth, albedo, light, torch.zeros(2, 6))
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes == dict(normal=(2, 3, 16, 16), shading=(2, 1, 16, 16),
                          canonical=(2, 3, 16, 16), recon_depth=(2, 16, 16),
                          recon=(2, 3, 16, 16), recon_mask=(2, 1, 16, 16))
    assert torch.allclose(out['shading'][0], torch.ones(1, 16, 16))
    assert torch.allclose(out['canonical'][0], 0.7 * albedo[0])
    assert torch.allclose(out['canonical'][1], albedo[1])


def test_zero_view_re_renders_the_canonical_image():
    renderer = DepthMapRenderer()
    depth = _smooth_depth(3)
    light = torch.tensor([[0.4, 0.6, 0.3, -0.2]]).repeat(3, 1)
    out = renderer(depth, torch.rand(3, 3, 64, 64), light,
                   torch.zeros(3, 6))
    assert out['recon_mask'].eq(1).all()
    assert torch.allclose(out['recon'], out['canonical'], atol=1e-4)
    assert torch.allclose(out['recon_depth'], depth, atol=1e-5)


def test_known_yaw_moves_a_point_where_the_pinhole_says():
    renderer = DepthMapRenderer()
    yaw = 0.3
    depth = torch.full((1, 64, 64), 0.95)
    light = torch.tensor([[1., 0., 0., 0.]])  # ambient only: I_c = albedo
    view = torch.tensor([[0., yaw, 0., 0., 0., 0.]])
    out = renderer(depth, _ramp_albedo(1), light, view)
    # by hand: canonical pixel (32, 32) at depth 0.95, f = 31.5 / tan 5deg
    f = 31.5 / math.tan(math.radians(5))
    x = y = 0.95 * 0.5 / f
    dx, dz = x, 0.95 - 1.  # relative to the object centre (0, 0, 1)
    x_new = math.cos(yaw) * dx + math.sin(yaw) * dz
    z_new = -math.sin(yaw) * dx + math.cos(yaw) * dz + 1
    u_new, v_new = f * x_new / z_new + 31.5, f * y / z_new + 31.5
    assert u_new == pytest.approx(26.39, abs=0.01)  # 5.6 px to the left
    assert v_new == pytest.approx(32., abs=0.01)
    # the red ramp is u / 63: find where row 32 shows canonical u = 32
    row = out['recon'][0, 0, 32] * 63
    right = int((row > 32).nonzero()[0])
    left = right - 1
    found = left + (32 - row[left]) / (row[right] - row[left])
    assert float(found) == pytest.approx(u_new, abs=0.02)
    assert out['recon'][0, 1, 32, left:right + 1].mul(63).tolist() == (
        pytest.approx([32., 32.], abs=0.02))
    # and the depth seen there is z_new
    assert float(out['recon_depth'][0, 32, left:right + 1].mean()) == (
        pytest.approx(z_new, abs=1e-4))
    # the plane turned away: its right edge moved in, outside is masked
    assert out['recon_mask'][0, 0, 32, :50].eq(1).all()
    assert out['recon_mask'][0, 0, 32, -3:].eq(0).all()


def test_translation_shifts_by_f_t_over_z():
    renderer = DepthMapRenderer()
    view = torch.tensor([[0., 0., 0., 0.01, 0., 0.]])
    out = renderer(torch.ones(1, 64, 64), _ramp_albedo(1),
                   torch.tensor([[1., 0., 0., 0.]]), view)
    shift = 0.01 * renderer.camera.focal  # 3.6 px to the right
    seen_u = out['recon'][0, 0, 10, 10:50] * 63
    expected = torch.arange(10, 50) - shift
    assert torch.allclose(seen_u, expected, atol=1e-3)


def test_gradients_reach_depth_albedo_light_and_view():
    renderer = DepthMapRenderer(border_depth=1.08)
    depth = _smooth_depth(2).requires_grad_()
    albedo = torch.rand(2, 3, 64, 64, requires_grad=True)
    light = torch.tensor([[0.3, 0.7, 0.4, 0.1],
                          [0.5, 0.5, -0.2, 0.3]], requires_grad=True)
    view = torch.tensor([[0.1, -0.2, 0.05, 0.01, -0.01, 0.02],
                         [-0.2, 0.3, 0., 0., 0.01, 0.]], requires_grad=True)
    out = renderer(depth, albedo, light, view)
    target = torch.rand(2, 3, 64, 64)
    (out['recon'] - target).abs().mul(out['recon_mask']).mean().backward()
    for name, x in dict(depth=depth, albedo=albedo, light=light,
                        view=view).items():
        assert x.grad is not None and x.grad.isfinite().all(), name
        assert x.grad.abs().sum() > 0, name
    assert (view.grad != 0).all()  # every angle and translation


def test_depth_gradient_through_the_warp_alone():
    renderer = DepthMapRenderer(image_size=32)
    depth = _smooth_depth(1, 32).requires_grad_()
    image = _ramp_albedo(1, 32)
    view = torch.tensor([[0., 0.2, 0., 0., 0., 0.]])
    out = warp_to_view(image, depth, view, renderer.camera, 1.1)
    out['recon'].sum().backward()
    assert depth.grad.abs().sum() > 0 and depth.grad.isfinite().all()


def test_helpers_compose_like_forward():
    renderer = DepthMapRenderer(image_size=32)
    depth, albedo = _smooth_depth(2, 32), torch.rand(2, 3, 32, 32)
    light = torch.tensor([[0.3, 0.7, 0.4, 0.1]]).repeat(2, 1)
    view = torch.tensor([[0., 0.4, 0., 0., 0., 0.]]).repeat(2, 1)
    out = renderer(depth, albedo, light, view)
    canon = render_canonical(depth, albedo, light, renderer.camera)
    warped = warp_to_view(canon['canonical'], depth, view, renderer.camera,
                          renderer.max_depth)
    assert torch.equal(out['recon'], warped['recon'])
    # warping the shading with the same view is how pictures rotate a face
    shading = warp_to_view(canon['shading'], depth, view, renderer.camera,
                           renderer.max_depth)['recon']
    assert shading.shape == (2, 1, 32, 32)


def test_border_depth():
    renderer = DepthMapRenderer(image_size=8, border_depth=1.05,
                                border_width=2)
    depth = renderer.apply_border(torch.full((1, 8, 8), 0.95))
    assert depth[0, 3].tolist() == pytest.approx([1.05] * 2 + [0.95] * 4 +
                                                 [1.05] * 2)


def test_bad_shapes_raise_clear_errors():
    renderer = DepthMapRenderer(image_size=16)
    depth, albedo = torch.ones(2, 16, 16), torch.rand(2, 3, 16, 16)
    light, view = torch.rand(2, 4), torch.zeros(2, 6)
    with pytest.raises(ValueError,
                       match=r'depth must have shape \(B, 16, 16\), '
                       r'got \(2, 32, 32\)'):
        renderer(torch.ones(2, 32, 32), albedo, light, view)
    with pytest.raises(ValueError, match=r'albedo must have shape '
                       r'\(B, 3, 16, 16\), got \(2, 1, 16, 16\)'):
        renderer(depth, albedo[:, :1], light, view)
    with pytest.raises(ValueError, match=r'light must have shape \(B, 4\)'):
        renderer(depth, albedo, light[:, :2], view)
    with pytest.raises(ValueError, match=r'view must have shape \(B, 6\)'):
        renderer(depth, albedo, light, view[:, None])
    with pytest.raises(ValueError, match=r'share the batch size, got '
                       r'\[2, 2, 1, 2\]'):
        renderer(depth, albedo, light[:1], view)
    with pytest.raises(ValueError, match='min_depth < max_depth'):
        DepthMapRenderer(min_depth=1.2, max_depth=1.1)


def test_image_smaller_than_renderer_raises():
    renderer = DepthMapRenderer(image_size=64)
    renderer.check_image_size(torch.zeros(2, 3, 112, 112))
    with pytest.raises(ValueError, match=r'input images are 48x112 '
                       r'\(shape \(2, 3, 48, 112\)\), smaller than the '
                       r'renderer size 64x64'):
        renderer.check_image_size(torch.zeros(2, 3, 48, 112))
    with pytest.raises(ValueError, match='smaller than the renderer size'):
        check_image_size(torch.zeros(3, 32, 32), 64)


def test_normal_mode_reaches_the_shading():
    depth = torch.ones(1, 64, 64)
    depth[..., ::2] += 0.002
    light = torch.tensor([[0., 1., 1., 0.]])
    args = (depth, torch.ones(1, 3, 64, 64), light, torch.zeros(1, 6))
    central = DepthMapRenderer()(*args)['shading']
    forward = DepthMapRenderer(normal_mode='forward')(*args)['shading']
    assert central.std() < 1e-3 < forward.std()
    with pytest.raises(ValueError, match="normal_mode must be 'central' or "
                       "'forward', got 'x'"):
        DepthMapRenderer(normal_mode='x')
