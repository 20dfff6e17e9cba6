"""LAFS: frozen landmark CNN, landmark views, DINO loss, a Runner run."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from facessl.registry import MODELS

ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
R = 16  # landmarks of the tiny landmark CNN
SUBSET = 4  # local-view landmarks of the tiny model
CONFIG = 'configs/lafs/lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py'


def augs(subset=SUBSET, replace=True):
    return {
        'global_views': [dict(type='LandmarkPerturb', alpha=2.),
                   dict(type='LandmarkShuffle')],
        'local_views': [dict(type='LandmarkPerturb', alpha=2.),
                  dict(type='LandmarkShuffle'),
                  dict(type='LandmarkSubset', num=subset, replace=replace)],
    }


def model_cfg(**kwargs):
    cfg = dict(
        type='LAFS',
        backbone=dict(
            type='PartFViT',
            arch=ARCH,
            img_size=32,
            patch_size=4,
            num_landmarks=R,
            drop_path_rate=0.1,
            landmark_cnn=dict(type='LandmarkCNN', num_landmarks=R)),
        head=dict(type='DINOHead', in_channels=32, out_dim=64,
                  hidden_dim=48, bottleneck_dim=16),
        loss=dict(type='DINOLoss', out_dim=64),
        landmark_augs=augs())
    cfg.update(kwargs)
    return cfg


def build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(**kwargs))
    model.init_weights()
    return model


def stage1_checkpoint(path, prefix='backbone.landmark_cnn.'):
    """A stage-1-like checkpoint whose landmark CNN is not the default."""
    torch.manual_seed(1)
    cnn = MODELS.build(dict(type='LandmarkCNN', num_landmarks=R))
    with torch.no_grad():
        cnn.fc.bias.uniform_(-1, 1)
    state = {prefix + k: v for k, v in cnn.state_dict().items()}
    state['backbone.cls_token'] = torch.zeros(1, 1, 32)
    torch.save(dict(state_dict=state, meta=dict()), path)
    return cnn


def lafs_inputs(batch=2, num_views=4, size=32):
    """2 V normalised views: V photometric, then V geometric."""
    g = torch.Generator().manual_seed(0)
    geo = [torch.randn(batch, 3, size, size, generator=g)
           for _ in range(num_views)]
    photo = [v + 0.1 * torch.randn(v.shape, generator=g) for v in geo]
    return photo + geo


class Recorder:
    """Records the (landmarks, ids) of every backbone call."""

    def __init__(self, backbone):
        self.calls = []
        self.handle = backbone.register_forward_pre_hook(
            self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs):
        self.calls.append((args[0].shape[0], kwargs.get('landmarks'),
                           kwargs.get('landmark_ids')))


def test_loss_backward_student_only_and_cnn_frozen(tmp_path):
    ckpt = str(tmp_path / 'stage1.pth')
    ref = stage1_checkpoint(ckpt)
    model = build(landmark_cnn_checkpoint=ckpt)
    model.train()
    # the stage-1 CNN is loaded into both copies and stays in eval mode
    for cnn in (model.backbone.landmark_cnn,
                model.teacher['backbone'].landmark_cnn):
        assert not cnn.training
        for key, value in ref.state_dict().items():
            torch.testing.assert_close(cnn.state_dict()[key], value)
    stats = model.backbone.landmark_cnn.body[1].block[0][1].running_mean
    stats = stats.clone()
    losses = model(lafs_inputs(), mode='loss')
    assert set(losses) == {'loss'} and torch.isfinite(losses['loss'])
    losses['loss'].backward()
    for name, p in model.named_parameters():
        if name.startswith('teacher.') or '.landmark_cnn.' in name:
            assert not p.requires_grad and p.grad is None, name
        elif p.requires_grad:  # (DINOHead's fixed weight_g has none)
            assert p.grad is not None, name
    assert model.backbone.pos_embed.grad.abs().sum() > 0
    # batch-norm statistics of the frozen CNN did not move
    torch.testing.assert_close(
        model.backbone.landmark_cnn.body[1].block[0][1].running_mean, stats)


def test_ema_skips_the_frozen_cnn():
    model = build()
    student, teacher = model.student_teacher_params()
    cnn = set(map(id, model.backbone.landmark_cnn.parameters()))
    assert student and not cnn & set(map(id, student))
    assert len(student) == len(teacher)
    with torch.no_grad():
        model.backbone.cls_token.add_(1.)
        model.backbone.landmark_cnn.fc.bias.add_(1.)
    model.update_teacher(0.)
    torch.testing.assert_close(model.teacher['backbone'].cls_token,
                               model.backbone.cls_token)
    assert not torch.equal(model.teacher['backbone'].landmark_cnn.fc.bias,
                           model.backbone.landmark_cnn.fc.bias)


def test_views_and_landmarks_each_network_sees():
    model = build()
    model.train()
    inputs = lafs_inputs(batch=2, num_views=4)
    teacher = Recorder(model.teacher['backbone'])
    student = Recorder(model.backbone)
    cnn_calls = []
    model.backbone.landmark_cnn.register_forward_hook(
        lambda m, a, out: cnn_calls.append((a[0], out)))
    model(inputs, mode='loss')
    # the CNN runs once, on the 4 geometric views
    assert len(cnn_calls) == 1
    torch.testing.assert_close(cnn_calls[0][0], torch.cat(inputs[4:]))
    predicted = cnn_calls[0][1].chunk(4)
    # teacher: one call on the 2 global views, all R landmarks perturbed
    # and shuffled like the student's global views (Eq. 4), detached
    assert len(teacher.calls) == 1
    batch, lms, ids = teacher.calls[0]
    assert batch == 4 and lms.shape == (4, R, 2) and not lms.requires_grad
    picked = torch.gather(torch.cat(predicted[:2]), 1,
                          ids[..., None].expand(-1, -1, 2))
    assert 0.5 < (lms - picked).std() < 4  # alpha = 2 px
    assert torch.equal(ids.sort(1).values, torch.arange(R).expand(4, R))
    assert not torch.equal(ids, torch.arange(R).expand(4, R))
    # student: one call per token count: 2 global views with R shuffled,
    # perturbed landmarks, 2 local views with SUBSET
    assert sorted(c[1].shape for c in student.calls) == [
        (4, SUBSET, 2), (4, R, 2)]
    for batch, lms, ids in student.calls:
        n = lms.shape[1]
        assert batch == 4 and ids.shape == (4, n)
        first = 0 if n == R else 2
        pred = torch.cat(predicted[first:first + 2])
        picked = torch.gather(pred, 1, ids[..., None].expand(-1, -1, 2))
        noise = lms - picked
        assert 0.5 < noise.std() < 4  # alpha = 2 px
        if n == R:  # a permutation of all ids, not the identity
            assert torch.equal(ids.sort(1).values,
                               torch.arange(R).expand(4, R))
            assert not torch.equal(ids, torch.arange(R).expand(4, R))


def test_teacher_landmarks_augmented_and_detached():
    """Eq. 4 / Algorithm 1 line 7: the global-view augmentations run on the
    teacher's landmarks too (own draw), without gradient; switched off by
    augment_teacher=False."""
    model = build(landmark_augs={'global_views': [
        dict(type='LandmarkPerturb', alpha=3.)]})
    lms = [(torch.rand(2, R, 2) * 31).requires_grad_() for _ in range(2)]
    torch.manual_seed(7)
    out = model.teacher_landmarks(lms)
    torch.manual_seed(7)
    noise = [torch.randn(2, R, 2) for _ in range(2)]
    for (lm, ids), ref, n in zip(out, lms, noise):
        assert not lm.requires_grad and lm.grad_fn is None
        torch.testing.assert_close(lm, ref.detach() + 3. * n)
        assert torch.equal(ids, torch.arange(R).expand(2, R))
    plain = build(augment_teacher=False)
    for (lm, ids), ref in zip(plain.teacher_landmarks(lms), lms):
        assert not lm.requires_grad
        torch.testing.assert_close(lm, ref.detach())


def test_augment_landmarks_subset_sizes():
    model = build(landmark_augs=augs(subset=12, replace=False))
    lms = [torch.rand(3, R, 2) * 31 for _ in range(5)]
    out = model.augment_landmarks(lms)
    assert [o[0].shape[1] for o in out] == [R, R, 12, 12, 12]
    for _, ids in out[2:]:
        assert all(len(set(row.tolist())) == 12 for row in ids)


def test_missing_landmark_cnn_weights_name_the_file(tmp_path):
    ckpt = str(tmp_path / 'dino.pth')
    torch.save(dict(state_dict={'backbone.cls_token': torch.zeros(1)}), ckpt)
    model = MODELS.build(model_cfg(landmark_cnn_checkpoint=ckpt))
    with pytest.raises(KeyError, match=r'dino\.pth: no landmark-CNN'):
        model.init_weights()


def test_bad_configs_and_inputs():
    with pytest.raises(ValueError, match='subset of 20 distinct landmarks'):
        MODELS.build(model_cfg(landmark_augs=augs(subset=20, replace=False)))
    with pytest.raises(ValueError, match='unknown keys'):
        MODELS.build(model_cfg(landmark_augs={'locals': []}))
    with pytest.raises(TypeError, match='landmark CNN'):
        MODELS.build(model_cfg(backbone=dict(
            type='PartFViT', arch=ARCH, img_size=32, patch_size=4,
            num_landmarks=R, landmark_cnn=None)))
    model = build()
    with pytest.raises(ValueError, match='2 V view tensors'):
        model(lafs_inputs(num_views=2)[:3], mode='loss')


def test_predict_teacher_cls_with_predicted_landmarks():
    model = build()
    model.eval()
    x = torch.randn(3, 3, 32, 32)
    samples = model(x, mode='predict')
    feats = torch.stack([s.feat for s in samples])
    assert feats.shape == (3, 32)
    with torch.no_grad():
        backbone = model.teacher['backbone']
        expected = backbone(x, backbone.landmark_cnn(x))[0]
    torch.testing.assert_close(feats, expected)


def test_synthetic_config_runs_three_iterations(repo_root, tmp_path):
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(repo_root, CONFIG))
    ckpt = str(tmp_path / 'stage1.pth')
    stage1_checkpoint(ckpt)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.landmark_cnn_checkpoint = ckpt
    cfg.model.backbone.update(
        arch=ARCH, img_size=32, patch_size=4, num_landmarks=R,
        landmark_cnn=dict(type='LandmarkCNN', num_landmarks=R))
    cfg.model.head.update(in_channels=32, hidden_dim=32, out_dim=64)
    cfg.model.loss.out_dim = 64
    cfg.model.landmark_augs = augs()
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader.dataset.update(num_identities=2, images_per_identity=3,
                          img_size=48)
    views = loader.dataset.pipeline[0]
    views.num_views = [1, 1, 1]
    for pipeline in views.transforms:  # the batched path: crop and flip
        pipeline[0].scale = 32
    assert cfg.data_preprocessor.type == 'MultiViewPhotometricPreprocessor'
    cfg.data_preprocessor.view_groups[2].num_views = 1
    cfg.optim_wrapper.optimizer.fused = False
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3,
                         val_interval=100)
    for name in ('val_dataloader', 'val_evaluator', 'val_cfg',
                 'test_dataloader', 'test_evaluator', 'test_cfg'):
        cfg.pop(name, None)
    cfg.param_scheduler = []
    cfg.custom_hooks = [
        dict(h, by_epoch=False) if h['type'] in (
            'TeacherTempHook', 'FreezeLastLayerHook') else h
        for h in cfg.custom_hooks
        if h['type'] not in ('LAFSVisualizationHook', 'ValidateAtStartHook')
    ]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=3,
                                        by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_3.pth'))
