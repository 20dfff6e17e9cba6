"""LAFS vs DINO vs no pretraining, fine-tuned on the same few-shot budget.

The comparison of the LAFS paper at small scale on synthetic faces: each
pretrained backbone is fine-tuned with the same few-shot subset settings
(the stage-3 config's; ``--fraction``/``--num-identities`` and ``--shots``
change them for all rows alike) and scored by ``tools/test.py`` on the
same held-out verification ``.bin``; a table of verification accuracy and
TAR@FAR is printed (and saved as ``report.json``):

- LAFS: Part fViT from the stage-2 teacher (``--lafs``), landmark
  regulariser towards the stage-1 landmark CNN (``--stage1``);
- DINO: the baseline ViT-T/8 from a DINO teacher (``--dino``), fine-tuned
  with ``--dino-ft-config`` (no landmarks);
- none: Part fViT with only its landmark CNN from stage 1, the
  transformer from scratch, the same regulariser.

Rows whose checkpoint is not given are skipped. ``--all`` first trains
stage 1, LAFS stage 2 and the DINO baseline (the configs' demo sizes with
``--full``, else the few-iteration settings of ``tools/lafs_pipeline.py``).
Example, after the chain::

    python tools/analysis/lafs_report.py \\
        --stage1 work_dirs/lafs_pipeline/stage1/epoch_1.pth \\
        --lafs work_dirs/lafs_pipeline/stage2/epoch_1.pth --dino DINO.pth
"""
import argparse
import json
import os.path as osp

from facessl.apis.lafs_chain import (DEFAULT_STAGE2_LANDMARK_KEY,
                                     SMALL_OPTIONS, STAGE1_PREFIX,
                                     STAGE2_PREFIX, stage2_options,
                                     stage3_options)
from facessl.apis.stage_chain import (check_checkpoint_prefix,
                                      eval_root_options, evaluate_stage,
                                      resolve_config, train_stage,
                                      write_eval_bin)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGE1_CONFIG = 'configs/lafs/part-fvit-t_cosface_1xb16-4e_synthetic-faces.py'
LAFS_CONFIG = \
    'configs/lafs/lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py'
DINO_CONFIG = 'configs/lafs/dino_vit-t-p8_1xb16-coslr-2e_synthetic-faces.py'
FT_CONFIG = \
    'configs/lafs/lafs-ft_part-fvit-t_cosface_1xb16-5e_synthetic-faces.py'
DINO_FT_CONFIG = \
    'configs/lafs/dino-ft_vit-t-p8_cosface_1xb16-5e_synthetic-faces.py'


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('--stage1', help='stage-1 checkpoint')
    parser.add_argument('--lafs', help='LAFS stage-2 checkpoint')
    parser.add_argument('--dino', help='DINO (ViT) checkpoint')
    parser.add_argument(
        '--all', action='store_true',
        help='train stage 1, LAFS and DINO first (missing ones only)')
    parser.add_argument('--stage1-config', default=STAGE1_CONFIG)
    parser.add_argument('--lafs-config', default=LAFS_CONFIG)
    parser.add_argument('--dino-config', default=DINO_CONFIG)
    parser.add_argument('--ft-config', default=FT_CONFIG)
    parser.add_argument('--dino-ft-config', default=DINO_FT_CONFIG)
    parser.add_argument(
        '--stage2-landmark-key',
        default=DEFAULT_STAGE2_LANDMARK_KEY,
        help='config key that takes the stage-1 checkpoint in the LAFS '
        'config')
    parser.add_argument('--work-dir', default='work_dirs/lafs_report')
    parser.add_argument(
        '--full', action='store_true',
        help="the configs' demo sizes instead of a few iterations")
    parser.add_argument('--shots', type=int, help='images per identity')
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument('--fraction', type=float, help='identity share')
    budget.add_argument('--num-identities', type=int,
                        help='identity count instead of a share')
    parser.add_argument('--num-pairs', type=int, default=200,
                        help='pairs of the verification .bin')
    return parser.parse_args(argv)


def budget_options(args, ft_config: str) -> dict:
    """The few-shot settings every fine-tuning row shares."""
    from mmengine.config import Config
    options = {} if args.full else dict(SMALL_OPTIONS[3])
    data = dict(Config.fromfile(ft_config).train_dataloader.dataset)
    for key in ('fraction', 'num_identities', 'shots'):
        data[key] = options.get(f'train_dataloader.dataset.{key}',
                                data.get(key))
    if args.shots is not None:
        data['shots'] = args.shots
    if args.fraction is not None:
        data['fraction'], data['num_identities'] = args.fraction, None
    if args.num_identities is not None:
        data['fraction'], data['num_identities'] = None, args.num_identities
    if data.get('num_identities') is not None:
        classes = data['num_identities']
    else:
        total = data['dataset']['num_identities']
        classes = max(1, int(data['fraction'] * total + 0.5))
    for key in ('fraction', 'num_identities', 'shots'):
        options[f'train_dataloader.dataset.{key}'] = data.get(key)
    options['model.head.num_classes'] = classes
    options['model.data_preprocessor.num_classes'] = classes
    return options


def pretrain(args, work_dir: str, eval_root: str, summary: dict) -> None:
    """--all: train the missing stage-1, LAFS and DINO checkpoints."""
    small = (lambda k: {}) if args.full else (
        lambda k: dict(SMALL_OPTIONS[k]))
    if not args.stage1:
        args.stage1 = train_stage(
            'stage1', args.stage1_config, REPO,
            {**small(1), **eval_root_options(eval_root)}, work_dir, summary,
            tag='lafs')
    if not args.lafs:
        args.lafs = train_stage(
            'lafs', args.lafs_config, REPO,
            {**small(2), **stage2_options(args.stage1,
                                          args.stage2_landmark_key)},
            work_dir, summary, tag='lafs')
    if not args.dino:
        args.dino = train_stage('dino', args.dino_config, REPO, small(2),
                                work_dir, summary, tag='lafs')


def rows(args, work_dir: str) -> list:
    """(name, fine-tune config, options) of every row that can run."""
    out = []
    if args.stage1 is None:
        if args.lafs or args.dino:
            print('[lafs_report] no --stage1: skipping the Part fViT rows '
                  '(LAFS, none)')
    else:
        check_checkpoint_prefix(args.stage1, STAGE1_PREFIX, 'stage-1')
        if args.lafs:
            check_checkpoint_prefix(args.lafs, STAGE2_PREFIX, 'LAFS stage-2')
            out.append(('LAFS', args.ft_config,
                        stage3_options(args.stage1, args.lafs)))
        out.append(('none', args.ft_config,
                    stage3_options(args.stage1, None)))
    if args.dino:
        check_checkpoint_prefix(args.dino, STAGE2_PREFIX, 'DINO')
        out.append(('DINO', args.dino_ft_config,
                    stage3_options(None, args.dino, landmark_reg=False)))
    return out


def format_table(results: dict, budget: dict) -> str:
    """The comparison table (verification accuracy and TAR@FAR, %)."""
    data = {k.rsplit('.', 1)[-1]: v for k, v in budget.items()
            if k.startswith('train_dataloader.dataset.')}
    lines = ['', 'LAFS comparison (synthetic verification .bin, few-shot '
             f"fine-tuning: fraction={data.get('fraction')}, "
             f"num_identities={data.get('num_identities')}, "
             f"shots={data.get('shots')})", '=' * 60]
    tar_keys = sorted({k for m in results.values() for k in m
                       if k.startswith('verification/tar@')})
    head = f'{"pretraining":14s}{"accuracy":>12s}{"+-":>8s}'
    head += ''.join(f'{k.split("/")[1]:>16s}' for k in tar_keys)
    lines.append(head)
    for name, metrics in results.items():
        line = (f'{name:14s}{metrics["verification/accuracy"]:12.2f}'
                f'{metrics["verification/accuracy_std"]:8.2f}')
        line += ''.join(f'{metrics[k]:16.2f}' for k in tar_keys)
        lines.append(line)
    lines.append('=' * 60)
    return '\n'.join(lines)


def main(argv=None):
    """Fine-tune and score every row; print the table."""
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    eval_root = osp.join(work_dir, 'synthetic_eval')
    if not (args.all or args.stage1 or args.dino):
        raise ValueError('nothing to compare: give --stage1 (with --lafs) '
                         'and/or --dino, or --all')
    write_eval_bin(eval_root, args.num_pairs)
    summary = {}
    if args.all:
        pretrain(args, work_dir, eval_root, summary)
    budget = budget_options(args, resolve_config(args.ft_config, REPO))
    todo = rows(args, work_dir)
    results = {}
    for name, config, chained in todo:
        stage = f'ft_{name.lower()}'
        subset = osp.join(work_dir, stage, 'few_shot_subset.json')
        options = {**budget, **chained,
                   'train_dataloader.dataset.subset_file': subset,
                   **eval_root_options(eval_root)}
        ckpt = train_stage(stage, config, REPO, options, work_dir, summary,
                           tag='lafs')
        results[name] = evaluate_stage(stage, ckpt, work_dir, REPO)
        summary[stage]['metrics'] = results[name]
    with open(osp.join(work_dir, 'report.json'), 'w') as f:
        json.dump(dict(budget=budget, runs=summary), f, indent=2)
    print(format_table(results, budget))
    return results


if __name__ == '__main__':
    main()
