"""Tests of the ProS loss functions and ProSLoss."""
import math

import pytest
import torch
import torch.nn.functional as F

from facessl.models.losses.pros_loss import (mean_entropy, me_max,
                                             pros_loss,
                                             prototype_assignments)
from facessl.registry import MODELS


def naive_cross_entropy(logits, target, temp):
    """H(target, softmax(logits / temp)) with Python floats."""
    scaled = [float(x) / temp for x in logits]
    lse = math.log(sum(math.exp(x) for x in scaled))
    return -sum(float(p) * (x - lse) for p, x in zip(target, scaled))


def naive_pros_loss(student_logits, teacher_probs, student_temp, keep,
                    pairing):
    """A deliberately naive loop over pairs and samples: the paper's
    Eq. 2-3 (every teacher global x every student local view) or DINO's
    pairing (every teacher global x every other student view)."""
    total, count = 0., 0
    n_t, n_s, batch = (teacher_probs.shape[0], student_logits.shape[0],
                       student_logits.shape[1])
    for i in range(n_t):
        for j in range(n_s):
            if pairing == 'dino' and i == j:
                continue
            for b in range(batch):
                if not keep[j][b]:
                    continue
                total += naive_cross_entropy(
                    student_logits[j, b], teacher_probs[i, b], student_temp)
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


@pytest.mark.parametrize('pairing', ['paper', 'dino'])
def test_pros_loss_matches_naive_loop_with_mask(pairing):
    g = torch.Generator().manual_seed(0)
    s = torch.randn(4, 3, 5, generator=g)
    t = F.softmax(torch.randn(2, 3, 5, generator=g) / 0.025, dim=-1)
    keep = torch.tensor([[1, 1, 1], [1, 1, 1], [1, 0, 1], [0, 0, 1]],
                        dtype=torch.bool)
    got = pros_loss(s, t, 0.1, keep, pairing=pairing)
    assert got.item() == pytest.approx(
        naive_pros_loss(s, t, 0.1, keep.tolist(), pairing), rel=1e-5)
    full = pros_loss(s, t, 0.1, pairing=pairing)
    assert full.item() == pytest.approx(
        naive_pros_loss(s, t, 0.1, [[True] * 3] * 4, pairing), rel=1e-5)
    assert got.item() != pytest.approx(full.item())


def test_paper_pairing_is_eq_2_3_by_hand():
    """M = 2 globals, N = 3 locals, B = 1: the mean of the 6 cross-
    entropies H(t_i, s_j), each written out."""
    temp = 0.1
    g = torch.Generator().manual_seed(3)
    s = torch.randn(3, 1, 4, generator=g)  # local views only
    t = F.softmax(torch.randn(2, 1, 4, generator=g) / 0.025, dim=-1)
    terms = [
        naive_cross_entropy(s[j, 0], t[i, 0], temp) for i in range(2)
        for j in range(3)
    ]
    want = sum(terms) / 6
    assert pros_loss(s, t, temp).item() == pytest.approx(want, rel=1e-6)
    # the default is the paper's pairing, not DINO's (which would skip
    # the pairs (0, 0) and (1, 1) and divide by 4)
    dino = (sum(terms) - terms[0] - terms[4]) / 4
    assert pros_loss(s, t, temp, pairing='dino').item() == pytest.approx(
        dino, rel=1e-6)
    assert abs(want - dino) > 1e-3
    # a dropped local view leaves both of its pairs out of the mean
    keep = torch.tensor([[True], [False], [True]])
    want_kept = (terms[0] + terms[2] + terms[3] + terms[5]) / 4
    assert pros_loss(s, t, temp, keep).item() == pytest.approx(
        want_kept, rel=1e-6)


def test_pros_loss_teacher_not_differentiated():
    s = torch.randn(3, 2, 4, requires_grad=True)
    t = F.softmax(torch.randn(2, 2, 4), -1).requires_grad_()
    pros_loss(s, t, 0.1).backward()
    assert s.grad is not None and t.grad is None


def test_pros_loss_bad_shapes():
    with pytest.raises(ValueError, match='first views'):
        pros_loss(torch.zeros(1, 2, 3), torch.zeros(2, 2, 3), 0.1,
                  pairing='dino')
    with pytest.raises(ValueError, match='same batch and K'):
        pros_loss(torch.zeros(1, 2, 3), torch.zeros(2, 3, 3), 0.1)
    with pytest.raises(ValueError, match="pairing must be one of"):
        pros_loss(torch.zeros(1, 2, 3), torch.zeros(2, 2, 3), 0.1,
                  pairing='all')
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
    assert out['cross_entropy'].item() == pytest.approx(
        naive_pros_loss(s, F.softmax(t / 0.025, -1), 0.1, keep.tolist(),
                        'paper'), rel=1e-5)
    probs = F.softmax(s / 0.1, -1)[keep]
    assert out['cross_entropy'].item() == pytest.approx(ce.item())
    assert out['mean_entropy'].item() == pytest.approx(
        mean_entropy(probs).item())
    assert out['loss'].item() == pytest.approx(
        ce.item() - 2 * mean_entropy(probs).item(), rel=1e-6)


def test_pros_loss_module_all_dropped():
    """Every student view dropped: no cross-entropy, no me-max, a finite
    loss that still backpropagates (zero gradient)."""
    loss = MODELS.build(dict(type='ProSLoss'))
    s = torch.randn(2, 3, 6, requires_grad=True)
    out = loss(s, torch.randn(2, 3, 6), torch.zeros(2, 3, dtype=torch.bool))
    assert out['loss'].item() == 0 and out['cross_entropy'].item() == 0
    assert out['mean_entropy'].item() > 0  # of all views, for the log
    out['loss'].backward()
    assert torch.equal(s.grad, torch.zeros_like(s))


def naive_sinkhorn(cos, temp, iters):
    """MSN's distributed_sinkhorn on one process, as nested Python lists:
    exp(c / T) as a (K, B) matrix, total mass 1, then rows (prototypes)
    to 1/K and columns (samples) to 1/B in turn, columns rescaled to 1."""
    batch, k = len(cos), len(cos[0])
    q = [[math.exp(cos[b][j] / temp) for b in range(batch)]
         for j in range(k)]
    total = sum(map(sum, q))
    q = [[v / total for v in row] for row in q]
    for _ in range(iters):
        q = [[v / sum(row) / k for v in row] for row in q]
        cols = [sum(q[j][b] for j in range(k)) for b in range(batch)]
        q = [[q[j][b] / cols[b] / batch for b in range(batch)]
             for j in range(k)]
    return [[q[j][b] * batch for j in range(k)] for b in range(batch)]


def test_sinkhorn_teacher_targets_match_msn_by_hand():
    torch.manual_seed(0)
    cos = torch.rand(2, 5, 4) * 2 - 1  # (M, B, K)
    loss = MODELS.build(dict(type='ProSLoss', teacher_temp=0.5,
                             sinkhorn_iters=3))
    got = loss.teacher_assignments(cos)
    for view in range(2):
        want = torch.tensor(naive_sinkhorn(cos[view].tolist(), 0.5, 3))
        assert torch.allclose(got[view], want, atol=1e-5)
    assert torch.allclose(got.sum(-1), torch.ones(2, 5), atol=1e-5)
    # without Sinkhorn: the plain teacher softmax
    plain = MODELS.build(dict(type='ProSLoss', teacher_temp=0.5))
    assert torch.allclose(plain.teacher_assignments(cos),
                          F.softmax(cos / 0.5, dim=-1))
    with pytest.raises(ValueError, match='sinkhorn_iters'):
        MODELS.build(dict(type='ProSLoss', sinkhorn_iters=-1))
