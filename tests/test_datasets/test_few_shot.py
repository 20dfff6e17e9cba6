"""Few-shot subsets: the draw, the subset file, the wrapper and the tool."""
import json
import os.path as osp
import runpy

import numpy as np
import pytest

from facessl.datasets.few_shot import (FewShotSubset, load_few_shot_subset,
                                       num_subset_identities,
                                       sample_few_shot)
from facessl.datasets.synthetic.export import write_synthetic_faces
from facessl.registry import DATASETS

# identity 5: 3 images, 7: 2, 9: 4, 2: 1
LABELS = [5, 5, 5, 7, 7, 9, 9, 9, 9, 2]


def faces(n=6, m=4, pipeline=()):
    return dict(type='SyntheticFaces', num_identities=n,
                images_per_identity=m, img_size=16, seed=1,
                pipeline=list(pipeline), serialize_data=False)


def few_shot(**cfg):
    # serialize_data=False: no gc.collect() per build, a faster test
    return DATASETS.build(
        dict(type='FewShotSubset', serialize_data=False, **cfg))


def test_draw_by_hand():
    subset = sample_few_shot(LABELS, shots=3, num_identities=2, seed=0)
    # only 5 and 9 have 3 images: both are taken, in label order
    assert [s['label'] for s in subset] == [0, 1]
    assert [s['source_label'] for s in subset] == [5, 9]
    assert subset[0]['indices'] == [0, 1, 2]
    picks = subset[1]['indices']
    assert len(picks) == 3 and picks == sorted(picks)
    assert set(picks) < {5, 6, 7, 8}


def test_short_identities_are_skipped():
    for seed in range(20):
        subset = sample_few_shot(LABELS, shots=2, num_identities=3, seed=seed)
        # identity 2 (one image) can never be drawn for 2 shots
        assert [s['source_label'] for s in subset] == [5, 7, 9]
    with pytest.raises(ValueError, match='only 2 of the 4 identities'):
        sample_few_shot(LABELS, shots=3, fraction=1.0)


def test_all_images_of_the_chosen_identities():
    """shots='all' (or None): every image of each chosen identity, no
    identity skipped; bad values name what is expected."""
    for shots in ('all', None):
        subset = sample_few_shot(LABELS, shots=shots, num_identities=4)
        assert [s['source_label'] for s in subset] == [2, 5, 7, 9]
        assert [s['indices'] for s in subset] == [
            [9], [0, 1, 2], [3, 4], [5, 6, 7, 8]]
    two = sample_few_shot(LABELS, shots='all', num_identities=2, seed=3)
    for ident in two:
        assert ident['indices'] == [
            i for i, lab in enumerate(LABELS) if lab == ident['source_label']]
    for bad in (0, 1.5, 'some', True):
        with pytest.raises(ValueError, match="integer >= 1 or 'all'"):
            sample_few_shot(LABELS, shots=bad, num_identities=2)


def test_all_shots_file_wrapper_and_tool(tmp_path, repo_root, capsys):
    path = str(tmp_path / 'all.json')
    ds = few_shot(dataset=faces(6, 3), subset_file=path, shots='all',
                  num_identities=2, seed=1)
    assert len(ds) == 6 and ds.subset['shots'] == 'all'
    assert ds.subset['source']['skipped_identities'] == 0
    assert load_few_shot_subset(path)['shots'] == 'all'
    again = few_shot(dataset=faces(6, 3), subset_file=path, shots='all')
    assert [again[i]['source_index'] for i in range(6)] == [
        ds[i]['source_index'] for i in range(6)]
    with pytest.raises(ValueError, match='shots=all, but FewShotSubset '
                       'was given shots=2'):
        few_shot(dataset=faces(6, 3), subset_file=path, shots=2)
    tool = runpy.run_path(
        osp.join(repo_root, 'tools/misc/make_few_shot_subset.py'),
        run_name='facessl_tool')
    out = str(tmp_path / 'tool.json')
    config = osp.join(repo_root,
                      'tests/data/configs/tiny-cls_synthetic-faces.py')
    tool['main']([config, '--num-identities', '2', '--shots', 'all',
                  '--out', out])
    assert 'wrote 2 identities x all images of 4' in capsys.readouterr().out
    assert all(len(i['indices']) == 4
               for i in load_few_shot_subset(out)['identities'])
    with pytest.raises(SystemExit):
        tool['parse_args']([config, '--fraction', '0.5', '--shots', '0',
                            '--out', out])


def test_identity_counts():
    assert num_subset_identities(93431, fraction=0.01) == 934
    assert num_subset_identities(150, fraction=0.01) == 2  # 1.5 rounds up
    assert num_subset_identities(40, fraction=0.01) == 1  # at least one
    assert num_subset_identities(40, num_identities=7) == 7
    with pytest.raises(ValueError, match='exactly one'):
        num_subset_identities(40, fraction=0.1, num_identities=3)
    with pytest.raises(ValueError, match=r'fraction must be in \(0, 1\]'):
        num_subset_identities(40, fraction=1.5)


def test_draw_is_seeded():
    labels = np.random.default_rng(0).integers(0, 50, 600)
    a = sample_few_shot(labels, 4, fraction=0.1, seed=1)
    assert a == sample_few_shot(labels, 4, fraction=0.1, seed=1)
    assert a != sample_few_shot(labels, 4, fraction=0.1, seed=2)
    assert len(a) == 5
    for ident in a:  # every pick belongs to its identity
        assert (labels[ident['indices']] == ident['source_label']).all()


def test_subset_file_and_wrapper(tmp_path):
    path = str(tmp_path / 'subset.json')
    pack = dict(type='PackInputs', meta_keys=('sample_idx', 'source_label'))
    ds = few_shot(dataset=faces(pipeline=[pack]), subset_file=path,
                  fraction=0.5, shots=2, seed=3)
    assert isinstance(ds, FewShotSubset) and len(ds) == 3 * 2
    with open(path) as f:
        written = json.load(f)
    assert (written['fraction'], written['shots'], written['seed']) == (
        0.5, 2, 3)
    assert written['source'] == dict(
        type='SyntheticFaces', length=24, num_identities=6,
        skipped_identities=0)
    idents = written['identities']
    assert [i['label'] for i in idents] == [0, 1, 2]
    assert ds.metainfo['classes'] == tuple(i['name'] for i in idents)
    assert idents[0]['name'] == f'synthetic_{idents[0]["source_label"]:06d}'
    assert ds.get_gt_labels().tolist() == [0, 0, 1, 1, 2, 2]

    source = DATASETS.build(faces())
    packed = ds[3]
    sample = packed['data_samples']
    assert sample.gt_label.tolist() == [1]
    assert sample.source_label == idents[1]['source_label']
    assert sample.sample_idx == 3
    raw = source[idents[1]['indices'][1]]
    assert np.array_equal(packed['inputs'].permute(1, 2, 0).numpy(),
                          raw['img'])

    # read back: same records, no draw settings needed
    again = few_shot(dataset=faces(), subset_file=path)
    assert [again.get_data_info(i)['source_index'] for i in range(6)] == [
        j for i in idents for j in i['indices']]
    assert again[0]['gt_label'] == 0 and 'img' in again[0]


def test_file_of_another_dataset_is_refused(tmp_path):
    path = str(tmp_path / 'subset.json')
    few_shot(dataset=faces(6, 4), subset_file=path, num_identities=2,
             shots=2)
    with pytest.raises(ValueError, match='subset.json: made from a dataset '
                       'of 24 images, but this dataset has 20'):
        few_shot(dataset=faces(5, 4), subset_file=path)
    # same length, other labels: 8 identities x 3 images
    with pytest.raises(ValueError, match=r'subset.json: identity record \d '
                       r'lists image \d+ as label \d, but this dataset '
                       r'labels it \d'):
        few_shot(dataset=faces(8, 3), subset_file=path)
    with pytest.raises(ValueError, match='the subset file has shots=2, but '
                       'FewShotSubset was given shots=4'):
        few_shot(dataset=faces(6, 4), subset_file=path, shots=4)
    with pytest.raises(ValueError, match='does not exist; to create it give '
                       'shots'):
        few_shot(dataset=faces(), subset_file=str(tmp_path / 'new.json'))
    (tmp_path / 'bad.json').write_text('{"format": "facessl-faces/1"}')
    with pytest.raises(ValueError, match='bad.json: expected a JSON object '
                       'with "format": "facessl-few-shot/1"'):
        load_few_shot_subset(str(tmp_path / 'bad.json'))


def test_image_folder_with_a_short_identity(tmp_path):
    root = str(tmp_path / 'faces')
    write_synthetic_faces(root, 3, 3, img_size=16, seed=2)
    for name in ('0000', '0001'):  # identity 000001 keeps one image
        (tmp_path / 'faces' / '000001' / f'{name}.png').unlink()
    ds = few_shot(
        dataset=dict(type='FaceImageFolder', data_root=root,
                     serialize_data=False),
        num_identities=2, shots=2, seed=0)
    assert ds.subset['source']['skipped_identities'] == 1
    assert ds.metainfo['classes'] == ('000000', '000002')
    info = ds[2]
    assert info['gt_label'] == 1 and info['source_label'] == 2
    assert info['img'].shape == (16, 16, 3)
    assert osp.basename(osp.dirname(info['img_path'])) == '000002'


def test_make_few_shot_subset_tool(tmp_path, repo_root, capsys):
    tool = runpy.run_path(
        osp.join(repo_root, 'tools/misc/make_few_shot_subset.py'),
        run_name='facessl_tool')
    out = str(tmp_path / 'fs.json')
    config = osp.join(repo_root,
                      'tests/data/configs/tiny-cls_synthetic-faces.py')
    tool['main']([config, '--num-identities', '2', '--shots', '3',
                  '--seed', '5', '--out', out])
    assert 'wrote 2 identities x 3 images of 4' in capsys.readouterr().out
    ds = few_shot(
        dataset=dict(type='SyntheticFaces', num_identities=4,
                     images_per_identity=4, img_size=32),
        subset_file=out, seed=5)
    assert len(ds) == 6 and ds.subset['num_identities'] == 2
