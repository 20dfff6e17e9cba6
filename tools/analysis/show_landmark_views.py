"""Draw the LAFS views of a few training faces with their landmarks.

``python tools/analysis/show_landmark_views.py CONFIG [--output-dir DIR]
[--num 4] [--landmarks FILE.npy] [--flip-indices 1,0,...] [--perturb 2]
[--local-subset 36] [--cfg-options key=value ...]``

Runs the train pipeline of CONFIG (which must contain a ``LAFSMultiView``)
on the first ``--num`` faces and writes one PNG per face: the photometric
image of every view (top row) and its geometric-only image (bottom row),
global views first, with the landmarks of the view drawn on both and
coloured by landmark id. The landmarks are the data set's ground truth, or
those of ``--landmarks``: a ``.npy`` of (K, 2) points shared by all faces
or (num_faces, K, 2), pixel (x, y) in the original face, which the
pipeline then crops and flips (give ``--flip-indices`` for layouts other
than 5, 68 or 98 points). ``--perturb`` and ``--local-subset`` apply the
model-side landmark augmentations (``LandmarkPerturb``, ``LandmarkSubset``
on the local views) to show what the student sees. With the batched
path (the workers give only the geometric crops) the photometric images
come from the config's ``MultiViewPhotometricPreprocessor``.
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from tqdm import tqdm

from facessl.datasets.transforms import LAFSMultiView
from facessl.models.utils import LandmarkPerturb, LandmarkSubset
from facessl.registry import DATASETS, MODELS
from facessl.utils import register_all_modules
from facessl.visualization import default_view_names, view_landmark_grid
from facessl.utils.config import CfgOptionsAction


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Draw LAFS views (photometric and geometric images) '
        'with their landmarks')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--output-dir',
        default=None,
        help='where to write the PNGs (default: work_dirs/'
        'show_landmark_views/<config name>)')
    parser.add_argument(
        '--num', type=int, default=4, help='number of faces to draw')
    parser.add_argument(
        '--landmarks',
        default=None,
        help='.npy of (K, 2) or (num_faces, K, 2) landmarks to use instead '
        'of the ground truth')
    parser.add_argument(
        '--flip-indices',
        default=None,
        help='comma-separated mirror partners of the --landmarks points')
    parser.add_argument(
        '--perturb',
        type=float,
        default=0.,
        help='LandmarkPerturb alpha in pixels (0: off)')
    parser.add_argument(
        '--local-subset',
        type=int,
        default=0,
        help='LandmarkSubset num on the local views (0: off)')
    parser.add_argument(
        '--num-global',
        type=int,
        default=2,
        help='leading global views (the others are local)')
    parser.add_argument(
        '--height', type=int, default=112, help='height of every view')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.dataset.num_identities=10)')
    return parser.parse_args()


def load_landmarks(path: str, num: int) -> np.ndarray:
    """(num, K, 2) landmarks from a ``.npy`` of (K, 2) or (N >= num, K, 2).

    Args:
        path (str): the ``.npy`` file.
        num (int): faces that need landmarks.

    Returns:
        np.ndarray: float32 (num, K, 2).
    """
    pts = np.load(path).astype(np.float32)
    if pts.ndim == 2:
        pts = np.broadcast_to(pts, (num, ) + pts.shape)
    if pts.ndim != 3 or pts.shape[2] != 2 or len(pts) < num:
        raise ValueError(f'{path}: expected (K, 2) or (N, K, 2) landmarks '
                         f'with N >= {num}, got shape {pts.shape}')
    return pts[:num]


def view_pipeline(dataset):
    """The pipeline transforms up to and including the LAFSMultiView."""
    transforms = list(dataset.pipeline.transforms)
    for i, t in enumerate(transforms):
        if isinstance(t, LAFSMultiView):
            return transforms[:i + 1]
    raise ValueError('the train pipeline has no LAFSMultiView; this tool '
                     'draws LAFS views (see configs/_base_/datasets/'
                     'synthetic_faces_lafs.py)')


def augment(points: np.ndarray, num_global: int, perturb: float,
            local_subset: int):
    """Model-side landmark augmentations of every view.

    Args:
        points (np.ndarray): (V, K, 2) landmarks of the views.
        num_global (int): leading global views (never subset).
        perturb (float): LandmarkPerturb alpha; 0 skips it.
        local_subset (int): LandmarkSubset num on local views; 0 skips it.

    Returns:
        tuple[list, list]: per view (N, 2) landmarks and (N,) ids.
    """
    lm = torch.as_tensor(points, dtype=torch.float32)
    ids = torch.arange(lm.shape[1]).repeat(len(lm), 1)
    if perturb > 0:
        lm, ids = LandmarkPerturb(perturb)(lm, ids)
    out_lm, out_ids = list(lm), list(ids)
    if local_subset > 0 and len(lm) > num_global:
        sub_lm, sub_ids = LandmarkSubset(local_subset)(lm[num_global:],
                                                       ids[num_global:])
        out_lm[num_global:], out_ids[num_global:] = list(sub_lm), list(
            sub_ids)
    return out_lm, out_ids


def add_photometric(results: dict, preprocessor) -> dict:
    """Prepend the photometric images to the ``V`` geometric crops of the
    batched path, drawn by ``preprocessor``'s ``augment`` (uint8 BGR)."""
    crops = results['img']
    views = [torch.from_numpy(np.ascontiguousarray(
        c.transpose(2, 0, 1)))[None] for c in crops]
    augmented = [v[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()
                 for v in preprocessor.augment(views)]
    return dict(results, img=augmented + list(crops))


def sample_picture(results: dict, args) -> np.ndarray:
    """The two rows of views of one face, as an RGB grid."""
    num_views = results['num_views']
    images = results['img']
    points = results.get('landmarks')
    if points is None:
        lms = ids = [None] * num_views
        num_ids = None
    else:
        lms, ids = augment(points, args.num_global, args.perturb,
                           args.local_subset)
        num_ids = points.shape[1]
    names = default_view_names(num_views, args.num_global)
    flips = results.get('view_flip', [False] * num_views)
    names = [n + (' flip' if f else '') for n, f in zip(names, flips)]
    return view_landmark_grid(
        [images[:num_views], images[num_views:]], [lms, lms], [ids, ids],
        num_ids=num_ids,
        col_titles=names,
        row_titles=['photometric (patches)', 'geometric (landmark CNN)'],
        height=args.height,
        channel_order='bgr')


def main():
    """Build the training data set and draw the views."""
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'facessl'))
    if 'train_dataloader' not in cfg or 'dataset' not in cfg.train_dataloader:
        raise KeyError(f'{args.config}: no train_dataloader.dataset')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    transforms = view_pipeline(dataset)
    prep = cfg.get('data_preprocessor') or {}
    prep = MODELS.build(prep) if prep.get(
        'type') == 'MultiViewPhotometricPreprocessor' else None
    num = min(args.num, len(dataset))
    given = None if args.landmarks is None else load_landmarks(
        args.landmarks, num)
    flip = None if args.flip_indices is None else [
        int(i) for i in args.flip_indices.split(',')
    ]
    out_dir = args.output_dir or osp.join(
        'work_dirs', 'show_landmark_views',
        osp.splitext(osp.basename(args.config))[0])
    os.makedirs(out_dir, exist_ok=True)
    for i in tqdm(range(num), desc='show_landmark_views', unit='face'):
        results = dataset.get_data_info(i)
        if given is not None:
            results['landmarks'] = given[i].copy()
            results.pop('landmarks_visible', None)
        if flip is not None:
            results['flip_indices'] = flip
        for t in transforms:
            results = t(results)
        if len(results['img']) == results['num_views']:
            if prep is None:
                raise ValueError(
                    f'{args.config}: the views have one image each but '
                    'data_preprocessor is no MultiViewPhotometric'
                    'Preprocessor to make the photometric ones')
            results = add_photometric(results, prep)
        picture = sample_picture(results, args)
        cv2.imwrite(osp.join(out_dir, f'{i:04d}.png'), picture[..., ::-1])
    print(f'saved {num} pictures to {out_dir}')


if __name__ == '__main__':
    main()
