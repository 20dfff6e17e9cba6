"""Draw a 3D-BERL checkpoint's reconstruction of a few faces.

``python tools/analysis/show_berl_reconstruction.py CONFIG CHECKPOINT
--out DIR [--num 8] [--split train] [--yaws -30 30] [--cfg-options k=v]``

Builds the BERL model of CONFIG, loads CHECKPOINT strictly (any 3D-BERL
checkpoint: a stage-2 or stage-3 run, or the single-config run; facessl's
``weights_only`` loading, ``--trust-checkpoint`` for a trusted pickle),
reads the first ``--num`` faces of ``<split>_dataloader``'s dataset (its
data infos hold decoded images; the pipeline is replaced by
``PackInputs``, so no random augmentation), reconstructs them and writes
``DIR/berl_reconstruction.png``: one row per face with the input (64 x 64),
the predicted depth (shaded), albedo, shading, the re-rendered input and
the canonical face re-rendered at every ``--yaws`` angle.
"""
import argparse
import os
import os.path as osp

import cv2
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from tqdm import tqdm

from facessl.registry import DATASETS, MODELS
from facessl.utils.config import CfgOptionsAction, load_tool_config
from facessl.visualization import berl_panel, berl_pictures


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('config', help='config file of a BERL model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--num', type=int, default=8, help='number of faces to draw')
    parser.add_argument(
        '--split', default='train', choices=['train', 'val', 'test'],
        help='dataloader whose dataset gives the faces (default: train)')
    parser.add_argument(
        '--yaws', type=float, nargs='+', default=[-30., 30.],
        help='yaw angles (degrees) of the rotated re-renders')
    parser.add_argument(
        '--height', type=int, default=128, help='tile height in pixels')
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='load the checkpoint with weights_only=False (trusted files)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='override config settings (key=value)')
    return parser.parse_args(argv)


def build_model(cfg, checkpoint: str):
    """The config's model with the checkpoint's weights, in eval mode.

    ``model.pretrained`` is dropped (the checkpoint has every weight), so
    the previous stage's checkpoint need not exist here.

    Raises:
        TypeError: the model has no ``reconstruct`` (not a BERL model).
    """
    from facessl.models.algorithms import BERL
    model_cfg = dict(cfg.model)
    cls = MODELS.get(model_cfg.get('type'))
    if not (isinstance(cls, type) and issubclass(cls, BERL)):
        raise TypeError(f'{cfg.filename}: model type '
                        f'{model_cfg.get("type")!r} is not BERL; use a '
                        '3D-BERL config (configs/berl/berl-stage2_*, '
                        'berl-stage3_* or berl_*3stages*)')
    model_cfg.update(pretrained=None, stage=1)
    model = MODELS.build(model_cfg)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.eval()


def load_faces(cfg, split: str, num: int) -> dict:
    """The first ``num`` faces of ``<split>_dataloader``, packed and
    collated.

    Raises:
        KeyError: the config has no such dataloader.
        ValueError: the dataset is empty.
    """
    loader = cfg.get(f'{split}_dataloader')
    if not loader:
        raise KeyError(f'{cfg.filename}: no {split}_dataloader to read '
                       'faces from; pick another --split')
    dataset_cfg = dict(loader['dataset'])
    dataset_cfg['pipeline'] = [dict(type='PackInputs')]
    dataset = DATASETS.build(dataset_cfg)
    if len(dataset) == 0:
        raise ValueError(f'{cfg.filename}: the {split} dataset is empty')
    items = [dataset[i] for i in tqdm(
        range(min(num, len(dataset))), desc='faces', leave=False)]
    return pseudo_collate(items)


def main(argv=None):
    """Reconstruct the faces and write the panel; return its path."""
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = load_tool_config(
        args.config, args.cfg_options,
        [args.checkpoint] if args.trust_checkpoint else [])
    init_default_scope(cfg.get('default_scope', 'facessl'))
    model = build_model(cfg, args.checkpoint)
    batch = load_faces(cfg, args.split, args.num)
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        pictures = berl_pictures(model.reconstruct(data['inputs']),
                                 model.renderer, args.yaws)
    panel = berl_panel(pictures, height=args.height)
    os.makedirs(args.out, exist_ok=True)
    path = osp.join(args.out, 'berl_reconstruction.png')
    if not cv2.imwrite(path, panel[..., ::-1]):
        raise OSError(f'could not write {path}')
    print(f'wrote {path} ({len(batch["inputs"])} faces, columns: '
          f'{", ".join(pictures)})')
    return path


if __name__ == '__main__':
    main()
