"""LAFS landmark augmentations: perturb, shuffle, subset."""
import pytest
import torch

from facessl.models.utils import (LandmarkPerturb, LandmarkShuffle,
                                  LandmarkSubset, apply_landmark_augs,
                                  build_landmark_augs)
from facessl.models.utils.landmark_aug import check_landmarks


def _landmarks(b=4, n=196):
    # landmark k of sample i sits at (k, 1000 * i): the pair is recoverable
    k = torch.arange(n, dtype=torch.float32)
    return torch.stack(
        [k.expand(b, n),
         1000. * torch.arange(b, dtype=torch.float32)[:, None].expand(b, n)],
        dim=-1)


def test_perturb_statistics_with_fixed_seed():
    lm = _landmarks(64, 196)
    gen = torch.Generator().manual_seed(0)
    out, ids = LandmarkPerturb(alpha=2.)(lm, generator=gen)
    noise = out - lm
    assert noise.mean().abs() < 0.03  # 25088 draws: std of mean 0.013
    assert noise.std().item() == pytest.approx(2., rel=0.02)
    assert torch.equal(ids, torch.arange(196).repeat(64, 1))
    again, _ = LandmarkPerturb(alpha=2.)(
        lm, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again, out)
    # x and y are perturbed independently
    corr = torch.corrcoef(noise.reshape(-1, 2).T)[0, 1]
    assert corr.abs() < 0.03
    assert torch.equal(LandmarkPerturb(alpha=0.)(lm)[0], lm)
    assert LandmarkPerturb().alpha == 2.  # the paper's best ablation


def test_shuffle_keeps_landmark_id_pairs():
    lm = _landmarks(3, 50)
    torch.manual_seed(0)
    out, ids = LandmarkShuffle()(lm)
    assert out.shape == lm.shape and ids.shape == (3, 50)
    for i in range(3):
        assert sorted(ids[i].tolist()) == list(range(50))  # a permutation
        assert not torch.equal(ids[i], torch.arange(50))
        # every token still carries its own landmark: x == id, y == 1000 i
        assert torch.equal(out[i, :, 0], ids[i].float())
        assert torch.all(out[i, :, 1] == 1000. * i)
    assert not torch.equal(ids[0], ids[1])  # one order per sample


def test_shuffle_then_subset_compose_ids():
    lm = _landmarks(2, 20)
    augs = build_landmark_augs([
        dict(type='LandmarkShuffle'),
        dict(type='LandmarkSubset', num=5, replace=False)
    ])
    torch.manual_seed(1)
    out, ids = apply_landmark_augs(augs, lm)
    assert out.shape == (2, 5, 2)
    assert torch.equal(out[..., 0], ids.float())
    # ids passed in are carried through, not renumbered
    out2, ids2 = LandmarkSubset(num=3)(lm[:, :4], torch.tensor(
        [[7, 8, 9, 10], [7, 8, 9, 10]]))
    assert set(ids2.flatten().tolist()) <= {7, 8, 9, 10}
    assert torch.equal(out2[..., 0] + 7, ids2.float())


def test_subset_keep_order_keeps_the_input_order():
    lm = _landmarks(3, 20)
    for replace in (True, False):
        torch.manual_seed(2)
        out, ids = LandmarkSubset(num=8, replace=replace,
                                  keep_order=True)(lm)
        assert torch.equal(ids, ids.sort(1).values)
        assert torch.equal(out[..., 0], ids.float())
        torch.manual_seed(2)
        _, drawn = LandmarkSubset(num=8, replace=replace)(lm)
        assert torch.equal(drawn.sort(1).values, ids)  # same draw
        assert not torch.equal(drawn, ids)  # random order by default


@pytest.mark.parametrize('replace', [True, False])
def test_subset_exactly_36(replace):
    lm = _landmarks(8, 196)
    torch.manual_seed(0)
    out, ids = LandmarkSubset(num=36, replace=replace)(lm)
    assert out.shape == (8, 36, 2) and ids.shape == (8, 36)
    assert torch.equal(out[..., 0], ids.float())
    assert ids.min() >= 0 and ids.max() < 196
    distinct = [len(set(row.tolist())) for row in ids]
    if replace:
        # 36 draws of 196 repeat at least once in ~97% of samples
        assert min(distinct) < 36
    else:
        assert distinct == [36] * 8


def test_subset_all_without_replacement_is_a_permutation():
    lm = _landmarks(2, 10)
    _, ids = LandmarkSubset(num=10, replace=False)(lm)
    assert [sorted(r.tolist()) for r in ids] == [list(range(10))] * 2


def test_clear_errors():
    with pytest.raises(ValueError, match='cannot draw 200 distinct landmarks '
                       'out of 196 without replacement'):
        LandmarkSubset(num=200, replace=False)(_landmarks(1, 196))
    out, _ = LandmarkSubset(num=200, replace=True)(_landmarks(1, 196))
    assert out.shape == (1, 200, 2)
    with pytest.raises(ValueError, match=r'expected a \(B, N, 2\) tensor .* '
                       r'shape \(4, 196\)'):
        LandmarkShuffle()(torch.zeros(4, 196))
    with pytest.raises(ValueError, match=r'ids must be \(B, N\) = \(2, 5\)'):
        check_landmarks(torch.zeros(2, 5, 2), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='num must be an integer >= 1'):
        LandmarkSubset(num=0)
    with pytest.raises(ValueError, match='alpha must be >= 0'):
        LandmarkPerturb(alpha=-1)
