"""What a learned representation must beat: raw pixels, image-blind guesses.

- :func:`raw_pixel_features`: the images as features (kNN baseline);
- :func:`majority_accuracy` / :func:`mean_shape_nme`: predictors that
  ignore the image (attribute majority values, the mean landmark shape)
  on the splits of a downstream config.
"""
from typing import Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader, Dataset


@torch.no_grad()
def raw_pixel_features(dataset: Dataset,
                       mean: Sequence[float] = (127.5, 127.5, 127.5),
                       std: Sequence[float] = (127.5, 127.5, 127.5),
                       batch_size: int = 256) -> Tuple[torch.Tensor,
                                                       torch.Tensor]:
    """The images of ``dataset`` as flat vectors, with their labels.

    Each image (as the dataset's pipeline packs it, ``(C, H, W)``) is
    normalised per channel, ``(x - mean) / std``, and flattened: the
    features of a network that does nothing, the baseline that a learned
    representation must beat under the same kNN protocol.

    Args:
        dataset (Dataset): a dataset yielding ``inputs`` and data samples
            with ``gt_label`` (e.g. a validation set).
        mean (Sequence[float]): per-channel mean. Defaults to 127.5.
        std (Sequence[float]): per-channel std. Defaults to 127.5.
        batch_size (int): images per batch. Defaults to 256.

    Returns:
        tuple: ``(features (N, C*H*W), labels (N,))``.
    """
    loader = DataLoader(
        dataset, batch_size=batch_size, collate_fn=default_collate)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    feats, labels = [], []
    for batch in loader:
        inputs = batch['inputs']
        inputs = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        x = (inputs.float() - mean_t) / std_t
        feats.append(x.flatten(1))
        labels += [int(s.gt_label) for s in batch['data_samples']]
    if not feats:
        raise ValueError('raw_pixel_features: the dataset is empty')
    return torch.cat(feats), torch.tensor(labels)


def _split_dataset(cfg, loader: str, data_root: str):
    """The data set of a task config's loader on ``data_root``."""
    from facessl.registry import DATASETS
    from facessl.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    dataset = dict(cfg[loader].dataset, data_root=data_root, pipeline=[])
    return DATASETS.build(dataset)


def majority_accuracy(cfg, data_root: str) -> float:
    """Mean attribute accuracy (%) of predicting each attribute's
    majority value on the training split, on the test split (the splits
    of the attribute config ``cfg``): what a classifier that learnt
    nothing of the image scores."""
    def labels(loader):
        ds = _split_dataset(cfg, loader, data_root)
        return np.stack([ds.get_data_info(i)['attributes']
                         for i in range(len(ds))]).astype(bool)

    majority = labels('train_dataloader').mean(0) > 0.5
    return float((labels('test_dataloader') == majority).mean() * 100)


def mean_shape_nme(cfg, data_root: str) -> float:
    """NME (%, inter-ocular: outer eye corners 36/45 of the 68 iBUG
    points) on the test split of predicting the training split's mean
    shape for every face (the splits of the alignment config ``cfg``)."""
    from facessl.evaluation.metrics.nme import (interocular_distance,
                                                landmark_nme)

    def points(loader):
        ds = _split_dataset(cfg, loader, data_root)
        return np.stack([ds.get_data_info(i)['landmarks']
                         for i in range(len(ds))]).astype(np.float64)

    test = points('test_dataloader')
    mean = np.broadcast_to(points('train_dataloader').mean(0), test.shape)
    norm = interocular_distance(test, 36, 45)
    return float(landmark_nme(mean, test, norm).mean() * 100)
