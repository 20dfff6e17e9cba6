"""Reference features for judging a learned representation: raw pixels."""
from typing import Sequence, Tuple

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
