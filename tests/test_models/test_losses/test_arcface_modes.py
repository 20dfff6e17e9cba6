"""ArcFace's two insightface behaviours: values and gradients by hand.

``'insightface'``: insightface arcface_torch since commit 657ae30e
(cos(theta + m), no fallback, straight-through gradient); ``'legacy'``:
before it (``cos - m sin(pi - m)`` beyond theta + m > pi, true gradient).
"""
import math

import pytest
import torch
import torch.nn.functional as F

from facessl.models.heads import ArcFaceHead, MarginHead
from facessl.models.losses import ArcFaceMargin, arcface_logits

S, M = 2., 0.5
# theta = 1.0 (theta + m < pi) and theta = 2.9 (theta + m = 3.4 > pi)
COS = torch.tensor([[math.cos(1.0), 0.3, -0.2],
                    [0.1, math.cos(2.9), 0.4]], dtype=torch.float64)
LABELS = torch.tensor([0, 1])


def _softmax(z):
    e = [math.exp(v) for v in z]
    return [v / sum(e) for v in e]


def _hand(mode):
    """Logits and d(mean cross-entropy)/d(cos), worked out by hand."""
    logits, grads = [], []
    for row, y in zip(COS.tolist(), LABELS.tolist()):
        c = row[y]
        theta = math.acos(c)
        if mode == 'insightface' or theta + M <= math.pi:
            target = math.cos(theta + M)
            # d cos(theta + m) / d cos(theta) = cos m + c sin m / sin(theta)
            slope = math.cos(M) + c * math.sin(M) / math.sin(theta)
        else:
            target = c - M * math.sin(math.pi - M)
            slope = 1.
        if mode == 'insightface':
            slope = 1.  # the margin is a constant: gradient straight through
        z = [S * (target if j == y else v) for j, v in enumerate(row)]
        p = _softmax(z)
        # d CE / d z_j = (p_j - [j = y]) / N; d z_j / d cos_j = s (x slope)
        g = [S * (p[j] - (j == y)) / len(LABELS) * (slope if j == y else 1.)
             for j in range(len(row))]
        logits.append(z)
        grads.append(g)
    return torch.tensor(logits, dtype=torch.float64), torch.tensor(
        grads, dtype=torch.float64)


@pytest.mark.parametrize('mode', ['insightface', 'legacy'])
def test_values_and_gradient_by_hand(mode):
    cos = COS.clone().requires_grad_(True)
    logits = arcface_logits(cos, LABELS, s=S, m=M, mode=mode)
    F.cross_entropy(logits, LABELS).backward()
    expected_logits, expected_grad = _hand(mode)
    torch.testing.assert_close(logits.detach(), expected_logits)
    torch.testing.assert_close(cos.grad, expected_grad)


def test_the_two_modes_differ_where_documented():
    ins = arcface_logits(COS, LABELS, s=1., m=M)  # default: insightface
    old = arcface_logits(COS, LABELS, s=1., m=M, mode='legacy')
    # theta + m < pi: the same value cos(1.5)
    assert float(ins[0, 0]) == pytest.approx(math.cos(1.5))
    assert float(old[0, 0]) == pytest.approx(math.cos(1.5))
    # theta + m = 3.4 > pi: cos(3.4) = -0.9668 vs the legacy fallback
    # cos(2.9) - 0.5 sin(pi - 0.5) = -0.9710 - 0.2397 = -1.2107
    assert float(ins[1, 1]) == pytest.approx(math.cos(3.4))
    assert float(old[1, 1]) == pytest.approx(
        math.cos(2.9) - 0.5 * math.sin(math.pi - 0.5))
    assert float(ins[1, 1]) == pytest.approx(-0.96680, abs=1e-5)
    assert float(old[1, 1]) == pytest.approx(-1.21067, abs=1e-5)
    # the non-target logits are the cosines in both modes
    mask = torch.tensor([[False, True, True], [True, False, True]])
    torch.testing.assert_close(ins[mask], COS[mask])
    torch.testing.assert_close(old[mask], COS[mask])


def test_mode_is_threaded_through_margin_and_heads():
    torch.manual_seed(0)
    x = torch.randn(4, 8)
    labels = torch.tensor([0, 1, 2, 3])
    for mode in ('insightface', 'legacy'):
        head = ArcFaceHead(num_classes=4, in_channels=8, s=S, m=M, mode=mode)
        assert head.margin.mode == mode and f"mode='{mode}'" in repr(head)
        cos = head(x)
        expected = F.cross_entropy(
            arcface_logits(cos, labels, S, M, mode=mode), labels)
        got = head.loss(x, [_sample(y) for y in labels])['loss']
        torch.testing.assert_close(got, expected)
    generic = MarginHead(4, 8, margin=dict(type='arcface', mode='legacy'))
    assert isinstance(generic.margin, ArcFaceMargin)
    assert generic.margin.mode == 'legacy'
    assert ArcFaceHead(4, 8).margin.mode == 'insightface'


def _sample(label):
    from mmpretrain.structures import DataSample
    return DataSample().set_gt_label(int(label))


def test_bad_mode_and_easy_margin_without_legacy():
    with pytest.raises(ValueError, match=r"mode must be one of \('insight"):
        arcface_logits(COS, LABELS, mode='v2')
    with pytest.raises(ValueError, match="easy_margin exists only in "
                       "mode='legacy'"):
        ArcFaceMargin(easy_margin=True)
    assert ArcFaceMargin(easy_margin=True, mode='legacy').easy_margin
