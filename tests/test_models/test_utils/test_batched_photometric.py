"""Batched photometric ops = the per-image transforms, in value and in law."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from facessl.datasets import SyntheticFaces
from facessl.datasets.transforms import color
from facessl.models.utils import (MultiViewPhotometricPreprocessor,
                                  PhotometricAugment)
from facessl.models.utils import batched_photometric as bp
from facessl.registry import TRANSFORMS

DINO_GLOBAL = dict(
    color_jitter=dict(prob=0.8, brightness=0.4, contrast=0.4,
                      saturation=0.2, hue=0.1),
    grayscale_prob=0.2, blur=dict(prob=0.5, sigma_range=(0.1, 2.0),
                                  ref_size=224),
    solarize=dict(prob=0.2, thr=128))


@pytest.fixture(scope='module')
def faces():
    """Four real-looking uint8 BGR faces and the same as a float batch."""
    ds = SyntheticFaces(num_identities=2, images_per_identity=2,
                        img_size=48, seed=0, pipeline=[])
    imgs = [ds[i]['img'] for i in range(4)]
    batch = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()
    return imgs, batch


def max_diff(per_image, batched):
    """Largest grey-level difference after rounding the batched output."""
    return max(
        np.abs(np.asarray(a, np.float64) -
               np.rint(b.permute(1, 2, 0).numpy())).max()
        for a, b in zip(per_image, batched))


def test_fixed_parameters_match_per_image_ops(faces):
    imgs, x = faces
    f = torch.tensor([0.6, 1.0, 1.3, 1.4])
    h = torch.tensor([-0.1, 0.05, 0.5, -0.5])
    for name, fn, arg in [('brightness', bp.adjust_brightness, f),
                          ('contrast', bp.adjust_contrast, f),
                          ('saturation', bp.adjust_saturation, f),
                          ('hue', bp.adjust_hue, h)]:
        ref = [np.rint(getattr(color, f'adjust_{name}')(
            im.astype(np.float32), float(arg[i])))
            for i, im in enumerate(imgs)]
        assert max_diff(ref, fn(x, arg)) <= 1, name
    # colour jitter in a given order, and no jitter where not applied
    order = torch.tensor([[3, 1, 0, 2], [0, 1, 2, 3], [2, 3, 1, 0],
                          [1, 0, 3, 2]])
    factors = torch.tensor([[0.7, 1.2, 0.9, 0.08]] * 4, dtype=torch.float64)
    apply = torch.tensor([True, True, True, False])
    ref = [color.color_jitter(im, order[i].tolist(), *factors[i].tolist())
           if apply[i] else im for i, im in enumerate(imgs)]
    assert max_diff(ref, bp.color_jitter(x, order, factors, apply)) <= 1
    # grayscale: mmcv's RandomGrayscale with the DINO configs' weights
    gray = TRANSFORMS.build(dict(type='RandomGrayscale', prob=1.,
                                 keep_channels=True,
                                 channel_weights=(0.114, 0.587, 0.2989)))
    ref = [gray.transform(dict(img=im.copy()))['img'] for im in imgs]
    assert max_diff(ref, bp.grayscale(x, torch.ones(4, dtype=torch.bool),
                                      (0.114, 0.587, 0.2989))) <= 1
    # blur: cv2.GaussianBlur as ScaledGaussianBlur calls it; sigma 0 = none
    sigma = torch.tensor([0.1, 0.5, 1.7, 0.])
    ref = [cv2.GaussianBlur(im, (0, 0), sigmaX=float(s), sigmaY=float(s),
                            borderType=cv2.BORDER_REFLECT_101)
           if s > 0 else im for im, s in zip(imgs, sigma)]
    assert max_diff(ref, bp.gaussian_blur(x, sigma)) <= 1
    # solarise is exact
    ref = [np.where(im < 128, im, 255 - im) for im in imgs]
    assert max_diff(ref, bp.solarize(x, torch.ones(4))) == 0


def test_parameters_follow_the_per_image_laws():
    """Per-sample draws of both paths: same means and variances within
    5 standard errors (n = 20000 each)."""
    n = 20000
    gen = torch.Generator().manual_seed(0)
    ours = PhotometricAugment(**DINO_GLOBAL).draw(n, 112, gen)
    np.random.seed(0)
    jitter = TRANSFORMS.build(dict(type='ColorJitter', brightness=0.4,
                                   contrast=0.4, saturation=0.2, hue=0.1))
    apply = TRANSFORMS.build(dict(type='RandomApply', prob=0.8,
                                  transforms=[]))
    blur = TRANSFORMS.build(dict(type='ScaledGaussianBlur', prob=0.5,
                                 sigma_range=(0.1, 2.0), ref_size=224))
    draws = [jitter._rand_params() for _ in range(n)]
    theirs = {
        'jitter': np.array([apply.random_apply() for _ in range(n)]),
        'first_op': np.array([d[0][0] for d in draws]),
        'factors': np.array([d[1:] for d in draws], dtype=np.float64),
        'blur': [blur._draw() for _ in range(n)],
        'gray': np.random.rand(n) < 0.2,
        'solarize': np.random.rand(n) < 0.2,
    }
    pairs = [
        (ours['jitter'].numpy(), theirs['jitter']),
        (ours['gray'].numpy(), theirs['gray']),
        (ours['solarize'].numpy(), theirs['solarize']),
        ((ours['sigma'] > 0).numpy(),
         np.array([b[0] for b in theirs['blur']])),
        (ours['sigma'][ours['sigma'] > 0].numpy() * 224 / 112,
         np.array([b[1] for b in theirs['blur'] if b[0]])),
    ] + [(ours['factors'][:, i].numpy(), theirs['factors'][:, i])
         for i in range(4)] + [
        ((ours['order'][:, 0] == k).numpy(), theirs['first_op'] == k)
        for k in range(4)]
    for a, b in pairs:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        se = np.sqrt(a.var() / a.size + b.var() / b.size)
        assert abs(a.mean() - b.mean()) < 5 * se + 1e-12
        assert abs(a.var() - b.var()) < 0.05 * b.var() + 1e-12


def make_preprocessor(seed=3):
    return MultiViewPhotometricPreprocessor(
        view_groups=[dict(num_views=1, **DINO_GLOBAL),
                     dict(num_views=2, **DINO_GLOBAL)],
        seed=seed, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)


def views():
    g = torch.Generator().manual_seed(1)
    return dict(inputs=[torch.randint(0, 256, (3, 3, s, s), generator=g,
                                      dtype=torch.uint8)
                        for s in (32, 16, 16)], data_samples=None)


def test_preprocessor_is_deterministic_per_iteration():
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 5)
    first = make_preprocessor()(views(), training=True)['inputs']
    again = make_preprocessor()(views(), training=True)['inputs']
    for a, b in zip(first, again):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    hub.update_info('iter', 6)
    other = make_preprocessor()(views(), training=True)['inputs']
    assert not torch.equal(first[0], other[0])
    # normalised RGB, float, same shapes
    assert first[0].dtype == torch.float32 and first[0].shape == (3, 3, 32,
                                                                 32)
    assert first[0].min() >= -1 and first[0].max() <= 1
    # evaluation batches are only normalised
    plain = make_preprocessor()(dict(inputs=views()['inputs'][0],
                                     data_samples=None))['inputs']
    expected = (views()['inputs'][0][:, [2, 1, 0]].float() - 127.5) / 127.5
    torch.testing.assert_close(plain, expected)


def test_preprocessor_refuses_bad_config_and_views():
    with pytest.raises(ValueError, match='got 2 views'):
        make_preprocessor()(dict(inputs=views()['inputs'][:2],
                                 data_samples=None), training=True)
    with pytest.raises(ValueError, match=r"unknown keys \['blur.sigma'\]"):
        PhotometricAugment(blur=dict(sigma=1.))
    with pytest.raises(ValueError, match='num_views >= 1'):
        MultiViewPhotometricPreprocessor(view_groups=[dict(num_views=0)])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_ops_on_cuda_equal_cpu(faces):
    _, x = faces
    f = torch.tensor([0.6, 1.0, 1.3, 1.4])
    sigma = torch.tensor([0.1, 0.5, 1.7, 0.])
    order = torch.tensor([[3, 1, 0, 2]] * 4)
    factors = torch.tensor([[0.7, 1.2, 0.9, 0.08]] * 4, dtype=torch.float64)
    for fn in (lambda v: bp.adjust_contrast(v, f),
               lambda v: bp.adjust_hue(v, f - 1),
               lambda v: bp.gaussian_blur(v, sigma),
               lambda v: bp.color_jitter(v, order, factors,
                                         torch.ones(4, dtype=torch.bool))):
        torch.testing.assert_close(fn(x.cuda()).cpu(), fn(x), atol=1e-3,
                                   rtol=0)
    out = make_preprocessor().cuda()(
        dict(inputs=[v.cuda() for v in views()['inputs']],
             data_samples=None), training=True)['inputs']
    assert all(v.is_cuda and v.dtype == torch.float32 for v in out)
