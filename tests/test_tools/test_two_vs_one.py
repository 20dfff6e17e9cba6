"""2 gloo processes with batch B = 1 process with batch 2B (DINO, LAFS, FRA).

Same seed, same data order: MMEngine's ``DefaultSampler`` draws one
permutation from the shared seed and deals it round-robin, so step k of 2
processes with batch B sees exactly the 2B samples of step k of one process
with batch 2B (only their order inside the batch differs). What cannot be
equal is switched off, as the configs' comments say:

- per-process random streams: every sample's augmentation is seeded from its
  index (``SeedPerSampleForTest``), the batched photometric augmentation
  of the data preprocessor (drawn per process and iteration) is off,
  drop-path and FRA's decoder dropout are off and LAFS's landmark
  perturbation / shuffle (drawn in the model) is off;
- FRA's collapse guard balances over each process's batch by default: it
  runs per image here (``collapse_guard='image'``), which no batch split
  changes;
- BatchNorm statistics without SyncBN (SyncBN needs CUDA): the DINO head
  runs without BN, FRA's BatchNorm becomes GroupNorm (batch-independent).

Tolerance: the losses agree to rtol 1e-5 and the weights to atol 1e-4 after
3 steps. The two runs reduce in a different order in fp32 (two half-batch
backward passes summed by all-reduce vs one pass), ~1e-7 relative per
operation; AdamW then turns gradients that are analytically zero (the
attention key bias: softmax ignores a shift) into fp32 noise of ~1e-10,
which its eps=1e-8 scales to updates of a few per cent of lr (lr is
5e-4 to 1e-3 here) that differ between the runs. Measured: losses 0.7-1.4e-7
relative, weights 1.7e-5 (DINO), 3.3e-5 (LAFS), 1.2e-7 (FRA); for scale,
one process's own loss differs from the global mean by 1-23 %, so a wrong
data split or a batch statistic that is not all-reduced fails the test.

The FRA pair runs as two "nodes" of one process each on 127.0.0.1
(``NNODES=2``, node ranks 0 and 1): the multi-node path of the launcher.
"""
import os.path as osp

import pytest
import torch

from facessl.utils.checkpoint import load_local_checkpoint

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))

COMMON = """
custom_imports = dict(imports=['_dist_probe'], allow_failed_imports=False)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(num_identities=6, images_per_identity=2, pipeline=[
        dict(type='SeedPerSampleForTest',
             transforms=_base_.train_dataloader.dataset.pipeline)]))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
"""
# DINO and LAFS: the demo configs' views go through
# MultiViewPhotometricPreprocessor; groups without augmentation keep its
# layout (LAFS: the copies it appends) and draw nothing
NO_PHOTOMETRIC = """
data_preprocessor = dict(view_groups=[
    dict(num_views=1), dict(num_views=1), dict(num_views=2)])
"""
DINO_HOOKS = NO_PHOTOMETRIC + """
custom_hooks = [
    dict(type='NaNGuardHook'), dict(type='EpochSeedHook'),
    dict(type='TeacherEMAHook', momentum=0.99, end_momentum=1.0),
    dict(type='TeacherTempHook', start=0.04, end=0.04, warmup=0),
    dict(type='FreezeLastLayerHook', freeze_last_layer=1),
    dict(type='LossRecordHookForTest')]
"""
CONFIGS = dict(
    dino=('configs/dino/dino_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py',
          DINO_HOOKS + """
model = dict(backbone=dict(drop_path_rate=0.), head=dict(use_bn=False))
"""),
    lafs=('configs/lafs/lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py',
          DINO_HOOKS + """
model = dict(
    landmark_cnn_checkpoint=None,
    landmark_augs=dict(_delete_=True),
    backbone=dict(drop_path_rate=0., num_landmarks=49,
                  landmark_cnn=dict(num_landmarks=49)),
    head=dict(use_bn=False))
"""),
    fra=('configs/fra/fra_resnet18-w32_1xb32-coslr-5e_synthetic-faces.py',
         """
gn = dict(type='GN', num_groups=8)
model = dict(
    mask_decoder=dict(dropout=0.),
    semantic_loss=dict(collapse_guard='image'),
    backbone=dict(norm_cfg=gn), neck=dict(norm_cfg=gn),
    head=dict(predictor=dict(norm_cfg=gn)),
    region_neck=dict(norm_cfg=gn), region_predictor=dict(norm_cfg=gn))
custom_hooks = [dict(type='NaNGuardHook'), dict(type='EpochSeedHook'),
                dict(type='LossRecordHookForTest')]
"""))


def write_config(tmp_path, method):
    """The tiny test config of ``method`` (inherits the shipped one)."""
    base, extra = CONFIGS[method]
    path = tmp_path / f'{method}_tiny.py'
    path.write_text(f"_base_ = ['{osp.join(ROOT, base)}']\n" + COMMON +
                    extra)
    return path


def assert_two_equal_one(tmp_path, method, nproc=2, nnodes=1):
    """Train 2 x batch 2 and 1 x batch 4; compare losses and weights."""
    from _dist_probe import read_losses, run_dist_train, run_one_process
    cfg = write_config(tmp_path, method)
    run_dist_train(cfg, tmp_path / 'two', nproc=nproc, nnodes=nnodes)
    run_one_process(cfg, tmp_path / 'one', batch_size=4)
    two, one = read_losses(tmp_path / 'two', 2), read_losses(
        tmp_path / 'one', 1)
    assert len(two) == len(one) == 3
    torch.testing.assert_close(two, one, rtol=1e-5, atol=0)
    w2 = load_local_checkpoint(str(tmp_path / 'two' / 'epoch_1.pth'))
    w1 = load_local_checkpoint(str(tmp_path / 'one' / 'epoch_1.pth'))
    assert w2['state_dict'].keys() == w1['state_dict'].keys()
    for key, value in w1['state_dict'].items():
        torch.testing.assert_close(
            w2['state_dict'][key], value, rtol=1e-3, atol=1e-4,
            msg=lambda m, k=key: f'{method} {k}: {m}')


@pytest.fixture(autouse=True)
def _probe_importable(monkeypatch):
    monkeypatch.syspath_prepend(HERE)


def test_dino_two_processes_equal_one(tmp_path):
    assert_two_equal_one(tmp_path, 'dino')


def test_lafs_two_processes_equal_one(tmp_path):
    assert_two_equal_one(tmp_path, 'lafs')


def test_fra_two_nodes_equal_one_process(tmp_path):
    assert_two_equal_one(tmp_path, 'fra', nproc=1, nnodes=2)
