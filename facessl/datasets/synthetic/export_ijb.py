"""Write a synthetic IJB-style benchmark for :class:`IJBDataset`/IJBMetric.

Layout of ``out_dir`` (``name='IJBC'``; ``ijbb``/``S1``/``S2`` for IJBB)::

    loose_crop/<n>.jpg                    loose crops, n = 1, 2, ...
    meta/ijbc_face_tid_mid.txt            "<n>.jpg template media"
    meta/ijbc_name_5pts_score.txt         "<n>.jpg x1 y1 ... x5 y5 score"
    meta/ijbc_template_pair_label.txt     "template template label"
    meta/ijbc_1N_gallery_G1.csv           (one_to_n) gallery 1
    meta/ijbc_1N_gallery_G2.csv           (one_to_n) gallery 2
    meta/ijbc_1N_probe_mixed.csv          (one_to_n) probes

Each identity's images are split into ``templates_per_identity``
templates; in a template, the first image is a still (its own media) and
the others are frames of one video (one shared media). A loose crop is the
generator's face warped by a random rotation (+-20 deg), scale and shift
onto a canvas ``crop_scale`` times larger, so alignment matters; its five
points come from the 68 iBUG landmarks (eye centres = means of 36-41 and
42-47, nose tip 30, mouth corners 48 and 54). Every pair of templates is a
verification pair (genuine when they share the identity). 1:N: the first
template of each even-numbered identity is in gallery 1, of each odd one in
gallery 2; all other templates are mixed probes (mated in one gallery).
"""
import os
import os.path as osp
from typing import Optional

import cv2
import numpy as np

from ..ijb_meta import GALLERIES, meta_file, one_to_n_files
from .generator import SyntheticFaceGenerator

#: iBUG-68 indices giving the five points: (eye, eye, nose, mouth, mouth);
#: the eyes are averaged over their six contour points.
FIVE_POINT_SOURCES = ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47),
                      (30, ), (48, ), (54, ))


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """The 5 alignment points of 68 iBUG landmarks.

    Args:
        landmarks (np.ndarray): (68, 2) (x, y) in iBUG 300-W order.

    Returns:
        np.ndarray: (5, 2) float32: image-left eye centre, image-right eye
        centre, nose tip, left and right mouth corners.
    """
    landmarks = np.asarray(landmarks, np.float32)
    return np.stack(
        [landmarks[list(idx)].mean(0) for idx in FIVE_POINT_SOURCES])


def loose_crop(img: np.ndarray, landmarks: np.ndarray, crop_scale: float,
               rng: np.random.Generator):
    """Warp a face onto a larger canvas by a random similarity.

    Args:
        img (np.ndarray): (S, S, 3) face image.
        landmarks (np.ndarray): (K, 2) points in ``img``.
        crop_scale (float): canvas side / ``S``.
        rng (np.random.Generator): random source.

    Returns:
        tuple: the (C, C, 3) canvas and the (K, 2) float32 points in it.
    """
    size = img.shape[0]
    canvas = int(round(size * crop_scale))
    angle = rng.uniform(-20, 20)
    scale = rng.uniform(0.8, 1.1)
    centre = canvas / 2 + rng.uniform(-0.08, 0.08, 2) * canvas
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    matrix[:, 2] += centre - size / 2
    out = cv2.warpAffine(
        img,
        matrix, (canvas, canvas),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE)
    points = np.asarray(landmarks, np.float64) @ matrix[:, :2].T
    points += matrix[:, 2]
    return out, points.astype(np.float32)


def write_synthetic_ijb(out_dir: str,
                        num_identities: int,
                        images_per_identity: int = 6,
                        img_size: int = 112,
                        seed: int = 0,
                        identity_offset: int = 0,
                        name: str = 'IJBC',
                        templates_per_identity: int = 2,
                        one_to_n: bool = True,
                        crop_scale: float = 1.5,
                        progress: bool = False,
                        generator_cfg: Optional[dict] = None) -> dict:
    """Render an IJB-style benchmark of synthetic faces into ``out_dir``.

    Args:
        out_dir (str): output folder (created if needed).
        num_identities (int): identities N (>= 2).
        images_per_identity (int): images per identity, at least
            ``templates_per_identity``. Defaults to 6.
        img_size (int): rendered face size (the loose crop is larger).
            Defaults to 112.
        seed (int): data-set seed. Defaults to 0.
        identity_offset (int): first absolute identity id. Defaults to 0.
        name (str): 'IJBC' or 'IJBB' (file names). Defaults to 'IJBC'.
        templates_per_identity (int): templates per identity (>= 2 for
            ``one_to_n``). Defaults to 2.
        one_to_n (bool): write the gallery and probe CSVs. Defaults to
            True.
        crop_scale (float): loose crop side / ``img_size``. Defaults
            to 1.5.
        progress (bool): show a tqdm bar. Defaults to False.
        generator_cfg (dict, optional): more
            :class:`SyntheticFaceGenerator` arguments.

    Returns:
        dict: ``name``, ``num_images``, ``num_templates``, ``num_pairs``
        and ``images``: per image ``name``, ``identity``, ``template_id``,
        ``media_id``, ``face_score``, ``points5`` (in the loose crop).
    """
    name = name.upper()
    if name not in GALLERIES:
        raise ValueError(f'name must be one of {sorted(GALLERIES)}, got '
                         f'{name!r}')
    tpi = templates_per_identity
    if num_identities < 2 or tpi < 1 or images_per_identity < tpi or (
            one_to_n and tpi < 2):
        raise ValueError(
            'need num_identities >= 2, templates_per_identity >= 1 (>= 2 '
            'with one_to_n) and images_per_identity >= '
            f'templates_per_identity, got {num_identities}, {tpi}, '
            f'{images_per_identity}')
    gen = SyntheticFaceGenerator(
        img_size=img_size, seed=seed, **(generator_cfg or {}))
    os.makedirs(osp.join(out_dir, 'loose_crop'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'meta'), exist_ok=True)
    jobs = [(k, j) for k in range(num_identities)
            for j in range(images_per_identity)]
    if progress:
        from tqdm import tqdm
        jobs = tqdm(jobs, desc='synthetic IJB', unit='img')
    images, media_of = [], {}
    splits = np.array_split(np.arange(images_per_identity), tpi)
    for k, j in jobs:
        identity = identity_offset + k
        t = next(i for i, part in enumerate(splits) if j in part)
        template_id = k * tpi + t + 1
        # the first image of a template is a still, the others one video
        key = (template_id, j if j == splits[t][0] else -1)
        media_id = media_of.setdefault(key, len(media_of) + 1)
        out = gen(identity, j)
        rng = np.random.default_rng([seed, identity, j, 5])
        crop, lmk = loose_crop(out['img'], out['landmarks'], crop_scale, rng)
        fname = f'{len(images) + 1}.jpg'
        path = osp.join(out_dir, 'loose_crop', fname)
        if not cv2.imwrite(path, crop, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise OSError(f'{path}: cv2.imwrite failed')
        images.append(
            dict(
                name=fname,
                identity=identity,
                template_id=template_id,
                media_id=media_id,
                face_score=round(float(rng.uniform(0.6, 1.0)), 6),
                points5=five_points(lmk)))
    _write_lists(out_dir, name, images)
    num_templates = num_identities * tpi
    subject = {im['template_id']: im['identity'] + 1 for im in images}
    with open(meta_file(out_dir, name, 'template_pair_label.txt'), 'w') as f:
        for a in range(1, num_templates + 1):
            for b in range(a + 1, num_templates + 1):
                f.write(f'{a} {b} {int(subject[a] == subject[b])}\n')
    if one_to_n:
        _write_one_to_n(out_dir, name, images, tpi)
    return dict(
        name=name,
        num_images=len(images),
        num_templates=num_templates,
        num_pairs=num_templates * (num_templates - 1) // 2,
        images=images)


def _write_lists(out_dir: str, name: str, images: list) -> None:
    with open(meta_file(out_dir, name, 'face_tid_mid.txt'), 'w') as f:
        f.writelines(f'{im["name"]} {im["template_id"]} {im["media_id"]}\n'
                     for im in images)
    with open(meta_file(out_dir, name, 'name_5pts_score.txt'), 'w') as f:
        for im in images:
            coords = ' '.join(f'{v:.3f}' for v in im['points5'].ravel())
            f.write(f'{im["name"]} {coords} {im["face_score"]}\n')


def _write_one_to_n(out_dir: str, name: str, images: list, tpi: int) -> None:
    galleries, probe = one_to_n_files(out_dir, name)
    files = [open(p, 'w') for p in (*galleries, probe)]
    try:
        for f in files:
            f.write('TEMPLATE_ID,SUBJECT_ID,FILENAME\n')
        for im in images:
            t = im['template_id'] - 1
            k, first = t // tpi, t % tpi == 0
            f = files[k % 2] if first else files[2]
            f.write(f'{im["template_id"]},{im["identity"] + 1},'
                    f'loose_crop/{im["name"]}\n')
    finally:
        for f in files:
            f.close()
