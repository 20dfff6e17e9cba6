"""Real face pixels that ship with scikit-image (no download).

``skimage.data.lfw_subset()``: 100 LFW face crops (all different people,
no identity labels) then 100 non-face patches, 25 x 25 grey;
``skimage.data.astronaut()``: one 512 x 512 RGB portrait.
"""
from typing import Dict, List, Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset

from facessl.registry import DATASETS

#: Face box (x0, y0, x1, y1) of the astronaut, found once with OpenCV's
#: frontal Haar cascade.
ASTRONAUT_FACE_BOX = (177, 66, 272, 161)
_SPLITS = ('all', 'train', 'test')
_TRAIN_FRACTION = 0.7


def real_face_images() -> Dict[str, np.ndarray]:
    """Real photographs bundled with scikit-image, as BGR uint8.

    Returns:
        dict: ``{'astronaut': (512, 512, 3) uint8 BGR}``; its face box is
        :data:`ASTRONAUT_FACE_BOX`.
    """
    from skimage import data
    return {'astronaut': np.ascontiguousarray(data.astronaut()[..., ::-1])}


@DATASETS.register_module()
class LFWFaceSubset(BaseDataset):
    """scikit-image's LFW subset: real faces (label 1) vs non-faces (0).

    Images are 25 x 25 grey repeated to 3 channels (uint8, ``img`` like
    ``mmcv.imread``). The split is deterministic: the first 70 % of each
    class (70 faces, 70 non-faces) is ``'train'``, the last 30 % ``'test'``.

    Each data info holds ``img``, ``img_shape``, ``ori_shape``,
    ``gt_label`` and ``source_index`` (row in ``lfw_subset()``).

    Args:
        pipeline (Sequence): transforms. Defaults to ().
        split (str): ``'all'``, ``'train'`` or ``'test'``. Defaults to
            ``'all'``.
        with_nonfaces (bool): include the non-face patches (label 0);
            without them every label is 1. Defaults to True.
        **kwargs: ``metainfo``, ``indices``, ``serialize_data``,
            ``test_mode``, ``lazy_init`` of
            :class:`mmpretrain.datasets.BaseDataset`.
    """

    METAINFO = dict(classes=('non-face', 'face'))

    def __init__(self,
                 pipeline: Sequence = (),
                 split: str = 'all',
                 with_nonfaces: bool = True,
                 **kwargs) -> None:
        if split not in _SPLITS:
            raise ValueError(f'LFWFaceSubset: split must be one of '
                             f'{_SPLITS}, got {split!r}')
        self.split = split
        self.with_nonfaces = bool(with_nonfaces)
        super().__init__(ann_file='', pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """The selected images of the bundled array."""
        from skimage import data
        grey = data.lfw_subset()  # (200, 25, 25) float in [0, 1]
        if grey.shape[0] != 200:
            raise ValueError('skimage.data.lfw_subset(): expected 200 '
                             f'images, got {grey.shape[0]}')
        imgs = np.round(grey * 255.).astype(np.uint8)
        records = []
        for label, rows in ((1, range(0, 100)), (0, range(100, 200))):
            if label == 0 and not self.with_nonfaces:
                continue
            rows = list(rows)
            cut = int(round(len(rows) * _TRAIN_FRACTION))
            if self.split == 'train':
                rows = rows[:cut]
            elif self.split == 'test':
                rows = rows[cut:]
            for i in rows:
                img = np.repeat(imgs[i][..., None], 3, axis=2)
                records.append(
                    dict(
                        img=img,
                        img_shape=img.shape[:2],
                        ori_shape=img.shape[:2],
                        gt_label=label,
                        source_index=i))
        return records

    def extra_repr(self) -> List[str]:
        """Split information for ``repr``."""
        return [f'Split: \t{self.split}',
                f'With non-faces: \t{self.with_nonfaces}']
