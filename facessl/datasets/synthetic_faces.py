"""SyntheticFaces: generated-on-the-fly faces with exact ground truth."""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset as _MMEngineBaseDataset
from mmpretrain.datasets import BaseDataset

from facessl.registry import DATASETS

from .synthetic import (ATTRIBUTE_NAMES, FLIP_INDICES, NUM_DENSE_LANDMARKS,
                        NUM_LANDMARKS, SyntheticFaceGenerator)


@DATASETS.register_module()
class SyntheticFaces(BaseDataset):
    """N identities x M cartoon face images, rendered when fetched.

    The data list only holds ``(identity, image index)`` pairs, so the data
    set is tiny to pickle into dataloader workers; each image is rendered
    by :class:`~facessl.datasets.synthetic.SyntheticFaceGenerator` in
    :meth:`get_data_info` and is a pure function of ``(seed, identity,
    image index)``.

    Each data info holds ``img`` (H, W, 3) uint8 **BGR** (as
    ``mmcv.imread``), ``img_shape``/``ori_shape`` ``(H, W)``, ``gt_label``
    (contiguous 0..N-1 within this data set), ``identity`` (absolute id
    ``identity_offset + gt_label``), ``image_index``, ``landmarks`` (68, 2)
    float32 pixel (x, y) in iBUG 300-W order, ``landmarks_visible`` (68,)
    bool, ``attributes`` (len(attribute_names),) uint8 0/1, ``pose``
    (3,) float32 yaw/pitch/roll in degrees, ``light`` dict(ambient,
    diffuse, direction (3,)), ``sample_idx``; plus ``dense_landmarks``
    (NUM_DENSE_LANDMARKS, 2) if ``dense`` and ``depth`` (H, W) float32 if
    ``with_depth``.

    ``metainfo``: ``classes`` (identity names ``'synthetic_000042'``, by
    absolute id), ``attribute_names``, ``num_landmarks`` (68),
    ``num_dense_landmarks``, ``flip_indices`` (iBUG mirror partners).

    Args:
        num_identities (int): identities N. Defaults to 100.
        images_per_identity (int): images per identity M. Defaults to 10.
        img_size (int): image height and width. Defaults to 112.
        seed (int): data-set seed. Defaults to 0.
        identity_offset (int): first absolute identity id, to hold
            identities out: train on ``[0, N)``, validate on ``[offset,
            offset + N')``. Defaults to 0.
        image_offset (int): first image index of every identity, to draw
            new images of the same identities. Defaults to 0.
        pipeline (Sequence): transforms. Defaults to ().
        dense (bool): add ``dense_landmarks``. Defaults to False.
        with_depth (bool): add the ``depth`` map. Defaults to False.
        generator_cfg (dict, optional): more keyword arguments of
            :class:`SyntheticFaceGenerator` (``max_yaw``,
            ``occlusion_prob``, ...). Defaults to None.
        **kwargs: ``metainfo``, ``indices``, ``serialize_data``,
            ``test_mode``, ``lazy_init``, ``max_refetch`` of
            :class:`mmpretrain.datasets.BaseDataset`.
    """

    METAINFO = dict(
        attribute_names=ATTRIBUTE_NAMES,
        num_landmarks=NUM_LANDMARKS,
        num_dense_landmarks=NUM_DENSE_LANDMARKS,
        flip_indices=FLIP_INDICES)

    def __init__(self,
                 num_identities: int = 100,
                 images_per_identity: int = 10,
                 img_size: int = 112,
                 seed: int = 0,
                 identity_offset: int = 0,
                 image_offset: int = 0,
                 pipeline: Sequence = (),
                 dense: bool = False,
                 with_depth: bool = False,
                 generator_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        for name, value, low in (('num_identities', num_identities, 1),
                                 ('images_per_identity', images_per_identity,
                                  1), ('identity_offset', identity_offset, 0),
                                 ('image_offset', image_offset, 0)):
            if int(value) != value or value < low:
                raise ValueError(f'SyntheticFaces: {name} must be an integer '
                                 f'>= {low}, got {value!r}')
        for key in ('ann_file', 'data_root', 'data_prefix', 'classes'):
            if key in kwargs:
                raise TypeError(f'SyntheticFaces: unexpected argument '
                                f"'{key}' (the data are generated)")
        self.num_identities = int(num_identities)
        self.images_per_identity = int(images_per_identity)
        self.identity_offset = int(identity_offset)
        self.image_offset = int(image_offset)
        self.dense = bool(dense)
        self.generator = SyntheticFaceGenerator(
            img_size=img_size,
            seed=seed,
            with_depth=with_depth,
            **(generator_cfg or {}))
        classes = tuple(f'synthetic_{self.identity_offset + k:06d}'
                        for k in range(self.num_identities))
        super().__init__(
            ann_file='', pipeline=pipeline, classes=classes, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One cheap record per image: label, identity and image index."""
        return [
            dict(
                gt_label=k,
                identity=self.identity_offset + k,
                image_index=self.image_offset + j)
            for k in range(self.num_identities)
            for j in range(self.images_per_identity)
        ]

    def _record(self, idx: int) -> dict:
        """The stored record of ``idx`` (no rendering)."""
        return _MMEngineBaseDataset.get_data_info(self, idx)

    def get_data_info(self, idx: int) -> dict:
        """Render image ``idx`` and return it with its ground truth.

        Args:
            idx (int): data index.

        Returns:
            dict: the data info described in the class docstring.
        """
        info = self._record(idx)
        out = self.generator(info['identity'], info['image_index'])
        img = out['img']
        info.update(
            img=img,
            img_shape=img.shape[:2],
            ori_shape=img.shape[:2],
            landmarks=out['landmarks'],
            landmarks_visible=out['visible'],
            attributes=out['attributes'],
            pose=out['pose'],
            light=out['light'])
        if self.dense:
            info['dense_landmarks'] = out['dense_landmarks']
        if 'depth' in out:
            info['depth'] = out['depth']
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        """Identity label of ``idx`` without rendering the image."""
        return [int(self._record(idx)['gt_label'])]

    def get_gt_labels(self) -> np.ndarray:
        """All identity labels, without rendering."""
        return np.array([self._record(i)['gt_label']
                         for i in range(len(self))])

    def extra_repr(self) -> List[str]:
        """Data-set size and generator settings for ``repr``."""
        gen = self.generator
        return [
            f'Identities: \t{self.num_identities} (from '
            f'{self.identity_offset})',
            f'Images per identity: \t{self.images_per_identity}',
            f'Image size: \t{gen.img_size}', f'Seed: \t{gen.seed}'
        ]
