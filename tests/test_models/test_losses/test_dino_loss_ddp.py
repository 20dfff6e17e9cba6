"""The DINO centre is all-reduced across processes (2-process gloo on CPU)."""
import os.path as osp
import socket

import torch
import torch.multiprocessing as mp


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_center_is_all_reduced_mean(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(osp.dirname(osp.abspath(__file__)))
    from _dino_ddp_worker import OUT_DIM, teacher_batch, worker
    mp.spawn(worker, args=(free_port(), str(tmp_path)), nprocs=2)
    centers = [torch.load(tmp_path / f'center{r}.pt') for r in range(2)]
    both = torch.cat([teacher_batch(r).reshape(-1, OUT_DIM)
                      for r in range(2)])
    expected = 0.1 * both.mean(0, keepdim=True)  # from c = 0, m = 0.9
    torch.testing.assert_close(centers[0], expected)
    torch.testing.assert_close(centers[1], expected)
    # not the mean of one rank's batch alone
    alone = 0.1 * teacher_batch(0).reshape(-1, OUT_DIM).mean(0)
    assert not torch.allclose(centers[0][0], alone)
