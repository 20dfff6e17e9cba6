"""FRA: BYOL + mask decoder, region contrast, semantic consistency."""
import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from facessl.registry import MODELS

C = 64  # ResNet-18 with base_channels 8: 8 * 8 channels out


def tiny_fra(num_masks=4):
    """A small FRA model (ResNet-18, 8 base channels, narrow MLPs)."""
    def mlp(i, o, pool):
        return dict(type='NonLinearNeck', in_channels=i, hid_channels=32,
                    out_channels=o, num_layers=2, with_avg_pool=pool)
    return dict(
        type='FRA',
        data_preprocessor=dict(type='SelfSupDataPreprocessor',
                               mean=[127.5] * 3, std=[127.5] * 3),
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8, out_indices=(3, ),
                      strides=(1, 2, 2, 1)),
        neck=mlp(C, 16, True),
        head=dict(type='LatentPredictHead', predictor=mlp(16, 16, False),
                  loss=dict(type='CosineSimilarityLoss', shift_factor=2.,
                            scale_factor=2.)),
        mask_decoder=dict(type='FRAMaskDecoder', in_channels=C,
                          num_masks=num_masks, embed_dims=16, num_heads=2),
        region_neck=mlp(C, 16, False),
        region_predictor=mlp(16, 16, False),
        region_loss=dict(type='RegionContrastLoss', loss_weight=0.5),
        semantic_loss=dict(type='SemanticConsistencyLoss',
                           num_masks=num_masks, loss_weight=2.))


def batch(n=2, size=32):
    samples = []
    for i in range(n):
        s = DataSample()
        s.set_metainfo(dict(view_crop_bbox=np.array(
            [[0, 0, 79, 79], [20 + i, 10, 99, 89]]),
            view_flip=np.array([False, i % 2 == 1])))
        samples.append(s)
    views = [torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8)
             for _ in range(2)]
    return dict(inputs=views, data_samples=samples)


@pytest.fixture(autouse=True)
def _max_iters():
    MessageHub.get_current_instance().update_info('max_iters', 10)


def test_train_step_logs_each_term_and_moves_everything():
    torch.manual_seed(0)
    model = MODELS.build(tiny_fra())
    wrapper = build_optim_wrapper(
        model, dict(optimizer=dict(type='LARS', lr=0.1, momentum=0.9)))
    embed = model.mask_decoder.mask_embed.detach().clone()
    log = model.train_step(batch(), wrapper)
    assert {'loss', 'loss_global', 'loss_region', 'loss_sem',
            'heatmap_overlap'} <= set(log)
    total = log['loss_global'] + log['loss_region'] + log['loss_sem']
    torch.testing.assert_close(log['loss'], total)
    assert 0 < float(log['heatmap_overlap']) <= 1
    assert not torch.equal(embed, model.mask_decoder.mask_embed)
    # the momentum net covers the decoder too; its first update copies
    torch.testing.assert_close(
        model.target_net.module.mask_decoder.mask_embed, embed)
    assert set(dict(model.target_net.module.named_children())) == {
        'backbone', 'neck', 'mask_decoder', 'region_neck'}


def test_semantic_term_is_zero_without_overlap():
    torch.manual_seed(0)
    cfg = tiny_fra()
    cfg['semantic_loss']['info_weight'] = 0.  # the overlap-only term
    model = MODELS.build(cfg)
    data = batch()
    for s in data['data_samples']:
        s.set_metainfo(dict(view_crop_bbox=np.array(
            [[0, 0, 39, 39], [60, 60, 99, 99]])))
    data = model.data_preprocessor(data, True)
    out = model.loss(data['inputs'], data['data_samples'])
    assert float(out['loss_sem'].detach()) == 0.
    assert float(out['loss_region'].detach()) > 0


def test_missing_geometry_is_a_clear_error():
    model = MODELS.build(tiny_fra())
    data = model.data_preprocessor(batch(), True)
    with pytest.raises(ValueError, match='PackInputs'):
        model.loss(data['inputs'], None)
    data['data_samples'][1] = DataSample()
    with pytest.raises(ValueError, match=r"sample 1 has no \['view_crop"):
        model.loss(data['inputs'], data['data_samples'])


def test_predict_gives_pooled_backbone_features():
    torch.manual_seed(0)
    model = MODELS.build(tiny_fra()).eval()
    x = torch.randn(3, 3, 32, 32)
    out = model(x, mode='predict')
    assert len(out) == 3 and out[0].feat.shape == (C, )
    torch.testing.assert_close(out[1].feat,
                               model.backbone(x)[-1][1].mean((1, 2)))
