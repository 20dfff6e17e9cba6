"""Face verification on pair sets as pure NumPy functions.

The protocol of insightface's ``recognition/arcface_torch/eval/
verification.py`` (``test``, ``evaluate``, ``calculate_roc``,
``calculate_val``), as reported for LFW, CFP-FP and AgeDB-30, with one
deliberate deviation: TAR@FAR is cross-validated on *stratified* folds
(:func:`stratified_test_indices`) so that a pair list in any order gives
a number; accuracy keeps insightface's contiguous folds.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: Thresholds searched for the best accuracy (``calculate_roc``).
ACCURACY_THRESHOLDS = np.arange(0, 4, 0.01)
#: Thresholds on which the training-fold FAR is interpolated
#: (``calculate_val``).
FAR_THRESHOLDS = np.arange(0, 4, 0.001)


def flip_pooled_embeddings(feats: np.ndarray,
                           flipped: Optional[np.ndarray] = None
                           ) -> np.ndarray:
    """Per-image embeddings: ``normalize(f(x) + f(flip(x)))``.

    The raw features of an image and of its horizontal flip are summed
    first and the sum is L2-normalised (not each feature before summing).
    A zero row stays zero, as ``sklearn.preprocessing.normalize`` leaves
    it.

    Args:
        feats (np.ndarray): (N, D) features of the original images.
        flipped (np.ndarray, optional): (N, D) features of their flips;
            None for no flip test.

    Returns:
        np.ndarray: (N, D) float64 unit (or zero) rows.
    """
    emb = np.asarray(feats, np.float64)
    if flipped is not None:
        emb = emb + np.asarray(flipped, np.float64)
    norm = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.where(norm > 0, norm, 1.)


def pair_distances(embeddings: np.ndarray) -> np.ndarray:
    """Squared L2 distance of rows ``2p`` and ``2p + 1`` (pair ``p``).

    Args:
        embeddings (np.ndarray): (2P, D) embeddings.

    Returns:
        np.ndarray: (P,) distances, in [0, 4] for unit embeddings.
    """
    diff = embeddings[0::2] - embeddings[1::2]
    return np.square(diff).sum(1)


def kfold_test_indices(num: int, num_folds: int) -> List[np.ndarray]:
    """Contiguous folds like ``sklearn.model_selection.KFold(num_folds)``
    without shuffling: the first ``num % num_folds`` folds get one extra
    item.

    Args:
        num (int): number of pairs.
        num_folds (int): number of folds K, at most ``num``.

    Returns:
        list[np.ndarray]: the K test index arrays, in order.
    """
    if not 2 <= num_folds <= num:
        raise ValueError(f'{num_folds} folds need 2 <= folds <= number of '
                         f'pairs, got {num} pairs')
    return np.array_split(np.arange(num), num_folds)


def _count_below(sorted_values: np.ndarray,
                 thresholds: np.ndarray) -> np.ndarray:
    """How many of ``sorted_values`` are ``< t`` for each threshold t."""
    return np.searchsorted(sorted_values, thresholds, side='left')


def accuracy_curve(dist: np.ndarray, issame: np.ndarray,
                   thresholds: np.ndarray) -> np.ndarray:
    """Accuracy of predicting "same" iff ``dist < t``, for every t.

    Equal to comparing ``dist[None] < thresholds[:, None]`` but counted
    with binary search on the sorted distances, so memory stays O(N + T).

    Args:
        dist (np.ndarray): (N,) pair distances.
        issame (np.ndarray): (N,) bool ground truth.
        thresholds (np.ndarray): (T,) thresholds.

    Returns:
        np.ndarray: (T,) accuracies in [0, 1].
    """
    true_accepts = _count_below(np.sort(dist[issame]), thresholds)
    false_accepts = _count_below(np.sort(dist[~issame]), thresholds)
    true_rejects = (~issame).sum() - false_accepts
    return (true_accepts + true_rejects) / len(dist)


def far_curve(dist: np.ndarray, issame: np.ndarray,
              thresholds: np.ndarray) -> np.ndarray:
    """False accept rate ``#{different, dist < t} / #different`` per t
    (all zero without different pairs).

    Args:
        dist (np.ndarray): (N,) pair distances.
        issame (np.ndarray): (N,) bool ground truth.
        thresholds (np.ndarray): (T,) thresholds.

    Returns:
        np.ndarray: (T,) non-decreasing FARs in [0, 1].
    """
    num_diff = (~issame).sum()
    accepts = _count_below(np.sort(dist[~issame]), thresholds)
    return accepts / num_diff if num_diff else np.zeros(len(thresholds))


def threshold_at_far(far: np.ndarray, thresholds: np.ndarray,
                     far_target: float) -> float:
    """The threshold where a FAR curve reaches ``far_target``.

    As insightface's ``calculate_val``: 0 (accept nothing) if the FAR never
    reaches the target, else linear interpolation of threshold against
    FAR. insightface calls ``scipy.interpolate.interp1d(far, thresholds,
    kind='slinear')``, which SciPy >= 1.9 refuses because FAR values
    repeat (insightface issue #2152); here the tie rule is explicit: take
    the largest threshold whose FAR is <= the target and, if its FAR is
    below the target, interpolate towards the next threshold.

    Args:
        far (np.ndarray): (T,) non-decreasing FAR per threshold.
        thresholds (np.ndarray): (T,) increasing thresholds.
        far_target (float): the FAR to reach.

    Returns:
        float: the threshold.
    """
    if far.max() < far_target:
        return 0.
    i = int(np.searchsorted(far, far_target, side='right')) - 1
    if i < 0:
        raise ValueError(f'FAR {far[0]} at the smallest threshold '
                         f'{thresholds[0]} already exceeds {far_target}')
    if far[i] == far_target or i == len(far) - 1:
        return float(thresholds[i])
    step = (far_target - far[i]) / (far[i + 1] - far[i])
    return float(thresholds[i] + step * (thresholds[i + 1] - thresholds[i]))


def verification_accuracy(dist: np.ndarray,
                          issame: np.ndarray,
                          num_folds: int = 10,
                          thresholds: np.ndarray = ACCURACY_THRESHOLDS
                          ) -> Tuple[np.ndarray, np.ndarray]:
    """Per-fold accuracy with the threshold chosen on the other folds.

    For each of ``num_folds`` contiguous folds, the threshold with the best
    accuracy on the other folds (the smallest one on ties, as
    ``np.argmax``) predicts "same" iff ``dist < threshold`` on the fold.

    Args:
        dist (np.ndarray): (N,) pair distances.
        issame (np.ndarray): (N,) bool ground truth.
        num_folds (int): folds. Defaults to 10.
        thresholds (np.ndarray): candidate thresholds. Defaults to
            ``np.arange(0, 4, 0.01)``.

    Returns:
        tuple: (K,) accuracies in [0, 1] and (K,) chosen thresholds.
    """
    accs, best = [], []
    for test in kfold_test_indices(len(dist), num_folds):
        train = np.ones(len(dist), bool)
        train[test] = False
        t = thresholds[np.argmax(
            accuracy_curve(dist[train], issame[train], thresholds))]
        accs.append(accuracy_curve(dist[test], issame[test], t[None])[0])
        best.append(t)
    return np.array(accs), np.array(best)


def stratified_test_indices(issame: np.ndarray,
                            num_folds: int) -> List[np.ndarray]:
    """Folds holding the same share of same and of different pairs.

    The same pairs, in file order, are cut into ``K`` contiguous groups
    (:func:`kfold_test_indices`), and so are the different pairs; fold
    ``k`` is group ``k`` of each. ``K`` is ``num_folds``, or fewer if a
    class has fewer pairs, so every fold holds both kinds. On LFW's and
    AgeDB-30's files (each contiguous tenth holds as many same as
    different pairs) these are insightface's contiguous folds; a list
    with all same pairs first gets balanced folds instead of folds
    without different pairs.

    Args:
        issame (np.ndarray): (N,) bool ground truth.
        num_folds (int): folds wanted (>= 2).

    Returns:
        list[np.ndarray]: the sorted test indices of each fold; empty if
        there are fewer than 2 same or 2 different pairs.
    """
    issame = np.asarray(issame, bool)
    same, diff = np.flatnonzero(issame), np.flatnonzero(~issame)
    folds = min(num_folds, len(same), len(diff))
    if folds < 2:
        return []
    return [
        np.sort(np.concatenate([s, d]))
        for s, d in zip(np.array_split(same, folds),
                        np.array_split(diff, folds))
    ]


def tar_at_far(dist: np.ndarray,
               issame: np.ndarray,
               far_target: float = 1e-3,
               num_folds: int = 10,
               thresholds: np.ndarray = FAR_THRESHOLDS
               ) -> Tuple[np.ndarray, np.ndarray]:
    """Per-fold TAR (insightface's "VAL") at a FAR set on the other folds.

    The pairs are split into stratified folds
    (:func:`stratified_test_indices`; insightface uses contiguous ones,
    which leave a fold without different pairs, so TAR undefined, when a
    list gives all same pairs first). For each fold, the threshold where
    the other folds' FAR reaches ``far_target`` (:func:`threshold_at_far`
    on ``thresholds``) gives the fold's TAR ``#{same, dist < t} / #same``
    and FAR ``#{different, dist < t} / #different``.

    Args:
        dist (np.ndarray): (N,) pair distances.
        issame (np.ndarray): (N,) bool ground truth.
        far_target (float): target FAR. Defaults to 1e-3.
        num_folds (int): folds. Defaults to 10.
        thresholds (np.ndarray): FAR curve thresholds. Defaults to
            ``np.arange(0, 4, 0.001)``.

    Returns:
        tuple: (K,) TARs and (K,) FARs of the test folds, in [0, 1]; one
        NaN each when the set has fewer than 2 same or 2 different pairs
        (no TAR@FAR can be estimated).
    """
    issame = np.asarray(issame, bool)
    folds = stratified_test_indices(issame, num_folds)
    if not folds:
        return np.array([np.nan]), np.array([np.nan])
    tars, fars = [], []
    for test in folds:
        train = np.ones(len(dist), bool)
        train[test] = False
        t = threshold_at_far(
            far_curve(dist[train], issame[train], thresholds), thresholds,
            far_target)
        accept, same = dist[test] < t, issame[test]
        tars.append(accept[same].mean())
        fars.append(accept[~same].mean())
    return np.array(tars), np.array(fars)


def far_name(far: float) -> str:
    """Short FAR spelling for metric keys: 1e-3 -> ``'1e-3'``."""
    return np.format_float_scientific(far, trim='-', exp_digits=1)


def evaluate_verification(dist: np.ndarray,
                          issame: np.ndarray,
                          num_folds: int = 10,
                          far_targets: Sequence[float] = (1e-3, )
                          ) -> Dict[str, float]:
    """All verification numbers of one pair set.

    Args:
        dist (np.ndarray): (N,) squared L2 distances of unit embeddings.
        issame (np.ndarray): (N,) bool ground truth.
        num_folds (int): folds. Defaults to 10.
        far_targets (Sequence[float]): FARs for TAR. Defaults to (1e-3,).

    Returns:
        dict: ``accuracy`` and ``accuracy_std`` (mean and population std
        over folds, %), ``threshold`` (mean chosen threshold) and
        ``tar@far=1e-3`` (mean TAR over folds, %) per FAR target.
    """
    issame = np.asarray(issame, bool)
    accs, thresholds = verification_accuracy(dist, issame, num_folds)
    out = dict(
        accuracy=float(accs.mean() * 100),
        accuracy_std=float(accs.std() * 100),
        threshold=float(thresholds.mean()))
    for far in far_targets:
        tars, _ = tar_at_far(dist, issame, far, num_folds)
        out[f'tar@far={far_name(far)}'] = float(tars.mean() * 100)
    return out
