"""Binary face-attribute lists: CelebA and generic (LFWA-style) lists.

Labels follow mmpretrain's multi-label convention
(:class:`mmpretrain.datasets.MultiLabelDataset`): ``gt_label`` holds the
*indices* of the attributes present, which ``PackInputs`` packs as-is and
:class:`mmpretrain.models.MultiLabelClsHead`, ``MultiLabelMetric`` and
facessl's ``AttributeAccuracy`` turn into a 0/1 vector with
``label_to_onehot(gt_label, num_attributes)``. The dense 0/1 vector is
also kept in ``attributes`` (uint8), the key :class:`SyntheticFaces` and
:class:`FaceImageFolder` use.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from facessl.registry import DATASETS

from .image_list import ImageListDataset, parse_floats, read_rows
from .landmark_layouts import CELEBA5_FLIP_INDICES

#: CelebA's 5 aligned landmarks: image-left eye, image-right eye, nose,
#: image-left and image-right mouth corners.
CELEBA_LANDMARK_NAMES = ('lefteye', 'righteye', 'nose', 'leftmouth',
                         'rightmouth')
CELEBA_SPLITS = dict(train='0', val='1', test='2')


def read_attribute_table(path: str,
                         values: Dict[str, int],
                         names: Optional[Sequence[str]] = None):
    """Parse an attribute list: optional count and names lines, then rows.

    Layout (whitespace separated)::

        202599                       optional: number of records
        Name_1 Name_2 ... Name_N     optional: attribute names
        000001.jpg -1 1 ... -1       image name and N values

    A line is the names line when none of its tokens is a valid value.

    Args:
        path (str): the list file.
        values (dict[str, int]): accepted value tokens and their 0/1
            meaning, e.g. ``{'1': 1, '-1': 0}``.
        names (Sequence[str], optional): attribute names; required when the
            file has no names line, and must have the same length if it
            has one. Defaults to None.

    Returns:
        tuple: ``names`` (tuple of N str) and ``rows``, a list of
        ``(image name, (N,) uint8 0/1 vector)``.
    """
    rows = list(read_rows(path))
    count = None
    if rows and len(rows[0][1]) == 1 and rows[0][1][0].isdigit():
        count = int(rows.pop(0)[1][0])
    header = None
    if rows and not any(t in values for t in rows[0][1]):
        header = tuple(rows.pop(0)[1])
    if names is not None and header is not None and len(names) != len(
            header):
        raise ValueError(f'{path}: the names line has {len(header)} '
                         f'attributes, attribute_names has {len(names)}')
    names = tuple(names) if names is not None else header
    if names is None:
        raise ValueError(f'{path}: no attribute names line; expected a '
                         'line of names before the records or the '
                         'attribute_names argument')
    expected = ', '.join(values)
    table = []
    for lineno, tokens in rows:
        if len(tokens) != len(names) + 1:
            raise ValueError(
                f'{path}: line {lineno}: expected {len(names) + 1} columns '
                f'(image name and {len(names)} attribute values), got '
                f'{len(tokens)}')
        for name, token in zip(names, tokens[1:]):
            if token not in values:
                raise ValueError(
                    f'{path}: line {lineno}: attribute {name!r} of '
                    f'{tokens[0]} has value {token!r}, expected one of '
                    f'{expected}')
        table.append(
            (tokens[0], np.array([values[t] for t in tokens[1:]], np.uint8)))
    if count is not None and count != len(table):
        raise ValueError(f'{path}: the first line announces {count} '
                         f'records, found {len(table)}')
    return names, table


def read_name_table(path: str, num_columns: int,
                    what: str) -> Dict[str, Tuple[int, List[str]]]:
    """Map image name -> (line, columns) of a list such as CelebA's.

    A first line with one integer (count) and a names line (tokens that
    are not numbers) are skipped.

    Args:
        path (str): the list file.
        num_columns (int): columns after the image name.
        what (str): what the columns are, for errors.

    Returns:
        dict: image name -> (line number, list of ``num_columns`` tokens).
    """
    table = {}
    for lineno, tokens in read_rows(path):
        if not table and (len(tokens) == 1 and tokens[0].isdigit()
                          or len(tokens) == num_columns):
            continue  # count or names line
        if len(tokens) != num_columns + 1:
            raise ValueError(
                f'{path}: line {lineno}: expected {num_columns + 1} columns '
                f'(image name and {what}), got {len(tokens)}')
        table[tokens[0]] = (lineno, tokens[1:])
    return table


@DATASETS.register_module()
class AttributeList(ImageListDataset):
    """Face images with N binary attributes from a text list (LFWA-style).

    The list holds one ``relative/path v_1 ... v_N`` line per image, values
    ``1`` (present) and ``-1`` or ``0`` (absent), optionally preceded by a
    count line and a names line (see :func:`read_attribute_table`).

    Each data info holds ``img_path``, ``gt_label`` (int64 indices of the
    present attributes, the mmpretrain multi-label convention),
    ``attributes`` ((N,) uint8 0/1) and, once fetched, ``img`` (H, W, 3)
    uint8 BGR with ``img_shape``/``ori_shape``. ``metainfo``:
    ``attribute_names`` and ``classes`` (the same names).

    Args:
        ann_file (str): the list, relative to ``data_root``.
        data_root (str): data root. Defaults to ''.
        data_prefix (str | dict): image folder. Defaults to ''.
        attribute_names (Sequence[str], optional): names when the list has
            no names line (or to rename them). Defaults to None.
        pipeline (Sequence): transforms. Defaults to ().
        load_image (bool): decode ``img`` when fetched. Defaults to True.
        **kwargs: more :class:`ImageListDataset` arguments.
    """
    VALUES = {'1': 1, '-1': 0, '0': 0}

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix='',
                 attribute_names: Optional[Sequence[str]] = None,
                 pipeline: Sequence = (),
                 load_image: bool = True,
                 **kwargs) -> None:
        self.attribute_names = (
            tuple(attribute_names) if attribute_names is not None else None)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=pipeline,
            load_image=load_image,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the attribute list."""
        self._require_file(
            self.ann_file, 'an attribute list of "image v_1 ... v_N" lines')
        names, rows = read_attribute_table(self.ann_file, self.VALUES,
                                           self.attribute_names)
        self._metainfo['attribute_names'] = names
        self._metainfo.setdefault('classes', names)
        return [self._record(name, vec) for name, vec in rows]

    def _record(self, name: str, attributes: np.ndarray) -> dict:
        return dict(
            img_path=self._image_path(name),
            gt_label=np.flatnonzero(attributes).astype(np.int64),
            attributes=attributes)

    def get_cat_ids(self, idx: int) -> List[int]:
        """Indices of the attributes present in image ``idx``."""
        return self.get_data_info(idx)['gt_label'].tolist()

    def get_gt_labels(self) -> np.ndarray:
        """(num_images, num_attributes) uint8 0/1 matrix of all labels."""
        return np.stack([
            self.get_data_info(i)['attributes'] for i in range(len(self))
        ])


@DATASETS.register_module()
class CelebAAttributes(AttributeList):
    """CelebA's 40 binary attributes with the official partition.

    Files (paths relative to ``data_root``; the defaults are the flat
    layout of torchvision/Kaggle copies, the official release keeps them
    in ``Anno/``, ``Eval/`` and ``Img/``):

    - ``list_attr_celeba.txt``: line 1 the image count, line 2 the 40
      names, then ``000001.jpg`` and 40 values in {1, -1};
    - ``list_eval_partition.txt``: ``000001.jpg 0`` with 0/1/2 =
      train/val/test (162770/19867/19962 images);
    - optional ``list_landmarks_align_celeba.txt``: count line, names
      line, then ``000001.jpg`` and 10 integers (x, y of
      :data:`CELEBA_LANDMARK_NAMES`) for the aligned images.

    Data infos are those of :class:`AttributeList`, plus ``landmarks``
    (5, 2) float32 and ``landmarks_visible`` (5,) bool with a landmarks
    file (``metainfo`` then has ``num_landmarks`` 5 and ``flip_indices``).

    Args:
        data_root (str): CelebA root.
        split (str): 'train', 'val', 'test' or 'all'. Defaults to 'train'.
        ann_file (str): attribute list. Defaults to 'list_attr_celeba.txt'.
        partition_file (str): partition list (unused for 'all').
            Defaults to 'list_eval_partition.txt'.
        landmarks_file (str, optional): aligned landmarks list. Defaults to
            None.
        data_prefix (str | dict): image folder. Defaults to
            'img_align_celeba'.
        **kwargs: more :class:`AttributeList` arguments.
    """
    VALUES = {'1': 1, '-1': 0}

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: str = 'list_attr_celeba.txt',
                 partition_file: str = 'list_eval_partition.txt',
                 landmarks_file: Optional[str] = None,
                 data_prefix='img_align_celeba',
                 **kwargs) -> None:
        if split not in (*CELEBA_SPLITS, 'all'):
            raise ValueError(f"CelebAAttributes: split must be 'train', "
                             f"'val', 'test' or 'all', got {split!r}")
        self.split = split
        self.partition_file = osp.join(data_root, partition_file)
        self.landmarks_file = (
            osp.join(data_root, landmarks_file) if landmarks_file else None)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read attributes, keep the split, attach landmarks."""
        records = super().load_data_list()
        names = [osp.basename(r['img_path']) for r in records]
        if self.split != 'all':
            self._require_file(self.partition_file,
                               'a CelebA partition list "000001.jpg 0|1|2"')
            part = read_name_table(self.partition_file, 1, 'partition')
            keep = CELEBA_SPLITS[self.split]
            selected = []
            for name, rec in zip(names, records):
                lineno, cols = part.get(name, (None, None))
                if cols is None:
                    raise ValueError(f'{self.partition_file}: no partition '
                                     f'for {name} of {self.ann_file}')
                if cols[0] not in CELEBA_SPLITS.values():
                    raise ValueError(
                        f'{self.partition_file}: line {lineno}: partition '
                        f'{cols[0]!r}, expected 0, 1 or 2')
                if cols[0] == keep:
                    selected.append((name, rec))
            names, records = zip(*selected) if selected else ((), ())
            records = list(records)
        if self.landmarks_file:
            self._attach_landmarks(names, records)
        return records

    def _attach_landmarks(self, names, records) -> None:
        self._require_file(self.landmarks_file,
                           'CelebA landmarks "000001.jpg x1 y1 ... x5 y5"')
        table = read_name_table(self.landmarks_file, 10, '10 coordinates')
        for name, rec in zip(names, records):
            lineno, cols = table.get(name, (None, None))
            if cols is None:
                raise ValueError(f'{self.landmarks_file}: no landmarks for '
                                 f'{name}')
            rec['landmarks'] = parse_floats(
                cols, f'{self.landmarks_file}: line {lineno}',
                'landmark coordinates').reshape(5, 2)
            rec['landmarks_visible'] = np.ones(5, bool)
        self._metainfo.update(
            num_landmarks=5,
            landmark_names=CELEBA_LANDMARK_NAMES,
            flip_indices=CELEBA5_FLIP_INDICES)

    def extra_repr(self) -> List[str]:
        """Split and files for ``repr``."""
        return super().extra_repr() + [f'Split: \t{self.split}']
