"""Landmark pictures: id colours, view grids, patch mosaics, the tool."""
import importlib.util
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from facessl.visualization import (draw_landmark_ids, landmark_colours,
                                   patch_mosaic, patches_to_images,
                                   view_landmark_grid)


def test_landmark_colours_follow_ids():
    c = landmark_colours(np.array([0, 98, 0, 195]), 196)
    assert np.array_equal(c[0], [255, 0, 0]) and np.array_equal(c[0], c[2])
    assert np.array_equal(c[1], [0, 255, 255])  # half way: cyan
    assert not np.array_equal(c[3], c[0])


def test_draw_landmark_ids_places_points_and_skips_outside():
    img = np.zeros((20, 20, 3), np.uint8)
    out = draw_landmark_ids(img, torch.tensor([[5., 10.], [30., 3.]]),
                            ids=[0, 1], num_ids=2, scale=2., radius=2.)
    assert out.shape == (40, 40, 3)
    # point (5, 10) -> (10.5, 20.5) at scale 2, drawn red (id 0)
    assert tuple(out[20, 10]) == (255, 0, 0)
    assert out[:, 30:].max() == 0  # the point at x = 30 is off the image
    with pytest.raises(ValueError, match='2 landmarks but 3 ids'):
        draw_landmark_ids(img, np.zeros((2, 2)), ids=[0, 1, 2])


def test_view_landmark_grid_scales_points_with_the_view():
    views = [[np.zeros((56, 56, 3), np.uint8)]]
    grid = view_landmark_grid(views, [[np.array([[27.5, 27.5]])]], [[[0]]],
                              num_ids=1, height=112, scale=1.)
    # 56 -> 112: the centre stays the centre; pad 2 around the tile
    assert grid.shape == (112 + 4, 112 + 4, 3)
    assert tuple(grid[2 + 55, 2 + 55]) == (255, 0, 0)
    assert grid[2 + 10, 2 + 10].max() == 0


def test_patches_to_images_layouts():
    patch = np.arange(3 * 2 * 2).reshape(3, 2, 2)  # C, P, P
    chw = patches_to_images(patch.reshape(1, -1), layout='chw')
    hwc = patches_to_images(
        patch.transpose(1, 2, 0).reshape(1, -1), layout='hwc')
    assert np.array_equal(chw[0], patch.transpose(1, 2, 0))
    assert np.array_equal(chw, hwc)
    with pytest.raises(ValueError, match='not 3 x P x P'):
        patches_to_images(np.zeros((2, 10)))


def test_patch_mosaic_layout_and_pixels():
    # 5 patches of 2 x 2, patch k uniformly k * 50 (RGB), 3 per row
    patches = np.repeat(np.arange(5)[:, None] * 50., 12, axis=1)
    out = patch_mosaic(torch.tensor(patches)[None].repeat(2, 1, 1), cols=3,
                       zoom=3, gap=1)
    side = 2 * 3
    one = (2 * (side + 1) + 1, 3 * (side + 1) + 1)
    assert out.shape == (one[0] + 4, 2 * one[1] + 6, 3)  # two samples
    # patch 4 is row 1, column 1 of the first mosaic
    y, x = 2 + 1 + (side + 1), 2 + 1 + (side + 1)
    assert np.all(out[y:y + side, x:x + side] == 200)
    assert np.all(out[2 + 1:2 + 1 + side, 2 + 1:2 + 1 + side] == 0)


def test_show_landmark_views_tool(tmp_path, repo_root, subprocess_env):
    np.save(tmp_path / 'points.npy',
            np.array([[30., 40.], [80., 40.], [55., 90.]], np.float32))
    out = tmp_path / 'out'
    cmd = [
        sys.executable,
        osp.join(repo_root, 'tools/analysis/show_landmark_views.py'),
        osp.join(repo_root, 'configs/_base_/datasets/synthetic_faces_lafs.py'),
        '--num', '2', '--output-dir', str(out), '--local-subset', '2',
        '--perturb', '1', '--landmarks',
        str(tmp_path / 'points.npy'), '--flip-indices', '1,0,2',
        '--cfg-options', 'train_dataloader.dataset.num_identities=1',
        'train_dataloader.dataset.images_per_identity=2'
    ]
    run = subprocess.run(cmd, cwd=tmp_path, env=subprocess_env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert 'saved 2 pictures' in run.stdout
    img = cv2.imread(str(out / '0000.png'))
    # 10 views of 224 px (112 x scale 2) side by side, two rows
    assert img.shape[1] > 10 * 224 and img.shape[0] > 2 * 224


def test_show_landmark_views_errors(tmp_path, repo_root):
    spec = importlib.util.spec_from_file_location(
        'show_landmark_views',
        osp.join(repo_root, 'tools/analysis/show_landmark_views.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    dataset = SimpleNamespace(pipeline=SimpleNamespace(transforms=[]))
    with pytest.raises(ValueError, match='has no LAFSMultiView'):
        tool.view_pipeline(dataset)
    with pytest.raises(ValueError, match=r'expected \(K, 2\) or \(N, K, '
                       r'2\) landmarks with N >= 3, got shape \(2, 4, 2\)'):
        np.save(tmp_path / 'bad.npy', np.zeros((2, 4, 2)))
        tool.load_landmarks(str(tmp_path / 'bad.npy'), 3)


def test_show_landmark_views_batched_path(repo_root):
    """One image per view (batched path): the preprocessor draws the
    photometric row, the crops stay the geometric row."""
    from facessl.models.utils import MultiViewPhotometricPreprocessor
    spec = importlib.util.spec_from_file_location(
        'show_landmark_views',
        osp.join(repo_root, 'tools/analysis/show_landmark_views.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
             for _ in range(2)]
    prep = MultiViewPhotometricPreprocessor(
        view_groups=[dict(num_views=2, solarize=dict(prob=1.))], seed=0)
    out = tool.add_photometric(dict(img=crops, num_views=2), prep)
    assert len(out['img']) == 4 and out['img'][0].dtype == np.uint8
    for got, crop in zip(out['img'], crops * 2):
        assert got.shape == crop.shape
    for got, crop in zip(out['img'][:2], crops):
        np.testing.assert_array_equal(
            got, np.where(crop < 128, crop, 255 - crop))
    for got, crop in zip(out['img'][2:], crops):
        np.testing.assert_array_equal(got, crop)
