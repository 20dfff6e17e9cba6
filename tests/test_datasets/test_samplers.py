"""Tests of ClassBalancedSampler."""
from unittest import mock

import numpy as np
import pytest
from mmengine.dataset import BaseDataset

from facessl.datasets.samplers import (ClassBalancedSampler,
                                       class_balanced_weights)
from facessl.registry import DATA_SAMPLERS


class Labelled(BaseDataset):
    """A data set of records with the given labels (no files)."""

    def __init__(self, labels, key='gt_label'):
        self.labels, self.key = list(labels), key
        super().__init__(lazy_init=False, serialize_data=False)

    def load_data_list(self):
        return [{self.key: y, 'img_path': f'{i}.jpg'}
                for i, y in enumerate(self.labels)]


# 90 / 9 / 1 images of classes 0 / 1 / 2
IMBALANCED = [0] * 90 + [1] * 9 + [2] * 1


def test_weights_hand_computed():
    w = class_balanced_weights(np.array([0, 0, 0, 1]))
    assert np.allclose(w, [1 / 6, 1 / 6, 1 / 6, 1 / 2])
    assert w.sum() == pytest.approx(1.)


def test_classes_are_balanced():
    dataset = Labelled(IMBALANCED)
    sampler = DATA_SAMPLERS.build(
        dict(type='ClassBalancedSampler', dataset=dataset,
             num_samples=30000, seed=0))
    indices = list(sampler)
    assert len(indices) == len(sampler) == 30000
    counts = np.bincount([IMBALANCED[i] for i in indices], minlength=3)
    # each class 1/3 of the draws (binomial sd ~ 82 of 10000)
    assert np.abs(counts - 10000).max() < 400, counts
    # within class 1 every image is drawn alike (expected 10000 / 9 each)
    per_image = np.bincount([i for i in indices if IMBALANCED[i] == 1],
                            minlength=99)[90:99]
    assert per_image.min() > 900 and per_image.max() < 1330, per_image
    # the plain order would give class 2 once in 100
    assert counts[2] > 100 * 30


def test_default_length_epochs_and_seed():
    dataset = Labelled(IMBALANCED)
    sampler = ClassBalancedSampler(dataset, seed=3)
    first = list(sampler)
    assert len(first) == len(dataset) == 100
    assert list(sampler) == first  # same epoch, same draw
    sampler.set_epoch(1)
    assert list(sampler) != first
    again = ClassBalancedSampler(dataset, seed=3)
    again.set_epoch(1)
    assert list(again) == list(sampler)


def test_ranks_split_one_draw():
    dataset = Labelled(IMBALANCED)
    parts = []
    for rank in range(3):
        with mock.patch('facessl.datasets.samplers.get_dist_info',
                        return_value=(rank, 3)):
            sampler = ClassBalancedSampler(dataset, num_samples=10, seed=5)
        parts.append(list(sampler))
    assert [len(p) for p in parts] == [4, 4, 4]  # padded to 12
    with mock.patch('facessl.datasets.samplers.get_dist_info',
                    return_value=(0, 1)):
        whole = list(ClassBalancedSampler(dataset, num_samples=12, seed=5))
    interleaved = [parts[r][k] for k in range(4) for r in range(3)]
    assert interleaved == whole


def test_bad_inputs_name_the_record():
    with pytest.raises(KeyError, match="Labelled record 0 has no 'gt_label'"):
        ClassBalancedSampler(Labelled([0, 1], key='label'), seed=0)
    with pytest.raises(ValueError, match='is empty'):
        ClassBalancedSampler(Labelled([]), seed=0)
    with pytest.raises(ValueError, match='num_samples must be >= 1'):
        ClassBalancedSampler(Labelled([0]), num_samples=0, seed=0)
    with pytest.raises(TypeError, match='get_data_info'):
        ClassBalancedSampler([0, 1], seed=0)
