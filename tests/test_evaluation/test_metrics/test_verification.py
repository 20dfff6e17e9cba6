"""Tests of the 10-fold verification metric against hand-worked examples."""
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample

from facessl.datasets.synthetic.export_bin import \
    write_synthetic_verification_bin
from facessl.evaluation.metrics.verification import (
    ACCURACY_THRESHOLDS, VerificationMetric, accuracy_curve,
    evaluate_verification, far_curve, flip_pooled_embeddings, gather_set,
    kfold_test_indices, pair_distances, stratified_test_indices, tar_at_far,
    threshold_at_far, verification_accuracy)
from facessl.registry import DATASETS, METRICS

# 20 pairs, 10 folds of (same, different). Easy same pairs are 0.5055
# apart, easy different pairs 1.5055; fold 3 has a hard same pair
# (1.2055) and fold 7 a hard different pair (0.3055). Off-grid values so
# no distance sits on a threshold of either grid.
DIST = np.array([[0.5055, 1.5055]] * 10)
DIST[3, 0], DIST[7, 1] = 1.2055, 0.3055
DIST = DIST.ravel()
ISSAME = np.array([True, False] * 10)
# Worked by hand (accuracy: "same" iff dist < t, first best t on the grid
# np.arange(0, 4, 0.01) over the 9 training folds):
#   fold k not 3 or 7: training errors are 9 for t <= .3055, 10 up to
#     .5055, 2 up to 1.2055, 1 up to 1.5055 -> t = 1.21; test fold right.
#   fold 3: training (no hard same) errs once on (.5055, 1.5055] -> first
#     t = 0.51; the hard same pair 1.2055 is rejected: accuracy 1/2.
#   fold 7: training (no hard different) errs 0 on (1.2055, 1.5055] ->
#     t = 1.21; the hard different pair 0.3055 is accepted: 1/2.
FOLD_ACC = [1, 1, 1, .5, 1, 1, 1, .5, 1, 1]
FOLD_THR = [1.21, 1.21, 1.21, .51, 1.21, 1.21, 1.21, 1.21, 1.21, 1.21]
# TAR@FAR=1e-3 on np.arange(0, 4, 0.001): a training FAR of 1e-3 lies
# between 0 and 1/9 (9 different pairs), so t is just above the largest
# different-pair-free threshold: folds other than 7 keep the hard
# different pair in training, t = .305 + .009 * .001, which rejects every
# test same pair (TAR 0); fold 7 gets t = 1.505 + .009 * .001 > .5055
# (TAR 1, and its hard different pair is falsely accepted: FAR 1).


def _unit(degrees):
    rad = np.deg2rad(np.asarray(degrees, np.float64))
    return np.stack([np.cos(rad), np.sin(rad)], 1)


def _pair_embeddings(dist):
    """Unit 2-D embeddings whose pair p has squared distance dist[p]."""
    angles = np.degrees(np.arccos(1 - np.asarray(dist) / 2))
    return _unit(np.stack([np.zeros_like(angles), angles], 1).ravel())


def test_flip_sum_before_normalising():
    orig = np.array([[3., 0.], [1., 0.], [0., 0.]])
    flip = np.array([[0., 1.], [0., 1.], [0., 0.]])
    emb = flip_pooled_embeddings(orig, flip)
    np.testing.assert_allclose(
        emb, [[3 / 10**.5, 1 / 10**.5], [2**-.5, 2**-.5], [0, 0]])
    # Pair (A, B): 2 - 2 cos = 2 - 8 / sqrt(20). Normalising each feature
    # first would map A and B both to (1, 1)/sqrt(2): distance 0.
    dist = pair_distances(emb[:2])
    np.testing.assert_allclose(dist, [2 - 8 / 20**.5])
    np.testing.assert_allclose(
        flip_pooled_embeddings(orig[:2]), [[1, 0], [1, 0]])


def test_kfold_like_sklearn_without_shuffle():
    folds = kfold_test_indices(23, 10)
    assert [len(f) for f in folds] == [3, 3, 3] + [2] * 7
    assert np.array_equal(np.concatenate(folds), np.arange(23))
    with pytest.raises(ValueError, match='10 folds'):
        kfold_test_indices(9, 10)


def test_curves_match_a_naive_comparison():
    rng = np.random.default_rng(0)
    dist = np.round(rng.uniform(0, 4, 200), 2)  # ties with the grid too
    issame = rng.random(200) < .4
    thr = ACCURACY_THRESHOLDS
    pred = dist[None] < thr[:, None]
    naive_acc = (pred == issame[None]).mean(1)
    naive_far = (pred & ~issame[None]).sum(1) / (~issame).sum()
    np.testing.assert_allclose(accuracy_curve(dist, issame, thr), naive_acc)
    np.testing.assert_allclose(far_curve(dist, issame, thr), naive_far)


def test_fold_accuracies_and_thresholds_by_hand():
    acc, thr = verification_accuracy(DIST, ISSAME, 10)
    np.testing.assert_allclose(acc, FOLD_ACC)
    np.testing.assert_allclose(thr, FOLD_THR)


def test_threshold_at_far_by_hand():
    far = np.array([0, 0, .1, .1, .3, 1.])
    thr = np.arange(6.)
    assert threshold_at_far(far, thr, .2) == pytest.approx(3.5)
    assert threshold_at_far(far, thr, .05) == pytest.approx(1.5)
    assert threshold_at_far(far, thr, .1) == 3.  # largest t at the FAR
    assert threshold_at_far(far, thr, 1.) == 5.
    assert threshold_at_far(far * .4, thr, .5) == 0.  # never reached


def test_tar_at_far_by_hand():
    # 2 folds of 4 pairs; thresholds 0, 0.1, ..., 3.9; target FAR 0.25.
    #   fold 0 held out: training different pairs .85, 2.05 give FAR 0
    #     up to t = .8 and 1/2 from .9 -> t = .85; test: same .25, .65
    #     accepted (TAR 1), different .55 accepted, 1.55 not (FAR 1/2).
    #   fold 1 held out: training different .55, 1.55 -> t = .55; test:
    #     same .35 accepted, 1.05 not (TAR 1/2); different none (FAR 0).
    dist = np.array([.25, .65, .55, 1.55, .35, 1.05, .85, 2.05])
    issame = np.array([1, 1, 0, 0, 1, 1, 0, 0], bool)
    tars, fars = tar_at_far(dist, issame, .25, 2, np.arange(40) / 10)
    np.testing.assert_allclose(tars, [1., .5])
    np.testing.assert_allclose(fars, [.5, 0.])
    tars, fars = tar_at_far(DIST, ISSAME, 1e-3, 10)
    np.testing.assert_allclose(tars, [0] * 7 + [1, 0, 0])
    np.testing.assert_allclose(fars, [0] * 7 + [1, 0, 0])


def test_stratified_folds_by_hand():
    issame = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    folds = stratified_test_indices(issame, 2)
    assert [f.tolist() for f in folds] == [[0, 1, 4, 5], [2, 3, 6, 7]]
    # fewer same pairs than folds: as many folds as same pairs
    folds = stratified_test_indices(np.array([1, 0, 0, 1, 0, 0], bool), 10)
    assert [f.tolist() for f in folds] == [[0, 1, 2], [3, 4, 5]]
    # alternating (same, different) folds: the contiguous folds
    assert [f.tolist() for f in stratified_test_indices(ISSAME, 10)] == [
        f.tolist() for f in kfold_test_indices(20, 10)]
    assert stratified_test_indices(np.array([1, 0, 0], bool), 10) == []
    tars, fars = tar_at_far(np.array([.1, .2, .3]),
                            np.array([1, 0, 0], bool))
    assert np.isnan(tars).all() and np.isnan(fars).all()


def test_tar_at_far_positives_first():
    # The hand-worked pairs listed with every same pair first: contiguous
    # folds would hold no different pair (TAR@FAR NaN in insightface);
    # the stratified folds are the original folds, so the TARs are too.
    order = np.concatenate([np.flatnonzero(ISSAME),
                            np.flatnonzero(~ISSAME)])
    dist, issame = DIST[order], ISSAME[order]
    assert issame[kfold_test_indices(20, 10)[0]].all()  # no different
    tars, fars = tar_at_far(dist, issame, 1e-3, 10)
    np.testing.assert_allclose(tars, [0] * 7 + [1, 0, 0])
    np.testing.assert_allclose(fars, [0] * 7 + [1, 0, 0])
    out = evaluate_verification(dist, issame, 10, (1e-3, ))
    assert out['tar@far=1e-3'] == pytest.approx(10.)
    # and through the metric, on a random positives-first list
    rng = np.random.default_rng(3)
    same = np.array([True] * 30 + [False] * 30)
    feats = rng.normal(size=(120, 4))
    feats[1:60:2] = feats[0:60:2] + 0.3 * rng.normal(size=(30, 4))
    metric = VerificationMetric(far_targets=(1e-1, ))
    metric.process(None, _samples(feats, None, same, 'mine', 0, False))
    out = metric.evaluate(120)
    assert 0 <= out['mine/tar@far=1e-1'] <= 100  # a number, not NaN


def test_evaluate_verification_by_hand():
    out = evaluate_verification(DIST, ISSAME, 10, (1e-3, 1e-2))
    assert out['accuracy'] == pytest.approx(90.)
    assert out['accuracy_std'] == pytest.approx(20.)  # population std
    assert out['threshold'] == pytest.approx(1.14)
    assert out['tar@far=1e-3'] == pytest.approx(10.)
    assert set(out) == {
        'accuracy', 'accuracy_std', 'threshold', 'tar@far=1e-3',
        'tar@far=1e-2'
    }


def _samples(feats, flipped, issame, set_name, offset, as_dict):
    """One prediction per image (and per flipped copy)."""
    samples = []
    for i, feat in enumerate(feats):
        copies = [(False, feat)] + ([] if flipped is None else
                                    [(True, flipped[i])])
        for flip, f in copies:
            meta = dict(
                img_index=offset + i,
                flip=flip,
                set_name=set_name,
                pair_index=i // 2,
                issame=bool(issame[i // 2]))
            f = torch.as_tensor(f, dtype=torch.float32)
            if as_dict:
                samples.append(dict(feat=f, **meta))
            else:
                sample = DataSample(metainfo=meta)
                sample.set_field(f, 'feat')
                samples.append(sample)
    return samples


def test_metric_end_to_end_two_sets_shuffled():
    # Set 'lfw': the hand-worked pairs. Raw features are 3e + w for the
    # image and e - w for its flip (w = 5 z): only summing before
    # normalising recovers e exactly; normalising first shrinks every
    # distance by ~3% and changes the chosen thresholds.
    e = np.concatenate([_pair_embeddings(DIST), np.zeros((40, 1))], 1)
    w = np.array([0., 0., 5.])
    lfw = _samples(3 * e + w, e - w, ISSAME, 'lfw', 0, as_dict=True)
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(40, 8))
    cfp_same = np.array([True, False] * 10)
    cfp = _samples(feats, None, cfp_same, 'cfp_fp', 40, as_dict=False)
    samples = lfw + cfp
    order = rng.permutation(len(samples))  # as if gathered from ranks
    metric = METRICS.build(dict(type='VerificationMetric'))
    assert isinstance(metric, VerificationMetric)
    metric.dataset_meta = dict(set_names=('lfw', 'cfp_fp'),
                               num_pairs=(20, 20))
    metric.process(None, [samples[i] for i in order[:50]])
    metric.process(None, [samples[i] for i in order[50:]])
    out = metric.evaluate(len(samples))
    assert out['lfw/accuracy'] == pytest.approx(90.)
    assert out['lfw/accuracy_std'] == pytest.approx(20.)
    assert out['lfw/threshold'] == pytest.approx(1.14)
    assert out['lfw/tar@far=1e-3'] == pytest.approx(10.)
    expected = evaluate_verification(
        pair_distances(flip_pooled_embeddings(feats)), cfp_same)
    for key, value in expected.items():
        assert out[f'cfp_fp/{key}'] == pytest.approx(value)
    assert out['mean/accuracy'] == pytest.approx(
        (90. + expected['accuracy']) / 2)
    assert 'mean/threshold' not in out and metric.results == []
    # the flip order matters here: normalise-then-sum picks other
    # thresholds
    norm = flip_pooled_embeddings(3 * e + w) + flip_pooled_embeddings(e - w)
    wrong = evaluate_verification(
        pair_distances(flip_pooled_embeddings(norm)), ISSAME)
    assert wrong['threshold'] != pytest.approx(1.14)


def _records(num_pairs=2, flip=True):
    feats = _unit(np.arange(2 * num_pairs) * 30.)
    samples = _samples(feats, feats if flip else None,
                       [True] * num_pairs, 'lfw', 0, as_dict=True)
    return [dict(s, feat=s['feat'].numpy()) for s in samples]


def test_gather_set_orders_pairs_and_checks():
    records = _records()
    feats, flipped, issame = gather_set(records[::-1], 'lfw')
    np.testing.assert_allclose(feats, _unit([0., 30., 60., 90.]), 1e-6)
    assert flipped is not None and issame.tolist() == [True, True]
    feats, flipped, _ = gather_set(_records(flip=False), 'lfw')
    assert flipped is None and feats.shape == (4, 2)
    for drop, copy in ((5, 'flipped'), (4, 'original')):
        with pytest.raises(ValueError, match=f"set 'lfw': the {copy} copy "
                           'of image 2 is missing'):
            gather_set(records[:drop] + records[drop + 1:], 'lfw')
    with pytest.raises(ValueError, match='image 1 \\(flipped\\) was '
                       'evaluated twice'):
        gather_set(records + records[3:4], 'lfw')
    with pytest.raises(ValueError, match='missing \\[2\\]'):
        gather_set(records, 'lfw', num_pairs=3)
    with pytest.raises(ValueError, match='pair 1 has images \\[2\\]'):
        gather_set(records[:6], 'lfw')


def test_metric_errors():
    with pytest.raises(ValueError, match='num_folds >= 2'):
        VerificationMetric(num_folds=1)
    with pytest.raises(ValueError, match='far_targets'):
        VerificationMetric(far_targets=(0., ))
    metric = VerificationMetric()
    with pytest.raises(KeyError, match="missing \\['set_name'.*PackInputs"):
        metric.process(None, [dict(feat=torch.zeros(2), img_index=0,
                                   flip=False)])
    metric.dataset_meta = dict(set_names=('lfw', 'agedb_30'),
                               num_pairs=(2, 2))
    records = _records()
    with pytest.raises(ValueError, match="\\['agedb_30'\\] of the data set "
                       'produced no predictions'):
        metric.compute_metrics(records)


def test_dataset_to_metric(tmp_path):
    """VerificationBin -> PackInputs -> a fixed "model" -> the metric."""
    path = str(tmp_path / 'synth.bin')
    write_synthetic_verification_bin(path, num_pairs=20, img_size=16,
                                     seed=2)
    ds = DATASETS.build(
        dict(
            type='VerificationBin',
            bin_files=path,
            image_size=16,
            pipeline=[
                dict(
                    type='PackInputs',
                    meta_keys=VerificationMetric.META_KEYS)
            ]))
    evaluator = Evaluator([VerificationMetric(num_folds=5)])
    evaluator.dataset_meta = ds.metainfo  # as MMEngine's ValLoop does
    feats = {}
    for i in range(len(ds)):
        item = ds[i]
        sample = item['data_samples']
        sample.set_field(item['inputs'].float().flatten(), 'feat')
        evaluator.process([sample])
        feats[(sample.img_index, sample.flip)] = item['inputs'].float()
    out = evaluator.evaluate(len(ds))
    orig = torch.stack([feats[(i, False)].flatten() for i in range(40)])
    flip = torch.stack([feats[(i, True)].flatten() for i in range(40)])
    assert torch.equal(feats[(0, True)], feats[(0, False)].flip(-1))
    expected = evaluate_verification(
        pair_distances(flip_pooled_embeddings(orig.numpy(), flip.numpy())),
        np.array([True, False] * 10), num_folds=5)
    assert set(out) == {f'synth/{k}' for k in expected}
    for key, value in expected.items():
        assert math.isclose(out[f'synth/{key}'], value, abs_tol=1e-9)
