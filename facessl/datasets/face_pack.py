"""insightface's face-pack layout on top of MXNet indexed RecordIO.

As ``MXFaceDataset`` in insightface's ``recognition/arcface_torch/
dataset.py`` and ``face2rec2.py`` lay it out: record 0 is a header whose
labels ``(a, b)`` say that image records have keys ``1 .. a-1`` and
identity records keys ``a .. b-1``; identity record ``k`` has labels
``(start, end)``: its images are keys ``start .. end-1``. A pack whose
record 0 has ``flag == 0`` has no header: every key of the index is an
image.

The framing, index and image-record header live in
:mod:`facessl.datasets.recordio`.
"""
from typing import Iterable, List, Optional

import numpy as np

from .recordio import (IndexedRecordReader, IndexedRecordWriter,
                       first_label, pack_header)


class FacePackWriter(IndexedRecordWriter):
    """Writes an insightface face pack, as ``face2rec2.py`` lays it out.

    Images get keys ``1 .. N`` in the order added (all images of one label
    consecutively); :meth:`close` then writes record 0 with labels ``(N + 1,
    N + 1 + M)`` and one identity record per label run, keys ``N + 1 ..
    N + M``, with labels ``(first key, end key)`` and ``id`` = its key.

    Args:
        rec_path (str): the ``.rec`` file to write.
        idx_path (str, optional): the ``.idx`` file. Defaults to
            ``rec_path`` with the suffix ``.idx``.
    """

    def __init__(self, rec_path: str, idx_path: Optional[str] = None) -> None:
        super().__init__(rec_path, idx_path)
        self._runs: List[List[int]] = []  # [label, first key, end key]
        self._done = set()

    def add(self, label: int, image: bytes) -> int:
        """Append one encoded image of class ``label``; returns its key."""
        label = int(label)
        key = self._runs[-1][2] if self._runs else 1
        if not self._runs or self._runs[-1][0] != label:
            if label in self._done:
                raise ValueError(f'{self.rec_path}: label {label} appears '
                                 f'again at image key {key} after other '
                                 'labels; add the images grouped by label')
            if self._runs:
                self._done.add(self._runs[-1][0])
            self._runs.append([label, key, key])
        self.write(key, pack_header(float(label), image, id=key))
        self._runs[-1][2] = key + 1
        return key

    def close(self) -> None:
        """Write the header and identity records, then finish the files."""
        if self._tmp and 0 not in self._keys:
            first = self._runs[-1][2] if self._runs else 1
            end = first + len(self._runs)
            self.write(0, pack_header([first, end]))
            for key, (_, start, stop) in enumerate(self._runs, first):
                self.write(key, pack_header([start, stop], id=key))
        super().close()


def read_layout(reader: IndexedRecordReader) -> tuple:
    """Image keys and identity ranges of an insightface pack.

    Args:
        reader (IndexedRecordReader): the opened pack.

    Returns:
        tuple[np.ndarray, np.ndarray | None]: image keys (int64) and, if
        the pack has identity records, their ``(start, end)`` key ranges
        (int64, shape (M, 2)); for a pack without header record (record 0
        an image or absent), every key in index order and None.

    Raises:
        ValueError: record 0's header or an identity record is malformed,
            or names keys missing from the index.
    """
    if 0 not in reader:
        return reader.keys.copy(), None
    header = reader.read_header(0)
    if header.flag == 0:
        return reader.keys.copy(), None
    if header.flag < 2:
        raise ValueError(f'{reader.where(0)} has header flag {header.flag},'
                         ' expected 0 (an image: no pack header) or >= 2 '
                         '(labels: first identity key, end key)')
    first, end = (_key_label(v, reader.where(0)) for v in header.label[:2])
    image_keys = np.arange(1, first, dtype=np.int64)
    _check_present(reader, image_keys, 'image', 0)
    if end <= first:  # e.g. (N + 1, num_classes): no identity records
        return image_keys, None
    id_keys = np.arange(first, end, dtype=np.int64)
    _check_present(reader, id_keys, 'identity', 0)
    ranges = np.empty((len(id_keys), 2), np.int64)
    for i, key in enumerate(id_keys.tolist()):
        h = reader.read_header(key)
        where = reader.where(key)
        if h.flag < 2:
            raise ValueError(f'{where} has header flag {h.flag}, expected '
                             '>= 2 for an identity record (labels: start, '
                             'end image key)')
        start, stop = (_key_label(v, where) for v in h.label[:2])
        if not 1 <= start < stop <= first:
            raise ValueError(f'{where}: identity range ({start}, {stop}) '
                             f'is not inside the image keys 1..{first - 1}')
        ranges[i] = start, stop
    return image_keys, ranges


def _key_label(value: float, where: str) -> int:
    if value != int(value) or value < 0:
        raise ValueError(f'{where}: label {value} is not a record key '
                         '(a non-negative integer)')
    return int(value)


def _check_present(reader: IndexedRecordReader, keys: np.ndarray,
                   kind: str, header_key: int) -> None:
    pos = np.searchsorted(reader._sorted, keys)
    pos = np.minimum(pos, len(reader._sorted) - 1)
    missing = keys[reader._sorted[pos] != keys]
    if missing.size:
        raise ValueError(
            f'{reader.where(header_key)}: the header says {kind} records '
            f'have keys {keys[0]}..{keys[-1]}, but {reader.idx_path} has no '
            f'key {missing[0]} ({missing.size} missing)')


def scan_labels(reader: IndexedRecordReader,
                keys: Iterable[int]) -> np.ndarray:
    """Class label of each image record, read from their headers.

    Reads in file order (sequential I/O) and returns in the order of
    ``keys``.

    Args:
        reader (IndexedRecordReader): the pack.
        keys (Iterable[int]): image keys.

    Returns:
        np.ndarray: float64 labels (``label`` or ``label[0]``).
    """
    keys = np.asarray(list(keys), np.int64)
    pos = reader._order[np.searchsorted(reader._sorted, keys)]
    labels = np.empty(len(keys))
    for i in np.argsort(reader.offsets[pos], kind='stable').tolist():
        labels[i] = first_label(reader.read_header(int(keys[i])))
    return labels
