"""Draw a few-shot identity subset of a config's dataset into a file.

Example (LAFS: 1 % or 10 % of the identities x 1, 2, 4 or 10 images, or
all the images of the chosen identities with ``--shots all``)::

    python tools/misc/make_few_shot_subset.py CONFIG --fraction 0.01 \
        --shots 4 --seed 0 --out data/ms1m_1pct_4shot.json

Reads the identity labels of ``<split>_dataloader.dataset`` (default
``train``; a ``FewShotSubset`` there is looked through to its source
dataset), draws the subset (see :mod:`facessl.datasets.few_shot`) and
writes the subset file that ``FewShotSubset(subset_file=...)`` reads.
"""
import argparse

from mmengine.registry import init_default_scope

from facessl.datasets.few_shot import (check_shots, make_few_shot_subset,
                                       save_few_shot_subset)
from facessl.datasets.reindexed import build_without_pipeline
from facessl.utils.config import CfgOptionsAction, load_tool_config


def _shots(text: str):
    """``--shots``: an integer >= 1 or 'all'."""
    try:
        return check_shots(text if text == 'all' else int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 1 or 'all', got {text!r}")


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Write a few-shot identity subset file.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--out', required=True, help='subset file (.json)')
    parser.add_argument('--shots', type=_shots, required=True,
                        help="images per identity (LAFS: 1, 2, 4, 10), or "
                        "'all' for every image of the chosen identities")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--fraction', type=float,
                       help='share of the identities (LAFS: 0.01, 0.1)')
    group.add_argument('--num-identities', type=int,
                       help='number of identities instead of a share')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--split', choices=['train', 'val', 'test'],
                        default='train', help='dataloader whose dataset to '
                        'sample')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='override config settings, key=value')
    return parser.parse_args(argv)


def source_dataset_config(cfg, split: str, config_path: str) -> dict:
    """The dataset config of ``<split>_dataloader``, under any
    ``FewShotSubset``."""
    loader = cfg.get(f'{split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise KeyError(f'{config_path}: no {split}_dataloader.dataset')
    dataset = loader.dataset
    while dataset.get('type') == 'FewShotSubset':
        dataset = dataset.dataset
    return dataset


def main(argv=None):
    """Draw, write and summarise the subset."""
    args = parse_args(argv)
    cfg = load_tool_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'facessl'))
    dataset, _ = build_without_pipeline(
        source_dataset_config(cfg, args.split, args.config))
    subset = make_few_shot_subset(dataset, args.shots, args.fraction,
                                  args.num_identities, args.seed)
    save_few_shot_subset(subset, args.out)
    source = subset['source']
    skipped = '' if args.shots == 'all' else (
        f', {source["skipped_identities"]} with fewer than {args.shots} '
        'images skipped')
    images = sum(len(ident['indices']) for ident in subset['identities'])
    print(f'wrote {subset["num_identities"]} identities x {args.shots} '
          f'images of {source["num_identities"]} ({source["type"]}'
          f'{skipped}; {images} images) to {args.out}')


if __name__ == '__main__':
    main()
