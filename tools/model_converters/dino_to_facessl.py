"""Convert an official DINO checkpoint (facebookresearch/dino) to facessl.

    python tools/model_converters/dino_to_facessl.py DINO.pth OUT.pth \\
        [--model-out DINO_MODEL.pth] [--img-size 112] [--num-heads N]

``DINO.pth`` is a backbone release (e.g. ``dino_deitsmall16_pretrain.pth``,
``dino_deitsmall8_pretrain.pth``, ``dino_vitbase16_pretrain.pth``) or a
full training checkpoint (``teacher``/``student``; it pickles an
``argparse.Namespace``, so it needs ``--trust-checkpoint``). ``OUT.pth``
gets the teacher's ViT (the only ViT of a backbone release) as a
backbone-only file; ``--model-out`` also writes the whole model (student,
teacher, heads, loss centre) in the layout of facessl's ``DINO``. The
converted ViT is loaded strictly into the printed ``FastVisionTransformer``
config before anything is written.
"""
import argparse

from facessl.utils.checkpoint import check_checkpoint_file


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Convert an official DINO checkpoint to facessl')
    parser.add_argument('checkpoint', help='official DINO .pth')
    parser.add_argument('out', help='output backbone-only file')
    parser.add_argument('--model-out', help='also write the whole DINO '
                        'model (full checkpoints only)')
    parser.add_argument('--img-size', type=int, default=112,
                        help='image size of the printed config (112)')
    parser.add_argument('--num-heads', type=int,
                        help='heads, for widths other than 192/384/768')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load with weights_only=False (needed for '
                        "full checkpoints, which pickle 'args')")
    return parser.parse_args()


def main():
    """Convert, check the strict load, save."""
    args = parse_args()
    check_checkpoint_file(args.checkpoint)
    import torch

    from facessl.converters import (convert_dino, read_checkpoint,
                                    save_backbone, vit_backbone_config)
    from facessl.deployment.loading import load_strict
    from facessl.registry import MODELS
    from facessl.utils import register_all_modules
    register_all_modules()
    ckpt = read_checkpoint(args.checkpoint, args.trust_checkpoint)
    model, vit = convert_dino(ckpt, args.checkpoint)
    cfg = vit_backbone_config(vit, args.img_size, args.num_heads)
    load_strict(MODELS.build(cfg), vit, args.checkpoint)
    count, size = save_backbone(vit, args.out,
                                dict(source=args.checkpoint, backbone=cfg))
    print(f'wrote {args.out} ({count} tensors, {size:.1f} MB); it loads '
          f'strictly into backbone={cfg}')
    if args.model_out:
        if not model:
            raise SystemExit(f'{args.checkpoint} is a backbone release: '
                             'no heads for --model-out')
        torch.save({'state_dict': model, 'meta': dict(
            source=args.checkpoint)}, args.model_out)
        print(f'wrote {args.model_out} ({len(model)} tensors, DINO model '
              'layout: backbone., head., teacher., loss_module.)')


if __name__ == '__main__':
    main()
