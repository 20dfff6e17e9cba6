"""MarginHead: cosines, margin cross-entropy, accuracy, predictions."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from facessl.models.heads import (ArcFaceHead, CosFaceHead,
                                  CurricularFaceHead, MarginHead)
from facessl.models.losses import (CosFaceMargin, arcface_logits,
                                   cosface_logits)
from facessl.registry import MODELS


def samples(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def test_cosines_loss_and_accuracy_by_hand():
    head = MODELS.build(dict(type='MarginHead', num_classes=3, in_channels=2,
                             margin=dict(type='cosface', s=10., m=0.2)))
    with torch.no_grad():  # centres along x, y and -x (any length)
        head.weight.copy_(torch.tensor([[2., 0.], [0., 3.], [-1., 0.]]))
    feats = torch.tensor([[1., 2.], [0., -2.], [-4., 0.]])
    cos = head((feats, ))
    a, b = 5 ** -0.5, 2 * 5 ** -0.5
    torch.testing.assert_close(
        cos, torch.tensor([[a, b, -a], [0., -1., 0.], [-1., 0., 1.]]))
    labels = torch.tensor([1, 1, 2])
    out = head.loss((feats, ), samples(labels))
    assert set(out) == {'loss', 'accuracy'}
    logits = 10 * (cos - 0.2 * F.one_hot(labels, 3))
    assert out['loss'].item() == pytest.approx(
        F.cross_entropy(logits, labels).item(), rel=1e-6)
    # argmax of cos: 1, 0 (tie of 0 and 2: the first), 2 -> 2 of 3 correct
    assert float(out['accuracy']) == pytest.approx(200 / 3)
    pred = head.predict((feats, ))
    assert [int(p.pred_label) for p in pred] == [1, 0, 2]
    torch.testing.assert_close(pred[2].pred_score,
                               torch.softmax(10 * cos[2], 0))


def test_centre_init_and_gradients():
    torch.manual_seed(0)
    head = MarginHead(num_classes=500, in_channels=64)
    assert head.weight.shape == (500, 64)
    assert head.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert abs(head.weight.mean().item()) < 1e-3
    feats = torch.randn(4, 64, requires_grad=True)
    head.loss(feats, samples([0, 1, 2, 3]))['loss'].backward()
    assert head.weight.grad.abs().sum() > 0 and feats.grad.abs().sum() > 0


def test_margins_by_name_and_aliases():
    torch.manual_seed(0)
    feats = torch.randn(5, 8)
    labels = torch.tensor([0, 1, 2, 3, 0])
    arc = ArcFaceHead(num_classes=4, in_channels=8, s=30., m=0.3)
    cos = arc(feats)
    expected = F.cross_entropy(arcface_logits(cos, labels, 30., 0.3), labels)
    assert arc.loss(feats, samples(labels))['loss'].item() == pytest.approx(
        float(expected), rel=1e-6)
    cosface = CosFaceHead(num_classes=4, in_channels=8)
    assert (cosface.margin.s, cosface.margin.m) == (64., 0.4)
    registered = MarginHead(4, 8, margin=dict(type='CosFaceMargin', m=0.1))
    assert isinstance(registered.margin, CosFaceMargin)
    assert registered.margin.m == 0.1
    expected = F.cross_entropy(
        cosface_logits(registered(feats), labels, 64., 0.1), labels)
    assert registered.loss(feats, samples(labels))['loss'].item() == (
        pytest.approx(float(expected), rel=1e-6))
    with pytest.raises(KeyError, match='nope'):
        MarginHead(4, 8, margin=dict(type='nope'))


def test_curricular_head_updates_t_in_training_only():
    torch.manual_seed(0)
    head = CurricularFaceHead(num_classes=4, in_channels=8)
    feats, labels = torch.randn(6, 8), torch.tensor([0, 1, 2, 3, 0, 1])
    r = head(feats).gather(1, labels[:, None]).mean()
    head.loss(feats, samples(labels))
    assert float(head.margin.t) == pytest.approx(0.01 * float(r), rel=1e-5)
    head.eval()
    head.loss(feats, samples(labels))
    assert float(head.margin.t) == pytest.approx(0.01 * float(r), rel=1e-5)
    assert 'margin.t' in head.state_dict()


def test_bad_embedding_shape():
    head = MarginHead(num_classes=3, in_channels=4)
    with pytest.raises(ValueError, match=r'expected embeddings of shape '
                       r'\(batch, 4\), got \(2, 5\)'):
        head(torch.zeros(2, 5))
