"""Partial FC on 2 gloo processes equals one process's full softmax."""
import os.path as osp
import socket

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from facessl.models.heads import MarginHead, PartialFCHead, sample_centres
from facessl.models.heads.margin_head import build_margin
from facessl.models.losses import dist_softmax_cross_entropy
from facessl.models.utils import shard_range, slice_rows


@pytest.fixture(autouse=True)
def worker_on_path(monkeypatch):
    """The spawned processes import the worker module by name."""
    monkeypatch.syspath_prepend(osp.dirname(osp.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def two_ranks(tmp_path_factory):
    """One 2-process gloo run of every case of the worker's ``CASES``."""
    import sys
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    try:
        from _partial_fc_worker import worker
        out = tmp_path_factory.mktemp('partial_fc')
        mp.spawn(worker, nprocs=2, args=(free_port(), str(out)))
    finally:
        sys.path.remove(osp.dirname(osp.abspath(__file__)))

    def results(margin, num_classes, sample_rate):
        return [torch.load(out / f'{margin}-{num_classes}-{sample_rate}-'
                           f'{r}.pt', weights_only=False) for r in range(2)]

    return results


def reference(margin, emb, labels, centres):
    """One process, whole batch, whole centres: MarginHead's loss."""
    head = MarginHead(centres.shape[0], centres.shape[1],
                      margin=dict(type=margin))
    head.weight.data.copy_(centres)
    x = emb.clone().requires_grad_()
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    out = head.loss(x, samples)
    out['loss'].backward()
    return out, x.grad, head.weight.grad, head.margin


def test_shard_range_covers_rows_once():
    infos = [shard_range(11, r, 3) for r in range(3)]
    assert [(i.start, i.num_local) for i in infos] == [(0, 4), (4, 4),
                                                         (8, 3)]
    with pytest.raises(ValueError, match='cannot be split'):
        shard_range(2, 0, 3)
    with pytest.raises(ValueError, match='expected 11 rows'):
        slice_rows(torch.zeros(5, 2), infos[0])


def test_dist_softmax_equals_cross_entropy_single_process():
    logits = torch.randn(6, 9, requires_grad=True)
    labels = torch.tensor([0, 8, 3, 3, 1, 5])
    ours = dist_softmax_cross_entropy(logits, labels)
    ours.backward()
    grad = logits.grad.clone()
    logits.grad = None
    F.cross_entropy(logits, labels).backward()
    torch.testing.assert_close(ours, F.cross_entropy(logits, labels))
    torch.testing.assert_close(grad, logits.grad)


def test_sample_centres_keeps_every_positive():
    g = torch.Generator().manual_seed(0)
    positives = torch.tensor([17, 3, 3, 40])
    index = sample_centres(positives, 50, 15, g)
    assert index.numel() == 15 and torch.equal(index, index.sort().values)
    assert set(positives.tolist()) <= set(index.tolist())
    # more positives than samples: the positives alone
    assert sample_centres(positives, 50, 2, g).tolist() == [3, 17, 40]


@pytest.mark.parametrize('margin', ['cosface', 'arcface', 'curricular'])
def test_two_processes_equal_full_softmax(two_ranks, margin):
    from _partial_fc_worker import global_batch
    ranks = two_ranks(margin, 11, 1.0)
    emb, labels, centres = global_batch(11, 5)
    out, x_grad, w_grad, ref_margin = reference(margin, emb, labels,
                                                centres)
    for r, res in enumerate(ranks):
        start, num_local, _ = res['shard']
        rows = slice(start, start + num_local)
        torch.testing.assert_close(res['loss'], out['loss'].detach())
        torch.testing.assert_close(res['accuracy'], out['accuracy'])
        torch.testing.assert_close(res['w_grad'], w_grad[rows])
        # x 2 (world size): DDP's averaging of the backbone then gives
        # the one-process gradient
        torch.testing.assert_close(res['x_grad'] / 2,
                                   x_grad[r * 5:(r + 1) * 5])
        if margin == 'curricular':
            torch.testing.assert_close(res['t'], ref_margin.t)
    # the checkpoint holds the whole centres and whole momentum
    whole = torch.cat([ranks[0]['weight'], ranks[1]['weight']])
    for res in ranks:
        torch.testing.assert_close(res['whole'], whole)
        torch.testing.assert_close(
            res['saved_momentum'],
            torch.cat([ranks[0]['momentum'], ranks[1]['momentum']]))
        torch.testing.assert_close(res['reloaded_momentum'],
                                   res['momentum'])


def test_sampled_two_processes(two_ranks):
    from _partial_fc_worker import global_batch
    ranks = two_ranks('cosface', 40, 0.3)
    emb, labels, centres = global_batch(40, 5)
    columns = []
    for res in ranks:
        start, num_local, _ = res['shard']
        local = labels - start
        positives = local[(local >= 0) & (local < num_local)].unique()
        index = res['index']
        assert set(positives.tolist()) <= set(index.tolist())
        assert index.numel() == max(6, positives.numel())
        columns.append(start + index)
        # optimiser state follows the sampled rows: unsampled rows get a
        # zero gradient and a zero first momentum
        unsampled = torch.ones(num_local, dtype=torch.bool)
        unsampled[index] = False
        assert torch.all(res['w_grad'][unsampled] == 0)
        assert torch.all(res['momentum'][unsampled] == 0)
        torch.testing.assert_close(res['momentum'][index],
                                   res['w_grad'][index])
        assert res['w_grad'][index].abs().sum() > 0
    # the loss is the full softmax over the sampled columns only
    columns = torch.cat(columns)
    cos = F.normalize(emb) @ F.normalize(centres[columns]).t()
    target = torch.searchsorted(columns, labels)
    assert torch.equal(columns[target], labels)
    logits = build_margin(dict(type='cosface'))(cos, target)
    expected = F.cross_entropy(logits, target)
    for res in ranks:
        torch.testing.assert_close(res['loss'], expected)


def test_head_refuses_bad_labels_and_rate():
    with pytest.raises(ValueError, match='sample_rate'):
        PartialFCHead(10, 4, sample_rate=0.)
    head = PartialFCHead(10, 4)
    with pytest.raises(ValueError, match=r'labels must be in \[0, 10\)'):
        head.loss(torch.randn(1, 4), [DataSample().set_gt_label(10)])
    with pytest.raises(ValueError, match='expected 10 rows'):
        head.load_state_dict({'weight': torch.zeros(7, 4)})


def test_unstaged_state_dict_holds_no_rows_when_distributed(monkeypatch):
    """Rank 0 alone cannot gather: without staging, a distributed state
    dict holds an empty (0, D) entry, which no load accepts, never one
    process's rows as if they were all (MMEngine also broadcasts it at
    start-up, which must leave the shards alone)."""
    import facessl.models.heads.partial_fc_head as pfc
    head = PartialFCHead(10, 4)
    before = head.weight.detach().clone()
    monkeypatch.setattr(pfc, 'dist_world', lambda: (0, 2))
    state = head.state_dict()
    assert state['weight'].shape == (0, 4)
    state['weight'].fill_(1.)  # what a broadcast into it would do
    torch.testing.assert_close(head.weight.detach(), before)
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r'expected 10 rows.*\(0, 4\)'):
        PartialFCHead(10, 4).load_state_dict(state)


@pytest.mark.parametrize('separate', [False, True])
def test_ddp_wrappers_train_like_one_process(tmp_path_factory, separate):
    """Backbone gradients under facessl's DDP wrappers (2 x batch 5) equal
    one process with batch 10; the head's shards are not averaged."""
    import sys
    here = osp.dirname(osp.abspath(__file__))
    sys.path.insert(0, here)
    try:
        from _partial_fc_worker import Recognizer, ddp_worker, global_batch
        out = tmp_path_factory.getbasetemp() / 'partial_fc_ddp'
        if not (out / f'ddp-{separate}-1.pt').exists():
            out.mkdir(exist_ok=True)
            mp.spawn(ddp_worker, nprocs=2, args=(free_port(), str(out)))
    finally:
        sys.path.remove(here)
    emb, labels, centres = global_batch(11, 5)
    head = PartialFCHead(11, 8)
    head.load_state_dict({'weight': centres})
    model = Recognizer(head)
    loss = model(emb, [DataSample().set_gt_label(int(y)) for y in labels])
    loss.backward()
    for r in range(2):
        res = torch.load(out / f'ddp-{separate}-{r}.pt', weights_only=False)
        start, num_local, _ = res['shard']
        torch.testing.assert_close(res['loss'], loss.detach())
        torch.testing.assert_close(res['backbone'],
                                   model.backbone.weight.grad)
        torch.testing.assert_close(res['head'],
                                   head.weight.grad[start:start + num_local])


def test_runner_trains_and_reloads_partial_fc(repo_root, tmp_path):
    """A real (one-process) training run with the head swapped in by
    config: checkpoints hold (C, D) centres that load back strictly."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from facessl.utils.checkpoint import load_local_checkpoint
    cfg = Config.fromfile(osp.join(
        repo_root, 'configs/berl/'
        'berl-stage1_iresnet18_curricularface_1xb16-3e_synthetic-faces.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.backbone.arch = (1, 1, 1, 1)
    cfg.model.head = dict(type='PartialFCHead', num_classes=3,
                          in_channels=512, sample_rate=0.5,
                          margin=dict(type='curricular'))
    cfg.model.data_preprocessor.num_classes = 3
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    cfg.train_dataloader.dataset.update(num_identities=3,
                                        images_per_identity=2)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=100)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2,
                                        by_epoch=False)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.model.head.num_sample == 2  # round(0.5 x 3)
    ckpt = load_local_checkpoint(osp.join(cfg.work_dir, 'iter_2.pth'))
    assert ckpt['state_dict']['head.weight'].shape == (3, 512)
    fresh = PartialFCHead(3, 512, margin=dict(type='curricular'))
    fresh.load_state_dict({k[5:]: v for k, v in ckpt['state_dict'].items()
                           if k.startswith('head.')})
    torch.testing.assert_close(fresh.weight, runner.model.head.weight)
