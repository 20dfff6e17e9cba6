import pytest
import torch

from facessl.models.renderers import (PerspectiveCamera, barycentric,
                                      grid_faces, rasterize_depth)


def test_grid_faces_by_hand():
    faces = grid_faces(2, 3)
    # vertex ids 0 1 2 / 3 4 5
    assert faces.tolist() == [[0, 1, 3], [1, 4, 3], [1, 2, 4], [2, 5, 4]]
    assert grid_faces(64, 64).shape == (2 * 63 * 63, 3)


def test_barycentric_by_hand():
    tri = torch.tensor([[0., 0.], [4., 0.], [0., 2.]])
    w, valid = barycentric(tri, torch.tensor([1., 1.]))
    assert valid and w.tolist() == [0.25, 0.25, 0.5]
    w, valid = barycentric(torch.zeros(3, 2), torch.tensor([1., 1.]))
    assert not valid and w.tolist() == [0., 0., 0.]


def test_single_triangle_coverage_and_background():
    # screen triangle (1, 1) (5, 1) (1, 5) at constant depth 2
    verts = torch.tensor([[[1., 1., 2.], [5., 1., 2.], [1., 5., 2.]]])
    depth, mask = rasterize_depth(verts, torch.tensor([[0, 1, 2]]), 7, 8,
                                  background=9.)
    v, u = torch.meshgrid(torch.arange(7), torch.arange(8), indexing='ij')
    expected = (u >= 1) & (v >= 1) & (u + v <= 6)  # edges included
    assert torch.equal(mask[0], expected)
    assert torch.allclose(depth[0], torch.where(expected, 2., 9.))


def test_perspective_correct_depth_of_a_tilted_plane():
    # plane z = 1 + 0.5 x seen through pixel ray (a, b, 1): z = 1/(1-0.5a)
    cam = PerspectiveCamera(9, fov=60.)
    corners = torch.tensor([[-1., -1.], [1., -1.], [-1., 1.], [1., 1.]])
    points = torch.cat([corners, 1 + 0.5 * corners[:, :1]], 1)
    verts = cam.project(points)[None]
    faces = torch.tensor([[0, 1, 2], [1, 3, 2]])
    depth, mask = rasterize_depth(verts, faces, 9, 9, background=0.)
    assert mask.all()  # the quad covers the whole image
    a = (cam.pixel_grid()[..., 0] - cam.center) / cam.focal
    assert torch.allclose(depth[0], 1 / (1 - 0.5 * a), atol=1e-6)
    # linear (non perspective-correct) interpolation would be off by far
    assert (depth[0] - (1 + 0.5 * a)).abs().max() > 1e-2


def test_nearest_surface_wins_in_any_order():
    near = [[0., 0., 1.], [3., 0., 1.], [0., 3., 1.]]
    far = [[0., 0., 3.], [5., 0., 3.], [0., 5., 3.]]
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    for verts in ([near + far], [far + near]):
        depth, mask = rasterize_depth(torch.tensor(verts), faces, 4, 4, 0.)
        # the near triangle covers u + v <= 3, the far one u + v <= 5
        v, u = torch.meshgrid(torch.arange(4), torch.arange(4),
                              indexing='ij')
        assert mask.sum() == 15
        assert torch.allclose(depth[0][mask[0]], torch.where(
            u + v <= 3, 1., 3.)[mask[0]])


def test_large_triangles_are_rasterised_whole():
    # one triangle spanning 40 pixels next to one-pixel triangles
    verts = torch.tensor([[[0., 0., 1.], [40., 0., 1.], [0., 40., 1.],
                           [41., 41., 2.], [42., 41., 2.], [41., 42., 2.]]])
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    depth, mask = rasterize_depth(verts, faces, 44, 44, 0.)
    assert mask.sum() == 41 * 42 // 2 + 3
    assert depth[0, 20, 20] == pytest.approx(1.)
    assert depth[0, 41, 42] == pytest.approx(2.)


def test_offscreen_and_behind_camera_triangles_are_skipped():
    verts = torch.tensor([[[-9., -9., 1.], [-5., -9., 1.], [-9., -5., 1.],
                           [0., 0., -1.], [3., 0., 1.], [0., 3., 1.]]])
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    depth, mask = rasterize_depth(verts, faces, 4, 4, 5.)
    assert not mask.any() and depth.eq(5.).all()


def test_depth_gradient_matches_finite_differences():
    verts = torch.tensor([[[0.2, 0.1, 1.], [6.3, 0.4, 1.2], [0.5, 5.9, 0.8]]],
                         dtype=torch.float64, requires_grad=True)
    faces = torch.tensor([[0, 1, 2]])

    def inner_depth(v):
        depth, _ = rasterize_depth(v, faces, 7, 7, 0.)
        return depth[0, 1:4, 1:4]  # pixels well inside the triangle

    assert torch.autograd.gradcheck(inner_depth, (verts, ))


def test_chunked_enumeration_gives_the_same_depth(monkeypatch):
    from facessl.models.renderers import rasterize
    cam = PerspectiveCamera(16)
    depth = 1 + 0.05 * torch.rand(2, 16, 16)
    verts = cam.project(cam.unproject(depth)).reshape(2, -1, 3)
    verts = verts + 0.3 * torch.rand_like(verts) * verts.new_tensor([1, 1, 0])
    faces = grid_faces(16, 16)
    whole = rasterize_depth(verts, faces, 16, 16, 2.)
    monkeypatch.setattr(rasterize, '_CHUNK', 7)
    chunked = rasterize_depth(verts, faces, 16, 16, 2.)
    assert torch.equal(whole[1], chunked[1])
    assert torch.allclose(whole[0], chunked[0])
