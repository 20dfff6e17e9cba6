"""What :class:`~facessl.apis.FaceEmbedder` accepts, as one list of faces.

Every input becomes a :class:`FaceInput`: a way to get the image as
(H, W, 3) uint8 **BGR** (as ``cv2.imread`` returns it), optional five
landmarks, and the row's ``source`` (image path or record id), ``label``
and extra columns for ``index.csv``. Accepted:

- an image path, or a sequence of paths and/or arrays;
- a numpy array (H, W, 3) BGR uint8, or (N, H, W, 3) for N faces;
- a folder: flat (its images, sorted, no labels) or one sub-folder per
  identity (:class:`~facessl.datasets.FaceImageFolder`, labels 0..N-1);
- a ``.txt`` list of ``relative/path label`` lines (FaceImageFolder);
- a verification ``.bin`` (:class:`~facessl.datasets.VerificationBin`);
- an insightface RecordIO ``.rec`` or a folder holding ``train.rec``
  (:class:`~facessl.datasets.FaceRecordIO`);
- an IJB-B/C folder with ``meta/`` and ``loose_crop/``
  (:class:`~facessl.datasets.IJBDataset`, aligned with its five points);
- any facessl data set object, with or without a pipeline.

A data set's own flip-test copies (records whose ``flip`` is True) are
skipped: the embedder flips every image itself. A data set item's
``landmarks5`` are used to align it unless it is already a 112 x 112
crop (as :class:`~facessl.datasets.IJBDataset` delivers them).
"""
import glob
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch

from facessl.datasets.face_folder import IMG_EXTENSIONS, load_bgr

#: Side of an aligned face crop (the ArcFace template).
CROP_SIZE = 112
#: Data info keys copied to the index (besides source and label).
INDEX_KEYS = ('set_name', 'pair_index', 'issame', 'template_id', 'media_id')


@dataclass
class FaceInput:
    """One face to embed.

    Attributes:
        load (Callable[[], tuple]): returns ``(image, landmarks5)``: the
            (H, W, 3) uint8 BGR image and a (5, 2) array or None.
        source (str): image path or record id.
        label (int, optional): identity label when known.
        extra (dict): more index columns (:data:`INDEX_KEYS`).
    """
    load: Callable[[], tuple]
    source: str
    label: Optional[int] = None
    extra: dict = field(default_factory=dict)


def _array_input(img: np.ndarray, source: str,
                 points: Optional[np.ndarray]) -> FaceInput:
    return FaceInput(lambda: (img, points), source)


def _path_input(path: str, points: Optional[np.ndarray]) -> FaceInput:
    return FaceInput(lambda: (load_bgr(path), points), path)


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMG_EXTENSIONS)


def dataset_for_path(path: str):
    """The facessl data set that reads ``path`` (see the module doc), or
    None for a flat folder of images or a single image file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a folder without images, identity folders, RecordIO or
            IJB meta files.
    """
    from facessl.datasets import (FaceImageFolder, FaceRecordIO, IJBDataset,
                                  VerificationBin)
    if not osp.exists(path):
        raise FileNotFoundError(f'{path}: no such image, folder or data set')
    low = path.lower()
    if osp.isfile(path):
        if low.endswith('.bin'):
            return VerificationBin(bin_files=path, flip_test=False)
        if low.endswith('.rec'):
            return FaceRecordIO(
                data_root=osp.dirname(path), rec_file=osp.basename(path))
        if low.endswith(('.txt', '.lst')):
            return FaceImageFolder(
                data_root=osp.dirname(path) or '.', ann_file=path)
        if _is_image(path):
            return None
        raise ValueError(f'{path}: expected an image ({IMG_EXTENSIONS}), a '
                         '.bin, a .rec or a .txt image list')
    meta = glob.glob(osp.join(path, 'meta', '*_face_tid_mid.txt'))
    if meta:
        name = osp.basename(meta[0]).split('_')[0].upper()
        return IJBDataset(data_root=path, name=name, flip_test=False)
    if osp.isfile(osp.join(path, 'train.rec')):
        return FaceRecordIO(data_root=path)
    entries = sorted(os.listdir(path))
    if any(osp.isdir(osp.join(path, e)) for e in entries):
        return FaceImageFolder(data_root=path)
    if any(_is_image(e) for e in entries):
        return None
    raise ValueError(f'{path}: found no images, identity sub-folders, '
                     'train.rec or IJB meta/ files')


def _dataset_image(item, where: str) -> np.ndarray:
    """(H, W, 3) uint8 BGR from a data set item (raw info or packed)."""
    if isinstance(item, dict) and isinstance(item.get('img'), np.ndarray):
        return item['img']
    inputs = item.get('inputs') if isinstance(item, dict) else None
    if isinstance(inputs, (list, tuple)) and inputs:
        inputs = inputs[0]  # a MultiView pipeline: its first view
    if isinstance(inputs, torch.Tensor) and inputs.dim() == 3:
        return np.ascontiguousarray(inputs.permute(1, 2, 0).cpu().numpy())
    raise ValueError(f'{where}: expected a data set item with an "img" '
                     'array or packed (C, H, W) "inputs"')


def _source_of(info: dict, dataset, idx: int) -> str:
    if info.get('img_path'):
        return str(info['img_path'])
    if 'record_key' in info:
        return f'{dataset.ann_file}#{info["record_key"]}'
    if 'set_name' in info and 'pair_index' in info:
        # image 2p or 2p + 1 of its file (sets hold two images per pair)
        image = 2 * info['pair_index'] + info['img_index'] % 2
        return f'{info["set_name"]}.bin#{image}'
    return f'{type(dataset).__name__}[{idx}]'


def dataset_inputs(dataset) -> List[FaceInput]:
    """One :class:`FaceInput` per record of a data set, flip copies
    skipped."""
    faces = []
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        if info.get('flip'):
            continue
        where = f'{type(dataset).__name__} record {idx}'

        def load(idx=idx, where=where):
            item = dataset[idx]
            img = _dataset_image(item, where)
            points = item.get('landmarks5') if isinstance(item, dict) \
                else None
            if img.shape[:2] == (CROP_SIZE, CROP_SIZE):
                points = None  # already an aligned crop (e.g. IJBDataset)
            return img, points

        label = info.get('gt_label')
        faces.append(
            FaceInput(load, _source_of(info, dataset, idx),
                      None if label is None else int(label),
                      {k: info[k] for k in INDEX_KEYS if k in info}))
    return faces


def collect_inputs(inputs, landmarks: Optional[Sequence] = None
                   ) -> List[FaceInput]:
    """Turn any accepted input (module doc) into a list of faces.

    Args:
        inputs: see the module docstring.
        landmarks (Sequence, optional): one (5, 2) array (x, y) or None
            per image, for image paths and arrays only.

    Raises:
        ValueError: ``landmarks`` does not have one entry per image, or
            an input is of no accepted kind.
    """
    if isinstance(inputs, np.ndarray) and inputs.ndim == 4:
        inputs = list(inputs)
    if isinstance(inputs, (str, os.PathLike, np.ndarray)):
        inputs = [inputs]
    if hasattr(inputs, 'get_data_info') and hasattr(inputs, '__len__'):
        if landmarks is not None:
            raise ValueError('landmarks are given per image path or array; '
                             'a data set brings its own')
        return dataset_inputs(inputs)
    inputs = list(inputs)
    if len(inputs) == 1 and isinstance(inputs[0], (str, os.PathLike)):
        path = os.fspath(inputs[0])
        dataset = dataset_for_path(path)
        if dataset is not None:
            return collect_inputs(dataset, landmarks)
        if osp.isdir(path):
            inputs = [osp.join(path, e) for e in sorted(os.listdir(path))
                      if _is_image(e)]
    if landmarks is not None and len(landmarks) != len(inputs):
        raise ValueError(f'got {len(landmarks)} landmark sets for '
                         f'{len(inputs)} images; expected one (or None) '
                         'per image')
    points = landmarks if landmarks is not None else [None] * len(inputs)
    faces = []
    for i, (item, pts) in enumerate(zip(inputs, points)):
        pts = None if pts is None else np.asarray(pts, np.float64)
        if isinstance(item, (str, os.PathLike)):
            faces.append(_path_input(os.fspath(item), pts))
        elif isinstance(item, np.ndarray):
            faces.append(_array_input(item, f'array[{i}]', pts))
        else:
            raise ValueError(f'input {i} is a {type(item).__name__}; '
                             'expected an image path or an (H, W, 3) uint8 '
                             'BGR array')
    return faces
