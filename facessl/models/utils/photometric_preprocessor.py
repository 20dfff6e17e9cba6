"""Multi-crop photometric augmentation in the data preprocessor.

With DINO-style multi-crop every image becomes 2 global and 6-10 local
views; colour jitter, grayscale, blur and solarise on each view make the
CPU workers the bottleneck of a GPU run. :class:`MultiViewPhotometric
Preprocessor` takes the views as the workers left them after the geometric
transforms only (random resized crop, flip: ``uint8``), and applies the
photometric transforms batched, per view group, with a parameter drawn per
sample, on the model's device; then it converts BGR to RGB and normalises
like mmpretrain's ``SelfSupDataPreprocessor``.

The parameters follow the per-image transforms exactly: colour jitter with
probability ``color_jitter.prob`` (mmpretrain's ``RandomApply``), its four
adjustments in a random order with factors uniform in torchvision's ranges;
grayscale with probability ``grayscale_prob``; Gaussian blur with
probability ``blur.prob`` and sigma uniform in ``blur.sigma_range`` at
``blur.ref_size`` scaled to the view side (``ScaledGaussianBlur``); solarise
with probability ``solarize.prob``.

With ``append_unaugmented`` it also returns the views as the workers
left them, after the augmented ones: ``V`` geometric crops in, ``2 V``
views out (the ``V`` augmented, then the same ``V`` crops un-augmented),
the layout of ``LAFSMultiView`` with ``TwoImageView`` pipelines that LAFS
(landmark CNN on the un-augmented crops) and ProS (face-aware retrieval)
read, without cropping twice on the workers.

Randomness: each training batch draws from its own generator seeded by
``(seed, rank, iteration)`` (the iteration from MMEngine's message hub), so
a seeded run gives the same augmentations twice and a resumed run continues
with the augmentations the uninterrupted run would have drawn.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import get_rank
from mmengine.logging import MessageHub
from mmpretrain.models.utils import SelfSupDataPreprocessor

from facessl.registry import MODELS
from . import batched_photometric as bp


def _range(value, center=1., low_bound=0.) -> Optional[Tuple[float, float]]:
    """torchvision's jitter range of a number or ``(min, max)``; None when
    it leaves the image unchanged."""
    if isinstance(value, (tuple, list)):
        low, high = float(value[0]), float(value[1])
    else:
        low = max(center - float(value), low_bound)
        high = center + float(value)
    return None if low == high == center else (low, high)


class PhotometricAugment:
    """One view group's photometric recipe: draws and applies parameters.

    Args:
        color_jitter (dict, optional): ``prob``, ``brightness``,
            ``contrast``, ``saturation``, ``hue`` as facessl's
            ``ColorJitter``. Defaults to None (no jitter).
        grayscale_prob (float): probability of grayscale. Defaults to 0.
        grayscale_weights (Sequence[float]): B, G, R weights.
            Defaults to ``(0.114, 0.587, 0.2989)`` as the DINO configs.
        blur (dict, optional): ``prob``, ``sigma_range``, ``ref_size`` as
            ``ScaledGaussianBlur``. Defaults to None.
        solarize (dict, optional): ``prob`` and ``thr`` (default 128).
            Defaults to None.
    """

    def __init__(self,
                 color_jitter: Optional[dict] = None,
                 grayscale_prob: float = 0.,
                 grayscale_weights: Sequence[float] = (0.114, 0.587,
                                                       0.2989),
                 blur: Optional[dict] = None,
                 solarize: Optional[dict] = None) -> None:
        jitter = dict(color_jitter or {})
        self.jitter_prob = float(jitter.pop('prob', 1.0 if jitter else 0.))
        self.jitter_ranges = [
            _range(jitter.pop('brightness', 0.)),
            _range(jitter.pop('contrast', 0.)),
            _range(jitter.pop('saturation', 0.)),
            _range(jitter.pop('hue', 0.), center=0., low_bound=-0.5),
        ]
        blur = dict(blur or {})
        self.blur_prob = float(blur.pop('prob', 0.5 if blur else 0.))
        self.sigma_range = tuple(blur.pop('sigma_range', (0.1, 2.0)))
        self.blur_ref_size = float(blur.pop('ref_size', 224))
        solarize = dict(solarize or {})
        self.solarize_prob = float(solarize.pop('prob', 0.))
        self.solarize_thr = float(solarize.pop('thr', 128))
        unknown = {f'color_jitter.{k}' for k in jitter} | {
            f'blur.{k}' for k in blur} | {f'solarize.{k}' for k in solarize}
        if unknown:
            raise ValueError(f'PhotometricAugment: unknown keys '
                             f'{sorted(unknown)}')
        for name in ('jitter_prob', 'blur_prob', 'solarize_prob'):
            if not 0. <= getattr(self, name) <= 1.:
                raise ValueError(f'PhotometricAugment: {name} must be in '
                                 f'[0, 1], got {getattr(self, name)}')
        self.grayscale_prob = float(grayscale_prob)
        self.grayscale_weights = tuple(grayscale_weights)

    def draw(self, num: int, side: int,
             generator: torch.Generator) -> Dict[str, torch.Tensor]:
        """Parameters of ``num`` samples whose views have ``side`` pixels
        (the shorter side)."""
        factors = torch.full((num, 4), float('nan'), dtype=torch.float64,
                             device=generator.device)
        for i, r in enumerate(self.jitter_ranges):
            if r is not None:
                factors[:, i] = bp.uniform(r[0], r[1], num, generator)
        blur = bp.bernoulli(self.blur_prob, num, generator)
        sigma = bp.uniform(*self.sigma_range, num, generator)
        sigma = sigma * side / self.blur_ref_size
        return dict(
            jitter=bp.bernoulli(self.jitter_prob, num, generator),
            order=bp.random_orders(num, generator),
            factors=factors,
            gray=bp.bernoulli(self.grayscale_prob, num, generator),
            sigma=torch.where(blur, sigma, torch.zeros_like(sigma)),
            solarize=bp.bernoulli(self.solarize_prob, num, generator))

    def apply(self, x: torch.Tensor,
              params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Augment a float BGR batch in [0, 255] with drawn parameters."""
        x = bp.color_jitter(x, params['order'], params['factors'],
                            params['jitter'])
        x = bp.grayscale(x, params['gray'], self.grayscale_weights)
        x = bp.gaussian_blur(x, params['sigma'])
        return bp.solarize(x, params['solarize'], self.solarize_thr)


@MODELS.register_module()
class MultiViewPhotometricPreprocessor(SelfSupDataPreprocessor):
    """``SelfSupDataPreprocessor`` that first augments the views' colours.

    Args:
        view_groups (Sequence[dict]): one dict per group of consecutive
            views, in the order of ``MultiView``'s ``num_views``: ``num_views``
            and the :class:`PhotometricAugment` arguments.
        seed (int, optional): base seed; defaults to ``torch.initial_seed()``
            at the first batch (MMEngine sets it from ``randomness.seed``).
        append_unaugmented (bool): return the ``V`` augmented views
            followed by the ``V`` input views un-augmented (both halves
            converted and normalised alike); outside training the first
            half is un-augmented too, so the layout stays ``2 V``.
            Defaults to False.
        **kwargs: ``SelfSupDataPreprocessor`` arguments (``mean``, ``std``,
            ``to_rgb``, ...).
    """

    def __init__(self, view_groups: Sequence[dict],
                 seed: Optional[int] = None,
                 append_unaugmented: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.group_sizes: List[int] = []
        self.augments: List[PhotometricAugment] = []
        for i, group in enumerate(view_groups):
            group = dict(group)
            num = int(group.pop('num_views', 0))
            if num < 1:
                raise ValueError(f'MultiViewPhotometricPreprocessor: '
                                 f'view_groups[{i}] needs num_views >= 1')
            self.group_sizes.append(num)
            self.augments.append(PhotometricAugment(**group))
        self.seed = seed
        self.append_unaugmented = bool(append_unaugmented)
        self._calls = 0

    def _generator(self, device: torch.device) -> torch.Generator:
        """This batch's generator, seeded by (seed, rank, iteration)."""
        if self.seed is None:
            self.seed = torch.initial_seed() % (2**31)
        hub = MessageHub.get_current_instance()
        step = hub.get_info('iter') if 'iter' in hub.runtime_info else None
        if step is None:
            step = self._calls
        self._calls += 1
        gen = torch.Generator(device=device)
        gen.manual_seed((self.seed * 1_000_003 + get_rank() * 7919 +
                         int(step) * 104_729) % (2**63 - 1))
        return gen

    def augment(self, views: List[torch.Tensor]) -> List[torch.Tensor]:
        """Photometric augmentation of a list of ``(B, 3, H, W)`` BGR views
        (any dtype in [0, 255]); returns float views."""
        if len(views) != sum(self.group_sizes):
            raise ValueError(f'MultiViewPhotometricPreprocessor: got '
                             f'{len(views)} views, the view groups have '
                             f'{self.group_sizes} (sum '
                             f'{sum(self.group_sizes)})')
        gen = self._generator(views[0].device)
        out, start = [], 0
        for size, aug in zip(self.group_sizes, self.augments):
            for view in views[start:start + size]:
                view = view.float()
                params = aug.draw(view.shape[0], min(view.shape[-2:]), gen)
                out.append(aug.apply(view, params))
            start += size
        return out

    def forward(self, data: dict, training: bool = False):
        """Augment (training only), append the un-augmented views (with
        ``append_unaugmented``), then convert and normalise."""
        if not isinstance(data.get('inputs'), list) or not (
                training or self.append_unaugmented):
            return super().forward(data, training)
        inputs, samples = self.cast_data(
            [data['inputs'], data.get('data_samples')])
        if training:
            views = self.augment(inputs)
        else:
            views = [v.float() for v in inputs]
        if self.append_unaugmented:
            views += [v.float() for v in inputs]
        if self._channel_conversion:
            views = [v[:, [2, 1, 0], ...] for v in views]
        if self._enable_normalize:
            views = [(v - self.mean) / self.std for v in views]
        return dict(inputs=views, data_samples=samples)


#: transforms that stay on the workers in the batched path
GEOMETRIC = ('RandomResizedCrop', 'RandomFlip', 'Resize', 'CenterCrop',
             'RandomCrop', 'LandmarkRandomResizedCrop', 'LandmarkRandomFlip')


def per_image_view_pipeline(geometric: Sequence[dict],
                            group: dict) -> List[dict]:
    """The per-image view pipeline equivalent to ``geometric`` on the
    worker followed by the view group ``group`` in the preprocessor."""
    group = dict(group)
    group.pop('num_views', None)
    aug = PhotometricAugment(**group)  # validates the keys
    out = [dict(t) for t in geometric]
    jitter = dict(group.get('color_jitter') or {})
    if jitter:
        prob = jitter.pop('prob', 1.)
        out.append(dict(type='RandomApply', prob=prob,
                        transforms=[dict(type='ColorJitter', **jitter)]))
    if aug.grayscale_prob > 0:
        out.append(dict(type='RandomGrayscale', prob=aug.grayscale_prob,
                        keep_channels=True,
                        channel_weights=aug.grayscale_weights))
    if aug.blur_prob > 0:
        out.append(dict(type='ScaledGaussianBlur', prob=aug.blur_prob,
                        sigma_range=aug.sigma_range,
                        ref_size=aug.blur_ref_size))
    if aug.solarize_prob > 0:
        out.append(dict(type='Solarize', thr=aug.solarize_thr,
                        prob=aug.solarize_prob))
    return out


def split_view_pipeline(pipeline: Sequence[dict]
                        ) -> Tuple[List[dict], dict]:
    """``(geometric transforms, view group)`` of a per-image DINO view
    pipeline: the inverse of :func:`per_image_view_pipeline`.

    Raises:
        ValueError: a transform is neither geometric nor one of the
            photometric transforms the preprocessor implements.
    """
    geometric, group = [], {}
    for t in pipeline:
        kind = t['type'].split('.')[-1]
        if kind in GEOMETRIC:
            geometric.append(dict(t))
        elif kind == 'RandomApply' and len(t['transforms']) == 1 and (
                t['transforms'][0]['type'].split('.')[-1] == 'ColorJitter'):
            jitter = dict(t['transforms'][0])
            jitter.pop('type')
            jitter.pop('backend', None)
            group['color_jitter'] = dict(jitter, prob=t.get('prob', 0.5))
        elif kind == 'RandomGrayscale':
            group['grayscale_prob'] = t.get('prob', 0.1)
            if t.get('channel_weights'):
                group['grayscale_weights'] = tuple(t['channel_weights'])
        elif kind == 'ScaledGaussianBlur':
            group['blur'] = dict(prob=t.get('prob', 0.5),
                                 sigma_range=t.get('sigma_range',
                                                   (0.1, 2.0)),
                                 ref_size=t.get('ref_size', 224))
        elif kind == 'Solarize':
            group['solarize'] = dict(prob=t.get('prob', 0.5),
                                     thr=t.get('thr', 128))
        else:
            raise ValueError(f'split_view_pipeline: {t["type"]} is neither '
                             f'geometric ({", ".join(GEOMETRIC)}) nor a '
                             'photometric transform the batched path has')
    return geometric, group


def batched_views(views: dict, data_preprocessor: Optional[dict] = None,
                  append_unaugmented: Optional[bool] = None
                  ) -> Tuple[List[List[dict]], dict]:
    """The batched form of a multi-crop transform's views.

    Args:
        views (dict): a ``MultiView``, ``MultiViewWithGeometry`` or
            ``LAFSMultiView`` config (per-image views, ``TwoImageView``
            views, or already geometric with a batched preprocessor).
        data_preprocessor (dict, optional): the config's preprocessor;
            its ``view_groups`` are kept when it is a
            ``MultiViewPhotometricPreprocessor``, its other arguments
            (``mean``, ``std``, ...) always.
        append_unaugmented (bool, optional): defaults to True for views
            that carry their un-augmented crop (``TwoImageView``) or a
            preprocessor that appends them, else False.

    Returns:
        tuple: the geometric pipeline of each kind of view, and the
        ``MultiViewPhotometricPreprocessor`` config (``view_groups`` with
        ``num_views``) that applies the rest.
    """
    prep = dict(data_preprocessor or {})
    two_images = views['type'].split('.')[-1] == 'LAFSMultiView' and (
        views.get('geo_key', 'img_geo') is not None)
    if append_unaugmented is None:
        append_unaugmented = two_images or bool(
            prep.get('append_unaugmented'))
    num = views['num_views']
    num = list(num) if isinstance(num, (list, tuple)) else [num]
    if prep.get('type') == 'MultiViewPhotometricPreprocessor':
        geometric = [[dict(t) for t in b] for b in views['transforms']]
        groups = [dict(g) for g in prep['view_groups']]
    elif two_images:
        two = [b[0] for b in views['transforms']]
        geometric = [[dict(t) for t in v['geometric']] for v in two]
        groups = [split_view_pipeline(v['photometric'])[1] for v in two]
    else:
        split = [split_view_pipeline(b) for b in views['transforms']]
        geometric = [s[0] for s in split]
        groups = [s[1] for s in split]
    prep.update(type='MultiViewPhotometricPreprocessor',
                append_unaugmented=bool(append_unaugmented),
                view_groups=[dict(g, num_views=n)
                             for g, n in zip(groups, num)])
    return geometric, prep
