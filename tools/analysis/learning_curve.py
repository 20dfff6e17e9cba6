"""Learning curve of a self-supervised config on held-out identities.

Trains ``CONFIG`` for a budget of training minutes per seed and, every
``--eval-every`` minutes of training (evaluation time not counted), scores
the network with the config's validation protocol (kNN on held-out
identities for the synthetic-face configs) and, with ``--protocols``, the
config's synthetic face-recognition sets (``verification``, ``ijb``) or a
method's own protocol given as ``module:function``. The first evaluation
(iteration 0) is the randomly initialised network of that seed; raw pixels
of the validation images under the same kNN protocol give the second
baseline. Writes ``learning_curve.csv`` (one row per run, seed, evaluation
and metric; run ``train`` rows hold the loss and the learning rate, teacher
momentum and temperature as applied at that iteration, and with
``--diagnose`` gradient norms per parameter group and collapse indicators,
see :class:`DiagnosticsHook`) and ``learning_curve.png`` (mean +- std
over seeds, baselines as horizontal lines) into ``--out``; ``--plot
CSV [CSV ...]`` only draws several such files on one figure, by iteration.

A run stops at the budget or at the end of the config's schedule,
whichever comes first: shorten the schedule (``--cfg-options
train_cfg.max_epochs=...``) so that its learning-rate decay fits the
budget. The budget is wall-clock time, so set the thread count
(``OMP_NUM_THREADS``) and compare curves measured on the same machine.

Example::

    python tools/analysis/learning_curve.py \\
        configs/dino/dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py \\
        --minutes 6 --seeds 3 --eval-every 1 --out work_dirs/curve_dino
"""
import argparse
import copy
import csv
import importlib
import os
import os.path as osp
import time
from typing import Callable, Dict, List

import torch
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from facessl.engine.hooks import DiagnosticsHook
from facessl.evaluation.baselines import raw_pixel_features
from facessl.evaluation.evaluate import evaluate
from facessl.evaluation.metrics.knn import knn_accuracy
from facessl.evaluation.synthetic_protocols import (PROTOCOLS,
                                                    face_protocols,
                                                    write_eval_sets)
from facessl.registry import DATASETS
from facessl.utils.config import CfgOptionsAction, load_tool_config

CSV_COLUMNS = ('run', 'seed', 'iter', 'minutes', 'metric', 'value')


class BudgetSpent(Exception):
    """Raised by :class:`CurveHook` when the training budget is used up."""


class CurveHook(Hook):
    """Evaluate at fixed training-time intervals and stop at the budget.

    Args:
        evaluate_fn (callable): ``evaluate_fn(model) -> dict`` of metrics.
        budget_s (float): training seconds before :class:`BudgetSpent`.
        every_s (float): training seconds between evaluations.
        record (callable): ``record(iter, minutes, metrics, applied)``
            with ``applied`` the ``train/*`` scalars of the message hub
            (loss, lr, teacher momentum and temperature, ...).
    """

    priority = 'LOWEST'

    def __init__(self, evaluate_fn: Callable, budget_s: float,
                 every_s: float, record: Callable) -> None:
        self.evaluate_fn = evaluate_fn
        self.budget_s, self.every_s = budget_s, every_s
        self.record = record
        self.trained_s = 0.
        self.next_eval_s = every_s
        self._start = None

    def _evaluate(self, runner, iteration: int) -> None:
        # the schedules and the loss as actually applied (last iteration)
        applied = {
            key: hist.current()
            for key, hist in runner.message_hub.log_scalars.items()
            if key.startswith('train/') and not key.endswith('time')
        }
        self.record(iteration, self.trained_s / 60,
                    self.evaluate_fn(runner.model), applied)

    def before_train(self, runner) -> None:
        """Score the randomly initialised network (iteration 0)."""
        self._evaluate(runner, 0)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Start the clock of this iteration."""
        self._start = time.perf_counter()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Add the iteration time; evaluate or stop when due."""
        self.trained_s += time.perf_counter() - self._start
        done = runner.iter + 1
        spent = self.trained_s >= self.budget_s or done >= runner.max_iters
        if spent or self.trained_s >= self.next_eval_s:
            self._evaluate(runner, done)
            while self.next_eval_s <= self.trained_s:
                self.next_eval_s += self.every_s
        if spent:
            raise BudgetSpent


def load_protocol(spec: str) -> Callable:
    """A downstream protocol: a synthetic set name or ``module:function``.

    A built-in name (``verification``, ``ijb``) scores the config's
    ``synthetic_<name>_*`` set; ``module:function`` is called as
    ``function(cfg, model, work_dir) -> dict`` (a method's own protocol,
    e.g. few-shot identification or attribute probing).
    """
    if spec in PROTOCOLS:
        return lambda cfg, model, work_dir: face_protocols(
            cfg, model, osp.join(work_dir, 'synthetic_eval'), (spec, ))
    module, _, name = spec.partition(':')
    if not name:
        raise ValueError(f'--protocols {spec!r}: expected one of '
                         f'{", ".join(PROTOCOLS)} or module:function')
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f'--protocols {spec!r}: cannot load it ({err})')


def curve_config(cfg, seed: int, work_dir: str):
    """A copy of ``cfg`` for one curve run: seed, no checkpoints/pictures."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.pop('visualization', None)
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks', []) if 'Visualization' not in
        h['type'] and h['type'] != 'ValidateAtStartHook']
    cfg.visualizer = dict(type='UniversalVisualizer',
                          vis_backends=[dict(type='LocalVisBackend')])
    cfg.train_cfg = dict(cfg.train_cfg, val_interval=10**9)
    return cfg


def raw_pixel_scores(cfg) -> Dict[str, float]:
    """kNN of raw validation pixels, with the config's kNN settings."""
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    pre = cfg.get('data_preprocessor') or cfg.model.get(
        'data_preprocessor') or {}
    feats, labels = raw_pixel_features(
        dataset, pre.get('mean', (127.5, ) * 3), pre.get('std', (127.5, ) * 3))
    metric = dict(cfg.val_evaluator)
    scores = knn_accuracy(
        feats, labels, k=metric.get('k', 20),
        temperature=metric.get('temperature', 0.07),
        topk=metric.get('topk', (1, )))
    prefix = metric.get('prefix') or 'knn'
    return {f'{prefix}/{k}': v for k, v in scores.items()}


def run_seed(cfg, seed: int, args, protocols: List[Callable],
             rows: list) -> None:
    """Train one seed under the budget, appending CSV rows."""
    work_dir = osp.join(args.out, f'seed_{seed}')
    cfg = curve_config(cfg, seed, work_dir)

    def scores(model):
        # the config's validation metrics (kNN on held-out identities)
        out = evaluate(model, cfg.val_dataloader, cfg.val_evaluator)
        for fn in protocols:
            out.update(fn(cfg, model, args.out))
        return out

    def record(iteration, minutes, metrics, applied):
        for run, values in (('pretrain', metrics), ('train', applied)):
            rows.extend((run, seed, iteration, round(minutes, 4), key,
                         float(value)) for key, value in values.items())
        print(f'[curve] seed {seed} iter {iteration} '
              f'{minutes:.2f} min: ' + ', '.join(
                  f'{k} {v:.2f}' for k, v in metrics.items()), flush=True)

    torch.manual_seed(seed)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(
        CurveHook(scores, args.minutes * 60, args.eval_every * 60, record))
    if args.diagnose:
        runner.register_hook(DiagnosticsHook())
    try:
        runner.train()
    except BudgetSpent:
        pass


def write_csv(rows: list, path: str) -> None:
    """Write the rows under :data:`CSV_COLUMNS`."""
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)


def read_csv(path: str) -> list:
    """Rows of a ``learning_curve.csv`` as :func:`write_csv` wrote them."""
    with open(path, newline='') as f:
        reader = csv.reader(f)
        if tuple(next(reader, ())) != CSV_COLUMNS:
            raise ValueError(f'{path}: expected the header '
                             f'{",".join(CSV_COLUMNS)}')
        return [(r[0], r[1], int(r[2]), float(r[3]), r[4], float(r[5]))
                for r in reader]


def plot(series: Dict[str, list], path: str, title: str,
         x: str = 'minutes') -> None:
    """Mean +- std over seeds per evaluation, baselines as lines.

    Args:
        series (dict): label -> CSV rows of one config.
        path (str): output PNG.
        title (str): figure title.
        x (str): ``'minutes'`` or ``'iter'`` on the x axis.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    col = 3 if x == 'minutes' else 2
    metrics = sorted({r[4] for rows in series.values() for r in rows
                      if r[0] == 'pretrain'})
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(4.5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        raw = []
        for (label, rows), colour in zip(series.items(), 'bgmck'):
            curve: Dict[str, list] = {}
            for r in rows:
                if r[0] == 'pretrain' and r[4] == metric:
                    curve.setdefault(r[1], []).append((r[col], r[5]))
            raw += [r[5] for r in rows
                    if r[0] == 'raw_pixels' and r[4] == metric]
            if not curve:  # this series did not measure the metric
                continue
            # the k-th evaluation of every seed, averaged over seeds
            n = min(len(v) for v in curve.values())
            pts = torch.tensor([v[:n] for v in curve.values()])
            xs, ys = pts[..., 0].mean(0), pts[..., 1].mean(0)
            sd = pts[..., 1].std(0, unbiased=False)
            ax.plot(xs, ys, marker='o', color=colour,
                    label=f'{label} ({len(curve)} seeds)')
            ax.fill_between(xs, ys - sd, ys + sd, color=colour, alpha=0.2)
            ax.axhline(float(pts[:, 0, 1].mean()), color=colour, ls='--',
                       lw=0.8, label=f'{label}: random init')
        if raw:
            ax.axhline(raw[0], color='red', ls=':', label='raw pixels')
        ax.set_xlabel('training minutes' if x == 'minutes' else 'iteration')
        ax.set_ylabel(metric)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?')
    parser.add_argument(
        '--plot', nargs='+', metavar='CSV',
        help='only plot these learning_curve.csv files together (by '
        'iteration, labelled by their folder) into --out')
    parser.add_argument(
        '--minutes', type=float, default=0.,
        help='training minutes per seed (evaluation not counted)')
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--first-seed', type=int, default=0)
    parser.add_argument(
        '--eval-every', type=float, default=1.,
        help='training minutes between evaluations')
    parser.add_argument(
        '--protocols', nargs='*', default=[],
        help=f'downstream protocols: {", ".join(PROTOCOLS)} or '
        'module:function')
    parser.add_argument(
        '--diagnose', action='store_true',
        help='also log gradient norms per parameter group and, for a '
        'centred teacher-student loss, teacher entropies (train/diag/*)')
    parser.add_argument('--out', default='work_dirs/learning_curve')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='overrides')
    args = parser.parse_args()
    if args.plot:
        return args
    if args.config is None:
        parser.error('give a CONFIG to train, or --plot CSV...')
    if args.minutes <= 0 or args.eval_every <= 0 or args.seeds < 1:
        parser.error('--minutes and --eval-every must be > 0 and --seeds '
                     '>= 1')
    return args


def main():
    """Train every seed, write the CSV and the plot."""
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.plot:
        series = {
            osp.basename(osp.dirname(osp.abspath(p))): read_csv(p)
            for p in args.plot
        }
        plot(series, osp.join(args.out, 'learning_curve.png'),
             'kNN on held-out identities', x='iter')
        return
    cfg = load_tool_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'facessl'))
    protocols = [load_protocol(p) for p in args.protocols]
    if any(p in PROTOCOLS for p in args.protocols):
        write_eval_sets(cfg, osp.join(args.out, 'synthetic_eval'))
    rows = [('raw_pixels', '', 0, 0., key, value)
            for key, value in raw_pixel_scores(cfg).items()]
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run_seed(cfg, seed, args, protocols, rows)
        write_csv(rows, osp.join(args.out, 'learning_curve.csv'))
    plot({'pretraining': rows}, osp.join(args.out, 'learning_curve.png'),
         f'{osp.basename(args.config)}: {args.minutes:g} min x '
         f'{args.seeds} seeds')
    print(f'[curve] wrote {args.out}/learning_curve.csv and .png')


if __name__ == '__main__':
    main()
