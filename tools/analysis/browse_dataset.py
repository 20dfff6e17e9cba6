"""Save the augmented views of a few training samples as image grids.

``python tools/analysis/browse_dataset.py CONFIG [--output-dir DIR]
[--num 8] [--cfg-options key=value ...]``

Builds ``train_dataloader.dataset`` of CONFIG (with its pipeline) and writes
one PNG per sample: every view (for multi-crop: global views, then local
ones) resized to a common height, with the identity and the view sizes.
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

from facessl.registry import DATASETS
from facessl.utils import register_all_modules
from facessl.visualization import default_view_names, view_grid
from facessl.utils.config import CfgOptionsAction


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Save augmented training views as image grids')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--output-dir',
        default=None,
        help='where to write the PNGs (default: '
        'work_dirs/browse_dataset/<config name>)')
    parser.add_argument(
        '--num', type=int, default=8, help='number of samples to show')
    parser.add_argument(
        '--height', type=int, default=112, help='height of every view')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.dataset.num_identities=10)')
    return parser.parse_args()


def sample_grid(item: dict, height: int = 112) -> np.ndarray:
    """The views of one packed sample as an RGB grid (one row).

    Args:
        item (dict): a dataset item after ``PackInputs``: ``inputs`` is one
            (C, H, W) uint8 BGR tensor or a list of them (one per view).
        height (int): common view height. Defaults to 112.

    Returns:
        np.ndarray: RGB uint8 image.
    """
    views = item['inputs']
    views = [views] if isinstance(views, torch.Tensor) else list(views)
    sample = item.get('data_samples')
    label = None if sample is None else sample.get('gt_label')
    title = None if label is None else [
        f'label {int(torch.as_tensor(label).flatten()[0])}'
    ]
    return view_grid([v[None] for v in views],
                     num_samples=1,
                     height=height,
                     channel_order='bgr',
                     view_names=default_view_names(len(views)),
                     row_titles=title)


def main():
    """Build the training dataset and save the grids."""
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'facessl'))
    if 'train_dataloader' not in cfg or 'dataset' not in cfg.train_dataloader:
        raise KeyError(f'{args.config}: no train_dataloader.dataset to '
                       'browse')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    out_dir = args.output_dir or osp.join(
        'work_dirs', 'browse_dataset',
        osp.splitext(osp.basename(args.config))[0])
    os.makedirs(out_dir, exist_ok=True)
    num = min(args.num, len(dataset))
    progress = ProgressBar(num)
    for i in range(num):
        grid = sample_grid(dataset[i], args.height)
        cv2.imwrite(osp.join(out_dir, f'{i:04d}.png'), grid[..., ::-1])
        progress.update()
    print(f'\nsaved {num} grids to {out_dir}')


if __name__ == '__main__':
    main()
