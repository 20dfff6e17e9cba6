"""kNN with a train bank and test queries (DINO's eval_knn protocol)."""
import math

import pytest
import torch
from mmpretrain.structures import DataSample

from facessl.evaluation.metrics.knn import knn_bank_accuracy
from facessl.registry import METRICS


def _unit(degrees):
    rad = torch.tensor(degrees) * math.pi / 180
    return torch.stack([rad.cos(), rad.sin()], 1)


# bank: identity 4 at 0 and 10 degrees, identity 9 at 90 and 100
BANK, BANK_Y = _unit([0., 10., 90., 100.]), torch.tensor([4, 4, 9, 9])
# queries: near 4, near 9, and identity 6, which the bank does not hold
QUERY, QUERY_Y = _unit([5., 95., 50.]), torch.tensor([4, 9, 6])


def test_bank_accuracy_by_hand():
    acc = knn_bank_accuracy(BANK, BANK_Y, QUERY, QUERY_Y, k=1, topk=(1, 2))
    assert acc['top1'] == pytest.approx(200 / 3)
    assert acc['top2'] == pytest.approx(200 / 3)  # 6 never gets a vote
    # k capped at the bank size; each query is only compared to the bank
    acc = knn_bank_accuracy(BANK * 3, BANK_Y, QUERY, QUERY_Y, k=20)
    assert acc['top1'] == pytest.approx(200 / 3)
    # at 60 degrees the two nearest are 90 and 100 (30 and 40 away)
    acc = knn_bank_accuracy(BANK, BANK_Y, _unit([60.]), torch.tensor([9]),
                            k=2)
    assert acc['top1'] == 100.
    acc = knn_bank_accuracy(BANK, BANK_Y, _unit([60.]), torch.tensor([4]),
                            k=2)
    assert acc['top1'] == 0.
    with pytest.raises(ValueError, match='non-empty bank'):
        knn_bank_accuracy(BANK[:0], BANK_Y[:0], QUERY, QUERY_Y)


def _sample(feat, label, split):
    sample = DataSample(feat=feat).set_gt_label(int(label))
    sample.set_metainfo(dict(split=split))
    return sample.to_dict()  # as the Evaluator passes it


def test_metric_bank_mode():
    metric = METRICS.build(
        dict(type='KNNAccuracy', k=1, split_key='split', topk=(1, 2)))
    samples = [_sample(f, y, 'train') for f, y in zip(BANK, BANK_Y)]
    samples += [_sample(f, y, 'test') for f, y in zip(QUERY, QUERY_Y)]
    metric.process(None, samples[::2])
    metric.process(None, samples[1::2])
    out = metric.evaluate(len(samples))
    assert out == {'knn/top1': pytest.approx(200 / 3),
                   'knn/top2': pytest.approx(200 / 3)}
    metric = METRICS.build(dict(type='KNNAccuracy', split_key='part'))
    with pytest.raises(KeyError, match="split_key='part'"):
        metric.process(None, samples[:1])
