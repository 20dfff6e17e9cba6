"""Time FRA's training step against plain BYOL on the same backbone.

``python tools/analysis/benchmark_fra.py CONFIG [--batch-size B]
[--img-size S] [--steps N] [--warmup W] [--threads T] [--json OUT]
[--cfg-options k=v ...]``

Builds the FRA model of CONFIG and mmpretrain's ``BYOL`` from the same
``backbone``, ``neck`` (projector), ``head`` (predictor + loss) and
momentum, each with the config's optimiser (SyncBN becomes BN on one
process). Both train on the same synthetic batch: two uint8 views
(B, 3, S, S) and data samples with overlapping crop boxes and random
flips (which BYOL ignores). A step is ``model.train_step`` (data
preprocessing, forward of the online and momentum networks, momentum
update, loss, backward, optimiser step). The two models alternate step by
step (FRA first on even rounds, BYOL first on odd ones) so that both see
the same machine load; the report gives the median and mean seconds per
step of each, and the ratio FRA / BYOL (the FRA paper reports about 5 %
overhead for its mask decoder and region losses).
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample
from tqdm import tqdm

from facessl.utils.config import CfgOptionsAction


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='FRA vs BYOL training-step benchmark')
    parser.add_argument('config', help='an FRA config')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='images per view')
    parser.add_argument('--img-size', type=int,
                        help='view side (default: the config\'s crop size)')
    parser.add_argument('--steps', type=int, default=5,
                        help='timed steps of each model')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed steps of each model first')
    parser.add_argument('--threads', type=int, help='torch intra-op threads')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='override config settings, key=value')
    return parser.parse_args()


def _no_sync_bn(cfg):
    """Replace SyncBN by BN everywhere in a config (one process)."""
    if isinstance(cfg, dict):
        if cfg.get('type') == 'SyncBN':
            cfg['type'] = 'BN'
        for v in cfg.values():
            _no_sync_bn(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            _no_sync_bn(v)
    return cfg


def byol_config(fra: dict) -> dict:
    """mmpretrain ``BYOL`` with the FRA config's global branch."""
    return dict(
        type='BYOL',
        backbone=fra['backbone'],
        neck=fra['neck'],
        head=fra['head'],
        base_momentum=fra.get('base_momentum', 0.01),
        data_preprocessor=fra.get('data_preprocessor'))


def crop_size(cfg: Config) -> int:
    """Side of the first ``RandomResizedCrop`` of the train pipeline."""
    def walk(node):
        if isinstance(node, dict):
            if 'RandomResizedCrop' in str(node.get('type', '')):
                return node['scale']
            for v in node.values():
                found = walk(v)
                if found:
                    return found
        elif isinstance(node, (list, tuple)):
            for v in node:
                found = walk(v)
                if found:
                    return found
        return None
    size = walk(cfg.train_dataloader.dataset.pipeline)
    if size is None:
        raise ValueError(f'{cfg.filename}: no RandomResizedCrop in the '
                         'train pipeline; pass --img-size')
    return size if isinstance(size, int) else size[0]


def synthetic_batch(batch: int, size: int, rng: np.random.Generator):
    """Two uint8 views and data samples with overlapping crop geometry."""
    samples = []
    for _ in range(batch):
        boxes = []
        for _ in range(2):
            side = int(rng.integers(60, 101))
            x1, y1 = (int(v) for v in rng.integers(0, 128 - side, 2))
            boxes.append([x1, y1, x1 + side - 1, y1 + side - 1])
        s = DataSample()
        s.set_metainfo(dict(view_crop_bbox=np.array(boxes),
                            view_flip=rng.random(2) < 0.5))
        samples.append(s)
    views = [torch.from_numpy(rng.integers(0, 256, (batch, 3, size, size),
                                           dtype=np.uint8))
             for _ in range(2)]
    return dict(inputs=views, data_samples=samples)


def main():
    """Build both models, alternate their steps, print the ratio."""
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from facessl.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    from facessl.registry import MODELS

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model_cfg = _no_sync_bn(cfg.model.to_dict())
    size = args.img_size or crop_size(cfg)
    MessageHub.get_current_instance().update_info(
        'max_iters', args.warmup + args.steps)
    torch.manual_seed(args.seed)
    models = dict(FRA=MODELS.build(model_cfg),
                  BYOL=MODELS.build(byol_config(model_cfg)))
    wrappers = {}
    for name, model in models.items():
        model.init_weights()
        model.train()
        wrappers[name] = build_optim_wrapper(model, cfg.optim_wrapper)
    data = synthetic_batch(args.batch_size, size,
                           np.random.default_rng(args.seed))
    times = {name: [] for name in models}
    rounds = args.warmup + args.steps
    for i in tqdm(range(rounds), desc='alternating steps'):
        order = list(models) if i % 2 == 0 else list(models)[::-1]
        for name in order:
            start = time.perf_counter()
            models[name].train_step(data, wrappers[name])
            if i >= args.warmup:
                times[name].append(time.perf_counter() - start)
    result = dict(
        config=args.config, batch_size=args.batch_size, img_size=size,
        steps=args.steps, threads=torch.get_num_threads())
    for name, ts in times.items():
        result[f'{name}_median_s'] = statistics.median(ts)
        result[f'{name}_mean_s'] = statistics.fmean(ts)
    result['ratio_median'] = result['FRA_median_s'] / result['BYOL_median_s']
    result['ratio_mean'] = result['FRA_mean_s'] / result['BYOL_mean_s']
    print(f"batch {args.batch_size} x 2 views of {size} px, "
          f"{args.steps} timed steps each, {result['threads']} threads")
    for name in models:
        print(f"{name:5s} median {result[f'{name}_median_s']:.4f} s/step  "
              f"mean {result[f'{name}_mean_s']:.4f} s/step")
    print(f"FRA / BYOL: {result['ratio_median']:.3f} (median), "
          f"{result['ratio_mean']:.3f} (mean); overhead "
          f"{100 * (result['ratio_median'] - 1):+.1f} %")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
