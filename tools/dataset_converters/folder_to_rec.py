"""Pack a face image folder (or list) into an insightface RecordIO pack.

Example::

    python tools/dataset_converters/folder_to_rec.py data/faces \
        data/faces_pack/train

reads ``data/faces/<identity>/<image>`` (or a ``path label`` list file,
paths relative to ``--root``, default the list's folder; see
:class:`facessl.datasets.FaceImageFolder`) and writes

- ``train.rec`` / ``train.idx``: insightface's layout (record 0 header,
  image keys ``1..N`` grouped by identity, identity-range records), image
  labels 0..M-1, readable by ``FaceRecordIO`` and by mxnet/insightface;
- ``train.lst``: ``key<TAB>label<TAB>source path`` per image (mxnet's list
  format), to trace a record back to its file;
- ``train.classes.txt``: the identity names in label order, usable as
  ``FaceRecordIO(classes='.../train.classes.txt')``.

Images are decoded and re-encoded (``--encoding``, ``--quality``), as
``mx.recordio.pack_img`` does. Every file goes to a temporary file that is
renamed into place at the end, the ``.idx`` last: an interrupted run
leaves any previous pack untouched.
"""
import argparse
import os.path as osp
import time

from facessl.datasets.face_folder import FaceImageFolder, load_bgr
from facessl.datasets.face_recordio import CHANNEL_ORDERS, encode_image
from facessl.datasets.face_pack import FacePackWriter
from facessl.utils.fileio import atomic_write


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Pack a face image folder or list into .rec/.idx.')
    parser.add_argument(
        'src', help='folder with one sub-folder per identity, or a '
        '"relative/path label" list file')
    parser.add_argument(
        'out_prefix', help='output path without suffix, e.g. out/train')
    parser.add_argument(
        '--root', help='root of the paths in a list file (default: the '
        "list's folder)")
    parser.add_argument(
        '--encoding', choices=('.jpg', '.png'), default='.jpg',
        help='image encoding in the records (default: .jpg)')
    parser.add_argument(
        '--quality', type=int, default=95, help='JPEG quality (default 95)')
    parser.add_argument(
        '--channel-order', choices=CHANNEL_ORDERS, default='rgb',
        help="'rgb' stores true colours like insightface's packs; 'bgr' "
        'swaps R and B (default: rgb)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def list_images(src: str, root: str = None) -> FaceImageFolder:
    """The images of a folder or list file, with contiguous labels."""
    if osp.isdir(src):
        return FaceImageFolder(data_root=src, load_image=False)
    if not osp.isfile(src):
        raise FileNotFoundError(f'{src}: no such folder or list file')
    root = root or osp.dirname(osp.abspath(src))
    return FaceImageFolder(
        data_root=root, ann_file=osp.abspath(src), load_image=False)


def main(argv=None):
    """Pack the images and print a one-line summary."""
    args = parse_args(argv)
    start = time.perf_counter()
    dataset = list_images(args.src, args.root)
    items = sorted(
        (dataset.get_data_info(i) for i in range(len(dataset))),
        key=lambda info: info['gt_label'])  # stable: grouped by identity
    classes = dataset.metainfo['classes']
    if not args.no_progress:
        from tqdm import tqdm
        items = tqdm(items, desc='folder_to_rec', unit='img')
    lines = []
    with FacePackWriter(args.out_prefix + '.rec') as writer:
        for info in items:
            img = load_bgr(info['img_path'])
            data = encode_image(img, args.encoding, args.quality,
                                args.channel_order)
            key = writer.add(info['gt_label'], data)
            lines.append(f'{key}\t{info["gt_label"]}\t{info["img_path"]}\n')
        atomic_write(''.join(lines), args.out_prefix + '.lst')
        atomic_write(''.join(f'{name}\n' for name in classes),
                     args.out_prefix + '.classes.txt')
    print(f'wrote {len(lines)} images of {len(classes)} identities to '
          f'{args.out_prefix}.rec in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
