"""FaceRecognizer: margin loss, SSL initialisation, landmark regulariser."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.structures import DataSample

import facessl.models.utils.pretrained as pretrained_mod
from facessl.models.losses import cosface_logits
from facessl.registry import MODELS

R = 3  # landmarks


@MODELS.register_module()
class StandInLandmarkCNN(nn.Module):
    """(B, 3, H, W) -> (B, R, 2): a linear map of the channel means."""

    def __init__(self, num_landmarks=R):
        super().__init__()
        self.net = nn.Linear(3, num_landmarks * 2)

    def forward(self, x):
        return self.net(x.mean((2, 3))).view(x.shape[0], -1, 2)


@MODELS.register_module()
class StandInPartBackbone(nn.Module):
    """PartFViT's interface: forward(x, landmarks=None) -> (feat,)."""

    def __init__(self, dim=4):
        super().__init__()
        self.landmark_cnn = StandInLandmarkCNN()
        self.proj = nn.Linear(3 + R * 2, dim)

    def predict_landmarks(self, x):
        return self.landmark_cnn(x)

    def forward(self, x, landmarks=None, landmark_ids=None):
        if landmarks is None:
            landmarks = self.predict_landmarks(x)
        z = torch.cat([x.mean((2, 3)), landmarks.flatten(1)], 1)
        return (self.proj(z), )


@MODELS.register_module()
class StandInPlainBackbone(nn.Module):
    """A backbone without predict_landmarks."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 4)

    def forward(self, x):
        return (self.proj(x.mean((2, 3))), )


def recognizer(**kwargs):
    cfg = dict(type='FaceRecognizer',
               backbone=dict(type='StandInPartBackbone'),
               head=dict(type='CosFaceHead', num_classes=5, in_channels=4))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def batch(n=6):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 3, 8, 8, generator=g)
    labels = torch.arange(n) % 5
    return x, [DataSample().set_gt_label(int(y)) for y in labels], labels


@pytest.fixture(scope='module')
def stage1_ckpt(tmp_path_factory):
    """A 'stage-1' checkpoint: a whole FaceRecognizer with a landmark CNN."""
    torch.manual_seed(0)
    model = recognizer()
    path = str(tmp_path_factory.mktemp('ckpt') / 'stage1.pth')
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), path)
    return path, model.state_dict()


def reg(path, beta=0.1):
    return dict(beta=beta, reference=dict(type='StandInLandmarkCNN'),
                checkpoint=path, prefix='backbone.landmark_cnn.')


def test_beta_zero_is_plain_cosface(stage1_ckpt):
    path, _ = stage1_ckpt
    torch.manual_seed(0)
    plain = recognizer()
    off = recognizer(landmark_reg=reg(path, beta=0.))
    assert off.landmark_ref is None and off.landmark_beta == 0
    off.load_state_dict(plain.state_dict())
    x, samples, labels = batch()
    a, b = plain.loss(x, samples), off.loss(x, samples)
    assert set(b) == {'loss', 'accuracy'}
    assert torch.equal(a['loss'], b['loss'])
    cos = plain.head(plain.backbone(x))
    expected = F.cross_entropy(cosface_logits(cos, labels, 64., 0.4), labels)
    assert b['loss'].item() == pytest.approx(expected.item(), rel=1e-6)


def test_landmark_regulariser(stage1_ckpt):
    path, state = stage1_ckpt
    torch.manual_seed(1)
    model = recognizer(landmark_reg=reg(path, beta=0.1))
    model.init_weights()
    ref_state = model.landmark_ref.state_dict()
    assert torch.equal(ref_state['net.weight'],
                       state['backbone.landmark_cnn.net.weight'])
    assert not any(p.requires_grad for p in model.landmark_ref.parameters())
    model.train()
    assert not model.landmark_ref.training and model.backbone.training
    x, samples, labels = batch()
    out = model.loss(x, samples)
    pred = model.backbone.predict_landmarks(x)
    ref = model.landmark_ref(x)
    dist = torch.sqrt(((pred - ref)**2).sum(-1)).mean()
    assert out['landmark_dist'].item() == pytest.approx(dist.item(), rel=1e-6)
    assert out['loss_landmark'].item() == pytest.approx(0.1 * dist.item(),
                                                        rel=1e-6)
    plain = model.head.loss(model.backbone(x), samples)['loss']
    assert out['loss'].item() == pytest.approx(plain.item(), rel=1e-6)
    out['loss_landmark'].backward()
    assert model.backbone.landmark_cnn.net.weight.grad.abs().sum() > 0
    assert model.landmark_ref.net.weight.grad is None
    # a schedule may switch it off (and on again) exactly
    model.landmark_beta = 0.
    assert set(model.loss(x, samples)) == {'loss', 'accuracy'}


def test_regulariser_errors(stage1_ckpt):
    path, _ = stage1_ckpt
    with pytest.raises(TypeError, match='has none; use a landmark-aware'):
        recognizer(backbone=dict(type='StandInPlainBackbone'),
                   landmark_reg=reg(path))
    with pytest.raises(ValueError, match='needs reference'):
        recognizer(landmark_reg=dict(beta=0.1, checkpoint=path))
    model = recognizer()
    model.landmark_beta = 0.5  # e.g. a hook on a model built without it
    x, samples, _ = batch()
    with pytest.raises(RuntimeError, match='no landmark reference'):
        model.loss(x, samples)
    bad = recognizer(landmark_reg=dict(reg(path), prefix='backbone.proj.'))
    with pytest.raises(KeyError, match='does not match StandInLandmarkCNN'):
        bad.init_weights()


def test_ssl_initialisation(tmp_path, stage1_ckpt, monkeypatch):
    torch.manual_seed(2)
    teacher = recognizer().backbone.state_dict()
    # an SSL checkpoint whose teacher has no landmark CNN
    ssl = {f'teacher.backbone.{k}': v for k, v in teacher.items()
           if not k.startswith('landmark_cnn')}
    ssl['teacher.head.last_layer'] = torch.zeros(1)
    path = str(tmp_path / 'ssl.pth')
    torch.save(dict(state_dict=ssl), path)
    warnings = []
    logger = SimpleNamespace(warning=warnings.append)
    monkeypatch.setattr(pretrained_mod, 'MMLogger', SimpleNamespace(
        get_current_instance=lambda: logger))
    # strict by default: the missing landmark CNN is an error naming them
    with pytest.raises(KeyError, match=r"ssl\.pth \(prefix 'teacher\."
                       r"backbone\.'\) does not match .*missing "
                       r"\['landmark_cnn\.net\.weight'"):
        recognizer(pretrained=dict(checkpoint=path,
                                   prefix='teacher.backbone.')).init_weights()
    model = recognizer(pretrained=dict(checkpoint=path, strict=False,
                                       prefix='teacher.backbone.'))
    model.init_weights()
    assert torch.equal(model.backbone.proj.weight, teacher['proj.weight'])
    assert len(warnings) == 1
    assert "2 missing keys (left as initialised) ['landmark_cnn.net.weight'" \
        in warnings[0]
    # the landmark CNN from stage 1, strictly, after the SSL weights
    stage1, state = stage1_ckpt
    model = recognizer(pretrained=[
        dict(checkpoint=path, prefix='teacher.backbone.', strict=False),
        dict(checkpoint=stage1, prefix='backbone.landmark_cnn.',
             target='backbone.landmark_cnn', strict=True)])
    model.init_weights()
    assert torch.equal(model.backbone.proj.weight, teacher['proj.weight'])
    assert torch.equal(model.backbone.landmark_cnn.net.bias,
                       state['backbone.landmark_cnn.net.bias'])
    with pytest.raises(KeyError, match="no weight starts with prefix 'tea"):
        recognizer(pretrained=dict(checkpoint=path,
                                   prefix='teacher.bb.')).init_weights()
    with pytest.raises(KeyError, match='no weight matches'):
        recognizer(pretrained=dict(checkpoint=path, strict=False,
                                   prefix='teacher.')).init_weights()
    with pytest.raises(ValueError, match='must be a dict with a checkpoint'):
        recognizer(pretrained=dict(prefix='teacher.'))


def test_predict_gives_the_embedding():
    torch.manual_seed(0)
    model = recognizer().eval()
    x, samples, _ = batch(3)
    out = model.predict(x, samples)
    feats = model.backbone(x)[0]
    for sample, feat in zip(out, feats):
        assert sample.feat.shape == (4, )
        torch.testing.assert_close(sample.feat, feat)
    assert len(model.predict(x)) == 3


def test_runner_fine_tunes_with_layer_decay(tmp_path, repo_root):
    """A real MMEngine run: FaceRecognizer, lr decay, beta schedule."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(
        repo_root, 'tests/data/configs/tiny-cls_synthetic-faces.py'))
    cfg.work_dir = str(tmp_path)
    cfg.model = dict(
        type='FaceRecognizer',
        data_preprocessor=cfg.model.data_preprocessor,
        backbone=dict(type='FastVisionTransformer',
                      arch=dict(embed_dims=16, num_layers=2, num_heads=2,
                                feedforward_channels=32),
                      img_size=32, patch_size=16),
        head=dict(type='CosFaceHead', num_classes=4, in_channels=16))
    cfg.optim_wrapper = dict(
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.1),
        constructor='FaceLayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=0.58))
    cfg.custom_hooks = [dict(type='LandmarkRegWeightHook', schedule=[0.])]
    cfg.train_cfg.max_epochs = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    groups = runner.optim_wrapper.optimizer.param_groups
    lrs = {g['param_name']: g['lr'] for g in groups}
    assert lrs['head.weight'] == pytest.approx(1e-3)
    assert lrs['backbone.cls_token'] == pytest.approx(1e-3 * 0.58**3)
    assert runner.model.landmark_beta == 0.
