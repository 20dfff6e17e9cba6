"""Margin-head memory and step time: full softmax vs Partial FC.

Per process of a ``--world-size`` job, for each identity count: the bytes
of the class centres with their gradient and SGD momentum, and of the
logits (forward, softmax and gradient), for

- ``full``: every process holds all C centres (``MarginHead`` under DDP)
  and scores its own batch against them;
- ``pfc@r``: ``PartialFCHead`` with ``sample_rate=r``: each process holds
  C / W centres and scores the gathered batch (W x B) against
  ``r x C / W`` of them.

Bytes are computed from the shapes, so they hold on any device. Where the
estimate fits in ``--max-gib``, the step (forward, backward, SGD step) of
one process is also timed on this machine, with the gathered batch it would
see (no communication is timed)::

    python tools/analysis/benchmark_partial_fc.py --world-size 8 \\
        --classes 100000 1000000 2000000 --rates 0.1 0.3 --batch 128
"""
import argparse
import time
from typing import Dict, List

import torch

from facessl.models.heads import MarginHead, PartialFCHead

GIB = 1024**3
FLOAT = 4  # fp32 bytes


def head_bytes(num_classes: int, world: int, batch: int, dim: int,
               rate: float = None) -> Dict[str, float]:
    """Bytes per process: ``centres`` (weight + grad + momentum),
    ``logits`` (3 copies) and ``total``; ``rate=None`` is the full
    softmax."""
    if rate is None:
        rows, cols, logit_rows = num_classes, num_classes, batch
        sampled = 0
    else:
        rows = -(-num_classes // world)  # the largest shard
        cols = max(1, round(rate * rows))
        logit_rows = world * batch
        sampled = 2 * cols * dim if rate < 1 else 0  # W[index] and its grad
    centres = 3 * rows * dim * FLOAT + sampled * FLOAT
    logits = 3 * logit_rows * cols * FLOAT
    return dict(centres=centres, logits=logits, total=centres + logits)


def time_step(num_classes: int, world: int, batch: int, dim: int,
              rate: float = None, steps: int = 3) -> float:
    """Seconds per step of one process's head (median of ``steps``)."""
    from mmpretrain.structures import DataSample
    if rate is None:
        head = MarginHead(num_classes, dim)
        x = torch.randn(batch, dim, requires_grad=True)
        rows = batch
    else:
        head = PartialFCHead(-(-num_classes // world), dim,
                             sample_rate=rate)
        rows = world * batch  # the gathered batch of this process
        x = torch.randn(rows, dim, requires_grad=True)
    labels = torch.randint(0, head.num_classes, (rows, ))
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        head.loss(x, samples)['loss'].backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return sorted(times[1:])[len(times[1:]) // 2]


def rows_for(classes: List[int], rates: List[float], world: int, batch: int,
             dim: int, max_gib: float, steps: int) -> List[dict]:
    """One result row per (identity count, head)."""
    out = []
    for num_classes in classes:
        for rate in [None] + list(rates):
            name = 'full' if rate is None else f'pfc@{rate:g}'
            size = head_bytes(num_classes, world, batch, dim, rate)
            seconds = None
            if size['total'] / GIB <= max_gib:
                seconds = time_step(num_classes, world, batch, dim, rate,
                                    steps)
            out.append(dict(classes=num_classes, head=name,
                            seconds=seconds, **size))
    return out


def format_table(rows: List[dict], world: int, batch: int) -> str:
    """A Markdown table of :func:`rows_for`'s rows."""
    lines = [f'per process, world size {world}, batch {batch} per process',
             '',
             '| identities | head | centres (GiB) | logits (GiB) | '
             'total (GiB) | step (s) |', '|---|---|---|---|---|---|']
    for r in rows:
        step = 'not run' if r['seconds'] is None else f"{r['seconds']:.3g}"
        lines.append(f"| {r['classes']:,} | {r['head']} | "
                     f"{r['centres'] / GIB:.3f} | {r['logits'] / GIB:.3f} | "
                     f"{r['total'] / GIB:.3f} | {step} |")
    return '\n'.join(lines)


def parse_args():
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--world-size', type=int, default=8)
    parser.add_argument('--batch', type=int, default=128,
                        help='samples per process')
    parser.add_argument('--dim', type=int, default=512,
                        help='embedding size')
    parser.add_argument('--classes', type=int, nargs='+',
                        default=[100_000, 1_000_000, 2_000_000])
    parser.add_argument('--rates', type=float, nargs='+',
                        default=[0.1, 0.3])
    parser.add_argument('--max-gib', type=float, default=4.,
                        help='time only heads whose estimate fits')
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    return parser.parse_args()


def main():
    """Print the table."""
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for rate in args.rates:
        if not 0 < rate <= 1:
            raise SystemExit(f'--rates: {rate} is not in (0, 1]')
    rows = rows_for(args.classes, args.rates, args.world_size, args.batch,
                    args.dim, args.max_gib, args.steps)
    print(format_table(rows, args.world_size, args.batch))


if __name__ == '__main__':
    main()
