"""Check and convert an insightface arcface_torch IResNet ``.pth``.

    python tools/model_converters/iresnet_to_facessl.py backbone.pth OUT.pth

facessl's ``IResNet`` already uses insightface's module names, so the
weights are unchanged; the tool strips ``module.``/``backbone.`` prefixes,
reads the preset (r18/r34/r50/r100) and embedding size, loads the weights
strictly into that ``IResNet`` and writes a backbone-only file.
"""
import argparse

from facessl.utils.checkpoint import check_checkpoint_file


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Convert an arcface_torch IResNet to facessl')
    parser.add_argument('checkpoint', help='arcface_torch backbone .pth')
    parser.add_argument('out', help='output backbone-only file')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load with weights_only=False (trusted files)')
    return parser.parse_args()


def main():
    """Convert, check the strict load, save."""
    args = parse_args()
    check_checkpoint_file(args.checkpoint)
    from facessl.converters import (convert_iresnet, read_checkpoint,
                                    save_backbone)
    from facessl.deployment.loading import load_strict
    from facessl.registry import MODELS
    from facessl.utils import register_all_modules
    register_all_modules()
    ckpt = read_checkpoint(args.checkpoint, args.trust_checkpoint)
    state, cfg = convert_iresnet(ckpt.get('state_dict', ckpt),
                                 args.checkpoint)
    load_strict(MODELS.build(cfg), state, args.checkpoint)
    count, size = save_backbone(state, args.out,
                                dict(source=args.checkpoint, backbone=cfg))
    print(f'wrote {args.out} ({count} tensors, {size:.1f} MB); it loads '
          f'strictly into backbone={cfg}')


if __name__ == '__main__':
    main()
