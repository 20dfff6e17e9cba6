"""Tests of the CelebA attribute accuracy against hand-counted values."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from facessl.evaluation.metrics.attribute_accuracy import (
    AttributeAccuracy, attribute_accuracies)
from facessl.registry import METRICS

# 4 images x 3 attributes; decisions at 0.5 (0.5 itself is positive)
SCORES = np.array([[.9, .2, .5], [.1, .7, .4], [.6, .6, .49], [.3, .1, .8]])
TARGETS = np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0], [0, 0, 1]])
# attribute 0: right, right, wrong, right -> 3/4
# attribute 1: right, wrong, right, right -> 3/4
# attribute 2: right (0.5 >= 0.5), right, right, right -> 4/4


def test_per_attribute_accuracy_by_hand():
    acc = attribute_accuracies(SCORES, TARGETS)
    assert acc.tolist() == [.75, .75, 1.]
    # a stricter threshold flips the 0.5 and 0.6 decisions
    assert attribute_accuracies(SCORES, TARGETS, .55).tolist() == [
        .75, .75, .75]
    with pytest.raises(ValueError, match=r'\(N, A\)'):
        attribute_accuracies(SCORES, TARGETS[:, :2])


def test_metric_with_index_labels_and_scores():
    metric = METRICS.build(dict(type='AttributeAccuracy'))
    assert isinstance(metric, AttributeAccuracy)
    metric.dataset_meta = dict(attribute_names=('Bald', 'Male', 'Smiling'))
    samples = []
    for i, (s, t) in enumerate(zip(SCORES, TARGETS)):
        sample = DataSample().set_pred_score(torch.tensor(s))
        if i % 2:  # the attribute data sets' indices of present attributes
            sample.set_gt_label(np.flatnonzero(t))
        else:
            sample.set_gt_score(torch.tensor(t))
        samples.append(sample.to_dict())
    metric.process(None, samples[:3])
    metric.process(None, samples[3:])
    out = metric.evaluate(4)
    assert out['attributes/mean_accuracy'] == pytest.approx(250 / 3)
    assert out['attributes/accuracy_Bald'] == pytest.approx(75.)
    assert out['attributes/accuracy_Smiling'] == pytest.approx(100.)
    metric = AttributeAccuracy(per_attribute=False)
    metric.process(None, samples)
    assert list(metric.evaluate(4)) == ['attributes/mean_accuracy']


def test_metric_errors():
    metric = AttributeAccuracy()
    with pytest.raises(KeyError, match="tensor 'pred_score' and 'gt_score'"
                       " or 'gt_label'"):
        metric.process(None, [dict(pred_score=torch.zeros(3))])
