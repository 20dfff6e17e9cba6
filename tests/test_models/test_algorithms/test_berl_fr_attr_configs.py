"""3D-BERL stage-1 and attribute-transfer configs: recipe and tiny runs."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from facessl.datasets.synthetic.export_annotations import \
    write_synthetic_annotations
from facessl.registry import MODELS
from facessl.utils.checkpoint import load_local_checkpoint

CONFIGS = 'configs/berl/'
STAGE1_CPU = CONFIGS + \
    'berl-stage1_iresnet18_curricularface_1xb16-3e_synthetic-faces.py'
STAGE1_MS1M = CONFIGS + \
    'berl-stage1_iresnet100_curricularface_4xb50-sgd-24e_ms1m.py'
ATTR_CPU = CONFIGS + \
    'berl-attr_iresnet18-s3_1xb40-2fc-ft-10e_synthetic-faces.py'
ATTR_CELEBA = CONFIGS + 'berl-attr_iresnet100-s3_1xb40-2fc-ft-60e_celeba.py'
TINY_ARCH = (1, 1, 1, 1)  # IResNet-10-ish: the layout of r18, faster


def load(repo_root, path):
    cfg = Config.fromfile(osp.join(repo_root, path))
    cfg.pretty_text  # MMEngine can dump it
    return cfg


def _tiny_run(cfg, tmp_path):
    cfg.work_dir = str(tmp_path / 'work')
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].update(batch_size=2, num_workers=0,
                         persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=100)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=2, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.log_level = 'WARNING'
    return cfg


def test_stage1_ms1m_is_the_paper_recipe(repo_root):
    cfg = load(repo_root, STAGE1_MS1M)
    model = cfg.model
    assert model.type == 'FaceRecognizer'
    assert model.backbone.type == 'IResNet' and model.backbone.arch == 'r100'
    assert model.backbone.out_indices == (2, 4)
    # CurricularFace through Partial FC (centres sharded over the GPUs)
    assert model.head.type == 'PartialFCHead'
    assert model.head.margin == dict(type='curricular', s=64., m=0.5,
                                     momentum=0.99)
    assert model.head.num_classes == 85742
    assert cfg.model_wrapper_cfg.type == 'FaceDistributedDataParallel'
    assert model.data_preprocessor.num_classes == 85742
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'SGD' and opt.momentum == 0.9
    assert opt.weight_decay == 5e-4
    assert cfg.train_dataloader.batch_size * 4 == 200  # 4 GPUs
    assert cfg.train_dataloader.dataset.type == 'FaceRecordIO'
    assert cfg.val_dataloader.dataset.bin_files == [
        'lfw.bin', 'cfp_fp.bin', 'agedb_30.bin']


def test_stage1_cpu_config_runs(repo_root, tmp_path):
    cfg = _tiny_run(load(repo_root, STAGE1_CPU), tmp_path)
    assert cfg.model.backbone.arch == 'r18'
    assert cfg.train_dataloader.dataset.img_size == 112
    cfg.model.backbone.arch = TINY_ARCH
    cfg.train_dataloader.dataset.update(num_identities=3,
                                        images_per_identity=2)
    cfg.model.head.num_classes = 3
    cfg.model.data_preprocessor.num_classes = 3
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss)) and loss > 0
    assert float(runner.model.head.margin.t) != 0  # t moved (EMA)
    ckpt = load_local_checkpoint(osp.join(cfg.work_dir, 'iter_2.pth'),
                                 map_location='cpu')
    keys = set(ckpt['state_dict'])
    assert 'backbone.layer3.0.conv1.weight' in keys
    assert 'head.margin.t' in keys and 'head.weight' in keys


def test_attribute_configs_recipe(repo_root):
    cpu, celeba = load(repo_root, ATTR_CPU), load(repo_root, ATTR_CELEBA)
    for cfg in (cpu, celeba):
        assert cfg.model.type == 'BERLAttributeClassifier'
        assert cfg.model.num_stages == 3  # stage 4 removed
        assert cfg.model.head.type == 'MultiLabelMLPHead'
        assert cfg.model.head.in_channels == 256 * 14 * 14
        assert MODELS.get('MultiLabelMLPHead') is not None
        assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
        assert cfg.val_evaluator.type == 'AttributeAccuracy'
        assert cfg.train_dataloader.batch_size == 40
        assert cfg.train_dataloader.dataset.type == 'LabelFraction'
        assert cfg.train_dataloader.dataset.fraction == 1.
    assert celeba.model.head.num_classes == 40
    assert celeba.model.backbone.arch == 'r100'
    assert celeba.train_cfg.max_epochs == 60
    assert celeba.param_scheduler[-1].end == 60
    assert celeba.train_dataloader.dataset.dataset.data_root == 'data/celeba'
    assert celeba.test_dataloader.dataset.split == 'test'


@pytest.fixture(scope='module')
def attr_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('attr'))
    write_synthetic_annotations(root, num_identities=3,
                                images_per_identity=2, img_size=64)
    return root


def test_attribute_cpu_config_fine_tunes_the_whole_network(
        repo_root, attr_root, tmp_path):
    cfg = _tiny_run(load(repo_root, ATTR_CPU), tmp_path)
    cfg.model.backbone.arch = TINY_ARCH
    cfg.model.head.mid_channels = 16
    cfg.train_dataloader.dataset.dataset.data_root = attr_root
    for name in ('val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = attr_root
    torch.manual_seed(1)
    backbone = MODELS.build(dict(type='IResNet', arch=TINY_ARCH))
    path = str(tmp_path / 'stage3.pth')
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in
                                backbone.state_dict().items()}), path)
    cfg.model.backbone.init_cfg.checkpoint = path
    runner = Runner.from_cfg(cfg)
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    runner.train()
    # loaded strictly (no stage 4 kept), then every stage moved
    trained = runner.model.backbone.state_dict()
    assert not any(k.startswith('layer4') for k in trained)
    for stage in ('conv1', 'layer1', 'layer2', 'layer3'):
        key = next(k for k in trained
                   if k.startswith(stage) and k.endswith('weight'))
        assert not torch.equal(trained[key], before[key]), key
    metrics = runner.test()
    assert 0 <= metrics['attributes/mean_accuracy'] <= 100
    assert len(metrics) == 1 + 7  # mean + the 7 synthetic attributes
