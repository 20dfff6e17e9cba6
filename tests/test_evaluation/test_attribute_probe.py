"""Attribute probe on held-out identities, split by identity."""
import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from facessl.evaluation.attribute_probe import (attribute_table, attributes,
                                                identity_split,
                                                majority_baseline,
                                                probe_attributes)
from facessl.registry import DATASETS


def test_identity_split_halves_the_sorted_identities():
    ids = torch.tensor([9, 5, 5, 3, 7, 3, 9, 7])
    fit, score = identity_split(ids)
    # sorted identities 3, 5 | 7, 9, whatever the sample order
    assert fit.tolist() == [False, True, True, True, False, True, False,
                            False]
    assert score.tolist() == [not f for f in fit.tolist()]
    # an odd count: the smaller half is fitted on
    fit, _ = identity_split(torch.tensor([2, 1, 0]))
    assert fit.tolist() == [False, False, True]
    with pytest.raises(ValueError, match='>= 2 identities'):
        identity_split(torch.tensor([4, 4]))


def _case():
    # 8 identities x 6 images; attribute 0 is feature 0's sign, attribute
    # 1 alternates, attribute 2 is absent from the scored half
    torch.manual_seed(0)
    n = 48
    ids = torch.arange(8).repeat_interleave(6)
    attrs = torch.zeros(n, 3, dtype=torch.long)
    attrs[:, 0] = torch.arange(n) % 3 == 0
    attrs[:, 1] = torch.arange(n) % 2
    attrs[:6, 2] = 1  # identity 0 only
    feats = torch.randn(n, 4)
    feats[:, 0] = torch.where(attrs[:, 0] == 1, 3., -3.) + feats[:, 0] * .1
    return feats, attrs, ids, ('a', 'b', 'c')


def test_separable_attribute_is_read_perfectly():
    feats, attrs, ids, names = _case()
    out = probe_attributes(feats, attrs, ids, names, per_attribute=True)
    assert out['attr/a_acc'] == 100.
    assert out['attr/a_balanced_acc'] == 100.
    # 'c' is only in the fit half: skipped, not scored
    assert 'attr/c_acc' not in out
    assert out['attr/mean_acc'] == pytest.approx(
        (out['attr/a_acc'] + out['attr/b_acc']) / 2)


def test_image_blind_features_score_chance_balanced_accuracy():
    feats, attrs, ids, names = _case()
    # every image has the same feature: the probe answers one class for
    # all, balanced accuracy is exactly 50 while plain accuracy is the
    # majority rate (attribute 'a' is present in 1/3 of the images)
    out = probe_attributes(torch.ones(len(feats), 4), attrs, ids, names,
                           per_attribute=True)
    assert out['attr/a_balanced_acc'] == pytest.approx(50.)
    assert out['attr/b_balanced_acc'] == pytest.approx(50.)
    assert out['attr/a_acc'] == pytest.approx(200 / 3, abs=1e-4)


def test_majority_baseline_by_hand():
    _, attrs, ids, names = _case()
    out = majority_baseline(attrs, ids, names)
    # 'a' absent in most fit images -> predict 0: right on 2/3 of the
    # scored images; 'b' is balanced -> ties predict 1: right on 1/2
    assert out['attr/a_acc'] == pytest.approx(200 / 3, abs=1e-4)
    assert out['attr/b_acc'] == pytest.approx(50.)
    assert out['attr/mean_balanced_acc'] == 50.


def test_no_usable_attribute_raises():
    feats, attrs, ids, names = _case()
    with pytest.raises(ValueError, match='no attribute has both values'):
        probe_attributes(feats, attrs[:, 2:], ids, names[2:])


def test_attribute_table_of_synthetic_faces_matches_the_renders():
    dataset = DATASETS.build(
        dict(type='SyntheticFaces', num_identities=3, images_per_identity=3,
             img_size=16, identity_offset=10))
    attrs, ids, names = attribute_table(dataset)
    assert names == dataset.metainfo['attribute_names']
    assert ids.tolist() == [10, 10, 10, 11, 11, 11, 12, 12, 12]
    rendered = [dataset.get_data_info(i)['attributes'].tolist()
                for i in range(len(dataset))]
    assert attrs.tolist() == rendered


class _NoAttributes(torch.utils.data.Dataset):
    metainfo = dict(classes=('x', ))

    def __len__(self):
        return 2

    def get_data_info(self, idx):
        return dict(gt_label=0, img_path=f'{idx}.jpg')


def test_dataset_without_attributes_raises():
    with pytest.raises(ValueError, match="_NoAttributes has no attributes"):
        attribute_table(_NoAttributes())


class _PixelModel(torch.nn.Module):
    """val_step -> the mean colour of every image as its feature."""

    def val_step(self, batch):
        feats = batch['inputs'].float().mean((2, 3))
        return [DataSample(feat=f) for f in feats]


def test_protocol_on_a_config_restores_train_mode():
    cfg = Config(dict(val_dataloader=dict(
        batch_size=16,
        dataset=dict(type='SyntheticFaces', num_identities=10,
                     images_per_identity=4, img_size=16,
                     pipeline=[dict(type='PackInputs')]))))
    model = _PixelModel().train()
    out = attributes(cfg, model, 'unused')
    assert set(out) == {'attr/mean_acc', 'attr/mean_balanced_acc'}
    assert 0 <= out['attr/mean_balanced_acc'] <= 100
    assert model.training
