"""Tests of FaceRecordIO and the synthetic RecordIO writer."""
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from facessl.datasets.face_recordio import decode_image, encode_image
from facessl.datasets.face_pack import FacePackWriter
from facessl.datasets.recordio import pack_header, write_records
from facessl.datasets.synthetic import SyntheticFaceGenerator
from facessl.datasets.synthetic.export_recordio import \
    write_synthetic_recordio
from facessl.registry import DATASETS
from tests.conftest import REPO_ROOT

FIXTURES = osp.join(REPO_ROOT, 'tests', 'data', 'recordio')


def build(**cfg):
    return DATASETS.build(dict(type='FaceRecordIO', **cfg))


def identity_collate(batch):
    return batch


@pytest.fixture(scope='module')
def png_pack(tmp_path_factory):
    """3 identities (ids 4..6) x 2 images, lossless."""
    root = str(tmp_path_factory.mktemp('png_pack'))
    write_synthetic_recordio(root, 3, 2, img_size=32, seed=2,
                             identity_offset=4, encoding='.png')
    return root


def test_mxnet_fixture(tmp_path):
    ds = build(data_root=FIXTURES, rec_file='mxnet_face.rec')
    assert ds.metainfo['classes'] == ('3', '7')
    assert ds.get_gt_labels().tolist() == [0, 0, 1, 1]
    gen = SyntheticFaceGenerator(img_size=24, seed=5)
    for idx, (identity, j) in enumerate([(3, 0), (3, 1), (7, 0), (7, 1)]):
        info = ds[idx]
        assert info['record_key'] == idx + 1
        assert info['identity'] == identity and info['sample_idx'] == idx
        assert info['img'].dtype == np.uint8
        assert info['img_shape'] == info['ori_shape'] == (24, 24)
        assert np.array_equal(info['img'], gen(identity, j)['img'])


def test_synthetic_png_round_trip_and_pipeline(png_pack):
    ds = build(data_root=png_pack)
    gen = SyntheticFaceGenerator(img_size=32, seed=2)
    assert len(ds) == 6 and ds.metainfo['classes'] == ('4', '5', '6')
    for idx in range(6):
        info = ds[idx]
        assert info['gt_label'] == idx // 2
        ref = gen(4 + idx // 2, idx % 2)['img']
        assert np.array_equal(info['img'], ref)
    ds = build(data_root=png_pack, pipeline=[
        dict(type='Resize', scale=16), dict(type='PackInputs')])
    out = ds[3]
    assert tuple(out['inputs'].shape) == (3, 16, 16)
    assert out['data_samples'].gt_label.tolist() == [1]


def test_jpeg_is_close_and_channel_order(tmp_path):
    gen = SyntheticFaceGenerator(img_size=48, seed=0)
    root = str(tmp_path)
    write_synthetic_recordio(root, 2, 1, img_size=48, seed=0)
    write_synthetic_recordio(root, 2, 1, img_size=48, seed=0,
                             channel_order='bgr', prefix='swapped')
    plain = build(data_root=root)
    swapped = build(data_root=root, rec_file='swapped.rec',
                    channel_order='bgr')
    misread = build(data_root=root, rec_file='swapped.rec')
    for idx in range(2):
        ref = gen(idx, 0)['img'].astype(int)
        for ds in (plain, swapped):
            # JPEG q95 of a small cartoon: a few grey levels off
            assert np.abs(ds[idx]['img'] - ref).mean() < 6
        wrong = misread[idx]['img'].astype(int)
        assert np.abs(wrong[..., ::-1] - ref).mean() < 6
        assert np.abs(wrong - ref).mean() > 25  # R and B swapped
    with pytest.raises(ValueError, match="channel_order must be one of"):
        build(data_root=root, channel_order='RGB')


def test_packs_without_header_or_identity_records(tmp_path):
    img = encode_image(np.full((8, 8, 3), 50, np.uint8), '.png')
    plain = write_keys(tmp_path, 'plain',
                       {k: pack_header(lb, img) for k, lb in
                        [(0, 9), (1, 2), (2, 9)]})
    ds = build(data_root=str(tmp_path), rec_file=plain)
    assert [ds.get_data_info(i)['record_key'] for i in range(3)] == [0, 1, 2]
    assert ds.get_gt_labels().tolist() == [1, 0, 1]
    assert ds.metainfo['classes'] == ('2', '9')
    assert ds[0]['img'].shape == (8, 8, 3)
    # header (N + 1, num_classes) as many converters write: no identities
    counts = write_keys(tmp_path, 'counts', {
        0: pack_header([3, 2]), 1: pack_header([5, 1], img),
        2: pack_header(0, img)})
    ds = build(data_root=str(tmp_path), rec_file=counts)
    assert ds.get_gt_labels().tolist() == [1, 0]
    assert ds.metainfo['classes'] == ('0', '5')
    # identity records that do not tile the images: labels from the images
    partial = write_keys(tmp_path, 'partial', {
        1: pack_header(8, img), 2: pack_header(6, img),
        0: pack_header([3, 4]), 3: pack_header([1, 2])})
    ds = build(data_root=str(tmp_path), rec_file=partial)
    assert [ds.get_data_info(i)['identity'] for i in (0, 1)] == [8, 6]


def write_keys(tmp_path, name, records):
    rec = str(tmp_path / f'{name}.rec')
    write_records(rec, records)
    return rec


def test_explicit_classes(png_pack):
    with pytest.raises(ValueError, match=r'train.rec: record 1 has label 4,'
                       r' expected 0..2 \(3 classes given\)'):
        build(data_root=png_pack, classes=['a', 'b', 'c'])
    ds = build(data_root=png_pack, classes=[f'c{i}' for i in range(7)])
    assert ds.get_gt_labels().tolist() == [4, 4, 5, 5, 6, 6]


def test_multi_worker_loader_reads_the_same(png_pack):
    ds = build(data_root=png_pack)
    ds[0]  # the parent's handle is open when the workers fork
    single = [ds[i]['img'] for i in range(len(ds))]
    loader = torch.utils.data.DataLoader(
        ds, batch_size=2, num_workers=2, collate_fn=identity_collate)
    multi = [info['img'] for batch in loader for info in batch]
    assert len(multi) == 6
    assert all(np.array_equal(a, b) for a, b in zip(single, multi))
    clone = pickle.loads(pickle.dumps(ds))
    assert clone.reader._file is None
    assert np.array_equal(clone[5]['img'], single[5])


def test_undecodable_image_and_label_mismatch(tmp_path):
    good = encode_image(np.zeros((8, 8, 3), np.uint8), '.png')
    rec = str(tmp_path / 'bad.rec')
    with FacePackWriter(rec) as writer:
        writer.add(0, good)
        writer.add(0, b'not an image')
        writer.add(1, good)
    ds = build(data_root=str(tmp_path), rec_file='bad.rec')
    assert ds[0]['img'].shape == (8, 8, 3)
    with pytest.raises(ValueError, match='bad.rec: record 2: cannot decode '
                       'the image'):
        ds[1]
    # an image whose label disagrees with its identity record
    rec = write_keys(tmp_path, 'mismatch', {
        1: pack_header(0, good), 2: pack_header(3, good),
        0: pack_header([3, 4]), 3: pack_header([1, 3])})
    ds = build(data_root=str(tmp_path), rec_file=rec)
    with pytest.raises(ValueError, match=r'mismatch.rec: record 2 has label '
                       r'3.0, but the identity records of the pack give 0'):
        ds[1]
    with pytest.raises(ValueError, match='cannot decode'):
        decode_image(b'', 'x')


def test_bad_labels_and_empty_pack(tmp_path):
    img = encode_image(np.zeros((4, 4, 3), np.uint8), '.png')
    rec = write_keys(tmp_path, 'frac', {0: pack_header(1.5, img)})
    with pytest.raises(ValueError, match='frac.rec: record 0 has label 1.5,'
                       ' expected a non-negative integer'):
        build(data_root=str(tmp_path), rec_file=rec)
    rec = write_keys(tmp_path, 'empty', {0: pack_header([1, 1])})
    with pytest.raises(ValueError, match='empty.rec: the pack has no image'):
        build(data_root=str(tmp_path), rec_file=rec)
    with pytest.raises(FileNotFoundError, match='nope.rec'):
        build(data_root=str(tmp_path), rec_file='nope.rec')
