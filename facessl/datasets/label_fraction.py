"""A seeded fraction of a labelled dataset: the limited-label regime."""
import copy
from typing import Union

import numpy as np
from mmengine.dataset import BaseDataset

from facessl.registry import DATASETS


@DATASETS.register_module()
class LabelFraction:
    """The first ``round(fraction * N)`` of a seeded permutation of a dataset.

    For transfer with limited labels (e.g. 3D-BERL's attribute recognition
    with a fraction of CelebA's training labels): the same ``seed`` and
    ``fraction`` always select the same samples (at least one), in the
    dataset's order; ``fraction=1`` keeps all of them.

    Args:
        dataset (dict | BaseDataset): the labelled dataset.
        fraction (float): fraction of the samples kept, in (0, 1].
        seed (int): permutation seed. Defaults to 0.
    """

    def __init__(self, dataset: Union[dict, BaseDataset], fraction: float,
                 seed: int = 0) -> None:
        if not 0 < fraction <= 1:
            raise ValueError(f'LabelFraction: fraction must be in (0, 1], '
                             f'got {fraction}')
        if isinstance(dataset, dict):
            dataset = DATASETS.build(copy.deepcopy(dict(dataset)))
        self.dataset = dataset
        self.fraction, self.seed = float(fraction), int(seed)
        total = len(dataset)
        count = max(1, int(round(self.fraction * total)))
        order = np.random.RandomState(self.seed).permutation(total)
        self.indices = np.sort(order[:count])

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information."""
        return copy.deepcopy(self.dataset.metainfo)

    def full_init(self) -> None:
        """Nothing to do: the wrapped dataset is loaded at construction."""

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int) -> dict:
        return self.dataset[int(self.indices[idx])]

    def get_data_info(self, idx: int) -> dict:
        """Data info of the ``idx``-th kept sample."""
        return self.dataset.get_data_info(int(self.indices[idx]))
