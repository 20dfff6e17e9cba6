"""Tests of the weighted kNN metric against hand-worked examples."""
import math

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from facessl.evaluation.metrics.knn import (KNNAccuracy, knn_accuracy,
                                            weighted_knn_scores)
from facessl.registry import METRICS


def _unit(degrees):
    rad = torch.tensor(degrees, dtype=torch.float64) * math.pi / 180
    return torch.stack([rad.cos(), rad.sin()], 1)


def test_weighted_vote_by_hand():
    # Query (1, 0); neighbours by cosine: b0 1.0 (cls 0), b1 and b2 0.6
    # (cls 1), b4 0.0 (cls 2), b3 -1.0 (cls 0). k = 3 keeps b0, b1, b2.
    bank = torch.tensor([[1., 0.], [.6, .8], [.6, -.8], [-1., 0.], [0., 1.]],
                        dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, 0, 2])
    query = torch.tensor([[1., 0.]], dtype=torch.float64)
    scores = weighted_knn_scores(query, bank, labels, 3, k=3, temperature=.1)
    expected = torch.tensor([[math.exp(10), 2 * math.exp(6), 0.]],
                            dtype=torch.float64)
    torch.testing.assert_close(scores, expected)
    assert scores.argmax().item() == 0  # the close neighbour wins ...
    scores = weighted_knn_scores(query, bank, labels, 3, k=3, temperature=1.)
    torch.testing.assert_close(
        scores,
        torch.tensor([[math.e, 2 * math.exp(.6), 0.]], dtype=torch.float64))
    assert scores.argmax().item() == 1  # ... the majority wins at T = 1


# Six points on the unit circle: identity A at 0 and 20 degrees, B at 90,
# 100, 110, and a singleton C at 210 (see the worked votes below).
ANGLES = [0., 20., 90., 100., 110., 210.]
LABELS = torch.tensor([7, 7, 3, 3, 3, 11])  # arbitrary identity ids


def test_leave_one_out_by_hand():
    feats = _unit(ANGLES) * 5  # scale must not matter (L2-normalised)
    # Leave-one-out, k = 3, T = 0.07:
    #   p0 -> p1 (A, .94), p2 (B, 0), p3 (B, -.17): A wins on weight;
    #   p1 -> p0 (A), p2 (B, .34), p3 (B, .17): A; p2, p3, p4 -> B;
    #   p5 (C) -> p4, p3, p2 (all B): wrong, C gets no vote at all.
    acc = knn_accuracy(feats, LABELS, k=3, temperature=.07, topk=(1, 2))
    assert acc['top1'] == pytest.approx(500 / 6)
    assert acc['top2'] == pytest.approx(500 / 6)  # C never voted for
    # Plain majority (T huge): p0 and p1 go to B (two B neighbours).
    acc = knn_accuracy(feats, LABELS, k=3, temperature=1e4, topk=(1, 2))
    assert acc['top1'] == pytest.approx(50.)
    assert acc['top2'] == pytest.approx(500 / 6)
    # Without leave-one-out each point finds itself at similarity 1.
    acc = knn_accuracy(feats, LABELS, k=3, temperature=.07,
                       leave_one_out=False)
    assert acc['top1'] == pytest.approx(100.)


def test_leave_one_out_excludes_only_self():
    feats = _unit([0., 0., 90., 95., 180., 185.])
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    # The duplicate of a query is another sample: it may vote.
    assert knn_accuracy(feats, labels, k=1)['top1'] == 100.
    # k larger than the candidates is capped at N - 1.
    assert knn_accuracy(feats[:2], labels[:2], k=20)['top1'] == 100.
    with pytest.raises(ValueError, match='at least 2'):
        knn_accuracy(feats[:1], labels[:1])


def _naive(feats, labels, k, t, leave_one_out):
    """A deliberately plain loop over queries."""
    f = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    correct = 0
    for i in range(len(f)):
        cand = [j for j in range(len(f)) if j != i or not leave_one_out]
        sims = sorted(((float(f[i] @ f[j]), j) for j in cand),
                      key=lambda s: -s[0])[:k]
        votes = {}
        for sim, j in sims:
            votes[labels[j]] = votes.get(labels[j], 0.) + math.exp(sim / t)
        best = max(votes.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        correct += best == labels[i]
    return 100. * correct / len(f)


@pytest.mark.parametrize('leave_one_out', [True, False])
def test_batched_matches_naive_loop(leave_one_out):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 8))
    labels = rng.integers(0, 5, 40)
    feats = centres[labels] + rng.normal(scale=1.2, size=(40, 8))
    expected = _naive(feats, labels.tolist(), 4, 1., leave_one_out)
    for bs in (1, 7, 256):
        got = knn_accuracy(
            torch.from_numpy(feats), torch.from_numpy(labels), k=4,
            temperature=1., leave_one_out=leave_one_out, batch_size=bs)
        assert got['top1'] == pytest.approx(expected)
    assert 20. < expected < 100.  # not a trivial case


def test_metric_process_and_evaluate():
    metric = METRICS.build(dict(type='KNNAccuracy', k=3, topk=(1, 5)))
    assert isinstance(metric, KNNAccuracy)
    feats = _unit(ANGLES).float()
    samples = []
    for i, (f, y) in enumerate(zip(feats, LABELS)):
        if i % 2:  # as the Evaluator passes them: dicts
            samples.append(dict(feat=f, gt_label=torch.tensor([y])))
        else:
            samples.append(DataSample(feat=f).set_gt_label(int(y)))
    metric.process(None, samples[:4])
    metric.process(None, samples[4:])
    out = metric.evaluate(len(samples))
    assert set(out) == {'knn/top1', 'knn/top5'}
    assert out['knn/top1'] == pytest.approx(500 / 6)
    assert metric.results == []


def test_metric_errors():
    with pytest.raises(ValueError, match='k >= 1'):
        KNNAccuracy(k=0)
    metric = KNNAccuracy(feat_key='emb')
    with pytest.raises(KeyError, match="'emb'"):
        metric.process(None, [dict(feat=torch.zeros(2), gt_label=1)])
