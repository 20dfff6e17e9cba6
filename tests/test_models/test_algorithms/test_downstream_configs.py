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
EXPR_PAPER = dict(
    rafdb=CONFIGS + 'expression_vit-s-p16-linear_1xb64-100e_rafdb.py',
    affectnet=CONFIGS +
    'expression_vit-s-p16-linear_1xb64-balanced-10e_affectnet.py')
ATTR_PAPER = CONFIGS + 'attributes_vit-s-p16-linear_1xb64-20e_celeba.py'
ALIGN_PAPER = CONFIGS + 'alignment_vit-s-p16-upernet_1xb32-soft-ce-60e_{}.py'
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


@pytest.mark.parametrize('name, num_classes, epochs, sampler', [
    ('rafdb', 7, 100, 'DefaultSampler'),
    ('affectnet', 8, 10, 'ClassBalancedSampler')])
def test_expression_paper_configs(repo_root, data_root, name, num_classes,
                                  epochs, sampler):
    """ProS's expression recipe: weight decay 0.5, 100 epochs on RAF-DB,
    10 with a class-balanced sampler on AffectNet."""
    cfg = Config.fromfile(osp.join(repo_root, EXPR_PAPER[name]))
    assert cfg.model.backbone.arch == 'deit-small'
    assert (cfg.model.backbone.patch_size, cfg.model.backbone.img_size) == (
        16, 224)
    assert cfg.model.head.num_classes == num_classes
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.5
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.param_scheduler[-1].end == epochs
    assert cfg.train_dataloader.sampler.type == sampler
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


@pytest.mark.parametrize('dataset', ['300w', 'wflw'])
def test_alignment_paper_configs(repo_root, dataset):
    """ProS's alignment recipe: soft-label cross-entropy, lr 0.01, weight
    decay 1e-5, a ViT-S/16 at 224 px."""
    cfg = Config.fromfile(osp.join(repo_root, ALIGN_PAPER.format(dataset)))
    assert cfg.model.head.loss_type == 'soft_ce'
    assert cfg.model.head.num_landmarks == dict(wflw=98).get(dataset, 68)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.lr, opt.weight_decay) == (0.01, 1e-5)
    assert (cfg.model.backbone.arch, cfg.model.backbone.patch_size,
            cfg.model.backbone.img_size) == ('deit-small', 16, 224)
    assert cfg.train_dataloader.dataset.type == dict(
        wflw='WFLWLandmarks').get(dataset, 'Landmarks300W')


def _shrink_pipelines(cfg, size):
    """Resize and face crops of every pipeline to ``size`` pixels."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[name].dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = (size, size)
            elif step['type'] == 'LandmarkBoxCrop':
                step['size'] = size


def _write_wflw(data_root, path):
    """A 2-face WFLW list over the synthetic images: 98 points, box and
    6 flags per line."""
    g = torch.Generator().manual_seed(0)
    lines = []
    for i in (1, 2):
        pts = (torch.rand(98, 2, generator=g) * (IMG - 8) + 4).flatten()
        lines.append(' '.join([f'{v:.2f}' for v in pts.tolist()] +
                              ['2', '2', str(IMG - 3), str(IMG - 3)] +
                              ['0'] * 6 + [f'{i:06d}.png']))
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


@pytest.mark.parametrize('which', ['rafdb', 'affectnet', 'celeba', '300w',
                                   'wflw'])
def test_paper_configs_train_one_iteration(repo_root, data_root, tmp_path,
                                           which):
    """Each ViT-S/16 downstream config, shrunk (tiny ViT, 32-px inputs),
    trains one iteration through the Runner on synthetic files of its
    data format (AffectNet through the class-balanced sampler)."""
    path = dict(rafdb=EXPR_PAPER['rafdb'], affectnet=EXPR_PAPER['affectnet'],
                celeba=ATTR_PAPER, wflw=ALIGN_PAPER.format('wflw'),
                **{'300w': ALIGN_PAPER.format('300w')})[which]
    cfg = _tiny(Config.fromfile(osp.join(repo_root, path)), data_root,
                tmp_path)
    cfg.train_cfg.max_iters = 1
    cfg.model.backbone.patch_size = 8  # as the tiny pretrained ViT
    _shrink_pipelines(cfg, IMG)
    loaders = [cfg[f'{s}_dataloader'] for s in ('train', 'val', 'test')]
    if which == 'affectnet':
        for loader in loaders:
            loader.dataset.update(
                data_root=osp.join(data_root, 'affectnet'),
                data_prefix='../img_align_celeba')
    elif which == 'celeba':
        cfg.model.data_preprocessor.num_classes = 7
        cfg.model.head.num_classes = 7
    elif which == '300w':
        for loader in loaders:
            loader.dataset.subsets = ['img_align_celeba']
    elif which == 'wflw':
        _write_wflw(data_root, str(tmp_path / 'wflw.txt'))
        for loader in loaders:
            loader.dataset.update(ann_file=str(tmp_path / 'wflw.txt'),
                                  data_prefix='img_align_celeba')
    if which in ('300w', 'wflw'):
        cfg.model.head.update(in_channels=16, channels=8, heatmap_size=32)
    else:
        cfg.model.head.in_channels = 16
    _pretrained(str(tmp_path / 'pre.pth'))
    runner = Runner.from_cfg(cfg)
    if which == 'affectnet':
        assert type(runner.train_dataloader.sampler).__name__ == (
            'ClassBalancedSampler')
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss)) and loss > 0
