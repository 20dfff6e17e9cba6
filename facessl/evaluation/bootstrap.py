"""Bootstrap confidence intervals of a mean and of a paired difference.

Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13
(percentile interval): resample the evaluation items with replacement,
recompute the statistic, and take the ``(1 - confidence) / 2`` and
``(1 + confidence) / 2`` quantiles of the resampled statistics. Used to
compare per-query kNN correctness of two feature extractors on the same
queries (:func:`paired_bootstrap_ci`).
"""
from typing import Tuple

import torch


def _check(values: torch.Tensor, name: str) -> torch.Tensor:
    values = torch.as_tensor(values, dtype=torch.float64).flatten()
    if values.numel() == 0:
        raise ValueError(f'bootstrap: {name} is empty')
    if not torch.isfinite(values).all():
        raise ValueError(f'bootstrap: {name} holds non-finite values')
    return values


def _resampled_means(values: torch.Tensor, num_resamples: int,
                     seed: int) -> torch.Tensor:
    if num_resamples < 1:
        raise ValueError(
            f'bootstrap: num_resamples must be >= 1, got {num_resamples}')
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(
        len(values), (num_resamples, len(values)), generator=gen)
    return values[idx].mean(1)


def _interval(means: torch.Tensor, confidence: float) -> Tuple[float, float]:
    if not 0. < confidence < 1.:
        raise ValueError(
            f'bootstrap: confidence must be in (0, 1), got {confidence}')
    low, high = torch.quantile(
        means, torch.tensor([(1 - confidence) / 2, (1 + confidence) / 2],
                            dtype=means.dtype))
    return float(low), float(high)


def bootstrap_ci(values,
                 num_resamples: int = 1000,
                 confidence: float = 0.95,
                 seed: int = 0) -> Tuple[float, float, float]:
    """Mean of ``values`` and its percentile bootstrap interval.

    Args:
        values (Tensor | Sequence[float]): one value per evaluation item,
            e.g. 1/0 for a correct/wrong kNN query.
        num_resamples (int): bootstrap resamples. Defaults to 1000.
        confidence (float): interval coverage. Defaults to 0.95.
        seed (int): seed of the resampling. Defaults to 0.

    Returns:
        tuple: ``(mean, low, high)``.
    """
    values = _check(values, 'values')
    means = _resampled_means(values, num_resamples, seed)
    return (float(values.mean()), ) + _interval(means, confidence)


def paired_bootstrap_ci(a,
                        b,
                        num_resamples: int = 1000,
                        confidence: float = 0.95,
                        seed: int = 0) -> Tuple[float, float, float]:
    """Mean of ``a - b`` over the same items and its bootstrap interval.

    Items are resampled jointly, so the interval accounts for items that
    are easy or hard for both (a paired comparison).

    Args:
        a (Tensor | Sequence[float]): per-item values of the first system.
        b (Tensor | Sequence[float]): per-item values of the second system,
            same items and order.
        num_resamples (int): bootstrap resamples. Defaults to 1000.
        confidence (float): interval coverage. Defaults to 0.95.
        seed (int): seed of the resampling. Defaults to 0.

    Returns:
        tuple: ``(mean difference, low, high)``.
    """
    a, b = _check(a, 'a'), _check(b, 'b')
    if a.shape != b.shape:
        raise ValueError(f'paired bootstrap: a has {len(a)} items but b has '
                         f'{len(b)}; pass values of the same items')
    return bootstrap_ci(a - b, num_resamples, confidence, seed)
