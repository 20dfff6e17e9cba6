"""Deterministic synthetic faces: N identities x M images, exact labels."""
from typing import Tuple

import numpy as np

from .identity import IdentityParams, sample_identity
from .render import BACKGROUNDS, ImageParams, render_face

#: Binary attributes, in the order of the ``attributes`` array.
ATTRIBUTE_NAMES: Tuple[str, ...] = ('smiling', 'mouth_open', 'eyes_closed',
                                    'eyeglasses', 'bald', 'beard',
                                    'occluded')


def attributes_of(ident: IdentityParams, params: ImageParams) -> np.ndarray:
    """The binary attributes implied by the rendering parameters.

    ``smiling``: ``smile > 0.5``; ``mouth_open``: ``mouth_open > 0.5``;
    ``eyes_closed``: ``eye_closure > 0.5``; ``eyeglasses``: glasses drawn;
    ``bald``: hair style 'bald'; ``beard``: full beard; ``occluded``: an
    occluder patch drawn over the face.

    Args:
        ident (IdentityParams): the identity.
        params (ImageParams): the image parameters.

    Returns:
        np.ndarray: (len(ATTRIBUTE_NAMES),) uint8 of 0/1.
    """
    return np.array([
        params.smile > 0.5, params.mouth_open > 0.5,
        params.eye_closure > 0.5, params.eyeglasses, ident.bald,
        ident.beard, params.occluder is not None
    ], np.uint8)


class SyntheticFaceGenerator:
    """Cartoon faces of known identity, landmarks, attributes, pose, light.

    Image ``index`` of identity ``identity`` is a pure function of
    ``(seed, identity, index)`` and the constructor arguments: its random
    parameters come from ``np.random.default_rng([seed, identity,
    index])`` and no global random state is used.

    Args:
        img_size (int): output height and width in pixels. Defaults to 112.
        seed (int): data-set seed. Defaults to 0.
        max_yaw (float): |yaw| limit in degrees (yaw ~ N(0, max/2),
            clipped). Defaults to 40.
        max_pitch (float): |pitch| limit in degrees. Defaults to 20.
        max_roll (float): |roll| limit in degrees. Defaults to 15.
        occlusion_prob (float): probability of an occluder. Defaults to
            0.15.
        blur_prob (float): probability of Gaussian blur. Defaults to 0.3.
        with_depth (bool): also render a depth map. Defaults to False.
        background (str): ``'texture'`` (random colourful gradients, a
            strong per-image nuisance) or ``'plain'`` (one grey level per
            image). Defaults to ``'texture'``.
    """

    def __init__(self,
                 img_size: int = 112,
                 seed: int = 0,
                 max_yaw: float = 40.,
                 max_pitch: float = 20.,
                 max_roll: float = 15.,
                 occlusion_prob: float = 0.15,
                 blur_prob: float = 0.3,
                 with_depth: bool = False,
                 background: str = 'texture') -> None:
        if int(img_size) < 16:
            raise ValueError(f'img_size must be >= 16, got {img_size}')
        if int(seed) < 0:
            raise ValueError(f'seed must be >= 0, got {seed}')
        self.img_size = int(img_size)
        self.seed = int(seed)
        self.max_pose = (float(max_yaw), float(max_pitch), float(max_roll))
        self.occlusion_prob = float(occlusion_prob)
        self.blur_prob = float(blur_prob)
        self.with_depth = bool(with_depth)
        if background not in BACKGROUNDS:
            raise ValueError(f'background must be one of {BACKGROUNDS}, '
                             f'got {background!r}')
        self.background = background
        self._cache = {}

    def identity(self, identity: int) -> IdentityParams:
        """The (cached) parameters of identity ``identity``."""
        identity = int(identity)
        ident = self._cache.get(identity)
        if ident is None:
            if len(self._cache) >= 4096:
                self._cache.clear()
            ident = self._cache[identity] = sample_identity(
                self.seed, identity)
        return ident

    def sample_params(self, identity: int, index: int) -> ImageParams:
        """Draw the parameters of image ``index`` of ``identity``.

        Args:
            identity (int): absolute identity id.
            index (int): image index within the identity (>= 0).

        Returns:
            ImageParams: pose, expression, light, background, occluder...
        """
        if index < 0:
            raise ValueError(f'image index must be >= 0, got {index}')
        rng = np.random.default_rng([self.seed, int(identity), int(index)])
        ident = self.identity(identity)
        # one batch of draws (fast); each value has a fixed slot
        u = iter(rng.random(36).tolist())
        yaw, pitch, roll = (min(m, max(-m, m / 2 * n)) for m, n in zip(
            self.max_pose, rng.standard_normal(3).tolist()))

        def uni(lo, hi):
            return lo + (hi - lo) * next(u)

        def bimodal(p_on, on, off):
            rng_on, value = next(u) < p_on, next(u)
            lo, hi = on if rng_on else off
            return lo + (hi - lo) * value

        elev, azim = np.deg2rad(uni(-20., 60.)), np.deg2rad(uni(-75., 75.))
        light = (np.sin(azim) * np.cos(elev), -np.sin(elev),
                 -np.cos(azim) * np.cos(elev))
        occ = dict(
            kind=('rect', 'ellipse')[int(next(u) < 0.5)],
            centre=(uni(0.3, 0.7), uni(0.3, 0.75)),
            size=(uni(0.1, 0.22), uni(0.1, 0.22)),
            angle=uni(0., 180.),
            colour=(uni(0., 255.), uni(0., 255.), uni(0., 255.)))
        blur = uni(0.4, 1.4)
        return ImageParams(
            yaw=yaw,
            pitch=pitch,
            roll=roll,
            scale=0.34 * uni(0.92, 1.08),
            centre=(uni(0.47, 0.53), uni(0.4, 0.46)),
            smile=bimodal(0.35, (0.6, 1.), (0., 0.35)),
            mouth_open=bimodal(0.25, (0.6, 1.), (0., 0.3)),
            brow_raise=next(u),
            eye_closure=bimodal(0.08, (0.75, 1.), (0., 0.3)),
            gaze=(uni(-1., 1.), uni(-1., 1.)),
            ambient=uni(0.45, 0.8),
            diffuse=uni(0.2, 0.6),
            light=tuple(float(v) for v in light),
            tint=(uni(0.9, 1.1), uni(0.9, 1.1), uni(0.9, 1.1)),
            eyeglasses=next(u) < ident.glasses_prob,
            occluder=occ if next(u) < self.occlusion_prob else None,
            blur=blur if next(u) < self.blur_prob else 0.,
            noise=uni(0., 6.),
            clothing=(uni(20., 230.), uni(20., 230.), uni(20., 230.)),
            texture_seed=int(rng.integers(2**31)))

    def render(self, ident: IdentityParams, params: ImageParams) -> dict:
        """Render explicit parameters (e.g. a test's chosen pose).

        Args:
            ident (IdentityParams): the identity.
            params (ImageParams): the image parameters.

        Returns:
            dict: ``img`` (H, W, 3) uint8 BGR, ``landmarks`` (68, 2),
            ``dense_landmarks`` (D, 2) float32 pixel (x, y), ``visible``
            (68,) bool, ``attributes`` (len(ATTRIBUTE_NAMES),) uint8,
            ``pose`` (3,) float32 yaw/pitch/roll in degrees, ``light``
            dict(ambient, diffuse, direction (3,)), ``depth`` (H, W)
            float32 if ``with_depth``.
        """
        out = render_face(ident, params, self.img_size, self.with_depth,
                          self.background)
        out['attributes'] = attributes_of(ident, params)
        out['pose'] = np.array([params.yaw, params.pitch, params.roll],
                               np.float32)
        out['light'] = dict(
            ambient=float(params.ambient),
            diffuse=float(params.diffuse),
            direction=np.asarray(params.light, np.float32))
        return out

    def generate(self, identity: int, index: int) -> dict:
        """Image ``index`` of identity ``identity`` and its ground truth.

        Args:
            identity (int): absolute identity id (>= 0).
            index (int): image index (>= 0).

        Returns:
            dict: as :meth:`render`.
        """
        params = self.sample_params(identity, index)
        return self.render(self.identity(identity), params)

    __call__ = generate
