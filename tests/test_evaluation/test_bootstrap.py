"""Bootstrap intervals on data whose answer is known by hand."""
import pytest
import torch

from facessl.evaluation.bootstrap import bootstrap_ci, paired_bootstrap_ci


def test_constant_values_have_a_zero_width_interval():
    assert bootstrap_ci([1., 1., 1.]) == (1., 1., 1.)
    assert bootstrap_ci(torch.zeros(7)) == (0., 0., 0.)


def test_two_items_give_the_full_range():
    # a resample of [0, 1] has mean 0 (p = 1/4), 1/2 (p = 1/2) or 1
    # (p = 1/4): the 2.5 % quantile is 0 and the 97.5 % quantile is 1
    mean, low, high = bootstrap_ci([0., 1.], num_resamples=2000)
    assert (mean, low, high) == (0.5, 0., 1.)
    # a 40 % interval lies inside the middle atom
    assert bootstrap_ci([0., 1.], num_resamples=2000,
                        confidence=0.4) == (0.5, 0.5, 0.5)


def test_interval_matches_a_naive_loop():
    values = torch.tensor([1., 0., 1., 1., 0., 1., 0., 1., 1., 1.])
    _, low, high = bootstrap_ci(values, num_resamples=500, seed=3)
    gen = torch.Generator().manual_seed(3)
    idx = torch.randint(10, (500, 10), generator=gen)
    means = sorted(float(values[row].mean()) for row in idx)
    # torch.quantile's linear interpolation at positions 0.025 * 499 and
    # 0.975 * 499
    pos_lo, pos_hi = 0.025 * 499, 0.975 * 499
    naive_lo = means[int(pos_lo)] + (pos_lo % 1) * (
        means[int(pos_lo) + 1] - means[int(pos_lo)])
    naive_hi = means[int(pos_hi)] + (pos_hi % 1) * (
        means[int(pos_hi) + 1] - means[int(pos_hi)])
    assert low == pytest.approx(naive_lo)
    assert high == pytest.approx(naive_hi)
    assert low < 0.7 < high


def test_paired_difference():
    same = [1., 0., 1., 0.]
    assert paired_bootstrap_ci(same, same) == (0., 0., 0.)
    # b always wrong where a is right: the difference is a itself
    mean, low, high = paired_bootstrap_ci([1., 0.], [0., 0.],
                                          num_resamples=2000)
    assert (mean, low, high) == (0.5, 0., 1.)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match='empty'):
        bootstrap_ci([])
    with pytest.raises(ValueError, match='non-finite'):
        bootstrap_ci([1., float('nan')])
    with pytest.raises(ValueError, match='confidence'):
        bootstrap_ci([1., 0.], confidence=1.)
    with pytest.raises(ValueError, match='num_resamples'):
        bootstrap_ci([1., 0.], num_resamples=0)
    with pytest.raises(ValueError, match='same items'):
        paired_bootstrap_ci([1., 0.], [1., 0., 1.])
