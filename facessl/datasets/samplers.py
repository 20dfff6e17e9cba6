"""Class-balanced sampling for imbalanced classification sets (AffectNet).

AffectNet's training labels are heavily imbalanced (about 75k Happy
against about 4k Contempt faces); ProS (Di et al., WACV 2024) trains its
expression classifier on AffectNet with a class-balanced sampler.
mmengine's ``ClassBalancedDataset`` only repeats rare-class images by a
square-root factor (LVIS repeat-factor sampling), which leaves the
classes unbalanced, so facessl adds :class:`ClassBalancedSampler`: every
class is drawn equally often in expectation.
"""
import math
from typing import Iterator, List, Optional, Sized

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from facessl.registry import DATA_SAMPLERS


def class_balanced_weights(labels: np.ndarray) -> np.ndarray:
    """Per-sample weights ``1 / (C * n_c)``, :math:`n_c` its class count.

    Drawing with these weights picks each of the :math:`C` present classes
    with probability ``1 / C`` and, within a class, every sample alike.

    Args:
        labels (np.ndarray): ``(N,)`` integer class of each sample.

    Returns:
        np.ndarray: ``(N,)`` float64 weights summing to 1.
    """
    labels = np.asarray(labels).reshape(-1)
    classes, inverse, counts = np.unique(
        labels, return_inverse=True, return_counts=True)
    return 1. / (len(classes) * counts[inverse])


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Draws samples with replacement so that every class is equally likely.

    Each epoch draws ``num_samples`` indices (by default the data set's
    length) with probability :func:`class_balanced_weights`, from a
    generator seeded by ``seed + epoch`` (the runner calls
    :meth:`set_epoch`), so runs repeat and epochs differ. Under
    distributed training all ranks draw the same sequence (a shared seed)
    and rank ``r`` takes every ``world_size``-th index from ``r`` on,
    padded to equal length.

    The labels are the data infos' ``gt_label`` (mmengine's
    ``get_data_info``, e.g. of ``RAFDB`` and ``AffectNet``).

    Args:
        dataset (Sized): a single-label classification data set.
        num_samples (int, optional): indices per epoch over all ranks.
            Defaults to None (``len(dataset)``).
        seed (int, optional): random seed; None draws one shared by all
            ranks. Defaults to None.
    """

    def __init__(self,
                 dataset: Sized,
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None) -> None:
        self.dataset = dataset
        labels = self._labels(dataset)
        if len(labels) == 0:
            raise ValueError(f'ClassBalancedSampler: '
                             f'{type(dataset).__name__} is empty')
        self.weights = torch.as_tensor(class_balanced_weights(labels))
        self.rank, self.world_size = get_dist_info()
        total = len(labels) if num_samples is None else int(num_samples)
        if total < 1:
            raise ValueError(f'ClassBalancedSampler: num_samples must be '
                             f'>= 1, got {num_samples}')
        self.num_samples = math.ceil(total / self.world_size)
        self.total_size = self.num_samples * self.world_size
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0

    @staticmethod
    def _labels(dataset) -> np.ndarray:
        name = type(dataset).__name__
        if not hasattr(dataset, 'get_data_info'):
            raise TypeError(f'ClassBalancedSampler: {name} has no '
                            'get_data_info; use an mmengine BaseDataset')
        labels = []
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            if 'gt_label' not in info:
                raise KeyError(f'ClassBalancedSampler: {name} record {i} has '
                               f"no 'gt_label'; a single-label "
                               'classification data set is needed')
            labels.append(int(np.asarray(info['gt_label']).reshape(-1)[0]))
        return np.asarray(labels)

    def __iter__(self) -> Iterator[int]:
        """This rank's indices of the current epoch."""
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        indices: List[int] = torch.multinomial(
            self.weights, self.total_size, replacement=True,
            generator=g).tolist()
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        """Indices per rank and epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Reseed for ``epoch`` (called by the runner every epoch)."""
        self.epoch = epoch
