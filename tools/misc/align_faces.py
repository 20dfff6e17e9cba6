"""Align face images to the ArcFace 112 x 112 template with 5 points.

Example::

    python tools/misc/align_faces.py landmarks.txt data/raw data/aligned

reads ``LANDMARK_FILE`` -- one ``relative/path x1 y1 ... x5 y5`` line per
image (the points in image order: left eye, right eye, nose tip, left and
right mouth corner; IJB's ``*_name_5pts_score.txt`` layout without the
score, or with it given ``--with-score``) -- and writes each image of
``IMAGE_ROOT`` aligned (insightface's ``norm_crop``: least-squares
similarity to the ArcFace template, bilinear warp, black border) to the
same relative path under ``OUT_DIR``.
"""
import argparse
import os
import os.path as osp
import sys
import time

import cv2
from tqdm import tqdm

from facessl.datasets.face_folder import load_bgr
from facessl.datasets.ijb_meta import read_landmarks
from facessl.datasets.transforms.alignment import (align_face,
                                                   template_points)


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Align faces to the ArcFace template with 5 points.')
    parser.add_argument(
        'landmark_file', help='"relative/path x1 y1 ... x5 y5" per line')
    parser.add_argument('image_root', help='root of the relative paths')
    parser.add_argument('out_dir', help='output root')
    parser.add_argument(
        '--image-size',
        type=int,
        default=112,
        help='output side, a multiple of 112 or 128 (default 112)')
    parser.add_argument(
        '--with-score',
        action='store_true',
        help='the lines end with a face score column (IJB layout)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    """Align every listed image and print a one-line summary."""
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        template_points(args.image_size)
        names, points, _ = read_landmarks(args.landmark_file,
                                          args.with_score)
        jobs = tqdm(
            list(zip(names, points)),
            desc='align',
            unit='img',
            disable=args.no_progress)
        for record, (name, pts) in enumerate(jobs, 1):
            img = load_bgr(
                osp.join(args.image_root, name),
                f'record {record} of {args.landmark_file}')
            out = osp.join(args.out_dir, name)
            os.makedirs(osp.dirname(out) or '.', exist_ok=True)
            if not cv2.imwrite(out, align_face(img, pts, args.image_size)):
                raise OSError(f'{out}: cv2.imwrite failed')
    except (ValueError, OSError) as err:  # FileNotFoundError is an OSError
        sys.exit(f'error: {err}')
    print(f'aligned {len(names)} images to {args.out_dir} in '
          f'{time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
