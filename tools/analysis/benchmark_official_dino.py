"""The official DINO training step beside facessl's, alternating, one run.

``python tools/analysis/benchmark_official_dino.py --dino-repo DIR
[--config CFG] [--batch 16] [--steps 3] [--rounds 2] [--device auto]
[--amp] [--json OUT]``

Imports facebookresearch/dino from a local work tree given at run time
(``--dino-repo`` or ``DINO_REPO``; nothing of it is part of facessl) and
times its step on the reference work: ViT-S/8 student and teacher
(``MultiCropWrapper`` + ``DINOHead``), 2 global crops at 112 and 8 local
at 48, ``DINOLoss``, AdamW over ``get_params_groups``, per-parameter
clipping at 3.0 (``clip_gradients``), EMA teacher at 0.996. In the same
process, in alternating rounds, it times facessl's step of ``--config``
(default: the DINO config of the same work) the way
``tools/analysis/benchmark.py`` does, on the same batch size, and prints
both and their ratio per round: shared machines are noisy, so only ratios
from alternating rounds are comparable.
"""
import argparse
import json
import os
import sys
import time

import torch

DEFAULT_CONFIG = 'configs/dino/dino_vit-s-p8_bench-official_synthetic-faces.py'


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dino-repo', default=os.environ.get('DINO_REPO'),
                        help='work tree of facebookresearch/dino')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='facessl config timed beside it ("none": '
                        'only the official step)')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--out-dim', type=int, default=65536)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--device', choices=['auto', 'cpu', 'cuda'],
                        default='auto')
    parser.add_argument('--amp', action='store_true',
                        help='bf16 autocast for both (CUDA)')
    parser.add_argument('--threads', type=int)
    parser.add_argument('--json')
    args = parser.parse_args()
    if not args.dino_repo or not os.path.isfile(
            os.path.join(args.dino_repo, 'main_dino.py')):
        parser.error(f'--dino-repo {args.dino_repo!r}: expected a work tree '
                     'of facebookresearch/dino (with main_dino.py)')
    return args


def official_step(repo: str, batch: int, out_dim: int, device, amp: bool):
    """A closure running one official DINO training step."""
    sys.path.insert(0, repo)
    argv, sys.argv = sys.argv, sys.argv[:1]  # main_dino parses at import
    try:
        import utils
        import vision_transformer as vits
        from main_dino import DINOLoss
    finally:
        sys.argv = argv
    if not torch.distributed.is_initialized():  # DINOLoss all-reduces
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
        os.environ.setdefault('MASTER_PORT', '29533')
        torch.distributed.init_process_group('gloo', rank=0, world_size=1)
    torch.manual_seed(0)
    student = utils.MultiCropWrapper(
        vits.vit_small(patch_size=8, drop_path_rate=0.1),
        vits.DINOHead(384, out_dim, norm_last_layer=True)).to(device)
    teacher = utils.MultiCropWrapper(
        vits.vit_small(patch_size=8), vits.DINOHead(384, out_dim)).to(device)
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad = False
    loss_fn = DINOLoss(out_dim, 10, 0.04, 0.04, 0, 100).to(device)
    opt = torch.optim.AdamW(utils.get_params_groups(student))
    crops = [torch.randn(batch, 3, 112, 112, device=device)
             for _ in range(2)] + [
                 torch.randn(batch, 3, 48, 48, device=device)
                 for _ in range(8)]
    autocast = torch.autocast(device.type, dtype=torch.bfloat16,
                              enabled=amp)

    def step():
        with autocast:
            loss = loss_fn(student(crops), teacher(crops[:2]), 0)
        opt.zero_grad()
        loss.backward()
        utils.clip_gradients(student, 3.0)
        opt.step()
        with torch.no_grad():
            for ps, pt in zip(student.parameters(), teacher.parameters()):
                pt.mul_(0.996).add_(ps.detach(), alpha=1 - 0.996)

    return step


def _benchmark_module():
    """tools/analysis/benchmark.py, beside this script."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'benchmark.py')
    spec = importlib.util.spec_from_file_location('facessl_benchmark', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def facessl_step(config: str, batch: int, device, amp: bool):
    """A closure running one facessl training step of ``config``."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    from facessl.registry import MODELS
    from facessl.utils import register_all_modules
    bench = _benchmark_module()
    from facessl.engine import accelerator
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(config)
    if amp:
        accelerator.enable_amp(cfg)
    model_cfg = cfg.model
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.to(device).train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = bench.synthetic_batch(bench.view_sizes(cfg), batch)
    ema = getattr(model, 'update_teacher', None)

    def step():
        model.train_step(data, wrapper)
        if ema is not None:
            ema(0.996)

    return step


def seconds_per_step(step, steps: int, device) -> float:
    """Mean wall time of ``steps`` calls after one warm-up call."""
    step()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main():
    """Alternate the two steps and print the rounds."""
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device if args.device != 'auto' else (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    if args.amp and device.type != 'cuda':
        raise SystemExit('--amp needs CUDA; on CPU benchmark in fp32')
    steps = {'official': official_step(args.dino_repo, args.batch,
                                       args.out_dim, device, args.amp)}
    if args.config != 'none':
        steps['facessl'] = facessl_step(args.config, args.batch, device,
                                        args.amp)
    rounds = []
    for r in range(args.rounds):
        row = {name: seconds_per_step(fn, args.steps, device)
               for name, fn in steps.items()}
        if 'facessl' in row:
            row['official_over_facessl'] = row['official'] / row['facessl']
        rounds.append(row)
        print(f'round {r + 1}: ' + ', '.join(
            f'{k} {v:.3f} s/step' if k != 'official_over_facessl' else
            f'official/facessl {v:.2f}x' for k, v in row.items()))
    res = dict(device=str(device), batch=args.batch, out_dim=args.out_dim,
               threads=torch.get_num_threads(), amp=args.amp,
               config=args.config, rounds=rounds)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
