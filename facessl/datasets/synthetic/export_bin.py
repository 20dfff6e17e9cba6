"""Write a synthetic verification ``.bin`` (LFW-style pairs).

The pairs are laid out like LFW's ``pairs.txt``: ``num_folds`` folds of
equal size, each holding first its same-identity pairs and then as many
different-identity pairs, so 10-fold evaluation
(:class:`~facessl.evaluation.metrics.VerificationMetric`) sees balanced
folds. Read it back with ``dict(type='VerificationBin', bin_files=...)``.
"""
from typing import Optional

import cv2
import numpy as np

from ..verification_bin import write_verification_bin
from .generator import SyntheticFaceGenerator

_ENCODE_PARAMS = {
    '.png': [],
    '.jpg': [cv2.IMWRITE_JPEG_QUALITY, 95],
    '.jpeg': [cv2.IMWRITE_JPEG_QUALITY, 95]
}


def sample_pairs(num_pairs: int,
                 num_identities: int,
                 images_per_identity: int,
                 num_folds: int = 10,
                 seed: int = 0) -> list:
    """Deterministic LFW-style pairs of ``(identity, image index)``.

    Args:
        num_pairs (int): pairs P, a multiple of ``2 * num_folds``.
        num_identities (int): identities 0..N-1 to draw from (N >= 2).
        images_per_identity (int): image indices 0..M-1 (M >= 2).
        num_folds (int): folds. Defaults to 10.
        seed (int): seed of the draw. Defaults to 0.

    Returns:
        list[tuple]: P items ``((id1, idx1), (id2, idx2), issame)``; fold
        k is items ``k * P/K`` to ``(k + 1) * P/K - 1``, its first half
        same-identity pairs (two different images), the rest pairs of two
        different identities.
    """
    if num_pairs < 2 * num_folds or num_pairs % (2 * num_folds):
        raise ValueError(f'num_pairs must be a positive multiple of 2 * '
                         f'num_folds = {2 * num_folds}, got {num_pairs}')
    if num_identities < 2 or images_per_identity < 2:
        raise ValueError('need num_identities >= 2 and images_per_identity '
                         f'>= 2, got {num_identities}, '
                         f'{images_per_identity}')
    rng = np.random.default_rng([seed, num_pairs, num_folds])
    half = num_pairs // num_folds // 2
    pairs = []
    for _ in range(num_folds):
        for _ in range(half):
            ident = int(rng.integers(num_identities))
            i, j = rng.choice(images_per_identity, 2, replace=False)
            pairs.append(((ident, int(i)), (ident, int(j)), True))
        for _ in range(half):
            a, b = rng.choice(num_identities, 2, replace=False)
            i, j = rng.integers(images_per_identity, size=2)
            pairs.append(((int(a), int(i)), (int(b), int(j)), False))
    return pairs


def write_synthetic_verification_bin(out_file: str,
                                     num_pairs: int = 600,
                                     img_size: int = 112,
                                     seed: int = 0,
                                     identity_offset: int = 100000,
                                     num_identities: Optional[int] = None,
                                     images_per_identity: int = 10,
                                     num_folds: int = 10,
                                     ext: str = '.png',
                                     progress: bool = False,
                                     generator_cfg: Optional[dict] = None
                                     ) -> dict:
    """Render synthetic face pairs into a verification ``.bin``.

    Identities are ``identity_offset + [0, num_identities)``; keep them
    disjoint from the training identities (e.g. training on ``[0, N)``
    with ``identity_offset >= N``). Everything is a pure function of the
    arguments.

    Args:
        out_file (str): the ``.bin`` to write (atomically); its stem is the
            set name.
        num_pairs (int): pairs, a multiple of ``2 * num_folds``. Defaults
            to 600.
        img_size (int): image size. Defaults to 112.
        seed (int): generator and pair seed. Defaults to 0.
        identity_offset (int): first absolute identity. Defaults to
            100000.
        num_identities (int, optional): identities to draw from. Defaults
            to ``max(2, num_pairs // 2)``.
        images_per_identity (int): image indices per identity. Defaults
            to 10.
        num_folds (int): folds. Defaults to 10.
        ext (str): '.png' (lossless) or '.jpg' (quality 95). Defaults to
            '.png'.
        progress (bool): show a tqdm progress bar. Defaults to False.
        generator_cfg (dict, optional): more
            :class:`SyntheticFaceGenerator` arguments.

    Returns:
        dict: ``pairs`` (list of ``((identity, index), (identity, index),
        issame)`` with absolute identities), ``issame``, ``num_folds``,
        ``img_size``, ``seed`` and ``path``.
    """
    ext = ext.lower()
    if ext not in _ENCODE_PARAMS:
        raise ValueError(f'ext must be one of {sorted(_ENCODE_PARAMS)}, '
                         f'got {ext!r}')
    if num_identities is None:
        num_identities = max(2, num_pairs // 2)
    pairs = sample_pairs(num_pairs, num_identities, images_per_identity,
                         num_folds, seed)
    pairs = [((identity_offset + a, i), (identity_offset + b, j), same)
             for (a, i), (b, j), same in pairs]
    gen = SyntheticFaceGenerator(
        img_size=img_size, seed=seed, **(generator_cfg or {}))
    encoded = {}
    jobs = pairs
    if progress:
        from tqdm import tqdm
        jobs = tqdm(jobs, desc='synthetic pairs', unit='pair')
    bins = []
    for first, second, _ in jobs:
        for key in (first, second):
            if key not in encoded:
                ok, buf = cv2.imencode(ext, gen(*key)['img'],
                                       _ENCODE_PARAMS[ext])
                if not ok:
                    raise OSError(f'{out_file}: cv2.imencode({ext!r}) '
                                  f'failed for image {key}')
                encoded[key] = buf.tobytes()
            bins.append(encoded[key])
    issame = [same for _, _, same in pairs]
    write_verification_bin(out_file, bins, issame)
    return dict(
        pairs=pairs,
        issame=issame,
        num_folds=num_folds,
        img_size=int(img_size),
        seed=int(seed),
        path=out_file)
