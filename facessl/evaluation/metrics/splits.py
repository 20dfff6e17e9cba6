"""Per-sample records of feature metrics and their train/test splits."""
from typing import Sequence, Tuple

import torch


def train_test_masks(splits: Sequence[str],
                     key: str = 'split') -> Tuple[torch.Tensor,
                                                  torch.Tensor]:
    """Boolean masks of the ``'train'`` and the ``'test'`` samples.

    Args:
        splits (Sequence[str]): the split of every sample.
        key (str): the meta key the splits came from, for errors.

    Returns:
        tuple[Tensor, Tensor]: (N,) train mask, (N,) test mask.

    Raises:
        ValueError: a value other than 'train'/'test', or an empty part.
    """
    unknown = sorted(set(splits) - {'train', 'test'}, key=str)
    if unknown:
        raise ValueError(f"meta key '{key}' must be 'train' or 'test', got "
                         f'{unknown[:3]}')
    train = torch.tensor([s == 'train' for s in splits], dtype=torch.bool)
    if train.all() or not train.any():
        raise ValueError(f"need samples of both splits in meta key '{key}', "
                         f'got {int(train.sum())} train and '
                         f'{int((~train).sum())} test')
    return train, ~train


def first_shots_mask(labels: torch.Tensor, order: torch.Tensor,
                     shots: int) -> torch.Tensor:
    """Mask of the first ``shots`` samples of every label.

    "First" follows ``order`` (e.g. the dataset index), so the split does
    not depend on the order in which samples were collected.

    Args:
        labels (Tensor): (N,) labels.
        order (Tensor): (N,) sort keys, distinct.
        shots (int): samples per label to mark.

    Returns:
        Tensor: (N,) bool, True for the first ``shots`` of each label.
    """
    rank = torch.empty(len(labels), dtype=torch.long)
    seen = {}
    for i in torch.argsort(order).tolist():
        label = int(labels[i])
        rank[i] = seen.get(label, 0)
        seen[label] = rank[i].item() + 1
    return rank < shots


def feature_record(sample, feat_key: str, owner: str) -> dict:
    """``feat`` (1-D float CPU tensor) and ``label`` (int) of a prediction.

    Args:
        sample (dict | DataSample): a prediction with a tensor
            ``feat_key`` and a ``gt_label``.
        feat_key (str): the field holding the feature.
        owner (str): the metric's name, for errors.

    Raises:
        KeyError: the feature or the label is missing.
    """
    feat = sample.get(feat_key)
    label = sample.get('gt_label')
    if not isinstance(feat, torch.Tensor) or label is None:
        raise KeyError(f"{owner}: each prediction needs a tensor "
                       f"'{feat_key}' and a 'gt_label', got keys "
                       f'{sorted(sample.keys())}')
    return dict(
        feat=feat.detach().float().flatten().cpu(),
        label=int(torch.as_tensor(label).flatten()[0]))
