"""Weighted k-nearest-neighbour accuracy of frozen features (DINO protocol)."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from facessl.registry import METRICS
from .splits import feature_record, train_test_masks


def weighted_knn_scores(query: torch.Tensor,
                        bank: torch.Tensor,
                        bank_labels: torch.Tensor,
                        num_classes: int,
                        k: int,
                        temperature: float,
                        exclude: Optional[torch.Tensor] = None
                        ) -> torch.Tensor:
    """Class scores of a weighted kNN vote (DINO, Caron et al. 2021).

    The ``k`` rows of ``bank`` most similar to a query (dot product, i.e.
    cosine similarity for L2-normalised rows) each vote for their class with
    weight ``exp(sim / temperature)``; a class's score is the sum of its
    votes.

    Args:
        query (torch.Tensor): (Q, D) L2-normalised query features.
        bank (torch.Tensor): (N, D) L2-normalised reference features.
        bank_labels (torch.Tensor): (N,) class indices in [0, num_classes).
        num_classes (int): number of classes C.
        k (int): number of neighbours, at most the number of candidates.
        temperature (float): T in ``exp(sim / T)``.
        exclude (torch.Tensor, optional): (Q,) index into ``bank`` that each
            query may not pick (itself, for leave-one-out). Defaults to None.

    Returns:
        torch.Tensor: (Q, C) class scores; classes without a vote score 0.
    """
    sim = query @ bank.t()
    if exclude is not None:
        sim[torch.arange(len(query)), exclude] = float('-inf')
    top_sim, top_idx = sim.topk(k, dim=1)
    weights = (top_sim / temperature).exp()
    scores = query.new_zeros(len(query), num_classes)
    return scores.scatter_add_(1, bank_labels[top_idx], weights)


def true_class_rank(scores: torch.Tensor,
                    labels: torch.Tensor) -> torch.Tensor:
    """Rank (0 = best) of the true class in each row of ``scores``.

    Ties go to the lower class index, as a stable descending sort would.
    A true class without any vote (score 0) gets rank ``C``: it never counts
    as a correct prediction.

    Args:
        scores (torch.Tensor): (Q, C) class scores.
        labels (torch.Tensor): (Q,) true class indices.

    Returns:
        torch.Tensor: (Q,) long ranks.
    """
    true = scores.gather(1, labels[:, None])
    cls = torch.arange(scores.shape[1], device=scores.device)[None]
    rank = (scores > true).sum(1) + ((scores == true) &
                                     (cls < labels[:, None])).sum(1)
    return torch.where(true[:, 0] > 0, rank, scores.shape[1])


def knn_accuracy(feats: torch.Tensor,
                 labels: torch.Tensor,
                 k: int = 20,
                 temperature: float = 0.07,
                 topk: Sequence[int] = (1, ),
                 leave_one_out: bool = True,
                 batch_size: int = 256) -> Dict[str, float]:
    """Weighted kNN top-k accuracy of a set of features against itself.

    Every sample queries all samples of the set (all *other* samples with
    ``leave_one_out``) in batches of ``batch_size`` queries, so memory stays
    at ``batch_size x N`` similarities.

    Args:
        feats (torch.Tensor): (N, D) features; L2-normalised here.
        labels (torch.Tensor): (N,) integer labels (any values).
        k (int): neighbours; capped at the number of candidates.
        temperature (float): vote temperature T. Defaults to 0.07.
        topk (Sequence[int]): accuracies to report. Defaults to (1,).
        leave_one_out (bool): exclude each query from its own neighbours.
            Defaults to True.
        batch_size (int): queries per similarity block. Defaults to 256.

    Returns:
        dict: ``{'top1': acc, ...}`` in percent.
    """
    n = len(feats)
    candidates = n - 1 if leave_one_out else n
    if candidates < 1:
        raise ValueError(f'kNN accuracy needs at least 2 samples with '
                         f'leave_one_out=True, got {n}')
    feats = F.normalize(feats.float(), dim=1)
    classes, labels = torch.unique(labels, return_inverse=True)
    rank = _true_ranks(feats, labels, feats, labels, len(classes),
                       min(k, candidates), temperature, batch_size,
                       leave_one_out)
    return {f'top{t}': (rank < t).float().mean().item() * 100 for t in topk}


def knn_correct(feats: torch.Tensor,
                labels: torch.Tensor,
                k: int = 20,
                temperature: float = 0.07,
                batch_size: int = 256) -> torch.Tensor:
    """Per-query top-1 correctness of leave-one-out weighted kNN.

    The queries of :func:`knn_accuracy` (``leave_one_out=True``), one
    boolean each, so that two feature extractors can be compared on the
    same queries (e.g. with :func:`facessl.evaluation.bootstrap.
    paired_bootstrap_ci`); ``knn_correct(...).float().mean() * 100`` is
    ``knn_accuracy(...)['top1']``.

    Args:
        feats (torch.Tensor): (N, D) features; L2-normalised here.
        labels (torch.Tensor): (N,) integer labels (any values).
        k (int): neighbours; capped at N - 1. Defaults to 20.
        temperature (float): vote temperature T. Defaults to 0.07.
        batch_size (int): queries per similarity block. Defaults to 256.

    Returns:
        torch.Tensor: (N,) bool, whether each query's identity ranks first.
    """
    if len(feats) < 2:
        raise ValueError(f'kNN accuracy needs at least 2 samples with '
                         f'leave_one_out=True, got {len(feats)}')
    feats = F.normalize(feats.float(), dim=1)
    classes, labels = torch.unique(labels, return_inverse=True)
    rank = _true_ranks(feats, labels, feats, labels, len(classes),
                       min(k, len(feats) - 1), temperature, batch_size,
                       leave_one_out=True)
    return rank == 0


def knn_bank_accuracy(bank_feats: torch.Tensor,
                      bank_labels: torch.Tensor,
                      query_feats: torch.Tensor,
                      query_labels: torch.Tensor,
                      k: int = 20,
                      temperature: float = 0.07,
                      topk: Sequence[int] = (1, ),
                      batch_size: int = 256) -> Dict[str, float]:
    """Weighted kNN top-k accuracy of queries against a separate bank.

    DINO's ``eval_knn.py`` protocol: the bank is the training set's
    features, the queries the test set's; nothing is left out. A query
    whose label is not in the bank is never correct.

    Args:
        bank_feats (torch.Tensor): (N, D) reference features.
        bank_labels (torch.Tensor): (N,) integer labels (any values).
        query_feats (torch.Tensor): (Q, D) query features.
        query_labels (torch.Tensor): (Q,) integer labels.
        k (int): neighbours; capped at N. Defaults to 20.
        temperature (float): vote temperature T. Defaults to 0.07.
        topk (Sequence[int]): accuracies to report. Defaults to (1,).
        batch_size (int): queries per similarity block. Defaults to 256.

    Returns:
        dict: ``{'top1': acc, ...}`` in percent.
    """
    if len(bank_feats) < 1 or len(query_feats) < 1:
        raise ValueError('kNN accuracy needs a non-empty bank and queries, '
                         f'got {len(bank_feats)} and {len(query_feats)}')
    classes, labels = torch.unique(
        torch.cat([bank_labels, query_labels]), return_inverse=True)
    rank = _true_ranks(
        F.normalize(query_feats.float(), dim=1), labels[len(bank_labels):],
        F.normalize(bank_feats.float(), dim=1), labels[:len(bank_labels)],
        len(classes), min(k, len(bank_feats)), temperature, batch_size,
        leave_one_out=False)
    return {f'top{t}': (rank < t).float().mean().item() * 100 for t in topk}


def _true_ranks(query, query_labels, bank, bank_labels, num_classes, k,
                temperature, batch_size, leave_one_out) -> torch.Tensor:
    """Rank of the true class of every query, ``batch_size`` at a time."""
    ranks = []
    for start in range(0, len(query), batch_size):
        idx = torch.arange(start, min(start + batch_size, len(query)))
        scores = weighted_knn_scores(
            query[idx], bank, bank_labels, num_classes, k, temperature,
            idx if leave_one_out else None)
        ranks.append(true_class_rank(scores, query_labels[idx]))
    return torch.cat(ranks)


@METRICS.register_module()
class KNNAccuracy(BaseMetric):
    """Weighted kNN accuracy on held-out identities (DINO's kNN protocol).

    Protocol (Caron et al., "Emerging Properties in Self-Supervised Vision
    Transformers", 2021, ``eval_knn.py``), run on the evaluation set alone
    because its identities are disjoint from the training identities:

    1. each sample's feature (``feat`` of the model's predictions, the
       teacher's cls token for DINO) is L2-normalised;
    2. every sample queries all *other* samples of the evaluation set
       (leave-one-out: only the query itself is excluded, duplicates of it
       are not); similarity is the cosine similarity;
    3. its ``k`` nearest neighbours vote for their identity with weight
       ``exp(sim / T)``; identities are ranked by summed vote;
    4. top-k accuracy is the share of queries whose identity is among the
       k best-ranked, in percent.

    With ``split_key`` (e.g. ``'split'``, set by
    :class:`~facessl.datasets.TrainTestSplits`) the evaluation set is split
    as in DINO's ImageNet protocol instead: samples whose meta key is
    ``'train'`` form the bank and those marked ``'test'`` query it (steps
    1-4, no sample left out; ``leave_one_out`` is ignored).

    Deviations from DINO's code: ties between identities go to the lower
    label; an identity with no vote never counts as correct (DINO's sort
    could rank such a zero-score identity into the top 5 when k < 5).
    Queries are processed ``batch_size`` at a time. Features are gathered
    from all ranks by :class:`~mmengine.evaluator.BaseMetric` and scored on
    rank 0.

    Args:
        k (int): number of neighbours. Defaults to 20.
        temperature (float): vote temperature T. Defaults to 0.07.
        topk (int | Sequence[int]): accuracies to report, e.g. ``(1, 5)``.
            Defaults to ``(1,)``.
        leave_one_out (bool): exclude each query from its neighbours.
            Defaults to True.
        batch_size (int): queries per similarity block. Defaults to 256.
        feat_key (str): prediction field holding the feature.
            Defaults to 'feat'.
        split_key (str, optional): meta key marking bank ('train') and
            query ('test') samples. Defaults to None (leave-one-out on
            all samples).
        collect_device (str): 'cpu' or 'gpu' for gathering results.
            Defaults to 'cpu'.
        prefix (str, optional): metric name prefix. Defaults to 'knn', so
            the keys are ``knn/top1``, ``knn/top5``.
    """
    default_prefix = 'knn'

    def __init__(self,
                 k: int = 20,
                 temperature: float = 0.07,
                 topk: Union[int, Sequence[int]] = (1, ),
                 leave_one_out: bool = True,
                 batch_size: int = 256,
                 feat_key: str = 'feat',
                 split_key: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if k < 1 or temperature <= 0 or batch_size < 1 or not topk or min(
                topk) < 1:
            raise ValueError(
                f'KNNAccuracy: expected k >= 1, temperature > 0, '
                f'batch_size >= 1 and topk values >= 1, got k={k}, '
                f'temperature={temperature}, batch_size={batch_size}, '
                f'topk={topk}')
        self.k = k
        self.temperature = temperature
        self.topk = topk
        self.leave_one_out = leave_one_out
        self.batch_size = batch_size
        self.feat_key = feat_key
        self.split_key = split_key

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store the feature and identity of each prediction.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples (Sequence[dict | DataSample]): predictions with a
                1-D ``feat``, a ``gt_label`` and, with ``split_key``, that
                meta key.
        """
        for sample in data_samples:
            result = feature_record(sample, self.feat_key, 'KNNAccuracy')
            if self.split_key is not None:
                if self.split_key not in sample:
                    raise KeyError(
                        f"KNNAccuracy: split_key='{self.split_key}' but a "
                        'prediction has no such meta key (pack it with '
                        f"PackInputs(meta_keys=(..., '{self.split_key}')))")
                result['split'] = sample.get(self.split_key)
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score the collected features.

        Args:
            results (list[dict]): ``feat``/``label`` of every sample.

        Returns:
            dict: ``{'top1': ..., 'top5': ...}`` in percent.
        """
        feats = torch.stack([r['feat'] for r in results])
        labels = torch.tensor([r['label'] for r in results])
        if self.split_key is not None:
            train, test = train_test_masks([r['split'] for r in results],
                                           self.split_key)
            return knn_bank_accuracy(feats[train], labels[train],
                                     feats[test], labels[test], self.k,
                                     self.temperature, self.topk,
                                     self.batch_size)
        return knn_accuracy(feats, labels, self.k, self.temperature,
                            self.topk, self.leave_one_out, self.batch_size)
