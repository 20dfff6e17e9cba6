"""tools/misc/extract_features.py: folders, .bin and IJB sets, index.csv."""
import csv
import os
import os.path as osp
import runpy
import shutil
import subprocess
import sys
import warnings

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from facessl.apis import FaceEmbedder
from facessl.datasets import VerificationBin
from facessl.datasets.ijb_meta import read_landmarks
from facessl.datasets.synthetic.export import write_synthetic_faces
from facessl.datasets.synthetic.export_bin import \
    write_synthetic_verification_bin
from facessl.datasets.synthetic.export_ijb import write_synthetic_ijb
from facessl.datasets.synthetic.export_recordio import \
    write_synthetic_recordio
from facessl.datasets.verification_bin import load_verification_bin
from facessl.evaluation.features import extract_features
from facessl.registry import MODELS
from tests.conftest import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'tests/data/configs/tiny-dino_synthetic-faces.py')
TOOL = osp.join(REPO_ROOT, 'tools/misc/extract_features.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """(path, model): a tiny DINO saved as MMEngine saves checkpoints."""
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(
        dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    model.init_weights()
    with torch.no_grad():  # a teacher unlike the student and the init
        for p in model.teacher.parameters():
            p.add_(0.1 * torch.randn_like(p))
    path = str(tmp_path_factory.mktemp('ckpt') / 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()), path)
    return path, model.eval()


@pytest.fixture(scope='module')
def tool():
    return runpy.run_path(TOOL, run_name='facessl_tool')['main']


def read_index(out_dir):
    with open(osp.join(out_dir, 'index.csv'), newline='') as f:
        return list(csv.DictReader(f))


def test_identity_and_flat_folder(checkpoint, tmp_path, subprocess_env):
    path, model = checkpoint
    faces = tmp_path / 'faces'
    write_synthetic_faces(str(faces), 2, 2, img_size=16, seed=3)
    run = subprocess.run(
        [sys.executable, TOOL, CONFIG, path, '--input', str(faces),
         '--out-dir', 'out', '--batch-size', '3'],
        env=subprocess_env, cwd=tmp_path, capture_output=True, text=True,
        timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert 'wrote (4, 16) embeddings' in run.stdout
    feats = np.load(tmp_path / 'out/features.npy')
    rows = read_index(tmp_path / 'out')
    paths = sorted(str(p) for p in faces.glob('*/*.png'))
    assert [r['source'] for r in rows] == paths
    assert [r['label'] for r in rows] == ['0', '0', '1', '1']
    assert [r['row'] for r in rows] == ['0', '1', '2', '3']
    assert feats.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)
    # the teacher's flip-pooled embedding of each file, computed by hand
    imgs = torch.from_numpy(np.stack([cv2.imread(p) for p in paths]))
    x = (imgs.permute(0, 3, 1, 2).flip(1).float() - 127.5) / 127.5
    with torch.no_grad():
        teacher = model.teacher['backbone']
        ref = teacher(x)[-1] + teacher(x.flip(-1))[-1]
    ref = torch.nn.functional.normalize(ref, dim=1).numpy()
    np.testing.assert_allclose(feats, ref, atol=1e-5)
    # a flat folder: the same images, no labels
    flat = tmp_path / 'flat'
    flat.mkdir()
    for i, p in enumerate(paths):
        shutil.copy(p, flat / f'{i}.png')
    feats_flat, flat_faces = FaceEmbedder(
        model, batch_size=2, progress=False).embed(str(flat))
    np.testing.assert_allclose(feats_flat, feats, atol=1e-6)
    assert [f.label for f in flat_faces] == [None] * 4
    assert [osp.basename(f.source) for f in flat_faces] == [
        '0.png', '1.png', '2.png', '3.png']


def test_verification_bin(checkpoint, tmp_path, tool):
    path, model = checkpoint
    bin_file = str(tmp_path / 'pairs.bin')
    write_synthetic_verification_bin(
        bin_file, num_pairs=4, img_size=32, num_identities=3,
        images_per_identity=2, num_folds=2)
    out = str(tmp_path / 'out')
    tool([CONFIG, path, '--input', bin_file, '--out-dir', out,
          '--no-progress'])
    feats = np.load(osp.join(out, 'features.npy'))
    rows = read_index(out)
    assert feats.shape == (8, 16)  # 2 images per pair, no flip copies
    assert [r['source'] for r in rows] == [f'pairs.bin#{i}' for i in
                                           range(8)]
    assert [r['pair_index'] for r in rows] == ['0', '0', '1', '1', '2',
                                               '2', '3', '3']
    _, issame = load_verification_bin(bin_file)
    assert [r['issame'] == 'True' for r in rows[::2]] == issame.tolist()
    assert {r['label'] for r in rows} == {''}
    # the same embeddings as the API on the decoded images (112 crops)
    bins, _ = load_verification_bin(bin_file)
    imgs = [cv2.resize(cv2.imdecode(np.frombuffer(b, np.uint8), 1),
                       (112, 112)) for b in bins]
    ref = FaceEmbedder(model, progress=False)(imgs)
    np.testing.assert_allclose(feats, ref, atol=1e-5)
    tool([CONFIG, path, '--input', bin_file, '--out-dir', out,
          '--no-progress', '--no-flip'])
    assert not np.allclose(np.load(osp.join(out, 'features.npy')), feats,
                           atol=1e-3)
    # a data set with its own flip copies: they are skipped, not doubled
    data = VerificationBin(bin_files=bin_file, flip_test=True,
                           pipeline=[dict(type='PackInputs')])
    emb, rows = FaceEmbedder(model, progress=False).embed(data)
    np.testing.assert_allclose(emb, feats, atol=1e-6)
    assert len(rows) == 8
    # raw features of every record (flips too); no gt_label gives -1
    raw, labels = extract_features(model, data, batch_size=8)
    assert raw.shape == (16, 16) and labels.tolist() == [-1] * 16


def test_ijb(checkpoint, tmp_path, tool):
    path, model = checkpoint
    root = str(tmp_path / 'IJBC')
    meta = write_synthetic_ijb(root, num_identities=2, images_per_identity=2,
                               img_size=32, one_to_n=False)
    out = str(tmp_path / 'out')
    tool([CONFIG, path, '--input', root, '--out-dir', out, '--no-progress'])
    feats = np.load(osp.join(out, 'features.npy'))
    rows = read_index(out)
    names = [im['name'] for im in meta['images']]
    assert feats.shape == (4, 16)
    assert [osp.basename(r['source']) for r in rows] == names
    assert [int(r['template_id']) for r in rows] == [
        im['template_id'] for im in meta['images']]
    assert [int(r['media_id']) for r in rows] == [
        im['media_id'] for im in meta['images']]
    # loose crops aligned with their five points, as the API does
    _, points, _ = read_landmarks(osp.join(root, 'meta',
                                           'ijbc_name_5pts_score.txt'))
    files = [osp.join(root, 'loose_crop', n) for n in names]
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # aligned, so no resize warning
        ref = FaceEmbedder(model, progress=False)(files, landmarks=points)
    np.testing.assert_allclose(feats, ref, atol=1e-5)


def test_recordio_and_list(checkpoint, tmp_path, tool):
    path, model = checkpoint
    pack = tmp_path / 'pack'
    write_synthetic_recordio(str(pack), 2, 2, img_size=16, encoding='.png')
    out = str(tmp_path / 'out')
    for source in (str(pack), str(pack / 'train.rec')):  # folder or file
        tool([CONFIG, path, '--input', source, '--out-dir', out,
              '--no-progress'])
        rows = read_index(out)
        assert [r['source'] for r in rows] == [
            f'{pack}/train.rec#{k}' for k in (1, 2, 3, 4)]
        assert [r['label'] for r in rows] == ['0', '0', '1', '1']
    feats = np.load(osp.join(out, 'features.npy'))
    # a "path label" list of the same faces, decoded from the pack
    from facessl.datasets import FaceRecordIO
    pack_data = FaceRecordIO(data_root=str(pack))
    lines = []
    for i in range(4):
        name = f'img{i}.png'
        cv2.imwrite(str(tmp_path / name), pack_data[i]['img'])
        lines.append(f'{name} {i // 2}')
    (tmp_path / 'list.txt').write_text('\n'.join(lines) + '\n')
    feats_list, faces = FaceEmbedder(model, progress=False).embed(
        str(tmp_path / 'list.txt'))
    np.testing.assert_allclose(feats_list, feats, atol=1e-6)
    assert [f.label for f in faces] == [0, 0, 1, 1]
    assert faces[0].source == str(tmp_path / 'img0.png')


def test_config_dataset_and_errors(checkpoint, tmp_path, tool):
    path, _ = checkpoint
    out = str(tmp_path / 'out')
    # no test_dataloader: the default falls back to val, --split test fails
    tool([CONFIG, path, '--out-dir', out, '--no-progress'])
    rows = read_index(out)
    assert np.load(osp.join(out, 'features.npy')).shape == (9, 16)
    assert [r['label'] for r in rows] == list('000111222')
    assert rows[0]['source'] == 'SyntheticFaces[0]'
    with pytest.raises(KeyError, match='no test_dataloader to extract'):
        tool([CONFIG, path, '--out-dir', out, '--split', 'test'])
    other = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict=dict(foo=torch.zeros(1))), other)
    with pytest.raises(KeyError, match=r'other.pth \(the DINO model\) does '
                       r"not match DINO: .*unexpected \['foo'\] \(1\)"):
        tool([CONFIG, other, '--out-dir', out])
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        tool([CONFIG, str(tmp_path / 'nope.pth'), '--out-dir', out])
    with pytest.raises(FileNotFoundError, match='missing: no such image'):
        tool([CONFIG, path, '--input', str(tmp_path / 'missing'),
              '--out-dir', out])
    os.makedirs(tmp_path / 'empty')
    with pytest.raises(ValueError, match='empty: found no images'):
        tool([CONFIG, path, '--input', str(tmp_path / 'empty'),
              '--out-dir', out])
