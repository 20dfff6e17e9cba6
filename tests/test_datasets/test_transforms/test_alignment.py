"""Tests of the 5-point ArcFace alignment and the AlignFace transform."""
import math

import cv2
import numpy as np
import pytest
from skimage.transform import SimilarityTransform

from facessl.datasets.transforms.alignment import (ARCFACE_TEMPLATE,
                                                   align_face,
                                                   estimate_alignment,
                                                   similarity_transform,
                                                   template_points,
                                                   transform_points)
from facessl.registry import TRANSFORMS


def _similarity(angle_deg, scale, shift):
    a = math.radians(angle_deg)
    rot = scale * np.array([[math.cos(a), -math.sin(a)],
                            [math.sin(a), math.cos(a)]])
    return np.hstack([rot, np.asarray(shift, float)[:, None]])


def test_template_values_and_sizes():
    # insightface's arcface_dst, left eye and right mouth corner
    assert ARCFACE_TEMPLATE[0].tolist() == pytest.approx([38.2946, 51.6963])
    assert ARCFACE_TEMPLATE[4].tolist() == pytest.approx([70.7299, 92.2041])
    np.testing.assert_allclose(template_points(224), ARCFACE_TEMPLATE * 2,
                               rtol=1e-6)
    # 128: same scale as 112 * 128/128 plus an 8-pixel shift to the right
    np.testing.assert_allclose(template_points(128),
                               ARCFACE_TEMPLATE + [8, 0], rtol=1e-6)
    with pytest.raises(ValueError, match='multiple of 112 or 128'):
        template_points(100)


def test_recovers_exact_similarity():
    src = np.array([[10., 20.], [50., 22.], [30., 40.], [15., 60.],
                    [45., 61.]])
    true = _similarity(27., 1.7, (5., -3.))
    dst = src @ true[:, :2].T + true[:, 2]
    np.testing.assert_allclose(similarity_transform(src, dst), true,
                               atol=1e-10)


@pytest.mark.parametrize('mirror', [False, True])
def test_matches_skimage_on_noisy_points(mirror):
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    dst = src @ _similarity(-40., .6, (3., 9.))[:, :2].T
    dst += rng.normal(0, 2., dst.shape)
    if mirror:  # best fit would be a reflection: must stay a rotation
        dst[:, 0] *= -1
    ours = similarity_transform(src, dst)
    ref = SimilarityTransform.from_estimate(src, dst).params[:2]
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    assert np.linalg.det(ours[:, :2]) > 0


def test_degenerate_points_fail_clearly():
    with pytest.raises(ValueError, match='points coincide'):
        similarity_transform(np.ones((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r'\(5, 2\) landmarks'):
        estimate_alignment(np.zeros((4, 2)))


def test_align_face_undoes_a_warp():
    # a smooth 112x112 "aligned face"; warp it into a 200x200 loose crop,
    # carry the template points along, then align back
    rng = np.random.default_rng(1)
    face = cv2.resize(
        rng.integers(0, 255, (14, 14, 3), dtype=np.uint8), (112, 112),
        interpolation=cv2.INTER_CUBIC)
    warp = _similarity(25., 1.4, (60., 10.))
    loose = cv2.warpAffine(face, warp, (200, 200))
    points = transform_points(ARCFACE_TEMPLATE, warp)
    aligned = align_face(loose, points)
    assert aligned.shape == (112, 112, 3) and aligned.dtype == np.uint8
    inner = (slice(10, 102), ) * 2
    err = np.abs(aligned[inner].astype(float) - face[inner]).mean()
    assert err < 2.0
    off = np.abs(cv2.resize(loose, (112, 112))[inner].astype(float) -
                 face[inner]).mean()
    assert off > 10 * err  # without alignment the images differ


def test_align_face_transform_moves_landmarks():
    warp = _similarity(-15., .8, (30., 40.))
    points = transform_points(ARCFACE_TEMPLATE, warp)
    extra = np.array([[100., 100.], [120., 90.]], np.float32)
    results = dict(
        img=np.zeros((160, 150, 3), np.uint8),
        landmarks5=points,
        landmarks=transform_points(extra, warp))
    out = TRANSFORMS.build(dict(type='AlignFace'))(results)
    assert out['img'].shape == (112, 112, 3)
    assert out['img_shape'] == (112, 112)
    np.testing.assert_allclose(out['landmarks5'], ARCFACE_TEMPLATE,
                               atol=1e-3)
    np.testing.assert_allclose(out['landmarks'], extra, atol=1e-3)
    with pytest.raises(KeyError, match='landmarks5'):
        TRANSFORMS.build(dict(type='AlignFace'))(dict(img=results['img']))
