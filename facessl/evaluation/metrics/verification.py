"""Face verification on pair sets: 10-fold accuracy and TAR@FAR.

The metric behind insightface's LFW / CFP-FP / AgeDB-30 numbers; the
protocol itself is :mod:`facessl.evaluation.verification_protocol`.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from facessl.registry import METRICS

from ..verification_protocol import (  # noqa: F401 (public names)
    ACCURACY_THRESHOLDS, FAR_THRESHOLDS, accuracy_curve,
    evaluate_verification, far_curve, far_name, flip_pooled_embeddings,
    kfold_test_indices, pair_distances, stratified_test_indices, tar_at_far,
    threshold_at_far, verification_accuracy)


def gather_set(records: Sequence[dict],
               set_name: str,
               num_pairs: Optional[int] = None
               ) -> Tuple[np.ndarray, Optional[np.ndarray], np.ndarray]:
    """Order one set's per-image results into pairs and check them.

    Images are sorted by ``img_index``; pair ``p`` holds the two images
    whose ``pair_index`` is ``p``. Either every image has a flipped copy or
    none has.

    Args:
        records (Sequence[dict]): ``feat`` (D,) tensor/array,
            ``img_index``, ``flip``, ``pair_index``, ``issame`` per image.
        set_name (str): the set, for errors.
        num_pairs (int, optional): pairs the set must have; default: as
            many as found (0..P-1 with none missing).

    Returns:
        tuple: (2P, D) original features, (2P, D) flipped features or
        None, (P,) bool ``issame``.

    Raises:
        ValueError: an image appears twice or lacks its original or
            flipped copy, a pair lacks an image, or pairs are missing.
    """
    where = f'VerificationMetric: set {set_name!r}'
    by_key = {}
    for rec in records:
        key = (rec['img_index'], rec['flip'])
        if key in by_key:
            raise ValueError(f'{where}: image {key[0]} '
                             f'({"flipped" if key[1] else "original"}) '
                             'was evaluated twice')
        by_key[key] = rec
    images = sorted({img for img, _ in by_key})
    with_flip = any(flip for _, flip in by_key)
    pairs = {}
    for img in images:
        absent = [name for flip, name in ((False, 'original'),
                                          (True, 'flipped'))
                  if (img, flip) not in by_key and (with_flip or not flip)]
        if absent:
            raise ValueError(
                f'{where}: the {absent[0]} copy of image {img} is missing; '
                'with flip_test every image needs both its original and '
                'its flipped copy')
        pairs.setdefault(by_key[(img, False)]['pair_index'], []).append(img)
    num_pairs = len(pairs) if num_pairs is None else num_pairs
    missing = sorted(set(range(num_pairs)) - set(pairs))
    extra = sorted(set(pairs) - set(range(num_pairs)))
    if missing or extra:
        raise ValueError(f'{where}: expected pairs 0..{num_pairs - 1}; '
                         f'missing {missing[:5]}, unexpected {extra[:5]}')
    order, issame = [], []
    for p in range(num_pairs):
        if len(pairs[p]) != 2:
            raise ValueError(f'{where}: pair {p} has images {pairs[p]}, '
                             'expected exactly 2')
        flags = {bool(by_key[(img, False)]['issame']) for img in pairs[p]}
        if len(flags) != 1:
            raise ValueError(f'{where}: the images of pair {p} disagree '
                             'on issame')
        order.extend(pairs[p])
        issame.append(flags.pop())

    def stack(flip):
        return np.stack(
            [np.asarray(by_key[(img, flip)]['feat']) for img in order])

    return (stack(False), stack(True) if with_flip else None,
            np.array(issame, bool))


def _scalar(value):
    """A Python scalar from a scalar, 0-d/1-element tensor or array."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.reshape(-1)[0].item()
    return value


@METRICS.register_module()
class VerificationMetric(BaseMetric):
    """10-fold verification accuracy and TAR@FAR on pair sets.

    Protocol (insightface ``recognition/arcface_torch/eval/
    verification.py``), per set (``set_name``):

    1. embedding of an image = ``L2-normalise(f(x) + f(flip(x)))`` with
       the raw features ``feat`` of the model (flip sum *before*
       normalising); ``normalise(f(x))`` if the data set has no flipped
       copies (``flip_test=False``);
    2. distance of a pair = squared L2 distance of its two embeddings;
       "same" is predicted iff ``distance < threshold``;
    3. the pairs are split into ``num_folds`` contiguous folds (KFold, no
       shuffle); for each fold the threshold in ``np.arange(0, 4, 0.01)``
       with the best accuracy on the other folds (the first on ties) is
       applied to it; ``accuracy``/``accuracy_std`` are the mean and
       population std of the fold accuracies (%), ``threshold`` the mean
       chosen threshold;
    4. ``tar@far=1e-3``: on *stratified* folds (the same pairs cut into
       ``num_folds`` contiguous groups, the different pairs too, fold k
       = group k of each; see :func:`stratified_test_indices`), the
       threshold where the other folds' FAR curve on
       ``np.arange(0, 4, 0.001)`` reaches the target (linear
       interpolation, see :func:`threshold_at_far` for the tie rule
       insightface's SciPy call leaves undefined) gives the fold's TAR;
       the key is the mean TAR (%). On LFW's and AgeDB-30's files these
       are insightface's contiguous folds; unlike those, they give a
       number for a pair list in any order (e.g. all same pairs first).
       NaN only for a set with fewer than 2 same or 2 different pairs.

    Keys: ``<set>/accuracy``, ``<set>/accuracy_std``, ``<set>/threshold``,
    ``<set>/tar@far=1e-3`` per set and, with several sets,
    ``mean/accuracy`` and ``mean/tar@far=...`` over sets.

    Each prediction needs ``feat`` and the meta keys of
    :class:`~facessl.datasets.VerificationBin` (``img_index``, ``flip``,
    ``set_name``, ``pair_index``, ``issame``; pack them with
    ``PackInputs(meta_keys=...)``). Results gathered from all ranks are
    sorted by ``img_index``, so their order does not matter; a missing
    or repeated image is an error. If ``dataset_meta`` has ``set_names``
    and ``num_pairs`` (VerificationBin's metainfo), every set must be
    complete.

    Args:
        num_folds (int): folds. Defaults to 10.
        far_targets (Sequence[float]): FARs for TAR@FAR. Defaults to
            ``(1e-3,)``.
        feat_key (str): prediction field holding the feature. Defaults to
            'feat'.
        collect_device (str): 'cpu' or 'gpu' for gathering results.
            Defaults to 'cpu'.
        prefix (str, optional): metric name prefix before the set name.
            Defaults to None (keys like ``lfw/accuracy``).
    """
    META_KEYS = ('img_index', 'flip', 'set_name', 'pair_index', 'issame')
    default_prefix = ''  # keys start with the set name

    def __init__(self,
                 num_folds: int = 10,
                 far_targets: Sequence[float] = (1e-3, ),
                 feat_key: str = 'feat',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if int(num_folds) != num_folds or num_folds < 2 or any(
                not 0 < f < 1 for f in far_targets):
            raise ValueError(
                'VerificationMetric: expected an integer num_folds >= 2 '
                f'and far_targets in (0, 1), got num_folds={num_folds}, '
                f'far_targets={far_targets}')
        self.num_folds = int(num_folds)
        self.far_targets = tuple(float(f) for f in far_targets)
        self.feat_key = feat_key

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store the feature and pair metadata of each image.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples (Sequence[dict | DataSample]): predictions with a
                1-D ``feat`` and the meta keys listed in the class doc.
        """
        for sample in data_samples:
            feat = sample.get(self.feat_key)
            missing = [k for k in self.META_KEYS if sample.get(k) is None]
            if not isinstance(feat, torch.Tensor) or missing:
                raise KeyError(
                    f"VerificationMetric: each prediction needs a tensor "
                    f"'{self.feat_key}' and the meta keys {self.META_KEYS}"
                    f' (missing {missing}); pack them with PackInputs('
                    f'meta_keys={self.META_KEYS}). Got keys '
                    f'{sorted(sample.keys())}')
            self.results.append(
                dict(
                    feat=feat.detach().float().flatten().cpu(),
                    img_index=int(_scalar(sample.get('img_index'))),
                    flip=bool(_scalar(sample.get('flip'))),
                    set_name=str(sample.get('set_name')),
                    pair_index=int(_scalar(sample.get('pair_index'))),
                    issame=bool(_scalar(sample.get('issame')))))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score every set found in ``results``.

        Args:
            results (list[dict]): per-image records from :meth:`process`.

        Returns:
            dict: the keys listed in the class docstring.
        """
        sets = {}
        for rec in sorted(results, key=lambda r: r['img_index']):
            sets.setdefault(rec['set_name'], []).append(rec)
        meta = self.dataset_meta or {}
        expected = dict(
            zip(meta.get('set_names', ()), meta.get('num_pairs', ())))
        absent = [name for name in expected if name not in sets]
        if absent:
            raise ValueError(f'VerificationMetric: sets {absent} of the '
                             'data set produced no predictions')
        if len(sets) > 1 and 'mean' in sets:
            raise ValueError("VerificationMetric: a set named 'mean' "
                             'clashes with the mean/... keys; rename the '
                             'file')
        out, per_set = {}, []
        for name, records in sets.items():
            feats, flipped, issame = gather_set(records, name,
                                                expected.get(name))
            dist = pair_distances(flip_pooled_embeddings(feats, flipped))
            scores = evaluate_verification(dist, issame, self.num_folds,
                                           self.far_targets)
            per_set.append(scores)
            out.update({f'{name}/{k}': v for k, v in scores.items()})
        if len(per_set) > 1:
            for key in per_set[0]:
                if key == 'accuracy' or key.startswith('tar@'):
                    out[f'mean/{key}'] = float(
                        np.mean([s[key] for s in per_set]))
        return out
