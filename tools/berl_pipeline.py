"""Run 3D-BERL stage 1 -> stage 2 -> stage 3 on synthetic faces, chained.

Each stage is ``tools/train.py`` on a child config of the stage's config
(written into ``<work-dir>/stage<k>/config.py``) that adds the chained
checkpoint (see :mod:`facessl.apis.berl_chain`):

- stage 1 (IResNet-18 + CurricularFace) -> its ``backbone.*`` and
  ``head.*`` initialise stage 2 (``model.pretrained``, strict);
- stage 2 (IRA/IIA networks, backbone frozen) -> the whole model
  initialises stage 3;
- stage 3 (joint) is scored on a synthetic verification ``.bin`` of
  held-out identities with ``tools/test.py``, stage 1 too for reference.

After stages 2 and 3, ``tools/analysis/show_berl_reconstruction.py`` draws
the checkpoint's reconstructions into ``stage<k>/pictures/``, and the
summary gives stage 2's reconstruction loss (``loss_recon``) at its first
and last iteration.

By default every stage is shrunk to a few iterations (16 identities x 4
images, batch 8; 1, 3 and 1 epochs: a few minutes on 2 CPU cores);
``--full`` runs the configs' own demo sizes. ``--stage1-checkpoint`` /
``--stage2-checkpoint`` skip a stage and use the given checkpoint instead.
Example::

    python tools/berl_pipeline.py --work-dir work_dirs/berl_pipeline
"""
import argparse
import json
import os.path as osp
import sys


from facessl.apis.berl_chain import (STAGE1_PREFIXES, STAGE2_PREFIXES,
                                     loss_trend, small_options,
                                     stage2_options, stage3_options)
from facessl.apis.stage_chain import (check_checkpoint_prefix,
                                      eval_root_options, evaluate_stage,
                                      format_chain_summary, run_script,
                                      train_stage, write_eval_bin)
from facessl.utils.config import CfgOptionsAction

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STAGE1_CONFIG = ('configs/berl/berl-stage1_iresnet18_curricularface_'
                 '1xb16-3e_synthetic-faces.py')
STAGE2_CONFIG = ('configs/berl/berl-stage2_iresnet18_ira-iia_1xb16-adam-'
                 '2e_synthetic-faces.py')
STAGE3_CONFIG = ('configs/berl/berl-stage3_iresnet18_curricularface-recon_'
                 '1xb16-2e_synthetic-faces.py')


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('--work-dir', default='work_dirs/berl_pipeline')
    parser.add_argument('--stage1-config', default=STAGE1_CONFIG)
    parser.add_argument('--stage2-config', default=STAGE2_CONFIG)
    parser.add_argument('--stage3-config', default=STAGE3_CONFIG)
    parser.add_argument(
        '--stage1-checkpoint', help='skip stage 1 and use this checkpoint')
    parser.add_argument(
        '--stage2-checkpoint', help='skip stage 2 and use this checkpoint')
    parser.add_argument(
        '--stages', type=int, nargs='+', default=[1, 2, 3],
        choices=[1, 2, 3], help='stages to run (others need checkpoints)')
    parser.add_argument(
        '--full', action='store_true',
        help="the configs' own sizes instead of the small ones")
    parser.add_argument(
        '--epochs', type=int, nargs=3, default=[1, 3, 1],
        help='epochs of stages 1, 2, 3 in the small run')
    parser.add_argument(
        '--num-pairs', type=int, default=200,
        help='pairs of the synthetic verification .bin (multiple of 20)')
    parser.add_argument(
        '--no-eval', action='store_true', help='skip the tools/test.py runs')
    parser.add_argument(
        '--no-pictures', action='store_true',
        help='skip the reconstruction pictures')
    for k in (1, 2, 3):
        parser.add_argument(
            f'--stage{k}-options', nargs='+', action=CfgOptionsAction,
            default={},
            help=f'extra dotted config options of stage {k} (key=value)')
    return parser.parse_args(argv)


def stage_options(stage: int, args, chained: dict, eval_root: str) -> dict:
    """All overrides of one stage: small sizes, chain, eval set, user's."""
    options = {} if args.full else small_options(
        stage, epochs=tuple(args.epochs))
    options.update(chained)
    # tools/test.py scores the verification .bin (test_dataloader)
    options.update(eval_root_options(eval_root, loaders=('test', )))
    options.update(getattr(args, f'stage{stage}_options') or {})
    return options


def check_checkpoint(path: str, prefixes, stage: str) -> None:
    """Every prefix has weights in ``path`` (KeyError naming it if not)."""
    for prefix in prefixes:
        check_checkpoint_prefix(path, prefix, stage)


def draw(stage: int, ckpt: str, work_dir: str) -> str:
    """Reconstruction pictures of ``ckpt`` in ``stage<k>/pictures``."""
    stage_dir = osp.join(work_dir, f'stage{stage}')
    out = osp.join(stage_dir, 'pictures')
    run_script(osp.join(REPO, 'tools/analysis/show_berl_reconstruction.py'),
               [osp.join(stage_dir, 'config.py'), ckpt, '--out', out],
               REPO, osp.join(stage_dir, 'pictures_output.log'))
    return osp.join(out, 'berl_reconstruction.png')


def run_chain(args) -> dict:
    """Run the requested stages; return the summary dict."""
    work_dir = osp.abspath(args.work_dir)
    eval_root = osp.join(work_dir, 'synthetic_eval')
    write_eval_bin(eval_root, args.num_pairs)  # the configs' val sets
    summary = {}
    s1, s2 = args.stage1_checkpoint, args.stage2_checkpoint

    def train(stage, config, chained):
        ckpt = train_stage(stage, config, REPO,
                           stage_options(stage, args, chained, eval_root),
                           work_dir, summary, tag='berl')
        if stage > 1 and not args.no_pictures:
            summary[f'stage{stage}']['picture'] = draw(stage, ckpt,
                                                       work_dir)
        return ckpt

    if 1 in args.stages and not s1:
        s1 = train(1, args.stage1_config, {})
    if 2 in args.stages and not s2:
        if not s1:
            raise ValueError('stage 2 needs a stage-1 checkpoint: run stage '
                             '1 or pass --stage1-checkpoint')
        check_checkpoint(s1, STAGE1_PREFIXES, 'stage-1')
        s2 = train(2, args.stage2_config, stage2_options(s1))
        summary['stage2']['loss_recon'] = loss_trend(
            osp.join(work_dir, 'stage2'))
    if 3 in args.stages:
        if not s2:
            raise ValueError('stage 3 needs a stage-2 checkpoint: run stage '
                             '2 or pass --stage2-checkpoint')
        check_checkpoint(s2, STAGE2_PREFIXES, 'stage-2')
        s3 = train(3, args.stage3_config, stage3_options(s2))
        summary['stage3']['loss_recon'] = loss_trend(
            osp.join(work_dir, 'stage3'))
        if not args.no_eval:
            summary['stage3']['metrics'] = evaluate_stage(
                3, s3, work_dir, REPO)
    if 'stage1' in summary and not args.no_eval:
        summary['stage1']['metrics'] = evaluate_stage(1, s1, work_dir, REPO)
    summary['chain'] = dict(stage1_checkpoint=s1, stage2_checkpoint=s2)
    return summary


def format_summary(summary: dict) -> str:
    """A readable summary of a chain run."""

    def recon(info):
        lines = []
        trend = info.get('loss_recon')
        if trend:
            lines.append(
                f'  loss_recon: {trend["first"]:.4f} (iter '
                f'{trend["first_iter"]}) -> {trend["last"]:.4f} (iter '
                f'{trend["last_iter"]})')
        if 'picture' in info:
            lines.append(f'  pictures: {info["picture"]}')
        return lines

    return format_chain_summary(summary, '3D-BERL pipeline summary', recon)


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
