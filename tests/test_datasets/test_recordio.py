"""Tests of the pure-Python MXNet RecordIO reader/writer."""
import os
import os.path as osp
import pickle
import shutil
import struct

import numpy as np
import pytest

from facessl.datasets.face_pack import (FacePackWriter, read_layout,
                                        scan_labels)
from facessl.datasets.recordio import (IR_SIZE, IndexedRecordReader,
                                       IndexedRecordWriter, frame_record,
                                       pack_header, read_index,
                                       unpack_header, write_records)
from tests.conftest import REPO_ROOT

MAGIC = b'\x0a\x23\xd7\xce'  # 0xced7230a little-endian
FIXTURE = osp.join(REPO_ROOT, 'tests', 'data', 'recordio', 'mxnet_face')


def lrec(cflag, length):
    return struct.pack('<I', cflag << 29 | length)


def write_pack(tmp_path, records, name='x'):
    """Write ``{key: payload}``; return the .rec path."""
    rec = str(tmp_path / f'{name}.rec')
    write_records(rec, records)
    return rec


# --- framing ---------------------------------------------------------------
def test_frame_single_part_by_hand():
    assert frame_record(b'abcde') == (MAGIC + lrec(0, 5) + b'abcde' +
                                      b'\0\0\0')
    assert frame_record(b'abcd') == MAGIC + lrec(0, 4) + b'abcd'
    assert frame_record(b'') == MAGIC + lrec(0, 0)
    # an unaligned magic word stays inside the record
    assert frame_record(b'a' + MAGIC) == MAGIC + lrec(0, 5) + b'a' + \
        MAGIC + b'\0\0\0'


def test_frame_splits_at_aligned_magic_by_hand():
    assert frame_record(b'abcd' + MAGIC + b'ef') == (
        MAGIC + lrec(1, 4) + b'abcd' + MAGIC + lrec(3, 2) + b'ef\0\0')
    assert frame_record(MAGIC) == MAGIC + lrec(1, 0) + MAGIC + lrec(3, 0)
    assert frame_record(MAGIC + b'wxyz' + MAGIC) == (
        MAGIC + lrec(1, 0) + MAGIC + lrec(2, 4) + b'wxyz' + MAGIC +
        lrec(3, 0))


def test_round_trip_any_payload_any_order(tmp_path):
    rng = np.random.default_rng(0)
    records = {
        7: b'', 3: b'a', 0: MAGIC * 3, 12: b'xy' + MAGIC + b'zw' + MAGIC,
        5: rng.bytes(999) + MAGIC + rng.bytes(8), 4: b'abcd' + MAGIC
    }
    rec = write_pack(tmp_path, records)
    with open(rec[:-4] + '.idx') as f:
        assert [int(ln.split('\t')[0]) for ln in f] == [7, 3, 0, 12, 5, 4]
    reader = IndexedRecordReader(rec)
    assert len(reader) == 6 and 12 in reader and 6 not in reader
    for key in (5, 0, 12, 4, 3, 7):
        assert reader.read(key) == records[key]
    assert reader.read(5, limit=10) == records[5][:10]
    with pytest.raises(KeyError, match='no record with key 6'):
        reader.read(6)


# --- mxnet-written fixture -------------------------------------------------
def test_reads_mxnet_fixture_and_rewrites_it_byte_for_byte(tmp_path):
    reader = IndexedRecordReader(FIXTURE + '.rec')
    assert reader.keys.tolist() == [1, 2, 3, 4, 0, 5, 6]
    header, png = unpack_header(reader.read(2))  # mxnet split it in two
    assert header.id == 0xced7230a and header.flag == 2
    assert header.label.tolist() == [3.0, 1.0]
    assert png.startswith(b'\x89PNG')
    header, _ = unpack_header(reader.read(4))
    assert (header.flag, header.label, header.id) == (0, 7.0, 4)
    # the writer frames every payload exactly as mxnet did
    rec = write_pack(tmp_path,
                     {int(k): reader.read(int(k)) for k in reader.keys})
    for suffix, mode in (('.rec', 'rb'), ('.idx', 'r')):
        with open(FIXTURE + suffix, mode) as a, open(
                rec[:-4] + suffix, mode) as b:
            assert a.read() == b.read()


def test_layout_and_face_pack_writer_match_fixture(tmp_path):
    reader = IndexedRecordReader(FIXTURE + '.rec')
    keys, ranges = read_layout(reader)
    assert keys.tolist() == [1, 2, 3, 4]
    assert ranges.tolist() == [[1, 3], [3, 5]]
    assert scan_labels(reader, [4, 1, 3]).tolist() == [7.0, 3.0, 7.0]
    rec = str(tmp_path / 'pack.rec')
    with FacePackWriter(rec) as writer:
        for label in (3, 3, 7, 7):
            writer.add(label, b'img')
    ours = IndexedRecordReader(rec)
    assert ours.keys.tolist() == [1, 2, 3, 4, 0, 5, 6]  # face2rec2 order
    for key in (0, 5, 6):  # header and identity records: same bytes
        assert ours.read(key) == reader.read(key)
    header, data = unpack_header(ours.read(3))
    assert (header.flag, header.label, header.id, data) == (0, 7.0, 3,
                                                           b'img')


def test_face_pack_writer_needs_grouped_labels(tmp_path):
    with pytest.raises(ValueError, match='label 1 appears again at image '
                       'key 3'):
        with FacePackWriter(str(tmp_path / 'p.rec')) as writer:
            for label in (1, 2, 1):
                writer.add(label, b'x')
    assert os.listdir(tmp_path) == []  # aborted: no files, no temps


# --- header ----------------------------------------------------------------
def test_pack_header_by_hand():
    assert pack_header(3.0, b'x', id=7) == struct.pack(
        '<IfQQ', 0, 3.0, 7, 0) + b'x'
    assert pack_header([5, 9], b'') == struct.pack(
        '<IfQQ', 2, 0.0, 0, 0) + struct.pack('<ff', 5, 9)
    header, rest = unpack_header(pack_header([1.5, 2, 3], b'img', 9, 1))
    assert header.flag == 3 and header.label.dtype == np.float32
    assert header.label.tolist() == [1.5, 2, 3]
    assert (header.id, header.id2, rest) == (9, 1, b'img')


# --- errors ----------------------------------------------------------------
@pytest.mark.parametrize('text, message', [
    ('1\t0\nfoo\n', r'line 2: expected "key<TAB>offset"'),
    ('1\t0\n2\t0\t5\n', r'line 2: expected "key<TAB>offset"'),
    ('1\t0\n\n2\t0\n1\t0\n', 'line 4: duplicate key 1 \\(first on line 1'),
    ('1\t0\n2\t99999\n', 'line 2: key 2 has offset 99999 past the end of '
     'the .rec file \\(16 bytes\\)'),
    ('', 'no records'),
])
def test_bad_index(tmp_path, text, message):
    rec = write_pack(tmp_path, {1: b'abcdefgh'})
    idx = tmp_path / 'bad.idx'
    idx.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        IndexedRecordReader(rec, str(idx))
    assert 'bad.idx' in str(err.value)
    with pytest.raises(FileNotFoundError, match='nope.idx'):
        read_index(str(tmp_path / 'nope.idx'))


def test_truncated_record(tmp_path):
    rec = write_pack(tmp_path, {0: b'a' * 8, 1: b'b' * 40})
    with open(rec, 'r+b') as f:
        f.truncate(16 + 8 + 20)  # record 1 keeps 20 of its 40 bytes
    reader = IndexedRecordReader(rec)
    assert reader.read(0) == b'a' * 8
    with pytest.raises(ValueError, match=r'x.rec: record 1: truncated: the '
                       'part at offset 16 has length 40 but the file ends '
                       'after 20 bytes'):
        reader.read(1)


def test_bad_magic_and_continuation_flag(tmp_path):
    rec = write_pack(tmp_path, {0: b'abcdefgh', 1: b'ijkl'})
    idx = tmp_path / 'shifted.idx'
    idx.write_text('0\t0\n1\t4\n')  # key 1 points into record 0
    reader = IndexedRecordReader(rec, str(idx))
    with pytest.raises(ValueError, match='x.rec: record 1: bad magic '
                       '0x00000008 at offset 4, expected 0xced7230a'):
        reader.read(1)
    bad = tmp_path / 'cflag.rec'
    bad.write_bytes(MAGIC + lrec(2, 4) + b'abcd')  # a middle part first
    (tmp_path / 'cflag.idx').write_text('5\t0\n')
    with pytest.raises(ValueError, match='cflag.rec: record 5: part at '
                       'offset 0 has continuation flag 2, expected 0 or 1'):
        IndexedRecordReader(str(bad)).read(5)


def test_bad_header_flag(tmp_path):
    record = struct.pack('<IfQQ', 1000, 0.0, 0, 0) + b'only 12 byte'
    rec = write_pack(tmp_path, {3: record, 4: b'short'})
    reader = IndexedRecordReader(rec)
    with pytest.raises(ValueError, match='x.rec: record 3 has header flag '
                       '1000, expected at most 3'):
        reader.read_header(3)
    with pytest.raises(ValueError, match=f'x.rec: record 4 is 5 bytes, '
                       f'shorter than the {IR_SIZE}-byte'):
        reader.read_header(4)


def test_bad_layout(tmp_path):
    rec = write_pack(tmp_path, {0: pack_header(5.0), 1: pack_header(0.0)})
    header1 = write_pack(tmp_path, {0: pack_header([4.0]), 1: b''}, 'one')
    with pytest.raises(ValueError, match='one.rec: record 0 has header '
                       'flag 1, expected 0'):
        read_layout(IndexedRecordReader(header1))
    # record 0 with flag 0 is an image: no header, every key is an image
    keys, ranges = read_layout(IndexedRecordReader(rec))
    assert keys.tolist() == [0, 1] and ranges is None
    missing = write_pack(tmp_path, {0: pack_header([4, 6]), 1: b'',
                                    2: b''}, 'missing')
    with pytest.raises(ValueError, match='missing.rec: record 0: the header'
                       ' says image records have keys 1..3, but '
                       '.*missing.idx has no key 3'):
        read_layout(IndexedRecordReader(missing))
    outside = write_pack(tmp_path, {0: pack_header([2, 3]), 1: b'',
                                    2: pack_header([1, 5])}, 'outside')
    with pytest.raises(ValueError, match=r'outside.rec: record 2: identity '
                       r'range \(1, 5\) is not inside the image keys 1..1'):
        read_layout(IndexedRecordReader(outside))


# --- processes -------------------------------------------------------------
def test_lazy_handle_pickles_and_reopens_per_process(tmp_path):
    rec = write_pack(tmp_path, {0: b'zero', 1: b'one'})
    reader = IndexedRecordReader(rec)
    assert reader._file is None  # nothing opened before the first read
    assert reader.read(1) == b'one'
    first = reader._file
    clone = pickle.loads(pickle.dumps(reader))
    assert clone._file is None and clone.read(0) == b'zero'
    reader._pid = -1  # as seen from a forked child
    assert reader.read(0) == b'zero' and reader._file is not first
    assert reader._pid == os.getpid()
    reader.close()
    assert reader._file is None and reader.read(1) == b'one'


def test_writer_is_atomic(tmp_path):
    rec = write_pack(tmp_path, {0: b'old'})
    before = open(rec, 'rb').read()
    with pytest.raises(RuntimeError):
        with IndexedRecordWriter(rec) as writer:
            writer.write(0, b'new')
            raise RuntimeError('crash')
    assert open(rec, 'rb').read() == before
    assert sorted(os.listdir(tmp_path)) == ['x.idx', 'x.rec']
    with pytest.raises(ValueError, match='key 0 written twice'):
        with IndexedRecordWriter(str(tmp_path / 'y.rec')) as writer:
            writer.write(0, b'a')
            writer.write(0, b'b')
    shutil.rmtree(tmp_path)
