"""Facial-expression data sets: RAF-DB (basic) and AffectNet-style csv.

Both yield single-label data infos: ``img_path``, ``gt_label`` (int, 0
based) and, once fetched, ``img`` (H, W, 3) uint8 BGR with
``img_shape``/``ori_shape``; ``metainfo['classes']`` names the
expressions in label order.
"""
import csv
import os.path as osp
from typing import List, Optional

import numpy as np

from facessl.registry import DATASETS

from .image_list import (ImageListDataset, bbox_of_points, parse_floats,
                         read_rows)
from .landmark_layouts import default_flip_indices

#: RAF-DB basic labels 1..7, stored as 0..6.
RAFDB_CLASSES = ('Surprise', 'Fear', 'Disgust', 'Happiness', 'Sadness',
                 'Anger', 'Neutral')
#: AffectNet expression codes 0..7; 8 None, 9 Uncertain, 10 No-Face are
#: never kept.
AFFECTNET_CLASSES = ('Neutral', 'Happy', 'Sad', 'Surprise', 'Fear',
                     'Disgust', 'Anger', 'Contempt')
AFFECTNET_NUM_CODES = 11
AFFECTNET_BBOX_COLUMNS = ('face_x', 'face_y', 'face_width', 'face_height')


def aligned_name(name: str) -> str:
    """RAF-DB aligned file of a listed image: ``train_00001.jpg`` ->
    ``train_00001_aligned.jpg``."""
    stem, ext = osp.splitext(name)
    return f'{stem}_aligned{ext}'


@DATASETS.register_module()
class RAFDB(ImageListDataset):
    """RAF-DB basic expressions (7 classes), aligned or original images.

    ``EmoLabel/list_patition_label.txt`` (sic) holds ``train_00001.jpg 5``
    lines with labels 1..7 = Surprise, Fear, Disgust, Happiness, Sadness,
    Anger, Neutral (stored as ``gt_label`` 0..6); the split is the name
    prefix (``train_``: 12271 images, ``test_``: 3068). Aligned 100x100
    faces are ``Image/aligned/train_00001_aligned.jpg``, the originals
    ``Image/original/train_00001.jpg``.

    Args:
        data_root (str): the ``basic`` folder.
        split (str): 'train', 'test' or 'all'. Defaults to 'train'.
        ann_file (str): the label list. Defaults to
            'EmoLabel/list_patition_label.txt'.
        aligned (bool): read the aligned faces (name + ``_aligned``).
            Defaults to True.
        data_prefix (str | dict, optional): image folder. Defaults to
            'Image/aligned' or 'Image/original' after ``aligned``.
        **kwargs: more :class:`ImageListDataset` arguments.
    """
    METAINFO = dict(classes=RAFDB_CLASSES)
    SPLITS = ('train', 'test')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: str = 'EmoLabel/list_patition_label.txt',
                 aligned: bool = True,
                 data_prefix=None,
                 **kwargs) -> None:
        if split not in (*self.SPLITS, 'all'):
            raise ValueError(f"RAFDB: split must be 'train', 'test' or "
                             f"'all', got {split!r}")
        self.split = split
        self.aligned = bool(aligned)
        if data_prefix is None:
            data_prefix = 'Image/aligned' if aligned else 'Image/original'
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read ``name label`` lines of the chosen split."""
        self._require_file(self.ann_file,
                           'RAF-DB lines "train_00001.jpg 1..7"')
        num = len(RAFDB_CLASSES)
        records = []
        for lineno, tokens in read_rows(self.ann_file):
            where = f'{self.ann_file}: line {lineno}'
            if len(tokens) != 2:
                raise ValueError(f'{where}: expected 2 columns "image '
                                 f'label", got {len(tokens)}')
            name, label = tokens
            split = name.split('_', 1)[0]
            if split not in self.SPLITS:
                raise ValueError(f"{where}: image {name} does not start "
                                 "with 'train_' or 'test_'")
            if label not in [str(k) for k in range(1, num + 1)]:
                raise ValueError(f'{where}: label {label!r}, expected 1..'
                                 f'{num} ({", ".join(RAFDB_CLASSES)})')
            if self.split in ('all', split):
                file = aligned_name(name) if self.aligned else name
                records.append(
                    dict(
                        img_path=self._image_path(file),
                        gt_label=int(label) - 1))
        return records

    def extra_repr(self) -> List[str]:
        """Split for ``repr``."""
        return super().extra_repr() + [f'Split: \t{self.split}']


@DATASETS.register_module()
class AffectNet(ImageListDataset):
    """AffectNet-style csv: image path, expression and optional geometry.

    The official ``training.csv``/``validation.csv`` header is
    ``subDirectory_filePath,face_x,face_y,face_width,face_height,
    facial_landmarks,expression,valence,arousal``; ``facial_landmarks``
    is ``x1;y1;...;x68;y68`` (iBUG order), expression codes are 0 Neutral,
    1 Happy, 2 Sad, 3 Surprise, 4 Fear, 5 Disgust, 6 Anger, 7 Contempt,
    8 None, 9 Uncertain, 10 No-Face. Rows with code >= ``num_classes``
    are dropped (8-10 always, Contempt too for the 7-class protocol);
    the count is kept in ``num_dropped``.

    Each data info holds ``img_path``, ``gt_label`` and, when the columns
    exist and are filled, ``bbox`` (4,) float32 ``[x1, y1, x2, y2]``,
    ``landmarks`` (K, 2) float32 with ``landmarks_visible`` (K,) bool,
    ``valence`` and ``arousal``. ``metainfo``: ``classes`` and, with
    landmarks, ``num_landmarks`` and ``flip_indices``.

    Args:
        data_root (str): AffectNet root.
        ann_file (str): the csv. Defaults to 'training.csv'.
        data_prefix (str | dict): image folder. Defaults to
            'Manually_Annotated_Images'.
        num_classes (int): 8 (with Contempt) or 7. Defaults to 8.
        path_column (str): column of the relative image path. Defaults to
            'subDirectory_filePath'.
        label_column (str): column of the expression code. Defaults to
            'expression'.
        **kwargs: more :class:`ImageListDataset` arguments.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'training.csv',
                 data_prefix='Manually_Annotated_Images',
                 num_classes: int = 8,
                 path_column: str = 'subDirectory_filePath',
                 label_column: str = 'expression',
                 **kwargs) -> None:
        if num_classes not in (7, 8):
            raise ValueError(f'AffectNet: num_classes must be 7 or 8, got '
                             f'{num_classes!r}')
        self.num_classes = num_classes
        self.path_column = path_column
        self.label_column = label_column
        self.num_dropped = 0
        kwargs.setdefault('classes', AFFECTNET_CLASSES[:num_classes])
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the csv rows, keeping expressions < ``num_classes``."""
        self._require_file(
            self.ann_file, f'an AffectNet csv with "{self.path_column}" '
            f'and "{self.label_column}" columns')
        records, self.num_dropped = [], 0
        with open(self.ann_file, encoding='utf-8', newline='') as f:
            reader = csv.DictReader(f)
            missing = [
                c for c in (self.path_column, self.label_column)
                if c not in (reader.fieldnames or ())
            ]
            if missing:
                raise ValueError(
                    f'{self.ann_file}: header lacks {missing}; found '
                    f'{reader.fieldnames}')
            for row in reader:
                rec = self._parse_row(row, f'{self.ann_file}: line '
                                      f'{reader.line_num}')
                if rec is None:
                    self.num_dropped += 1
                else:
                    records.append(rec)
        counts = {len(r['landmarks']) for r in records if 'landmarks' in r}
        if len(counts) > 1:
            raise ValueError(f'{self.ann_file}: rows have different numbers '
                             f'of landmarks: {sorted(counts)}')
        if counts:
            num = counts.pop()
            self._metainfo.update(
                num_landmarks=num, flip_indices=default_flip_indices(num))
        return records

    def _parse_row(self, row: dict, where: str) -> Optional[dict]:
        code = (row.get(self.label_column) or '').strip()
        if code not in [str(k) for k in range(AFFECTNET_NUM_CODES)]:
            raise ValueError(f'{where}: expression {code!r}, expected an '
                             f'integer 0..{AFFECTNET_NUM_CODES - 1}')
        if int(code) >= self.num_classes:
            return None
        path = (row.get(self.path_column) or '').strip()
        if not path:
            raise ValueError(f'{where}: empty {self.path_column}')
        rec = dict(img_path=self._image_path(path), gt_label=int(code))
        box = [(row.get(c) or '').strip() for c in AFFECTNET_BBOX_COLUMNS]
        if all(box):
            x, y, w, h = parse_floats(box, where, 'face box values')
            rec['bbox'] = np.array([x, y, x + w, y + h], np.float32)
        points = (row.get('facial_landmarks') or '').strip()
        if points:
            values = parse_floats(points.split(';'), where,
                                  'facial_landmarks')
            if len(values) % 2:
                raise ValueError(f'{where}: facial_landmarks has '
                                 f'{len(values)} values, expected x;y '
                                 'pairs')
            rec['landmarks'] = values.reshape(-1, 2)
            rec['landmarks_visible'] = np.ones(len(values) // 2, bool)
            rec.setdefault('bbox', bbox_of_points(rec['landmarks']))
        for key in ('valence', 'arousal'):
            value = (row.get(key) or '').strip()
            if value:
                rec[key] = float(parse_floats([value], where, key)[0])
        return rec

