"""The README's demo: a short real DINO pretraining on synthetic faces.

Trains the demo config (progress with ETA in the log), evaluates kNN
identity accuracy on held-out synthetic identities before and after
pretraining, scores both networks with the face-recognition protocols on
synthetic held-out identities (an insightface verification ``.bin``:
10-fold accuracy; an IJB-C-style set: TAR@FAR and rank-1, through
``VerificationBin``/``VerificationMetric`` and ``IJBDataset``/``IJBMetric``),
runs a real-data sanity check (a linear probe of real LFW face crops vs
non-face patches, shipped by scikit-image), and leaves a checkpoint, the
log, TensorBoard scalars and pictures in the work dir.
"""
import argparse
import copy
import glob
import os.path as osp

import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from facessl.registry import DATASETS, MODELS
from facessl.utils.config import adapt_dist_backend, load_tool_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def default_config() -> str:
    """The DINO ViT-T/8 synthetic-faces config the README demo trains."""
    found = sorted(
        glob.glob(osp.join(REPO, 'configs/dino/dino_vit-t-p8_*synthetic*')))
    if not found:
        raise FileNotFoundError('no configs/dino/dino_vit-t-p8_*synthetic* '
                                'config found')
    return found[0]


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=None, help='config to train')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='overrides')
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


def write_eval_sets(cfg, root: str) -> None:
    """Write the synthetic verification .bin and IJB set once into root."""
    from facessl.datasets.synthetic.export_bin import \
        write_synthetic_verification_bin
    from facessl.datasets.synthetic.export_ijb import write_synthetic_ijb
    data = cfg.train_dataloader.dataset
    held_out = data.get('identity_offset', 0) + data.num_identities + 1000
    gen = dict(data.get('generator_cfg') or {})
    if not osp.isfile(osp.join(root, 'verification.bin')):
        write_synthetic_verification_bin(
            osp.join(root, 'verification.bin'),
            num_pairs=600,
            identity_offset=held_out,
            generator_cfg=gen)
    if not osp.isdir(osp.join(root, 'ijb')):
        write_synthetic_ijb(
            osp.join(root, 'ijb'),
            num_identities=50,
            identity_offset=held_out + 1000,
            generator_cfg=gen)


def face_protocols(cfg, model, root: str) -> dict:
    """Verification (.bin) and IJB metrics of ``model`` on the sets in root.
    """
    from facessl.evaluation.evaluate import evaluate
    results = {}
    for name in ('verification', 'ijb'):
        loader = copy.deepcopy(cfg[f'synthetic_{name}_dataloader'])
        metric = copy.deepcopy(cfg[f'synthetic_{name}_evaluator'])
        sub = root if name == 'verification' else osp.join(root, 'ijb')
        loader['dataset']['data_root'] = sub
        if 'data_root' in metric:
            metric['data_root'] = sub
        results.update(evaluate(model, loader, metric, desc=name))
    return results


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
    torch.manual_seed(cfg.randomness.get('seed', 0))
    random_model = MODELS.build(cfg.model)
    random_model.init_weights()  # as the Runner does for the trained one
    eval_root = osp.join(cfg.work_dir, 'synthetic_eval')
    has_protocols = 'synthetic_verification_dataloader' in cfg
    if has_protocols:
        write_eval_sets(cfg, eval_root)
    runner = Runner.from_cfg(cfg)
    runner.train()

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
    lines += ['=' * 60, f'work dir: {osp.abspath(cfg.work_dir)}',
              '  checkpoints: epoch_*.pth   log + scalars: <timestamp>/',
              '  pictures: <timestamp>/vis_data/vis_image/   '
              f'TensorBoard: tensorboard --logdir {cfg.work_dir}']
    runner.logger.info('\n'.join(lines))
    improved = all(end[k] > start[k] for k in start if 'top1' in k)
    if not improved:
        runner.logger.warning('kNN accuracy did not improve over the random '
                              'network in this run.')


if __name__ == '__main__':
    main()
