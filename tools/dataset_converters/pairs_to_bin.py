"""Pack LFW-style ``pairs.txt`` and its images into a verification .bin.

Example::

    python tools/dataset_converters/pairs_to_bin.py \
        data/lfw_aligned data/lfw/pairs.txt data/val/lfw.bin

``pairs.txt`` (LFW's format): an optional header of integers (e.g.
``10 300``: folds and pairs per half-fold), then one pair per line,
``name n1 n2`` for two images of one person or ``name1 n1 name2 n2`` for
two people. Image ``n`` of ``name`` is ``IMAGE_ROOT/name/name_%04d.EXT``.

The .bin (insightface's format, a pickle of ``(bins, issame_list)``) keeps
each file's bytes unchanged when the image already has ``--image-size``;
other images are resized and re-encoded in their own format. Read it with
``dict(type='VerificationBin', bin_files='data/val/lfw.bin')``; the set
is named after the file stem.
"""
import argparse
import os.path as osp

import cv2
import numpy as np
from tqdm import tqdm

from facessl.datasets.verification_bin import write_verification_bin


def read_pairs(pairs_file: str, image_root: str, ext: str) -> list:
    """Parse ``pairs.txt`` into ``(path1, path2, issame, line)`` tuples.

    Args:
        pairs_file (str): the LFW-style pairs list.
        image_root (str): folder with one sub-folder per name.
        ext (str): image suffix, e.g. '.jpg'.

    Returns:
        list[tuple]: one item per pair line, in file order.

    Raises:
        ValueError: a line is neither a header nor a 3- or 4-column pair.
    """

    def image(name, num, lineno):
        try:
            num = int(num)
        except ValueError:
            raise ValueError(f'{pairs_file}: line {lineno}: image number '
                             f'{num!r} is not an integer')
        return osp.join(image_root, name, f'{name}_{num:04d}{ext}')

    pairs = []
    with open(pairs_file, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            cols = line.split()
            if not cols:
                continue
            if not pairs and len(cols) <= 2 and all(
                    c.isdigit() for c in cols):
                continue  # header such as "10 300"
            if len(cols) == 3:
                pair = (image(cols[0], cols[1], lineno),
                        image(cols[0], cols[2], lineno), True)
            elif len(cols) == 4:
                pair = (image(cols[0], cols[1], lineno),
                        image(cols[2], cols[3], lineno), False)
            else:
                raise ValueError(
                    f'{pairs_file}: line {lineno}: expected "name n1 n2" '
                    f'or "name1 n1 name2 n2", got {len(cols)} columns: '
                    f'{line.strip()!r}')
            pairs.append(pair + (lineno, ))
    if not pairs:
        raise ValueError(f'{pairs_file}: no pairs found')
    return pairs


def encoded_image(path: str, image_size, where: str) -> tuple:
    """The bytes to store for ``path`` and whether they were resized.

    Args:
        path (str): image file.
        image_size (int, optional): required height and width; None keeps
            every image as it is.
        where (str): ``'pairs.txt: line N'`` for errors.

    Returns:
        tuple: (bytes, resized flag).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{where}: image {path} not found')
    with open(path, 'rb') as f:
        data = f.read()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'{where}: image {path} cannot be decoded')
    if image_size is None or img.shape[:2] == (image_size, image_size):
        return data, False
    img = cv2.resize(img, (image_size, image_size),
                     interpolation=cv2.INTER_LINEAR)
    suffix = osp.splitext(path)[1].lower()
    ok, buf = cv2.imencode(suffix if suffix in ('.png', '.bmp') else '.jpg',
                           img)
    if not ok:
        raise ValueError(f'{where}: cannot re-encode {path}')
    return buf.tobytes(), True


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Pack LFW-style pairs.txt + images into a '
        'verification .bin (insightface format).')
    parser.add_argument('image_root', help='folder of <name>/ sub-folders')
    parser.add_argument('pairs_txt', help='LFW-style pairs list')
    parser.add_argument('out_bin', help='the .bin to write')
    parser.add_argument(
        '--image-size',
        type=int,
        default=112,
        help='resize images of another size to this square size; 0 keeps '
        'every image as it is (default: 112)')
    parser.add_argument(
        '--ext', default='.jpg', help='image suffix (default: .jpg)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    """Write the .bin and print a one-line summary."""
    args = parse_args(argv)
    ext = args.ext if args.ext.startswith('.') else f'.{args.ext}'
    pairs = read_pairs(args.pairs_txt, args.image_root, ext)
    size = args.image_size or None
    bins, issame, resized = [], [], 0
    for path1, path2, same, lineno in tqdm(
            pairs, desc='pairs', unit='pair', disable=args.no_progress):
        for path in (path1, path2):
            data, was_resized = encoded_image(
                path, size, f'{args.pairs_txt}: line {lineno}')
            bins.append(data)
            resized += was_resized
        issame.append(same)
    write_verification_bin(args.out_bin, bins, issame)
    note = f'; resized {resized} images to {size}x{size}' if resized else ''
    print(f'wrote {len(issame)} pairs ({sum(issame)} same, '
          f'{len(issame) - sum(issame)} different) to {args.out_bin}{note}')


if __name__ == '__main__':
    main()
