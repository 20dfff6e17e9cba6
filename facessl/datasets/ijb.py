"""IJBDataset: IJB-B / IJB-C images as insightface distributes them."""
import os.path as osp
from typing import List, Sequence

import cv2
import numpy as np
from mmpretrain.datasets import BaseDataset

from facessl.registry import DATASETS

from .face_folder import load_bgr
from .ijb_meta import (GALLERIES, meta_file, one_to_n_files, read_landmarks,
                       read_template_media)
from .transforms.alignment import (estimate_alignment, template_points,
                                   transform_points)

#: Meta keys to pack (``PackInputs(meta_keys=IJB_META_KEYS)``) so that
#: ``IJBMetric`` receives them with each prediction.
IJB_META_KEYS = ('sample_idx', 'img_index', 'flip', 'template_id',
                 'media_id', 'face_score')
#: Order of the five points after a horizontal flip (eyes and mouth
#: corners swap sides).
FLIP_ORDER_5 = (1, 0, 2, 4, 3)


@DATASETS.register_module()
class IJBDataset(BaseDataset):
    """IJB-B / IJB-C face images for 1:1 and 1:N template evaluation.

    Reads insightface's release layout (``IJB_release/IJBC``)::

        data_root/meta/ijbc_face_tid_mid.txt      image template media
        data_root/meta/ijbc_name_5pts_score.txt   image x1 y1 .. x5 y5 score
        data_root/meta/ijbc_template_pair_label.txt   (read by IJBMetric)
        data_root/meta/ijbc_1N_*.csv                  (read by IJBMetric)
        data_root/loose_crop/<image_name>

    (prefix ``ijbb`` for IJB-B; formats in :mod:`facessl.datasets.ijb_meta`).
    Both meta files list the same images in the same order; image ``i`` is
    line ``i``.

    Each image is read when fetched and, with ``align`` (the default),
    warped onto the ArcFace template with its five points
    (:func:`~facessl.datasets.transforms.alignment.align_face`), giving
    ``img`` (image_size, image_size, 3) uint8 BGR. With ``flip_test`` every
    image is listed twice, original then horizontally flipped (after
    alignment); ``IJBMetric`` sums the two features of an image.

    Data info keys: ``img``, ``img_shape``, ``ori_shape`` (the loose
    crop's), ``img_path``, ``img_index`` (line of the meta files, 0-based),
    ``flip`` (bool), ``template_id``, ``media_id``, ``face_score``
    (detector score), ``landmarks5`` (5, 2) in ``img`` coordinates (in
    flipped images mirrored and re-ordered left to right). Pack them with
    ``dict(type='PackInputs', meta_keys=IJB_META_KEYS)``.

    The verification pairs and 1:N lists are not loaded here: ``IJBMetric``
    takes the same ``data_root``/``name`` (or explicit file paths) and
    parses them with :mod:`facessl.datasets.ijb_meta` once per
    evaluation; :attr:`pair_file` and :attr:`one_to_n_files` give the
    default paths.

    Args:
        data_root (str): the benchmark folder, e.g. ``data/IJB_release/IJBC``.
        name (str): ``'IJBC'`` or ``'IJBB'`` (the meta file prefix).
            Defaults to 'IJBC'.
        flip_test (bool): list each image twice (original, flipped).
            Defaults to True.
        image_size (int): aligned side (multiple of 112 or 128).
            Defaults to 112.
        align (bool): align on load; False leaves the loose crop and its
            ``landmarks5`` to the pipeline (e.g. ``AlignFace``; flipped
            records are then flipped before alignment). Defaults to True.
        img_dir (str): image folder under ``data_root``. Defaults to
            'loose_crop'.
        pipeline (Sequence): transforms. Defaults to ().
        **kwargs: ``metainfo``, ``indices``, ``serialize_data``,
            ``test_mode``, ``lazy_init``, ``max_refetch`` of
            :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 name: str = 'IJBC',
                 flip_test: bool = True,
                 image_size: int = 112,
                 align: bool = True,
                 img_dir: str = 'loose_crop',
                 pipeline: Sequence = (),
                 **kwargs) -> None:
        if name.upper() not in GALLERIES:
            raise ValueError(f'IJBDataset: name must be one of '
                             f'{sorted(GALLERIES)}, got {name!r}')
        if not isinstance(data_root, str) or not osp.isdir(data_root):
            raise FileNotFoundError(
                f'IJBDataset: data_root {data_root!r} is not an existing '
                'folder; expected the IJB release folder holding meta/ and '
                f'{img_dir}/')
        for key in ('ann_file', 'data_prefix', 'classes'):
            if key in kwargs:
                raise TypeError(f"IJBDataset: unexpected argument '{key}'")
        self.name = name.upper()
        self.flip_test = bool(flip_test)
        self.image_size = int(image_size)
        self.align = bool(align)
        self.img_dir = osp.join(data_root, img_dir)
        if self.align:
            template_points(self.image_size)  # validates the size
        super().__init__(
            ann_file='', data_root=data_root, pipeline=pipeline, **kwargs)

    # --- meta files ---------------------------------------------------
    @property
    def tid_mid_file(self) -> str:
        """Path of ``<name>_face_tid_mid.txt``."""
        return meta_file(self.data_root, self.name, 'face_tid_mid.txt')

    @property
    def landmark_file(self) -> str:
        """Path of ``<name>_name_5pts_score.txt``."""
        return meta_file(self.data_root, self.name, 'name_5pts_score.txt')

    @property
    def pair_file(self) -> str:
        """Path of ``<name>_template_pair_label.txt`` (for the metric)."""
        return meta_file(self.data_root, self.name, 'template_pair_label.txt')

    @property
    def one_to_n_files(self):
        """``([gallery_1, gallery_2], probe)`` 1:N list paths."""
        return one_to_n_files(self.data_root, self.name)

    def load_data_list(self) -> List[dict]:
        """Read both meta files; one small record per (image, flip)."""
        if not osp.isdir(self.img_dir):
            raise FileNotFoundError(
                f'IJBDataset: image folder {self.img_dir} not found')
        names, tids, mids = read_template_media(self.tid_mid_file)
        lmk_names, points, scores = read_landmarks(self.landmark_file)
        if len(lmk_names) != len(names):
            raise ValueError(
                f'{self.landmark_file}: {len(lmk_names)} records, but '
                f'{self.tid_mid_file} has {len(names)}; expected the same '
                'images in the same order')
        for i, (a, b) in enumerate(zip(names, lmk_names)):
            if a != b:
                raise ValueError(
                    f'{self.landmark_file}: record {i + 1} is image {b!r}, '
                    f'but record {i + 1} of {self.tid_mid_file} is {a!r}; '
                    'expected the same images in the same order')
        self.image_names = names
        self.template_ids = tids
        self.media_ids = mids
        self.landmarks5 = points
        self.face_scores = scores
        flips = (False, True) if self.flip_test else (False, )
        return [
            dict(img_index=i, flip=f) for i in range(len(names))
            for f in flips
        ]

    def get_data_info(self, idx: int) -> dict:
        """The record of ``idx`` with its image path and meta data.

        Args:
            idx (int): data index.

        Returns:
            dict: ``img_path``, ``img_index``, ``flip``, ``template_id``,
            ``media_id``, ``face_score``, ``landmarks5`` (loose-crop
            coordinates), ``sample_idx``.
        """
        info = super().get_data_info(idx)
        i = info['img_index']
        info.update(
            img_path=osp.join(self.img_dir, self.image_names[i]),
            template_id=int(self.template_ids[i]),
            media_id=int(self.media_ids[i]),
            face_score=float(self.face_scores[i]),
            landmarks5=self.landmarks5[i].copy())
        return info

    def prepare_data(self, idx: int):
        """Read, align and (for flipped records) mirror image ``idx``."""
        info = self.get_data_info(idx)
        img = load_bgr(
            info['img_path'], f'image {info["img_index"] + 1} of '
            f'{self.tid_mid_file}')
        info['ori_shape'] = img.shape[:2]
        if self.align:
            matrix = estimate_alignment(info['landmarks5'], self.image_size)
            size = (self.image_size, self.image_size)
            img = cv2.warpAffine(img, matrix, size, borderValue=0.0)
            info['landmarks5'] = transform_points(info['landmarks5'], matrix)
        if info['flip']:
            img = np.ascontiguousarray(img[:, ::-1])
            points = info['landmarks5'][list(FLIP_ORDER_5)]
            points[:, 0] = img.shape[1] - 1 - points[:, 0]
            info['landmarks5'] = points
        info.update(img=img, img_shape=img.shape[:2])
        return self.pipeline(info)

    def extra_repr(self) -> List[str]:
        """Benchmark name and options for ``repr``."""
        return [
            f'Benchmark: \t{self.name}', f'Flip test: \t{self.flip_test}',
            f'Aligned size: \t{self.image_size if self.align else "no"}'
        ]
