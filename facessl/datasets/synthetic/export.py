"""Write a synthetic face set to disk for :class:`FaceImageFolder`.

Layout of ``out_dir``::

    <identity>/<index>.png   PNG images (lossless), identity and index
                             zero-padded so that sorted names keep order
    list.txt                 "relative/path label" per image
    annotations.json         {"format", "classes", "attribute_names",
                             "num_landmarks", "flip_indices", "img_size",
                             "seed", "images": [{"path", "label",
                             "identity", "index", "landmarks",
                             "landmarks_visible", "attributes", "pose",
                             "light"}, ...]}
"""
import json
import os
import os.path as osp
from typing import Iterator, Optional, Tuple

import cv2

from .generator import ATTRIBUTE_NAMES, SyntheticFaceGenerator
from .template import FLIP_INDICES, NUM_LANDMARKS

FORMAT = 'facessl-faces/1'


def render_faces(num_identities: int,
                 images_per_identity: int,
                 img_size: int = 112,
                 seed: int = 0,
                 identity_offset: int = 0,
                 progress: bool = False,
                 generator_cfg: Optional[dict] = None,
                 desc: str = 'synthetic faces'
                 ) -> Iterator[Tuple[int, int, int, dict]]:
    """Render N x M synthetic faces in order, for the writers.

    Args:
        num_identities (int): identities N (>= 1).
        images_per_identity (int): images per identity M (>= 1).
        img_size (int): image size. Defaults to 112.
        seed (int): data-set seed. Defaults to 0.
        identity_offset (int): first absolute identity id. Defaults to 0.
        progress (bool): show a tqdm progress bar. Defaults to False.
        generator_cfg (dict, optional): more
            :class:`SyntheticFaceGenerator` arguments.
        desc (str): progress-bar label. Defaults to 'synthetic faces'.

    Yields:
        tuple: ``(label, identity, index, sample)``: label in ``[0, N)``,
        absolute identity ``identity_offset + label``, image index in
        ``[0, M)`` and the generator's output for it.
    """
    if num_identities < 1 or images_per_identity < 1:
        raise ValueError('num_identities and images_per_identity must be '
                         f'>= 1, got {num_identities}, '
                         f'{images_per_identity}')
    gen = SyntheticFaceGenerator(
        img_size=img_size, seed=seed, **(generator_cfg or {}))
    jobs = [(k, j) for k in range(num_identities)
            for j in range(images_per_identity)]
    if progress:
        from tqdm import tqdm
        jobs = tqdm(jobs, desc=desc, unit='img')
    for label, index in jobs:
        identity = identity_offset + label
        yield label, identity, index, gen(identity, index)


def write_synthetic_faces(out_dir: str,
                          num_identities: int,
                          images_per_identity: int,
                          img_size: int = 112,
                          seed: int = 0,
                          identity_offset: int = 0,
                          progress: bool = False,
                          generator_cfg: Optional[dict] = None) -> dict:
    """Render N x M synthetic faces into ``out_dir``.

    Args:
        out_dir (str): output folder (created if needed).
        num_identities (int): identities N.
        images_per_identity (int): images per identity M.
        img_size (int): image size. Defaults to 112.
        seed (int): data-set seed. Defaults to 0.
        identity_offset (int): first absolute identity id. Defaults to 0.
        progress (bool): show a tqdm progress bar. Defaults to False.
        generator_cfg (dict, optional): more
            :class:`SyntheticFaceGenerator` arguments.

    Returns:
        dict: the annotation also written to ``annotations.json``.
    """
    faces = render_faces(num_identities, images_per_identity, img_size,
                         seed, identity_offset, progress, generator_cfg)
    id_width = max(6, len(str(identity_offset + num_identities - 1)))
    im_width = max(4, len(str(images_per_identity - 1)))
    classes = [f'{identity_offset + k:0{id_width}d}'
               for k in range(num_identities)]
    images = []
    for label, identity, index, out in faces:
        rel = f'{classes[label]}/{index:0{im_width}d}.png'
        path = osp.join(out_dir, rel)
        os.makedirs(osp.dirname(path), exist_ok=True)
        if not cv2.imwrite(path, out['img']):
            raise OSError(f'{path}: cv2.imwrite failed')
        light = out['light']
        images.append(
            dict(
                path=rel,
                label=label,
                identity=identity,
                index=index,
                landmarks=out['landmarks'].tolist(),
                landmarks_visible=out['visible'].tolist(),
                attributes=out['attributes'].tolist(),
                pose=out['pose'].tolist(),
                light=dict(
                    ambient=light['ambient'],
                    diffuse=light['diffuse'],
                    direction=light['direction'].tolist())))
    ann = dict(
        format=FORMAT,
        classes=classes,
        attribute_names=list(ATTRIBUTE_NAMES),
        num_landmarks=NUM_LANDMARKS,
        flip_indices=list(FLIP_INDICES),
        img_size=int(img_size),
        seed=int(seed),
        images=images)
    with open(osp.join(out_dir, 'annotations.json'), 'w') as f:
        json.dump(ann, f)
    with open(osp.join(out_dir, 'list.txt'), 'w') as f:
        f.writelines(f'{im["path"]} {im["label"]}\n' for im in images)
    return ann
