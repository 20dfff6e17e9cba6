"""Linear-probe accuracy of frozen features, as an MMEngine metric."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from facessl.evaluation.features import linear_probe
from facessl.registry import METRICS
from .splits import feature_record, first_shots_mask, train_test_masks


def linear_probe_accuracy(train_x: torch.Tensor,
                          train_y: torch.Tensor,
                          test_x: torch.Tensor,
                          test_y: torch.Tensor,
                          weight_decay: float = 1e-3,
                          steps: int = 200,
                          seed: int = 0) -> float:
    """Test accuracy (%) of :func:`~facessl.evaluation.features.linear_probe`.

    Labels may be any integers (e.g. identity ids): both splits' labels are
    mapped jointly to 0..C-1 first. The classifier's initialisation is
    drawn from ``seed`` inside a forked RNG, so the result is repeatable
    and the caller's random stream is untouched.

    Args:
        train_x (Tensor): (N, D) features to fit on.
        train_y (Tensor): (N,) labels.
        test_x (Tensor): (M, D) features to score.
        test_y (Tensor): (M,) labels.
        weight_decay (float): L2 penalty on the weights. Defaults to 1e-3.
        steps (int): L-BFGS iterations. Defaults to 200.
        seed (int): seed of the initialisation. Defaults to 0.

    Returns:
        float: test top-1 accuracy in percent.
    """
    _, labels = torch.unique(torch.cat([train_y, test_y]),
                             return_inverse=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        acc = linear_probe(train_x.float(), labels[:len(train_y)],
                           test_x.float(), labels[len(train_y):],
                           weight_decay, steps)
    return acc * 100


@METRICS.register_module()
class LinearProbeAccuracy(BaseMetric):
    """Top-1 accuracy of a linear classifier fitted on frozen features.

    Protocol: the collected features (``feat`` of the model's predictions)
    are split into a fit part and a scored part; the fit part's features
    are standardised (its mean and std) and an L2-regularised softmax
    classifier is fitted full-batch with L-BFGS
    (:func:`facessl.evaluation.features.linear_probe`, a convex problem: no
    learning-rate schedule); the metric is its accuracy on the scored part.
    Features are gathered from all ranks and fitted on rank 0.

    The split comes from

    - ``train_shots=k``: the first k samples of each identity (by
      ``sample_idx`` where present, else by arrival) are the fit part, the
      rest is scored; for one held-out set such as the DINO configs' val
      set. Identities with at most k samples are only fitted on;
    - otherwise the meta key ``split_key`` of each sample, ``'train'`` or
      ``'test'``, e.g. from :class:`~facessl.datasets.TrainTestSplits`.

    This is a quick probe for validation loops; the Runner-trained linear
    classifier (``FrozenBackboneClassifier`` configs) is the mmpretrain
    way.

    Args:
        split_key (str): meta key with 'train'/'test'. Defaults to 'split'.
        train_shots (int, optional): fit on the first k samples of each
            identity instead. Defaults to None.
        weight_decay (float): L2 penalty. Defaults to 1e-3.
        steps (int): L-BFGS iterations. Defaults to 200.
        seed (int): seed of the classifier's initialisation. Defaults to 0.
        feat_key (str): prediction field holding the feature.
            Defaults to 'feat'.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): metric name prefix. Defaults to
            'linear_probe' (key ``linear_probe/top1``).
    """
    default_prefix = 'linear_probe'

    def __init__(self,
                 split_key: str = 'split',
                 train_shots: Optional[int] = None,
                 weight_decay: float = 1e-3,
                 steps: int = 200,
                 seed: int = 0,
                 feat_key: str = 'feat',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if (train_shots is not None and train_shots < 1) or steps < 1:
            raise ValueError('LinearProbeAccuracy: expected train_shots >= 1 '
                             f'and steps >= 1, got train_shots={train_shots}'
                             f', steps={steps}')
        self.split_key = split_key
        self.train_shots = train_shots
        self.weight_decay = weight_decay
        self.steps = steps
        self.seed = seed
        self.feat_key = feat_key

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store feature, label, split and order of each prediction.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples (Sequence[dict | DataSample]): predictions with a
                1-D ``feat``, a ``gt_label`` and the split meta key (or
                ``sample_idx`` with ``train_shots``).
        """
        for sample in data_samples:
            result = feature_record(sample, self.feat_key,
                                    'LinearProbeAccuracy')
            split = sample.get(self.split_key)
            if self.train_shots is None and split is None:
                raise KeyError(
                    f"LinearProbeAccuracy: no meta key '{self.split_key}' "
                    "('train'/'test') in a prediction; pack it with "
                    f"PackInputs(meta_keys=(..., '{self.split_key}')) or "
                    'set train_shots')
            result.update(
                split=split,
                order=sample.get('sample_idx', len(self.results)))
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Fit on one part, score the other.

        Args:
            results (list[dict]): the stored samples.

        Returns:
            dict: ``{'top1': accuracy in percent}``.
        """
        feats = torch.stack([r['feat'] for r in results])
        labels = torch.tensor([r['label'] for r in results])
        if self.train_shots is not None:
            train = first_shots_mask(
                labels, torch.tensor([r['order'] for r in results]),
                self.train_shots)
            if train.all():
                raise ValueError(
                    'LinearProbeAccuracy: no identity has more than '
                    f'train_shots={self.train_shots} samples; nothing to '
                    'score')
            test = ~train
        else:
            train, test = train_test_masks([r['split'] for r in results],
                                           self.split_key)
        top1 = linear_probe_accuracy(feats[train], labels[train],
                                     feats[test], labels[test],
                                     self.weight_decay, self.steps,
                                     self.seed)
        return {'top1': top1}
