"""Datasets that re-index other datasets and run the pipeline themselves.

A wrapper such as :class:`FewShotSubset` must change a data info (its
``gt_label``) *before* the pipeline packs it. So each source dataset is
built with an empty pipeline (it still decodes or renders ``img``), and the
wrapper runs the source's pipeline on the updated data info.
"""
import copy
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Sequence, Union

import numpy as np
from mmengine.dataset import Compose
from mmpretrain.datasets import BaseDataset

from facessl.registry import DATASETS

DatasetLike = Union[dict, BaseDataset]


def build_without_pipeline(dataset: DatasetLike,
                           where: str = 'dataset'):
    """Build ``dataset`` with an empty pipeline; return it and the pipeline.

    Args:
        dataset (dict | BaseDataset): a dataset config, or a built dataset
            whose ``pipeline`` is moved out of it (replaced by an empty one).
        where (str): name of the argument, for errors.

    Returns:
        tuple: ``(dataset, pipeline)``, the pipeline a list of transform
        configs or a :class:`~mmengine.dataset.Compose`.
    """
    if isinstance(dataset, dict):
        cfg = copy.deepcopy(dict(dataset))
        pipeline = cfg.pop('pipeline', [])
        return DATASETS.build(dict(cfg, pipeline=[])), pipeline
    pipeline = getattr(dataset, 'pipeline', None)
    if not isinstance(pipeline, Compose):
        raise TypeError(f'{where}: expected a dataset config dict or a '
                        'dataset with a pipeline, got '
                        f'{type(dataset).__name__}')
    dataset.pipeline = Compose([])
    return dataset, pipeline


def dataset_labels(dataset) -> np.ndarray:
    """All identity labels of ``dataset`` without decoding images.

    Uses ``get_gt_labels()`` (datasets may implement it cheaply), else
    ``get_cat_ids(i)`` for every index.

    Raises:
        TypeError: the dataset offers neither method.
    """
    if hasattr(dataset, 'get_gt_labels'):
        return np.asarray(dataset.get_gt_labels(), np.int64).reshape(-1)
    if hasattr(dataset, 'get_cat_ids'):
        return np.array([dataset.get_cat_ids(i)[0]
                         for i in range(len(dataset))], np.int64)
    raise TypeError(f'{type(dataset).__name__} has neither get_gt_labels() '
                    'nor get_cat_ids(); cannot read identity labels')


class ReindexedDataset(BaseDataset, metaclass=ABCMeta):
    """Base of datasets whose records point into named source datasets.

    Each record of :meth:`load_data_list` holds ``source_index`` (an index
    into a source dataset) and the keys that override the source's data
    info (e.g. ``gt_label``); :meth:`source_of` names the source. When
    fetched, the source's data info (with ``img`` decoded) is updated with
    the record (``sample_idx`` becomes this dataset's index) and run
    through the pipeline: this dataset's ``pipeline`` if given, else the
    pipeline of the source's config.

    Args:
        sources (dict[str, dict | BaseDataset]): the source datasets.
        pipeline (Sequence, optional): transforms for every source.
            Defaults to None (each source's own).
        **kwargs: ``metainfo``, ``indices``, ``serialize_data``,
            ``test_mode``, ``lazy_init``, ``max_refetch`` of
            :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 sources: Dict[str, DatasetLike],
                 pipeline: Sequence = None,
                 **kwargs) -> None:
        self.sources: Dict[str, BaseDataset] = {}
        own: Dict[str, Compose] = {}
        for name, cfg in sources.items():
            self.sources[name], steps = build_without_pipeline(cfg, name)
            if pipeline is None:
                own[name] = (steps if isinstance(steps, Compose) else
                             Compose(steps))
        shared = pipeline is not None
        if not shared:
            pipeline = next(iter(own.values())).transforms
        super().__init__(ann_file='', pipeline=pipeline, **kwargs)
        self.source_pipelines: Dict[str, Compose] = (
            dict.fromkeys(self.sources, self.pipeline) if shared else own)

    def source_of(self, info: dict) -> str:
        """Name of the source dataset a record points into."""
        return next(iter(self.sources))

    @abstractmethod
    def load_data_list(self) -> List[dict]:
        """Records with ``source_index`` and the keys to override
        (``FewShotSubset`` and ``TrainTestSplits`` define it)."""

    def prepare_data(self, idx: int):
        """The source's data info, updated with record ``idx``, piped."""
        info = self.get_data_info(idx)
        name = self.source_of(info)
        data = self.sources[name][info['source_index']]
        data.update(info)
        return self.source_pipelines[name](data)
