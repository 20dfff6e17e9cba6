"""Write synthetic faces to disk in the formats facessl reads.

Example::

    python tools/misc/make_synthetic_faces.py --out data/synthetic \
        --num-identities 100 --images-per-identity 20 \
        --formats folder rec bin ijb annotations

Formats (``--formats``, default ``folder``), all under ``--out``:

- ``folder``: ``<identity>/<index>.png``, ``list.txt`` (``path label``)
  and ``annotations.json`` (landmarks, attributes, pose, light), read by
  ``FaceImageFolder`` (``ann_file='list.txt'`` or ``'annotations.json'``);
- ``rec``: ``train.rec`` + ``train.idx``, an insightface RecordIO pack of
  the same identities, read by ``FaceRecordIO``;
- ``bin``: ``verification.bin``, an insightface verification set of
  ``--num-pairs`` pairs of held-out identities (after the training ones),
  read by ``VerificationBin`` + ``VerificationMetric``;
- ``ijb``: ``ijb/``, an IJB-C-style set (meta files, loose crops, 1:1
  pairs, 1:N lists) of held-out identities, read by ``IJBDataset`` +
  ``IJBMetric``;
- ``annotations``: ``annotations/``, CelebA attribute lists, COCO
  keypoints, 300-W ``.pts``, RAF-DB and AffectNet lists of the training
  identities, read by ``CelebAAttributes``, ``CocoFaceLandmarks``, ...
"""
import argparse
import os.path as osp
import time

FORMATS = ('folder', 'rec', 'bin', 'ijb', 'annotations')


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Render a synthetic face set in facessl\'s formats.')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--num-identities', type=int, required=True)
    parser.add_argument('--images-per-identity', type=int, required=True)
    parser.add_argument('--img-size', type=int, default=112)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--identity-offset',
        type=int,
        default=0,
        help='first absolute identity id (to write held-out identities)')
    parser.add_argument(
        '--formats',
        nargs='+',
        choices=FORMATS,
        default=['folder'],
        help='what to write (default: folder)')
    parser.add_argument(
        '--num-pairs',
        type=int,
        default=600,
        help='pairs of the verification .bin (a multiple of 20)')
    parser.add_argument(
        '--ijb-identities',
        type=int,
        default=50,
        help='held-out identities of the IJB-style set')
    parser.add_argument(
        '--background',
        choices=('texture', 'plain'),
        default='texture',
        help='background of the faces (default: colourful texture)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bars')
    return parser.parse_args(argv)


def write(args) -> list:
    """Write every requested format; return one summary line each."""
    from facessl.datasets.synthetic.export import write_synthetic_faces
    from facessl.datasets.synthetic.export_annotations import \
        write_synthetic_annotations
    from facessl.datasets.synthetic.export_bin import \
        write_synthetic_verification_bin
    from facessl.datasets.synthetic.export_ijb import write_synthetic_ijb
    from facessl.datasets.synthetic.export_recordio import \
        write_synthetic_recordio

    common = dict(
        img_size=args.img_size,
        seed=args.seed,
        progress=not args.no_progress,
        generator_cfg=dict(background=args.background))
    train = dict(
        num_identities=args.num_identities,
        images_per_identity=args.images_per_identity,
        identity_offset=args.identity_offset)
    held_out = args.identity_offset + args.num_identities
    lines = []
    if 'folder' in args.formats:
        ann = write_synthetic_faces(args.out, **train, **common)
        lines.append(f'folder: {len(ann["images"])} images of '
                     f'{len(ann["classes"])} identities in {args.out}')
    if 'rec' in args.formats:
        out = write_synthetic_recordio(args.out, **train, **common)
        lines.append(f'rec: {out["num_images"]} images in {out["rec"]}')
    if 'bin' in args.formats:
        path = osp.join(args.out, 'verification.bin')
        out = write_synthetic_verification_bin(
            path,
            num_pairs=args.num_pairs,
            identity_offset=held_out,
            **common)
        lines.append(f'bin: {len(out["issame"])} pairs (identities from '
                     f'{held_out}) in {path}')
    if 'ijb' in args.formats:
        path = osp.join(args.out, 'ijb')
        out = write_synthetic_ijb(
            path,
            num_identities=args.ijb_identities,
            identity_offset=held_out,
            **common)
        lines.append(f'ijb: {out["num_images"]} images, '
                     f'{out["num_templates"]} templates, '
                     f'{out["num_pairs"]} template pairs in {path}')
    if 'annotations' in args.formats:
        path = osp.join(args.out, 'annotations')
        out = write_synthetic_annotations(path, **train, **common)
        lines.append(f'annotations: {out["num_images"]} images, '
                     f'{", ".join(sorted(out["files"]))} in {path}')
    return lines


def main(argv=None):
    """Write the requested formats and print a summary."""
    args = parse_args(argv)
    start = time.perf_counter()
    lines = write(args)
    print('\n'.join(lines))
    print(f'done in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
