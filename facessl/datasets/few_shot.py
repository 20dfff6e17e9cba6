"""Few-shot identity subsets: x % of the identities x k images each.

Protocol (LAFS, Sun et al., "LAFS: Landmark-based Facial Self-supervised
Learning for Face Recognition", CVPR 2024, few-shot fine-tuning): 1 % or
10 % of the training identities (MS1MV3, WebFace4M) with 1, 2, 4 or 10
images each, or with all their images (``shots='all'``, the paper's
"all images of the chosen identities" setting). The LAFS repository ships
its WebFace4M 1/2/4/10-shot lists as files, but not the rule that drew
them; facessl draws a subset with :func:`sample_few_shot` and writes it to
a JSON file (the subset file) so that a run can be repeated and the
choice inspected:

1. identities with fewer than ``shots`` images are skipped (the subset is
   exactly k-shot; their number is recorded as ``skipped_identities``;
   none for ``'all'``);
2. ``round(fraction x all identities)`` identities (at least 1), or
   ``num_identities``, are drawn uniformly without replacement from the
   rest with ``numpy.random.default_rng(seed)``;
3. in each chosen identity (ascending original label) ``shots`` images are
   drawn uniformly without replacement (all of them, ascending, for
   ``'all'``);
4. the chosen identities get contiguous labels 0..n-1 in ascending order
   of their original label; the original one stays in ``source_label``.

Subset file (``format`` ``'facessl-few-shot/1'``)::

    {"format", "seed", "fraction", "num_identities", "shots",
     "source": {"type", "length", "num_identities", "skipped_identities"},
     "identities": [{"label", "source_label", "name", "indices"}, ...]}

``indices`` are indices into the source dataset; ``name`` is the source's
``metainfo['classes'][source_label]`` (else the label as a string);
``shots`` is an integer or the string ``"all"``.
"""
import json
import os.path as osp
from typing import List, Optional, Union

import numpy as np

from facessl.registry import DATASETS
from facessl.utils.fileio import atomic_write
from .reindexed import DatasetLike, ReindexedDataset, dataset_labels

FORMAT = 'facessl-few-shot/1'
_SETTINGS = ('fraction', 'num_identities', 'shots', 'seed')
ALL = 'all'


def check_shots(shots: Union[int, str, None]) -> Union[int, str]:
    """Images per identity as an integer >= 1, or ``'all'`` (also for
    None: every image of a chosen identity); anything else is a
    ``ValueError``."""
    if shots is None or shots == ALL:
        return ALL
    if isinstance(shots, bool) or not isinstance(
            shots, (int, np.integer, float)) or int(shots) != shots or \
            shots < 1:
        raise ValueError(f"shots must be an integer >= 1 or 'all', got "
                         f'{shots!r}')
    return int(shots)


def num_subset_identities(total: int,
                          fraction: Optional[float] = None,
                          num_identities: Optional[int] = None) -> int:
    """How many identities a subset takes: a share of ``total`` or a count.

    Args:
        total (int): identities in the source dataset.
        fraction (float, optional): share in (0, 1]; rounded to the
            nearest count (halves up), at least 1.
        num_identities (int, optional): the count itself.

    Returns:
        int: the number of identities.

    Raises:
        ValueError: neither or both given, or out of range.
    """
    if (fraction is None) == (num_identities is None):
        raise ValueError('give exactly one of fraction (share of the '
                         'identities) and num_identities, got '
                         f'fraction={fraction}, '
                         f'num_identities={num_identities}')
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise ValueError(f'fraction must be in (0, 1], got {fraction}')
        return max(1, int(np.floor(fraction * total + 0.5)))
    if int(num_identities) != num_identities or num_identities < 1:
        raise ValueError('num_identities must be an integer >= 1, got '
                         f'{num_identities!r}')
    return int(num_identities)


def sample_few_shot(labels,
                    shots: Union[int, str, None],
                    fraction: Optional[float] = None,
                    num_identities: Optional[int] = None,
                    seed: int = 0) -> List[dict]:
    """Draw a few-shot subset from per-image identity labels.

    Steps 1-4 of the module docstring.

    Args:
        labels (array-like): (N,) integer identity label of every image.
        shots (int | str | None): images per chosen identity k >= 1, or
            ``'all'`` (or None) for every image of the chosen ones.
        fraction (float, optional): share of all identities.
        num_identities (int, optional): number of identities instead.
        seed (int): seed of the draw. Defaults to 0.

    Returns:
        list[dict]: per chosen identity, in new-label order, ``label``
        (0..n-1), ``source_label`` and ``indices`` (ascending, ``shots``
        of them, or all).

    Raises:
        ValueError: bad arguments, or fewer identities with at least
            ``shots`` images than requested.
    """
    labels = np.asarray(labels).reshape(-1)
    shots = check_shots(shots)
    every = shots == ALL
    order = np.argsort(labels, kind='stable')  # images grouped by label
    identities, starts, counts = np.unique(
        labels[order], return_index=True, return_counts=True)
    wanted = num_subset_identities(len(identities), fraction, num_identities)
    eligible = np.arange(len(counts)) if every else np.flatnonzero(
        counts >= shots)
    if wanted > len(eligible):
        raise ValueError(
            f'a {shots}-shot subset of {wanted} identities needs {wanted} '
            f'identities with at least {shots} images, but only '
            f'{len(eligible)} of the {len(identities)} identities have '
            'that many')
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(eligible, wanted, replace=False))
    subset = []
    for new_label, k in enumerate(chosen):
        members = order[starts[k]:starts[k] + counts[k]]
        picks = np.sort(members if every else rng.choice(
            members, shots, replace=False))
        subset.append(
            dict(
                label=new_label,
                source_label=int(identities[k]),
                indices=picks.tolist()))
    return subset


def make_few_shot_subset(dataset,
                         shots: Union[int, str, None],
                         fraction: Optional[float] = None,
                         num_identities: Optional[int] = None,
                         seed: int = 0) -> dict:
    """The subset-file content of a few-shot draw from ``dataset``.

    Args:
        dataset: any dataset with ``get_gt_labels()`` or ``get_cat_ids()``.
        shots, fraction, num_identities, seed: see :func:`sample_few_shot`.

    Returns:
        dict: the subset file described in the module docstring.
    """
    labels = dataset_labels(dataset)
    shots = check_shots(shots)
    identities = sample_few_shot(labels, shots, fraction, num_identities,
                                 seed)
    names = _class_names(dataset)
    identities = [
        dict(
            label=ident['label'],
            source_label=ident['source_label'],
            name=_name(names, ident['source_label']),
            indices=ident['indices']) for ident in identities
    ]
    counts = np.unique(labels, return_counts=True)[1]
    return dict(
        format=FORMAT,
        seed=int(seed),
        fraction=fraction,
        num_identities=len(identities),
        shots=shots,
        source=dict(
            type=type(dataset).__name__,
            length=len(labels),
            num_identities=len(counts),
            skipped_identities=0 if shots == ALL else int(
                (counts < shots).sum())),
        identities=identities)


def save_few_shot_subset(subset: dict, path: str) -> None:
    """Write a subset file atomically (one identity per line)."""
    head = {k: v for k, v in subset.items() if k != 'identities'}
    lines = [json.dumps(ident) for ident in subset['identities']]
    text = json.dumps(head, indent=1)[:-2] + ',\n "identities": [\n  '
    atomic_write(text + ',\n  '.join(lines) + '\n ]\n}\n', path)


def load_few_shot_subset(path: str) -> dict:
    """Read and check a subset file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a subset file, naming the file and the record.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'few-shot subset file {path} not found')
    with open(path, encoding='utf-8') as f:
        try:
            subset = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: not valid JSON: {err}')
    if not isinstance(subset, dict) or subset.get('format') != FORMAT:
        raise ValueError(f'{path}: expected a JSON object with "format": '
                         f'"{FORMAT}" (a few-shot subset file)')
    for key in ('shots', 'seed', 'source', 'identities'):
        if key not in subset:
            raise ValueError(f'{path}: no "{key}" key')
    try:
        check_shots(subset['shots'])
    except ValueError as err:
        raise ValueError(f'{path}: "shots": {err}') from err
    if not isinstance(subset['source'], dict) or not isinstance(
            subset['source'].get('length'), int):
        raise ValueError(f'{path}: "source" must hold the integer "length" '
                         'of the source dataset')
    for i, ident in enumerate(subset['identities']):
        if not isinstance(ident, dict) or not all(
                k in ident for k in ('label', 'source_label', 'indices')):
            raise ValueError(f'{path}: identity record {i} needs "label", '
                             '"source_label" and "indices"')
        if ident['label'] != i:
            raise ValueError(f'{path}: identity record {i} has label '
                             f'{ident["label"]}, expected {i} (labels are '
                             'contiguous, in record order)')
        if not ident['indices'] or not all(
                isinstance(j, int) for j in ident['indices']):
            raise ValueError(f'{path}: identity record {i} needs a '
                             'non-empty list of integer "indices"')
    return subset


def check_subset_matches(subset: dict, dataset, path: str) -> None:
    """Refuse a subset file drawn from another dataset.

    Compares the dataset length, and the label (and class name, where both
    have one) of every image the file lists.

    Raises:
        ValueError: naming the file, the identity record and the mismatch.
    """
    hint = ('; the file was made from another dataset (make a new one '
            'with tools/misc/make_few_shot_subset.py)')
    length = subset['source']['length']
    if length != len(dataset):
        raise ValueError(f'{path}: made from a dataset of {length} images, '
                         f'but this dataset has {len(dataset)}{hint}')
    names = _class_names(dataset)
    for i, ident in enumerate(subset['identities']):
        name = ident.get('name')
        if names is not None and name is not None and _name(
                names, ident['source_label']) != name:
            raise ValueError(
                f'{path}: identity record {i} is "{name}", but label '
                f'{ident["source_label"]} of this dataset is '
                f'"{_name(names, ident["source_label"])}"{hint}')
        for j in ident['indices']:
            if not 0 <= j < len(dataset):
                raise ValueError(f'{path}: identity record {i} lists image '
                                 f'{j}, outside 0..{len(dataset) - 1}')
            label = dataset.get_cat_ids(j)[0]
            if label != ident['source_label']:
                raise ValueError(
                    f'{path}: identity record {i} lists image {j} as label '
                    f'{ident["source_label"]}, but this dataset labels it '
                    f'{label}{hint}')


def _class_names(dataset) -> Optional[tuple]:
    metainfo = getattr(dataset, 'metainfo', None) or {}
    return metainfo.get('classes')


def _name(names: Optional[tuple], label: int) -> str:
    if names is not None and 0 <= label < len(names):
        return str(names[label])
    return str(label)


@DATASETS.register_module()
class FewShotSubset(ReindexedDataset):
    """A few-shot identity subset of another dataset (LAFS protocol).

    Reads the subset from ``subset_file``, or draws it (see the module
    docstring) and writes it there when the file does not exist yet; with
    neither, draws it in memory. A subset file is checked against the
    dataset (length, labels, names) and against the draw settings given
    here.

    Data infos are those of the source dataset (``img`` decoded), with
    ``gt_label`` the subset label 0..n-1, ``source_label`` the source's
    label, ``source_index`` the source index and ``sample_idx`` the subset
    index (pack the extra keys with ``PackInputs(meta_keys=(...))``).
    ``metainfo['classes']`` lists the chosen identities' names.

    Args:
        dataset (dict | BaseDataset): the source dataset; its pipeline is
            used unless ``pipeline`` is given.
        subset_file (str, optional): subset file to read, or to write if it
            does not exist. Defaults to None.
        shots (int | str, optional): images per identity k (LAFS: 1, 2,
            4, 10), or ``'all'`` for every image of the chosen identities.
            None means "as the subset file says" (a new draw then needs
            it).
        fraction (float, optional): share of identities (LAFS: 0.01, 0.1).
        num_identities (int, optional): number of identities instead.
        seed (int, optional): seed of the draw. Defaults to None (0 for a
            new draw; any seed for an existing file).
        pipeline (Sequence, optional): transforms. Defaults to None.
        **kwargs: ``indices``, ``serialize_data``, ``test_mode``,
            ``lazy_init``, ``max_refetch`` of
            :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 dataset: DatasetLike,
                 subset_file: Optional[str] = None,
                 shots: Union[int, str, None] = None,
                 fraction: Optional[float] = None,
                 num_identities: Optional[int] = None,
                 seed: Optional[int] = None,
                 pipeline=None,
                 **kwargs) -> None:
        self.subset_file = subset_file
        self.settings = dict(
            fraction=fraction,
            num_identities=num_identities,
            shots=None if shots is None else check_shots(shots),
            seed=seed)
        super().__init__(dict(source=dataset), pipeline, **kwargs)

    def load_subset(self) -> dict:
        """Read (and check) or draw (and maybe write) the subset."""
        source = self.sources['source']
        path = self.subset_file
        if path is not None and osp.isfile(path):
            subset = load_few_shot_subset(path)
            self._check_settings(subset, path)
            check_subset_matches(subset, source, path)
            return subset
        s = self.settings
        if s['shots'] is None:
            missing = (f'subset_file {path} does not exist; to create it '
                       if path else 'without a subset_file ')
            raise ValueError(f'FewShotSubset: {missing}give shots and '
                             'fraction (or num_identities)')
        subset = make_few_shot_subset(source, s['shots'], s['fraction'],
                                      s['num_identities'], s['seed'] or 0)
        if path is not None:
            save_few_shot_subset(subset, path)
        return subset

    def _check_settings(self, subset: dict, path: str) -> None:
        for key in _SETTINGS:
            given = self.settings[key]
            if given is not None and subset.get(key) != given:
                raise ValueError(
                    f'{path}: the subset file has {key}={subset.get(key)}, '
                    f'but FewShotSubset was given {key}={given}; remove the '
                    'argument or the file')

    def load_data_list(self) -> List[dict]:
        """One record per subset image, in identity order."""
        subset = self.load_subset()
        self.subset = {k: v for k, v in subset.items() if k != 'identities'}
        self._metainfo['classes'] = tuple(
            ident.get('name', str(ident['source_label']))
            for ident in subset['identities'])
        return [
            dict(
                gt_label=ident['label'],
                source_label=ident['source_label'],
                source_index=j) for ident in subset['identities']
            for j in ident['indices']
        ]

    def extra_repr(self) -> List[str]:
        """Subset settings for ``repr``."""
        sub = getattr(self, 'subset', {})
        return [
            f'Subset file: \t{self.subset_file}',
            f'Identities: \t{sub.get("num_identities")} x '
            f'{sub.get("shots")} shots (fraction {sub.get("fraction")}, '
            f'seed {sub.get("seed")})',
            f'Source: \t{type(self.sources["source"]).__name__}'
        ]
