"""MultiLabelMLPHead: two FC layers, sigmoid BCE, predictions."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from facessl.registry import MODELS


def build(**kwargs):
    cfg = dict(type='MultiLabelMLPHead', num_classes=3, in_channels=4,
               mid_channels=5)
    return MODELS.build(dict(cfg, **kwargs))


def test_logits_are_fc_relu_fc():
    torch.manual_seed(0)
    head = build()
    head.init_weights()
    x = torch.randn(2, 4)
    expected = head.fc2(F.relu(head.fc1(x)))
    torch.testing.assert_close(head((torch.randn(2, 8, 3, 3), x)), expected)
    assert head.fc1.weight.std() < 0.05  # N(0, 0.01^2) init


def test_loss_is_bce_on_the_attribute_vector():
    torch.manual_seed(0)
    head = build()
    x = torch.randn(2, 4)
    samples = [DataSample().set_gt_score(torch.tensor([1., 0., 1.])),
               DataSample().set_gt_score(torch.tensor([0., 1., 0.]))]
    loss = head.loss((x, ), samples)['loss']
    target = torch.tensor([[1., 0., 1.], [0., 1., 0.]])
    # mmpretrain: summed over attributes, averaged over the batch
    expected = F.binary_cross_entropy_with_logits(head(x), target,
                                                  reduction='sum') / 2
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert head.fc1.weight.grad.abs().sum() > 0


def test_predict_scores_are_sigmoids():
    head = build()
    x = torch.randn(3, 4)
    preds = head.predict((x, ))
    scores = torch.stack([p.pred_score for p in preds])
    torch.testing.assert_close(scores, head(x).sigmoid())
    assert preds[0].pred_label.tolist() == (
        scores[0] >= 0.5).nonzero().flatten().tolist()


def test_bad_shapes():
    head = build()
    with pytest.raises(ValueError, match=r'\(batch, 4\), got \(2, 6\)'):
        head(torch.randn(2, 6))
    with pytest.raises(ValueError, match='must be positive'):
        build(mid_channels=0)
