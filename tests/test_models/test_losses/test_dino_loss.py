"""Tests of the DINO loss (Caron et al. 2021, eq. 1 / Algorithm 1)."""
import math

import pytest
import torch
import torch.nn.functional as F

from facessl.models.losses import DINOLoss, dino_loss


def _softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]


def test_dino_loss_hand_computed():
    """2 global + 1 local view, batch 1, out_dim 2, explicit pairs."""
    t1, t2 = [1.0, 0.0], [0.0, 2.0]  # teacher, global views 1 and 2
    s1, s2, s3 = [0.5, -0.5], [0.2, 0.1], [-1.0, 1.0]  # student views
    center = [0.5, 0.5]
    tt, ts = 0.5, 0.25
    q1 = _softmax([(a - c) / tt for a, c in zip(t1, center)])
    q2 = _softmax([(a - c) / tt for a, c in zip(t2, center)])
    # by hand: q1 = softmax([1, -1]), q2 = softmax([-1, 3])
    assert q1[0] == pytest.approx(math.exp(1) / (math.exp(1) + math.exp(-1)))
    assert q2[1] == pytest.approx(math.exp(3) / (math.exp(-1) + math.exp(3)))
    log_p = [[math.log(p) for p in _softmax([x / ts for x in s])]
             for s in (s1, s2, s3)]

    def ce(q, lp):
        return -sum(a * b for a, b in zip(q, lp))

    # pairs (teacher i, student j), j != i: (1,2), (1,3), (2,1), (2,3)
    expected = (ce(q1, log_p[1]) + ce(q1, log_p[2]) + ce(q2, log_p[0]) +
                ce(q2, log_p[2])) / 4
    student = [torch.tensor([s]) for s in (s1, s2, s3)]
    teacher = [torch.tensor([t]) for t in (t1, t2)]
    got = dino_loss(student, teacher, torch.tensor(center), ts, tt)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def naive_dino_loss(student, teacher, center, ts, tt):
    """Algorithm 1 of the paper, one pair at a time."""
    total, n = 0., 0
    for i, t in enumerate(teacher):
        q = F.softmax((t - center) / tt, dim=-1).detach()
        for j, s in enumerate(student):
            if i == j:
                continue
            total = total + torch.sum(
                -q * F.log_softmax(s / ts, dim=-1), dim=-1).mean()
            n += 1
    return total / n


@pytest.mark.parametrize('n_global,n_local', [(2, 3), (2, 0), (1, 2)])
def test_dino_loss_matches_naive_loop(n_global, n_local):
    g = torch.Generator().manual_seed(0)
    student = [
        torch.randn(4, 16, generator=g, requires_grad=True)
        for _ in range(n_global + n_local)
    ]
    teacher = [torch.randn(4, 16, generator=g) for _ in range(n_global)]
    center = torch.randn(1, 16, generator=g) * 0.1
    ref = naive_dino_loss(student, teacher, center, 0.1, 0.04)
    # with one global view, student view 0 is in no pair: no gradient
    ref_grads = [
        torch.zeros_like(x) if g is None else g
        for x, g in zip(student,
                        torch.autograd.grad(ref, student, allow_unused=True))
    ]
    got = dino_loss(student, teacher, center, 0.1, 0.04)
    grads = torch.autograd.grad(got, student)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    # a (V, B, K) tensor is the same as a list of views
    stacked = dino_loss(torch.stack(student), torch.stack(teacher), center,
                        0.1, 0.04)
    torch.testing.assert_close(stacked, got)


def test_dino_loss_no_grad_to_teacher():
    s = torch.randn(3, 2, 8, requires_grad=True)
    t = torch.randn(2, 2, 8, requires_grad=True)
    dino_loss(s, t, torch.zeros(8), 0.1, 0.04).backward()
    assert t.grad is None and s.grad is not None


def test_dino_loss_errors():
    with pytest.raises(ValueError, match='student_out'):
        dino_loss(torch.randn(4, 8), torch.randn(1, 4, 8), torch.zeros(8),
                  0.1, 0.04)
    with pytest.raises(ValueError, match='first views'):
        dino_loss(torch.randn(2, 4, 8), torch.randn(3, 4, 8), torch.zeros(8),
                  0.1, 0.04)
    with pytest.raises(ValueError, match='not the teacher view'):
        dino_loss(torch.randn(1, 4, 8), torch.randn(1, 4, 8), torch.zeros(8),
                  0.1, 0.04)


def test_dino_loss_module_center_update():
    loss = DINOLoss(out_dim=4, student_temp=0.1, teacher_temp=0.05,
                    center_momentum=0.9)
    assert torch.equal(loss.center, torch.zeros(1, 4))
    g = torch.Generator().manual_seed(1)
    s = torch.randn(3, 2, 4, generator=g)
    t = torch.randn(2, 2, 4, generator=g)
    old = torch.full((1, 4), 0.3)
    loss.center.copy_(old)
    value = loss(s, t)
    # the loss uses the centre before the update ...
    torch.testing.assert_close(value, dino_loss(s, t, old, 0.1, 0.05))
    # ... which is c <- m c + (1 - m) mean over all teacher outputs
    expected = 0.9 * old + 0.1 * t.reshape(-1, 4).mean(0, keepdim=True)
    torch.testing.assert_close(loss.center, expected)
    # the temperature is read at call time (set by TeacherTempHook)
    loss.teacher_temp = 0.07
    loss.center.copy_(old)
    torch.testing.assert_close(loss(s, t), dino_loss(s, t, old, 0.1, 0.07))
    assert 'center' in loss.state_dict()
