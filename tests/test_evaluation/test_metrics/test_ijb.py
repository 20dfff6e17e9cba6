"""Tests of the IJB protocol functions and IJBMetric on hand-made numbers."""
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from facessl.evaluation.ijb_protocol import (identification, lookup,
                                             pair_scores, roc_curve,
                                             tar_at_far, template_features)
from facessl.evaluation.metrics.ijb import gallery_tag, rate_name

# --- template pooling ------------------------------------------------------


def test_pooling_is_media_mean_then_template_sum():
    # template 7: media 1 = frames (1, 0) and (3, 0); media 2 = still (0, 1)
    # template 3: one still (0, 2)
    feats = np.array([[1., 0.], [3., 0.], [0., 1.], [0., 2.]])
    tids, mids = np.array([7, 7, 7, 3]), np.array([1, 1, 2, 9])
    templates, out = template_features(feats, tids, mids)
    assert templates.tolist() == [3, 7]
    # media means (2, 0) and (0, 1), summed (2, 1), normalised
    np.testing.assert_allclose(out[1], np.array([2., 1.]) / math.sqrt(5))
    np.testing.assert_allclose(out[0], [0., 1.])
    # other orders give other answers: a plain image mean (4, 1) / 3, or
    # normalising the media first ((1, 0) + (0, 1))
    assert not np.allclose(out[1], np.array([4., 1.]) / math.sqrt(17))
    assert not np.allclose(out[1], np.array([1., 1.]) / math.sqrt(2))


def test_pooling_face_scores_and_image_normalisation():
    feats = np.array([[1., 0.], [3., 0.], [0., 1.]])
    tids, mids = np.array([7, 7, 7]), np.array([1, 1, 2])
    scores = np.array([1., .5, 4.])
    # media 1: mean of (1, 0) and (1.5, 0) = (1.25, 0); media 2: (0, 4)
    _, out = template_features(feats, tids, mids, scores)
    np.testing.assert_allclose(out[0], np.array([1.25, 4.]) /
                               math.hypot(1.25, 4.))
    # normalised images: media 1 (1, 0) -> scores -> mean (0.75, 0)
    _, out = template_features(feats, tids, mids, scores, True)
    np.testing.assert_allclose(out[0], np.array([.75, 4.]) /
                               math.hypot(.75, 4.))
    # a media id reused by another template is another media there
    _, out = template_features(
        np.array([[1., 0.], [0., 1.], [5., 0.]]), np.array([1, 1, 2]),
        np.array([4, 4, 4]))
    np.testing.assert_allclose(out, [[.5**.5, .5**.5], [1., 0.]])


@pytest.mark.parametrize('bipartite', [False, True])
def test_pair_scores_all_paths_match_naive(bipartite):
    # random pairs use the triangle layout; pairs from 5 "gallery" rows to
    # 32 "probe" rows use the rows-by-columns layout
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((37, 6)).astype(np.float32)
    if bipartite:
        i1, i2 = rng.integers(0, 5, 500), rng.integers(5, 37, 500)
    else:
        i1, i2 = rng.integers(0, 37, 500), rng.integers(0, 37, 500)
    naive = (feats[i1] * feats[i2]).sum(1)
    gram = pair_scores(feats, i1, i2, block_rows=4, gram_density=0.)
    rowwise = pair_scores(feats, i1, i2, block_rows=4, gram_density=1e9)
    np.testing.assert_allclose(gram, naive, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rowwise, naive, rtol=1e-5, atol=1e-5)
    with pytest.raises(IndexError, match=r'\[0, 37\)'):
        pair_scores(feats, np.array([0]), np.array([37]))


def test_lookup_table_and_binary_search():
    ids = np.array([5, 9, 4, 2, 101, 3, 100])
    np.testing.assert_array_equal(
        lookup(np.array([3, 5, 9, 100]), ids), [1, 2, -1, -1, -1, 0, 3])
    np.testing.assert_array_equal(  # a huge id range: binary search
        lookup(np.array([1, 10**12]), np.array([10**12, 5, 1])), [1, -1, 0])


# --- ROC and TAR@FAR --------------------------------------------------------
# 4 genuine (1) and 8 impostor (0) scores; 0.7 and 0.6 are ties of one
# genuine and one impostor each.
LABELS = np.array([1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0])
SCORES = np.array([.9, .8, .7, .7, .6, .6, .5, .4, .3, .2, .2, .2])
# per distinct score (>= s):  .9  .8  .7  .6  .5  .4  .3  .2
#   false accepts fps:         0   1   2   3   4   5   5   8
#   true accepts  tps:         1   1   2   3   3   3   4   4
# drop_intermediate drops .7 (steps +1/+1 before and after) and .5
# (steps +1/0 before and after); (0, 0) is prepended.


def test_roc_points_by_hand():
    fpr, tpr, thr = roc_curve(LABELS, SCORES)
    np.testing.assert_array_equal(fpr, np.array([0, 0, 1, 3, 5, 5, 8]) / 8)
    np.testing.assert_array_equal(tpr, np.array([0, 1, 1, 3, 3, 4, 4]) / 4)
    np.testing.assert_array_equal(thr, [np.inf, .9, .8, .6, .4, .3, .2])
    fpr, tpr, _ = roc_curve(LABELS, SCORES, drop_intermediate=False)
    np.testing.assert_array_equal(fpr * 8, [0, 0, 1, 2, 3, 4, 5, 5, 8])
    np.testing.assert_array_equal(tpr * 4, [0, 1, 1, 2, 3, 3, 3, 4, 4])


def test_tar_at_far_by_hand():
    fars = (1e-3, .25, .5, .625)
    got = tar_at_far(LABELS, SCORES, fars)
    # 1e-3: fpr 0 twice (tpr 0, .25) -> the higher TAR.
    # .25: fpr 1/8 and 3/8 equally near -> the later point, TAR .75 (the
    #      dropped point at .7 had fpr exactly .25 and TAR .5).
    # .5: 3/8 and 5/8 (twice) equally near -> the last, TAR 1.
    # .625: exact fpr twice (TAR .75, 1) -> 1.
    np.testing.assert_array_equal(got['tar'], [.25, .75, 1., 1.])
    np.testing.assert_array_equal(got['far'], [0, .375, .625, .625])
    # the loosest threshold with FAR <= target, on the full curve
    got = tar_at_far(LABELS, SCORES, fars, mode='at_most')
    np.testing.assert_array_equal(got['tar'], [.25, .5, .75, 1.])
    np.testing.assert_array_equal(got['threshold'], [.9, .7, .5, .3])
    with pytest.raises(ValueError, match="'nearest' or 'at_most'"):
        tar_at_far(LABELS, SCORES, fars, mode='max')
    with pytest.raises(ValueError, match='genuine and impostor'):
        roc_curve(np.zeros(3), np.arange(3.))


# --- 1:N -----------------------------------------------------------------


def _unit(degrees):
    rad = np.radians(degrees)
    return np.stack([np.cos(rad), np.sin(rad)], 1)


def test_identification_by_hand():
    gallery = _unit([0., 90., 180.])
    gallery_subjects = np.array([10, 20, 30])
    # mated probes: 10 @ 10 deg (rank 1, score .985), 20 @ 50 (rank 1,
    # .766), 30 @ 100 (rank 2: 20 scores .985), 10 @ 60 (rank 2: 20 .866);
    # non-mated top-1 scores: 200 deg .940, 30 deg .866, 135 deg .707,
    # 270 deg ~0.
    probes = _unit([10., 50., 100., 60., 200., 30., 135., 270.])
    subjects = np.array([10, 20, 30, 10, 99, 98, 97, 96])
    res = identification(probes, subjects, gallery, gallery_subjects,
                         ranks=(1, 2), fpir_targets=(.1, .25, .5, 1.))
    assert res['rank_hits'].tolist() == [2, 4]
    assert (res['num_mated'], res['num_nonmated']) == (4, 4)
    # FPIR .1: 0 alarms -> tau .940 (p0 only); .25: 1 alarm -> tau .866;
    # .5: 2 alarms -> tau .707 (p0, p1); 1: no threshold -> rank-1 rate
    np.testing.assert_allclose(res['threshold'][:3],
                               [math.cos(math.radians(20)),
                                math.cos(math.radians(30)), .5**.5])
    np.testing.assert_allclose(res['tpir'], [.25, .25, .5, .5])
    with pytest.raises(ValueError, match='subject 10 has several'):
        identification(probes, subjects, gallery, np.array([10, 20, 10]))


# --- the metric ------------------------------------------------------------


def _write(tmp_path, pairs, gal1=None, gal2=None, probes=None):
    pair_file = tmp_path / 'pairs.txt'
    pair_file.write_text(''.join(f'{a} {b} {c}\n' for a, b, c in pairs))
    files = []
    for name, rows in (('ijbc_1N_gallery_G1.csv', gal1),
                       ('ijbc_1N_gallery_G2.csv', gal2),
                       ('ijbc_1N_probe_mixed.csv', probes)):
        if rows is not None:
            path = tmp_path / name
            path.write_text('TEMPLATE_ID,SUBJECT_ID,FILENAME\n' + ''.join(
                f'{t},{s},x.jpg\n' for t, s in rows))
            files.append(str(path))
    return str(pair_file), files


def _sample(img_index, flip, template, media, feat, score=1.):
    return dict(
        img_index=img_index,
        flip=flip,
        template_id=template,
        media_id=media,
        face_score=score,
        feat=torch.tensor(feat, dtype=torch.float32))


def _evaluate(samples, **cfg):
    evaluator = Evaluator([dict(type='IJBMetric', **cfg)])
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def test_metric_sums_flips_and_scores_pairs(tmp_path):
    # template 1: image 0 (orig (1, 0), flip (1, 0.2)); template 2: image 1
    # (orig (0, 1), flip (0.2, 1)), scores .5; template 3: image 2 ~ t1
    pair_file, _ = _write(tmp_path, [(1, 3, 1), (1, 2, 0), (2, 3, 0)])
    samples = [
        _sample(0, False, 1, 1, [1., 0.]),
        _sample(0, True, 1, 1, [1., .2]),
        _sample(1, False, 2, 2, [0., 1.], .5),
        _sample(1, True, 2, 2, [.2, 1.], .5),
        _sample(2, False, 3, 3, [2., .1]),
        _sample(2, True, 3, 3, [2., .1]),
        _sample(2, True, 3, 3, [2., .1]),  # padding duplicate: ignored
    ]
    out = _evaluate(samples, pair_file=pair_file, far_targets=(.5, ))
    assert out == {'ijbc/tar@far=5e-1': 100.}
    # wrong way round: the genuine pair scores lowest
    pair_file, _ = _write(tmp_path, [(1, 3, 0), (1, 2, 1), (2, 3, 1)])
    out = _evaluate(samples, pair_file=pair_file, far_targets=(0., 1.),
                    prefix='x')
    assert out == {'x/tar@far=0e0': 0., 'x/tar@far=1e0': 100.}


def test_metric_one_to_n(tmp_path):
    # templates = one image each at the angles of test_identification_by_hand
    angles = [0., 90., 180., 10., 50., 100., 60., 200., 30., 135., 270.]
    subjects = [10, 20, 30, 10, 20, 30, 10, 99, 98, 97, 96]
    samples = [
        _sample(i, False, 100 + i, i, _unit([a])[0])
        for i, a in enumerate(angles)
    ]
    pair_file, files = _write(
        tmp_path, [(100, 103, 1), (100, 101, 0)],
        gal1=[(100, 10), (101, 20)], gal2=[(102, 30)],
        probes=[(100 + i, s) for i, s in enumerate(subjects) if i >= 3])
    out = _evaluate(samples, pair_file=pair_file, gallery_files=files[:2],
                    probe_file=files[2], ranks=(1, 2), fpir_targets=(.2, .5))
    # G1 (0 deg: 10, 90 deg: 20): mated 10@10 r1 (.985), 20@50 r1 (.766),
    # 10@60 r2 (20 scores .866); non-mated top-1: 30@100 .985, 98@30 .866,
    # 97@135 .707, 96@270 0, 99@200 -.342 (M = 5).
    #   FPIR .2: 1 alarm, tau = .866 -> 1 of 3; .5: 2, tau = .707 -> 2 of 3.
    # G2 (180 deg: 30): mated 30@100 r1 (.174); non-mated top-1: 200 .940,
    # 135 .707, 270 0, 60 -.5, 50 -.643, 30 -.866, 10 -.985 (M = 7).
    #   FPIR .2: 1 alarm, tau = .707 -> 0; .5: 3 alarms, tau = -.5 -> 1.
    assert out['ijbc/G1/rank1'] == pytest.approx(200 / 3)
    assert out['ijbc/G1/rank2'] == 100.
    assert out['ijbc/G1/tpir@fpir=2e-1'] == pytest.approx(100 / 3)
    assert out['ijbc/G1/tpir@fpir=5e-1'] == pytest.approx(200 / 3)
    assert out['ijbc/G2/rank1'] == 100.
    assert out['ijbc/G2/tpir@fpir=2e-1'] == 0.
    assert out['ijbc/G2/tpir@fpir=5e-1'] == 100.
    assert out['ijbc/rank1'] == 75.  # 3 of the 4 mated probes
    assert out['ijbc/tpir@fpir=2e-1'] == pytest.approx(100 / 6)
    assert out['ijbc/tpir@fpir=5e-1'] == pytest.approx(250 / 3)


def test_metric_errors(tmp_path):
    pair_file, _ = _write(tmp_path, [(1, 5, 0)])
    good = [_sample(0, False, 1, 1, [1., 0.])]
    with pytest.raises(ValueError, match=r'pairs.txt: template 5 has no '
                       'image feature'):
        _evaluate(good, pair_file=pair_file)
    with pytest.raises(KeyError, match=r"missing \['media_id'\]"):
        bad = dict(good[0])
        del bad['media_id']
        _evaluate([bad], pair_file=pair_file)
    mixed = good + [_sample(1, False, 5, 2, [0., 1.]),
                    _sample(1, True, 5, 2, [0., 1.])]
    with pytest.raises(ValueError, match='image 0 has 1 feature'):
        _evaluate(mixed, pair_file=pair_file)
    with pytest.raises(ValueError, match='give data_root, or pair_file'):
        Evaluator([dict(type='IJBMetric')])


def test_names():
    assert [rate_name(r) for r in (1e-6, 1e-4, .1, 1.)] == [
        '1e-6', '1e-4', '1e-1', '1e0']
    assert gallery_tag('/a/meta/ijbc_1N_gallery_G2.csv') == 'G2'
    assert gallery_tag('my_list.csv') == 'my_list'
