"""Per-identity parameters of a synthetic face: geometry and appearance.

An identity is drawn from ``np.random.default_rng([seed, identity, 0x1D,
0xFACE])``: a stream that never coincides with the per-image streams
``default_rng([seed, identity, index])`` (numpy pads short seed lists with
zeros, so ``[seed, identity]`` would equal ``[seed, identity, 0]``).

Identities differ mostly by *geometry and texture* (head, jaw, eye, brow,
nose and mouth shape; hair style, beard, moles, freckles, glasses habit).
Skin and hair colours vary only moderately, so that colour jitter cannot
be undone by matching colours alone.
"""
import dataclasses
from typing import Tuple

import numpy as np

#: Hair styles, by index in :attr:`IdentityParams.hair_style`.
HAIR_STYLES: Tuple[str, ...] = ('short', 'fringe', 'side_part', 'long',
                                'curly', 'bald')
_IDENTITY_STREAM = (0x1D, 0xFACE)
# BGR anchors: skin from lighter to darker, hair palette (dark-heavy)
_SKIN_LIGHT = np.array([165., 185., 225.])
_SKIN_DARK = np.array([95., 125., 175.])
_HAIR = np.array([[28., 28., 32.], [32., 45., 68.], [45., 68., 100.],
                  [40., 62., 120.], [85., 125., 160.], [130., 130., 135.]])
_HAIR_P = np.array([0.26, 0.24, 0.2, 0.1, 0.1, 0.1])
_IRIS = np.array([[30., 50., 80.], [40., 70., 110.], [120., 90., 60.],
                  [80., 110., 70.], [100., 100., 95.]])

#: geometry field -> (mean, half range); sampled uniformly.
GEOMETRY = {
    'head_width': (1.0, 0.1),
    'face_length': (1.0, 0.1),
    'forehead_height': (1.0, 0.18),
    'jaw_squareness': (2.4, 0.6),
    'jaw_taper': (0.12, 0.12),
    'eye_spacing': (1.0, 0.11),
    'eye_width': (1.0, 0.16),
    'eye_height': (1.0, 0.3),
    'eye_tilt': (0.0, 0.035),
    'brow_height': (0.0, 0.05),
    'brow_arch': (0.05, 0.045),
    'brow_tilt': (0.0, 0.08),
    'brow_thickness': (0.055, 0.025),
    'nose_length': (1.0, 0.16),
    'nose_width': (1.0, 0.3),
    'nose_depth': (1.0, 0.3),
    'mouth_width': (1.0, 0.18),
    'mouth_drop': (0.0, 0.05),
    'upper_lip': (1.0, 0.4),
    'lower_lip': (1.0, 0.35),
    'ear_size': (1.0, 0.2),
}


@dataclasses.dataclass(frozen=True, eq=False)
class IdentityParams:
    """Shape and appearance of one synthetic identity.

    Geometry fields are the keys of :data:`GEOMETRY` (dimensionless
    factors/offsets in template units, see
    :func:`~facessl.datasets.synthetic.template.build_face`). Colours are
    BGR floats in [0, 255].

    Args:
        skin (np.ndarray): (3,) skin albedo.
        lips (np.ndarray): (3,) lip albedo.
        iris (np.ndarray): (3,) iris colour.
        hair (np.ndarray): (3,) hair, brow and beard colour.
        hair_style (int): index into :data:`HAIR_STYLES`.
        hair_volume (float): how far the hair stands off the skull.
        fringe_depth (float): how low a fringe reaches on the forehead.
        part_side (float): +1 or -1, the side of a side part.
        strands (np.ndarray): (K, 2) azimuth/elevation of hair strands.
        beard (bool): full beard.
        moustache (bool): moustache.
        moles (np.ndarray): (K, 2) frontal (x, y) of moles.
        freckles (np.ndarray): (K, 2) frontal (x, y) of freckles.
        glasses_prob (float): probability of wearing glasses in an image.
        glasses_style (int): 0 round, 1 rectangular, 2 sunglasses.
        glasses_colour (np.ndarray): (3,) frame colour.
    """
    head_width: float = 1.0
    face_length: float = 1.0
    forehead_height: float = 1.0
    jaw_squareness: float = 2.4
    jaw_taper: float = 0.12
    eye_spacing: float = 1.0
    eye_width: float = 1.0
    eye_height: float = 1.0
    eye_tilt: float = 0.0
    brow_height: float = 0.0
    brow_arch: float = 0.05
    brow_tilt: float = 0.0
    brow_thickness: float = 0.055
    nose_length: float = 1.0
    nose_width: float = 1.0
    nose_depth: float = 1.0
    mouth_width: float = 1.0
    mouth_drop: float = 0.0
    upper_lip: float = 1.0
    lower_lip: float = 1.0
    ear_size: float = 1.0
    skin: np.ndarray = dataclasses.field(
        default_factory=lambda: (_SKIN_LIGHT + _SKIN_DARK) / 2)
    lips: np.ndarray = dataclasses.field(
        default_factory=lambda: np.array([95., 100., 185.]))
    iris: np.ndarray = dataclasses.field(
        default_factory=lambda: _IRIS[0].copy())
    hair: np.ndarray = dataclasses.field(
        default_factory=lambda: _HAIR[1].copy())
    hair_style: int = 0
    hair_volume: float = 0.06
    fringe_depth: float = 0.5
    part_side: float = 1.0
    strands: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros((0, 2)))
    beard: bool = False
    moustache: bool = False
    moles: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros((0, 2)))
    freckles: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros((0, 2)))
    glasses_prob: float = 0.0
    glasses_style: int = 0
    glasses_colour: np.ndarray = dataclasses.field(
        default_factory=lambda: np.array([30., 30., 30.]))

    @classmethod
    def mean(cls) -> 'IdentityParams':
        """The mean identity (all geometry at its mean, short hair)."""
        return cls(**{k: v[0] for k, v in GEOMETRY.items()})

    @property
    def hair_style_name(self) -> str:
        """Name of the hair style, one of :data:`HAIR_STYLES`."""
        return HAIR_STYLES[self.hair_style]

    @property
    def bald(self) -> bool:
        """Whether the identity is bald (no hair on the skull)."""
        return self.hair_style_name == 'bald'


def _face_spots(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random frontal (x, y) spots on cheeks, forehead and chin."""
    x = rng.uniform(-0.7, 0.7, n)
    y = rng.choice([-0.5, 0.35, 0.6, 1.0], n) + rng.uniform(-0.12, 0.12, n)
    x = np.where(np.abs(y - 0.35) < 0.2,
                 np.sign(x + 1e-6) * np.maximum(np.abs(x), 0.3), x)
    return np.stack([x, y], 1)


def sample_identity(seed: int, identity: int) -> IdentityParams:
    """Draw the parameters of one identity, deterministically.

    Args:
        seed (int): data-set seed.
        identity (int): absolute identity id (>= 0).

    Returns:
        IdentityParams: the identity's geometry and appearance.
    """
    if identity < 0 or seed < 0:
        raise ValueError(f'seed and identity must be >= 0, got seed={seed}, '
                         f'identity={identity}')
    rng = np.random.default_rng([seed, identity, *_IDENTITY_STREAM])
    geo = {k: m + rng.uniform(-h, h) for k, (m, h) in GEOMETRY.items()}
    tone = rng.uniform(0.1, 0.9)
    skin = (1 - tone) * _SKIN_LIGHT + tone * _SKIN_DARK
    skin = skin + rng.uniform(-8., 8., 3)
    lips = skin * [0.75, 0.68, 0.95] + rng.uniform(-8., 8., 3)
    hair = _HAIR[rng.choice(len(_HAIR), p=_HAIR_P)] + rng.uniform(-8, 8, 3)
    style = int(rng.choice(len(HAIR_STYLES),
                           p=[0.24, 0.2, 0.18, 0.16, 0.1, 0.12]))
    n_strands = int(rng.integers(6, 14))
    strands = np.stack([
        rng.uniform(-1.3, 1.3, n_strands),
        rng.uniform(0.2, 1.2, n_strands)
    ], 1)
    wears = rng.random() < 0.25
    return IdentityParams(
        **geo,
        skin=np.clip(skin, 0, 255),
        lips=np.clip(lips, 0, 255),
        iris=_IRIS[rng.integers(len(_IRIS))] + rng.uniform(-10, 10, 3),
        hair=np.clip(hair, 0, 255),
        hair_style=style,
        hair_volume=float(rng.uniform(0.03, 0.12)),
        fringe_depth=float(rng.uniform(0.25, 0.75)),
        part_side=float(rng.choice([-1., 1.])),
        strands=strands,
        beard=bool(rng.random() < 0.15),
        moustache=bool(rng.random() < 0.2),
        moles=_face_spots(rng, int(rng.choice(4, p=[0.5, 0.3, 0.15, 0.05]))),
        freckles=_face_spots(rng, 24 if rng.random() < 0.15 else 0),
        glasses_prob=float(rng.uniform(0.6, 0.95) if wears else 0.04),
        glasses_style=int(rng.integers(3)),
        glasses_colour=rng.uniform(10., 90., 3))
