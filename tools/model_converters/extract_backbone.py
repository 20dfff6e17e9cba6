"""Keep only one backbone of a facessl training checkpoint.

    python tools/model_converters/extract_backbone.py CHECKPOINT OUT \\
        [--part teacher|student] [--config CONFIG]

By default the EMA teacher of DINO / LAFS / ProS checkpoints and the
(online) backbone of every other model. The output holds
``{'state_dict': <backbone weights, no prefix>, 'meta': {...}}``: load it
with ``backbone.load_state_dict(torch.load(OUT)['state_dict'])``, with a
backbone ``init_cfg=dict(type='Pretrained', checkpoint=OUT)`` (no
prefix), with ``FaceRecognizer(pretrained=dict(checkpoint=OUT,
prefix=None, strict=True))`` or with ``tools/deployment/pytorch2onnx.py``.
``--config`` checks that the backbone of that config loads it strictly.
"""
import argparse

from facessl.utils.checkpoint import check_checkpoint_file


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Extract the backbone of a facessl checkpoint')
    parser.add_argument('checkpoint', help='training checkpoint')
    parser.add_argument('out', help='output backbone-only file')
    parser.add_argument('--part', choices=['teacher', 'student'],
                        help='which backbone (default: the teacher of '
                        'DINO/LAFS/ProS, else the backbone)')
    parser.add_argument('--config', help='check a strict load into this '
                        "config's backbone")
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load with weights_only=False (trusted files)')
    return parser.parse_args()


def main():
    """Extract, save, report sizes, optionally check a strict load."""
    args = parse_args()
    check_checkpoint_file(args.checkpoint)
    from facessl.converters import extract_backbone, save_backbone
    from facessl.converters.common import file_size_mb
    state, meta = extract_backbone(args.checkpoint, args.part,
                                   args.trust_checkpoint)
    if args.config:
        from facessl.deployment import build_model
        from facessl.deployment.loading import load_strict
        model = build_model(args.config)
        load_strict(model.get_submodule(meta['prefix'][:-1]), state,
                    args.checkpoint)
        print(f'the {meta["prefix"][:-1]} of {args.config} loads it '
              'strictly')
    before = file_size_mb(args.checkpoint)
    count, after = save_backbone(state, args.out, meta)
    print(f'{args.checkpoint} ({before:.1f} MB) -> {args.out} '
          f'({after:.1f} MB): {count} tensors under {meta["prefix"]!r}')


if __name__ == '__main__':
    main()
