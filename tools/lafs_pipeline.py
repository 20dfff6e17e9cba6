"""Run LAFS stage 1 -> stage 2 -> stage 3 on synthetic faces, chained.

Each stage is ``tools/train.py`` on a child config of the stage's config
(written into ``<work-dir>/stage<k>/config.py``) that adds the chained
checkpoints (see :mod:`facessl.apis.lafs_chain`):

- stage 1 (supervised Part fViT + CosFace) -> its checkpoint's
  ``backbone.landmark_cnn.*`` is stage 2's frozen landmark CNN
  (``--stage2-landmark-key``, LAFS's ``model.landmark_cnn_checkpoint``) and
  stage 3's landmark-regulariser reference;
- stage 2 (LAFS self-supervised) -> its ``teacher.backbone.*`` initialises
  stage 3's backbone;
- stage 3 (few-shot fine-tuning) is then scored on a synthetic
  verification ``.bin`` of held-out identities with ``tools/test.py``
  (accuracy, TAR@FAR), stage 1 too for reference.

By default every stage is shrunk to a few iterations (``SMALL_OPTIONS``:
the chain finishes in a few minutes on 2 CPU cores); ``--full`` runs the
configs' own demo sizes. ``--stage1-checkpoint`` / ``--stage2-checkpoint``
skip a stage and use the given checkpoint instead. Example::

    python tools/lafs_pipeline.py --work-dir work_dirs/lafs_pipeline
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import DictAction

from facessl.apis.lafs_chain import (DEFAULT_STAGE2_LANDMARK_KEY,
                                     SMALL_OPTIONS, STAGE1_PREFIX,
                                     STAGE2_PREFIX, stage2_options,
                                     stage3_options)
from facessl.apis.stage_chain import (check_checkpoint_prefix,
                                      eval_root_options, evaluate_stage,
                                      format_chain_summary, train_stage,
                                      write_eval_bin)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STAGE1_CONFIG = 'configs/lafs/part-fvit-t_cosface_1xb16-4e_synthetic-faces.py'
STAGE2_CONFIG = \
    'configs/lafs/lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py'
STAGE3_CONFIG = \
    'configs/lafs/lafs-ft_part-fvit-t_cosface_1xb16-5e_synthetic-faces.py'


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('--work-dir', default='work_dirs/lafs_pipeline')
    parser.add_argument('--stage1-config', default=STAGE1_CONFIG)
    parser.add_argument('--stage2-config', default=STAGE2_CONFIG)
    parser.add_argument('--stage3-config', default=STAGE3_CONFIG)
    parser.add_argument(
        '--stage1-checkpoint', help='skip stage 1 and use this checkpoint')
    parser.add_argument(
        '--stage2-checkpoint', help='skip stage 2 and use this checkpoint')
    parser.add_argument(
        '--stage2-landmark-key',
        default=DEFAULT_STAGE2_LANDMARK_KEY,
        help='config key that takes the stage-1 checkpoint in the stage-2 '
        'config (a path, or a Pretrained init for a key ending in init_cfg)')
    parser.add_argument(
        '--stages', type=int, nargs='+', default=[1, 2, 3],
        choices=[1, 2, 3], help='stages to run (others need checkpoints)')
    parser.add_argument(
        '--full', action='store_true',
        help="the configs' own sizes instead of SMALL_OPTIONS")
    parser.add_argument(
        '--num-pairs', type=int, default=200,
        help='pairs of the synthetic verification .bin (multiple of 20)')
    parser.add_argument(
        '--no-eval', action='store_true', help='skip the tools/test.py runs')
    for k in (1, 2, 3):
        parser.add_argument(
            f'--stage{k}-options', nargs='+', action=DictAction, default={},
            help=f'extra dotted config options of stage {k} (key=value)')
    return parser.parse_args(argv)


def stage_options(stage: int, args, chained: dict,
                  eval_root: str) -> dict:
    """All overrides of one stage: small sizes, chain, eval set, user's."""
    options = {} if args.full else dict(SMALL_OPTIONS[stage])
    options.update(chained)
    if stage in (1, 3):
        options.update(eval_root_options(eval_root))
    options.update(getattr(args, f'stage{stage}_options') or {})
    return options


def run_chain(args) -> dict:
    """Run the requested stages; return the summary dict."""
    work_dir = osp.abspath(args.work_dir)
    eval_root = osp.join(work_dir, 'synthetic_eval')
    write_eval_bin(eval_root, args.num_pairs)
    summary = {}
    s1, s2 = args.stage1_checkpoint, args.stage2_checkpoint
    if 1 in args.stages and not s1:
        s1 = train_stage(1, args.stage1_config, REPO,
                         stage_options(1, args, {}, eval_root), work_dir,
                         summary, tag='lafs')
    if not s1:
        raise ValueError('stages 2 and 3 need a stage-1 checkpoint: run '
                         'stage 1 or pass --stage1-checkpoint')
    check_checkpoint_prefix(s1, STAGE1_PREFIX, 'stage-1')
    if 2 in args.stages and not s2:
        s2 = train_stage(
            2, args.stage2_config, REPO,
            stage_options(2, args,
                          stage2_options(s1, args.stage2_landmark_key),
                          eval_root), work_dir, summary, tag='lafs')
    if 3 in args.stages:
        if not s2:
            raise ValueError('stage 3 needs a stage-2 checkpoint: run stage '
                             '2 or pass --stage2-checkpoint')
        check_checkpoint_prefix(s2, STAGE2_PREFIX, 'stage-2')
        subset = osp.join(work_dir, 'stage3', 'few_shot_subset.json')
        chained = stage3_options(s1, s2, subset)
        s3 = train_stage(3, args.stage3_config, REPO,
                         stage_options(3, args, chained, eval_root),
                         work_dir, summary, tag='lafs')
        summary['stage3']['few_shot_subset'] = subset
        if not args.no_eval:
            summary['stage3']['metrics'] = evaluate_stage(
                3, s3, work_dir, REPO)
    if 'stage1' in summary and not args.no_eval:
        summary['stage1']['metrics'] = evaluate_stage(
            1, s1, work_dir, REPO)
    summary['chain'] = dict(stage1_checkpoint=s1, stage2_checkpoint=s2)
    return summary


def format_summary(summary: dict) -> str:
    """A readable summary of a chain run."""

    def subset(info):
        if 'few_shot_subset' in info:
            return [f'  few-shot subset: {info["few_shot_subset"]}']
        return []

    return format_chain_summary(summary, 'LAFS pipeline summary', subset)


def main(argv=None):
    """Parse arguments, run the chain, print and save the summary."""
    args = parse_args(argv)
    summary = run_chain(args)
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(format_summary(summary))
    return summary


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
