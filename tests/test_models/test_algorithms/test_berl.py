"""BERL: stages, the two optimisers, the reconstruction loss, bad input."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from facessl.models.algorithms import BERL
from facessl.models.losses import masked_l1_loss, total_variation_loss
from tests.test_models.test_algorithms.berl_toy import (make_batch,
                                                        make_model,
                                                        make_wrappers)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same(before, module):
    after = module.state_dict()
    return all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize('stage', [1, 2, 3])
def test_train_step_steps_the_stage_optimisers(stage):
    model = make_model()
    model.stage = stage
    wrappers = make_wrappers(model)
    parts = {n: getattr(model, n) for n in ('backbone', 'head', 'ira', 'iia')}
    before = {n: snapshot(m) for n, m in parts.items()}
    log = model.train_step(make_batch(), wrappers)
    fr_trained, recon_trained = stage != 2, stage != 1
    for name in ('backbone', 'head'):
        # bit-for-bit, BatchNorm statistics and CurricularFace's t included
        assert same(before[name], parts[name]) is not fr_trained, name
    for name in ('ira', 'iia'):
        assert same(before[name], parts[name]) is not recon_trained, name
    assert ('loss_fr' in log) is fr_trained
    assert ('loss_recon' in log) is recon_trained
    if stage == 2:
        assert not model.backbone.training and model.ira.training


def test_stage3_backbone_gets_the_whole_loss_gradient(monkeypatch):
    """The hand-off at the feature map equals one backward of the sum."""
    model = make_model()
    model.stage = 3
    ref = copy.deepcopy(model)
    wrappers = make_wrappers(model)
    for name in ('fr', 'recon'):  # keep the gradients, do not move
        monkeypatch.setattr(wrappers[name], 'step', lambda **kw: None)
        monkeypatch.setattr(wrappers[name], 'zero_grad', lambda **kw: None)
    batch = make_batch()
    model.train_step(batch, wrappers)
    data = ref.data_preprocessor(batch, True)
    losses = ref.loss(data['inputs'], data['data_samples'])
    (losses['loss_fr'] + losses['loss_recon']).backward()
    grads = dict(ref.named_parameters())
    checked = 0
    for name, param in model.named_parameters():
        if param.grad is None:
            assert grads[name].grad is None, name
            continue
        torch.testing.assert_close(param.grad, grads[name].grad,
                                   rtol=1e-4, atol=1e-6, msg=name)
        checked += 1
    assert checked == len(list(model.parameters()))
    # the reconstruction loss reached the backbone
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0


def test_recon_loss_falls_in_stage2():
    model = make_model()
    model.stage = 2
    wrappers = make_wrappers(model, recon_lr=3e-3)
    batch = make_batch()
    losses = [float(model.train_step(batch, wrappers)['loss_recon'])
              for _ in range(12)]
    assert losses[-1] < 0.7 * losses[0], losses


def test_masked_l1_loss_by_hand():
    pred = torch.zeros(1, 2, 1, 2)
    target = torch.tensor([[[[1., 2.]], [[3., -4.]]]])
    mask = torch.tensor([[[[1., 0.]]]])
    # only the first pixel: (|0 - 1| + |0 - 3|) / (2 channels x 1 pixel)
    assert masked_l1_loss(pred, target, mask).item() == pytest.approx(2.)
    assert masked_l1_loss(pred, target, torch.zeros_like(mask)).item() == 0
    with pytest.raises(ValueError, match='mask must be'):
        masked_l1_loss(pred, target, mask[0])


def test_total_variation_loss_by_hand():
    depth = torch.tensor([[[[0., 1., 3.], [2., 2., 2.]]]])
    # vertical |2-0| + |2-1| + |2-3| = 4 over 3 pairs; horizontal
    # |1-0| + |3-1| + 0 + 0 = 3 over 4 pairs
    assert total_variation_loss(depth).item() == pytest.approx(4 / 3 + 3 / 4)
    assert total_variation_loss(torch.ones(2, 1, 5, 5)).item() == 0
    with pytest.raises(ValueError, match=r'H, W >= 2, got \(1, 1, 1, 4\)'):
        total_variation_loss(torch.zeros(1, 1, 1, 4))


def test_depth_tv_adds_the_smoothness_prior():
    batch = make_batch(n=2)
    plain, smooth = make_model(), make_model(depth_tv=0.5)
    for model in (plain, smooth):
        model.stage = 2
        # a non-flat depth, so that the prior is not zero
        nn.init.normal_(model.ira.depth_net.decoder[-1].weight, std=0.1)
    smooth.load_state_dict(plain.state_dict())
    data = plain.data_preprocessor(batch, True)
    base = plain.loss(data['inputs'], data['data_samples'])
    out = smooth.loss(data['inputs'], data['data_samples'])
    depth = smooth.reconstruct(data['inputs'])['depth_net']
    tv = total_variation_loss(depth)
    assert tv > 0 and 'depth_tv' not in base
    torch.testing.assert_close(out['depth_tv'], tv)
    torch.testing.assert_close(out['loss_recon'],
                               base['loss_recon'] + 0.5 * tv)
    with pytest.raises(ValueError, match='depth_tv must be >= 0'):
        make_model(depth_tv=-1.)


def test_target_image_undoes_the_normalisation():
    model = make_model()
    img = torch.full((1, 3, 64, 64), 255.)
    data = model.data_preprocessor(dict(inputs=[img[0].byte()]), False)
    torch.testing.assert_close(model.target_image(data['inputs']),
                               torch.ones(1, 3, 64, 64))


def test_bad_inputs():
    model = make_model()
    small = dict(inputs=[torch.zeros(3, 48, 48, dtype=torch.uint8)] * 2,
                 data_samples=[DataSample().set_gt_label(0)] * 2)
    with pytest.raises(ValueError, match=r'48x48.*smaller than the renderer '
                       r'size 64x64'):
        model.train_step(small, make_wrappers(model))
    with pytest.raises(ValueError, match=r'stage 2 .*model\.pretrained is '
                       'not set'):
        make_model(stage=2)
    with pytest.raises(ValueError, match='stage must be 1, 2 or 3'):
        model.stage = 4
    with pytest.raises(TypeError, match='needs an OptimWrapperDict'):
        model.train_step(make_batch(), OptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.1)))
    missing = BERL.__new__(BERL)  # init_weights only reads the list
    nn.Module.__init__(missing)
    missing.backbone_pretrained = [dict(checkpoint=__file__),
                                   dict(checkpoint='/no/stage1.pth')]
    with pytest.raises(FileNotFoundError, match=r'model\.pretrained\[1\]\.'
                       r'checkpoint /no/stage1.pth does not exist'):
        missing.init_weights()
    missing.backbone_pretrained = [dict(checkpoint='/no/stage2.pth')]
    with pytest.raises(FileNotFoundError, match=r'model\.pretrained\.'
                       r'checkpoint /no/stage2.pth does not exist'):
        missing.init_weights()


def test_predict_gives_the_embedding():
    model = make_model().eval()
    data = model.data_preprocessor(make_batch(n=2), False)
    out = model.predict(data['inputs'])
    assert out[0].feat.shape == (16, )
