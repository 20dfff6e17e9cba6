"""Write a synthetic face set as attribute, expression and landmark files.

One set of images serves every format. Layout of ``out_dir``::

    img_align_celeba/000001.png      PNG images (lossless), numbered from 1
    img_align_celeba/000001.pts      300-W .pts, 68 iBUG points, 1-based
    list_attr_celeba.txt             CelebA attribute list (1/-1) with the
                                     synthetic ATTRIBUTE_NAMES
    list_eval_partition.txt          0/1/2 = train/val/test, by identity
    list_landmarks_align_celeba.txt  CelebA's 5 points (eye centres, nose
                                     tip, mouth corners), rounded
    identity_CelebA.txt              image -> absolute identity id
    face_landmarks_coco.json         COCO keypoints: 68 points, v = 2 if
                                     visible else 1, bbox of the points
    face_landmarks_coco_train.json   the same, one file per partition
    face_landmarks_coco_val.json     (image and annotation ids are those
    face_landmarks_coco_test.json    of the whole file)
    RAF-DB/EmoLabel/list_patition_label.txt
    RAF-DB/Image/aligned/train_00001_aligned.png   hard links (or copies)
    affectnet/training.csv           AffectNet csv of the train partition,
    affectnet/validation.csv         and of val + test; paths relative to
                                     img_align_celeba

Read them with ``CelebAAttributes(data_root=out_dir)``,
``CocoFaceLandmarks('face_landmarks_coco.json', out_dir,
'img_align_celeba')``, ``Landmarks300W(out_dir,
subsets=['img_align_celeba'])``, ``RAFDB(out_dir + '/RAF-DB')`` and
``AffectNet(out_dir + '/affectnet', data_prefix='../img_align_celeba')``.

Partitions are identity-disjoint like CelebA's: the last ``ceil(N / 10)``
identities are test, the ``ceil(N / 10)`` before them val (none of either
for N < 3). RAF-DB's ``train_`` images are the train partition, its
``test_`` images val and test. Expressions follow the rendered face:
smiling -> Happiness, else mouth open -> Surprise, else Neutral.
AffectNet's valence and arousal are written as 0 (not modelled).
"""
import csv
import json
import math
import os
import os.path as osp
import shutil
from typing import Optional

import cv2
import numpy as np

from .export import render_faces
from .generator import ATTRIBUTE_NAMES
from .template import CONTOURS, NUM_LANDMARKS, SEGMENTS

IMG_DIR = 'img_align_celeba'
COCO_FILE = 'face_landmarks_coco.json'
#: partition 0/1/2 -> name of its COCO file suffix, as CelebA's
PARTITION_NAMES = ('train', 'val', 'test')
RAFDB_DIR = 'RAF-DB'
AFFECTNET_DIR = 'affectnet'
AFFECTNET_HEADER = ('subDirectory_filePath', 'face_x', 'face_y',
                    'face_width', 'face_height', 'facial_landmarks',
                    'expression', 'valence', 'arousal')
#: synthetic expression -> (RAF-DB label 1..7, AffectNet code)
EXPRESSIONS = dict(
    happiness=(4, 1), surprise=(1, 3), neutral=(7, 0))


def landmark_names():
    """COCO keypoint names of the 68 iBUG points, e.g. ``'jaw_0'``."""
    names = [''] * NUM_LANDMARKS
    for contour, (first, last, _) in CONTOURS.items():
        for i in range(first, last + 1):
            names[i] = f'{contour}_{i - first}'
    return names


def celeba_five_points(landmarks: np.ndarray) -> np.ndarray:
    """CelebA's 5 points from the 68: eye centres, nose tip, mouth
    corners."""
    return np.stack([
        landmarks[36:42].mean(0), landmarks[42:48].mean(0), landmarks[30],
        landmarks[48], landmarks[54]
    ])


def partition_of(label: int, num_identities: int) -> int:
    """CelebA partition 0/1/2 of the ``label``-th identity."""
    held = math.ceil(num_identities / 10) if num_identities >= 3 else 0
    if label >= num_identities - held:
        return 2
    return 1 if label >= num_identities - 2 * held else 0


def expression_of(attributes: np.ndarray) -> str:
    """Key of :data:`EXPRESSIONS` for a synthetic attribute vector."""
    attrs = dict(zip(ATTRIBUTE_NAMES, attributes))
    if attrs['smiling']:
        return 'happiness'
    return 'surprise' if attrs['mouth_open'] else 'neutral'


def _write_pts(path: str, landmarks: np.ndarray) -> None:
    lines = [f'{x + 1:.6f} {y + 1:.6f}' for x, y in landmarks.tolist()]
    with open(path, 'w') as f:
        f.write(f'version: 1\nn_points: {len(lines)}\n{{\n')
        f.write('\n'.join(lines) + '\n}\n')


def _link(src: str, dst: str) -> None:
    os.makedirs(osp.dirname(dst), exist_ok=True)
    if osp.lexists(dst):
        os.remove(dst)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def write_synthetic_annotations(out_dir: str,
                                num_identities: int,
                                images_per_identity: int,
                                img_size: int = 112,
                                seed: int = 0,
                                identity_offset: int = 0,
                                progress: bool = False,
                                generator_cfg: Optional[dict] = None
                                ) -> dict:
    """Render N x M synthetic faces and write them in every format above.

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
        dict: ``num_images``, ``partitions`` (images per partition 0/1/2)
        and ``files`` (format name -> path written).
    """
    faces = render_faces(num_identities, images_per_identity, img_size,
                         seed, identity_offset, progress, generator_cfg,
                         'synthetic annotations')
    width = max(6, len(str(num_identities * images_per_identity)))
    os.makedirs(osp.join(out_dir, IMG_DIR), exist_ok=True)
    samples = []
    for n, (label, _, _, out) in enumerate(faces, 1):
        name = f'{n:0{width}d}.png'
        path = osp.join(out_dir, IMG_DIR, name)
        if not cv2.imwrite(path, out['img']):
            raise OSError(f'{path}: cv2.imwrite failed')
        _write_pts(osp.splitext(path)[0] + '.pts', out['landmarks'])
        samples.append(
            dict(
                id=n,
                name=name,
                path=path,
                identity=identity_offset + label,
                partition=partition_of(label, num_identities),
                landmarks=out['landmarks'],
                visible=out['visible'],
                attributes=out['attributes'],
                expression=expression_of(out['attributes'])))
    files = dict(
        celeba=_write_celeba(out_dir, samples),
        coco=_write_coco(out_dir, samples, int(img_size)),
        **{
            f'coco_{name}': _write_coco(
                out_dir, [s for s in samples if s['partition'] == p],
                int(img_size), f'_{name}')
            for p, name in enumerate(PARTITION_NAMES)
        },
        rafdb=_write_rafdb(out_dir, samples),
        affectnet=_write_affectnet(out_dir, samples))
    return dict(
        num_images=len(samples),
        partitions=[sum(s['partition'] == p for s in samples)
                    for p in range(3)],
        files=files)


def _write_celeba(out_dir: str, samples: list) -> str:
    attr_file = osp.join(out_dir, 'list_attr_celeba.txt')
    with open(attr_file, 'w') as f:
        f.write(f'{len(samples)}\n{" ".join(ATTRIBUTE_NAMES)}\n')
        for s in samples:
            values = ' '.join(f'{1 if v else -1:2d}' for v in s['attributes'])
            f.write(f'{s["name"]} {values}\n')
    with open(osp.join(out_dir, 'list_eval_partition.txt'), 'w') as f:
        f.writelines(f'{s["name"]} {s["partition"]}\n' for s in samples)
    with open(osp.join(out_dir, 'identity_CelebA.txt'), 'w') as f:
        f.writelines(f'{s["name"]} {s["identity"]}\n' for s in samples)
    with open(osp.join(out_dir, 'list_landmarks_align_celeba.txt'),
              'w') as f:
        f.write(f'{len(samples)}\nlefteye_x lefteye_y righteye_x '
                'righteye_y nose_x nose_y leftmouth_x leftmouth_y '
                'rightmouth_x rightmouth_y\n')
        for s in samples:
            points = np.rint(celeba_five_points(s['landmarks']))
            coords = ' '.join(f'{int(v):4d}' for v in points.ravel())
            f.write(f'{s["name"]} {coords}\n')
    return attr_file


def _write_coco(out_dir: str,
                samples: list,
                img_size: int,
                suffix: str = '') -> str:
    images, annotations = [], []
    for s in samples:
        points = s['landmarks']
        (x1, y1), (x2, y2) = points.min(0), points.max(0)
        vis = np.where(s['visible'], 2, 1)
        images.append(
            dict(id=s['id'], file_name=s['name'], width=img_size,
                 height=img_size))
        annotations.append(
            dict(
                id=s['id'],
                image_id=s['id'],
                category_id=1,
                keypoints=[
                    v for (x, y), c in zip(points.tolist(), vis.tolist())
                    for v in (x, y, c)
                ],
                num_keypoints=int((vis > 0).sum()),
                bbox=[float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                area=float((x2 - x1) * (y2 - y1)),
                iscrowd=0))
    category = dict(
        id=1,
        name='face',
        supercategory='face',
        keypoints=landmark_names(),
        skeleton=(SEGMENTS + 1).tolist())
    stem, ext = osp.splitext(COCO_FILE)
    path = osp.join(out_dir, stem + suffix + ext)
    with open(path, 'w') as f:
        json.dump(
            dict(images=images, annotations=annotations,
                 categories=[category]), f)
    return path


def _write_rafdb(out_dir: str, samples: list) -> str:
    root = osp.join(out_dir, RAFDB_DIR)
    path = osp.join(root, 'EmoLabel', 'list_patition_label.txt')
    os.makedirs(osp.dirname(path), exist_ok=True)
    counts = dict(train=0, test=0)
    width = max(5, len(str(len(samples))))
    with open(path, 'w') as f:
        for s in samples:
            split = 'train' if s['partition'] == 0 else 'test'
            counts[split] += 1
            stem = f'{split}_{counts[split]:0{width}d}'
            _link(s['path'], osp.join(root, 'Image', 'aligned',
                                      f'{stem}_aligned.png'))
            f.write(f'{stem}.png {EXPRESSIONS[s["expression"]][0]}\n')
    return path


def _write_affectnet(out_dir: str, samples: list) -> str:
    root = osp.join(out_dir, AFFECTNET_DIR)
    os.makedirs(root, exist_ok=True)
    paths = [osp.join(root, 'training.csv'), osp.join(root, 'validation.csv')]
    for i, path in enumerate(paths):
        with open(path, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(AFFECTNET_HEADER)
            for s in samples:
                if (s['partition'] > 0) != bool(i):
                    continue
                points = s['landmarks']
                (x1, y1), (x2, y2) = points.min(0), points.max(0)
                writer.writerow([
                    s['name'], f'{x1:.2f}', f'{y1:.2f}', f'{x2 - x1:.2f}',
                    f'{y2 - y1:.2f}',
                    ';'.join(f'{v:.2f}' for v in points.ravel().tolist()),
                    EXPRESSIONS[s['expression']][1], 0, 0
                ])
    return paths[0]
