"""Time one full training step of a facessl config.

``python tools/analysis/benchmark.py CONFIG [--batch-size B] [--steps N]
[--warmup W] [--cfg-options k=v ...]``

Builds the model and the optim wrapper from the config with MMEngine and
times ``model.train_step`` (data preprocessing, forward, loss, backward,
per-parameter clipping, optimiser step) plus the EMA teacher update
(``model.update_teacher``, as ``TeacherEMAHook`` does after each step):

1. on synthetic uint8 views of the config's multi-crop sizes (data
   excluded; for LAFS the ``2 V`` photometric + geometric images), then
2. on batches of the config's real train dataloader (data included;
   ``--no-data`` skips it).

Reports s/step, images/s (batch size / s, as the official script),
kernel time and page faults per step, peak memory (max RSS on CPU, CUDA
``max_memory_allocated``), the model FLOPs of one step (matmul, conv and
attention FLOPs counted by :class:`torch.utils.flop_counter.FlopCounterMode`
over a forward+backward) and the achieved FLOP/s as a percentage of this
machine's fp32 matmul peak (measured here with large matmuls). CUDA is
used when available (``--device`` chooses); on CUDA the FLOP/s are also
given as MFU against the device's dense bf16 peak (``accelerator.py``), and
``--amp`` (bf16 autocast where supported, fp16 with loss scaling
otherwise), ``--channels-last`` and ``--compile`` are available; the data
run pins memory and copies without blocking. On CPU,
:func:`facessl.engine.cpu_allocator.tune_cpu_allocator` is applied
(``--no-allocator-tuning`` to compare).
"""
import argparse
import json
import os
import resource
import time

import torch
from mmengine.config import Config

from facessl.engine import accelerator
from facessl.utils.config import CfgOptionsAction


def parse_args():
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='facessl step benchmark')
    parser.add_argument('config', help='config file')
    parser.add_argument('--batch-size', type=int, help='images per view')
    parser.add_argument('--steps', type=int, default=3, help='timed steps')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed steps first')
    parser.add_argument(
        '--views',
        help='override the view sizes, e.g. "2x112,8x48" (default: from '
        'the MultiView of the train pipeline)')
    parser.add_argument(
        '--no-data', action='store_true', help='skip the dataloader run')
    parser.add_argument('--no-flops', action='store_true')
    parser.add_argument(
        '--peak-gflops',
        type=float,
        help='fp32 matmul peak to use instead of measuring it')
    parser.add_argument('--threads', type=int, help='torch intra-op threads')
    parser.add_argument(
        '--no-allocator-tuning',
        action='store_true',
        help='leave glibc malloc at its defaults (CPU)')
    parser.add_argument(
        '--profile',
        action='store_true',
        help='print a torch.profiler table of one step')
    parser.add_argument('--device', choices=['auto', 'cpu', 'cuda'],
                        default='auto')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (CUDA): bf16 if supported')
    parser.add_argument('--channels-last', action='store_true',
                        help='channels-last memory format (CNN backbones)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the backbone')
    parser.add_argument('--peak-tflops', type=float,
                        help='dense bf16 peak of the GPU, if not in the '
                        'table of accelerator.py')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, key=value')
    return parser.parse_args()


def view_sizes(cfg: Config, spec: str = None):
    """``[(num_views, size), ...]`` from ``--views`` or the MultiView."""
    if spec:
        out = []
        for item in spec.split(','):
            n, size = item.lower().split('x')
            out.append((int(n), int(size)))
        return out
    for t in cfg.train_dataloader.dataset.pipeline:
        if t.get('type') == 'LAFSMultiView':
            return lafs_view_sizes(t)
        # MultiViewWithGeometry: the batched path's crops (the
        # preprocessor may append their un-augmented copies)
        if t.get('type') in ('MultiView', 'MultiViewWithGeometry'):
            num = t['num_views']
            pipes = t['transforms']
            num = num if isinstance(num, (list, tuple)) else [num]
            sizes = []
            for pipe in pipes:
                scales = [p['scale'] for p in pipe if 'scale' in p]
                if not scales:
                    raise KeyError('benchmark: a MultiView pipeline has no '
                                   'transform with a `scale`; pass --views')
                s = scales[0]
                sizes.append(s if isinstance(s, int) else s[0])
            return list(zip(num, sizes))
    raise KeyError(f'benchmark: no MultiView in {cfg.filename} '
                   'train_dataloader.dataset.pipeline; pass --views')


def lafs_view_sizes(multi_view: dict):
    """Tensors of a LAFSMultiView: each view gives a photometric and a
    geometric image of the crop size, ``2 V`` tensors in all."""
    num = multi_view['num_views']
    num = sum(num) if isinstance(num, (list, tuple)) else num
    sizes = {
        p['scale'] if isinstance(p['scale'], int) else p['scale'][0]
        for pipe in multi_view['transforms'] for view in pipe
        for p in view.get('geometric', []) if 'scale' in p
    }
    if len(sizes) != 1:
        raise KeyError('benchmark: expected one crop size in the '
                       f'LAFSMultiView geometric pipelines, got {sizes}; '
                       'pass --views')
    return [(2 * num, sizes.pop())]


def synthetic_batch(views, batch_size, seed=0):
    """A collated multi-view batch of random uint8 images (``num_views``
    in the meta: the number of view tensors)."""
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randint(0, 256, (batch_size, 3, s, s), generator=g,
                      dtype=torch.uint8) for n, s in views for _ in range(n)
    ]
    return dict(
        inputs=inputs,
        data_samples=[DataSample(metainfo=dict(num_views=len(inputs)))
                      for _ in range(batch_size)])


def matmul_peak_gflops(device, n=4096, reps=3):
    """Best fp32 GFLOP/s of an ``n x n`` matmul on ``device``."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b
    best = float('inf')
    for _ in range(reps):
        sync(device)
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def sync(device):
    """Wait for the device."""
    if device.type == 'cuda':
        torch.cuda.synchronize()


def count_flops(step):
    """FLOPs of one ``step()`` (forward + backward)."""
    from torch.utils import flop_counter as fc
    aten = torch.ops.aten

    def fwd(q, k, v, *args, out_shape=None, **kwargs):
        return fc.sdpa_flop_count(q, k, v)

    def bwd(grad_out, q, k, v, *args, out_shape=None, **kwargs):
        return fc.sdpa_backward_flop_count(grad_out, q, k, v)

    mapping = {}  # SDPA's CPU kernels are missing from torch's registry
    if hasattr(aten, '_scaled_dot_product_flash_attention_for_cpu'):
        mapping[aten._scaled_dot_product_flash_attention_for_cpu] = fwd
        mapping[aten._scaled_dot_product_flash_attention_for_cpu_backward] = \
            bwd
    mode = fc.FlopCounterMode(display=False, custom_mapping=mapping)
    with mode:
        step()
    return mode.get_total_flops()


def peak_memory_mb(device):
    """Peak memory so far: CUDA allocated, else max RSS of the process."""
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_steps(step, batches, warmup, steps, device):
    """Wall times of ``steps`` timed calls after ``warmup``, and the mean
    kernel (system) CPU seconds and minor page faults per timed step."""
    for _ in range(warmup):
        step(next(batches))
    times = []
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(steps):
        sync(device)
        t = time.perf_counter()
        step(next(batches))
        sync(device)
        times.append(time.perf_counter() - t)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    sys_s = (r1.ru_stime - r0.ru_stime) / steps
    faults = (r1.ru_minflt - r0.ru_minflt) / steps
    return times, sys_s, faults


def main():
    """Build, time, report."""
    args = parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is available')
    device = torch.device(args.device if args.device != 'auto' else (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    if args.amp and device.type != 'cuda':
        raise SystemExit('--amp needs CUDA; on CPU benchmark in fp32')
    tuned = False
    if device.type == 'cpu' and not args.no_allocator_tuning:
        from facessl.engine.cpu_allocator import tune_cpu_allocator
        tuned = tune_cpu_allocator()
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    from facessl.registry import MODELS
    from facessl.utils import register_all_modules
    register_all_modules(init_default_scope=True)

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    batch_size = cfg.train_dataloader.batch_size
    views = view_sizes(cfg, args.views)
    num_images = batch_size * sum(n for n, _ in views)

    torch.manual_seed(0)
    model_cfg = cfg.model
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    amp = accelerator.enable_amp(cfg) if args.amp else 'float32'
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.to(device).train()
    accelerator.prepare_model(model, args.channels_last, args.compile)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    ema = getattr(model, 'update_teacher', None)
    momentum = 0.996

    def step(data):
        model.train_step(data, optim_wrapper)
        if ema is not None:
            ema(momentum)

    def repeat(batch):
        while True:
            yield batch

    res = dict(
        config=args.config,
        device=str(device),
        threads=torch.get_num_threads(),
        allocator_tuned=tuned,
        precision=amp,
        device_name=(torch.cuda.get_device_name(device)
                     if device.type == 'cuda' else 'cpu'),
        batch_size=batch_size,
        views=views,
        images_per_step=num_images)
    times, sys_s, faults = time_steps(
        step, repeat(synthetic_batch(views, batch_size)), args.warmup,
        args.steps, device)
    res['synthetic_s_per_step'] = sum(times) / len(times)
    res['synthetic_step_times'] = times
    res['synthetic_sys_s_per_step'] = sys_s
    res['synthetic_page_faults_per_step'] = faults
    res['synthetic_img_per_s'] = batch_size / res['synthetic_s_per_step']
    res['peak_memory_mb'] = peak_memory_mb(device)

    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        acts = [ProfilerActivity.CPU] + (
            [ProfilerActivity.CUDA] if device.type == 'cuda' else [])
        with profile(activities=acts) as prof:
            step(synthetic_batch(views, batch_size))
        print(prof.key_averages().table(
            sort_by='self_cpu_time_total', row_limit=30))

    if not args.no_flops:
        batch = synthetic_batch(views, batch_size)
        flops = count_flops(lambda: step(batch))
        peak = args.peak_gflops or matmul_peak_gflops(device)
        res['flops_per_step'] = flops
        res['achieved_gflops'] = flops / res['synthetic_s_per_step'] / 1e9
        res['matmul_peak_gflops'] = peak
        res['percent_of_peak'] = 100 * res['achieved_gflops'] / peak
        if device.type == 'cuda':
            tflops = args.peak_tflops or accelerator.device_peak_tflops(
                res['device_name'])
            res['bf16_peak_tflops'] = tflops
            res['mfu_percent'] = (None if tflops is None else
                                  res['achieved_gflops'] / 10 / tflops)

    if not args.no_data:
        if device.type == 'cuda':
            cfg.train_dataloader.pin_memory = True
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)

        def batches():
            while True:
                yield from loader

        times, _, _ = time_steps(step, batches(), args.warmup, args.steps,
                                 device)
        res['data_s_per_step'] = sum(times) / len(times)
        res['data_step_times'] = times
        res['data_img_per_s'] = batch_size / res['data_s_per_step']
        res['peak_memory_mb'] = peak_memory_mb(device)

    report(res)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)


def report(res):
    """Print the results."""
    views = ' + '.join(f'{n}x{s}' for n, s in res['views'])
    print(f"{res['config']}\n  device {res['device']}, {res['threads']} "
          f"threads, allocator tuned: {res['allocator_tuned']}\n  batch "
          f"{res['batch_size']} x views {views} = {res['images_per_step']} "
          'crops/step')
    times = ', '.join(f'{t:.2f}' for t in res['synthetic_step_times'])
    print(f"  synthetic (data excluded): {res['synthetic_s_per_step']:.3f} "
          f"s/step ({times}), {res['synthetic_img_per_s']:.2f} img/s; "
          f"{res['synthetic_sys_s_per_step']:.2f} s kernel time and "
          f"{res['synthetic_page_faults_per_step']:.0f} page faults per "
          'step')
    if 'data_s_per_step' in res:
        times = ', '.join(f'{t:.2f}' for t in res['data_step_times'])
        print(f"  dataloader (data included): {res['data_s_per_step']:.3f} "
              f"s/step ({times}), {res['data_img_per_s']:.2f} img/s")
    print(f"  peak memory: {res['peak_memory_mb']:.0f} MiB")
    if 'flops_per_step' in res:
        print(f"  model FLOPs/step: {res['flops_per_step'] / 1e12:.3f} T; "
              f"achieved {res['achieved_gflops']:.1f} GFLOP/s = "
              f"{res['percent_of_peak']:.1f}% of the "
              f"{res['matmul_peak_gflops']:.1f} GFLOP/s fp32 matmul peak")
    if res.get('bf16_peak_tflops'):
        print(f"  MFU: {res['mfu_percent']:.1f}% of the "
              f"{res['bf16_peak_tflops']:.0f} TFLOP/s dense bf16 peak of "
              f"{res['device_name']} ({res['precision']})")
    elif res['device'].startswith('cuda'):
        print(f"  MFU: {res['device_name']} is not in accelerator.py's "
              'table; pass --peak-tflops')


if __name__ == '__main__':
    main()
