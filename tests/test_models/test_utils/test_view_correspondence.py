"""Crop-box / flip correspondence between two views' feature grids."""
import numpy as np
import torch

from facessl.datasets.transforms.landmark_geometry import crop_resize_points
from facessl.models.utils.view_correspondence import (sample_at,
                                                      view_correspondence)

# a 128-px face; 64-px views of 4 x 4 feature pixels (16 view px each)
A = [[0, 0, 63, 63]]
B = [[32, 32, 95, 95]]


def _map(bbox_b, flip_a=False, flip_b=False, bbox_a=A, size_b=64):
    return view_correspondence(
        torch.tensor(bbox_a), torch.tensor([flip_a]), torch.tensor(bbox_b),
        torch.tensor([flip_b]), (4, 4), (64, 64), (size_b, size_b))


def _at(coords, valid, x, y):
    i = y * 4 + x
    return coords[0, i].tolist(), bool(valid[0, i])


def test_known_pixel_maps_to_hand_computed_pixel():
    coords, valid = _map(B)
    # A (3, 3): view edge 56 -> face edge 56 -> B edge 24 -> 24/16 - .5
    assert _at(coords, valid, 3, 3) == ([1.0, 1.0], True)
    # A (0, 0): face edge 8 lies left of/above B's crop
    assert _at(coords, valid, 0, 0)[1] is False
    assert int(valid.sum()) == 4  # A's pixels (2..3, 2..3)


def test_flip_of_view_a():
    coords, valid = _map(B, flip_a=True)
    # A (0, 3) flipped: view edge x 8 -> 64 - 8 = 56 in the face
    assert _at(coords, valid, 0, 3) == ([1.0, 1.0], True)
    assert _at(coords, valid, 3, 3)[1] is False


def test_flip_of_view_b():
    coords, valid = _map(B, flip_b=True)
    # B edge x 24 -> flipped 64 - 24 = 40 -> 40/16 - .5 = 2
    assert _at(coords, valid, 3, 3) == ([2.0, 1.0], True)
    coords, valid = _map(B, flip_a=True, flip_b=True)
    assert _at(coords, valid, 0, 3) == ([2.0, 1.0], True)


def test_scale_and_identity():
    # B is the whole face at 64 px: a feature pixel covers 32 face px
    coords, valid = _map([[0, 0, 127, 127]])
    assert _at(coords, valid, 3, 3) == ([1.25, 1.25], True)
    assert bool(valid.all())
    coords, valid = _map(A)
    torch.testing.assert_close(
        coords[0], torch.tensor([[x, y] for y in range(4)
                                 for x in range(4)], dtype=torch.float32))


def test_agrees_with_the_crop_transform():
    # with one feature pixel per image pixel the grid is the image, so
    # the map must be the transforms' crop_resize_points
    bbox_a, bbox_b = [10, 20, 59, 69], [30, 5, 109, 84]
    coords, valid = view_correspondence(
        torch.tensor([bbox_a]), torch.tensor([False]),
        torch.tensor([bbox_b]), torch.tensor([False]), (32, 32), (32, 32),
        (40, 40), (40, 40))
    # A's pixel (7, 9) in the face, by inverting the crop's own map
    scale = 32 / 50
    face = (np.array([[7., 9.]]) + 0.5) / scale - 0.5 + [10, 20]
    np.testing.assert_allclose(crop_resize_points(face, bbox_a, (32, 32)),
                               [[7, 9]], atol=1e-4)
    in_b = crop_resize_points(face, bbox_b, (40, 40))
    np.testing.assert_allclose(coords[0, 9 * 32 + 7].numpy(), in_b[0],
                               atol=1e-4)


def test_non_overlapping_crops_are_all_invalid():
    coords, valid = _map([[64, 64, 127, 127]])
    assert not bool(valid.any())


def test_sample_at_reads_pixels_and_interpolates():
    maps = torch.arange(16.).view(1, 1, 4, 4)
    pts = torch.tensor([[[1., 2.], [1.5, 2.]]])
    torch.testing.assert_close(sample_at(maps, pts)[0, :, 0],
                               torch.tensor([9., 9.5]))
