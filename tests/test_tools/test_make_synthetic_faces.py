"""tools/misc/make_synthetic_faces.py writes every format facessl reads."""
import os.path as osp
import runpy

import numpy as np
import pytest

from facessl.registry import DATASETS

TOOL = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools',
    'misc', 'make_synthetic_faces.py')


@pytest.fixture(scope='module')
def written(tmp_path_factory):
    tool = runpy.run_path(TOOL, run_name='facessl_tool')
    out = str(tmp_path_factory.mktemp('synthetic'))
    tool['main']([
        '--out', out, '--num-identities', '3', '--images-per-identity', '2',
        '--img-size', '48', '--formats', 'folder', 'rec', 'bin', 'ijb',
        'annotations', '--num-pairs', '20', '--ijb-identities', '3',
        '--background', 'plain', '--no-progress'
    ])
    return out


def test_folder_and_recordio_hold_the_same_faces(written):
    folder = DATASETS.build(
        dict(type='FaceImageFolder', data_root=written, ann_file='list.txt'))
    pack = DATASETS.build(dict(type='FaceRecordIO', data_root=written))
    assert len(folder) == len(pack) == 6
    assert list(folder.get_gt_labels()) == list(pack.get_gt_labels())
    same = [np.abs(folder[i]['img'].astype(float) -
                   pack[i]['img'].astype(float)).mean() for i in range(6)]
    other = np.abs(folder[5]['img'].astype(float) -
                   pack[4]['img'].astype(float)).mean()
    assert pack[5]['img'].shape == (48, 48, 3)
    # JPEG q95 in the pack: close to the PNG of the same face only
    assert max(same) < 6 and max(same) < other / 3


def test_verification_bin_reads_back(written):
    ds = DATASETS.build(
        dict(
            type='VerificationBin',
            bin_files=osp.join(written, 'verification.bin'),
            image_size=48))
    assert ds.metainfo['num_pairs'] == [20] or 20 in np.ravel(
        ds.metainfo['num_pairs'])
    assert len(ds) == 2 * 2 * 20  # two images a pair, each also flipped


def test_ijb_set_reads_back(written):
    ds = DATASETS.build(
        dict(type='IJBDataset', data_root=osp.join(written, 'ijb')))
    sample = ds[0]
    assert sample['img'].shape == (112, 112, 3)  # aligned to the template
    assert {'template_id', 'media_id', 'face_score'} <= set(sample)


def test_annotations_read_back(written):
    root = osp.join(written, 'annotations')
    attrs = DATASETS.build(
        dict(type='CelebAAttributes', data_root=root, split='all'))
    assert len(attrs) == 6
    assert 'Smiling' in attrs.metainfo['attribute_names'] or len(
        attrs.metainfo['attribute_names']) > 0


def test_unknown_format_is_refused(capsys):
    tool = runpy.run_path(TOOL, run_name='facessl_tool')
    with pytest.raises(SystemExit):
        tool['main']([
            '--out', 'x', '--num-identities', '1', '--images-per-identity',
            '1', '--formats', 'tfrecord'
        ])
    assert "invalid choice: 'tfrecord'" in capsys.readouterr().err
