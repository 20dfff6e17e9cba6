"""The batched path with un-augmented copies: LAFS's (and ProS's) 2 V
layout from V worker crops, as the per-image path gives it."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmpretrain.models.utils import SelfSupDataPreprocessor

from facessl.datasets import SyntheticFaces
from facessl.models.utils import MultiViewPhotometricPreprocessor
from facessl.models.utils.photometric_preprocessor import (
    batched_views, per_image_view_pipeline)
from facessl.registry import MODELS, TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
BASE = 'configs/_base_/datasets/synthetic_faces_lafs.py'
DEMO = 'configs/lafs/lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py'
NUM_VIEWS = [1, 1, 2]
V = sum(NUM_VIEWS)


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(osp.join(REPO, BASE))


@pytest.fixture(scope='module')
def faces():
    """Two raw 64-px synthetic faces with landmarks."""
    ds = SyntheticFaces(num_identities=2, images_per_identity=1, img_size=64,
                        seed=0, pipeline=[])
    return [ds[i] for i in range(2)]


def worker(cfg, num_views=NUM_VIEWS):
    """The batched path's worker transforms (crop, flip, pack)."""
    views, pack = cfg.batched_train_pipeline
    return [TRANSFORMS.build(dict(views, num_views=num_views)),
            TRANSFORMS.build(pack)]


def preprocessor(cfg, seed=0, **kwargs):
    prep = copy.deepcopy(cfg.batched_data_preprocessor.to_dict())
    prep['view_groups'][2]['num_views'] = NUM_VIEWS[2]
    prep.update(seed=seed, **kwargs)
    return MODELS.build(prep)


def batch(cfg, faces, np_seed=0):
    """Worker output of ``faces``, collated."""
    np.random.seed(np_seed)
    out = []
    for face in faces:
        results = copy.deepcopy(face)
        for t in worker(cfg):
            results = t(results)
        out.append(results)
    return default_collate(out)


def normalised(raw):
    """What SelfSupDataPreprocessor makes of uint8 BGR views."""
    return [(x[:, [2, 1, 0]].float() - 127.5) / 127.5 for x in raw]


def test_config_recipe_is_the_per_image_recipe(cfg):
    per_image = cfg.train_pipeline[0]
    batched = cfg.batched_train_pipeline[0]
    groups = cfg.batched_data_preprocessor.view_groups
    assert batched.type == 'MultiViewWithGeometry'
    assert cfg.batched_data_preprocessor.append_unaugmented
    assert [g.num_views for g in groups] == per_image.num_views
    for two, geometric, group in zip(per_image.transforms,
                                     batched.transforms, groups):
        assert list(geometric) == list(two[0].geometric)
        assert per_image_view_pipeline(geometric, group) == (
            list(two[0].geometric) + list(two[0].photometric))


def test_batched_views_of_the_per_image_views(cfg):
    """Splitting the per-image TwoImageView views gives the config's
    batched path; a plain MultiView gets no copies unless asked."""
    geometric, prep = batched_views(cfg.train_pipeline[0].to_dict(),
                                    cfg.data_preprocessor.to_dict())
    batched = cfg.batched_data_preprocessor.to_dict()
    assert geometric == [list(b) for b in
                         cfg.batched_train_pipeline[0].transforms]
    assert prep['append_unaugmented'] and prep['mean'] == batched['mean']
    for got, want in zip(prep['view_groups'], batched['view_groups']):
        assert {k: v for k, v in got.items() if k != 'solarize'} == {
            k: v for k, v in want.items() if k != 'solarize'}
        assert got.get('solarize', dict(prob=0.))['prob'] == (
            want['solarize']['prob'])
    plain = dict(type='MultiView', num_views=[2],
                 transforms=[geometric[0]])
    assert not batched_views(plain)[1]['append_unaugmented']
    assert batched_views(plain, None, True)[1]['view_groups'] == [
        dict(num_views=2)]


def test_worker_crop_is_the_per_image_geometric_image(cfg, faces):
    """Same random state, same crop: bit for bit, with the landmarks."""
    per_image = TRANSFORMS.build(dict(cfg.train_pipeline[0],
                                      num_views=[1, 0, 0]))
    batched = worker(cfg, [1, 0, 0])[0]
    flips = set()
    for seed in range(6):
        np.random.seed(seed)
        old = per_image(copy.deepcopy(faces[0]))
        np.random.seed(seed)
        new = batched(copy.deepcopy(faces[0]))
        assert len(old['img']) == 2 and len(new['img']) == 1
        assert new['img'][0].dtype == np.uint8
        np.testing.assert_array_equal(new['img'][0], old['img'][1])
        for key in ('landmarks', 'view_flip', 'view_crop_bbox'):
            np.testing.assert_array_equal(new[key], old[key])
        flips.add(bool(new['view_flip'][0]))
    assert flips == {True, False}


def test_layout_is_augmented_then_unaugmented(cfg, faces):
    data = batch(cfg, faces)
    raw = [x.clone() for x in data['inputs']]
    assert len(raw) == V and raw[0].dtype == torch.uint8
    assert data['data_samples'][0].num_views == V
    assert data['data_samples'][0].landmarks.shape == (V, 68, 2)
    MessageHub.get_current_instance().update_info('iter', 3)
    out = preprocessor(cfg)(copy.deepcopy(data), training=True)['inputs']
    assert len(out) == 2 * V
    assert all(x.shape == (2, 3, 112, 112) for x in out)
    # second half: the worker's crops, as the per-image path normalises
    # its geometric images
    plain = SelfSupDataPreprocessor(mean=[127.5] * 3, std=[127.5] * 3,
                                    to_rgb=True)
    today = plain(dict(inputs=raw, data_samples=None))['inputs']
    for copy_, ref, hand in zip(out[V:], today, normalised(raw)):
        assert torch.equal(copy_, ref) and torch.equal(copy_, hand)
    # first half: the same draws as without the copies, and augmented
    alone = preprocessor(cfg, append_unaugmented=False)(
        copy.deepcopy(data), training=True)['inputs']
    assert len(alone) == V
    for a, b in zip(out[:V], alone):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(out[:V], out[V:]))


def test_first_half_follows_the_group_recipe(faces, cfg):
    """Solarise with probability 1 and nothing else: hand-computed."""
    data = batch(cfg, faces)
    raw = [x.clone() for x in data['inputs']]
    prep = MultiViewPhotometricPreprocessor(
        view_groups=[dict(num_views=V, solarize=dict(prob=1.))],
        append_unaugmented=True, seed=0, mean=[127.5] * 3,
        std=[127.5] * 3, to_rgb=True)
    out = prep(data, training=True)['inputs']
    solarised = [torch.where(x < 128, x, 255 - x) for x in raw]
    for got, ref in zip(out, normalised(solarised) + normalised(raw)):
        assert torch.equal(got, ref)


def test_evaluation_keeps_the_layout(cfg, faces):
    data = batch(cfg, faces)
    raw = [x.clone() for x in data['inputs']]
    out = preprocessor(cfg)(data, training=False)['inputs']
    assert len(out) == 2 * V
    for got, ref in zip(out, normalised(raw) * 2):
        assert torch.equal(got, ref)
    # a single tensor (validation) is only normalised
    one = preprocessor(cfg)(dict(inputs=raw[0], data_samples=None))
    assert torch.equal(one['inputs'], normalised(raw[:1])[0])


def test_deterministic_per_seed_and_iteration(cfg, faces):
    hub = MessageHub.get_current_instance()

    def run(it):
        hub.update_info('iter', it)
        data = batch(cfg, faces, np_seed=7)
        return preprocessor(cfg, seed=5)(data, training=True)['inputs']

    first, again, later = run(10), run(10), run(11)
    for a, b in zip(first, again):
        assert torch.equal(a, b)
    assert all(torch.equal(a, b) for a, b in zip(first[V:], later[V:]))
    assert not all(torch.equal(a, b) for a, b in zip(first[:V], later[:V]))


def test_lafs_trains_one_step_on_the_batched_demo_config(faces):
    """The demo config's batched views and preprocessor feed a tiny LAFS:
    its landmark CNN sees the worker's crops, the student the augmented
    views."""
    demo = Config.fromfile(osp.join(REPO, DEMO))
    assert demo.data_preprocessor.type == 'MultiViewPhotometricPreprocessor'
    assert [g.num_views for g in demo.data_preprocessor.view_groups] == (
        demo.train_dataloader.dataset.pipeline[0].num_views)
    r = 16
    model_cfg = demo.model
    model_cfg.update(landmark_cnn_checkpoint=None,
                     data_preprocessor=demo.data_preprocessor)
    model_cfg.backbone.update(
        arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                  feedforward_channels=64),
        img_size=112, patch_size=8, num_landmarks=r,
        landmark_cnn=dict(type='LandmarkCNN', num_landmarks=r))
    model_cfg.head.update(in_channels=32, hidden_dim=32, out_dim=64)
    model_cfg.loss.out_dim = 64
    model_cfg.landmark_augs.local_views[2]['num'] = 4
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    np.random.seed(0)
    pipeline = [TRANSFORMS.build(t)
                for t in demo.train_dataloader.dataset.pipeline]
    samples = []
    for face in faces:
        results = copy.deepcopy(face)
        for t in pipeline:
            results = t(results)
        samples.append(results)
    data = default_collate(samples)
    raw = [x.clone() for x in data['inputs']]
    seen = []
    real = model.predict_view_landmarks
    model.predict_view_landmarks = lambda geo: seen.append(geo) or real(geo)
    wrapper = build_optim_wrapper(model, dict(
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3)))
    before = [p.detach().clone() for p in model.head.parameters()]
    log = model.train_step(data, wrapper)
    assert torch.isfinite(log['loss'])
    assert any(not torch.equal(a, b)
               for a, b in zip(before, model.head.parameters()))
    assert len(seen[0]) == len(raw) == 4
    for got, ref in zip(seen[0], normalised(raw)):
        assert torch.equal(got, ref)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_copies_on_cuda(cfg, faces):
    data = batch(cfg, faces)
    raw = [x.clone() for x in data['inputs']]
    data['inputs'] = [x.cuda() for x in data['inputs']]
    out = preprocessor(cfg).cuda()(data, training=True)['inputs']
    assert len(out) == 2 * V and all(x.is_cuda for x in out)
    for got, ref in zip(out[V:], normalised(raw)):
        torch.testing.assert_close(got.cpu(), ref, rtol=0, atol=1e-6)
