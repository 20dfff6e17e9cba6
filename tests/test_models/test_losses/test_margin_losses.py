"""Margin logits (CosFace, ArcFace, CurricularFace) against hand values and
a naive loop."""
import math

import pytest
import torch

from facessl.models.losses import (CurricularFaceMargin, arcface_logits,
                                   cosface_logits, curricular_logits,
                                   curricular_t_update)

# cos(acos(0.6) + 0.5) = 0.6 cos 0.5 - 0.8 sin 0.5
ARC_06 = 0.6 * math.cos(0.5) - 0.8 * math.sin(0.5)


def naive(cos, labels, s, m, kind, t=0., easy=False, legacy=True):
    """Element by element, with math.acos, straight from the equations."""
    out = torch.empty_like(cos, dtype=torch.float64)
    for i in range(cos.shape[0]):
        y = int(labels[i])
        c_y = float(cos[i, y])
        theta = math.acos(c_y)
        for j in range(cos.shape[1]):
            c = float(cos[i, j])
            if j == y:
                if kind == 'cosface':
                    z = c - m
                elif easy:
                    z = math.cos(theta + m) if c > 0 else c
                elif theta + m < math.pi or not legacy:
                    z = math.cos(theta + m)
                else:
                    z = c - m * math.sin(math.pi - m)
            elif kind == 'curricular' and c > math.cos(theta + m):
                z = c * (t + c)
            else:
                z = c
            out[i, j] = s * z
    return out


def random_cos(n=6, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, generator=g, dtype=torch.float64) * 1.9 - 0.95


def test_cosface_hand_values():
    cos = torch.tensor([[0.5, 0.2], [0.1, -0.3]])
    got = cosface_logits(cos, torch.tensor([0, 1]), s=2., m=0.4)
    torch.testing.assert_close(got, torch.tensor([[0.2, 0.4], [0.2, -1.4]]))


def test_arcface_hand_values_and_fallback():
    cos = torch.tensor([[0.6, 0.3], [0.2, -0.95], [-0.2, 0.1]])
    labels = torch.tensor([0, 1, 0])
    got = arcface_logits(cos, labels, s=1., m=0.5, mode='legacy')
    # -0.95 < cos(pi - 0.5) = -0.8776: cos - m sin(pi - m)
    expected = torch.tensor([[ARC_06, 0.3],
                             [0.2, -0.95 - 0.5 * math.sin(math.pi - 0.5)],
                             [math.cos(math.acos(-0.2) + 0.5), 0.1]])
    torch.testing.assert_close(got, expected)
    easy = arcface_logits(cos, labels, s=2., m=0.5, easy_margin=True,
                          mode='legacy')
    torch.testing.assert_close(
        easy, 2 * torch.tensor([[ARC_06, 0.3], [0.2, -0.95], [-0.2, 0.1]]))


def test_arcface_target_logit_increases_with_cos():
    th = math.cos(math.pi - 0.5)
    cos = torch.linspace(-1, 1, 401, dtype=torch.float64)
    cos = torch.cat([cos, cos.new_tensor([th, th + 1e-9])]).sort().values
    got = arcface_logits(cos[:, None], torch.zeros(len(cos), dtype=torch.long),
                         s=1., m=0.5, mode='legacy')[:, 0]
    assert (got.diff() >= 0).all()
    # insightface's step at the threshold: cos(pi) = -1 just above,
    # cos(pi - m) - m sin(pi - m) at and below it
    above = arcface_logits(cos.new_tensor([[th + 1e-9]]),
                           torch.tensor([0]), s=1., m=0.5, mode='legacy')
    at = arcface_logits(cos.new_tensor([[th]]), torch.tensor([0]), s=1.,
                        m=0.5, mode='legacy')
    assert float(above) == pytest.approx(-1., abs=1e-6)
    assert float(at) == pytest.approx(th - 0.5 * math.sin(math.pi - 0.5))


@pytest.mark.parametrize(
    'kind', ['cosface', 'arcface', 'insightface', 'easy', 'curricular'])
def test_against_naive_loop(kind):
    cos = random_cos()
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    if kind == 'cosface':
        got = cosface_logits(cos, labels, s=64., m=0.35)
        exp = naive(cos, labels, 64., 0.35, 'cosface')
    elif kind == 'curricular':
        got = curricular_logits(cos, labels, t=0.3, s=64., m=0.5)
        exp = naive(cos, labels, 64., 0.5, 'curricular', t=0.3)
    else:
        easy, legacy = kind == 'easy', kind != 'insightface'
        got = arcface_logits(cos, labels, s=64., m=0.5, easy_margin=easy,
                             mode='legacy' if legacy else 'insightface')
        exp = naive(cos, labels, 64., 0.5, 'arcface', easy=easy,
                    legacy=legacy)
    torch.testing.assert_close(got, exp)
    if kind == 'curricular':  # the batch has hard negatives
        assert not torch.allclose(
            got, arcface_logits(cos, labels, s=64., m=0.5, mode='legacy'))


def test_curricular_hand_values():
    cos = torch.tensor([[0.6, 0.3, -0.1]])
    got = curricular_logits(cos, torch.tensor([0]), t=0.5, s=2., m=0.5)
    # 0.3 > cos(acos(0.6) + 0.5) = 0.143: hard, 0.3 * (0.5 + 0.3) = 0.24
    torch.testing.assert_close(got, 2 * torch.tensor([[ARC_06, 0.24, -0.1]]))


def test_curricular_equals_arcface_without_hard_negatives():
    cos = torch.tensor([[0.9, 0.1, -0.5], [-0.2, 0.7, 0.0]])
    labels = torch.tensor([0, 1])
    for t in (0., 0.7):
        torch.testing.assert_close(
            curricular_logits(cos, labels, t=t, s=64., m=0.5),
            arcface_logits(cos, labels, s=64., m=0.5, mode='legacy'))


def test_t_update_is_the_ema():
    cos = torch.tensor([[0.6, 0.3], [0.1, 0.2], [0.4, -0.3]])
    labels = torch.tensor([0, 1, 0])
    r = (0.6 + 0.2 + 0.4) / 3
    new = curricular_t_update(0.2, cos, labels, momentum=0.99)
    assert float(new) == pytest.approx(0.99 * 0.2 + 0.01 * r)
    margin = CurricularFaceMargin(s=1., m=0.5)
    margin.t.fill_(0.2)
    out = margin(cos, labels)  # training: update first, then use new t
    assert float(margin.t) == pytest.approx(float(new))
    torch.testing.assert_close(
        out, curricular_logits(cos, labels, t=float(new), s=1., m=0.5))
    margin.eval()
    margin(cos, labels)
    assert float(margin.t) == pytest.approx(float(new))
    assert 't' in margin.state_dict()


def test_gradients_finite_at_cos_one():
    cos = torch.tensor([[1.0, 0.2], [-1.0, 0.1]], requires_grad=True)
    labels = torch.tensor([0, 0])
    for fn in (arcface_logits,
               lambda c, y: arcface_logits(c, y, mode='legacy'),
               lambda c, y: curricular_logits(c, y, 0.1)):
        cos.grad = None
        fn(cos, labels).sum().backward()
        assert torch.isfinite(cos.grad).all()


def test_bad_input():
    cos = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r'labels must be in \[0, 3\)'):
        cosface_logits(cos, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r'labels must have shape \(2,\)'):
        arcface_logits(cos, torch.tensor([0]))
    with pytest.raises(ValueError, match=r'cos must be \(batch, num_classes'):
        curricular_logits(torch.zeros(3), torch.tensor([0]), t=0.)
