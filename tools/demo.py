"""The README's demo: a short real DINO pretraining on synthetic faces.

Trains the demo config (progress with ETA in the log), evaluates kNN
identity accuracy on held-out synthetic identities before and after
pretraining, scores both networks with the face-recognition protocols on
synthetic held-out identities (an insightface verification ``.bin``:
10-fold accuracy; an IJB-C-style set: TAR@FAR and rank-1, through
``VerificationBin``/``VerificationMetric`` and ``IJBDataset``/``IJBMetric``),
runs a real-data sanity check (a linear probe of real LFW face crops vs
non-face patches, shipped by scikit-image), compares the kNN top-1 of the
pretrained network with the random one and with raw pixels on the same
held-out queries (bootstrap confidence intervals), and leaves a
checkpoint, the log, TensorBoard scalars and pictures in the work dir.
"""
import argparse
import copy
import os.path as osp

from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from facessl.evaluation.synthetic_protocols import (face_protocols,
                                                    write_eval_sets)
from facessl.registry import DATASETS
from facessl.utils.config import (CfgOptionsAction, adapt_dist_backend,
                                  load_tool_config)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


DEMO_CONFIG = ('configs/dino/'
               'dino_resnet18-w32_1xb32-coslr-40e_synthetic-faces.py')


def default_config() -> str:
    """The DINO synthetic-faces config the README demo trains."""
    path = osp.join(REPO, DEMO_CONFIG)
    if not osp.isfile(path):
        raise FileNotFoundError(f'the demo config {DEMO_CONFIG} is missing')
    return path


class KeepInitialModel(Hook):
    """Copy the network as the Runner initialised it, before any step.

    The random-init column then scores the very network whose kNN the
    validation before training reports.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.model = None

    def before_train(self, runner) -> None:
        """Keep a deep copy of ``runner.model`` (weights initialised)."""
        self.model = copy.deepcopy(runner.model)


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=None, help='config to train')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='overrides')
    return parser.parse_args()


def probe_real_faces(model, pipeline) -> float:
    """Linear-probe accuracy of face vs non-face on real LFW crops."""
    from facessl.evaluation.features import extract_features, linear_probe
    train = DATASETS.build(
        dict(type='LFWFaceSubset', split='train', pipeline=pipeline))
    test = DATASETS.build(
        dict(type='LFWFaceSubset', split='test', pipeline=pipeline))
    train_x, train_y = extract_features(model, train)
    test_x, test_y = extract_features(model, test)
    return linear_probe(train_x, train_y, test_x, test_y)


def knn_comparison(cfg, models: dict, num_resamples: int = 1000) -> tuple:
    """Lines comparing kNN top-1 of ``models`` and raw pixels, with CIs.

    Every network (and the raw validation pixels) is scored with the
    config's kNN settings on the same held-out queries; the intervals are
    95 % percentile bootstraps over those queries, the differences paired
    (:mod:`facessl.evaluation.bootstrap`).

    Returns:
        tuple: the lines, the validation dataset and ``{name: (features,
        labels)}`` of raw pixels and every model.
    """
    from facessl.evaluation.baselines import raw_pixel_features
    from facessl.evaluation.bootstrap import (bootstrap_ci,
                                              paired_bootstrap_ci)
    from facessl.evaluation.features import extract_features
    from facessl.evaluation.metrics.knn import knn_correct
    metric = cfg.val_evaluator
    knn = dict(k=metric.get('k', 20),
               temperature=metric.get('temperature', 0.07))
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    pre = cfg.get('data_preprocessor') or {}
    feats = {'raw pixels': raw_pixel_features(
        dataset, pre.get('mean', (127.5, ) * 3),
        pre.get('std', (127.5, ) * 3))}
    for name, model in models.items():
        feats[name] = extract_features(model, dataset)
    correct = {
        name: knn_correct(x, y, **knn).float() * 100
        for name, (x, y) in feats.items()
    }
    lines = [f'kNN top-1 on {len(dataset)} held-out images '
             '(95 % bootstrap CI over queries):']
    for name, values in correct.items():
        mean, low, high = bootstrap_ci(values, num_resamples)
        lines.append(f'  {name:14s}{mean:6.1f} % [{low:5.1f}, {high:5.1f}]')
    names = list(models)
    for other in ['raw pixels'] + names[:-1]:
        mean, low, high = paired_bootstrap_ci(correct[names[-1]],
                                              correct[other], num_resamples)
        verdict = ('better' if low > 0 else 'worse' if high < 0 else
                   'not distinguishable')
        lines.append(f'  {names[-1]} - {other}: {mean:+.1f} points '
                     f'[{low:+.1f}, {high:+.1f}] ({verdict})')
    return lines, dataset, feats


def draw_retrieval(runner, dataset, feats: dict, num_queries: int = 6,
                   k: int = 5) -> None:
    """File ``knn_retrieval``: held-out queries and their neighbours.

    The queries are evenly spaced over the validation set (several
    identities); each embedding's ``k`` nearest neighbours are framed
    green (same identity) or red.
    """
    from facessl.visualization import retrieval_grid, to_rgb_image
    queries = [i * len(dataset) // num_queries for i in range(num_queries)]
    images = [
        to_rgb_image(dataset[i]['inputs'], channel_order='bgr')
        for i in range(len(dataset))
    ]
    labels = feats['raw pixels'][1].tolist()
    grid = retrieval_grid(images, labels,
                          {name: x for name, (x, _) in feats.items()},
                          queries, k=k)
    runner.visualizer.add_image('knn_retrieval', grid, runner.iter)


def main():
    """Train, evaluate before/after, and print a summary."""
    args = parse_args()
    cfg = load_tool_config(args.config or default_config(), args.cfg_options)
    cfg.work_dir = args.work_dir
    cfg.launcher = 'none'
    adapt_dist_backend(cfg)
    hooks = cfg.setdefault('custom_hooks', [])
    if not any(h.get('type') == 'ValidateAtStartHook' for h in hooks):
        hooks.append(dict(type='ValidateAtStartHook'))

    # components build inside mmpretrain classes too: use facessl's scope
    init_default_scope(cfg.get('default_scope', 'facessl'))
    eval_root = osp.join(cfg.work_dir, 'synthetic_eval')
    has_protocols = 'synthetic_verification_dataloader' in cfg
    if has_protocols:
        write_eval_sets(cfg, eval_root)
    runner = Runner.from_cfg(cfg)
    initial = KeepInitialModel()
    runner.register_hook(initial)
    runner.train()
    random_model = initial.model

    start = next(h for h in runner.hooks
                 if type(h).__name__ == 'ValidateAtStartHook').metrics
    hub = runner.message_hub
    end = {k: hub.get_scalar(f'val/{k}').current() for k in start}
    pipeline = cfg.val_dataloader.dataset.pipeline
    probe_random = probe_real_faces(random_model, pipeline)
    probe_trained = probe_real_faces(runner.model, pipeline)
    protocols = ({}, {})
    if has_protocols:
        protocols = (face_protocols(cfg, random_model, eval_root),
                     face_protocols(cfg, runner.model, eval_root))

    lines = ['', 'facessl demo summary', '=' * 60,
             f'{"metric":34s}{"random init":>13s}{"pretrained":>13s}']
    for key in start:
        lines.append(f'{key:34s}{start[key]:13.2f}{end[key]:13.2f}')
    for key in protocols[0]:
        lines.append(f'{key:34s}{protocols[0][key]:13.2f}'
                     f'{protocols[1][key]:13.2f}')
    lines.append(f'{"real LFW face/non-face probe (%)":34s}'
                 f'{100 * probe_random:13.2f}{100 * probe_trained:13.2f}')
    comparison, dataset, feats = knn_comparison(
        cfg, {'random init': random_model, 'pretrained': runner.model})
    lines += [''] + comparison
    draw_retrieval(runner, dataset, feats)
    lines += ['=' * 60, f'work dir: {osp.abspath(cfg.work_dir)}',
              '  checkpoints: epoch_*.pth   log + scalars: <timestamp>/',
              '  pictures (views, activation, knn_retrieval): '
              '<timestamp>/vis_data/vis_image/   '
              f'TensorBoard: tensorboard --logdir {cfg.work_dir}']
    runner.logger.info('\n'.join(lines))
    improved = all(end[k] > start[k] for k in start if 'top1' in k)
    if not improved:
        runner.logger.warning('kNN accuracy did not improve over the random '
                              'network in this run.')


if __name__ == '__main__':
    main()
