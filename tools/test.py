"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``.

The checkpoint is loaded strictly: a checkpoint of another architecture is
an error naming the file and the first missing/unexpected keys and size
mismatches; ``--non-strict`` loads what matches (with warnings).
"""
import argparse
import json
import os.path as osp

from facessl.utils.checkpoint import check_checkpoint_file
from facessl.utils.config import (adapt_dist_backend, add_launch_args,
                                  build_runner, load_tool_config,
                                  parse_tool_args)
from facessl.utils.dist import finish_dist, setup_cpu_dist


def parse_args():
    """Command-line arguments, as mmpretrain's ``tools/test.py``."""
    parser = argparse.ArgumentParser(description='Evaluate a facessl model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument(
        '--out', help='write the metrics to this JSON file')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load the checkpoint with weights_only=False (trusted files)')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load a checkpoint that does not match the model (missing, '
        'unexpected or differently shaped weights are only warned about)')
    add_launch_args(parser)
    return parse_tool_args(parser)


def main():
    """Build the runner and run the test loop (the val settings if the
    config has no ``test_*`` settings)."""
    args = parse_args()
    check_checkpoint_file(args.checkpoint)  # before building the runner
    cfg = load_tool_config(
        args.config, args.cfg_options,
        [args.checkpoint] if args.trust_checkpoint else [])
    for part in ('dataloader', 'evaluator', 'cfg'):
        if cfg.get(f'test_{part}') is None and cfg.get(
                f'val_{part}') is not None:  # val_cfg = dict() counts
            cfg[f'test_{part}'] = cfg[f'val_{part}']
    if cfg.get('test_dataloader') is None:
        raise KeyError(f'{args.config}: no test_dataloader/val_dataloader '
                       'to evaluate on')
    name = osp.splitext(osp.basename(args.config))[0]
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', name)
    cfg.load_from, cfg.resume = args.checkpoint, False
    cfg.launcher = args.launcher
    adapt_dist_backend(cfg)
    setup_cpu_dist(cfg)  # gloo process group on CPU
    runner = build_runner(cfg, strict=not args.non_strict)
    metrics = runner.test()
    if args.out and runner.rank == 0:
        with open(args.out, 'w') as f:
            json.dump({k: float(v) if hasattr(v, '__float__') else v
                       for k, v in metrics.items()}, f, indent=2)
    finish_dist()
    return metrics


if __name__ == '__main__':
    main()
