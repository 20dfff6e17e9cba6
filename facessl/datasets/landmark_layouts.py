"""Face landmark layouts: mirror partners and eye indices by point count.

Three layouts are known by their number of points:

- 5, CelebA aligned: image-left eye, image-right eye, nose, image-left
  and image-right mouth corners.
- 68, iBUG 300-W (also AffectNet, Multi-PIE): see
  :mod:`facessl.datasets.synthetic.template` for the order; outer eye
  corners 36 and 45, eyes 36-41 and 42-47.
- 98, WFLW: 0-32 jaw (16 = chin), 33-41 image-left brow (33-37 upper
  edge outer -> inner, 38-41 lower edge inner -> outer), 42-50 image-right
  brow (42-46 upper inner -> outer, 47-50 lower outer -> inner), 51-54
  nose bridge, 55-59 nostrils, 60-67 image-left eye (60 outer corner,
  61-63 upper lid, 64 inner corner, 65-67 lower lid), 68-75 image-right
  eye (68 inner corner, 69-71 upper, 72 outer corner, 73-75 lower),
  76-87 outer lips (76 left corner, 82 right corner), 88-95 inner lips
  (88 left, 92 right corner), 96/97 image-left/right pupil.
"""
from typing import Dict, Iterable, Optional, Sequence, Tuple

from .synthetic.template import FLIP_INDICES as IBUG68_FLIP_INDICES


def flip_indices_from_pairs(num_points: int,
                            pairs: Iterable[Tuple[int, int]]
                            ) -> Tuple[int, ...]:
    """Mirror partner of every point from a list of swapped pairs.

    Args:
        num_points (int): K; points in no pair are their own partner.
        pairs (Iterable[tuple[int, int]]): swapped (a, b) pairs.

    Returns:
        tuple[int, ...]: ``flip[i]`` is the partner of point ``i``.
    """
    flip = list(range(num_points))
    for a, b in pairs:
        flip[a], flip[b] = b, a
    return tuple(flip)


def _wflw_pairs():
    pairs = [(i, 32 - i) for i in range(16)]  # jaw
    pairs += [(33 + i, 46 - i) for i in range(5)]  # upper brow edges
    pairs += [(38 + i, 50 - i) for i in range(4)]  # lower brow edges
    pairs += [(55, 59), (56, 58)]  # nostrils
    pairs += [(60 + i, 72 - i) for i in range(5)]  # eye corners, upper
    pairs += [(65 + i, 75 - i) for i in range(3)]  # lower lids
    pairs += [(76 + i, 82 - i) for i in range(3)]  # outer upper lip
    pairs += [(83, 87), (84, 86), (88, 92), (89, 91), (93, 95), (96, 97)]
    return pairs


CELEBA5_FLIP_INDICES: Tuple[int, ...] = (1, 0, 2, 4, 3)
WFLW98_FLIP_INDICES: Tuple[int, ...] = flip_indices_from_pairs(
    98, _wflw_pairs())
FLIP_INDICES_BY_COUNT: Dict[int, Tuple[int, ...]] = {
    5: CELEBA5_FLIP_INDICES,
    68: tuple(IBUG68_FLIP_INDICES),
    98: WFLW98_FLIP_INDICES,
}
#: (image-left, image-right) outer eye corners, for inter-ocular NME; the
#: eye centres for CelebA's 5 points.
OUTER_EYE_CORNERS: Dict[int, Tuple[int, int]] = {
    5: (0, 1),
    68: (36, 45),
    98: (60, 72),
}
#: (image-left, image-right) eye contour points, whose means are the eye
#: centres of inter-pupil NME.
EYE_POINTS: Dict[int, Tuple[Tuple[int, ...], Tuple[int, ...]]] = {
    5: ((0, ), (1, )),
    68: (tuple(range(36, 42)), tuple(range(42, 48))),
    98: (tuple(range(60, 68)), tuple(range(68, 76))),
}


def default_flip_indices(num_points: int) -> Optional[Tuple[int, ...]]:
    """Mirror partners of a known layout, or None for other counts."""
    return FLIP_INDICES_BY_COUNT.get(int(num_points))


def check_flip_indices(flip: Sequence[int], num_points: int,
                       where: str) -> Tuple[int, ...]:
    """Validate a mirror-partner list: a permutation that is its inverse.

    Args:
        flip (Sequence[int]): partner of every point.
        num_points (int): K.
        where (str): what the list belongs to, for errors.

    Returns:
        tuple[int, ...]: ``flip`` as a tuple.
    """
    flip = tuple(int(i) for i in flip)
    if sorted(flip) != list(range(num_points)) or any(
            flip[flip[i]] != i for i in range(num_points)):
        raise ValueError(f'{where}: flip_indices must pair up the '
                         f'{num_points} landmarks (a permutation that is '
                         f'its own inverse), got {list(flip)}')
    return flip
