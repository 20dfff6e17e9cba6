"""Tests of the ProS loss functions and ProSLoss."""
import math

import pytest
import torch
import torch.nn.functional as F

from facessl.models.losses.pros_loss import (mean_entropy, me_max,
                                             pros_loss,
                                             prototype_assignments)
from facessl.registry import MODELS


def naive_pros_loss(student_logits, teacher_probs, student_temp, keep):
    """A deliberately naive loop over pairs and samples."""
    total, count = 0., 0
    n_t, n_s, batch = (teacher_probs.shape[0], student_logits.shape[0],
                       student_logits.shape[1])
    for i in range(n_t):
        for j in range(n_s):
            if i == j:
                continue
            for b in range(batch):
                if not keep[j][b]:
                    continue
                logits = [float(x) / student_temp
                          for x in student_logits[j, b]]
                lse = math.log(sum(math.exp(x) for x in logits))
                total -= sum(float(p) * (x - lse) for p, x in zip(
                    teacher_probs[i, b], logits))
                count += 1
    return total / count


def test_prototype_assignments_hand_computed():
    # f along p0 (cos 1) and orthogonal to p1 (cos 0); scale is ignored
    feats = torch.tensor([[3., 0.]])
    protos = torch.tensor([[2., 0.], [0., 5.]])
    probs = prototype_assignments(feats, protos, temp=0.5)
    e = math.exp(2.)  # exp(1 / 0.5)
    assert torch.allclose(probs, torch.tensor([[e / (e + 1), 1 / (e + 1)]]))


def test_teacher_sharpening_at_0025():
    # cosines 0.1 apart: 0.1 gives near-uniform, 0.025 a sharp assignment
    feats = torch.tensor([[1., 0.]])
    protos = torch.tensor([[1., 0.], [0.9, math.sqrt(1 - 0.81)]])
    student = prototype_assignments(feats, protos, temp=0.1)
    teacher = prototype_assignments(feats, protos, temp=0.025)
    # softmax([1, 0.9] / tau): p0 = 1 / (1 + exp(-0.1 / tau))
    assert teacher[0, 0].item() == pytest.approx(1 / (1 + math.exp(-4.)))
    assert student[0, 0].item() == pytest.approx(1 / (1 + math.exp(-1.)))
    assert teacher[0, 0] > 0.98 > 0.74 > student[0, 0] > 0.73


def test_pros_loss_matches_naive_loop_with_mask():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(4, 3, 5, generator=g)
    t = F.softmax(torch.randn(2, 3, 5, generator=g) / 0.025, dim=-1)
    keep = torch.tensor([[1, 1, 1], [1, 1, 1], [1, 0, 1], [0, 0, 1]],
                        dtype=torch.bool)
    got = pros_loss(s, t, 0.1, keep)
    assert got.item() == pytest.approx(
        naive_pros_loss(s, t, 0.1, keep.tolist()), rel=1e-5)
    full = pros_loss(s, t, 0.1)
    assert full.item() == pytest.approx(
        naive_pros_loss(s, t, 0.1, [[True] * 3] * 4), rel=1e-5)
    assert got.item() != pytest.approx(full.item())


def test_pros_loss_hand_computed_two_views():
    # one pair each way; uniform student over K=2 gives log 2 for any target
    s = torch.zeros(2, 1, 2)
    t = torch.tensor([[[1., 0.]], [[0.5, 0.5]]])
    assert pros_loss(s, t, 0.1).item() == pytest.approx(math.log(2))
    # student certain of prototype 0: CE = -log softmax([10, 0])_k
    s = torch.tensor([[[1., 0.]], [[1., 0.]]])
    lp0 = -math.log(1 + math.exp(-10.))
    lp1 = -10 + lp0
    want = (-lp0 - 0.5 * (lp0 + lp1)) / 2
    assert pros_loss(s, t, 0.1).item() == pytest.approx(want, rel=1e-6)


def test_pros_loss_teacher_not_differentiated():
    s = torch.randn(3, 2, 4, requires_grad=True)
    t = F.softmax(torch.randn(2, 2, 4), -1).requires_grad_()
    pros_loss(s, t, 0.1).backward()
    assert s.grad is not None and t.grad is None


def test_pros_loss_bad_shapes():
    with pytest.raises(ValueError, match='first views'):
        pros_loss(torch.zeros(1, 2, 3), torch.zeros(2, 2, 3), 0.1)
    with pytest.raises(ValueError, match='keep_mask'):
        pros_loss(torch.zeros(3, 2, 3), torch.zeros(2, 2, 3), 0.1,
                  torch.ones(3, 3, dtype=torch.bool))


def test_me_max_uniform_is_minus_log_k():
    k = 8
    # rows are one-hot but their mean is uniform: the maximum entropy
    probs = torch.eye(k)
    assert me_max(probs).item() == pytest.approx(-math.log(k))
    assert mean_entropy(probs).item() == pytest.approx(math.log(k))
    # collapse: every row on prototype 0 -> entropy 0
    collapsed = torch.zeros(4, k)
    collapsed[:, 0] = 1
    assert me_max(collapsed).item() == pytest.approx(0., abs=1e-9)


def test_me_max_hand_computed():
    probs = torch.tensor([[1., 0.], [0.5, 0.5]])  # mean (0.75, 0.25)
    want = 0.75 * math.log(0.75) + 0.25 * math.log(0.25)
    assert me_max(probs).item() == pytest.approx(want)
    g = torch.Generator().manual_seed(1)
    probs = F.softmax(torch.randn(16, 8, generator=g), -1)
    assert me_max(probs) > -math.log(8)


def test_pros_loss_module_combines_terms():
    loss = MODELS.build(dict(type='ProSLoss', me_max_weight=2.))
    assert (loss.teacher_temp, loss.student_temp) == (0.025, 0.1)
    g = torch.Generator().manual_seed(2)
    s = torch.randn(4, 3, 6, generator=g)
    t = torch.randn(2, 3, 6, generator=g)
    keep = torch.ones(4, 3, dtype=torch.bool)
    keep[3, 0] = False
    out = loss(s, t, keep)
    ce = pros_loss(s, F.softmax(t / 0.025, -1), 0.1, keep)
    probs = F.softmax(s / 0.1, -1)[keep]
    assert out['cross_entropy'].item() == pytest.approx(ce.item())
    assert out['mean_entropy'].item() == pytest.approx(
        mean_entropy(probs).item())
    assert out['loss'].item() == pytest.approx(
        ce.item() - 2 * mean_entropy(probs).item(), rel=1e-6)
