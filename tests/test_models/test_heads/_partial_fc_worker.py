"""Worker of test_partial_fc_head.py, importable by spawned processes.

(The test module itself cannot be imported by name in a child process
under ``--import-mode=importlib``; the test puts this file on sys.path.)
"""
import os

import torch
import torch.distributed as dist

DIM = 8


def global_batch(num_classes, batch_per_rank, world=2):
    """Embeddings, labels and whole centres shared by all ranks."""
    g = torch.Generator().manual_seed(7)
    emb = torch.randn(world * batch_per_rank, DIM, generator=g)
    labels = torch.randint(0, num_classes, (world * batch_per_rank, ),
                           generator=g)
    centres = torch.randn(num_classes, DIM, generator=g)
    return emb, labels, centres


CASES = [('cosface', 11, 1.0), ('arcface', 11, 1.0), ('curricular', 11, 1.0),
         ('cosface', 40, 0.3)]


def worker(rank, port, out_dir):
    """One rank: every case of :data:`CASES`, in one process group."""
    torch.set_num_threads(1)
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=2)
    try:
        for case in CASES:
            run_case(rank, out_dir, *case)
        dist.barrier()  # leave together (a rank exiting early aborts)
    finally:
        dist.destroy_process_group()


def run_case(rank, out_dir, margin, num_classes, sample_rate):
    """A Partial FC loss + backward + SGD step + checkpoint gather and
    reload; results saved for the test to compare."""
    from mmengine.optim import OptimWrapper
    from mmpretrain.structures import DataSample

    from facessl.engine.hooks import PartialFCCheckpointHook
    from facessl.models.heads import PartialFCHead
    torch.manual_seed(100 + rank)  # sampling differs per rank
    batch = 5
    emb, labels, centres = global_batch(num_classes, batch)
    head = PartialFCHead(num_classes, DIM, margin=dict(type=margin),
                         sample_rate=sample_rate)
    head.load_state_dict({'weight': centres}, strict=False)
    head.weight.facessl_ddp_ignored = True  # no DDP in this test
    x = emb[rank * batch:(rank + 1) * batch].clone().requires_grad_()
    samples = [DataSample().set_gt_label(int(y))
               for y in labels[rank * batch:(rank + 1) * batch]]
    out = head.loss(x, samples)
    out['loss'].backward()
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1,
                                momentum=0.9)
    optimizer.step()

    class Runner:
        model = head
        optim_wrapper = OptimWrapper(optimizer)

    # as the hook does around runner.save_checkpoint: every rank gathers,
    # then rank 0's state dicts hold the whole matrices
    hook = PartialFCCheckpointHook()
    hook.stage(Runner)
    whole = head.state_dict()['weight']
    ckpt = dict(optimizer=optimizer.state_dict())
    hook.before_save_checkpoint(Runner, ckpt)
    reload = dict(optimizer=dict(
        state={0: dict(ckpt['optimizer']['state'][0])},
        param_groups=ckpt['optimizer']['param_groups']))
    PartialFCCheckpointHook().after_load_checkpoint(Runner, reload)
    torch.save(
        dict(loss=out['loss'].detach(), accuracy=out['accuracy'],
             x_grad=x.grad, w_grad=head.weight.grad,
             shard=tuple(head.shard), index=head.last_index,
             whole=whole, weight=head.weight.detach().clone(),
             momentum=optimizer.state[head.weight]['momentum_buffer'],
             saved_momentum=ckpt['optimizer']['state'][0][
                 'momentum_buffer'],
             reloaded_momentum=reload['optimizer']['state'][0][
                 'momentum_buffer'],
             t=getattr(head.margin, 't', None)),
        os.path.join(out_dir,
                     f'{margin}-{num_classes}-{sample_rate}-{rank}.pt'))


class Recognizer(torch.nn.Module):
    """A linear 'backbone' and a Partial FC head."""

    def __init__(self, head):
        super().__init__()
        torch.manual_seed(3)
        self.backbone = torch.nn.Linear(DIM, DIM)
        self.head = head

    def forward(self, x, samples):
        return self.head.loss(self.backbone(x), samples)['loss']


def ddp_case(rank, out_dir, separate):
    """Recognizer under facessl's DDP wrapper: backbone gradients of
    2 x 5 samples, head shard gradients, saved."""
    from mmpretrain.structures import DataSample

    from facessl.models.heads import PartialFCHead
    from facessl.models.wrappers import (FaceDistributedDataParallel,
                                         FaceSeparateDistributedDataParallel)
    emb, labels, centres = global_batch(11, 5)
    head = PartialFCHead(11, DIM)
    head.load_state_dict({'weight': centres})
    model = Recognizer(head)
    linear = model.backbone  # the separate wrapper replaces the attribute
    wrapper = (FaceSeparateDistributedDataParallel
               if separate else FaceDistributedDataParallel)
    ddp = wrapper(module=model)
    samples = [DataSample().set_gt_label(int(y))
               for y in labels[rank * 5:(rank + 1) * 5]]
    x = emb[rank * 5:(rank + 1) * 5]
    loss = (ddp.module(x, samples) if separate else ddp(x, samples))
    loss.backward()
    torch.save(dict(loss=loss.detach(),
                    backbone=linear.weight.grad,
                    head=head.weight.grad, shard=tuple(head.shard)),
               os.path.join(out_dir, f'ddp-{separate}-{rank}.pt'))


def ddp_worker(rank, port, out_dir):
    """One rank of the DDP wrapper cases."""
    torch.set_num_threads(1)
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=2)
    try:
        for separate in (False, True):
            ddp_case(rank, out_dir, separate)
        dist.barrier()  # leave together (a rank exiting early aborts)
    finally:
        dist.destroy_process_group()
