"""Tests of the DINO algorithm and its TeacherStudent base."""
import pytest
import torch
from mmpretrain.structures import DataSample

from facessl.registry import MODELS

TINY_VIT = dict(
    type='VisionTransformer',
    arch=dict(embed_dims=32, num_layers=2, num_heads=2,
              feedforward_channels=64),
    img_size=32,
    patch_size=8,
    drop_path_rate=0.1,
    out_type='cls_token')


def tiny_dino(drop_path_rate=0.1):
    """A DINO small enough for a unit test, weights initialised."""
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='DINO',
            backbone=dict(TINY_VIT, drop_path_rate=drop_path_rate),
            head=dict(type='DINOHead', in_channels=32, out_dim=64,
                      hidden_dim=48, bottleneck_dim=16),
            loss=dict(type='DINOLoss', out_dim=64)))
    model.init_weights()
    return model


def views(batch=2, n_local=2):
    g = torch.Generator().manual_seed(0)
    return ([torch.randn(batch, 3, 32, 32, generator=g) for _ in range(2)] +
            [torch.randn(batch, 3, 16, 16, generator=g)
             for _ in range(n_local)])


def test_teacher_starts_as_student_copy():
    model = tiny_dino()
    student, teacher = model.student_teacher_params()
    assert len(student) == len(teacher) > 0
    assert all(torch.equal(s, t) for s, t in zip(student, teacher))
    assert all(s is not t for s, t in zip(student, teacher))
    assert not any(p.requires_grad for p in model.teacher.parameters())


def test_dino_forward_backward_grads_student_only():
    model = tiny_dino()
    model.train()
    losses = model(views(), mode='loss')
    assert set(losses) == {'loss'} and losses['loss'].dim() == 0
    losses['loss'].backward()
    for name, p in model.named_parameters():
        if name.startswith('teacher.'):
            assert p.grad is None, name
        elif p.requires_grad:
            assert p.grad is not None, name
    # the centre moved away from zero
    assert model.loss_module.center.abs().sum() > 0


def test_teacher_drop_path_off_in_train_mode():
    model = tiny_dino()
    model.train()
    drops = [m for m in model.teacher.modules()
             if 'drop' in type(m).__name__.lower()]
    assert drops and not any(m.training for m in drops)
    assert model.backbone.training


def test_forward_views_groups_by_resolution():
    model = tiny_dino(drop_path_rate=0.)
    model.eval()
    vs = views()
    with torch.no_grad():
        grouped = model.forward_views(vs, with_head=False)
        single = torch.cat([model.backbone(v)[-1] for v in vs])
        torch.testing.assert_close(grouped, single, rtol=1e-5, atol=1e-5)
        out = model.forward_views(vs)
        assert out.shape == (len(vs) * 2, 64)
        torch.testing.assert_close(out, model.head(single), rtol=1e-4,
                                   atol=1e-5)


def test_update_teacher_is_ema():
    model = tiny_dino()
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.)
    student, teacher = model.student_teacher_params()
    before = [t.clone() for t in teacher]
    model.update_teacher(0.75)
    for s, t, b in zip(student, teacher, before):
        torch.testing.assert_close(t, 0.75 * b + 0.25 * s)


def test_predict_returns_teacher_features():
    model = tiny_dino()
    model.eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        for p in model.backbone.parameters():  # student != teacher
            p.mul_(0.5)
        samples = model(x, mode='predict')
        ref = model.teacher['backbone'](x)[-1]
    assert len(samples) == 3
    assert all(s.feat.shape == (32, ) for s in samples)
    torch.testing.assert_close(torch.stack([s.feat for s in samples]), ref)
    # a one-view list and given data samples work too
    given = [DataSample().set_gt_label(i) for i in range(3)]
    out = model.predict([x], given)
    assert out is given and torch.equal(out[1].feat, samples[1].feat)


def test_val_and_train_step_through_preprocessor():
    model = tiny_dino()
    data = dict(
        inputs=[(v * 50 + 128).clamp(0, 255).to(torch.uint8)
                for v in views()],
        data_samples=[DataSample(), DataSample()])
    from mmengine.optim import OptimWrapper
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(data, wrapper)
    assert torch.isfinite(log['loss'])
    val = dict(inputs=data['inputs'][0], data_samples=[DataSample()] * 2)
    out = model.val_step(val)
    assert out[0].feat.shape == (32, )


def test_dino_loss_needs_multiple_views():
    model = tiny_dino()
    with pytest.raises(ValueError, match='at least 2 views'):
        model.loss(views()[:1])
    # two global views and no local crop is DINO's 2x224 setting
    assert torch.isfinite(model.loss(views()[:2])['loss'])
    with pytest.raises(ValueError, match='a tensor'):
        model.loss(torch.randn(2, 3, 32, 32))


def test_dino_head_and_loss_dims_must_agree():
    with pytest.raises(ValueError, match='model.loss.out_dim=32'):
        MODELS.build(
            dict(type='DINO', backbone=TINY_VIT,
                 head=dict(type='DINOHead', in_channels=32, out_dim=64,
                           hidden_dim=48, bottleneck_dim=16),
                 loss=dict(type='DINOLoss', out_dim=32)))
