"""Write face embeddings of images or a data set: features.npy + index.csv.

Examples::

    # a folder (flat, or one sub-folder per identity), a .bin, a .rec,
    # an IJB-B/C folder or a "path label" .txt list
    python tools/misc/extract_features.py CONFIG CHECKPOINT \
        --input data/faces_emore/lfw.bin --out-dir work_dirs/feats/lfw
    # the data set of the config's test_dataloader (else val_dataloader)
    python tools/misc/extract_features.py CONFIG CHECKPOINT \
        --out-dir work_dirs/feats/test

A thin command line over :class:`facessl.apis.FaceEmbedder`: L2-normalised
embeddings ``normalise(f(x) + f(flip(x)))`` (``--no-flip``: without the
mirror), faces that are not 112 x 112 aligned with their five points when
the data set has them, else resized with a warning. CHECKPOINT is loaded
strictly with facessl's ``weights_only`` loading (``--trust-checkpoint``
for a trusted older file). Writes ``OUT_DIR/features.npy`` ((N, D)
float32, atomically) and ``OUT_DIR/index.csv`` (row, source, label, ...;
see :func:`facessl.apis.write_embeddings`).
"""
import argparse
import os.path as osp


from facessl.apis import FaceEmbedder, get_model, write_embeddings
from facessl.registry import DATASETS
from facessl.utils.config import CfgOptionsAction, load_tool_config


def parse_args(argv=None):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Write face embeddings (features.npy, index.csv).')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out-dir', required=True, help='folder for the two files')
    parser.add_argument(
        '--input',
        help='images to embed: a folder, an image list (.txt), a .bin, a '
        '.rec, an IJB folder or one image (default: the config data set)')
    parser.add_argument(
        '--split',
        choices=['val', 'test'],
        default=None,
        help="without --input: dataloader to read (default: 'test', "
        "else 'val')")
    parser.add_argument(
        '--no-flip', action='store_true',
        help='embed the image alone, not image + mirror')
    parser.add_argument(
        '--batch-size', type=int, default=64, help='images per batch')
    parser.add_argument(
        '--device', default=None, help='default: cuda if available, else cpu')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load the checkpoint with weights_only=False (trusted files)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='override config settings, key=value')
    return parser.parse_args(argv)


def config_dataset(cfg, split, config_path):
    """The data set config of ``<split>_dataloader`` (test, else val)."""
    splits = [split] if split else ['test', 'val']
    for name in splits:
        loader = cfg.get(f'{name}_dataloader')
        if loader:
            return loader.dataset
    raise KeyError(f'{config_path}: no '
                   f'{" or ".join(s + "_dataloader" for s in splits)} to '
                   'extract features from; pass --input')


def main(argv=None):
    """Embed, write both files and print a one-line summary."""
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = load_tool_config(
        args.config, args.cfg_options,
        [args.checkpoint] if args.trust_checkpoint else [])
    model = get_model(cfg, pretrained=args.checkpoint, device=args.device)
    inputs = args.input
    if inputs is None:
        inputs = DATASETS.build(config_dataset(cfg, args.split, args.config))
    embedder = FaceEmbedder(
        model,
        batch_size=args.batch_size,
        flip=not args.no_flip,
        progress=not args.no_progress)
    feats, faces = embedder.embed(inputs)
    paths = write_embeddings(args.out_dir, feats, faces)
    print(f'wrote {feats.shape} embeddings to {paths[0]} and the index of '
          f'{len(faces)} rows to {paths[1]}')


if __name__ == '__main__':
    main()
