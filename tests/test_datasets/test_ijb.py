"""Tests of IJBDataset, the IJB meta readers and the synthetic IJB writer."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from facessl.datasets.ijb import IJB_META_KEYS
from facessl.datasets.ijb_meta import (read_id_list, read_landmarks,
                                       read_template_media,
                                       read_template_pairs)
from facessl.datasets.synthetic import SyntheticFaceGenerator
from facessl.datasets.synthetic.export_ijb import (five_points,
                                                   write_synthetic_ijb)
from facessl.datasets.transforms.alignment import (ARCFACE_TEMPLATE,
                                                   align_face,
                                                   estimate_alignment,
                                                   transform_points)
from facessl.registry import DATASETS


@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    """3 identities x 6 images, 2 templates each, written as IJB-C."""
    root = str(tmp_path_factory.mktemp('ijbc'))
    summary = write_synthetic_ijb(root, 3, 6, img_size=64, seed=2)
    return root, summary


def build(root, **cfg):
    return DATASETS.build(dict(type='IJBDataset', data_root=root, **cfg))


def test_records_flip_order_and_meta(bench):
    root, summary = bench
    ds = build(root)
    assert summary['num_images'] == 18 and summary['num_templates'] == 6
    assert len(ds) == 36
    first, flipped = ds[4], ds[5]
    im = summary['images'][2]
    for info in (first, flipped):
        assert info['img_index'] == 2
        assert info['template_id'] == im['template_id'] == 1
        assert info['media_id'] == im['media_id']
        assert info['face_score'] == pytest.approx(im['face_score'])
        assert info['img_shape'] == (112, 112)
        assert info['ori_shape'] == (96, 96)  # 1.5 x 64 loose crop
        assert info['img'].dtype == np.uint8
    assert (first['flip'], flipped['flip']) == (False, True)
    assert np.array_equal(flipped['img'], first['img'][:, ::-1])
    # points: mapped by the fit (whose centroid is the template's exactly),
    # mirrored and re-ordered when flipped
    raw = ds.get_data_info(4)['landmarks5']
    np.testing.assert_allclose(
        first['landmarks5'],
        transform_points(raw, estimate_alignment(raw)), atol=1e-4)
    np.testing.assert_allclose(first['landmarks5'].mean(0),
                               ARCFACE_TEMPLATE.mean(0), atol=1e-3)
    np.testing.assert_allclose(flipped['landmarks5'][1, 0],
                               111 - first['landmarks5'][0, 0], atol=1e-4)
    # template 1: a still (image 0) and a two-frame video (images 1, 2)
    assert [i['media_id'] for i in summary['images'][:3]] == [1, 2, 2]
    assert len(build(root, flip_test=False)) == 18


def test_alignment_undoes_the_loose_crop(bench):
    # aligning the loose crop (random rotation/scale/shift) with its points
    # gives the generator's face aligned directly, up to JPEG and two
    # resamplings; points in the wrong order give another picture
    root, summary = bench
    ds = build(root, flip_test=False)
    gen = SyntheticFaceGenerator(img_size=64, seed=2)
    inner = (slice(20, 92), ) * 2
    errs, wrong = [], []
    for idx, im in enumerate(summary['images']):
        out = gen(im['identity'], idx % 6)
        points = five_points(out['landmarks'])
        got = ds[idx]['img'][inner].astype(float)
        errs.append(np.abs(got - align_face(out['img'], points)[inner]))
        wrong.append(np.abs(got - align_face(out['img'], points[::-1])[inner]))
    errs = np.array([e.mean() for e in errs])
    assert np.median(errs) < 5 and errs.max() < 10, errs
    assert (np.array([w.mean() for w in wrong]) > 3 * errs).all()


def test_pipeline_alignment_and_packing(bench):
    root, _ = bench
    aligned = build(root, flip_test=False)[3]['img']
    late = build(
        root, flip_test=False, align=False,
        pipeline=[dict(type='AlignFace')])[3]['img']
    assert np.array_equal(aligned, late)
    packed = build(
        root, pipeline=[dict(type='PackInputs',
                             meta_keys=IJB_META_KEYS)])[1]
    sample = packed['data_samples']
    assert tuple(packed['inputs'].shape) == (3, 112, 112)
    assert (sample.img_index, sample.flip, sample.template_id) == (0, True, 1)


def test_end_to_end_with_metric(bench):
    root, summary = bench
    ds = build(root, pipeline=[dict(type='PackInputs',
                                    meta_keys=IJB_META_KEYS)])
    identity = {i: im['identity'] for i, im in enumerate(summary['images'])}
    evaluator = Evaluator([
        dict(type='IJBMetric', data_root=root, one_to_n=True,
             far_targets=(1e-1, ), fpir_targets=(0.5, ))
    ])
    rng = np.random.default_rng(0)
    for start in range(0, len(ds), 5):
        samples = []
        for k in range(start, min(start + 5, len(ds))):
            sample = ds[k]['data_samples']
            feat = np.eye(8)[identity[sample.img_index]] * 3
            feat += rng.normal(0, .1, 8)
            sample.set_field(torch.tensor(feat, dtype=torch.float32),
                             'feat')
            samples.append(sample)
        evaluator.process(samples)
    out = evaluator.evaluate(len(ds))
    assert out['ijbc/tar@far=1e-1'] == 100.
    assert out['ijbc/rank1'] == 100. and out['ijbc/G1/rank1'] == 100.
    assert out['ijbc/tpir@fpir=5e-1'] == 100.


def _copy(bench, tmp_path):
    root = str(tmp_path / 'copy')
    shutil.copytree(bench[0], root)
    return root


def _rewrite_line(path, lineno, text):
    with open(path) as f:
        lines = f.readlines()
    lines[lineno - 1] = text + '\n'
    with open(path, 'w') as f:
        f.writelines(lines)


def test_errors_name_file_and_line(bench, tmp_path):
    root = _copy(bench, tmp_path)
    meta = osp.join(root, 'meta')
    with pytest.raises(ValueError, match="name must be one of"):
        build(root, name='IJBA')
    _rewrite_line(osp.join(meta, 'ijbc_face_tid_mid.txt'), 2, '2.jpg 1')
    with pytest.raises(ValueError,
                       match=r'ijbc_face_tid_mid.txt: line 2: expected 3 '
                       'columns "image_name template_id media_id", got 2'):
        build(root)
    _rewrite_line(osp.join(meta, 'ijbc_face_tid_mid.txt'), 2, '9.jpg 1 2')
    with pytest.raises(ValueError, match=r"record 2 is image '2.jpg', but "
                       r"record 2 of .*ijbc_face_tid_mid.txt is '9.jpg'"):
        build(root)
    _rewrite_line(osp.join(meta, 'ijbc_face_tid_mid.txt'), 2, '2.jpg 1 2')
    os.remove(osp.join(root, 'loose_crop', '2.jpg'))
    with pytest.raises(FileNotFoundError,
                       match=r'2.jpg: image file not found \(image 2 of'):
        build(root)[2]
    os.remove(osp.join(meta, 'ijbc_name_5pts_score.txt'))
    with pytest.raises(FileNotFoundError,
                       match='ijbc_name_5pts_score.txt: landmark list not'):
        build(root)


def test_meta_readers(bench, tmp_path):
    root, summary = bench
    meta = osp.join(root, 'meta')
    names, tids, mids = read_template_media(
        osp.join(meta, 'ijbc_face_tid_mid.txt'))
    assert names[:2] == ['1.jpg', '2.jpg']
    assert tids[:4].tolist() == [1, 1, 1, 2]
    assert mids[:4].tolist() == [1, 2, 2, 3]  # a still, a 2-frame video
    names, points, scores = read_landmarks(
        osp.join(meta, 'ijbc_name_5pts_score.txt'))
    assert points.shape == (18, 5, 2)
    np.testing.assert_allclose(points[3], summary['images'][3]['points5'],
                               atol=1e-3)
    t1, t2, labels = read_template_pairs(
        osp.join(meta, 'ijbc_template_pair_label.txt'))
    assert len(t1) == 15 and labels.sum() == 3  # 6 templates, 3 genuine
    assert (t1[0], t2[0], labels[0]) == (1, 2, 1)
    gal, subjects = read_id_list(osp.join(meta, 'ijbc_1N_gallery_G1.csv'))
    assert gal.tolist() == [1, 5] and subjects.tolist() == [1, 3]
    bad = tmp_path / 'pairs.txt'
    bad.write_text('1 2 1\n3 4\n')
    with pytest.raises(ValueError, match=r'pairs.txt: line 2: expected 3 '
                       'columns'):
        read_template_pairs(str(bad))
    bad.write_text('1 2 1\n3 4 2\n')
    with pytest.raises(ValueError, match='record 2 has label 2, expected 0'):
        read_template_pairs(str(bad))
    bad.write_text('1 2 1\n3 x 0\n')
    with pytest.raises(ValueError, match="line 2: value 'x' is not an int"):
        read_template_pairs(str(bad))
    csv = tmp_path / 'gal.csv'
    csv.write_text('TEMPLATE_ID,SUBJECT_ID\n1,5\n1,6\n')
    with pytest.raises(ValueError, match='line 3: template 1 has subject 6'):
        read_id_list(str(csv))


def test_base_config_builds(bench, repo_root):
    from mmengine.config import Config
    from facessl.registry import METRICS
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs/_base_/datasets/eval_ijbc.py'))
    ds_cfg = dict(cfg.test_dataloader.dataset, data_root=bench[0])
    packed = DATASETS.build(ds_cfg)[0]
    assert set(IJB_META_KEYS) <= set(packed['data_samples'].metainfo_keys())
    metric = METRICS.build(dict(cfg.test_evaluator, data_root=bench[0]))
    assert metric.pair_file.endswith('meta/ijbc_template_pair_label.txt')
