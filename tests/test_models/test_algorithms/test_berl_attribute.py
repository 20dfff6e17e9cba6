"""3D-BERL attribute transfer: stage-3 features, whole network trained."""
import pytest
import torch

from facessl.registry import MODELS

TINY_ARCH = (1, 1, 1, 1)


def _model(checkpoint=None, num_classes=3):
    backbone = dict(type='IResNet', arch=TINY_ARCH)
    if checkpoint:
        backbone['init_cfg'] = dict(type='Pretrained', checkpoint=checkpoint,
                                    prefix='backbone.')
    return MODELS.build(dict(
        type='BERLAttributeClassifier',
        backbone=backbone,
        head=dict(type='MultiLabelMLPHead', num_classes=num_classes,
                  in_channels=256 * 14 * 14, mid_channels=8)))


def test_features_come_from_stage_3_and_stage_4_is_gone():
    model = _model()
    assert model.backbone.out_indices == (2, )
    for name in ('layer4', 'bn2', 'fc', 'features'):
        assert not hasattr(model.backbone, name)
    assert not any(k.startswith(('backbone.layer4', 'backbone.fc'))
                   for k in model.state_dict())
    feats = model.extract_feat(torch.randn(2, 3, 112, 112),
                               stage='backbone')
    assert len(feats) == 1 and feats[0].shape == (2, 256 * 14 * 14)
    assert model(torch.randn(2, 3, 112, 112)).shape == (2, 3)


def test_every_backbone_parameter_receives_a_gradient():
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    model = _model()
    model.train()
    assert model.backbone.training
    samples = [DataSample().set_gt_label([0, 2]),
               DataSample().set_gt_label([1])]
    for s in samples:
        s.set_gt_score(torch.tensor([float(i in s.gt_label)
                                     for i in range(3)]))
    loss = model.loss(torch.randn(2, 3, 112, 112), samples)['loss']
    loss.backward()
    params = dict(model.backbone.named_parameters())
    assert params and all(p.requires_grad for p in params.values())
    no_grad = [n for n, p in params.items()
               if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    # the BN scale before the removed FC was insightface's fixed 1: gone
    assert no_grad == []


def test_pretrained_backbone_loads_without_its_stage_4(tmp_path):
    torch.manual_seed(1)
    full = MODELS.build(dict(type='IResNet', arch=TINY_ARCH))
    state = {f'backbone.{k}': v for k, v in full.state_dict().items()}
    path = str(tmp_path / 'stage3.pth')
    torch.save(dict(state_dict=state), path)
    model = _model(path)
    model.init_weights()
    torch.testing.assert_close(model.backbone.layer3.state_dict(),
                               full.layer3.state_dict())
    # a missing kept key is an error naming the checkpoint
    del state['backbone.layer2.0.conv1.weight']
    torch.save(dict(state_dict=state), path)
    with pytest.raises(KeyError, match='layer2.0.conv1.weight'):
        _model(path).init_weights()


def test_bad_backbone_type_names_the_key():
    with pytest.raises(ValueError, match='model.backbone.type'):
        MODELS.build(dict(type='BERLAttributeClassifier',
                          backbone=dict(type='ResNet', depth=18),
                          head=dict(type='MultiLabelMLPHead', num_classes=2,
                                    in_channels=4)))
