"""Binary face-attribute accuracy (CelebA / LFWA protocol)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.structures import label_to_onehot

from facessl.registry import METRICS


def attribute_accuracies(scores: np.ndarray,
                         targets: np.ndarray,
                         threshold: float = 0.5) -> np.ndarray:
    """Accuracy of every attribute over the images.

    An attribute is predicted present when its score is ``>= threshold``
    (as mmpretrain's ``MultiLabelClsHead`` sets ``pred_label``).

    Args:
        scores (np.ndarray): (N, A) sigmoid scores.
        targets (np.ndarray): (N, A) 0/1 ground truth.
        threshold (float): decision threshold. Defaults to 0.5.

    Returns:
        np.ndarray: (A,) fractions of images classified correctly.
    """
    scores, targets = np.asarray(scores), np.asarray(targets)
    if scores.shape != targets.shape or scores.ndim != 2:
        raise ValueError(f'attribute_accuracies: scores {scores.shape} and '
                         f'targets {targets.shape} must both be (N, A)')
    return ((scores >= threshold) == (targets > 0)).mean(0)


@METRICS.register_module()
class AttributeAccuracy(BaseMetric):
    """Mean and per-attribute accuracy of binary attributes (CelebA).

    Protocol (Liu et al., "Deep Learning Face Attributes in the Wild",
    ICCV 2015): each of the A attributes is a binary decision, here
    ``pred_score >= threshold`` on the sigmoid scores of a multi-label
    head; an attribute's accuracy is the share of test images where the
    decision matches the label, and the reported number is the mean over
    attributes (not over images x attributes of unequal counts: every
    image has every attribute, so both agree).

    Predictions carry ``pred_score`` (A,) and the ground truth as
    ``gt_score`` (A,) 0/1 or ``gt_label`` indices of the present
    attributes (mmpretrain's multi-label convention, as the attribute data
    sets provide). Keys: ``mean_accuracy`` and, with ``per_attribute``,
    ``accuracy_<name>`` (names from the data set's ``attribute_names``),
    all in percent.

    Args:
        threshold (float): decision threshold. Defaults to 0.5.
        per_attribute (bool): report every attribute. Defaults to True.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to 'attributes'.
    """
    default_prefix = 'attributes'

    def __init__(self,
                 threshold: float = 0.5,
                 per_attribute: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.threshold = threshold
        self.per_attribute = per_attribute

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store each image's scores and 0/1 targets.

        Args:
            data_batch: the batch (unused).
            data_samples (Sequence[dict | DataSample]): predictions with
                ``pred_score`` and ``gt_score`` or ``gt_label``.
        """
        for sample in data_samples:
            score = sample.get('pred_score')
            if not isinstance(score, torch.Tensor) or (
                    sample.get('gt_score') is None
                    and sample.get('gt_label') is None):
                raise KeyError(
                    "AttributeAccuracy: each sample needs a tensor "
                    "'pred_score' and 'gt_score' or 'gt_label', got keys "
                    f'{sorted(sample.keys())}')
            score = score.detach().float().flatten().cpu()
            if sample.get('gt_score') is not None:
                target = torch.as_tensor(sample['gt_score']).flatten()
            else:
                target = label_to_onehot(sample['gt_label'], len(score))
            self.results.append((score.numpy(), target.cpu().numpy() > 0))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """Mean and per-attribute accuracy in percent.

        Args:
            results (list): (scores, targets) of every image.

        Returns:
            dict: ``mean_accuracy`` and ``accuracy_<name>``.
        """
        scores = np.stack([r[0] for r in results])
        targets = np.stack([r[1] for r in results])
        acc = attribute_accuracies(scores, targets, self.threshold) * 100
        out = dict(mean_accuracy=float(acc.mean()))
        if self.per_attribute:
            names = list((self.dataset_meta or {}).get(
                'attribute_names', ()))
            for i, value in enumerate(acc.tolist()):
                name = names[i] if i < len(names) else str(i)
                out[f'accuracy_{name}'] = value
        return out
