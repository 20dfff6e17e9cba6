"""ProS on the shipped synthetic faces: pretraining curve, then downstream.

1. Pretrains ProS with ``tools/train.py`` (the CPU demo config by
   default) for ``--epochs`` epochs of ``--num-identities`` x
   ``--images-per-identity`` generated faces, logging every iteration
   (window 1), and reads back per iteration the loss, the cross-entropy,
   the entropy of the batch-mean student assignment and the number of
   dropped local crops (``vis_data/scalars.json``), and the config's kNN
   accuracy on held-out identities after the last epoch (``--no-knn``:
   skipped). ``--filter-checkpoint`` adds the face-aware crop filter (the
   pretraining backbone's config, loaded from that checkpoint with
   ``--filter-prefix``) and the un-augmented crops it scores: the views
   go the batched way (workers crop and flip, ``MultiViewPhotometric
   Preprocessor`` augments and appends the crops, see
   :func:`unaugmented_copy_options`).
2. Writes the synthetic annotation files (CelebA attributes, COCO
   landmarks split by identity, RAF-DB) and fine-tunes each of ``--tasks``
   from the ProS teacher backbone with the downstream configs, then
   scores the checkpoints with ``tools/test.py`` (``--out`` JSON).

Prints a table (start/end loss, min/max entropy against log K, dropped
crops, collapse warnings in the log, kNN, downstream metrics next to what
an image-blind predictor scores: each attribute's majority value, the
mean landmark shape) and saves it
with every per-iteration value as ``report.json`` in ``--work-dir``.
Example (about 10 minutes on 2 shared CPU cores; one thread per process
avoids thread oversubscription there)::

    OMP_NUM_THREADS=1 python tools/analysis/pros_report.py \\
        --epochs 3 --ft-epochs 5
"""
import argparse
import json
import math
import os.path as osp

import numpy as np
from tqdm import tqdm

from facessl.apis.stage_chain import (NO_VAL, evaluate_stage,
                                      resolve_config, train_stage)
from facessl.evaluation.baselines import majority_accuracy, mean_shape_nme
from facessl.utils.multiview_config import (local_views_per_image,
                                            unaugmented_copy_options)
from facessl.utils.scalars import scalar_records

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROS_CONFIG = 'configs/pros/pros_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py'
TASK_CONFIGS = dict(
    attributes='configs/downstream/'
    'attributes_vit-t-p8-linear_1xb32-20e_synthetic-faces.py',
    alignment='configs/downstream/'
    'alignment_vit-t-p8-upernet_1xb32-20e_synthetic-faces.py',
    expression='configs/downstream/'
    'expression_vit-t-p8-linear_1xb32-20e_synthetic-faces.py')
#: the metrics of each task shown in the table
TASK_METRICS = dict(
    attributes=('attributes/mean_accuracy', ),
    alignment=('landmarks/nme', 'landmarks/failure_rate', 'landmarks/auc'),
    expression=('expression/accuracy', 'expression/mean_class_accuracy'))
PRETRAIN_KEYS = ('loss', 'cross_entropy', 'assign_entropy',
                 'num_dropped_crops')
COLLAPSE_MARK = 'prototype collapse?'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('--config', default=PROS_CONFIG,
                        help='ProS pretraining config')
    parser.add_argument('--work-dir', default='work_dirs/pros_report')
    parser.add_argument('--epochs', type=int, default=3,
                        help='pretraining epochs')
    parser.add_argument('--num-identities', type=int, default=100,
                        help='pretraining identities')
    parser.add_argument('--images-per-identity', type=int, default=10)
    parser.add_argument('--batch-size', type=int, default=32,
                        help='pretraining batch size')
    parser.add_argument('--no-knn', dest='knn', action='store_false',
                        help="skip the config's kNN evaluation on held-out "
                        'identities after pretraining')
    parser.add_argument('--filter-checkpoint',
                        help='recognition checkpoint for the face-aware '
                        'crop filter (none: no filter)')
    parser.add_argument('--filter-prefix', default='teacher.backbone.')
    parser.add_argument('--filter-threshold', type=float, default=-0.5)
    parser.add_argument('--tasks', nargs='*', default=['attributes',
                                                       'alignment'],
                        choices=sorted(TASK_CONFIGS),
                        help='downstream tasks to fine-tune (none: skip)')
    parser.add_argument('--ft-epochs', type=int, default=5)
    parser.add_argument('--ft-identities', type=int, default=60,
                        help='identities of the downstream data')
    parser.add_argument('--ft-images-per-identity', type=int, default=10)
    parser.add_argument('--ft-img-size', type=int, default=64,
                        help='side of the downstream faces (and the '
                        "fine-tuned ViT's input)")
    parser.add_argument('--ft-batch-size', type=int, default=32)
    args = parser.parse_args(argv)
    for name in ('epochs', 'num_identities', 'images_per_identity',
                 'batch_size', 'ft_epochs', 'ft_identities',
                 'ft_images_per_identity', 'ft_img_size', 'ft_batch_size'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{getattr(args, name)}')
    if args.num_identities * args.images_per_identity < args.batch_size:
        parser.error('fewer pretraining images than --batch-size: an epoch '
                     'would have no iteration (drop_last)')
    return args


def schedule(epochs: int) -> list:
    """A 1-epoch linear warm-up (none for a 1-epoch run), then cosine to
    1e-6."""
    cosine = dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
                  begin=0, end=epochs, convert_to_iter_based=True)
    if epochs < 2:
        return [cosine]
    return [
        dict(type='LinearLR', start_factor=0.2, by_epoch=True, begin=0,
             end=1, convert_to_iter_based=True),
        dict(cosine, begin=1),
    ]


def common_options(epochs: int) -> dict:
    """A short run: every iteration logged unsmoothed, one checkpoint, no
    validation during training, loaders in the main process."""
    options = {
        'train_cfg.max_epochs': epochs,
        'train_cfg.val_interval': NO_VAL,
        'param_scheduler': schedule(epochs),
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': epochs,
        'log_processor.window_size': 1,
        'visualizer.vis_backends': [dict(type='LocalVisBackend')],
    }
    for loader in LOADERS:
        options[f'{loader}.num_workers'] = 0
        options[f'{loader}.persistent_workers'] = False
    return options


def pretrain_options(args, cfg) -> dict:
    """Options of the ProS pretraining run."""
    options = common_options(args.epochs)
    options.update({
        'train_dataloader.batch_size': args.batch_size,
        'train_dataloader.dataset.num_identities': args.num_identities,
        'train_dataloader.dataset.images_per_identity':
        args.images_per_identity,
        # the teacher EMA only: no kNN validation before training
        'custom_hooks': [
            dict(h) for h in cfg.custom_hooks
            if h['type'] != 'ValidateAtStartHook'
        ],
    })
    if not args.knn:
        options = {k: v for k, v in options.items()
                   if not k.startswith('val_dataloader.')}
        options.update(val_dataloader=None, val_evaluator=None,
                       val_cfg=None)
    if args.filter_checkpoint:
        options.update(unaugmented_copy_options(cfg))
        options['model.crop_filter'] = dict(
            type='FaceAwareCropFilter',
            backbone=cfg.model.backbone.to_dict(),
            checkpoint=osp.abspath(args.filter_checkpoint),
            prefix=args.filter_prefix,
            threshold=args.filter_threshold)
    return options


def finetune_options(args, task: str, data_root: str, pretrained: str,
                     cfg) -> dict:
    """Options of one downstream fine-tuning run from ``pretrained``."""
    options = common_options(args.ft_epochs)
    options.update({
        'model.backbone.img_size': args.ft_img_size,
        'model.backbone.init_cfg.checkpoint': pretrained,
        'model.backbone.init_cfg.prefix': 'teacher.backbone.',
    })
    root = osp.join(data_root, 'RAF-DB') if task == 'expression' \
        else data_root
    for loader in LOADERS:
        if cfg.get(loader) is not None:
            options[f'{loader}.batch_size'] = args.ft_batch_size
            options[f'{loader}.dataset.data_root'] = root
    return options


def read_scalars(work_dir: str) -> list:
    """Per-iteration training values (``iter`` and the
    :data:`PRETRAIN_KEYS` present), in iteration order, from the run's
    ``scalars.json`` (FileNotFoundError if there is none)."""
    records = {
        row['iter']: dict(iter=row['iter'],
                          **{k: row[k] for k in PRETRAIN_KEYS if k in row})
        for row in scalar_records(work_dir) if 'loss' in row and 'iter' in row
    }
    return [records[k] for k in sorted(records)]


def read_val_metrics(work_dir: str, prefix: str = 'knn/') -> dict:
    """The last logged validation metrics whose names start with
    ``prefix`` (empty if none), from the run's ``scalars.json``."""
    try:
        rows = scalar_records(work_dir)
    except FileNotFoundError:
        return {}
    metrics = {}
    for row in rows:
        found = {k: v for k, v in row.items() if k.startswith(prefix)}
        metrics = found or metrics
    return metrics


def summarise_pretraining(records: list, num_prototypes: int,
                          local_crops_per_iter: int) -> dict:
    """Start/end values and extremes of a pretraining curve.

    Args:
        records (list[dict]): :func:`read_scalars` output.
        num_prototypes (int): K (for log K, the entropy's maximum).
        local_crops_per_iter (int): batch size x local views per image.

    Returns:
        dict: ``iters``, ``loss_start``/``loss_end`` (first and last
        iteration), ``loss_start_mean``/``loss_end_mean`` (means over the
        first and last tenth of the iterations, at least one),
        ``entropy_min``/``entropy_max`` (with their iterations),
        ``log_k``, ``dropped_crops`` and ``local_crops`` (totals).
    """
    if not records:
        raise ValueError('no logged training iteration')
    width = max(1, len(records) // 10)
    loss = [r['loss'] for r in records]
    cross = [r.get('cross_entropy', math.nan) for r in records]
    entropy = [r['assign_entropy'] for r in records]
    low = min(range(len(entropy)), key=entropy.__getitem__)
    high = max(range(len(entropy)), key=entropy.__getitem__)
    return dict(
        iters=len(records),
        loss_start=loss[0],
        loss_end=loss[-1],
        loss_start_mean=sum(loss[:width]) / width,
        loss_end_mean=sum(loss[-width:]) / width,
        cross_entropy_start=cross[0],
        cross_entropy_end=cross[-1],
        entropy_start=entropy[0],
        entropy_end=entropy[-1],
        entropy_min=entropy[low],
        entropy_min_iter=records[low]['iter'],
        entropy_max=entropy[high],
        entropy_max_iter=records[high]['iter'],
        log_k=math.log(num_prototypes),
        dropped_crops=int(sum(r.get('num_dropped_crops', 0)
                              for r in records)),
        local_crops=local_crops_per_iter * len(records))


#: task -> (metric compared, baseline function, what the baseline is)
BASELINES = dict(
    attributes=('attributes/mean_accuracy', majority_accuracy,
                'majority value'),
    alignment=('landmarks/nme', mean_shape_nme, 'mean shape'))


def count_collapse_warnings(log_file: str) -> int:
    """Lines of the training output with ProS's collapse warning."""
    with open(log_file) as f:
        return sum(COLLAPSE_MARK in line for line in f)


def format_table(pre: dict, finetune: dict) -> str:
    """The report table.

    Args:
        pre (dict): :func:`summarise_pretraining` output, plus
            ``collapse_warnings``.
        finetune (dict): task -> its ``tools/test.py`` metrics, and
            optionally ``baselines``: metric -> (what, value).

    Returns:
        str: the table.
    """
    share = 100. * pre['dropped_crops'] / max(1, pre['local_crops'])
    lines = [
        '', f'ProS pretraining: {pre["iters"]} iterations', '=' * 64,
        f'{"":28s}{"start":>12s}{"end":>12s}',
        f'{"loss (iteration)":28s}{pre["loss_start"]:12.4f}'
        f'{pre["loss_end"]:12.4f}',
        f'{"loss (mean, 1/10 of run)":28s}{pre["loss_start_mean"]:12.4f}'
        f'{pre["loss_end_mean"]:12.4f}',
        f'{"cross-entropy (iteration)":28s}'
        f'{pre["cross_entropy_start"]:12.4f}{pre["cross_entropy_end"]:12.4f}',
        f'{"assign entropy":28s}{pre["entropy_start"]:12.4f}'
        f'{pre["entropy_end"]:12.4f}',
        f'{"":28s}{"min":>12s}{"max":>12s}{"log K":>12s}',
        f'{"assign entropy":28s}{pre["entropy_min"]:12.4f}'
        f'{pre["entropy_max"]:12.4f}{pre["log_k"]:12.4f}',
        f'{"dropped local crops":28s}{pre["dropped_crops"]:12d} of '
        f'{pre["local_crops"]} ({share:.1f} %)',
        f'{"collapse warnings":28s}{pre["collapse_warnings"]:12d}',
    ]
    for key, value in sorted(pre.get('knn', {}).items()):
        lines.append(f'{key + " (held-out ids)":28s}{value:12.2f}')
    finetune = dict(finetune)
    baselines = finetune.pop('baselines', {})
    if finetune:
        lines += ['-' * 64, 'Fine-tuned from the ProS teacher '
                  '(tools/test.py)']
        for task, metrics in finetune.items():
            for key in TASK_METRICS[task]:
                lines.append(f'{key:40s}{metrics[key]:12.4f}')
                if key in baselines:
                    what, value = baselines[key]
                    lines.append(f'{"  baseline: " + what:40s}'
                                 f'{value:12.4f}')
    lines.append('=' * 64)
    return '\n'.join(lines)


def main(argv=None):
    """Pretrain, fine-tune, score; print and save the report."""
    from mmengine.config import Config

    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    config = resolve_config(args.config, REPO)
    cfg = Config.fromfile(config)
    summary = {}
    ckpt = train_stage('pretrain', config, REPO,
                       pretrain_options(args, cfg), work_dir, summary,
                       tag='pros')
    stage_dir = osp.join(work_dir, 'pretrain')
    records = read_scalars(stage_dir)
    crops = args.batch_size * local_views_per_image(cfg)
    pre = summarise_pretraining(records, cfg.model.head.num_prototypes,
                                crops)
    pre['collapse_warnings'] = count_collapse_warnings(
        osp.join(stage_dir, 'train_output.log'))
    pre['knn'] = read_val_metrics(stage_dir)

    finetune = {}
    if args.tasks:
        from facessl.datasets.synthetic.export_annotations import \
            write_synthetic_annotations
        data_root = osp.join(work_dir, 'downstream_data')
        write_synthetic_annotations(
            data_root, args.ft_identities, args.ft_images_per_identity,
            img_size=args.ft_img_size, progress=True)
        for task in tqdm(args.tasks, desc='fine-tuning'):
            task_config = resolve_config(TASK_CONFIGS[task], REPO)
            options = finetune_options(args, task, data_root, ckpt,
                                       Config.fromfile(task_config))
            task_ckpt = train_stage(task, task_config, REPO, options,
                                    work_dir, summary, tag='pros')
            finetune[task] = evaluate_stage(task, task_ckpt, work_dir, REPO)
            summary[task]['metrics'] = finetune[task]
        finetune['baselines'] = {
            BASELINES[task][0]: (BASELINES[task][2], BASELINES[task][1](
                Config.fromfile(resolve_config(TASK_CONFIGS[task], REPO)),
                data_root))
            for task in args.tasks if task in BASELINES
        }
    with open(osp.join(work_dir, 'report.json'), 'w') as f:
        json.dump(dict(args=vars(args), pretraining=pre, curve=records,
                       baselines=finetune.get('baselines', {}),
                       runs=summary), f, indent=2)
    print(format_table(pre, finetune))
    return pre, finetune


if __name__ == '__main__':
    main()
