"""Export a trained facessl model's face embedding to ONNX (insightface's
layout) and, optionally, TorchScript or a ``torch.export`` program.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT \\
        --out model.onnx [--part teacher|student] [--torchscript model.pt] \\
        [--exported-program model.pt2]

The file takes ``(N, 3, 112, 112)`` RGB normalised as
``(x - 127.5) / 127.5`` (dynamic N) and returns the ``(N, D)`` embedding
that the model's ``predict()`` gives the metrics. insightface loads it
with ``insightface.model_zoo.arcface_onnx.ArcFaceONNX(model_file=...)``.
Unless ``--no-verify``, onnxruntime's output on real face crops is
compared with PyTorch's (needs onnxruntime).
"""
import argparse
import os
import os.path as osp


from facessl.utils.checkpoint import check_checkpoint_file
from facessl.utils.config import CfgOptionsAction


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Export a facessl face embedding to ONNX')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='training checkpoint or '
                        'backbone-only file (extract_backbone.py)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--part', choices=['teacher', 'student'],
                        help='teacher-student models: which network '
                        '(default: teacher)')
    parser.add_argument('--img-size', type=int, default=112,
                        help='input side (default: 112)')
    parser.add_argument('--opset', type=int, default=17,
                        help='ONNX opset, >= 16 (default: 17)')
    parser.add_argument('--torchscript', metavar='PT',
                        help='also save a traced TorchScript module here')
    parser.add_argument('--exported-program', metavar='PT2',
                        help='also save a torch.export program here')
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the onnxruntime comparison')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load the checkpoint with weights_only=False '
                        '(trusted files only)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def main():
    """Build, load strictly, export, check the layout, verify."""
    args = parse_args()
    check_checkpoint_file(args.checkpoint)
    from facessl.deployment import (build_embedding_net, export_onnx,
                                    export_program, export_torchscript,
                                    faces_to_input, onnx_parity,
                                    reference_faces)
    net = build_embedding_net(args.config, args.checkpoint, args.part,
                              args.cfg_options, args.trust_checkpoint)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    info = export_onnx(net, args.out, args.img_size, args.opset)
    print(f'wrote {args.out}: input {info["input_name"]} '
          f'{info["input_shape"]}, output {info["output_name"]} '
          f'{info["output_shape"]}; insightface normalisation mean '
          f'{info["input_mean"]}, std {info["input_std"]}')
    if args.torchscript:
        export_torchscript(net, args.torchscript, args.img_size)
        print(f'wrote {args.torchscript} (TorchScript)')
    if args.exported_program:
        export_program(net, args.exported_program, args.img_size)
        print(f'wrote {args.exported_program} (torch.export program)')
    if not args.no_verify:
        faces = faces_to_input(reference_faces(4, args.img_size))
        cos = onnx_parity(net, args.out, faces)
        print(f'onnxruntime vs PyTorch on {len(cos)} real face crops: '
              f'cosine min {cos.min():.6f} (1 - cos = '
              f'{1 - cos.min():.1e}), mean {cos.mean():.6f}')
        if cos.min() < 0.9999:
            raise SystemExit(f'{args.out}: onnxruntime differs from '
                             f'PyTorch (cosine {cos.min():.6f} < 0.9999)')


if __name__ == '__main__':
    main()
