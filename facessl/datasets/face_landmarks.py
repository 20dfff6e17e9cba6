"""Face-landmark data sets: COCO keypoint json, 300-W ``.pts``, WFLW lists.

Every data info holds ``img_path``, ``landmarks`` (K, 2) float32 pixel
(x, y) coordinates (0-based: pixel centres at integers), ``landmarks_visible``
(K,) bool, ``bbox`` (4,) float32 ``[x1, y1, x2, y2]`` and, once fetched,
``img`` (H, W, 3) uint8 BGR with ``img_shape``/``ori_shape``.
``metainfo``: ``num_landmarks`` and ``flip_indices`` (mirror partners for
horizontal flips; known for 5, 68 (iBUG) and 98 (WFLW) points, see
:mod:`facessl.datasets.landmark_layouts`).
"""
import contextlib
import io
import json
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from pycocotools.coco import COCO

from facessl.registry import DATASETS

from .face_folder import IMG_EXTENSIONS
from .image_list import (ImageListDataset, bbox_of_points, parse_floats,
                         read_rows)
from .landmark_layouts import check_flip_indices, default_flip_indices

#: WFLW's six binary attribute flags, in list order.
WFLW_ATTRIBUTE_NAMES = ('pose', 'expression', 'illumination', 'make-up',
                        'occlusion', 'blur')
#: 300-W subsets (folders below the data root) of the usual splits:
#: 3148 training faces, the 554 "common" and 135 "challenging" test faces
#: ("full" = both), and the 600 faces of the official 300-W test set.
SPLITS_300W = dict(
    train=('afw', 'helen/trainset', 'lfpw/trainset'),
    common=('helen/testset', 'lfpw/testset'),
    challenging=('ibug', ),
    full=('helen/testset', 'lfpw/testset', 'ibug'),
    test=('300W/01_Indoor', '300W/02_Outdoor'))


class _LandmarkDataset(ImageListDataset):
    """Sets ``num_landmarks`` and checked ``flip_indices`` metainfo."""

    def _set_layout(self, num: int, flip: Optional[Sequence[int]]) -> None:
        flip = default_flip_indices(num) if flip is None else flip
        if flip is not None:
            flip = check_flip_indices(flip, num, type(self).__name__)
        self._metainfo.update(num_landmarks=num, flip_indices=flip)


@DATASETS.register_module()
class CocoFaceLandmarks(_LandmarkDataset):
    """One face per COCO keypoint annotation, read with pycocotools.

    Annotations have ``image_id``, ``keypoints`` ``[x, y, v] * K``
    (v: 0 not labelled, 1 labelled but not visible, 2 labelled and
    visible), ``num_keypoints`` and ``bbox`` ``[x, y, w, h]``; the
    category's ``keypoints`` (names) and ``skeleton`` (1-based pairs) go
    to ``metainfo`` as ``landmark_names`` and 0-based ``skeleton``.
    Crowd annotations are skipped, and faces without labelled points with
    ``skip_empty``.

    Data infos add ``img_id``, ``ann_id`` and ``landmarks_labelled`` (K,)
    bool (v > 0) to the module's keys; ``landmarks_visible`` is v == 2 and
    ``bbox`` comes from the annotation (else the labelled points).

    Args:
        ann_file (str): the COCO json, relative to ``data_root``.
        data_root (str): data root. Defaults to ''.
        data_prefix (str | dict): folder of the images' ``file_name``.
            Defaults to ''.
        num_landmarks (int, optional): K every annotation must have;
            defaults to the category's keypoint count.
        flip_indices (Sequence[int], optional): mirror partners; defaults
            to the known layout of K points (68 assumed iBUG).
        skip_empty (bool): drop faces without labelled points. Defaults to
            True.
        **kwargs: more :class:`ImageListDataset` arguments.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix='',
                 num_landmarks: Optional[int] = None,
                 flip_indices: Optional[Sequence[int]] = None,
                 skip_empty: bool = True,
                 **kwargs) -> None:
        self.num_landmarks = num_landmarks
        self.flip_indices = flip_indices
        self.skip_empty = bool(skip_empty)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def _load_coco(self) -> COCO:
        self._require_file(self.ann_file, 'a COCO keypoint json')
        with open(self.ann_file, encoding='utf-8') as f:
            try:
                ann = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f'{self.ann_file}: not valid JSON: {err}')
        if not isinstance(ann, dict) or not all(
                isinstance(ann.get(k), list)
                for k in ('images', 'annotations', 'categories')):
            raise ValueError(f'{self.ann_file}: expected a COCO object with '
                             '"images", "annotations" and "categories" '
                             'lists')
        coco = COCO()
        coco.dataset = ann
        with contextlib.redirect_stdout(io.StringIO()):
            coco.createIndex()
        return coco

    def load_data_list(self) -> List[dict]:
        """Index the json and make one record per face annotation."""
        coco = self._load_coco()
        cats = [c for c in coco.dataset['categories'] if c.get('keypoints')]
        names = tuple(cats[0]['keypoints']) if cats else None
        num = self.num_landmarks or (len(names) if names else None)
        if num is None:
            raise ValueError(f'{self.ann_file}: no category lists its '
                             'keypoints; pass num_landmarks')
        records = []
        for ann_id in sorted(coco.getAnnIds()):
            ann = coco.anns[ann_id]
            if ann.get('iscrowd', 0):
                continue
            rec = self._parse_ann(coco, ann, num)
            if rec['landmarks_labelled'].any() or not self.skip_empty:
                records.append(rec)
        self._set_layout(num, self.flip_indices)
        if names is not None and len(names) == num:
            self._metainfo['landmark_names'] = names
            self._metainfo['skeleton'] = tuple(
                (int(a) - 1, int(b) - 1)
                for a, b in cats[0].get('skeleton') or ())
        return records

    def _parse_ann(self, coco: COCO, ann: dict, num: int) -> dict:
        img_id = ann.get('image_id')
        img = coco.imgs.get(img_id)
        where = f'{self.ann_file}: annotation {ann.get("id")}'
        if img is None or 'file_name' not in img:
            raise ValueError(f'{where}: image_id {img_id} has no image '
                             'entry with a file_name')
        where += f' of image {img_id} ({img["file_name"]})'
        kpts = ann.get('keypoints') or []
        if len(kpts) != 3 * num:
            raise ValueError(
                f'{where} has {len(kpts)} keypoint values, expected '
                f'{3 * num} ({num} landmarks x [x, y, v])')
        kpts = parse_floats(kpts, where, 'keypoints').reshape(num, 3)
        labelled = kpts[:, 2] > 0
        rec = dict(
            img_path=self._image_path(img['file_name']),
            img_id=img_id,
            ann_id=ann.get('id'),
            landmarks=np.ascontiguousarray(kpts[:, :2]),
            landmarks_visible=kpts[:, 2] == 2,
            landmarks_labelled=labelled)
        if ann.get('bbox'):
            x, y, w, h = parse_floats(ann['bbox'], where, 'bbox values')
            rec['bbox'] = np.array([x, y, x + w, y + h], np.float32)
        elif labelled.any():
            rec['bbox'] = bbox_of_points(kpts[labelled, :2])
        else:
            rec['bbox'] = np.zeros(4, np.float32)
        return rec


def read_pts(path: str, num_points: Optional[int] = None) -> np.ndarray:
    """Read an iBUG ``.pts`` file as written, (K, 2) float32.

    Format::

        version: 1
        n_points:  68
        {
        x y         (K lines)
        }

    Args:
        path (str): the file.
        num_points (int, optional): expected K. Defaults to None.

    Returns:
        np.ndarray: (K, 2) coordinates as in the file.
    """
    with open(path, encoding='utf-8') as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    head = dict(ln.split(':', 1) for ln in lines[:2] if ':' in ln)
    count = head.get('n_points', '').strip()
    if (len(head) != 2 or not count.isdigit() or len(lines) < 4
            or lines[2] != '{' or lines[-1] != '}'):
        raise ValueError(f'{path}: not a .pts file; expected "version: 1", '
                         '"n_points: K", "{", K "x y" lines and "}"')
    rows = [ln.split() for ln in lines[3:-1]]
    if len(rows) != int(count):
        raise ValueError(f'{path}: n_points is {count} but {len(rows)} '
                         'point lines follow')
    if num_points is not None and len(rows) != num_points:
        raise ValueError(f'{path}: has {len(rows)} points, expected '
                         f'{num_points}')
    for i, row in enumerate(rows):
        if len(row) != 2:
            raise ValueError(f'{path}: point {i} has {len(row)} values, '
                             'expected "x y"')
    return parse_floats([v for row in rows for v in row], path,
                        'point coordinates').reshape(-1, 2)


@DATASETS.register_module()
class Landmarks300W(_LandmarkDataset):
    """300-W style faces: images with an iBUG ``.pts`` file beside them.

    Images are listed by ``ann_file`` (one path relative to ``data_root``
    per line) or found by scanning ``subsets`` (folders below
    ``data_root``, recursively; an image counts when ``<stem>.pts`` sits
    next to it), by default the folders of ``split`` in
    :data:`SPLITS_300W`. ``.pts`` coordinates are 1-based (Matlab, as
    menpo reads them) and are shifted to 0-based with ``one_based``.
    ``bbox`` is the tight box of the points; all points are visible.

    Args:
        data_root (str): 300-W root (holding afw/, helen/, lfpw/, ibug/).
        split (str): a key of :data:`SPLITS_300W`. Defaults to 'common'.
        subsets (Sequence[str], optional): folders to scan instead.
        ann_file (str, optional): image list instead of scanning.
        num_landmarks (int): K in every file. Defaults to 68.
        one_based (bool): subtract 1 from the file's coordinates.
            Defaults to True.
        extensions (Sequence[str]): image suffixes when scanning.
        flip_indices (Sequence[int], optional): mirror partners; defaults
            to iBUG's for 68 points.
        **kwargs: more :class:`ImageListDataset` arguments.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'common',
                 subsets: Optional[Sequence[str]] = None,
                 ann_file: Optional[str] = None,
                 num_landmarks: int = 68,
                 one_based: bool = True,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 flip_indices: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        if subsets is None and ann_file is None and split not in SPLITS_300W:
            raise ValueError(f'Landmarks300W: split must be one of '
                             f'{sorted(SPLITS_300W)}, got {split!r}')
        self.split = split
        self.subsets = tuple(subsets or SPLITS_300W.get(split, ()))
        self.num_landmarks = int(num_landmarks)
        self.one_based = bool(one_based)
        self.extensions = tuple(e.lower() for e in extensions)
        self.flip_indices = flip_indices
        super().__init__(
            ann_file=ann_file or '', data_root=data_root, **kwargs)

    def _listed_images(self) -> List[str]:
        if self.ann_file:
            self._require_file(self.ann_file, 'one image path per line')
            return [
                osp.join(self.data_root, tokens[0])
                for _, tokens in read_rows(self.ann_file)
            ]
        images = []
        for subset in self.subsets:
            folder = osp.join(self.data_root, subset)
            if not osp.isdir(folder):
                raise FileNotFoundError(f'Landmarks300W: subset folder '
                                        f'{folder} not found')
            for root, dirs, files in os.walk(folder):
                # hidden entries (.ipynb_checkpoints/, ._x.jpg) are copies
                dirs[:] = [d for d in dirs if not d.startswith('.')]
                files = [f for f in files if not f.startswith('.')]
                names = set(files)
                images += [
                    osp.join(root, f) for f in files
                    if f.lower().endswith(self.extensions)
                    and osp.splitext(f)[0] + '.pts' in names
                ]
        return sorted(images)

    def load_data_list(self) -> List[dict]:
        """Pair every image with its ``.pts`` file."""
        records = []
        for img_path in self._listed_images():
            pts_path = osp.splitext(img_path)[0] + '.pts'
            if not osp.isfile(pts_path):
                raise FileNotFoundError(f'{pts_path}: landmarks of '
                                        f'{img_path} not found')
            points = read_pts(pts_path, self.num_landmarks)
            if self.one_based:
                points -= 1
            records.append(
                dict(
                    img_path=img_path,
                    pts_path=pts_path,
                    landmarks=points,
                    landmarks_visible=np.ones(len(points), bool),
                    bbox=bbox_of_points(points)))
        if not records:
            raise ValueError(f'Landmarks300W: no image with a .pts file in '
                             f'{self.ann_file or self.subsets} under '
                             f'{self.data_root}')
        self._set_layout(self.num_landmarks, self.flip_indices)
        return records


@DATASETS.register_module()
class WFLWLandmarks(_LandmarkDataset):
    """WFLW 98-point faces from the official annotation lists.

    Lines of ``list_98pt_rect_attr_{train,test}.txt`` hold 196 numbers
    (x0 y0 ... x97 y97), the face box ``x_min y_min x_max y_max``, six 0/1
    flags (:data:`WFLW_ATTRIBUTE_NAMES`) and the image path below
    ``WFLW_images`` (207 columns). Lines of 197 columns (points and path,
    as in the ``list_98pt_test`` subset files) are accepted; their box is
    the points' tight box and they carry no flags.

    Data infos add ``wflw_attributes`` (6,) uint8 when present;
    ``metainfo`` adds ``wflw_attribute_names``.

    Args:
        data_root (str): WFLW root.
        ann_file (str): the list. Defaults to the official test list.
        data_prefix (str | dict): image folder. Defaults to 'WFLW_images'.
        **kwargs: more :class:`ImageListDataset` arguments.
    """
    NUM_LANDMARKS = 98
    METAINFO = dict(wflw_attribute_names=WFLW_ATTRIBUTE_NAMES)

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'WFLW_annotations/list_98pt_rect_attr_'
                 'train_test/list_98pt_rect_attr_test.txt',
                 data_prefix='WFLW_images',
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Parse the list lines."""
        self._require_file(self.ann_file, 'WFLW lines of 196 coordinates, '
                           '4 box values, 6 flags and the image path')
        num = 2 * self.NUM_LANDMARKS
        records = []
        for lineno, tokens in read_rows(self.ann_file):
            where = f'{self.ann_file}: line {lineno}'
            if len(tokens) not in (num + 11, num + 1):
                raise ValueError(
                    f'{where}: expected {num + 11} columns (196 '
                    'coordinates, 4 box values, 6 flags, image path) or '
                    f'{num + 1} (coordinates, path), got {len(tokens)}')
            points = parse_floats(tokens[:num], where,
                                  'landmark coordinates').reshape(-1, 2)
            rec = dict(
                img_path=self._image_path(tokens[-1]),
                landmarks=points,
                landmarks_visible=np.ones(len(points), bool))
            if len(tokens) == num + 1:
                rec['bbox'] = bbox_of_points(points)
            else:
                rec['bbox'] = parse_floats(tokens[num:num + 4], where,
                                           'box values')
                flags = tokens[num + 4:num + 10]
                if any(f not in ('0', '1') for f in flags):
                    raise ValueError(f'{where}: attribute flags {flags}, '
                                     'expected 0 or 1')
                rec['wflw_attributes'] = np.array([int(f) for f in flags],
                                                  np.uint8)
            records.append(rec)
        self._set_layout(self.NUM_LANDMARKS, None)
        return records
