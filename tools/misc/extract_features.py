"""Extract frozen features of a config's test (or val) set to a .npy file.

Example::

    python tools/misc/extract_features.py CONFIG CHECKPOINT --out feats.npy \
        --split val --labels labels.npy

Builds the model (with the config's top-level ``data_preprocessor``, as the
Runner does) and the dataset of ``<split>_dataloader``, loads CHECKPOINT
strictly with facessl's ``weights_only`` loading (``--trust-checkpoint``
for a trusted older file), runs
:func:`facessl.evaluation.features.extract_features` (``model.val_step``;
the predictions carry ``feat``) with the dataloader's collate function, and
writes the (N, D) float32 features in dataset order, atomically; with
``--labels`` also the (N,) int64 ``gt_label`` of each image.
"""
import argparse
import io
import os.path as osp
from functools import partial

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.registry import FUNCTIONS, init_default_scope
from mmengine.runner import load_checkpoint

from facessl.evaluation.features import extract_features
from facessl.registry import DATASETS, MODELS
from facessl.utils.config import load_tool_config
from facessl.utils.fileio import atomic_write


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Extract features of a dataset with a checkpoint.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='features .npy file')
    parser.add_argument(
        '--split',
        choices=['val', 'test'],
        default=None,
        help="dataloader to read (default: 'test', else 'val')")
    parser.add_argument('--labels', help='also write the labels (.npy)')
    parser.add_argument(
        '--batch-size', type=int, help="default: the dataloader's")
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device to run the model on')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load the checkpoint with weights_only=False (trusted files)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args(argv)


def dataloader_config(cfg, split, config_path):
    """The ``<split>_dataloader`` settings (test, else val, by default)."""
    splits = [split] if split else ['test', 'val']
    for name in splits:
        loader = cfg.get(f'{name}_dataloader')
        if loader:
            return loader
    raise KeyError(f'{config_path}: no '
                   f'{" or ".join(s + "_dataloader" for s in splits)} to '
                   'extract features from')


def build_collate(loader_cfg):
    """The dataloader's collate function, as the Runner builds it."""
    collate = dict(loader_cfg.get('collate_fn', dict(type='pseudo_collate')))
    fn = collate.pop('type')
    fn = FUNCTIONS.get(fn) if isinstance(fn, str) else fn
    if fn is None:
        raise KeyError(f'collate_fn type {loader_cfg.collate_fn["type"]!r} '
                       'is not registered in FUNCTIONS')
    return partial(fn, **collate)


def save_npy(array: np.ndarray, path: str) -> None:
    """Write ``array`` as .npy atomically."""
    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write(buf.getvalue(), path)


def main(argv=None):
    """Extract and write the features; print a one-line summary."""
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = load_tool_config(
        args.config, args.cfg_options,
        [args.checkpoint] if args.trust_checkpoint else [])
    init_default_scope(cfg.get('default_scope', 'facessl'))
    loader = dataloader_config(cfg, args.split, args.config)
    model_cfg = dict(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model.to(args.device)
    dataset = DATASETS.build(loader.dataset)
    feats, labels = extract_features(
        model,
        dataset,
        batch_size=args.batch_size or loader.get('batch_size', 64),
        progress=not args.no_progress,
        collate_fn=build_collate(loader))
    save_npy(feats.numpy().astype(np.float32), args.out)
    if args.labels:
        save_npy(labels.numpy().astype(np.int64), args.labels)
    print(f'wrote {tuple(feats.shape)} features of {len(dataset)} images '
          f'to {args.out}' + (f' and labels to {args.labels}'
                              if args.labels else ''))


if __name__ == '__main__':
    main()
