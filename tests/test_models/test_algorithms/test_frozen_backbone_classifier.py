"""FrozenBackboneClassifier: strict loading, frozen backbone, a real run."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from facessl.registry import DATASETS, MODELS

TINY_VIT = dict(
    type='FastVisionTransformer',
    arch=dict(embed_dims=16, num_layers=1, num_heads=2,
              feedforward_channels=32),
    img_size=16,
    patch_size=8,
    drop_rate=0.2,
    drop_path_rate=0.2,  # eval mode must switch these off
    out_type='cls_token')


@pytest.fixture(scope='module')
def dino_ckpt(tmp_path_factory):
    """A tiny DINO checkpoint whose teacher differs from its student."""
    torch.manual_seed(0)
    dino = MODELS.build(
        dict(type='DINO', backbone=TINY_VIT,
             head=dict(type='DINOHead', in_channels=16, out_dim=32,
                       hidden_dim=24, bottleneck_dim=8),
             loss=dict(type='DINOLoss', out_dim=32)))
    dino.init_weights()
    with torch.no_grad():
        for p in dino.teacher.parameters():
            p.add_(0.1 * torch.randn_like(p))
    path = str(tmp_path_factory.mktemp('ckpt') / 'dino.pth')
    state = dino.state_dict()
    torch.save(dict(meta=dict(), state_dict=state), path)
    return path, state


def classifier_cfg(checkpoint, prefix='teacher.backbone.', **backbone):
    return dict(
        type='FrozenBackboneClassifier',
        data_preprocessor=dict(
            type='ClsDataPreprocessor', num_classes=3, mean=[127.5] * 3,
            std=[127.5] * 3, to_rgb=True),
        backbone=dict(
            TINY_VIT, **backbone,
            init_cfg=dict(type='Pretrained', checkpoint=checkpoint,
                          prefix=prefix)),
        neck=dict(type='ClsBatchNormNeck', input_features=16),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=16))


def classifier(*args, **kwargs):
    return MODELS.build(classifier_cfg(*args, **kwargs))


def part(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items()
            if k.startswith(prefix)}


def assert_same(module, weights):
    got = module.state_dict()
    assert set(got) == set(weights)
    assert all(torch.equal(got[k], weights[k]) for k in got)


def test_loads_teacher_or_student_strictly(dino_ckpt):
    path, state = dino_ckpt
    for prefix in ('teacher.backbone.', 'backbone.'):
        model = classifier(path, prefix)
        model.init_weights()
        assert_same(model.backbone, part(state, prefix))
    teacher = part(state, 'teacher.backbone.')
    assert not torch.equal(teacher['cls_token'], state['backbone.cls_token'])
    # another input size: the ViT's load hook resizes pos_embed
    model = classifier(path, img_size=24)
    model.init_weights()
    assert model.backbone.pos_embed.shape == (1, 10, 16)


def test_bad_pretrained_settings(dino_ckpt, tmp_path):
    path, _ = dino_ckpt
    with pytest.raises(KeyError, match="no weight starts with prefix "
                       "'teachr.'; its keys start with"):
        classifier(path, 'teachr.').init_weights()
    with pytest.raises(KeyError, match=r'does not match .*unexpected '
                       r"\['backbone.cls_token'"):
        classifier(path, 'teacher.').init_weights()
    with pytest.raises(ValueError, match=r"dino.pth \(prefix 'backbone.'\) "
                       'does not fit FastVisionTransformer'):
        classifier(path, 'backbone.', arch=dict(
            embed_dims=8, num_layers=1, num_heads=2,
            feedforward_channels=32)).init_weights()
    with pytest.raises(ValueError, match='has no checkpoint'):
        classifier(None).init_weights()


def test_backbone_stays_frozen_in_train_mode(dino_ckpt):
    model = classifier(dino_ckpt[0])
    model.init_weights()
    model.train()
    assert not any(m.training for m in model.backbone.modules())
    assert model.head.training and model.neck.training
    x = torch.randn(4, 3, 16, 16)
    torch.testing.assert_close(model.backbone(x)[-1],
                               model.backbone(x)[-1])  # no drop path
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    loss = model(x, samples, mode='loss')['loss']
    loss.backward()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.head.fc.weight.grad is not None


def test_predict_carries_backbone_feature(dino_ckpt):
    model = classifier(dino_ckpt[0])
    model.init_weights()
    model.eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        samples = model.predict(x)
        feats = model.backbone(x)[-1]
    for sample, feat in zip(samples, feats):
        torch.testing.assert_close(sample.feat, feat)
        assert sample.pred_score.shape == (3, )


def test_runner_trains_the_head_only(dino_ckpt, tmp_path):
    path, state = dino_ckpt
    runner = Runner(
        model=classifier_cfg(path),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            batch_size=18, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            dataset=dict(type='SyntheticFaces', num_identities=3,
                         images_per_identity=6, img_size=16,
                         identity_offset=20, serialize_data=False,
                         pipeline=[dict(type='PackInputs')])),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=30),
        default_hooks=dict(checkpoint=None,
                           logger=dict(type='LoggerHook', interval=1)),
        default_scope='facessl',
        randomness=dict(seed=0),
        log_level='WARNING')
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 30
    assert losses[-3:].mean() < 0.5 * losses[:3].mean()  # the head learnt
    assert_same(runner.model.backbone, part(state, 'teacher.backbone.'))


def test_synthetic_faces_config_builds(repo_root, tmp_path):
    cfg = Config.fromfile(osp.join(
        repo_root, 'configs/linear_probe/'
        'linear-probe_vit-t-p8_1xb64-10e_synthetic-faces.py'))
    # a teacher backbone of the config's architecture, as DINO saves it
    vit = MODELS.build(dict(cfg.model.backbone, init_cfg=None, img_size=48))
    path = str(tmp_path / 'teacher.pth')
    torch.save({f'teacher.backbone.{k}': v
                for k, v in vit.state_dict().items()}, path)
    cfg.model.backbone.init_cfg.checkpoint = path
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert_same(model.backbone, vit.state_dict())
    test = DATASETS.build(cfg.val_dataloader.dataset)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert (len(train), len(test)) == (50 * 20, 50 * 10)
    batch = model.data_preprocessor(
        dict(inputs=[test[0]['inputs'], test[11]['inputs']],
             data_samples=[test[0]['data_samples'],
                           test[11]['data_samples']]))
    model.eval()
    with torch.no_grad():
        out = model.predict(batch['inputs'], batch['data_samples'])
    assert out[1].gt_label.item() == 1 and out[1].pred_score.shape == (50, )
