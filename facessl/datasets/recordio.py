"""MXNet indexed RecordIO in pure Python, as insightface packs use it.

Reads and writes ``train.rec``/``train.idx`` (MS1MV2, MS1MV3, Glint360K,
WebFace42M, ...) without mxnet. The format, as dmlc-core's
``include/dmlc/recordio.h``/``src/recordio.cc`` and mxnet's
``python/mxnet/recordio.py`` define it:

- **Framing** (``.rec``): each part is ``magic lrecord data pad``, all
  little-endian ``uint32``: ``magic = 0xced7230a``, ``lrecord = cflag << 29
  | length`` and zero padding up to a multiple of 4 bytes. A payload that
  contains the magic word at a 4-byte-aligned position is split there into
  several parts (the magic word itself is dropped and restored by the
  reader): ``cflag`` 0 = whole record, 1 = first, 2 = middle, 3 = last part.
  A part holds at most ``2**29 - 1`` bytes.
- **Index** (``.idx``): one ``key<TAB>offset`` line per record, in write
  order, ``offset`` = byte position of the record's first part.
- **Image record header** (``IRHeader``): ``struct 'IfQQ'`` = ``flag``
  (uint32), ``label`` (float32), ``id``, ``id2`` (uint64), 24 bytes. If
  ``flag > 0``, ``flag`` float32 labels follow the header and the header's
  own ``label`` field is 0; then the encoded image (JPEG, PNG, ...).
- **insightface layout**: :mod:`facessl.datasets.face_pack`.

Errors name the file, the record key and what was expected.
"""
import os
import os.path as osp
import struct
import tempfile
from collections import namedtuple
from typing import Iterable, Optional, Sequence, Tuple, Union

import numpy as np

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack('<I', MAGIC)
_FRAME = struct.Struct('<II')  # magic, lrecord
_MAX_PART = (1 << 29) - 1
IR_FORMAT = '<IfQQ'
IR_SIZE = struct.calcsize(IR_FORMAT)  # 24

IRHeader = namedtuple('IRHeader', ['flag', 'label', 'id', 'id2'])
IRHeader.__doc__ = """Image-record header: ``flag``, ``label`` (a float if
``flag == 0``, else a float32 array of ``flag`` labels), ``id``, ``id2``."""


# --- framing ---------------------------------------------------------------
def _lrecord(cflag: int, length: int) -> bytes:
    if length > _MAX_PART:
        raise ValueError(f'a RecordIO part holds at most {_MAX_PART} bytes, '
                         f'got {length}')
    return _FRAME.pack(MAGIC, (cflag << 29) | length)


def frame_record(payload: bytes) -> bytes:
    """Frame one record exactly as dmlc-core's ``RecordIOWriter`` does.

    Args:
        payload (bytes): the record's bytes.

    Returns:
        bytes: the parts (split at 4-byte-aligned magic words) and padding.
    """
    payload = bytes(payload)
    parts, start, pos = [], 0, payload.find(_MAGIC_BYTES)
    while pos >= 0:
        if pos % 4 == 0:
            parts += [_lrecord(1 if start == 0 else 2, pos - start),
                      payload[start:pos]]
            start = pos + 4
            pos = payload.find(_MAGIC_BYTES, start)
        else:
            pos = payload.find(_MAGIC_BYTES, pos + 1)
    parts += [_lrecord(3 if start else 0, len(payload) - start),
              payload[start:], bytes(-len(payload) % 4)]
    return b''.join(parts)


def read_framed(f, where: str, limit: Optional[int] = None) -> bytes:
    """Read one (possibly multi-part) record at the position of ``f``.

    Args:
        f: a binary file positioned at the record's first part.
        where (str): ``'<file>: record <key>'`` for errors.
        limit (int, optional): stop once this many bytes are read (e.g. to
            read only the image-record header). Defaults to None (all).

    Returns:
        bytes: the payload with the split magic words restored.

    Raises:
        ValueError: bad magic, bad continuation flag or truncated file.
    """
    chunks, size, first = [], 0, True
    while True:
        offset = f.tell()
        frame = f.read(_FRAME.size)
        if len(frame) < _FRAME.size:
            raise ValueError(f'{where}: truncated: expected an 8-byte part '
                             f'header at offset {offset}, the file ends '
                             f'after {len(frame)} more bytes')
        magic, lrec = _FRAME.unpack(frame)
        if magic != MAGIC:
            raise ValueError(f'{where}: bad magic 0x{magic:08x} at offset '
                             f'{offset}, expected 0x{MAGIC:08x} (is the '
                             '.idx offset right and the file RecordIO?)')
        cflag, length = lrec >> 29, lrec & _MAX_PART
        expected = (0, 1) if first else (2, 3)
        if cflag not in expected:
            raise ValueError(f'{where}: part at offset {offset} has '
                             f'continuation flag {cflag}, expected '
                             f'{" or ".join(map(str, expected))}')
        want = length if limit is None else min(length, max(limit - size, 0))
        data = f.read(want)
        if len(data) < want:
            raise ValueError(f'{where}: truncated: the part at offset '
                             f'{offset} has length {length} but the file '
                             f'ends after {len(data)} bytes of it')
        chunks.append(data)
        size += len(data)
        if cflag in (0, 3) or (limit is not None and size >= limit):
            return b''.join(chunks)
        f.seek(offset + _FRAME.size + (-(-length // 4) * 4))
        chunks.append(_MAGIC_BYTES)
        size += 4
        first = False


# --- image-record header ---------------------------------------------------
def pack_header(label: Union[float, Sequence[float]],
                data: bytes = b'',
                id: int = 0,
                id2: int = 0) -> bytes:
    """Prefix ``data`` with an ``IRHeader``, like ``mx.recordio.pack``.

    Args:
        label (float | Sequence[float]): one label (``flag = 0``) or
            several (``flag = len(label)``, stored as float32 after the
            header).
        data (bytes): the encoded image. Defaults to b''.
        id (int): record id. Defaults to 0.
        id2 (int): high bits of the id. Defaults to 0.

    Returns:
        bytes: the record payload.
    """
    if np.ndim(label) == 0:
        return struct.pack(IR_FORMAT, 0, float(label), id, id2) + data
    labels = np.asarray(label, dtype='<f4').ravel()
    return (struct.pack(IR_FORMAT, labels.size, 0.0, id, id2) +
            labels.tobytes() + data)


def unpack_header(record: bytes, where: str = 'record') -> tuple:
    """Split a record payload into its ``IRHeader`` and the rest.

    Args:
        record (bytes): a payload from :meth:`IndexedRecordReader.read`.
        where (str): ``'<file>: record <key>'`` for errors.

    Returns:
        tuple[IRHeader, bytes]: the header (``label`` a float if ``flag ==
        0``, else a float32 array) and the data after the labels.

    Raises:
        ValueError: the record is shorter than its header says.
    """
    if len(record) < IR_SIZE:
        raise ValueError(f'{where} is {len(record)} bytes, shorter than the '
                         f'{IR_SIZE}-byte image-record header')
    header = IRHeader(*struct.unpack_from(IR_FORMAT, record))
    end = IR_SIZE + 4 * header.flag
    if header.flag > 0:
        if len(record) < end:
            raise ValueError(
                f'{where} has header flag {header.flag}, expected at most '
                f'{(len(record) - IR_SIZE) // 4}: the flag counts the '
                f'float32 labels after the header and only '
                f'{len(record) - IR_SIZE} bytes follow it')
        labels = np.frombuffer(record, '<f4', header.flag, IR_SIZE)
        header = header._replace(label=labels.astype(np.float32))
    return header, record[end:]


def first_label(header: IRHeader) -> float:
    """The class label of an image record: ``label`` or ``label[0]``."""
    return float(header.label if header.flag == 0 else header.label[0])


# --- index -----------------------------------------------------------------
def read_index(idx_path: str,
               rec_size: Optional[int] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
    """Parse a ``.idx`` file of ``key<TAB>offset`` lines.

    Args:
        idx_path (str): the index file.
        rec_size (int, optional): size of the ``.rec`` file; offsets must
            leave room for a part header before it.

    Returns:
        tuple[np.ndarray, np.ndarray]: int64 keys and offsets in file order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a malformed line, a duplicate key, an offset past the
            end of the ``.rec`` file, or no records.
    """
    if not osp.isfile(idx_path):
        raise FileNotFoundError(f'{idx_path}: RecordIO index not found; '
                                'expected "key<TAB>offset" lines')
    keys, offsets, lines = [], [], []
    with open(idx_path, 'rb') as f:
        for lineno, line in enumerate(f, 1):
            cols = line.split()
            if not cols:
                continue
            try:
                if len(cols) != 2:
                    raise ValueError
                key, offset = int(cols[0]), int(cols[1])
            except ValueError:
                raise ValueError(f'{idx_path}: line {lineno}: expected '
                                 '"key<TAB>offset" (two integers), got '
                                 f'{line.strip()[:80]!r}') from None
            keys.append(key)
            offsets.append(offset)
            lines.append(lineno)
    if not keys:
        raise ValueError(f'{idx_path}: no records in the RecordIO index')
    keys, offsets = np.array(keys, np.int64), np.array(offsets, np.int64)
    order = np.argsort(keys, kind='stable')
    dup = np.flatnonzero(np.diff(keys[order]) == 0)
    if dup.size:
        a, b = order[dup[0]], order[dup[0] + 1]
        raise ValueError(f'{idx_path}: line {lines[b]}: duplicate key '
                         f'{keys[b]} (first on line {lines[a]})')
    limit = np.inf if rec_size is None else rec_size - _FRAME.size
    bad = np.flatnonzero((offsets < 0) | (offsets > limit))
    if bad.size:
        i = bad[0]
        raise ValueError(f'{idx_path}: line {lines[i]}: key {keys[i]} has '
                         f'offset {offsets[i]} past the end of the .rec '
                         f'file ({rec_size} bytes)')
    return keys, offsets


# --- reader ----------------------------------------------------------------
class IndexedRecordReader:
    """Random access to the records of a ``.rec``/``.idx`` pair.

    The ``.rec`` file is opened lazily, once per process: the reader stores
    the pid that opened it and reopens after a fork, and pickles without
    the handle, so dataloader workers (fork or spawn) each read through
    their own file. Threads of one process must not share a reader (each
    read seeks the shared handle).

    Args:
        rec_path (str): the ``.rec`` file.
        idx_path (str, optional): the ``.idx`` file. Defaults to
            ``rec_path`` with the suffix ``.idx``.
    """

    def __init__(self, rec_path: str, idx_path: Optional[str] = None) -> None:
        if not osp.isfile(rec_path):
            raise FileNotFoundError(f'{rec_path}: RecordIO file not found')
        self.rec_path = rec_path
        self.idx_path = idx_path or osp.splitext(rec_path)[0] + '.idx'
        self.rec_size = osp.getsize(rec_path)
        self.keys, self.offsets = read_index(self.idx_path, self.rec_size)
        self._order = np.argsort(self.keys)
        self._sorted = self.keys[self._order]
        self._file, self._pid = None, None

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: int) -> bool:
        i = np.searchsorted(self._sorted, key)
        return bool(i < len(self._sorted) and self._sorted[i] == key)

    def offset(self, key: int) -> int:
        """Byte offset of record ``key`` in the ``.rec`` file."""
        if key not in self:
            raise KeyError(f'{self.idx_path}: no record with key {key}')
        return int(self.offsets[self._order[np.searchsorted(self._sorted,
                                                            key)]])

    def where(self, key: int) -> str:
        """``'<rec file>: record <key>'`` for error messages."""
        return f'{self.rec_path}: record {key}'

    def read(self, key: int, limit: Optional[int] = None) -> bytes:
        """The payload of record ``key``.

        Args:
            key (int): record key.
            limit (int, optional): read only about this many first bytes.

        Returns:
            bytes: the payload (or its first bytes).
        """
        offset = self.offset(key)
        f = self._handle()
        f.seek(offset)
        return read_framed(f, self.where(key), limit)

    def read_header(self, key: int) -> IRHeader:
        """Only the ``IRHeader`` of record ``key`` (not its image)."""
        record = self.read(key, IR_SIZE)
        flag = struct.unpack_from('<I', record)[0] if len(record) >= 4 else 0
        if flag:
            record = self.read(key, IR_SIZE + 4 * flag)
        return unpack_header(record, self.where(key))[0]

    def _handle(self):
        if self._file is None or self._pid != os.getpid():
            self._file = open(self.rec_path, 'rb')
            self._pid = os.getpid()
        return self._file

    def close(self) -> None:
        """Close this process's handle (reopened on the next read)."""
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file, self._pid = None, None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.update(_file=None, _pid=None)
        return state

    def __enter__(self) -> 'IndexedRecordReader':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- writer ----------------------------------------------------------------
class IndexedRecordWriter:
    """Writes a ``.rec``/``.idx`` pair that mxnet reads identically.

    Records go to temporary files next to the targets, which are fsync'ed
    and renamed into place (``.rec`` first, ``.idx`` last) by
    :meth:`close`; leaving a ``with`` block with an exception removes them
    and keeps any previous pack.

    Args:
        rec_path (str): the ``.rec`` file to write.
        idx_path (str, optional): the ``.idx`` file. Defaults to
            ``rec_path`` with the suffix ``.idx``.
    """

    def __init__(self, rec_path: str, idx_path: Optional[str] = None) -> None:
        self.rec_path = rec_path
        self.idx_path = idx_path or osp.splitext(rec_path)[0] + '.idx'
        self._keys = set()
        self._tmp = []
        for path in (self.rec_path, self.idx_path):
            folder = osp.dirname(osp.abspath(path))
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
            self._tmp.append((os.fdopen(fd, 'wb'), tmp))
        self._rec, self._idx = self._tmp[0][0], self._tmp[1][0]

    def write(self, key: int, payload: bytes) -> int:
        """Append record ``key``; returns its offset."""
        key = int(key)
        if key in self._keys:
            raise ValueError(f'{self.rec_path}: key {key} written twice')
        self._keys.add(key)
        offset = self._rec.tell()
        self._rec.write(frame_record(payload))
        self._idx.write(f'{key}\t{offset}\n'.encode())
        return offset

    def close(self) -> None:
        """Flush, fsync and rename the files into place."""
        if not self._tmp:
            return
        for (f, tmp), path in zip(self._tmp, (self.rec_path, self.idx_path)):
            f.flush()
            os.fsync(f.fileno())
            f.close()
            os.replace(tmp, path)
        self._tmp = []

    def abort(self) -> None:
        """Drop the temporary files; the targets stay untouched."""
        for f, tmp in self._tmp:
            f.close()
            if osp.exists(tmp):
                os.remove(tmp)
        self._tmp = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_records(rec_path: str,
                  records: Union[dict, Iterable[Tuple[int, bytes]]],
                  idx_path: Optional[str] = None) -> None:
    """Write ``{key: payload}`` (or ``(key, payload)`` pairs) in order.

    Args:
        rec_path (str): the ``.rec`` file to write.
        records (dict | Iterable[tuple[int, bytes]]): the records.
        idx_path (str, optional): the ``.idx`` file. Defaults to
            ``rec_path`` with the suffix ``.idx``.
    """
    items = records.items() if isinstance(records, dict) else records
    with IndexedRecordWriter(rec_path, idx_path) as writer:
        for key, payload in items:
            writer.write(key, payload)
