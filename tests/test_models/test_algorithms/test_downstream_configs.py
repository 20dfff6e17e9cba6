"""Attribute, alignment and expression configs: tiny Runner runs on
synthetic data."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from facessl.datasets.synthetic.export_annotations import \
    write_synthetic_annotations
from facessl.models.backbones import FastVisionTransformer
from facessl.registry import DATASETS

CONFIGS = 'configs/downstream/'
ALIGN = CONFIGS + 'alignment_vit-t-p8-upernet_1xb32-20e_synthetic-faces.py'
ATTR = CONFIGS + 'attributes_vit-t-p8-linear_1xb32-20e_synthetic-faces.py'
EXPR = CONFIGS + 'expression_vit-t-p8-linear_1xb32-20e_synthetic-faces.py'
EXPR_PAPER = CONFIGS + 'expression_vit-s-p16-linear_1xb64-20e_{}.py'
ARCH = dict(embed_dims=16, num_layers=12, num_heads=2,
            feedforward_channels=32)
IMG = 32


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('downstream'))
    write_synthetic_annotations(root, num_identities=3,
                                images_per_identity=2, img_size=IMG)
    return root


def _pretrained(path):
    torch.manual_seed(1)
    vit = FastVisionTransformer(arch=ARCH, img_size=IMG, patch_size=8)
    torch.save(dict(state_dict={f'teacher.backbone.{k}': v
                                for k, v in vit.state_dict().items()}),
               path)
    return vit.state_dict()


def _tiny(cfg, data_root, tmp_path):
    cfg.work_dir = str(tmp_path / 'work')
    cfg.data_root = data_root
    cfg.model.backbone.update(arch=ARCH, img_size=IMG)
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'pre.pth')
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].update(batch_size=2, num_workers=0,
                         persistent_workers=False)
        if cfg[name].dataset.type == 'RAFDB':
            cfg[name].dataset.data_root = osp.join(data_root, 'RAF-DB')
        else:
            cfg[name].dataset.data_root = data_root
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=100)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=100, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.log_level = 'WARNING'
    return cfg


def test_alignment_config_runs(repo_root, data_root, tmp_path):
    cfg = _tiny(Config.fromfile(osp.join(repo_root, ALIGN)), data_root,
                tmp_path)
    cfg.model.head.update(in_channels=16, channels=8, heatmap_size=32)
    # the splits are the writer's partition files (2 faces each here)
    assert [cfg[f'{s}_dataloader'].dataset.ann_file for s in
            ('train', 'val', 'test')] == [
                f'face_landmarks_coco_{s}.json'
                for s in ('train', 'val', 'test')]
    pre = _pretrained(str(tmp_path / 'pre.pth'))
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    # strict load of the teacher backbone
    torch.testing.assert_close(runner.model.backbone.state_dict(), pre)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss)) and loss > 0
    assert len(runner.train_dataloader.dataset) == 2
    metrics = runner.test()
    assert len(runner.test_dataloader.dataset) == 2
    assert set(metrics) == {'landmarks/nme', 'landmarks/failure_rate',
                            'landmarks/auc'}
    assert metrics['landmarks/nme'] > 0
    groups = runner.optim_wrapper.optimizer.param_groups
    scales = {round(g['lr_scale'], 6) for g in groups}
    assert round(0.65**13, 6) in scales and 1. in scales


def _train_classifier(path, data_root, tmp_path):
    """2 training iterations of a tiny classifier config; the runner."""
    cfg = _tiny(Config.fromfile(path), data_root, tmp_path)
    cfg.model.head.in_channels = 16
    _pretrained(str(tmp_path / 'pre.pth'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss)) and loss > 0
    return runner


def test_attributes_config_runs(repo_root, data_root, tmp_path):
    runner = _train_classifier(osp.join(repo_root, ATTR), data_root,
                               tmp_path)
    metrics = runner.test()
    assert 0 <= metrics['attributes/mean_accuracy'] <= 100
    assert len(metrics) == 1 + 7  # mean + the 7 synthetic attributes


def test_expression_config_runs(repo_root, data_root, tmp_path):
    runner = _train_classifier(osp.join(repo_root, EXPR), data_root,
                               tmp_path)
    # RAF-DB 'train_' images are partition 0, 'test_' partitions 1 and 2
    assert len(runner.train_dataloader.dataset) == 2
    metrics = runner.test()
    assert len(runner.test_dataloader.dataset) == 4
    assert set(metrics) == {'expression/accuracy',
                            'expression/mean_class_accuracy'}
    assert 0 <= metrics['expression/mean_class_accuracy'] <= 100


@pytest.mark.parametrize('name, num_classes', [('rafdb', 7),
                                               ('affectnet', 8)])
def test_expression_paper_configs(repo_root, data_root, name, num_classes):
    cfg = Config.fromfile(osp.join(repo_root, EXPR_PAPER.format(name)))
    assert cfg.model.backbone.arch == 'deit-small'
    assert (cfg.model.backbone.patch_size, cfg.model.backbone.img_size) == (
        16, 224)
    assert cfg.model.head.num_classes == num_classes
    assert cfg.test_evaluator.type == 'ExpressionAccuracy'
    # the data sets read the synthetic files of their format
    sub = dict(rafdb='RAF-DB', affectnet='affectnet')[name]
    dataset = dict(cfg.test_dataloader.dataset, pipeline=[],
                   data_root=osp.join(data_root, sub))
    if name == 'affectnet':
        dataset['data_prefix'] = '../img_align_celeba'
    built = DATASETS.build(dataset)
    assert len(built.metainfo['classes']) == num_classes
    assert len(built) == 4
    assert built[0]['img'].shape == (IMG, IMG, 3)


def test_wrong_prefix_is_an_error(repo_root, data_root, tmp_path):
    cfg = _tiny(Config.fromfile(osp.join(repo_root, ATTR)), data_root,
                tmp_path)
    cfg.model.head.in_channels = 16
    cfg.model.backbone.init_cfg.prefix = 'backbone.'
    _pretrained(str(tmp_path / 'pre.pth'))
    with pytest.raises(KeyError, match="no weight starts with prefix"):
        Runner.from_cfg(cfg).train()
