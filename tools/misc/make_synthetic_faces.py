"""Write synthetic faces to disk as an image folder with annotations.

Example::

    python tools/misc/make_synthetic_faces.py --out data/synthetic \
        --num-identities 100 --images-per-identity 20

writes ``DIR/<identity>/<index>.png``, ``DIR/list.txt`` (``path label``)
and ``DIR/annotations.json`` (landmarks, attributes, pose, light per
image). Read it back with ``dict(type='FaceImageFolder', data_root=DIR)``
(labels from folders), ``ann_file='list.txt'`` or
``ann_file='annotations.json'`` (with landmarks).
"""
import argparse
import time

from facessl.datasets.synthetic.export import write_synthetic_faces


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Render a synthetic face set into an image folder.')
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
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    """Write the set and print a one-line summary."""
    args = parse_args(argv)
    start = time.perf_counter()
    ann = write_synthetic_faces(
        args.out,
        args.num_identities,
        args.images_per_identity,
        img_size=args.img_size,
        seed=args.seed,
        identity_offset=args.identity_offset,
        progress=not args.no_progress)
    print(f'wrote {len(ann["images"])} images of {len(ann["classes"])} '
          f'identities to {args.out} in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
