"""Tests of expression accuracy and mean class accuracy by hand."""
import numpy as np
import pytest
import torch
from mmpretrain.evaluation import SingleLabelMetric
from mmpretrain.structures import DataSample

from facessl.evaluation.metrics.expression_accuracy import (
    ExpressionAccuracy, expression_accuracy)
from facessl.registry import METRICS

PRED = [0, 0, 0, 2, 2, 1]
TARGET = [0, 1, 1, 2, 2, 2]
# class 0: 1/1, class 1: 0/2, class 2: 2/3, class 3: absent


def test_accuracies_by_hand():
    acc = expression_accuracy(PRED, TARGET, 4)
    assert acc['accuracy'] == pytest.approx(.5)
    assert acc['per_class'][:3] == pytest.approx([1, 0, 2 / 3])
    assert np.isnan(acc['per_class'][3])
    assert acc['mean_class_accuracy'] == pytest.approx((1 + 2 / 3) / 3)
    # macro recall over present classes, as mmpretrain computes it
    recall = SingleLabelMetric.calculate(
        torch.tensor(PRED), torch.tensor(TARGET), average='macro',
        num_classes=3)[1]
    assert acc['mean_class_accuracy'] * 100 == pytest.approx(recall.item())
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 2\)'):
        expression_accuracy(PRED, TARGET, 2)


def test_metric_from_labels_or_scores():
    metric = METRICS.build(dict(type='ExpressionAccuracy', per_class=True))
    assert isinstance(metric, ExpressionAccuracy)
    metric.dataset_meta = dict(classes=('Neutral', 'Happy', 'Sad', 'Fear'))
    samples = []
    for i, (p, t) in enumerate(zip(PRED, TARGET)):
        sample = DataSample().set_gt_label(t)
        if i % 2:
            sample.set_pred_label(p)
        else:  # only scores: the argmax is the prediction
            sample.set_pred_score(torch.eye(4)[p] * .7 + .05)
        samples.append(sample.to_dict())
    metric.process(None, samples)
    out = metric.evaluate(6)
    assert out['expression/accuracy'] == pytest.approx(50.)
    assert out['expression/mean_class_accuracy'] == pytest.approx(500 / 9)
    assert out['expression/accuracy_Happy'] == 0.
    assert np.isnan(out['expression/accuracy_Fear'])
    metric = ExpressionAccuracy()
    metric.process(None, samples)
    assert set(metric.evaluate(6)) == {
        'expression/accuracy', 'expression/mean_class_accuracy'
    }


def test_metric_errors():
    metric = ExpressionAccuracy()
    with pytest.raises(KeyError, match="'pred_label' or a tensor "
                       "'pred_score', and 'gt_label'"):
        metric.process(None, [dict(gt_label=torch.tensor([1]))])
