"""FaceImageFolder: face images on disk, one folder per identity or a list.

Three layouts, all relative to ``data_root``:

- no ``ann_file``: ``data_root/<identity>/<image>``; sorted identity
  folder names get contiguous labels 0..N-1 (``metainfo['classes']`` keeps
  the names). Hidden entries (names starting with ``'.'``, e.g.
  ``.ipynb_checkpoints/``, ``.DS_Store``) are skipped.
- ``ann_file`` ending in ``.txt`` (or anything but ``.json``): one
  ``relative/path label`` line per image (two whitespace-separated
  columns, no spaces in paths; blank lines and ``#`` comments skipped).
  Labels that are exactly the integers 0..N-1 are used as they are, with
  class names from the images' folders as before. Any other labels
  (strings, non-contiguous integers) are identity names: sorted (integers
  numerically) and mapped to 0..N-1, ``metainfo['classes']`` keeping the
  names in label order. With ``classes`` given, labels that are all class
  names map to their positions (so a checkpoint's ``classes`` maps a new
  list the same way); otherwise integer labels index ``classes``.
  MMEngine's Runner saves ``metainfo`` (so ``classes``) as
  ``meta['dataset_meta']`` in every checkpoint.
- ``ann_file`` ending in ``.json``: the annotation written by
  :func:`facessl.datasets.synthetic.export.write_synthetic_faces`
  (``tools/misc/make_synthetic_faces.py``): image path and label plus
  landmarks, visibility, attributes, pose and light per image.
"""
import json
import os
import os.path as osp
import re
from typing import List, Optional, Sequence

import numpy as np
from mmengine.fileio import get
from mmpretrain.datasets import BaseDataset

from facessl.registry import DATASETS

from .image_decode import decode_bgr

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif',
                  '.tiff', '.webp')
_ARRAY_KEYS = dict(
    landmarks=np.float32,
    landmarks_visible=bool,
    dense_landmarks=np.float32,
    attributes=np.uint8,
    pose=np.float32)


def load_bgr(path: str, record: Optional[str] = None) -> np.ndarray:
    """Read an image as (H, W, 3) uint8 BGR, like ``mmcv.imread``.

    Args:
        path (str): file path (any MMEngine file backend).
        record (str, optional): where the path came from, for errors.

    Returns:
        np.ndarray: the decoded image.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty or not an image OpenCV can decode.
    """
    where = f' ({record})' if record else ''
    try:
        data = get(path)
    except FileNotFoundError:
        raise FileNotFoundError(f'{path}: image file not found{where}')
    return decode_bgr(data, f'{path}{where}')


@DATASETS.register_module()
class FaceImageFolder(BaseDataset):
    """Face images on disk with identity labels (and optional landmarks).

    Images are read in :meth:`prepare_data` (not in ``get_data_info``, so
    label queries stay cheap) into ``img`` (H, W, 3) uint8 BGR with
    ``img_shape``/``ori_shape``; a pipeline therefore starts without
    ``LoadImageFromFile``, like with :class:`SyntheticFaces`. Set
    ``load_image=False`` to leave loading to the pipeline.

    Each data info holds ``img_path``, ``gt_label`` and, from a JSON
    annotation, ``landmarks`` (K, 2) float32, ``landmarks_visible``,
    ``attributes``, ``pose``, ``light`` and ``identity`` when present.
    ``metainfo``: ``classes`` and, from a JSON annotation, its
    ``attribute_names``, ``num_landmarks`` and ``flip_indices``.

    Args:
        data_root (str): the root folder.
        ann_file (str, optional): list file or JSON annotation, relative to
            ``data_root`` unless absolute. Defaults to None (folders).
        pipeline (Sequence): transforms. Defaults to ().
        extensions (Sequence[str]): image suffixes in folder mode.
        load_image (bool): read ``img`` in :meth:`prepare_data`. Defaults
            to True.
        **kwargs: ``metainfo``, ``classes``, ``data_prefix``, ``indices``,
            ``serialize_data``, ``test_mode``, ``lazy_init``,
            ``max_refetch`` of :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: Optional[str] = None,
                 pipeline: Sequence = (),
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 load_image: bool = True,
                 **kwargs) -> None:
        if not isinstance(data_root, str) or not osp.isdir(data_root):
            raise FileNotFoundError(
                f'FaceImageFolder: data_root {data_root!r} is not an '
                'existing folder; expected one sub-folder per identity or '
                'the root of the paths in ann_file')
        self.extensions = tuple(e.lower() for e in extensions)
        self.load_image = bool(load_image)
        super().__init__(
            ann_file=ann_file or '',
            data_root=data_root,
            pipeline=pipeline,
            **kwargs)

    # --- loading the data list ---------------------------------------
    def load_data_list(self) -> List[dict]:
        """Read the folders, the list file or the JSON annotation."""
        if self.ann_file and not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'FaceImageFolder: ann_file {self.ann_file} not found; '
                'expected a "relative/path label" list or a JSON annotation')
        if not self.ann_file:
            records, classes = self._scan_folders()
        elif self.ann_file.lower().endswith('.json'):
            records, classes = self._read_json()
        else:
            records, classes = self._read_list()
        if not records:
            raise ValueError(f'FaceImageFolder: no images found in '
                             f'{self.ann_file or self.img_prefix}')
        if 'classes' not in self._metainfo:
            self._metainfo['classes'] = tuple(classes)
        num = len(self._metainfo['classes'])
        bad = [r for r in records if not 0 <= r['gt_label'] < num]
        if bad:
            raise ValueError(f'FaceImageFolder: {bad[0]["img_path"]} has '
                             f'label {bad[0]["gt_label"]}, expected 0..'
                             f'{num - 1} ({num} classes)')
        return records

    def _scan_folders(self):
        root = self.img_prefix
        classes = sorted(d for d in _visible(root)
                         if osp.isdir(osp.join(root, d)))
        if not classes:
            raise ValueError(f'FaceImageFolder: {root} has no sub-folders; '
                             'expected one folder per identity (or pass '
                             'ann_file)')
        records = []
        for label, name in enumerate(classes):
            for fname in sorted(_visible(osp.join(root, name))):
                if fname.lower().endswith(self.extensions):
                    records.append(
                        dict(
                            img_path=osp.join(root, name, fname),
                            gt_label=label))
        return records, classes

    def _read_list(self):
        records, raw = [], []
        with open(self.ann_file, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith('#'):
                    continue
                cols = line.split()
                if len(cols) != 2:
                    raise ValueError(
                        f'{self.ann_file}: line {lineno}: expected 2 '
                        f'columns "relative/path label", got {len(cols)}: '
                        f'{line!r}')
                records.append(
                    dict(img_path=osp.join(self.img_prefix, cols[0])))
                raw.append((cols[1], lineno))
        labels, names = _index_labels(raw, self._metainfo.get('classes'),
                                      self.ann_file)
        for rec, label in zip(records, labels):
            rec['gt_label'] = label
        return records, names or _names_from_paths(records)

    def _read_json(self):
        with open(self.ann_file, encoding='utf-8') as f:
            try:
                ann = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f'{self.ann_file}: not valid JSON: {err}')
        if not isinstance(ann, dict) or not isinstance(
                ann.get('images'), list):
            raise ValueError(f'{self.ann_file}: expected a JSON object with '
                             'an "images" list')
        for key in ('attribute_names', 'num_landmarks', 'flip_indices'):
            if key in ann and key not in self._metainfo:
                value = ann[key]
                self._metainfo[key] = (
                    tuple(value) if isinstance(value, list) else value)
        records = []
        for i, item in enumerate(ann['images']):
            for key in ('path', 'label'):
                if key not in item:
                    raise ValueError(f'{self.ann_file}: record {i} has no '
                                     f'"{key}" key; expected "path" and '
                                     '"label"')
            rec = dict(
                img_path=osp.join(self.img_prefix, item['path']),
                gt_label=int(item['label']))
            for key, dtype in _ARRAY_KEYS.items():
                if key in item:
                    rec[key] = np.asarray(item[key], dtype)
            if 'light' in item:
                light = dict(item['light'])
                light['direction'] = np.asarray(light['direction'],
                                                np.float32)
                rec['light'] = light
            if 'identity' in item:
                rec['identity'] = int(item['identity'])
            records.append(rec)
        classes = ann.get('classes') or _names_from_paths(records)
        return records, classes

    # --- fetching -----------------------------------------------------
    def prepare_data(self, idx: int):
        """Read image ``idx`` into ``img`` and run the pipeline."""
        info = self.get_data_info(idx)
        if self.load_image:
            img = load_bgr(
                info['img_path'],
                f'record {idx} of {self.ann_file or self.img_prefix}')
            info.update(img=img, img_shape=img.shape[:2],
                        ori_shape=img.shape[:2])
        return self.pipeline(info)


def _visible(folder: str) -> List[str]:
    """Entries of ``folder`` whose names do not start with ``'.'``.

    Hidden entries (``.ipynb_checkpoints/``, ``.DS_Store``, editor and
    sync files) are skipped, as MMEngine's ``list_dir_or_file`` does for
    mmpretrain's ``CustomDataset``: a hidden folder taken as an identity
    would shift every real label by one.
    """
    return [name for name in os.listdir(folder) if not name.startswith('.')]


def _names_from_paths(records: List[dict]) -> List[str]:
    """Class names for list labels: the shared parent folder, else the id.

    Args:
        records (list[dict]): records with ``img_path`` and ``gt_label``.

    Returns:
        list[str]: one name per label 0..max.
    """
    folders = {}
    for rec in records:
        folders.setdefault(rec['gt_label'], set()).add(
            osp.basename(osp.dirname(rec['img_path'])))
    top = max(folders) if folders else -1
    return [
        next(iter(folders[k])) if len(folders.get(k, ())) == 1 else str(k)
        for k in range(top + 1)
    ]


def _index_labels(raw: List[tuple], classes: Optional[Sequence[str]],
                  where: str) -> tuple:
    """Map list-file labels to class indices.

    Args:
        raw (list[tuple]): ``(label string, line number)`` per image.
        classes (Sequence[str], optional): given class names.
        where (str): the list file, for errors.

    Returns:
        tuple[list[int], list[str] | None]: the index of each label and the
        class names, or None where the labels already are indices (names
        then come from folders or ``classes``).
    """
    ints = None
    if all(_is_int(label) for label, _ in raw):
        ints = {label: int(label) for label, _ in raw}
    if classes is not None:
        names = {str(c): i for i, c in enumerate(classes)}
        if all(label in names for label, _ in raw):
            return [names[label] for label, _ in raw], None
        if ints is None:
            unknown = [(lb, n) for lb, n in raw if lb not in names]
            label, lineno = next(
                ((lb, n) for lb, n in unknown if not _is_int(lb)),
                unknown[0])
            what = ('is not an integer index and not one of the '
                    f'{len(classes)} classes' if not _is_int(label) else
                    'is not a class name, but other lines use class names; '
                    'use names or integer indices, not both')
            raise ValueError(f'{where}: line {lineno}: label {label!r} '
                             f'{what}')
        return [ints[label] for label, _ in raw], None
    if ints is not None:
        values = sorted(set(ints.values()))
        if values == list(range(len(values))):
            return [ints[label] for label, _ in raw], None
        spelling = {}
        for label, _ in raw:
            spelling.setdefault(ints[label], label)
        names = [spelling[v] for v in values]
        index = {v: i for i, v in enumerate(values)}
        return [index[ints[label]] for label, _ in raw], names
    names = sorted({label for label, _ in raw})
    index = {name: i for i, name in enumerate(names)}
    return [index[label] for label, _ in raw], names


def _is_int(text: str) -> bool:
    """True for a plain decimal integer (not ``'1_0'`` or ``'٣'``)."""
    return re.fullmatch(r'-?[0-9]+', text) is not None
