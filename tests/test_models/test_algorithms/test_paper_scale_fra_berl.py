"""The paper-scale FRA and 3D-BERL configs run one iteration on CPU.

Each config is loaded as shipped; only the sizes (architecture, widths,
classes, batch), the data (synthetic faces instead of VGGFace2 / MS1M /
CelebA) and the normalisation (BN for SyncBN) are reduced, then one
training iteration runs through MMEngine's Runner.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from facessl.datasets.synthetic.export_annotations import \
    write_synthetic_annotations
from facessl.registry import MODELS

FRA = 'configs/fra/fra_resnet50_8xb128-coslr-400e_vggface2.py'
BERL = 'configs/berl/'
STAGES = {
    1: 'berl-stage1_iresnet100_curricularface_4xb50-sgd-24e_ms1m.py',
    2: 'berl-stage2_iresnet100_ira-iia_4xb50-adam-4e_ms1m.py',
    3: 'berl-stage3_iresnet100_curricularface-recon_4xb50-sgd-adam-16e_'
    'ms1m.py',
}
ATTR = 'berl-attr_iresnet100-s3_1xb40-2fc-ft-60e_celeba.py'
TINY_ARCH = (1, 1, 1, 1)
BATCH = 2


def _one_iteration(cfg, tmp_path, name):
    """One epoch of one batch, no validation, no pictures."""
    cfg.work_dir = str(tmp_path / name)
    cfg.train_dataloader.update(batch_size=BATCH, num_workers=0,
                                persistent_workers=False)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1,
                         val_interval=100)
    for key in ('val_cfg', 'val_dataloader', 'val_evaluator', 'test_cfg',
                'test_dataloader', 'test_evaluator'):
        cfg[key] = None
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if 'Visualization' not in h['type']]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))
    return osp.join(cfg.work_dir, 'epoch_1.pth')


def _synthetic(pipeline, num_identities=1, img_size=112):
    return dict(type='SyntheticFaces', num_identities=num_identities,
                images_per_identity=BATCH // num_identities,
                img_size=img_size, seed=0, identity_offset=0,
                generator_cfg=dict(background='plain'), pipeline=pipeline)


def _mlp(cfg, in_channels):
    return dict(cfg, in_channels=in_channels, hid_channels=32,
                out_channels=16)


def test_fra_paper_config_runs_one_iteration(repo_root, tmp_path):
    cfg = Config.fromfile(osp.join(repo_root, FRA))
    model = cfg.model
    model.backbone.update(depth=18, stem_channels=16, base_channels=16,
                          norm_cfg=dict(type='BN'))
    channels = 16 * 8
    model.neck = _mlp(model.neck, channels)
    model.head.predictor = _mlp(model.head.predictor, 16)
    model.mask_decoder.update(in_channels=channels, embed_dims=32,
                              num_heads=4)
    model.region_neck = _mlp(model.region_neck, channels)
    model.region_predictor = _mlp(model.region_predictor, 16)
    cfg.train_dataloader.dataset = _synthetic(
        cfg.train_dataloader.dataset.pipeline, img_size=128)
    _one_iteration(cfg, tmp_path, 'fra')


def _berl(repo_root, stage):
    cfg = Config.fromfile(osp.join(repo_root, BERL + STAGES[stage]))
    assert cfg.model.backbone.arch == 'r100'
    cfg.model.backbone.arch = TINY_ARCH
    cfg.model.head.num_classes = 1
    cfg.model.data_preprocessor.num_classes = 1
    if stage > 1:
        cfg.model.ira.update(nf=8, zdim=16)
        cfg.model.iia.update(nf=8)
    cfg.train_dataloader.dataset = _synthetic(cfg.train_pipeline)
    return cfg


def test_berl_paper_configs_run_one_iteration_each(repo_root, tmp_path):
    s1 = _one_iteration(_berl(repo_root, 1), tmp_path, 's1')
    cfg = _berl(repo_root, 2)
    for part in cfg.model.pretrained:
        part.checkpoint = s1
    s2 = _one_iteration(cfg, tmp_path, 's2')
    cfg = _berl(repo_root, 3)
    cfg.model.pretrained.checkpoint = s2
    _one_iteration(cfg, tmp_path, 's3')


@pytest.fixture
def attr_root(tmp_path):
    root = str(tmp_path / 'attr')
    write_synthetic_annotations(root, num_identities=2,
                                images_per_identity=2, img_size=64)
    return root


def test_berl_attribute_paper_config_runs_one_iteration(
        repo_root, attr_root, tmp_path):
    cfg = Config.fromfile(osp.join(repo_root, BERL + ATTR))
    assert cfg.model.backbone.arch == 'r100'
    cfg.model.backbone.arch = TINY_ARCH
    cfg.model.head.update(num_classes=7, mid_channels=16)
    cfg.model.data_preprocessor.num_classes = 7
    cfg.train_dataloader.dataset.dataset.data_root = attr_root
    cfg.train_dataloader.dataset.fraction = 1e-3  # one labelled face
    state = MODELS.build(dict(type='IResNet', arch=TINY_ARCH)).state_dict()
    path = str(tmp_path / 'stage3.pth')
    torch.save(dict(state_dict={f'backbone.{k}': v
                                for k, v in state.items()}), path)
    cfg.model.backbone.init_cfg.checkpoint = path
    _one_iteration(cfg, tmp_path, 'attr')
