"""Train a facessl model: ``python tools/train.py CONFIG [options]``."""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config

from facessl.engine.cpu_allocator import tune_cpu_allocator
from facessl.engine.hooks import TrainingInterrupted
from facessl.utils.config import (adapt_dist_backend, add_launch_args,
                                  build_runner, enable_amp, load_tool_config,
                                  parse_tool_args)
from facessl.utils.dist import finish_dist, setup_cpu_dist
from facessl.utils.resume import find_resume_checkpoint


def parse_args():
    """Command-line arguments, as mmpretrain's ``tools/train.py``."""
    parser = argparse.ArgumentParser(description='Train a facessl model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir if no path is given')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (CUDA only)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr linearly with the total batch size')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training')
    parser.add_argument(
        '--trust-checkpoint',
        action='append',
        default=[],
        metavar='PATH',
        help='load this checkpoint with weights_only=False (only for files '
        'you trust, e.g. written by an older MMEngine); repeatable')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load a load_from checkpoint that does not match the model '
        '(mismatches are only warned about)')
    add_launch_args(parser)
    return parse_tool_args(parser)


def merge_args(cfg: Config, args) -> Config:
    """Apply the command-line options to the config."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(args.config))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.resume == 'auto':
        # the pointer's file, or the newest loadable checkpoint (warned)
        cfg.load_from = find_resume_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    cfg.launcher = args.launcher
    adapt_dist_backend(cfg)
    return cfg


def main():
    """Build the runner from the config and train."""
    args = parse_args()
    if not torch.cuda.is_available():
        # keep freed activations in the process instead of re-faulting
        # them every step (see facessl/engine/cpu_allocator.py)
        tune_cpu_allocator()
    cfg = load_tool_config(args.config, args.cfg_options,
                           args.trust_checkpoint)
    cfg = merge_args(cfg, args)
    setup_cpu_dist(cfg)  # gloo process group on CPU
    runner = build_runner(cfg, strict=not args.non_strict)
    try:
        runner.train()
    except TrainingInterrupted as stop:  # SIGTERM/SIGINT: saved, resumable
        print(stop, file=sys.stderr)
        sys.exit(stop.exit_code)
    finish_dist()


if __name__ == '__main__':
    main()
