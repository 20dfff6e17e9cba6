"""Synthetic faces written as CelebA, COCO, 300-W, RAF-DB and AffectNet
files read back through the data sets, and scored end to end."""
import os.path as osp

import numpy as np
import pytest

from facessl.datasets.synthetic import ATTRIBUTE_NAMES, SyntheticFaceGenerator
from facessl.datasets.synthetic.export_annotations import (
    celeba_five_points, expression_of, partition_of,
    write_synthetic_annotations)
from facessl.registry import DATASETS, METRICS

N, M, SIZE, SEED = 3, 2, 32, 5


@pytest.fixture(scope='module')
def written(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('annotated'))
    summary = write_synthetic_annotations(root, N, M, img_size=SIZE,
                                          seed=SEED, identity_offset=10)
    return root, summary


@pytest.fixture(scope='module')
def reference():
    gen = SyntheticFaceGenerator(img_size=SIZE, seed=SEED)
    return [gen(10 + k, j) for k in range(N) for j in range(M)]


def test_partitions():
    assert [partition_of(k, 3) for k in range(3)] == [0, 1, 2]
    assert [partition_of(k, 10) for k in range(10)] == [0] * 8 + [1, 2]
    assert [partition_of(k, 2) for k in range(2)] == [0, 0]


def test_celeba_round_trip(written, reference):
    root, summary = written
    assert summary['num_images'] == 6 and summary['partitions'] == [2, 2, 2]
    ds = DATASETS.build(dict(type='CelebAAttributes', data_root=root,
                             split='all',
                             landmarks_file='list_landmarks_align_celeba.txt'))
    assert ds.metainfo['attribute_names'] == ATTRIBUTE_NAMES
    for info, ref in zip(ds, reference):
        assert np.array_equal(info['img'], ref['img'])  # lossless PNG
        assert np.array_equal(info['attributes'], ref['attributes'])
        assert info['landmarks'].tolist() == np.rint(
            celeba_five_points(ref['landmarks'])).tolist()
    test = DATASETS.build(dict(type='CelebAAttributes', data_root=root,
                               split='test'))
    assert [osp.basename(i['img_path']) for i in test] == [
        '000005.png', '000006.png']  # the last identity


def test_landmark_round_trips(written, reference):
    root, _ = written
    coco = DATASETS.build(dict(type='CocoFaceLandmarks', data_root=root,
                               ann_file='face_landmarks_coco.json',
                               data_prefix='img_align_celeba'))
    pts = DATASETS.build(dict(type='Landmarks300W', data_root=root,
                              subsets=['img_align_celeba']))
    assert len(coco) == len(pts) == 6
    assert coco.metainfo['flip_indices'] == pts.metainfo['flip_indices']
    assert coco.metainfo['landmark_names'][36] == 'eye_left_0'
    assert (0, 1) in coco.metainfo['skeleton']
    for a, b, ref in zip(coco, pts, reference):
        assert np.array_equal(a['img'], ref['img'])
        assert np.array_equal(a['landmarks'], ref['landmarks'])
        assert np.array_equal(a['landmarks_visible'], ref['visible'])
        np.testing.assert_allclose(b['landmarks'], ref['landmarks'],
                                   atol=1e-4)
        np.testing.assert_allclose(a['bbox'], b['bbox'], atol=1e-4)


def test_landmark_split_files(written, reference):
    root, summary = written
    names = []
    for split in ('train', 'val', 'test'):
        assert summary['files'][f'coco_{split}'] == osp.join(
            root, f'face_landmarks_coco_{split}.json')
        part = DATASETS.build(dict(
            type='CocoFaceLandmarks', data_root=root,
            ann_file=f'face_landmarks_coco_{split}.json',
            data_prefix='img_align_celeba'))
        names.append([osp.basename(i['img_path']) for i in part])
    # one identity (2 images) per partition, in the CelebA partition order
    assert names == [['000001.png', '000002.png'],
                     ['000003.png', '000004.png'],
                     ['000005.png', '000006.png']]
    np.testing.assert_array_equal(part[1]['landmarks'],
                                  reference[5]['landmarks'])


def test_expression_round_trips(written, reference):
    root, _ = written
    raf = DATASETS.build(dict(type='RAFDB', data_root=root + '/RAF-DB',
                              split='all'))
    names = [expression_of(ref['attributes']) for ref in reference]
    assert [raf.metainfo['classes'][i['gt_label']].lower()
            for i in raf] == names
    assert np.array_equal(raf[0]['img'], reference[0]['img'])
    assert len(DATASETS.build(dict(type='RAFDB', data_root=root +
                                   '/RAF-DB'))) == 2  # train partition
    codes = {'neutral': 0, 'happiness': 1, 'surprise': 3}
    for csv, refs in (('training.csv', reference[:2]),
                      ('validation.csv', reference[2:])):
        aff = DATASETS.build(dict(type='AffectNet', ann_file=csv,
                                  data_root=root + '/affectnet',
                                  data_prefix='../img_align_celeba'))
        assert aff.get_gt_labels().tolist() == [
            codes[expression_of(r['attributes'])] for r in refs]
        np.testing.assert_allclose(aff[0]['landmarks'],
                                   refs[0]['landmarks'], atol=6e-3)


def test_packed_landmarks_score_with_nme(written):
    root, _ = written
    ds = DATASETS.build(dict(
        type='CocoFaceLandmarks', data_root=root,
        ann_file='face_landmarks_coco.json', data_prefix='img_align_celeba',
        pipeline=[dict(type='PackInputs',
                       algorithm_keys=('landmarks', 'bbox'))]))
    metric = METRICS.build(dict(type='NMEMetric'))
    samples = []
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        gt = sample.landmarks
        iod = np.linalg.norm(gt[36] - gt[45])
        # a prediction 10 % of the inter-ocular distance off in x
        sample.set_field(gt + [0.1 * iod, 0], 'pred_landmarks')
        samples.append(sample.to_dict())
    metric.process(None, samples)
    out = metric.evaluate(len(samples))
    assert out['landmarks/nme'] == pytest.approx(10.)
    assert out['landmarks/auc'] == pytest.approx(0., abs=1e-6)
