"""A few Runner iterations of the FRA demo config on synthetic faces.

The loss falls, the heatmaps are drawn and are not all alike, and the
checkpoint loads strictly into the FRA downstream attribute config.
"""
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from facessl.models.utils import mean_pairwise_overlap
from facessl.registry import MODELS
from facessl.utils.checkpoint import load_local_checkpoint

DEMO = 'configs/fra/fra_resnet18-w32_1xb32-coslr-5e_synthetic-faces.py'
ATTR = ('configs/fra/'
        'attributes_fra-resnet18-w32-linear_1xb32-20e_synthetic-faces.py')
EXPR = ('configs/fra/'
        'expression_fra-resnet18-w32-linear_1xb32-20e_synthetic-faces.py')
ALIGN = ('configs/fra/'
         'alignment_fra-resnet18-w32-upernet_1xb32-20e_synthetic-faces.py')
BACKBONE = dict(stem_channels=8, base_channels=8)  # 64 channels out
ITERS = 12


def _sizes(pipeline, size):
    for t in pipeline:
        if t['type'] == 'MultiViewWithGeometry':
            for view in t['transforms']:
                _sizes(view, size)
        elif t['type'] == 'LandmarkRandomResizedCrop':
            t['scale'] = size


def _tiny(cfg, work_dir):
    cfg.work_dir = work_dir
    cfg.model.backbone.update(BACKBONE)
    for key in ('neck', 'region_neck'):
        cfg.model[key].update(in_channels=64, hid_channels=32,
                              out_channels=16)
    for pred in (cfg.model.head.predictor, cfg.model.region_predictor):
        pred.update(in_channels=16, hid_channels=32, out_channels=16)
    cfg.model.mask_decoder.update(in_channels=64, embed_dims=16,
                                  num_heads=2)
    loader = cfg.train_dataloader
    loader.update(batch_size=8, num_workers=0, persistent_workers=False)
    # ITERS batches without a restart (mmengine sleeps 2 s on each)
    loader.dataset.update(num_identities=8, images_per_identity=12,
                          img_size=32)
    _sizes(loader.dataset.pipeline, 32)
    for name in ('val', 'test'):
        for part in ('dataloader', 'cfg', 'evaluator'):
            cfg[f'{name}_{part}'] = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=ITERS)
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = 0.1
    cfg.custom_hooks = [
        dict(type='FRAHeatmapVisualizationHook', interval=100,
             by_epoch=False, num_samples=2, size=32)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=ITERS, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.log_level = 'WARNING'
    return cfg


def test_demo_trains_draws_and_feeds_the_attribute_config(repo_root,
                                                          tmp_path):
    work = str(tmp_path / 'work')
    cfg = _tiny(Config.fromfile(osp.join(repo_root, DEMO)), work)
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    loss = np.asarray(hub.get_scalar('train/loss').data[0])
    assert len(loss) == ITERS and np.isfinite(loss).all()
    assert loss[-3:].mean() < loss[:3].mean()
    for term in ('loss_global', 'loss_region', 'loss_sem'):
        assert np.isfinite(hub.get_scalar(f'train/{term}').current())
    pictures = [f for _, _, fs in os.walk(work) for f in fs
                if f.startswith('fra_heatmaps')]
    assert pictures, 'no heatmap picture written'

    # the K heatmaps are not all identical (collapsed maps: overlap >= 0.999
    # and equal assignments at every pixel, see configs/fra/README.md)
    model = runner.model.eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        heat = model.online_heatmaps(x)
        overlap = float(mean_pairwise_overlap(heat))
    spread = float((heat.amax(1) - heat.amin(1)).mean())
    assert 0 < overlap < 0.999 and spread > 0.02

    ckpt = osp.join(work, f'iter_{ITERS}.pth')
    state = load_local_checkpoint(ckpt, map_location='cpu')['state_dict']
    for path, head in ((ATTR, dict(in_channels=64)),
                       (EXPR, dict(in_channels=64)),
                       (ALIGN, dict(in_channels=[8, 16, 32, 64],
                                    channels=8, heatmap_size=16))):
        down = Config.fromfile(osp.join(repo_root, path))
        down.model.backbone.update(BACKBONE)
        down.model.backbone.init_cfg.checkpoint = ckpt
        down.model.head.update(head)
        net = MODELS.build(down.model)
        net.init_weights()  # strict: any missing/unexpected key fails
        for k, v in net.backbone.state_dict().items():
            torch.testing.assert_close(v, state[f'backbone.{k}'])
