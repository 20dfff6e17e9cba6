"""Insightface verification ``.bin`` pair sets (LFW, CFP-FP, AgeDB-30, ...).

A ``.bin`` is a pickle of ``(bins, issame_list)``: ``bins`` holds the
encoded images (JPEG/PNG bytes), two per pair and consecutive, so pair
``p`` is ``bins[2p]`` vs ``bins[2p + 1]``; ``issame_list[p]`` says whether
both show the same person. Files made by insightface's Python 2 packers
(``src/data/lfw2pack.py``, ``agedb2pack2.py``, ``cfp2pack.py``) hold raw
file bytes (LFW) or the 1-D uint8 arrays of ``cv2.imencode`` (AgeDB,
CFP); Python 3 protocol-2 pickles spell bytes as
``_codecs.encode(text, 'latin1')``.

A pickle can run any importable callable while it loads, so a ``.bin``
from the internet is read by :class:`_BinUnpickler`, which resolves only
the globals those files need: numpy's own array/scalar reconstructors and
a latin-1-only ``_codecs.encode``. Anything else raises
:class:`UnsafePickleError` before it can be called.
"""
import io
import os.path as osp
import pickle
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.fileio import get
from mmpretrain.datasets import BaseDataset

from facessl.registry import DATASETS
from facessl.utils.fileio import atomic_write

from .image_decode import EXPECTED_IMAGE, decode_bgr


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a global that a verification ``.bin`` never
    needs (e.g. ``os.system``); nothing was called."""


def _latin1_encode(text, encoding='utf-8'):
    """``_codecs.encode`` as Python 3 protocol-2 pickles use it for bytes,
    limited to the latin-1 codec."""
    if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
        raise pickle.UnpicklingError(
            f'_codecs.encode is allowed only as encode(str, "latin1") '
            f'(how pickle stores bytes), got encode({type(text).__name__}, '
            f'{encoding!r})')
    return text.encode('latin1')


def _allowed_globals() -> dict:
    """(module, name) -> object for every global a ``.bin`` may name.

    The numpy callables are taken from numpy's own ``__reduce__`` results,
    so they are exactly the reconstructors numpy pickles with, under both
    the numpy 1 (``numpy.core``) and numpy 2 (``numpy._core``) spellings.
    """
    reconstruct = np.zeros(0).__reduce__()[0]
    scalar = np.bool_(True).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]
    allowed = {
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        ('_codecs', 'encode'): _latin1_encode,
    }
    for core in ('numpy.core', 'numpy._core'):
        allowed[(f'{core}.multiarray', '_reconstruct')] = reconstruct
        allowed[(f'{core}.multiarray', 'scalar')] = scalar
        allowed[(f'{core}.numeric', '_frombuffer')] = frombuffer
    return allowed


_ALLOWED_GLOBALS = _allowed_globals()


class _BinUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`_ALLOWED_GLOBALS`."""

    def __init__(self, file, path: str, **kwargs) -> None:
        super().__init__(file, **kwargs)
        self.path = path

    def find_class(self, module: str, name: str):
        """Return an allowed global; refuse any other without importing."""
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f'{self.path}: refused to load the global {module}.{name}; '
                'a verification .bin holds only image bytes, numpy uint8 '
                'arrays and bools, so it never needs it (this file may be '
                'malicious or is not a verification .bin)') from None


def _unpickle(data: bytes, path: str, encoding: str):
    try:
        return _BinUnpickler(
            io.BytesIO(data), path, encoding=encoding).load()
    except (UnsafePickleError, UnicodeDecodeError):
        raise
    except Exception as err:  # truncated file, wrong opcodes, bad args
        raise ValueError(f'{path}: cannot unpickle a verification .bin: '
                         f'{type(err).__name__}: {err}') from err


def _as_bytes(item, path: str, index: int) -> bytes:
    data = None
    if isinstance(item, (bytes, bytearray)):
        data = bytes(item)
    elif (isinstance(item, np.ndarray) and item.dtype == np.uint8
          and item.ndim in (1, 2) and item.size == item.shape[0]):
        data = item.tobytes()  # cv2.imencode output, (N, 1) or (N,)
    if data is not None:
        if not data:
            raise ValueError(f'{path}: image {index} (pair {index // 2}) is '
                             f'empty (0 bytes); {EXPECTED_IMAGE}, as '
                             'written by cv2.imencode or read from a file')
        return data
    raise ValueError(f'{path}: image {index} is a {type(item).__name__}, '
                     'expected encoded image bytes (or a uint8 array from '
                     'cv2.imencode)')


def _as_bool(item, path: str, index: int) -> bool:
    if isinstance(item, (bool, np.bool_)):
        return bool(item)
    if isinstance(item, (int, np.integer)) and item in (0, 1):
        return bool(item)
    raise ValueError(f'{path}: issame_list[{index}] is {item!r}, expected '
                     'a bool')


def check_verification_pairs(obj, path: str) -> Tuple[List[bytes],
                                                      np.ndarray]:
    """Validate an unpickled ``(bins, issame_list)`` and normalise it.

    Args:
        obj: the unpickled object.
        path (str): the file it came from, for errors.

    Returns:
        tuple: ``bins`` as a list of ``bytes`` and ``issame`` as a (P,)
        bool array.

    Raises:
        ValueError: the structure is not ``(bins, issame_list)`` with
            ``len(bins) == 2 * len(issame_list) > 0``, or an item has the
            wrong type.
    """
    if not isinstance(obj, (tuple, list)) or len(obj) != 2:
        size = f' of {len(obj)} items' if isinstance(obj,
                                                     (tuple, list)) else ''
        raise ValueError(f'{path}: expected a pickled (bins, issame_list) '
                         f'pair, got a {type(obj).__name__}{size}')
    bins, issame = obj
    if isinstance(issame, np.ndarray) and issame.ndim == 1:
        issame = issame.tolist()
    for name, value in (('bins', bins), ('issame_list', issame)):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f'{path}: {name} is a {type(value).__name__}, '
                             'expected a list')
    if not issame or len(bins) != 2 * len(issame):
        raise ValueError(f'{path}: {len(bins)} images for {len(issame)} '
                         'pairs, expected 2 images per pair and at least '
                         'one pair')
    return ([_as_bytes(b, path, i) for i, b in enumerate(bins)],
            np.array([_as_bool(s, path, i) for i, s in enumerate(issame)],
                     bool))


def load_verification_bin(path: str) -> Tuple[List[bytes], np.ndarray]:
    """Read a verification ``.bin`` without running code from it.

    Like insightface's ``load_bin``, the pickle is read with the default
    (ASCII) string decoding and, if a Python 2 string does not decode,
    again with ``encoding='bytes'``.

    Args:
        path (str): the file (any MMEngine file backend).

    Returns:
        tuple: ``bins`` (list of 2P encoded images as ``bytes``) and
        ``issame`` ((P,) bool array).

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: the pickle names a global outside the few numpy
            reconstructors a ``.bin`` can contain.
        ValueError: not a pickle, or not ``(bins, issame_list)``.
    """
    try:
        data = get(path)
    except FileNotFoundError:
        raise FileNotFoundError(f'{path}: verification .bin not found')
    try:
        obj = _unpickle(data, path, 'ASCII')
    except UnicodeDecodeError:  # a Python 2 str of raw image bytes
        obj = _unpickle(data, path, 'bytes')
    return check_verification_pairs(obj, path)


def write_verification_bin(path: str, bins: Sequence[bytes],
                           issame: Sequence[bool]) -> None:
    """Write ``(bins, issame_list)`` as a verification ``.bin``, atomically.

    The pickle (protocol 4) holds a list of ``bytes`` and a list of Python
    bools, so it contains no globals at all; insightface's ``load_bin``
    reads it too.

    Args:
        path (str): output file; the previous file survives a failure.
        bins (Sequence[bytes]): 2P encoded images, pair ``p`` at ``2p`` and
            ``2p + 1``.
        issame (Sequence[bool]): P same-identity flags.
    """
    bins, issame = check_verification_pairs((list(bins), list(issame)),
                                            path)
    payload = pickle.dumps((bins, issame.tolist()), protocol=4)
    atomic_write(payload, path)


@DATASETS.register_module()
class VerificationBin(BaseDataset):
    """Face pairs from one or more insightface verification ``.bin`` files.

    Several sets (``lfw.bin``, ``cfp_fp.bin``, ``agedb_30.bin``) can share
    one data set so that one evaluator
    (:class:`~facessl.evaluation.metrics.VerificationMetric`) reports all
    of them. Images get a global index ``img_index`` over all files in
    order; image ``2p`` and ``2p + 1`` of a file form its pair ``p``.

    With ``flip_test`` every image is listed twice, the original and then
    its horizontal flip (flipped here, so the pipeline needs no flip), for
    insightface's flip-augmented embeddings; the metric sums the two
    features. Each data info holds ``img`` (H, W, 3) uint8 BGR, decoded
    in :meth:`prepare_data` (pipelines start without
    ``LoadImageFromFile``), ``img_shape``, ``ori_shape`` (before the
    resize) and the meta keys ``img_index``, ``flip`` (bool),
    ``set_name`` (file stem, e.g. ``'lfw'``), ``pair_index`` (within the
    set) and ``issame`` (bool, of the pair). Pack them for the metric with
    ``dict(type='PackInputs', meta_keys=('img_index', 'flip',
    'set_name', 'pair_index', 'issame'))``.

    ``metainfo``: ``set_names`` and ``num_pairs`` (tuples, one item per
    file), which the metric uses to check that no pair went missing.

    The encoded images of all files are kept in one uint8 buffer (not in
    the data list), so forked dataloader workers share it.

    Deviation from insightface's ``load_bin``: an image whose size differs
    from ``image_size`` is resized to exactly ``image_size`` (bilinear);
    insightface scales the short side. The usual sets are 112 x 112
    already.

    Args:
        bin_files (str | Sequence[str]): ``.bin`` path(s), relative to
            ``data_root`` unless absolute; file stems must be unique.
        image_size (int | Sequence[int], optional): (H, W) images must
            have; ``None`` keeps every image as decoded. Defaults to 112.
        flip_test (bool): list each image twice, original then flipped.
            Defaults to True.
        data_root (str): folder of relative ``bin_files``. Defaults to ''.
        pipeline (Sequence): transforms. Defaults to ().
        **kwargs: ``metainfo``, ``indices``, ``serialize_data``,
            ``test_mode`` (default True: a failing sample raises instead
            of being replaced by a random one), ``lazy_init``,
            ``max_refetch`` of :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 bin_files: Union[str, Sequence[str]],
                 image_size: Optional[Union[int, Sequence[int]]] = 112,
                 flip_test: bool = True,
                 data_root: str = '',
                 pipeline: Sequence = (),
                 **kwargs) -> None:
        files = [bin_files] if isinstance(bin_files, str) else list(
            bin_files)
        if not files or not all(isinstance(f, str) for f in files):
            raise ValueError('VerificationBin: bin_files must be a path or '
                             f'a non-empty list of paths, got {bin_files!r}')
        self.bin_files = [
            f if not data_root or osp.isabs(f) else osp.join(data_root, f)
            for f in files
        ]
        names = [osp.splitext(osp.basename(f))[0] for f in self.bin_files]
        if len(set(names)) != len(names):
            raise ValueError(f'VerificationBin: bin_files {files} have '
                             'repeated file stems; each set is named after '
                             'its stem, so the stems must be unique')
        self.set_names = tuple(names)
        if isinstance(image_size, int):
            image_size = (image_size, image_size)
        if image_size is not None:
            image_size = tuple(int(s) for s in image_size)
            if len(image_size) != 2 or min(image_size) < 1:
                raise ValueError('VerificationBin: image_size must be an '
                                 'int or (H, W), got '
                                 f'{image_size!r}')
        self.image_size = image_size
        self.flip_test = bool(flip_test)
        kwargs.setdefault('test_mode', True)
        super().__init__(
            ann_file='', data_root=data_root, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read every ``.bin``; one record per image (two with flips)."""
        blobs, records, num_pairs = [], [], []
        flips = (False, True) if self.flip_test else (False, )
        for path, name in zip(self.bin_files, self.set_names):
            bins, issame = load_verification_bin(path)
            num_pairs.append(len(issame))
            for i, blob in enumerate(bins):
                img_index = len(blobs)
                blobs.append(blob)
                records.extend(
                    dict(
                        img_index=img_index,
                        flip=flip,
                        set_name=name,
                        pair_index=i // 2,
                        issame=bool(issame[i // 2])) for flip in flips)
        sizes = np.array([len(b) for b in blobs], np.int64)
        self._offsets = np.concatenate([[0], np.cumsum(sizes)])
        self._set_starts = np.cumsum([0] + [2 * n for n in num_pairs])
        self._buffer = np.frombuffer(b''.join(blobs), np.uint8)
        self._metainfo.update(
            set_names=self.set_names, num_pairs=tuple(num_pairs))
        return records

    def decode_image(self, img_index: int) -> np.ndarray:
        """Decode image ``img_index`` to (H, W, 3) uint8 BGR, unresized.

        Args:
            img_index (int): global image index (over all ``bin_files``).

        Returns:
            np.ndarray: the decoded image.

        Raises:
            ValueError: the bytes are not an image OpenCV can decode; the
                message names the ``.bin`` and the image's index in it.
        """
        start, end = self._offsets[img_index:img_index + 2]
        s = np.searchsorted(self._set_starts, img_index, 'right') - 1
        path, i = self.bin_files[s], int(img_index - self._set_starts[s])
        return decode_bgr(self._buffer[start:end],
                          f'{path}: image {i} (pair {i // 2})')

    def prepare_data(self, idx: int):
        """Decode, resize and (for flip copies) flip, then run the
        pipeline."""
        info = self.get_data_info(idx)
        img = self.decode_image(info['img_index'])
        ori_shape = img.shape[:2]
        if self.image_size is not None and ori_shape != self.image_size:
            img = cv2.resize(
                img, self.image_size[::-1], interpolation=cv2.INTER_LINEAR)
        if info['flip']:
            img = cv2.flip(img, 1)
        info.update(img=img, img_shape=img.shape[:2], ori_shape=ori_shape)
        return self.pipeline(info)

    def extra_repr(self) -> List[str]:
        """Files, sizes and flip setting for ``repr``."""
        return [
            f'Sets: \t{", ".join(self.set_names)}',
            f'Pairs: \t{self._metainfo.get("num_pairs")}',
            f'Image size: \t{self.image_size}',
            f'Flip test: \t{self.flip_test}'
        ]
