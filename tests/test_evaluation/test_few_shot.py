"""Few-shot nearest-class-mean identification on frozen features."""
import pytest
import torch
from mmengine.config import Config

from facessl.evaluation.few_shot import few_shot, few_shot_top1


def _features():
    # identity 0 near +x, identity 1 near +y, 4 images each (dataset
    # order); identity 1's last image sits on identity 0's side
    feats = torch.tensor([[1., 0.], [2., .1], [1., -.1], [3., .2],
                          [0., 1.], [.1, 2.], [-.1, 1.], [1., .2]])
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    return feats, labels


def test_few_shot_top1_by_hand():
    feats, labels = _features()
    # 1 shot: galleries (1, 0) and (0, 1); probes are images 1-3 and 5-7,
    # all right but (1, .2) -> 5 of 6
    assert few_shot_top1(feats, labels, 1) == pytest.approx(500 / 6)
    # 3 shots: the probes are images 3 and 7; (1, .2) still goes to 0
    assert few_shot_top1(feats, labels, 3) == pytest.approx(50.)
    # features are L2-normalised: scaling one image changes nothing
    scaled = feats.clone()
    scaled[3] *= 100
    assert few_shot_top1(scaled, labels, 1) == pytest.approx(500 / 6)


def test_gallery_is_the_first_images():
    feats, labels = _features()
    # identity 1's first image becomes (1, .2): its gallery leans towards
    # +x, yet every probe stays on its own side (worked out by hand)
    order = torch.tensor([0, 1, 2, 3, 7, 5, 6, 4])
    assert few_shot_top1(feats[order], labels[order], 1) == 100.


def test_too_few_images_is_an_error():
    feats, labels = _features()
    with pytest.raises(ValueError, match=r'held-out: identity 0 has 4 '
                       r'images; 4-shot identification needs more than 4'):
        few_shot_top1(feats, labels, 4, source='held-out')
    with pytest.raises(ValueError, match='shots must be >= 1'):
        few_shot_top1(feats, labels, 0)


class _Sample(dict):
    """A data sample with ``feat`` and ``get('gt_label')``."""

    __getattr__ = dict.__getitem__


class _PixelModel(torch.nn.Module):
    """``val_step`` -> the mean colour of each image as its feature."""

    def val_step(self, batch):
        return [_Sample(feat=img.float().mean((1, 2)), gt_label=s.gt_label)
                for img, s in zip(batch['inputs'], batch['data_samples'])]


def test_protocol_on_the_config_dataset():
    data = dict(type='SyntheticFaces', num_identities=3,
                images_per_identity=6, img_size=16,
                pipeline=[dict(type='PackInputs')])
    cfg = Config(dict(val_dataloader=dict(batch_size=4, dataset=data)))
    scores = few_shot(cfg, _PixelModel(), 'unused')
    assert set(scores) == {'fewshot/1shot_top1', 'fewshot/5shot_top1'}
    assert all(0. <= v <= 100. for v in scores.values())
    cfg.val_dataloader.dataset.images_per_identity = 5
    with pytest.raises(ValueError, match=r'cfg.val_dataloader.dataset '
                       r'\(SyntheticFaces\): identity \d+ has 5 images'):
        few_shot(cfg, _PixelModel(), 'unused')
