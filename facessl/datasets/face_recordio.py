"""FaceRecordIO: insightface ``train.rec``/``train.idx`` face packs.

Reads MS1MV2/MS1MV3/Glint360K/WebFace42M-style packs without mxnet
through :mod:`facessl.datasets.recordio`.

Colour: insightface's packs hold ordinary JPEGs. Their training code
decodes them with ``mx.image.imdecode`` (RGB out) and their inference code
feeds ``cv2.imread`` + ``COLOR_BGR2RGB``, which agree only if a standard
decoder gives true colours; insightface's maintainer confirms it ("It's
jpg encoded binary data. All training processes use RGB", insightface
issue #1062). The "BGR packs" often reported come from unpackers that
decode with OpenCV (BGR) and save with PIL (which assumes RGB). So
``channel_order='rgb'`` (true colours, OpenCV decodes to correct BGR) is
the default; ``'bgr'`` is for packs whose writer encoded a BGR array as if
it were RGB (e.g. ``PIL.Image.fromarray(cv2_img)``): their R and B planes
are swapped and the reader swaps them back.
"""
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmpretrain.datasets import BaseDataset

from facessl.registry import DATASETS

from .face_pack import read_layout, scan_labels
from .image_decode import decode_bgr
from .recordio import IndexedRecordReader, first_label, unpack_header

CHANNEL_ORDERS = ('rgb', 'bgr')


def decode_image(data: bytes, where: str, channel_order: str = 'rgb'):
    """Decode an image record's bytes to (H, W, 3) uint8 BGR.

    Args:
        data (bytes): encoded image (JPEG, PNG, ... readable by OpenCV).
        where (str): ``'<file>: record <key>'`` for errors.
        channel_order (str): ``'rgb'`` if the stored image has true colours,
            ``'bgr'`` if its R and B planes are swapped. Defaults to 'rgb'.

    Returns:
        np.ndarray: the image in BGR order.

    Raises:
        ValueError: OpenCV cannot decode ``data``.
    """
    img = decode_bgr(data, where)
    if channel_order == 'bgr':
        img = np.ascontiguousarray(img[..., ::-1])
    return img


def encode_image(img: np.ndarray,
                 encoding: str = '.jpg',
                 quality: int = 95,
                 channel_order: str = 'rgb') -> bytes:
    """Encode a BGR image for a pack, like ``mx.recordio.pack_img``.

    Args:
        img (np.ndarray): (H, W, 3) uint8 BGR image.
        encoding (str): ``'.jpg'`` or ``'.png'`` (lossless). Defaults to
            '.jpg'.
        quality (int): JPEG quality 1..100 (PNG ignores it). Defaults
            to 95.
        channel_order (str): ``'rgb'`` stores true colours, ``'bgr'``
            swaps the R and B planes (see the module docstring). Defaults
            to 'rgb'.

    Returns:
        bytes: the encoded image.
    """
    if encoding not in ('.jpg', '.png'):
        raise ValueError(f"encoding must be '.jpg' or '.png', got "
                         f'{encoding!r}')
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f'channel_order must be one of {CHANNEL_ORDERS}, '
                         f'got {channel_order!r}')
    if channel_order == 'bgr':
        img = np.ascontiguousarray(img[..., ::-1])
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] \
        if encoding == '.jpg' else []
    ok, buf = cv2.imencode(encoding, img, params)
    if not ok:
        raise ValueError(f'cv2.imencode({encoding!r}) failed for an image '
                         f'of shape {img.shape}')
    return buf.tobytes()


@DATASETS.register_module()
class FaceRecordIO(BaseDataset):
    """Face images with identity labels from an insightface RecordIO pack.

    The data list only holds each image's record key and labels (cheap to
    pickle into workers); :meth:`prepare_data` reads and decodes the image
    into ``img`` (H, W, 3) uint8 BGR with ``img_shape``/``ori_shape``, so a
    pipeline starts without ``LoadImageFromFile``. The ``.rec`` file is
    opened lazily in each dataloader worker.

    Image keys come from record 0 (``range(1, label[0])``, as insightface's
    ``MXFaceDataset``) or, for a pack without header record, from every key
    of the index. Labels come from the identity records (one read per
    identity) when they tile the image keys, else from every image
    record's header; each fetched record's label is checked against it.

    Each data info holds ``record_key``, ``gt_label`` (contiguous 0..N-1),
    ``identity`` (the pack's label, an int), ``sample_idx`` and, when
    fetched, ``img``, ``img_shape``, ``ori_shape``. ``metainfo['classes']``:
    the pack's labels as strings (``'0'``, ``'1'``, ...), sorted
    numerically; ``gt_label`` indexes them, so non-contiguous pack labels
    become contiguous. If ``classes`` is given, the pack's labels are used
    as indices into it instead.

    Args:
        data_root (str): folder of the pack. Defaults to ''.
        rec_file (str): ``.rec`` file, relative to ``data_root`` unless
            absolute. Defaults to 'train.rec'.
        idx_file (str, optional): ``.idx`` file, relative to ``data_root``
            unless absolute. Defaults to ``rec_file`` with suffix ``.idx``.
        channel_order (str): how the pack's images store colour: ``'rgb'``
            true colours (insightface packs) or ``'bgr'`` R/B planes
            swapped. Defaults to 'rgb'.
        pipeline (Sequence): transforms. Defaults to ().
        **kwargs: ``metainfo``, ``classes``, ``indices``,
            ``serialize_data``, ``test_mode``, ``lazy_init``,
            ``max_refetch`` of :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 data_root: str = '',
                 rec_file: str = 'train.rec',
                 idx_file: Optional[str] = None,
                 channel_order: str = 'rgb',
                 pipeline: Sequence = (),
                 **kwargs) -> None:
        if channel_order not in CHANNEL_ORDERS:
            raise ValueError(f'FaceRecordIO: channel_order must be one of '
                             f'{CHANNEL_ORDERS}, got {channel_order!r}')
        self.channel_order = channel_order
        if idx_file is None:
            idx_file = osp.splitext(rec_file)[0] + '.idx'
        self.idx_file = idx_file if osp.isabs(idx_file) else osp.join(
            data_root, idx_file)
        self.reader = None
        super().__init__(
            ann_file=rec_file, data_root=data_root, pipeline=pipeline,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Open the pack, read its layout and every image's label."""
        self.reader = IndexedRecordReader(self.ann_file, self.idx_file)
        keys, ranges = read_layout(self.reader)
        if not len(keys):
            raise ValueError(f'{self.ann_file}: the pack has no image '
                             'records')
        labels = self._labels(keys, ranges)
        bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0))
        if bad.size:
            raise ValueError(f'{self.reader.where(int(keys[bad[0]]))} has '
                             f'label {labels[bad[0]]}, expected a '
                             'non-negative integer class id')
        labels = labels.astype(np.int64)
        if 'classes' in self._metainfo:
            num = len(self._metainfo['classes'])
            gt = labels
            bad = np.flatnonzero(labels >= num)
            if bad.size:
                raise ValueError(
                    f'{self.reader.where(int(keys[bad[0]]))} has label '
                    f'{labels[bad[0]]}, expected 0..{num - 1} ({num} '
                    'classes given)')
        else:
            values, gt = np.unique(labels, return_inverse=True)
            self._metainfo['classes'] = tuple(str(v) for v in values)
        self.reader.close()  # workers reopen their own handle
        return [
            dict(record_key=k, gt_label=g, identity=i)
            for k, g, i in zip(keys.tolist(), gt.tolist(), labels.tolist())
        ]

    def _labels(self, keys: np.ndarray, ranges: Optional[np.ndarray]):
        """Labels of ``keys``: per identity range if they tile the keys."""
        if ranges is not None:
            starts, ends = ranges[:, 0], ranges[:, 1]
            order = np.argsort(starts)
            tiled = (starts[order][0] == keys[0] and ends[order][-1] ==
                     keys[-1] + 1 and
                     np.array_equal(starts[order][1:], ends[order][:-1]))
            if tiled:
                per_id = scan_labels(self.reader, starts)
                return _fill(keys, starts, ends, per_id)
        return scan_labels(self.reader, keys)

    def prepare_data(self, idx: int):
        """Read and decode image ``idx``, then run the pipeline."""
        info = self.get_data_info(idx)
        key = info['record_key']
        where = self.reader.where(key)
        header, data = unpack_header(self.reader.read(key), where)
        if first_label(header) != info['identity']:
            raise ValueError(f'{where} has label {first_label(header)}, but '
                             'the identity records of the pack give '
                             f'{info["identity"]}')
        img = decode_image(data, where, self.channel_order)
        info.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return self.pipeline(info)

    def extra_repr(self) -> List[str]:
        """Index file and colour order for ``repr``."""
        return [f'Index file: \t{self.idx_file}',
                f'Channel order: \t{self.channel_order}']


def _fill(keys: np.ndarray, starts: np.ndarray, ends: np.ndarray,
          values: np.ndarray) -> np.ndarray:
    """``values[j]`` for each key in ``[starts[j], ends[j])``."""
    order = np.argsort(starts)
    j = np.searchsorted(starts[order], keys, side='right') - 1
    return values[order][j]
