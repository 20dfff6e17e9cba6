"""Readers of the IJB-B / IJB-C meta files as insightface distributes them.

``<root>/meta/`` of insightface's ``IJB_release/IJBC`` (``IJBB`` alike,
prefix ``ijbb``) holds, one record per line, space-separated:

- ``ijbc_face_tid_mid.txt``: ``image_name template_id media_id`` -- one
  line per (image, template); line ``i`` is image ``i``.
- ``ijbc_name_5pts_score.txt``: ``image_name x1 y1 ... x5 y5 score`` --
  the same images in the same order, with the five detected points and
  the detector's face score.
- ``ijbc_template_pair_label.txt``: ``template_id template_id label`` --
  the 1:1 verification pairs, label 1 genuine, 0 impostor.

and the 1:N lists, comma-separated with a header line
(``TEMPLATE_ID,SUBJECT_ID,FILENAME,...``, one row per image of a template):
``ijbc_1N_gallery_G1.csv``, ``ijbc_1N_gallery_G2.csv``,
``ijbc_1N_probe_mixed.csv`` (IJB-B: ``ijbb_1N_gallery_S1.csv``,
``ijbb_1N_gallery_S2.csv``, ``ijbb_1N_probe_mixed.csv``).

The readers are shared by :class:`~facessl.datasets.IJBDataset`, the
``IJBMetric`` and ``tools/misc/align_faces.py``; a malformed line raises
one ``ValueError`` naming the file, the line and what was expected.
"""
import os.path as osp
from typing import Iterator, List, Optional, Tuple

import numpy as np

#: 1:N gallery names per benchmark (insightface's file names).
GALLERIES = dict(IJBC=('G1', 'G2'), IJBB=('S1', 'S2'))


def meta_file(data_root: str, name: str, kind: str) -> str:
    """Path of a meta file: ``<data_root>/meta/<name>_<kind>``.

    Args:
        data_root (str): the benchmark folder (holding ``meta/``).
        name (str): ``'IJBC'`` or ``'IJBB'`` (lower-cased in file names).
        kind (str): e.g. ``'face_tid_mid.txt'``, ``'1N_gallery_G1.csv'``.

    Returns:
        str: the path (not checked).
    """
    return osp.join(data_root, 'meta', f'{name.lower()}_{kind}')


def one_to_n_files(data_root: str, name: str) -> Tuple[List[str], str]:
    """The two gallery lists and the mixed probe list of a benchmark.

    Args:
        data_root (str): the benchmark folder.
        name (str): ``'IJBC'`` or ``'IJBB'``.

    Returns:
        tuple: ``([gallery_1, gallery_2], probe)`` paths (not checked).
    """
    if name.upper() not in GALLERIES:
        raise ValueError(f'name must be one of {sorted(GALLERIES)}, got '
                         f'{name!r}')
    galleries = [
        meta_file(data_root, name, f'1N_gallery_{g}.csv')
        for g in GALLERIES[name.upper()]
    ]
    return galleries, meta_file(data_root, name, '1N_probe_mixed.csv')


def _check_file(path: str, what: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: {what} not found')


def iter_records(path: str,
                 num_cols: int,
                 layout: str,
                 sep: Optional[str] = None,
                 skip_header: bool = False) -> Iterator[Tuple[int, list]]:
    """Yield ``(line number, columns)`` of a meta file, checking the count.

    Blank lines are skipped. ``num_cols`` is a minimum when ``sep`` is
    given (the 1:N CSVs carry more columns than read).

    Args:
        path (str): the file.
        num_cols (int): expected number of columns.
        layout (str): the expected layout, for error messages.
        sep (str, optional): separator; whitespace when None.
        skip_header (bool): skip the first non-blank line.

    Yields:
        tuple: ``(lineno, cols)`` with 1-based line numbers.
    """
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if skip_header:
                skip_header = False
                continue
            cols = line.split(sep)
            if len(cols) != num_cols and not (sep and len(cols) > num_cols):
                raise ValueError(
                    f'{path}: line {lineno}: expected {num_cols} columns '
                    f'"{layout}", got {len(cols)}: {line[:200]!r}')
            yield lineno, cols


def _to_int(path: str, lineno: int, value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f'{path}: line {lineno}: {what} {value!r} is not '
                         'an integer') from None


def _require_records(path: str, count: int) -> None:
    if count == 0:
        raise ValueError(f'{path}: no records')


def read_template_media(path: str) -> Tuple[List[str], np.ndarray,
                                            np.ndarray]:
    """Read ``*_face_tid_mid.txt`` (``image_name template_id media_id``).

    Args:
        path (str): the file.

    Returns:
        tuple: image names, template ids (N,) int64, media ids (N,) int64.
    """
    _check_file(path, 'template/media list (*_face_tid_mid.txt)')
    names, tids, mids = [], [], []
    layout = 'image_name template_id media_id'
    for lineno, cols in iter_records(path, 3, layout):
        names.append(cols[0])
        tids.append(_to_int(path, lineno, cols[1], 'template id'))
        mids.append(_to_int(path, lineno, cols[2], 'media id'))
    _require_records(path, len(names))
    return names, np.array(tids, np.int64), np.array(mids, np.int64)


def read_landmarks(path: str,
                   with_score: bool = True
                   ) -> Tuple[List[str], np.ndarray, Optional[np.ndarray]]:
    """Read ``image_name x1 y1 ... x5 y5 [score]`` lines.

    Args:
        path (str): the file (``*_name_5pts_score.txt`` with
            ``with_score``, or the same layout without the score).
        with_score (bool): expect the trailing face score column.

    Returns:
        tuple: image names, points (N, 5, 2) float32, scores (N,) float32
        (None without ``with_score``).

    Raises:
        ValueError: a line with the wrong column count, a value that is
            not a number, or ``nan``/``inf`` (naming file and line).
    """
    _check_file(path, 'landmark list')
    num_cols = 12 if with_score else 11
    layout = 'image_name x1 y1 ... x5 y5' + (' score' if with_score else '')
    names, values = [], []
    for lineno, cols in iter_records(path, num_cols, layout):
        try:
            row = [float(v) for v in cols[1:]]
        except ValueError:
            raise ValueError(f'{path}: line {lineno}: expected numbers after '
                             f'the image name ("{layout}"), got '
                             f'{cols[1:]}') from None
        bad = [v for v, x in zip(cols[1:], row) if not np.isfinite(x)]
        if bad:
            raise ValueError(f'{path}: line {lineno}: {cols[0]} has '
                             f'non-finite values {bad} ("{layout}"); '
                             'expected finite coordinates (alignment would '
                             'fail on them)')
        values.append(row)
        names.append(cols[0])
    _require_records(path, len(names))
    values = np.array(values, np.float32)
    points = values[:, :10].reshape(-1, 5, 2)
    return names, points, (values[:, 10] if with_score else None)


def read_template_pairs(path: str) -> Tuple[np.ndarray, np.ndarray,
                                            np.ndarray]:
    """Read ``*_template_pair_label.txt`` (``template template label``).

    NumPy's C parser reads the 15.7 M IJB-C pairs in a few seconds; a
    malformed file is scanned again in Python to name the bad line.

    Args:
        path (str): the file.

    Returns:
        tuple: first templates (P,), second templates (P,), labels (P,)
        int64 (1 genuine, 0 impostor).
    """
    _check_file(path, 'template pair list (*_template_pair_label.txt)')
    layout = 'template_id template_id label'
    try:
        pairs = np.loadtxt(path, dtype=np.int64, ndmin=2, comments=None)
    except ValueError:
        for lineno, cols in iter_records(path, 3, layout):
            for value in cols:
                _to_int(path, lineno, value, 'value')
        raise  # not reached: the scan names the bad line
    if pairs.size == 0:
        raise ValueError(f'{path}: no records')
    if pairs.shape[1] != 3:
        raise ValueError(f'{path}: line 1: expected 3 columns "{layout}", '
                         f'got {pairs.shape[1]}')
    labels = pairs[:, 2]
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if len(bad):
        raise ValueError(f'{path}: record {bad[0] + 1} has label '
                         f'{labels[bad[0]]}, expected 0 or 1')
    return pairs[:, 0].copy(), pairs[:, 1].copy(), labels.copy()


def read_id_list(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read a 1:N gallery or probe CSV (``TEMPLATE_ID,SUBJECT_ID,...``).

    The header line is skipped; a template listed on several rows (one
    per image) must keep one subject.

    Args:
        path (str): the file.

    Returns:
        tuple: template ids (T,) int64 (sorted, unique) and their subject
        ids (T,) int64.
    """
    _check_file(path, '1:N template list (*_1N_*.csv)')
    subjects = {}
    layout = 'TEMPLATE_ID,SUBJECT_ID,...'
    for lineno, cols in iter_records(path, 2, layout, ',', True):
        tid = _to_int(path, lineno, cols[0].strip(), 'template id')
        sid = _to_int(path, lineno, cols[1].strip(), 'subject id')
        if subjects.setdefault(tid, sid) != sid:
            raise ValueError(f'{path}: line {lineno}: template {tid} has '
                             f'subject {sid}, but {subjects[tid]} on an '
                             'earlier line; expected one subject per '
                             'template')
    _require_records(path, len(subjects))
    tids = np.array(sorted(subjects), np.int64)
    return tids, np.array([subjects[t] for t in tids], np.int64)
