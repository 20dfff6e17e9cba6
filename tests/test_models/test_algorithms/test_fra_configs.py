"""The FRA configs state the paper recipe and parse."""
import os.path as osp

from mmengine.config import Config

from facessl.registry import HOOKS, MODELS, TRANSFORMS

PAPER = 'configs/fra/fra_resnet50_8xb128-coslr-400e_vggface2.py'


def _find(node, type_name):
    if isinstance(node, dict):
        if node.get('type') == type_name:
            yield node
        for v in node.values():
            yield from _find(v, type_name)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _find(v, type_name)


def test_paper_recipe(repo_root):
    cfg = Config.fromfile(osp.join(repo_root, PAPER))
    model = cfg.model
    assert model.type == 'FRA' and MODELS.get('FRA') is not None
    assert (model.backbone.type, model.backbone.depth) == ('ResNet', 50)
    for mlp in (model.neck, model.head.predictor, model.region_neck,
                model.region_predictor):
        assert (mlp.hid_channels, mlp.out_channels) == (4096, 256)
    assert model.mask_decoder.num_masks == model.semantic_loss.num_masks
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, opt.momentum) == (
        'LARS', 1.8, 1.5e-6, 0.9)
    assert cfg.auto_scale_lr.base_batch_size == 1024
    assert cfg.train_dataloader.batch_size * 8 == 1024
    assert cfg.train_cfg.max_epochs == 400
    assert cfg.param_scheduler[-1].type == 'CosineAnnealingLR'
    assert cfg.param_scheduler[-1].end == 400
    pipeline = cfg.train_dataloader.dataset.pipeline
    views = next(_find(pipeline, 'MultiViewWithGeometry'))
    assert views.num_views == [1, 1]
    crops = list(_find(pipeline, 'LandmarkRandomResizedCrop'))
    assert [c.scale for c in crops] == [128, 128]
    jitter = list(_find(pipeline, 'ColorJitter'))
    assert jitter and all(j.hue == 0.1 for j in jitter)
    assert TRANSFORMS.get('ColorJitter').__module__.startswith('facessl')
    pack = next(_find(pipeline, 'PackInputs'))
    assert {'view_crop_bbox', 'view_flip'} <= set(pack.meta_keys)
    hooks = [h.type for h in cfg.custom_hooks]
    assert 'FRAHeatmapVisualizationHook' in hooks
    assert HOOKS.get('FRAHeatmapVisualizationHook') is not None
