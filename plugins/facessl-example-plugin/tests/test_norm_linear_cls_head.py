"""Tests of the plugin's ``NormLinearClsHead`` (cosine classifier)."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.models import ImageClassifier
from mmpretrain.structures import DataSample

from facessl.registry import MODELS
from facessl_example_plugin import NormLinearClsHead, cosine_logits


def test_cosine_logits_by_hand():
    feats = torch.tensor([[3., 4.], [0., -2.]])
    weight = torch.tensor([[1., 0.], [0., 2.], [1., 1.]])
    # |x| = 5 and 2; |w| = 1, 2, sqrt(2); s = 2.
    expected = 2 * torch.tensor([[3 / 5, 4 / 5, 7 / (5 * math.sqrt(2))],
                                 [0., -1., -1 / math.sqrt(2)]])
    torch.testing.assert_close(cosine_logits(feats, weight, 2.0), expected)


def test_head_forward_shape_range_and_norm_invariance():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(type='NormLinearClsHead', num_classes=5, in_channels=8,
             scale=10.0))
    assert isinstance(head, NormLinearClsHead)
    feats = torch.randn(3, 8)
    logits = head((torch.randn(3, 4), feats))  # uses the last stage only
    assert logits.shape == (3, 5)
    assert logits.abs().max() <= 10.0 + 1e-5
    torch.testing.assert_close(head((feats * 7.0, )), logits)
    torch.testing.assert_close(
        logits, cosine_logits(feats, head.fc.weight, 10.0))


def test_head_loss_is_cross_entropy_of_cosine_logits():
    torch.manual_seed(0)
    head = NormLinearClsHead(num_classes=4, in_channels=6, scale=8.0,
                             cal_acc=True)
    feats = torch.randn(5, 6)
    labels = [0, 3, 1, 1, 2]
    samples = [DataSample().set_gt_label(label) for label in labels]
    losses = head.loss((feats, ), samples)
    logits = 8.0 * F.normalize(feats) @ F.normalize(head.fc.weight).t()
    torch.testing.assert_close(losses['loss'],
                               F.cross_entropy(logits, torch.tensor(labels)))
    assert 'accuracy_top-1' in losses
    preds = head.predict((feats, ))
    assert [int(p.pred_label) for p in preds] == logits.argmax(1).tolist()


def test_image_classifier_trains_with_the_head():
    torch.manual_seed(0)
    # mmpretrain's ImageClassifier builds its head from mmpretrain's MODELS;
    # the facessl default scope (set by facessl configs) makes it look in
    # facessl's MODELS, where the plugin registered the head.
    with DefaultScope.overwrite_default_scope('facessl'):
        model = ImageClassifier(
            backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                          base_channels=8),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='NormLinearClsHead', num_classes=3,
                      in_channels=64))
    assert isinstance(model.head, NormLinearClsHead)
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    loss = model(torch.randn(4, 3, 16, 16), samples, mode='loss')['loss']
    loss.backward()
    assert torch.isfinite(loss)
    assert model.head.fc.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('kwargs', [dict(num_classes=0), dict(scale=0.0)])
def test_invalid_arguments_raise(kwargs):
    args = dict(num_classes=3, in_channels=4)
    args.update(kwargs)
    with pytest.raises(ValueError):
        NormLinearClsHead(**args)
