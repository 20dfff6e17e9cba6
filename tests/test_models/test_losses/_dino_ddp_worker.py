"""Worker of test_dino_loss_ddp.py, importable by the spawned processes.

(With ``--import-mode=importlib`` the test module itself cannot be imported
by name in a child process; this file is put on ``sys.path`` by the test.)
"""
import os

import torch
import torch.distributed as dist

OUT_DIM = 8


def teacher_batch(rank):
    """Rank-specific teacher outputs; the ranks' batch sizes differ."""
    g = torch.Generator().manual_seed(rank)
    return torch.randn(2, 1 + 2 * rank, OUT_DIM, generator=g)  # (V, B, K)


def worker(rank, port, out_dir):
    """One rank: a DINOLoss call, then save the centre."""
    from facessl.models.losses import DINOLoss
    torch.set_num_threads(1)
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=2)
    try:
        loss = DINOLoss(out_dim=OUT_DIM, center_momentum=0.9)
        t = teacher_batch(rank)
        s = torch.randn(4, t.shape[1], OUT_DIM)
        loss(s, t)
        torch.save(loss.center, os.path.join(out_dir, f'center{rank}.pt'))
        dist.barrier()  # leave together (a rank exiting early aborts)
    finally:
        dist.destroy_process_group()
