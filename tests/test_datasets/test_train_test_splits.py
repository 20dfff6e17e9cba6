"""TrainTestSplits: two datasets as one, each data info tagged."""
import numpy as np
import pytest

from facessl.registry import DATASETS

PACK = dict(type='PackInputs', meta_keys=('sample_idx', 'split'))


def faces(images, offset=0, n=3, pipeline=(PACK, ), **kw):
    return dict(type='SyntheticFaces', num_identities=n,
                images_per_identity=images, image_offset=offset,
                img_size=16, pipeline=list(pipeline), serialize_data=False,
                **kw)


def splits(train, test, **kw):
    return DATASETS.build(dict(type='TrainTestSplits', train=train,
                               test=test, serialize_data=False, **kw))


def test_train_then_test_with_split_meta():
    ds = splits(faces(2), faces(1, offset=2))
    assert len(ds) == 3 * 2 + 3
    assert ds.get_gt_labels().tolist() == [0, 0, 1, 1, 2, 2, 0, 1, 2]
    assert ds.metainfo['classes'] == ('synthetic_000000', 'synthetic_000001',
                                      'synthetic_000002')
    sample = ds[7]['data_samples']
    assert sample.split == 'test' and sample.sample_idx == 7
    assert sample.gt_label.tolist() == [1]
    assert ds[1]['data_samples'].split == 'train'
    # the test image is image 2 of identity 1 of the generator
    raw = DATASETS.build(faces(3, pipeline=()))[1 * 3 + 2]
    assert np.array_equal(ds[7]['inputs'].permute(1, 2, 0).numpy(),
                          raw['img'])


def test_own_and_shared_pipelines():
    flip = dict(type='RandomFlip', prob=1., direction='horizontal')
    ds = splits(faces(1, pipeline=()), faces(1, offset=1, pipeline=[flip]))
    assert 'split' in ds[0] and 'img' in ds[0]  # train: no pipeline
    ref = DATASETS.build(faces(2, pipeline=()))
    assert np.array_equal(ds[3]['img'], ref[1]['img'][:, ::-1])  # flipped
    ds = splits(faces(1), faces(1, offset=1), pipeline=[flip])
    assert np.array_equal(ds[3]['img'], ref[1]['img'][:, ::-1])
    assert np.array_equal(ds[0]['img'], ref[0]['img'][:, ::-1])


def test_label_spaces_must_agree():
    with pytest.raises(ValueError, match='name their labels differently'):
        splits(faces(2), faces(1, identity_offset=5))
