"""Tests of the verification .bin reader, writer and VerificationBin."""
import os
import pickle
import struct
import sys

import cv2
import numpy as np
import pytest

from facessl.datasets.synthetic import SyntheticFaceGenerator
from facessl.datasets.synthetic.export_bin import (
    sample_pairs, write_synthetic_verification_bin)
from facessl.datasets.verification_bin import (UnsafePickleError,
                                               VerificationBin,
                                               load_verification_bin,
                                               write_verification_bin)
from facessl.registry import DATASETS


def _images(num, size=(12, 16), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (*size, 3), np.uint8) for _ in range(num)]


def _png(img):
    return cv2.imencode('.png', img)[1].tobytes()


@pytest.fixture(scope='module')
def two_sets(tmp_path_factory):
    """lfw.bin (3 pairs) and cfp_fp.bin (2 pairs) of random PNGs."""
    root = tmp_path_factory.mktemp('bins')
    imgs = _images(10)
    write_verification_bin(
        str(root / 'lfw.bin'), [_png(i) for i in imgs[:6]],
        [True, False, True])
    write_verification_bin(
        str(root / 'cfp_fp.bin'), [_png(i) for i in imgs[6:]],
        [False, True])
    return root, imgs


def test_round_trip_flip_and_meta_keys(two_sets):
    root, imgs = two_sets
    ds = DATASETS.build(
        dict(
            type='VerificationBin',
            data_root=str(root),
            bin_files=['lfw.bin', 'cfp_fp.bin'],
            image_size=(12, 16)))
    assert isinstance(ds, VerificationBin)
    assert len(ds) == 20  # 10 images, each original then flipped
    assert ds.metainfo['set_names'] == ('lfw', 'cfp_fp')
    assert ds.metainfo['num_pairs'] == (3, 2)
    for idx in range(20):
        info = ds[idx]
        img_index, flip = divmod(idx, 2)
        assert info['img_index'] == img_index
        assert info['flip'] is bool(flip)
        expected = imgs[img_index][:, ::-1] if flip else imgs[img_index]
        assert np.array_equal(info['img'], expected)  # lossless PNG
        assert info['img'].dtype == np.uint8
        assert info['img_shape'] == info['ori_shape'] == (12, 16)
    info = ds[9]  # lfw image 4, flipped: pair 2 (same)
    assert (info['set_name'], info['pair_index'], info['issame']) == ('lfw',
                                                                      2, True)
    info = ds[12]  # cfp_fp image 0 = global image 6: pair 0 (different)
    assert (info['set_name'], info['img_index'], info['pair_index'],
            info['issame']) == ('cfp_fp', 6, 0, False)


def test_no_flip_resize_and_pack(two_sets):
    root, imgs = two_sets
    ds = VerificationBin(
        str(root / 'lfw.bin'),
        image_size=8,
        flip_test=False,
        pipeline=[
            dict(
                type='PackInputs',
                meta_keys=('img_index', 'flip', 'set_name', 'pair_index',
                           'issame'))
        ])
    assert len(ds) == 6
    out = ds[5]
    assert tuple(out['inputs'].shape) == (3, 8, 8)
    sample = out['data_samples']
    assert (sample.img_index, sample.flip, sample.set_name,
            sample.pair_index, sample.issame) == (5, False, 'lfw', 2, True)
    resized = cv2.resize(imgs[5], (8, 8), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(out['inputs'].permute(1, 2, 0).numpy(), resized)


def test_synthetic_export_round_trip(tmp_path):
    path = str(tmp_path / 'synth.bin')
    out = write_synthetic_verification_bin(
        path, num_pairs=20, img_size=32, seed=1, identity_offset=500)
    # 10 folds of 2 pairs: one same, then one different, like LFW.
    assert out['issame'] == [True, False] * 10
    for (id1, idx1), (id2, idx2), same in out['pairs']:
        assert id1 >= 500 and id2 >= 500
        assert (id1 == id2 and idx1 != idx2) if same else id1 != id2
    ds = VerificationBin(path, image_size=32, flip_test=False)
    assert ds.metainfo['set_names'] == ('synth', )
    gen = SyntheticFaceGenerator(img_size=32, seed=1)
    for p in (0, 1, 7):
        first, second, same = out['pairs'][p]
        for k, key in enumerate((first, second)):
            info = ds[2 * p + k]
            assert np.array_equal(info['img'], gen(*key)['img'])
            assert info['issame'] is same and info['pair_index'] == p
    # deterministic: the same arguments write the same bytes
    again = str(tmp_path / 'again.bin')
    write_synthetic_verification_bin(
        again, num_pairs=20, img_size=32, seed=1, identity_offset=500)
    with open(path, 'rb') as a, open(again, 'rb') as b:
        assert a.read() == b.read()


def test_sample_pairs_balanced_folds():
    pairs = sample_pairs(40, 5, 3, num_folds=4, seed=2)
    flags = [same for _, _, same in pairs]
    assert flags == ([True] * 5 + [False] * 5) * 4
    with pytest.raises(ValueError, match='multiple of 2 \\* num_folds'):
        sample_pairs(30, 5, 3, num_folds=4)


# --- what real .bin files contain -------------------------------------
def _py2_numpy_array(data: bytes) -> bytes:
    """Protocol-2 opcodes of a (N,) uint8 array as Python 2 numpy
    pickles it (``numpy.core.multiarray._reconstruct``, py2 str data)."""
    dtype = (b'cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R'
             b'(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb')
    return (b'cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n'
            b'K\x00\x85U\x01b\x87R(K\x01J' + struct.pack('<i', len(data)) +
            b'\x85' + dtype + b'\x89T' + struct.pack('<I', len(data)) +
            data + b'tb')


def test_reads_python2_bins(tmp_path):
    """lfw2pack.py stored py2 str bytes, agedb2pack2.py/cfp2pack.py the
    cv2.imencode uint8 arrays; both read with encoding='bytes'."""
    imgs = _images(2, seed=3)
    blobs = [_png(i) for i in imgs]
    lfw_style = (b'\x80\x02](T' + struct.pack('<I', len(blobs[0])) +
                 blobs[0] + b'T' + struct.pack('<I', len(blobs[1])) +
                 blobs[1] + b'e]\x88a\x86.')
    agedb_style = (b'\x80\x02](' + _py2_numpy_array(blobs[0]) +
                   _py2_numpy_array(blobs[1]) + b'e]\x89a\x86.')
    for name, payload, same in (('lfw', lfw_style, True),
                                ('agedb_30', agedb_style, False)):
        if name == 'lfw':  # why the retry with encoding='bytes' is needed
            with pytest.raises(UnicodeDecodeError):
                pickle.loads(payload)
        path = tmp_path / f'{name}.bin'
        path.write_bytes(payload)
        bins, issame = load_verification_bin(str(path))
        assert bins == blobs and issame.tolist() == [same]


@pytest.mark.parametrize('protocol', [2, 5])
def test_reads_numpy_arrays_and_numpy_bools(tmp_path, protocol):
    blobs = [_png(i) for i in _images(4, seed=4)]
    arrays = [np.frombuffer(b, np.uint8).reshape(-1, 1) for b in blobs]
    path = tmp_path / 'cfp_fp.bin'
    path.write_bytes(
        pickle.dumps(
            (arrays[:2] + blobs[2:], [np.bool_(True), np.bool_(False)]),
            protocol=protocol))
    bins, issame = load_verification_bin(str(path))
    assert bins == blobs and issame.tolist() == [True, False]


class _Exploit:
    """Pickles to ``call(*args)``, run on a plain ``pickle.load``."""

    def __init__(self, call, args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


@pytest.mark.parametrize('kind', ['os.system', 'builtins.exec'])
def test_malicious_pickle_refused_without_running(tmp_path, kind):
    marker = tmp_path / 'pwned'
    if kind == 'os.system':
        exploit = _Exploit(os.system, (f'touch {marker}', ))
        name = f'{os.system.__module__}.system'  # posix.system on Linux
    else:
        exploit = _Exploit(exec, (f'open({str(marker)!r}, "w").close()', ))
        name = 'builtins.exec'
    payload = pickle.dumps(([exploit, b'x'], [True]), protocol=4)
    path = tmp_path / 'evil.bin'
    path.write_bytes(payload)
    with pytest.raises(UnsafePickleError) as err:
        load_verification_bin(str(path))
    assert str(path) in str(err.value) and name in str(err.value)
    assert not marker.exists()
    pickle.loads(payload)  # the exploit is real: a plain load runs it
    assert marker.exists()


def test_refused_global_is_not_imported(tmp_path):
    module = 'tabnanny'
    if module in sys.modules:
        pytest.skip(f'{module} already imported')
    path = tmp_path / 'odd.bin'
    path.write_bytes(b'\x80\x02ctabnanny\ncheck\n.')
    with pytest.raises(UnsafePickleError, match='tabnanny.check'):
        load_verification_bin(str(path))
    assert module not in sys.modules


def test_codecs_encode_only_latin1(tmp_path):
    path = tmp_path / 'codec.bin'
    path.write_bytes(b'\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00abX\x04'
                     b'\x00\x00\x00zlib\x86R.')
    with pytest.raises(ValueError, match='latin1'):
        load_verification_bin(str(path))


@pytest.mark.parametrize('obj, message', [
    ({'bins': []}, 'expected a pickled \\(bins, issame_list\\) pair, got '
     'a dict'),
    (([b'a', b'b'], [True], [0.]), 'got a tuple of 3 items'),
    (([b'a', b'b', b'c'], [True]), '3 images for 1 pairs'),
    (([], []), '0 images for 0 pairs'),
    (([b'a', 'b'], [True]), 'image 1 is a str, expected encoded image'),
    (([np.zeros(3, np.float32), b'b'], [True]), 'image 0 is a ndarray'),
    (([b'a', b'b'], ['yes']), "issame_list\\[0\\] is 'yes'"),
    ((b'ab', [True]), 'bins is a bytes, expected a list'),
])
def test_bad_structure(tmp_path, obj, message):
    path = tmp_path / 'bad.bin'
    path.write_bytes(pickle.dumps(obj))
    with pytest.raises(ValueError, match=message) as err:
        load_verification_bin(str(path))
    assert 'bad.bin' in str(err.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.bin'):
        load_verification_bin(str(tmp_path / 'nothere.bin'))
    junk = tmp_path / 'junk.bin'
    junk.write_bytes(b'\x80\x02]q\x00(')  # truncated
    with pytest.raises(ValueError, match='junk.bin: cannot unpickle'):
        load_verification_bin(str(junk))


def test_undecodable_image_and_bad_args(tmp_path, two_sets):
    path = str(tmp_path / 'broken.bin')
    imgs = _images(2)
    write_verification_bin(path, [_png(imgs[0]), b'not an image'], [True])
    ds = VerificationBin(path, image_size=None)
    assert ds[1]['img'].shape == (12, 16, 3)  # flipped image 0 is fine
    with pytest.raises(ValueError, match='broken.bin: image 1 \\(pair 0\\): '
                       'cannot decode the image \\(12 bytes\\)'):
        ds[2]
    root, _ = two_sets
    with pytest.raises(ValueError, match='unique'):
        VerificationBin([str(root / 'lfw.bin'), str(tmp_path / 'lfw.bin')])
    with pytest.raises(ValueError, match='image_size'):
        VerificationBin(path, image_size=(1, 2, 3))
