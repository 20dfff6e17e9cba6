"""LinearProbeAccuracy and its pure functions, on hand-made features."""
import pytest
import torch
from mmpretrain.structures import DataSample

from facessl.evaluation.metrics.linear_probe import (LinearProbeAccuracy,
                                                     linear_probe_accuracy)
from facessl.evaluation.metrics.splits import (first_shots_mask,
                                               train_test_masks)
from facessl.registry import METRICS

# Identity 100 on the left, identity 7 on the right of x = 0.
TRAIN_X = torch.tensor([[-2., 0.], [-1., .5], [1., 0.], [2., -.5]])
TRAIN_Y = torch.tensor([100, 100, 7, 7])
# two test points on their identity's side, one (label 100) on the wrong
TEST_X = torch.tensor([[-1.5, 0.], [1.5, 0.], [3., 0.]])
TEST_Y = torch.tensor([100, 7, 100])


def test_accuracy_by_hand():
    acc = linear_probe_accuracy(TRAIN_X, TRAIN_Y, TEST_X, TEST_Y)
    assert acc == pytest.approx(200 / 3)
    assert linear_probe_accuracy(TRAIN_X, TRAIN_Y, TEST_X[:2],
                                 TEST_Y[:2]) == 100.


def test_labels_are_remapped_and_rng_is_untouched():
    state = torch.get_rng_state()
    # identity ids of a billion would make 1e9 classes without remapping
    acc = linear_probe_accuracy(TRAIN_X, TRAIN_Y * 10**7, TEST_X,
                                TEST_Y * 10**7)
    assert acc == pytest.approx(200 / 3)
    assert torch.equal(torch.get_rng_state(), state)


def test_first_shots_by_hand():
    labels = torch.tensor([1, 1, 2, 1, 2])
    order = torch.tensor([4, 0, 1, 2, 3])
    # by order: #1 (1, first), #2 (2, first), #3 (1, 2nd), #4 (2, 2nd),
    # #0 (1, 3rd)
    assert first_shots_mask(labels, order, 1).tolist() == [
        False, True, True, False, False]
    assert first_shots_mask(labels, order, 2).tolist() == [
        False, True, True, True, True]


def test_split_masks():
    train, test = train_test_masks(['train', 'test', 'train'])
    assert train.tolist() == [True, False, True]
    assert test.tolist() == [False, True, False]
    with pytest.raises(ValueError, match="must be 'train' or 'test', got "
                       r"\['val'\]"):
        train_test_masks(['train', 'val'])
    with pytest.raises(ValueError, match='need samples of both splits'):
        train_test_masks(['train', 'train'], 'split')


def _samples(xs, ys, splits, start=0):
    samples = []
    for i, (x, y, s) in enumerate(zip(xs, ys, splits)):
        sample = DataSample(feat=x).set_gt_label(int(y))
        sample.set_metainfo(dict(split=s, sample_idx=start + i))
        samples.append(sample.to_dict())  # as the Evaluator passes them
    return samples


def test_metric_with_split_key():
    metric = METRICS.build(dict(type='LinearProbeAccuracy'))
    assert isinstance(metric, LinearProbeAccuracy)
    metric.process(None, _samples(TRAIN_X, TRAIN_Y, ['train'] * 4))
    metric.process(None, _samples(TEST_X, TEST_Y, ['test'] * 3, 4))
    assert metric.evaluate(7) == {
        'linear_probe/top1': pytest.approx(200 / 3)}


def test_metric_with_train_shots():
    # per identity: the first two samples (by sample_idx) are fitted on;
    # the third of identity 100 lies on identity 7's side
    xs = torch.cat([TRAIN_X, TEST_X])
    ys = torch.cat([TRAIN_Y, TEST_Y])
    metric = LinearProbeAccuracy(train_shots=2)
    samples = _samples(xs, ys, [None] * 7)
    metric.process(None, samples[::-1])  # arrival order must not matter
    assert metric.evaluate(7) == {
        'linear_probe/top1': pytest.approx(200 / 3)}


def test_metric_errors():
    with pytest.raises(ValueError, match='train_shots >= 1'):
        LinearProbeAccuracy(train_shots=0)
    metric = LinearProbeAccuracy()
    with pytest.raises(KeyError, match="no meta key 'split'"):
        metric.process(None, [dict(feat=torch.zeros(2), gt_label=1)])
    metric = LinearProbeAccuracy(train_shots=3)
    metric.process(None, _samples(TRAIN_X, TRAIN_Y, [None] * 4))
    with pytest.raises(ValueError, match='no identity has more than'):
        metric.evaluate(4)
