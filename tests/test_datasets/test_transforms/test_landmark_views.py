"""LAFS views: landmarks follow crop and flip; two images of one crop."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from facessl.datasets.synthetic import FLIP_INDICES, SyntheticFaceGenerator
from facessl.datasets.transforms import (LAFSMultiView, LandmarkRandomFlip,
                                         LandmarkRandomResizedCrop,
                                         TwoImageView)
from facessl.datasets.transforms.landmark_geometry import (crop_resize_points,
                                                           flip_points)
from facessl.models.utils import stack_view_landmarks
from facessl.registry import MODELS

SIGMA = 1.5  # blob radius of the landmark images, in source pixels


@pytest.fixture(scope='module')
def face():
    return SyntheticFaceGenerator(img_size=112, seed=3).generate(7, 2)


def _blob_image(points, size=112):
    """One float channel per landmark holding a Gaussian blob on it."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    d2 = ((xx[..., None] - points[:, 0])**2 +
          (yy[..., None] - points[:, 1])**2)
    return np.exp(-d2 / (2 * SIGMA**2)).astype(np.float32)


def _centroids(img):
    yy, xx = np.mgrid[:img.shape[0], :img.shape[1]]
    mass = img.sum((0, 1))
    return np.stack([(img * xx[..., None]).sum((0, 1)) / mass,
                     (img * yy[..., None]).sum((0, 1)) / mass], 1)


def _geometric(flip_prob, seed=0):
    np.random.seed(seed)
    return [
        LandmarkRandomResizedCrop(
            scale=112, crop_ratio_range=(0.4, 1.0), backend='cv2'),
        LandmarkRandomFlip(prob=flip_prob)
    ]


def test_crop_resize_points_by_hand():
    # 50-px crop at (10, 20) resized to 100: scale 2, pixel-centre aligned
    pts = np.array([[10., 20.], [34.5, 44.5], [59., 69.]])
    out = crop_resize_points(pts, [10, 20, 59, 69], (100, 100))
    np.testing.assert_allclose(out, [[0.5, 0.5], [49.5, 49.5], [98.5, 98.5]])
    flipped = flip_points(np.array([[0., 5.], [3., 6.]]), 10, [1, 0])
    np.testing.assert_allclose(flipped, [[6., 6.], [9., 5.]])


@pytest.mark.parametrize('flip_prob, seed', [(0., 0), (1., 1), (1., 2),
                                             (0., 3)])
def test_landmarks_follow_crop_and_flip_exactly(face, flip_prob, seed):
    """Each landmark's own blob lands where its mapped landmark says."""
    points = face['landmarks'].astype(np.float32)
    results = dict(img=_blob_image(points), landmarks=points.copy())
    for t in _geometric(flip_prob, seed):
        results = t(results)
    out, img = results['landmarks'], results['img']
    assert results['flip'] is bool(flip_prob)
    x1, y1, x2, y2 = results['crop_bbox']
    scale = 112 / (x2 - x1 + 1), 112 / (y2 - y1 + 1)
    # channel i holds the blob of original landmark i; after a flip the
    # point of that landmark is out[FLIP_INDICES[i]]
    partner = np.array(FLIP_INDICES) if flip_prob else np.arange(68)
    expected = out[partner]
    margin = 4 * SIGMA * max(scale)
    inside = np.all((expected > margin) & (expected < 111 - margin), axis=1)
    assert inside.sum() >= 20  # enough points to mean something
    np.testing.assert_allclose(
        _centroids(img)[inside], expected[inside], atol=0.05)


def test_flip_renumbers_mirror_partners(face):
    points = face['landmarks'].astype(np.float32)
    visible = np.arange(68) % 3 == 0
    res = LandmarkRandomFlip(prob=1.)(
        dict(img=face['img'].copy(), landmarks=points.copy(),
             landmarks_visible=visible.copy()))
    # image-left outer eye corner (36) comes from the image-right one (45)
    np.testing.assert_allclose(res['landmarks'][36],
                               [111 - points[45, 0], points[45, 1]])
    np.testing.assert_allclose(res['landmarks'][8],
                               [111 - points[8, 0], points[8, 1]])  # chin
    assert np.array_equal(res['landmarks_visible'],
                          visible[list(FLIP_INDICES)])
    assert np.array_equal(res['img'], face['img'][:, ::-1])
    assert res['flip'] and res['flip_direction'] == 'horizontal'


def test_flip_errors():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match='no mirror partners known for 7'):
        LandmarkRandomFlip(prob=1.)(dict(img=img, landmarks=np.zeros((7, 2))))
    with pytest.raises(ValueError, match='flip_indices has 2 entries, but '
                       'there are 5'):
        LandmarkRandomFlip(prob=1., flip_indices=[1, 0])(
            dict(img=img, landmarks=np.zeros((5, 2))))
    with pytest.raises(ValueError, match='must be a permutation|pair up'):
        LandmarkRandomFlip(flip_indices=[0, 0])
    with pytest.raises(ValueError, match=r'\(K, 2\) pixel \(x, y\), got '
                       r'shape \(5, 3\)'):
        LandmarkRandomFlip(prob=1.)(dict(img=img, landmarks=np.zeros((5, 3))))
    # flip_indices from the data info take over the default layout
    res = LandmarkRandomFlip(prob=1.)(
        dict(img=img, landmarks=np.array([[1., 2.], [3., 4.]]),
             flip_indices=[1, 0]))
    np.testing.assert_allclose(res['landmarks'], [[4., 4.], [6., 2.]])


def test_two_images_share_geometry(face):
    def run(photometric, seed=5):
        np.random.seed(seed)
        view = TwoImageView(
            geometric=[
                dict(type='LandmarkRandomResizedCrop', scale=112),
                dict(type='LandmarkRandomFlip', prob=0.5)
            ],
            photometric=photometric)
        return view(dict(img=face['img'].copy(),
                         landmarks=face['landmarks'].copy()))

    plain = run([])
    assert np.array_equal(plain['img'], plain['img_geo'])
    solar = run([dict(type='Solarize', thr=128, prob=1.)])
    geo = solar['img_geo']
    assert np.array_equal(geo, plain['img_geo'])  # same crop, same seed
    assert np.array_equal(solar['img'], np.where(geo >= 128, 255 - geo, geo))
    np.testing.assert_array_equal(solar['landmarks'], plain['landmarks'])


def test_multiview_gathers_views_and_landmarks(face):
    np.random.seed(0)
    view = [dict(type='TwoImageView',
                 geometric=[dict(type='LandmarkRandomResizedCrop', scale=56),
                            dict(type='LandmarkRandomFlip')],
                 photometric=[dict(type='Solarize', thr=0, prob=1.)])]
    multi = LAFSMultiView(transforms=[view, view], num_views=[1, 3])
    res = multi(dict(img=face['img'].copy(),
                     landmarks=face['landmarks'].copy()))
    v = res['num_views']
    assert v == 4 and len(res['img']) == 2 * v
    assert res['landmarks'].shape == (4, 68, 2)
    assert res['view_crop_bbox'].shape == (4, 4)
    assert 0 < res['view_flip'].sum() < 4  # both kinds drawn with seed 0
    for k in range(v):
        photo, geo = res['img'][k], res['img'][v + k]
        assert geo.shape == (56, 56, 3)
        assert np.array_equal(photo, 255 - geo)  # thr=0 inverts everything
        pts = crop_resize_points(face['landmarks'], res['view_crop_bbox'][k],
                                 (56, 56))
        if res['view_flip'][k]:
            pts = flip_points(pts, 56, FLIP_INDICES)
        np.testing.assert_allclose(res['landmarks'][k], pts, atol=1e-4)
    assert 'img_geo' not in res


def test_multiview_needs_two_image_views(face):
    plain = [dict(type='LandmarkRandomResizedCrop', scale=32)]
    with pytest.raises(KeyError, match='view 0 has no "img_geo"'):
        LAFSMultiView([plain], 1)(dict(img=face['img'].copy()))
    with pytest.raises(ValueError, match='count >= 0 for each of the 2'):
        LAFSMultiView([plain, plain], [1])


def test_lafs_config_batch(repo_root):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs/_base_/datasets/synthetic_faces_lafs.py'))
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader.dataset.update(num_identities=1, images_per_identity=2)
    views = loader.dataset.pipeline[0]
    assert views.num_views == [1, 1, 8]
    solarize = [[t.prob for t in p[0].photometric if t.type == 'Solarize']
                for p in views.transforms]
    assert solarize == [[], [0.2], []]
    batch = next(iter(Runner.build_dataloader(loader)))
    assert len(batch['inputs']) == 20
    assert all(x.shape == (2, 3, 112, 112) for x in batch['inputs'])
    samples = batch['data_samples']
    assert samples[0].num_views == 10
    assert stack_view_landmarks(samples).shape == (2, 10, 68, 2)
    pre = MODELS.build(cfg.data_preprocessor)
    out = pre(batch)
    assert len(out['inputs']) == 20 and out['inputs'][0].dtype == torch.float32
    assert out['inputs'][0].abs().max() <= 1.0 + 1e-6  # mean = std = 0.5
