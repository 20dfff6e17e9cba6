"""Tests of the synthetic face generator and the SyntheticFaces data set."""
import dataclasses
import pickle

import numpy as np
import pytest

from facessl.datasets.synthetic import (ATTRIBUTE_NAMES, FLIP_INDICES,
                                        NUM_DENSE_LANDMARKS, ImageParams,
                                        SyntheticFaceGenerator, attributes_of,
                                        sample_identity)
from facessl.datasets.synthetic.template import SEGMENTS
from facessl.registry import DATASETS

SIZE = 112
CX = 0.5 * SIZE  # image x of the head centre with the default ImageParams
ATTR = {name: i for i, name in enumerate(ATTRIBUTE_NAMES)}


@pytest.fixture(scope='module')
def gen():
    return SyntheticFaceGenerator(img_size=SIZE, seed=0)


def frontal(gen, identity=0, **kwargs):
    """Render a clean frontal face of ``identity`` with chosen params."""
    return gen.render(gen.identity(identity), ImageParams(**kwargs))


def test_deterministic_and_identity_dependent(gen):
    a = SyntheticFaceGenerator(img_size=SIZE, seed=0)(3, 5)
    b = SyntheticFaceGenerator(img_size=SIZE, seed=0)(3, 5)
    assert np.array_equal(a['img'], b['img'])
    assert np.array_equal(a['landmarks'], b['landmarks'])
    assert a['img'].shape == (SIZE, SIZE, 3) and a['img'].dtype == np.uint8
    assert a['landmarks'].shape == (68, 2)
    assert a['landmarks'].dtype == np.float32
    for other in (gen(4, 5), gen(3, 6),
                  SyntheticFaceGenerator(img_size=SIZE, seed=1)(3, 5)):
        assert np.abs(other['img'].astype(int) - a['img']).mean() > 5
    # the identity stream differs between identities and from image 0's
    assert sample_identity(0, 3).head_width != sample_identity(0, 4) \
        .head_width
    with pytest.raises(ValueError, match='index'):
        gen(0, -1)


def test_flip_indices_are_the_ibug_mirror_pairs():
    assert sorted(FLIP_INDICES) == list(range(68))
    assert all(FLIP_INDICES[FLIP_INDICES[i]] == i for i in range(68))
    for a, b in ((0, 16), (8, 8), (17, 26), (21, 22), (30, 30), (31, 35),
                 (36, 45), (39, 42), (37, 44), (41, 46), (48, 54), (51, 51),
                 (57, 57), (60, 64), (65, 67)):
        assert FLIP_INDICES[a] == b


def test_frontal_face_is_mirror_symmetric(gen):
    for identity in (0, 1, 2):
        lmk = frontal(gen, identity, smile=0.7, mouth_open=0.4)['landmarks']
        mirror = lmk[list(FLIP_INDICES)]
        np.testing.assert_allclose(lmk[:, 0] + mirror[:, 0], 2 * CX,
                                   atol=1e-3)
        np.testing.assert_allclose(lmk[:, 1], mirror[:, 1], atol=1e-3)


def test_ibug_landmark_order(gen):
    p = frontal(gen, 5)['landmarks']
    x, y = p[:, 0], p[:, 1]
    assert x[36] < x[39] < x[42] < x[45]  # eye corners, image left->right
    assert x[0] < x[8] < x[16] and y[8] == y[:17].max()  # chin lowest
    assert y[17:27].max() < y[36:48].min()  # brows above the eyes
    assert np.all(np.diff(y[27:31]) > 0)  # nose bridge top -> tip
    assert np.all(np.diff(x[31:36]) > 0)  # nostrils left -> right
    assert y[30] < y[51] < y[57] < y[8]  # nose tip, lips, chin
    assert x[48] < x[51] < x[54] and x[60] < x[64]


def test_pose_moves_landmarks_as_documented(gen):
    def nose(**pose):
        return frontal(gen, 0, **pose)['landmarks']

    base = nose()
    assert nose(yaw=20.)[30, 0] > base[30, 0] + 3  # nose to image right
    assert nose(yaw=-20.)[30, 0] < base[30, 0] - 3
    assert nose(pitch=15.)[30, 1] < base[30, 1] - 2  # nose tip moves up
    rolled = nose(roll=10.)
    assert rolled[45, 1] - rolled[36, 1] > 5  # image-right eye goes down
    # landmarks scale with the image size
    big = SyntheticFaceGenerator(img_size=2 * SIZE).render(
        gen.identity(0), ImageParams(yaw=15.))
    np.testing.assert_allclose(big['landmarks'],
                               2 * nose(yaw=15.), atol=1e-3)


def test_landmarks_inside_image_for_moderate_poses():
    gen = SyntheticFaceGenerator(
        img_size=SIZE, max_yaw=30., max_pitch=15., max_roll=10.)
    for identity in range(8):
        for index in range(3):
            lmk = gen(identity, index)['landmarks']
            assert lmk.min() >= 0 and lmk.max() <= SIZE - 1


def test_dense_landmarks_interpolate_the_contours(gen):
    out = gen(2, 1)
    dense, lmk = out['dense_landmarks'], out['landmarks']
    assert dense.shape == (NUM_DENSE_LANDMARKS, 2) == (194, 2)
    np.testing.assert_allclose(dense[:68], lmk, atol=1e-4)
    a, b = SEGMENTS[0]  # jaw 0 -> 1: two points at 1/3 and 2/3
    np.testing.assert_allclose(dense[68], (2 * lmk[a] + lmk[b]) / 3,
                               atol=1e-3)
    np.testing.assert_allclose(dense[69], (lmk[a] + 2 * lmk[b]) / 3,
                               atol=1e-3)


def test_attributes_follow_the_rendering_parameters(gen):
    neutral = frontal(gen, 1)
    smile = frontal(gen, 1, smile=0.9)
    assert smile['attributes'][ATTR['smiling']] == 1
    assert neutral['attributes'][ATTR['smiling']] == 0
    # smiling lifts the mouth corners relative to the lip centre
    lift = (neutral['landmarks'][48, 1] - neutral['landmarks'][51, 1]) - (
        smile['landmarks'][48, 1] - smile['landmarks'][51, 1])
    assert lift > 2
    opened = frontal(gen, 1, mouth_open=0.9)
    assert opened['attributes'][ATTR['mouth_open']] == 1
    gap = [out['landmarks'][66, 1] - out['landmarks'][62, 1]
           for out in (opened, neutral)]
    assert gap[0] > 5 > gap[1]
    closed = frontal(gen, 1, eye_closure=1.)
    assert closed['attributes'][ATTR['eyes_closed']] == 1
    assert (closed['landmarks'][41, 1] - closed['landmarks'][37, 1] <
            0.3 * (neutral['landmarks'][41, 1] - neutral['landmarks'][37, 1]))
    glasses = frontal(gen, 1, eyeglasses=True)
    assert glasses['attributes'][ATTR['eyeglasses']] == 1
    eyes = np.s_[30:60, 20:92]
    assert np.abs(glasses['img'][eyes].astype(int) -
                  neutral['img'][eyes]).max() > 60
    # sampled images: attributes equal those implied by their parameters
    for identity in range(6):
        ident = gen.identity(identity)
        params = gen.sample_params(identity, 0)
        out = gen.render(ident, params)
        assert np.array_equal(out['attributes'], attributes_of(ident, params))
        assert out['attributes'][ATTR['bald']] == ident.bald
        np.testing.assert_allclose(out['pose'],
                                   [params.yaw, params.pitch, params.roll])


def test_occluder_hides_landmarks(gen):
    occ = dict(kind='rect', centre=(0.5, 0.62), size=(0.2, 0.2), angle=0.,
               colour=(0., 255., 0.))
    out = frontal(gen, 2, occluder=occ)
    assert out['attributes'][ATTR['occluded']] == 1
    assert not out['visible'][30] and not out['visible'][51]  # nose, lips
    assert out['visible'][36] and out['visible'][0]
    x, y = np.round(out['landmarks'][30]).astype(int)
    assert tuple(out['img'][y, x]) == (0, 255, 0)  # occluder colour (BGR)
    assert frontal(gen, 2)['visible'].all()
    # far-side jaw points are hidden by the face itself at strong yaw
    turned = frontal(gen, 2, yaw=45.)['visible']
    assert not turned[13:17].all() and turned[0:4].all()


def test_depth_map():
    gen = SyntheticFaceGenerator(img_size=SIZE, with_depth=True)
    out = gen.render(gen.identity(0), ImageParams())
    depth, lmk = out['depth'], np.round(out['landmarks']).astype(int)
    assert depth.shape == (SIZE, SIZE) and depth.dtype == np.float32
    assert depth[0, 0] == 0 and depth[-1, -1] == 0  # background
    assert depth.min() >= 0
    nose, cheek = depth[lmk[30, 1], lmk[30, 0]], depth[lmk[2, 1], lmk[2, 0]]
    assert nose > cheek > 0  # the nose tip is nearer the camera


def test_identities_are_separable():
    gen = SyntheticFaceGenerator(img_size=48, seed=0)
    ids, per = 6, 4
    # clean views: same pose, light and background; expression varies
    feats = []
    for i in range(ids):
        for j in range(per):
            params = dataclasses.replace(
                ImageParams(), smile=0.3 * j, brow_raise=0.25 * j,
                gaze=(0.5 - 0.3 * j, 0.))
            img = gen.render(gen.identity(i), params)['img']
            feats.append(img.astype(np.float32).ravel())
    labels = np.repeat(np.arange(ids), per)
    feats = np.stack(feats)
    dist = np.linalg.norm(feats[:, None] - feats[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    assert (labels[dist.argmin(1)] == labels).all()  # 1-NN is perfect
    # full nuisance (pose, light, background...): still closer on average
    feats = np.stack([
        gen(i, j)['img'].astype(np.float32).ravel() for i in range(ids)
        for j in range(per)
    ])
    dist = np.linalg.norm(feats[:, None] - feats[None], axis=-1)
    same = (labels[:, None] == labels[None]) & ~np.eye(len(labels), dtype=bool)
    assert dist[same].mean() < dist[labels[:, None] != labels[None]].mean()


def test_dataset_records_and_holdout():
    ds = DATASETS.build(
        dict(type='SyntheticFaces', num_identities=3, images_per_identity=2,
             img_size=32, seed=1, dense=True))
    assert len(ds) == 6
    assert ds.get_gt_labels().tolist() == [0, 0, 1, 1, 2, 2]
    assert ds.metainfo['classes'] == ('synthetic_000000', 'synthetic_000001',
                                      'synthetic_000002')
    assert ds.metainfo['attribute_names'] == ATTRIBUTE_NAMES
    assert ds.metainfo['num_landmarks'] == 68
    info = ds.get_data_info(3)
    assert info['gt_label'] == 1 and info['identity'] == 1
    assert info['img'].shape == (32, 32, 3) and info['img_shape'] == (32, 32)
    assert info['ori_shape'] == (32, 32) and info['sample_idx'] == 3
    assert info['landmarks'].shape == (68, 2)
    assert info['dense_landmarks'].shape == (NUM_DENSE_LANDMARKS, 2)
    assert set(info['light']) == {'ambient', 'diffuse', 'direction'}
    assert info['pose'].shape == (3, ) and info['attributes'].shape == (7, )
    ref = SyntheticFaceGenerator(img_size=32, seed=1)(1, 1)
    assert np.array_equal(info['img'], ref['img'])
    held = DATASETS.build(
        dict(type='SyntheticFaces', num_identities=2, images_per_identity=2,
             img_size=32, seed=1, identity_offset=3))
    assert held.get_gt_labels().tolist() == [0, 0, 1, 1]
    assert held.get_data_info(2)['identity'] == 4
    assert held.metainfo['classes'][0] == 'synthetic_000003'
    clone = pickle.loads(pickle.dumps(ds))
    assert np.array_equal(clone.get_data_info(3)['img'], info['img'])
    with pytest.raises(ValueError, match='num_identities'):
        DATASETS.build(dict(type='SyntheticFaces', num_identities=0))


def test_dataset_through_mmpretrain_pipeline():
    ds = DATASETS.build(
        dict(
            type='SyntheticFaces',
            num_identities=2,
            images_per_identity=2,
            pipeline=[
                dict(type='RandomResizedCrop', scale=64),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackInputs'),
            ]))
    out = ds[3]
    assert tuple(out['inputs'].shape) == (3, 64, 64)
    assert out['data_samples'].gt_label.tolist() == [1]
