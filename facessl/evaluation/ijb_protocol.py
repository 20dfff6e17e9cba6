"""The IJB-B / IJB-C template protocol as pure NumPy/SciPy functions.

The protocol is insightface's (``recognition/_evaluation_/ijb/ijb_11.py``
and ``ijb_1n.py``):

1. image feature: feature of the aligned image plus feature of its
   horizontal flip; *not* L2-normalised (insightface's default
   ``use_norm_score=True`` keeps the norm as a quality weight; optional
   normalisation), multiplied by the detector's face score (optional);
2. template feature: the images of a template are grouped by media (a
   still image, or the frames of one video); each media contributes the
   *mean* of its image features; the template feature is the *sum* of its
   media features, then L2-normalised;
3. 1:1 verification: the score of a template pair is the cosine
   similarity (dot product of normalised template features); the ROC is
   sklearn's ``roc_curve`` (see :func:`roc_curve`) and TAR@FAR is read off
   it (see :func:`tar_at_far`);
4. 1:N identification: see :func:`identification`.

Implementation (not insightface's loops): step 2 is one sparse matrix
product (image ``i`` of media ``m`` of template ``t`` has weight
``1 / |m|`` in row ``t``); step 3 scores the pairs block by block of
templates with one matrix product per block (or row-wise dot products
where the pairs of a block are sparse), in the features' dtype (float32
for model features, where insightface computes in float64), so memory is
bounded by ``block_rows x num_templates`` similarities; the ROC needs one
sort of the scores. ``tools/analysis/benchmark_eval.py`` checks the TARs
against insightface's own functions on IJB-C-sized data.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse


def media_weights(template_ids: np.ndarray,
                  media_ids: np.ndarray) -> Tuple[np.ndarray, np.ndarray,
                                                  np.ndarray]:
    """Group images by template and by (template, media).

    Args:
        template_ids (np.ndarray): (N,) template id of each image.
        media_ids (np.ndarray): (N,) media id of each image.

    Returns:
        tuple: sorted unique template ids (T,), the template row of each
        image (N,) int64, and ``1 / (images of its media in its
        template)`` for each image (N,) float64.
    """
    template_ids = np.asarray(template_ids)
    media_ids = np.asarray(media_ids)
    if template_ids.shape != media_ids.shape or template_ids.ndim != 1:
        raise ValueError(f'template_ids and media_ids must be (N,) arrays '
                         f'of one length, got {template_ids.shape} and '
                         f'{media_ids.shape}')
    templates, rows = np.unique(template_ids, return_inverse=True)
    _, media = np.unique(media_ids, return_inverse=True)
    key = rows.astype(np.int64) * (int(media.max()) + 1) + media
    _, group, counts = np.unique(key, return_inverse=True,
                                 return_counts=True)
    return templates, rows.astype(np.int64), 1.0 / counts[group]


def template_features(feats: np.ndarray,
                      template_ids: np.ndarray,
                      media_ids: np.ndarray,
                      face_scores: Optional[np.ndarray] = None,
                      normalize_image_feats: bool = False
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """L2-normalised template features: media means, summed per template.

    ``template(t) = normalize(sum_m mean_{i in m} w_i f_i)`` over the media
    ``m`` of template ``t``, with ``w_i`` the face score of image ``i``
    (1 without ``face_scores``) and ``f_i`` its feature, L2-normalised
    first if ``normalize_image_feats``. Computed as one sparse (T x N)
    by dense (N x D) product (SciPy) in the dtype of ``feats``; ``feats``
    is not copied. A template whose sum is zero stays zero.

    Args:
        feats (np.ndarray): (N, D) image features (flip-summed).
        template_ids (np.ndarray): (N,) template id of each image.
        media_ids (np.ndarray): (N,) media id of each image.
        face_scores (np.ndarray, optional): (N,) detector scores to weight
            the images with. Defaults to None.
        normalize_image_feats (bool): L2-normalise image features first.
            Defaults to False (insightface's ``use_norm_score=True``).

    Returns:
        tuple: sorted unique template ids (T,) and their features (T, D)
        in the dtype of ``feats``.
    """
    feats = np.ascontiguousarray(feats)
    if feats.ndim != 2 or len(feats) != len(template_ids):
        raise ValueError(f'feats must be (N, D) with N = '
                         f'{len(template_ids)} images, got {feats.shape}')
    templates, rows, weights = media_weights(template_ids, media_ids)
    if face_scores is not None:
        weights = weights * np.asarray(face_scores, np.float64)
    if normalize_image_feats:
        norms = np.sqrt(np.einsum('ij,ij->i', feats, feats, dtype=np.float64))
        weights = weights / np.maximum(norms, 1e-12)
    matrix = scipy.sparse.csr_matrix(
        (weights.astype(feats.dtype), (rows, np.arange(len(rows)))),
        shape=(len(templates), len(rows)))
    pooled = np.asarray(matrix @ feats)
    return templates, l2_normalize(pooled)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm, zero rows left at zero (in place)."""
    norms = np.sqrt(np.einsum('ij,ij->i', x, x))
    x /= np.where(norms > 0, norms, 1)[:, None]
    return x


def lookup(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions of ``ids`` in ``sorted_ids``; -1 where absent.

    A direct table indexed by id when the id range is no larger than the
    inputs (IJB's template ids), else a binary search.

    Args:
        sorted_ids (np.ndarray): (T,) sorted unique integer ids.
        ids (np.ndarray): integer ids to find.

    Returns:
        np.ndarray: int64 positions, -1 for ids not in ``sorted_ids``.
    """
    ids = np.asarray(ids)
    if not len(sorted_ids) or not ids.size:
        return np.full(ids.shape, -1, np.int64)
    low, high = int(sorted_ids[0]), int(sorted_ids[-1])
    if high - low <= ids.size + len(sorted_ids):
        table = np.full(high - low + 1, -1, np.int64)
        table[sorted_ids - low] = np.arange(len(sorted_ids))
        offset = ids.astype(np.int64) - low
        outside = (offset < 0) | (offset > high - low)
        np.clip(offset, 0, high - low, out=offset)
        found = table[offset]
        found[outside] = -1
        return found
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1).astype(np.int64)


def _compact(index: np.ndarray, num: int) -> Tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of ``index`` (in [0, num)) and the
    position of each entry among them."""
    present = np.zeros(num, bool)
    present[index] = True
    dtype = np.int32 if num < 2**31 else np.int64
    position = np.cumsum(present, dtype=dtype) - 1
    return np.flatnonzero(present), position[index]


def pair_scores(feats: np.ndarray,
                index1: np.ndarray,
                index2: np.ndarray,
                block_rows: int = 1024,
                gram_density: float = 1 / 32) -> np.ndarray:
    """Dot products ``feats[index1[k]] . feats[index2[k]]`` of many pairs.

    The pairs are scored block by block of "row" templates against the
    "column" templates with one matrix product per block, taking the
    cheaper of two layouts: rows = the templates of ``index1`` and columns
    = those of ``index2`` (IJB-C's pairs join 3.5 k gallery to 19.6 k probe
    templates), or, with ``index1 <= index2`` swapped in, rows = all
    templates and each block against the later ones only (a triangle).
    A block whose pairs fill less than ``gram_density`` of its product is
    scored with row-wise dot products of the gathered rows instead.
    Memory: one ``block_rows x columns`` block of similarities.

    Args:
        feats (np.ndarray): (T, D) features.
        index1 (np.ndarray): (P,) row of the first template of each pair.
        index2 (np.ndarray): (P,) row of the second.
        block_rows (int): rows per block. Defaults to 1024.
        gram_density (float): pair density above which a block uses a
            matrix product. Defaults to 1/32.

    Returns:
        np.ndarray: (P,) scores in the dtype of ``feats``.
    """
    feats = np.ascontiguousarray(feats)
    index1, index2 = np.asarray(index1), np.asarray(index2)
    num = len(feats)
    for index in (index1, index2):
        if len(index) and (index.min() < 0 or index.max() >= num):
            raise IndexError(f'pair rows must lie in [0, {num}), got '
                             f'[{index.min()}, {index.max()}]')
    rows_used, rows = _compact(index1, num)
    cols_used, cols = _compact(index2, num)
    triangle = len(rows_used) * len(cols_used) > num * (num + 1) // 2
    if triangle:
        used, both = _compact(np.concatenate([index1, index2]), num)
        first, second = both[:len(index1)], both[len(index1):]
        rows, cols = np.minimum(first, second), np.maximum(first, second)
        del both, first, second
        left = right = feats[used]
    else:
        left, right = feats[rows_used], feats[cols_used]
    del rows_used, cols_used
    num_blocks = -(-len(left) // block_rows)
    block = (rows // block_rows).astype(
        np.uint16 if num_blocks <= 2**16 else np.int64)
    order = np.argsort(block, kind='stable')
    bounds = np.searchsorted(block[order], np.arange(num_blocks + 1))
    del block
    scores = np.empty(len(rows), feats.dtype)
    for b in range(num_blocks):
        sel = order[bounds[b]:bounds[b + 1]]
        if not len(sel):
            continue
        start = b * block_rows
        first_col = start if triangle else 0
        r, c = rows[sel] - start, cols[sel] - first_col
        block_feats = left[start:start + block_rows]
        if len(sel) >= gram_density * len(block_feats) * (len(right) -
                                                          first_col):
            gram = block_feats @ right[first_col:].T
            scores[sel] = gram[r, c]
        else:
            for k in range(0, len(sel), 8192):
                scores[sel[k:k + 8192]] = np.einsum(
                    'ij,ij->i', block_feats[r[k:k + 8192]],
                    right[first_col + c[k:k + 8192]])
    return scores


def roc_curve(labels: np.ndarray,
              scores: np.ndarray,
              drop_intermediate: bool = True
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC points exactly as ``sklearn.metrics.roc_curve`` returns them.

    One point per distinct score ``s`` (descending): ``fps``/``tps`` count
    the negatives/positives scoring ``>= s``. With ``drop_intermediate``
    (sklearn's default, and what insightface uses) a point is dropped when
    both count sequences have a zero second difference there, i.e. equal
    steps before and after it; the first and last points stay. A point
    ``(0, 0)`` with threshold ``inf`` is prepended. ``fpr = fps / fps[-1]``
    and ``tpr = tps / tps[-1]`` in float64, so values are bit-identical
    to sklearn's.

    The counts come from one sort of the scores (no argsort): in ascending
    order, a distinct score starting at position ``g`` has ``P - g``
    scores ``>= s``, of which the genuine ones are those whose first
    occurrence in the sorted scores is at ``>= g``.

    Args:
        labels (np.ndarray): (P,) 1 genuine / 0 impostor (bool or int).
        scores (np.ndarray): (P,) similarity scores.
        drop_intermediate (bool): drop collinear equal-step points.
            Defaults to True.

    Returns:
        tuple: ``fpr``, ``tpr`` (float64) and ``thresholds`` (float64,
        ``inf`` first), one entry per ROC point.
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(f'labels and scores must be (P,) arrays of one '
                         f'length, got {labels.shape} and {scores.shape}')
    if np.isnan(scores).any():
        raise ValueError('scores contain NaN')
    num_pos = int(labels.sum())
    if num_pos == 0 or num_pos == len(labels):
        raise ValueError(f'a ROC needs genuine and impostor pairs, got '
                         f'{num_pos} genuine of {len(labels)}')
    ascending = np.sort(scores)
    new = np.empty(len(ascending), bool)
    new[0] = True
    np.not_equal(ascending[1:], ascending[:-1], out=new[1:])
    starts = np.flatnonzero(new)[::-1]  # descending distinct scores
    del new
    count = np.int32 if len(ascending) < 2**31 else np.int64
    genuine = np.zeros(len(ascending) + 1, count)
    np.add.at(genuine, np.searchsorted(ascending, scores[labels]), 1)
    at_or_above = np.cumsum(genuine[::-1], dtype=count)[::-1]
    tps = at_or_above[starts]
    del genuine, at_or_above
    fps = (len(ascending) - tps).astype(count)
    fps -= starts.astype(count)
    thresholds = ascending[starts]
    del ascending
    if drop_intermediate and len(fps) > 2:
        bend = (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0)
        keep = np.concatenate([[True], bend, [True]])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps = np.concatenate([[0], fps]).astype(np.float64)
    tps = np.concatenate([[0], tps]).astype(np.float64)
    thresholds = np.concatenate([[np.inf], thresholds.astype(np.float64)])
    return fps / fps[-1], tps / tps[-1], thresholds


def tar_at_far(labels: np.ndarray,
               scores: np.ndarray,
               far_targets: Sequence[float] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2,
                                               1e-1),
               mode: str = 'nearest') -> Dict[str, np.ndarray]:
    """True accept rate at given false accept rates.

    ``mode='nearest'`` (insightface's ``ijb_11.py``): on the ROC of
    :func:`roc_curve` with ``drop_intermediate=True``, take the point
    whose FAR is nearest the target (``|fpr - far|`` minimal); among equal
    distances the point with the highest TAR (insightface flips the arrays
    and takes the first minimum). The chosen FAR may exceed the target.

    ``mode='at_most'``: the loosest threshold whose FAR does not exceed the
    target, i.e. the highest TAR over all ROC points (none dropped) with
    ``fpr <= far``.

    Args:
        labels (np.ndarray): (P,) 1 genuine / 0 impostor.
        scores (np.ndarray): (P,) scores.
        far_targets (Sequence[float]): target FARs.
        mode (str): 'nearest' or 'at_most'. Defaults to 'nearest'.

    Returns:
        dict: ``tar``, ``far`` (of the chosen points) and ``threshold``,
        each (len(far_targets),).
    """
    if mode not in ('nearest', 'at_most'):
        raise ValueError(f"mode must be 'nearest' or 'at_most', got "
                         f'{mode!r}')
    fpr, tpr, thr = roc_curve(labels, scores, mode == 'nearest')
    picks = []
    for far in far_targets:
        if mode == 'nearest':
            dist = np.abs(fpr - far)
            picks.append(np.flatnonzero(dist == dist.min())[-1])
        else:
            picks.append(np.searchsorted(fpr, far, side='right') - 1)
    picks = np.array(picks, np.int64)
    return dict(tar=tpr[picks], far=fpr[picks], threshold=thr[picks])


def identification(probe_feats: np.ndarray,
                   probe_subjects: np.ndarray,
                   gallery_feats: np.ndarray,
                   gallery_subjects: np.ndarray,
                   ranks: Sequence[int] = (1, 5),
                   fpir_targets: Sequence[float] = (1e-2, 1e-1),
                   batch_size: int = 4096) -> Dict[str, np.ndarray]:
    """Open-set 1:N identification of probe templates in one gallery.

    Protocol (IJB-C mixed-media 1:N, Maze et al., ICB 2018; one gallery,
    e.g. G1, per call; each gallery subject has exactly one template):

    - a probe is *mated* if its subject is in the gallery, else
      *non-mated*; similarity is the cosine of template features;
    - closed set, over mated probes: the rank of a probe is 1 + the number
      of gallery templates scoring strictly higher than its mate (ties
      favour the mate); ``rank-k`` is the share with rank <= k;
    - open set: with ``M`` non-mated probes and target FPIR ``f``, at most
      ``k = floor(f M)`` may raise an alarm; the threshold ``tau`` is the
      (k+1)-th highest top-1 score of the non-mated probes (``-inf`` when
      ``k >= M``), so ``FPIR = #{top-1 > tau} / M <= f`` with the most
      alarms allowed. ``TPIR`` is the share of mated probes whose mate
      ranks first and scores ``> tau`` (NaN without mated or non-mated
      probes).

    Deviation: insightface's ``ijb_evals.py`` takes the k-th highest score
    as ``tau`` (its FPIR is ``(k - 1) / M``); ``ijb_1n.py`` only handles a
    gallery holding every probe subject (no non-mated probes).

    Args:
        probe_feats (np.ndarray): (Q, D) L2-normalised probe templates.
        probe_subjects (np.ndarray): (Q,) subject ids.
        gallery_feats (np.ndarray): (G, D) L2-normalised gallery templates.
        gallery_subjects (np.ndarray): (G,) unique subject ids.
        ranks (Sequence[int]): closed-set ranks. Defaults to (1, 5).
        fpir_targets (Sequence[float]): open-set FPIRs.
            Defaults to (0.01, 0.1).
        batch_size (int): probes per similarity block. Defaults to 4096.

    Returns:
        dict: ``rank_hits`` (len(ranks),) counts of mated probes within
        each rank, ``tpir`` and ``threshold`` (len(fpir_targets),),
        ``num_mated``, ``num_nonmated``.
    """
    gallery_subjects = np.asarray(gallery_subjects)
    subjects, first = np.unique(gallery_subjects, return_index=True)
    if len(subjects) != len(gallery_subjects):
        dup = gallery_subjects[np.setdiff1d(
            np.arange(len(gallery_subjects)), first)[0]]
        raise ValueError(f'gallery subject {dup} has several templates; '
                         'expected one template per gallery subject')
    mate = lookup(subjects, probe_subjects)
    mate = np.where(mate >= 0, first[np.maximum(mate, 0)], -1)
    mate_score = np.empty(len(mate), np.float64)
    rank = np.empty(len(mate), np.int64)
    top = np.empty(len(mate), np.float64)
    for start in range(0, len(mate), batch_size):
        sims = probe_feats[start:start + batch_size] @ gallery_feats.T
        m = mate[start:start + batch_size]
        own = sims[np.arange(len(sims)), np.maximum(m, 0)]
        mate_score[start:start + len(sims)] = own
        rank[start:start + len(sims)] = (sims > own[:, None]).sum(1)
        top[start:start + len(sims)] = sims.max(1)
    mated = mate >= 0
    rank, mate_score = rank[mated], mate_score[mated]
    nonmated_top = np.sort(top[~mated])[::-1]
    thresholds, tpir = [], []
    for fpir in fpir_targets:
        if not len(nonmated_top) or not len(rank):
            thresholds.append(np.nan)
            tpir.append(np.nan)
            continue
        k = int(np.floor(fpir * len(nonmated_top) + 1e-9))
        tau = nonmated_top[k] if k < len(nonmated_top) else -np.inf
        thresholds.append(tau)
        tpir.append(((rank == 0) & (mate_score > tau)).sum() / len(rank))
    return dict(
        rank_hits=np.array([(rank < r).sum() for r in ranks], np.int64),
        tpir=np.array(tpir),
        threshold=np.array(thresholds),
        num_mated=int(mated.sum()),
        num_nonmated=int((~mated).sum()))
