"""facessl.apis.FaceEmbedder on synthetic and real (LFW subset) faces."""
import warnings

import cv2
import numpy as np
import pytest
import torch

from facessl.apis import FaceEmbedder, extract_embeddings, get_model
from facessl.datasets import LFWFaceSubset, SyntheticFaces
from facessl.datasets.synthetic import SyntheticFaceGenerator
from facessl.datasets.synthetic.export_ijb import five_points, loose_crop
from facessl.datasets.transforms import align_face

#: one small config per recognition backbone facessl trains
BACKBONES = {
    'ViT': 'dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces',
    'PartFViT': 'part-fvit-t_cosface_1xb16-4e_synthetic-faces',
    'IResNet': 'berl-stage1_iresnet18_curricularface_1xb16-3e_'
    'synthetic-faces',
    'ResNet': 'fra_resnet18-w32_1xb32-coslr-5e_synthetic-faces',
}


@pytest.fixture(scope='module')
def faces():
    """Three 112 x 112 synthetic faces (BGR uint8) and their generator
    outputs."""
    gen = SyntheticFaceGenerator(img_size=112, seed=1)
    outs = [gen(k, j) for k, j in ((0, 0), (0, 1), (1, 0))]
    return [o['img'] for o in outs], outs


def unit_rows(emb):
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)


@pytest.mark.parametrize('backbone', sorted(BACKBONES))
def test_backbones(backbone, faces):
    torch.manual_seed(0)
    model = get_model(BACKBONES[backbone], device='cpu')
    assert type(model.backbone).__name__ in (
        backbone, 'FastVisionTransformer')
    embedder = FaceEmbedder(model, batch_size=2, progress=False)
    imgs, _ = faces
    emb = embedder(imgs)
    assert emb.shape[0] == 3 and emb.dtype == np.float32
    unit_rows(emb)
    # image + mirror summed: a mirrored face has the same embedding
    mirrored = embedder([np.ascontiguousarray(i[:, ::-1]) for i in imgs])
    np.testing.assert_allclose(mirrored, emb, atol=1e-4)
    single = FaceEmbedder(model, flip=False, progress=False)(imgs)
    unit_rows(single)
    assert not np.allclose(single, emb, atol=1e-3)
    # by hand: RGB, (x - 127.5) / 127.5, resized to the model's input,
    # f(x) + f(flip(x)), then L2-normalised
    size = embedder.input_size
    x = np.stack([cv2.resize(i, size[::-1]) if i.shape[:2] != size else i
                  for i in imgs])
    x = torch.from_numpy(x[..., ::-1].copy()).permute(0, 3, 1, 2).float()
    x = (x - 127.5) / 127.5
    with torch.no_grad():
        feat = model.predict(x)
        feat_flip = model.predict(x.flip(-1))
    ref = torch.stack([a.feat + b.feat for a, b in zip(feat, feat_flip)])
    ref = torch.nn.functional.normalize(ref, dim=1).numpy()
    np.testing.assert_allclose(emb, ref, atol=1e-4)


@pytest.fixture(scope='module')
def tiny_model():
    torch.manual_seed(0)
    return get_model('part-fvit-t_cosface_1xb16-4e_synthetic-faces',
                     device='cpu')


def test_alignment_and_resize_warning(tiny_model, faces):
    _, outs = faces
    rng = np.random.default_rng(0)
    crops, points = [], []
    for out in outs[:2]:
        crop, lmk = loose_crop(out['img'], out['landmarks'], 1.5, rng)
        crops.append(crop)
        points.append(five_points(lmk))
    assert crops[0].shape == (168, 168, 3)
    embedder = FaceEmbedder(tiny_model, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # aligned: no warning
        aligned = embedder(crops, landmarks=points)
    ref = embedder([align_face(c, p) for c, p in zip(crops, points)])
    np.testing.assert_allclose(aligned, ref, atol=1e-6)
    with pytest.warns(UserWarning) as record:
        resized = embedder(crops)
    assert len(record) == 1
    assert '2 of 2 images were not 112x112' in str(record[0].message)
    np.testing.assert_allclose(
        resized, embedder([cv2.resize(c, (112, 112)) for c in crops]),
        atol=1e-6)
    assert not np.allclose(resized, aligned, atol=1e-3)
    # landmarks align a 112 x 112 image too (it is not taken as a crop)
    small = cv2.resize(crops[0], (112, 112))
    pts = points[0] * 112 / 168
    np.testing.assert_allclose(
        embedder([small], landmarks=[pts]),
        embedder([align_face(small, pts)]), atol=1e-6)
    assert not np.allclose(embedder([small]), embedder([small], [pts]),
                           atol=1e-3)


def test_input_kinds(tiny_model, faces, tmp_path):
    imgs, _ = faces
    embedder = FaceEmbedder(tiny_model, batch_size=3, progress=False)
    ref = embedder(imgs)
    paths = []
    for i, img in enumerate(imgs):
        paths.append(str(tmp_path / f'{i}.png'))
        cv2.imwrite(paths[-1], img)
    np.testing.assert_allclose(embedder(paths), ref, atol=1e-6)
    np.testing.assert_allclose(embedder(np.stack(imgs)), ref, atol=1e-6)
    np.testing.assert_allclose(embedder(imgs[1]), ref[1:2], atol=1e-6)
    batch1 = extract_embeddings(tiny_model, paths, batch_size=1,
                                progress=False)
    np.testing.assert_allclose(batch1, ref, atol=1e-5)
    # a facessl data set, packed by its pipeline
    data = SyntheticFaces(num_identities=2, images_per_identity=1,
                          img_size=112, pipeline=[dict(type='PackInputs')])
    emb, rows = embedder.embed(data)
    assert emb.shape == (2, ref.shape[1])
    assert [r.label for r in rows] == [0, 1]
    np.testing.assert_allclose(
        emb, embedder([data.get_data_info(i)['img'] for i in range(2)]),
        atol=1e-6)


def test_real_faces(tiny_model):
    """skimage's LFW crops: 25 x 25 grey, so resized with a warning."""
    data = LFWFaceSubset(split='test', with_nonfaces=False, indices=4)
    embedder = FaceEmbedder(tiny_model, progress=False)
    with pytest.warns(UserWarning, match='4 of 4 images were not'):
        emb, rows = embedder.embed(data)
    assert emb.shape == (4, 192)
    unit_rows(emb)
    assert [r.label for r in rows] == [1] * 4
    assert [r.source for r in rows] == [f'LFWFaceSubset[{i}]'
                                        for i in range(4)]
    grey = [data.get_data_info(i)['img'] for i in range(4)]
    np.testing.assert_allclose(
        emb, embedder([cv2.resize(g, (112, 112)) for g in grey]),
        atol=1e-6)


def test_errors(tiny_model, faces, tmp_path):
    imgs, _ = faces
    embedder = FaceEmbedder(tiny_model, progress=False)
    with pytest.raises(ValueError, match=r'array\[1\]: expected an '
                       r'\(H, W, 3\) uint8 BGR image, got a float32'):
        embedder([imgs[0], imgs[1].astype(np.float32)])
    with pytest.raises(ValueError, match='got 1 landmark sets for 2'):
        embedder(imgs[:2], landmarks=[None])
    with pytest.raises(ValueError, match=r'expected \(5, 2\) landmarks'):
        embedder([cv2.resize(imgs[0], (90, 90))],
                 landmarks=[np.zeros((4, 2))])
    with pytest.raises(FileNotFoundError, match='nope.png: no such image'):
        embedder(str(tmp_path / 'nope.png'))
    with pytest.raises(FileNotFoundError, match='gone.png: image file not'):
        embedder([imgs[0], str(tmp_path / 'gone.png')])
    with pytest.raises(ValueError, match='pretrained is for a config'):
        FaceEmbedder(tiny_model, pretrained='x.pth')
