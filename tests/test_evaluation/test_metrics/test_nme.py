"""Tests of landmark NME, failure rate and CED AUC against hand values."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from facessl.evaluation.metrics.nme import (NMEMetric, bbox_size, ced_auc,
                                            failure_rate,
                                            interocular_distance,
                                            interpupil_distance,
                                            landmark_nme)
from facessl.datasets.synthetic import FLIP_INDICES
from facessl.registry import METRICS


def _face68():
    """68 points; outer eye corners (36, 45) at x = 30 and 70 (40 apart);
    the eyes' points average to (35, 40) and (65, 40) (30 apart)."""
    gt = np.random.default_rng(0).uniform(0, 100, (68, 2))
    gt[36:42] = [[30, 40], [34, 37], [38, 37], [40, 40], [38, 43], [30, 43]]
    for i in range(36, 42):  # the right eye mirrors the left about x = 50
        gt[FLIP_INDICES[i]] = [100 - gt[i, 0], gt[i, 1]]
    return gt


def test_normalisers_by_hand():
    gt = _face68()[None]
    assert gt[0, 36].tolist() == [30, 40] and gt[0, 45].tolist() == [70, 40]
    assert interocular_distance(gt, 36, 45) == pytest.approx([40.])
    assert gt[0, 36:42].mean(0) == pytest.approx([35, 40])
    eyes = range(36, 42), range(42, 48)
    assert interpupil_distance(gt, *eyes) == pytest.approx([30.])
    assert bbox_size(np.array([[10, 0, 30, 80]])) == pytest.approx([40.])


def test_nme_of_a_shifted_shape():
    gt = _face68()[None]
    pred = gt + [3., 4.]  # every point 5 px off
    assert landmark_nme(pred, gt, [40.]) == pytest.approx([5 / 40])
    # only the masked points count: two of them 5 px off, one 10 px off
    pred = gt.copy()
    pred[0, :3] += [[3, 4], [0, 5], [6, 8]]
    mask = np.zeros((1, 68), bool)
    mask[0, :3] = True
    assert landmark_nme(pred, gt, [4.], mask) == pytest.approx([20 / 3 / 4])
    assert landmark_nme(pred, gt, [4.]) == pytest.approx([20 / 68 / 4])
    with pytest.raises(ValueError, match='face 0 has no point'):
        landmark_nme(pred, gt, [4.], ~np.ones((1, 68), bool))


def test_failure_rate_and_auc_by_hand():
    nmes = np.array([0., .05, .1, .2])
    # 0.1 is not a failure: FR counts NME > threshold
    assert failure_rate(nmes, .1) == .25
    # CED: 1/4 on [0, .05), 2/4 on [.05, .1), 3/4 at .1:
    # area = .25 * .05 + .5 * .05 = .0375, normalised by .1
    assert ced_auc(nmes, .1) == pytest.approx(.375)
    # against a fine sampling of the CED curve
    xs = np.linspace(0, .1, 100001)
    ced = (nmes[None] <= xs[:, None]).mean(1)
    assert ced_auc(nmes, .1) == pytest.approx(
        np.trapezoid(ced, xs) / .1, abs=1e-4)
    assert ced_auc(np.zeros(3), .1) == 1.
    assert ced_auc(np.full(3, .5), .1) == 0.


def _sample(pred, gt, packed=True, **extra):
    if packed:  # as PackInputs(algorithm_keys=('landmarks', ...)) makes
        s = DataSample(pred_landmarks=torch.as_tensor(pred), landmarks=gt)
        s.set_metainfo(dict(img_path='x.png'))
        for k, v in extra.items():
            s.set_field(v, k)
        return s.to_dict()
    return dict(pred_landmarks=pred, gt_landmarks=gt, **extra)


def test_metric_inter_ocular_68_and_wflw_98():
    gt = _face68()
    metric = METRICS.build(dict(type='NMEMetric'))
    assert isinstance(metric, NMEMetric)
    metric.process(None, [_sample(gt + [3, 4], gt),
                          _sample(gt, gt, packed=False)])
    metric.process(None, [_sample(gt + [0, 8], gt)])
    out = metric.evaluate(3)
    # per-face NMEs 0.125, 0, 0.2 (inter-ocular 40)
    assert out['landmarks/nme'] == pytest.approx(100 * .325 / 3)
    assert out['landmarks/failure_rate'] == pytest.approx(200 / 3)
    assert out['landmarks/auc'] == pytest.approx((0 + 1 + 0) / 3)
    wflw = np.zeros((98, 2))
    wflw[72] = [50, 0]  # outer corners 60 and 72 are 50 apart
    metric = NMEMetric(threshold=.2)
    metric.process(None, [_sample(wflw + [6, 8], wflw)])
    out = metric.evaluate(1)
    assert out['landmarks/nme'] == pytest.approx(20.)
    assert out['landmarks/failure_rate'] == 0
    assert out['landmarks/auc'] == pytest.approx(.0)


def test_metric_inter_pupil_bbox_and_mask():
    gt = _face68()
    metric = NMEMetric(norm='inter_pupil')
    metric.process(None, [_sample(gt + [3, 4], gt)])
    assert metric.evaluate(1)['landmarks/nme'] == pytest.approx(100 / 6)
    metric = NMEMetric(norm='bbox', prefix='box')
    metric.process(None, [
        _sample(gt + [3, 4], gt, bbox=np.array([0, 0, 20, 20.])),
        _sample(gt + [3, 4], gt, packed=False,
                gt_bbox=np.array([0, 0, 50, 50.])),
    ])
    assert metric.evaluate(2)['box/nme'] == pytest.approx(50 * (.25 + .1))
    pts = np.array([[0., 0], [10, 0], [0, 40]])  # no bbox: tight box 10x40
    metric = NMEMetric(norm='bbox')
    metric.process(None, [_sample(pts + [0, 1], pts)])
    assert metric.evaluate(1)['landmarks/nme'] == pytest.approx(100 / 20)
    metric = NMEMetric(eye_indices=(0, 2), mask_key='landmarks_labelled')
    pred = pts + [[0, 0], [0, 30], [0, 4]]
    metric.process(None, [_sample(pred, pts, landmarks_labelled=np.array(
        [True, False, True]))])
    assert metric.evaluate(1)['landmarks/nme'] == pytest.approx(100 / 20)


def test_metric_errors():
    with pytest.raises(ValueError, match='norm must be one of'):
        NMEMetric(norm='iod')
    metric = NMEMetric()
    with pytest.raises(KeyError, match="'pred_landmarks' and 'gt_landmarks'"
                       " or 'landmarks'"):
        metric.process(None, [dict(pred_landmarks=np.zeros((68, 2)))])
    with pytest.raises(ValueError, match=r'sample x.png: prediction \(5, 2\)'
                       r' and ground truth \(68, 2\)'):
        metric.process(None, [_sample(np.zeros((5, 2)), np.zeros((68, 2)))])
    with pytest.raises(ValueError, match='no default eye indices for 7 '
                       'landmarks'):
        metric.process(None, [_sample(np.zeros((7, 2)), np.zeros((7, 2)))])
    with pytest.raises(ValueError, match='sample x.png: inter_ocular '
                       'normaliser is 0.0'):
        metric.process(None, [_sample(np.ones((68, 2)), np.zeros((68, 2)))])
