"""TrainTestSplits: a train and a test dataset evaluated as one."""
from typing import List, Optional, Sequence

from facessl.registry import DATASETS
from .reindexed import DatasetLike, ReindexedDataset, dataset_labels

SPLITS = ('train', 'test')


@DATASETS.register_module()
class TrainTestSplits(ReindexedDataset):
    """The images of a train and a test dataset, each tagged with its split.

    For metrics that fit on one part of the evaluation data and score the
    other (``LinearProbeAccuracy``, ``KNNAccuracy(split_key='split')``) in
    an ordinary val/test loop: the train images come first, then the test
    images; each data info is its dataset's, plus ``split`` (``'train'``
    or ``'test'``) and ``source_index`` (the index in that dataset);
    ``sample_idx`` is the index here. Pack ``split`` with
    ``PackInputs(meta_keys=('sample_idx', 'split'))``.

    Labels must name the same identities in both datasets: where both have
    ``metainfo['classes']``, they must be equal.

    Args:
        train (dict | BaseDataset): the dataset to fit on.
        test (dict | BaseDataset): the dataset to score.
        pipeline (Sequence, optional): transforms for both. Defaults to
            None (each dataset's own pipeline).
        **kwargs: ``indices``, ``serialize_data``, ``test_mode``,
            ``lazy_init``, ``max_refetch`` of
            :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 train: DatasetLike,
                 test: DatasetLike,
                 pipeline: Optional[Sequence] = None,
                 **kwargs) -> None:
        super().__init__(dict(train=train, test=test), pipeline, **kwargs)

    def source_of(self, info: dict) -> str:
        """The split of a record names its dataset."""
        return info['split']

    def load_data_list(self) -> List[dict]:
        """Train records, then test records, with labels and split."""
        classes = [self.sources[s].metainfo.get('classes') for s in SPLITS]
        if None not in classes and tuple(classes[0]) != tuple(classes[1]):
            raise ValueError(
                'TrainTestSplits: the train and test datasets name their '
                f'labels differently ({len(classes[0])} classes '
                f'{tuple(classes[0][:3])}... vs {len(classes[1])} classes '
                f'{tuple(classes[1][:3])}...); a label must mean the same '
                'identity in both')
        if classes[0] is not None and 'classes' not in self._metainfo:
            self._metainfo['classes'] = tuple(classes[0])
        return [
            dict(split=split, source_index=i, gt_label=int(label))
            for split in SPLITS
            for i, label in enumerate(dataset_labels(self.sources[split]))
        ]
