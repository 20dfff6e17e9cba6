"""ImageListDataset: the base of annotation-list face data sets.

Attribute, expression and landmark lists (CelebA, RAF-DB, AffectNet, 300W,
WFLW, COCO keypoints) share one behaviour: the annotation is parsed into
cheap records holding ``img_path``, and the image is decoded in
:meth:`ImageListDataset.prepare_data` into ``img`` (H, W, 3) uint8 BGR
with ``img_shape``/``ori_shape``, so pipelines start without
``LoadImageFromFile`` (as with :class:`FaceImageFolder`).
"""
import os.path as osp
from typing import Iterator, List, Sequence, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset

from .face_folder import load_bgr


class ImageListDataset(BaseDataset):
    """Base class: records from an annotation file, images decoded lazily.

    Subclasses implement :meth:`load_data_list`; each record needs an
    ``img_path``.

    Args:
        ann_file (str): annotation file, relative to ``data_root`` unless
            absolute.
        data_root (str): root of ``ann_file`` and ``data_prefix``.
            Defaults to ''.
        data_prefix (str | dict): image folder (``dict(img_path=...)``),
            relative to ``data_root``. Defaults to ''.
        pipeline (Sequence): transforms. Defaults to ().
        load_image (bool): decode ``img`` in :meth:`prepare_data`; False
            leaves loading to the pipeline. Defaults to True.
        **kwargs: ``metainfo``, ``indices``, ``serialize_data``,
            ``test_mode``, ``lazy_init``, ``max_refetch``, ``classes`` of
            :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix='',
                 pipeline: Sequence = (),
                 load_image: bool = True,
                 **kwargs) -> None:
        self.load_image = bool(load_image)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=pipeline,
            **kwargs)

    def _require_file(self, path: str, expected: str) -> None:
        """Raise a FileNotFoundError naming ``path`` and its format."""
        if not path or not osp.isfile(path):
            raise FileNotFoundError(
                f'{type(self).__name__}: {path or "(no ann_file)"} not '
                f'found; expected {expected}')

    def _image_path(self, name: str) -> str:
        """``name`` joined with the image folder."""
        return osp.join(self.img_prefix, name)

    def prepare_data(self, idx: int):
        """Decode image ``idx`` into ``img`` and run the pipeline."""
        info = self.get_data_info(idx)
        if self.load_image:
            img = load_bgr(info['img_path'], f'record {idx} of '
                           f'{self.ann_file or self.img_prefix}')
            info.update(
                img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return self.pipeline(info)


def read_rows(path: str) -> Iterator[Tuple[int, List[str]]]:
    """Whitespace-separated rows of a text list with their line numbers.

    Blank lines and lines starting with ``#`` are skipped.

    Args:
        path (str): the file.

    Yields:
        tuple[int, list[str]]: 1-based line number and the row's tokens.
    """
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            tokens = line.split()
            if tokens and not tokens[0].startswith('#'):
                yield lineno, tokens


def parse_floats(tokens: Sequence[str], where: str,
                 what: str) -> np.ndarray:
    """Parse numbers of a record into float32, naming the record on error.

    Args:
        tokens (Sequence): the numbers, as text or numbers.
        where (str): file and line or record, e.g. ``'a.txt: line 3'``.
        what (str): what the numbers are, e.g. ``'landmark coordinates'``.

    Returns:
        np.ndarray: (len(tokens),) float32.
    """
    try:
        values = np.array([float(t) for t in tokens], np.float32)
    except (TypeError, ValueError):
        bad = next(t for t in tokens if not _is_float(t))
        raise ValueError(f'{where}: {what} contain {bad!r}, expected '
                         'numbers') from None
    if not np.isfinite(values).all():
        raise ValueError(f'{where}: {what} contain a non-finite value')
    return values


def _is_float(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def bbox_of_points(points: np.ndarray) -> np.ndarray:
    """Tight ``[x1, y1, x2, y2]`` box of (K, 2) points, float32."""
    points = np.asarray(points, np.float32).reshape(-1, 2)
    return np.concatenate([points.min(0), points.max(0)]).astype(np.float32)
