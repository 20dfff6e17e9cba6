"""Facial-expression accuracy: overall and mean class accuracy (RAF-DB)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from facessl.registry import METRICS


def expression_accuracy(pred: np.ndarray, target: np.ndarray,
                        num_classes: int) -> Dict[str, object]:
    """Overall, per-class and mean class accuracy of expression labels.

    Per-class accuracy is the recall of the class (correct / images of
    the class); the mean class accuracy averages it over the classes that
    occur in ``target`` (absent classes are NaN and skipped), as RAF-DB
    papers report next to the overall accuracy.

    Args:
        pred (np.ndarray): (N,) predicted labels.
        target (np.ndarray): (N,) true labels in [0, num_classes).
        num_classes (int): C.

    Returns:
        dict: ``accuracy`` and ``mean_class_accuracy`` (fractions),
        ``per_class`` (C,) float64 with NaN for absent classes.
    """
    pred, target = np.asarray(pred).ravel(), np.asarray(target).ravel()
    if pred.shape != target.shape or not len(target):
        raise ValueError(f'expression_accuracy: pred {pred.shape} and '
                         f'target {target.shape} must be equal, non-empty')
    if target.min() < 0 or target.max() >= num_classes:
        raise ValueError(f'expression_accuracy: labels must lie in [0, '
                         f'{num_classes}), got {target.min()}..'
                         f'{target.max()}')
    correct = pred == target
    total = np.bincount(target, minlength=num_classes)
    hits = np.bincount(target[correct], minlength=num_classes)
    with np.errstate(invalid='ignore', divide='ignore'):
        per_class = np.where(total > 0, hits / total, np.nan)
    return dict(
        accuracy=float(correct.mean()),
        mean_class_accuracy=float(np.nanmean(per_class)),
        per_class=per_class)


@METRICS.register_module()
class ExpressionAccuracy(BaseMetric):
    """Expression recognition accuracy and mean class accuracy.

    Each prediction's class is ``pred_label`` (from mmpretrain's
    ``ClsHead``) or else the argmax of ``pred_score``; the truth is
    ``gt_label``. Reported in percent: ``accuracy`` (over images, equal to
    mmpretrain's top-1 ``Accuracy``), ``mean_class_accuracy`` (the mean of
    per-class recalls over classes present in the test set, i.e. macro
    recall; RAF-DB's "average accuracy") and, with ``per_class``,
    ``accuracy_<class>`` (names from the data set's ``classes``).

    Args:
        num_classes (int, optional): C; defaults to the data set's number
            of ``classes``.
        per_class (bool): report every class. Defaults to False.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to 'expression'.
    """
    default_prefix = 'expression'

    def __init__(self,
                 num_classes: Optional[int] = None,
                 per_class: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes
        self.per_class = per_class

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store each image's predicted and true class.

        Args:
            data_batch: the batch (unused).
            data_samples (Sequence[dict | DataSample]): predictions with
                ``pred_label`` or ``pred_score``, and ``gt_label``.
        """
        for sample in data_samples:
            pred = sample.get('pred_label')
            if pred is None and isinstance(
                    sample.get('pred_score'), torch.Tensor):
                pred = sample['pred_score'].argmax()
            label = sample.get('gt_label')
            if pred is None or label is None:
                raise KeyError(
                    "ExpressionAccuracy: each sample needs 'pred_label' or "
                    "a tensor 'pred_score', and 'gt_label'; got keys "
                    f'{sorted(sample.keys())}')
            self.results.append((int(torch.as_tensor(pred).flatten()[0]),
                                 int(torch.as_tensor(label).flatten()[0])))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """Accuracies in percent.

        Args:
            results (list): (pred, target) of every image.

        Returns:
            dict: ``accuracy``, ``mean_class_accuracy`` and optionally
            ``accuracy_<class>``.
        """
        pred, target = np.array(results, np.int64).T
        classes = list((self.dataset_meta or {}).get('classes') or ())
        num = self.num_classes or len(classes) or int(target.max()) + 1
        acc = expression_accuracy(pred, target, num)
        out = dict(
            accuracy=acc['accuracy'] * 100,
            mean_class_accuracy=acc['mean_class_accuracy'] * 100)
        if self.per_class:
            for k, value in enumerate(acc['per_class'].tolist()):
                name = classes[k] if k < len(classes) else str(k)
                out[f'accuracy_{name}'] = value * 100
        return out
