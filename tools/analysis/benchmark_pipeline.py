"""Multi-crop data pipeline throughput: per-image, batched, mmpretrain.

``python tools/analysis/benchmark_pipeline.py CONFIG [--images N]
[--rounds R] [--batch-size B] [--device cpu|cuda] [--json OUT]``

Takes the multi-crop ``MultiView`` of CONFIG's train pipeline and times,
on the same decoded face images (generated once, so the dataset's own
cost is excluded), in alternating rounds in one process:

- ``per-image``: every transform on the worker, one image at a time
  (facessl's ColorJitter with hue, ScaledGaussianBlur, ...);
- ``batched worker``: what a worker does when the photometric part runs in
  ``MultiViewPhotometricPreprocessor``: crop and flip only (uint8);
- ``batched preprocessor``: that preprocessor on collated batches, per
  batch (on ``--device``);
- ``mmpretrain``: mmpretrain 1.2's own DINO view pipeline with the same
  crop sizes and probabilities (its ColorJitter with hue 0: its hue fails
  under NumPy 2; its GaussianBlur with sigma U(0.1, 2) px).

LAFS configs (``LAFSMultiView`` of ``TwoImageView`` views, or their
batched form: ``MultiViewWithGeometry`` and the preprocessor with
``append_unaugmented``) are timed the same way with each face's
landmarks: the per-image path keeps two images per view, the batched
worker one (the preprocessor appends it), and mmpretrain's pipeline is its
DINO view with the same crop and flip (it has no landmark bookkeeping).

Worker numbers are source images per second for one worker (each image
gives all its views); the preprocessor's are images per second of its
batches. Ratios compare medians over the rounds. With ``--workers N`` it
also runs both paths end to end through a ``DataLoader`` with N worker
processes (pinned memory and the preprocessor on ``--device``), as a
training run feeds its model.
"""
import argparse
import copy
import json
import statistics
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate

from facessl.datasets import SyntheticFaces
from facessl.models.utils.photometric_preprocessor import (
    batched_views, per_image_view_pipeline)
from facessl.registry import MODELS
from facessl.utils import register_all_modules
from facessl.utils.config import CfgOptionsAction


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--images', type=int, default=64,
                        help='images per round and path')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=32,
                        help='preprocessor batch size')
    parser.add_argument('--device', default=None,
                        help='preprocessor device (default: cuda if '
                        'available)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (a worker has one)')
    parser.add_argument('--workers', type=int, default=0,
                        help='also time a DataLoader with this many '
                        'worker processes feeding the preprocessor')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    return parser.parse_args()


#: multi-crop transforms this tool reads
MULTIVIEWS = ('MultiView', 'MultiViewWithGeometry', 'LAFSMultiView')
#: LAFS's geometric transforms -> mmpretrain's (same crop and flip)
PLAIN = dict(LandmarkRandomResizedCrop='RandomResizedCrop',
             LandmarkRandomFlip='RandomFlip')


def find_multiview(cfg: Config) -> dict:
    """The multi-crop transform of the train pipeline."""
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] in MULTIVIEWS:
            return t
    raise SystemExit(f'{cfg.filename}: the train pipeline has none of '
                     f'{", ".join(MULTIVIEWS)} (this tool measures '
                     'multi-crop pipelines)')


def build_paths(cfg: Config):
    """``(per_image, worker, preprocessor_cfg, mmpretrain)`` pipelines."""
    multi = find_multiview(cfg)
    prep = cfg.get('data_preprocessor', None) or cfg.model.get(
        'data_preprocessor', {})
    geometric, prep_cfg = batched_views(multi, prep)
    groups = prep_cfg['view_groups']
    num_views = [g['num_views'] for g in groups]
    lafs = prep_cfg['append_unaugmented']
    if lafs:
        per_image = [[dict(type='TwoImageView', geometric=b,
                           photometric=per_image_view_pipeline([], g))]
                     for b, g in zip(geometric, groups)]
    else:
        per_image = [per_image_view_pipeline(b, g)
                     for b, g in zip(geometric, groups)]

    def compose(branches, kind='MultiView', scope=''):
        return Compose([dict(type=kind, num_views=num_views,
                             transforms=[[dict(t, type=scope + t['type'])
                                          for t in b] for b in branches])])

    mmpretrain = [mmpretrain_view_pipeline(b, g)
                  for b, g in zip(geometric, groups)]
    return (compose(per_image, 'LAFSMultiView' if lafs else 'MultiView'),
            compose(geometric,
                    'MultiViewWithGeometry' if lafs else 'MultiView'),
            prep_cfg, compose(mmpretrain, scope='mmpretrain.'))


def _plain_geometric(t: dict) -> dict:
    """mmpretrain's transform for a (landmark-aware) crop or flip."""
    kind = t['type'].split('.')[-1]
    if kind not in PLAIN:
        return dict(t, backend='pillow') if kind == 'RandomResizedCrop' \
            else dict(t)
    if kind == 'LandmarkRandomFlip':
        return dict(type='RandomFlip', prob=t.get('prob', 0.5),
                    direction='horizontal')
    return dict(t, type=PLAIN[kind], backend='pillow')


def mmpretrain_view_pipeline(geometric: list, group: dict) -> list:
    """mmpretrain 1.2's DINO view: same crop/flip, its photometric ops."""
    jitter = dict(group.get('color_jitter') or {})
    blur = dict(group.get('blur') or {})
    solarize = dict(group.get('solarize') or {})
    out = [_plain_geometric(t) for t in geometric]
    if jitter:
        prob = jitter.pop('prob', 1.)
        out.append(dict(type='RandomApply', prob=prob, transforms=[
            dict(type='ColorJitter', **dict(jitter, hue=0.))]))
    out.append(dict(type='RandomGrayscale',
                    prob=group.get('grayscale_prob', 0.),
                    keep_channels=True,
                    channel_weights=group.get('grayscale_weights',
                                              (0.114, 0.587, 0.2989))))
    if blur.get('prob', 0) > 0:
        out.append(dict(type='GaussianBlur',
                        magnitude_range=blur.get('sigma_range', (0.1, 2.)),
                        magnitude_std='inf', prob=blur['prob']))
    if solarize.get('prob', 0) > 0:
        out.append(dict(type='Solarize', thr=solarize.get('thr', 128),
                        prob=solarize['prob']))
    return out


def sample(face: dict) -> dict:
    """A worker's input: a copy of the decoded image and its landmarks
    (what LAFS's views map; the other views ignore them)."""
    img = face['img']
    return dict(img=img.copy(), img_shape=img.shape[:2],
                ori_shape=img.shape[:2], landmarks=face['landmarks'].copy(),
                landmarks_visible=face['landmarks_visible'].copy())


def time_worker(pipeline: Compose, images) -> float:
    """Source images per second of one worker running ``pipeline``."""
    start = time.perf_counter()
    for face in images:
        pipeline(sample(face))
    return len(images) / (time.perf_counter() - start)


def time_preprocessor(worker: Compose, prep, images, batch_size,
                      device) -> float:
    """Images per second of the preprocessor on collated worker output."""
    views = [worker(sample(face))['img'] for face in images]
    batches = []
    for i in range(0, len(views), batch_size):
        chunk = views[i:i + batch_size]
        batches.append(dict(inputs=[
            torch.from_numpy(np.stack([v[k] for v in chunk])).permute(
                0, 3, 1, 2).contiguous() for k in range(len(chunk[0]))],
            data_samples=None))
    prep(copy.deepcopy(batches[0]), training=True)  # warm-up
    sync = torch.cuda.synchronize if device.type == 'cuda' else (
        lambda: None)
    sync()
    start = time.perf_counter()
    for batch in batches:
        prep(batch, training=True)
    sync()
    return len(views) / (time.perf_counter() - start)


class _Images(torch.utils.data.Dataset):
    """Pre-decoded images through a pipeline (picklable for workers)."""

    def __init__(self, images, pipeline):
        self.images, self.pipeline = images, pipeline

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        out = self.pipeline(sample(self.images[i]))
        views = [np.ascontiguousarray(v.transpose(2, 0, 1))
                 for v in out['img']]
        return dict(inputs=[torch.from_numpy(v) for v in views])


def time_loader(images, pipeline, prep, batch_size, workers, device,
                training) -> float:
    """Images per second of a DataLoader with ``workers`` processes and
    the preprocessor on ``device`` (``training`` switches its
    augmentation on)."""
    loader = torch.utils.data.DataLoader(
        _Images(images, pipeline), batch_size=batch_size,
        num_workers=workers, pin_memory=device.type == 'cuda',
        collate_fn=default_collate, persistent_workers=False)
    prep(dict(next(iter(loader)), data_samples=None), training=training)
    start = time.perf_counter()
    count = 0
    for batch in loader:
        prep(dict(batch, data_samples=None), training=training)
        count += batch['inputs'][0].shape[0]
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return count / (time.perf_counter() - start)


def main():
    """Run the rounds and print the table."""
    args = parse_args()
    register_all_modules()
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    per_image, worker, prep_cfg, mmpre = build_paths(cfg)
    prep = MODELS.build(prep_cfg).to(device)
    ds_cfg = cfg.train_dataloader.dataset
    size = ds_cfg.get('img_size', 112)
    faces = SyntheticFaces(num_identities=max(1, args.images // 4),
                           images_per_identity=4, img_size=size, seed=0,
                           pipeline=[])
    images = [faces[i] for i in range(args.images)]
    names = ['per-image', 'batched worker', 'mmpretrain',
             'batched preprocessor']
    runs = {n: [] for n in names}
    for _ in range(args.rounds):
        runs['per-image'].append(time_worker(per_image, images))
        runs['batched worker'].append(time_worker(worker, images))
        runs['mmpretrain'].append(time_worker(mmpre, images))
        runs['batched preprocessor'].append(time_preprocessor(
            worker, prep, images, args.batch_size, device))
    med = {n: statistics.median(v) for n, v in runs.items()}
    combined = 1. / (1. / med['batched worker'] +
                     1. / med['batched preprocessor'])
    res = dict(config=args.config, device=str(device), images=args.images,
               rounds=args.rounds, img_per_s=med, runs=runs,
               batched_worker_vs_mmpretrain=med['batched worker'] /
               med['mmpretrain'],
               per_image_vs_mmpretrain=med['per-image'] / med['mmpretrain'],
               batched_total_img_per_s=combined,
               batched_total_vs_per_image=combined / med['per-image'])
    print(f'{args.config} ({args.images} images x {args.rounds} rounds, '
          f'preprocessor on {device})')
    for n in names:
        print(f'  {n:22s} {med[n]:8.1f} img/s  (rounds: '
              + ', '.join(f'{v:.1f}' for v in runs[n]) + ')')
    print(f"  batched worker / mmpretrain: "
          f"{res['batched_worker_vs_mmpretrain']:.2f}x")
    print(f"  per-image / mmpretrain: {res['per_image_vs_mmpretrain']:.2f}x")
    print(f"  batched worker + preprocessor on one core: {combined:.1f} "
          f"img/s = {res['batched_total_vs_per_image']:.2f}x per-image")
    if args.workers:
        loaders = dict(
            per_image=time_loader(images, per_image, prep, args.batch_size,
                                  args.workers, device, training=False),
            batched=time_loader(images, worker, prep, args.batch_size,
                                args.workers, device, training=True))
        res['loader_img_per_s'] = loaders
        print(f'  DataLoader, {args.workers} workers: per-image '
              f"{loaders['per_image']:.1f} img/s, batched "
              f"{loaders['batched']:.1f} img/s")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=2)


if __name__ == '__main__':
    main()
