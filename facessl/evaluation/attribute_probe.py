"""Linear attribute probe on held-out identities, split by identity.

Protocol: frozen features of a labelled face set (the config's validation
set, identities never trained on); the identities, sorted, are split in
two halves, the first to fit and the second to score, so an identity's
images are never on both sides (identity-level attributes such as
``bald`` or ``beard`` cannot be read off a remembered identity). For each
binary attribute an L2-regularised logistic regression is fitted on the
standardised features with L-BFGS
(:func:`~facessl.evaluation.features.linear_probe_predict`, a convex
problem: no learning-rate schedule). Reported, in percent and averaged
over the attributes: accuracy and balanced accuracy (the mean of the true
positive and true negative rates; 50 for any image-blind rule, which
plain accuracy is not, as several attributes are rare). An attribute
with a single value in either half cannot be fitted or scored: it is
skipped with a warning.

Used as a learning-curve protocol::

    python tools/analysis/learning_curve.py CONFIG --minutes 8 \\
        --protocols facessl.evaluation.attribute_probe:attributes
"""
import logging
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

from facessl.datasets import SyntheticFaces
from facessl.datasets.synthetic import attributes_of
from facessl.registry import DATASETS
from .baselines import raw_pixel_features
from .features import extract_features, linear_probe_predict

#: Metric key prefix.
PREFIX = 'attr'

# the last held-out set packed by its pipeline, keyed by the data-set
# config: a learning curve probes the same images at every evaluation
_HELD_OUT: Dict[str, tuple] = {}


def attribute_table(dataset) -> Tuple[torch.Tensor, torch.Tensor, tuple]:
    """Binary attributes and identity of every sample of ``dataset``.

    :class:`~facessl.datasets.SyntheticFaces` gives them from the
    generator's parameters without rendering; any other data set from
    each data info's ``attributes`` (and ``identity``, else
    ``gt_label``).

    Args:
        dataset: a data set with ``get_data_info`` and, in its metainfo,
            ``attribute_names``.

    Returns:
        tuple: ``(attributes (N, A) long 0/1, identities (N,) long,
        names)``.

    Raises:
        ValueError: the data set has no attributes.
    """
    name = type(dataset).__name__
    if len(dataset) == 0:
        raise ValueError(f'attribute probe: data set {name} is empty')
    if isinstance(dataset, SyntheticFaces):
        gen = dataset.generator
        rows, ids = [], []
        for i in range(len(dataset)):
            rec = dataset._record(i)
            ident = rec['identity']
            params = gen.sample_params(ident, rec['image_index'])
            rows.append(attributes_of(gen.identity(ident), params))
            ids.append(ident)
    else:
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        if 'attributes' not in infos[0]:
            raise ValueError(
                f'attribute probe: data set {name} has no attributes (no '
                "'attributes' key in its data infos); expected a data set "
                'such as SyntheticFaces or AttributeList')
        rows = [info['attributes'] for info in infos]
        ids = [int(info.get('identity', info.get('gt_label', -1)))
               for info in infos]
    attrs = torch.as_tensor([list(map(int, r)) for r in rows])
    names = tuple(dataset.metainfo.get('attribute_names') or
                  (f'attribute_{k}' for k in range(attrs.shape[1])))
    if len(names) != attrs.shape[1]:
        raise ValueError(f'attribute probe: data set {name} has '
                         f'{attrs.shape[1]} attributes but '
                         f'{len(names)} attribute_names')
    return (attrs > 0).long(), torch.as_tensor(ids), names


def identity_split(identities: torch.Tensor
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Masks of the first and the second half of the sorted identities.

    Args:
        identities (Tensor): (N,) identity of every sample.

    Returns:
        tuple[Tensor, Tensor]: (N,) fit mask, (N,) score mask.

    Raises:
        ValueError: fewer than two identities.
    """
    unique = torch.unique(identities)  # sorted
    if len(unique) < 2:
        raise ValueError('attribute probe: need >= 2 identities to split '
                         f'by identity, got {len(unique)}')
    fit = torch.isin(identities, unique[:len(unique) // 2])
    return fit, ~fit


def _usable(attrs: torch.Tensor, fit: torch.Tensor, score: torch.Tensor,
            names: Sequence[str]) -> list:
    """Indices of the attributes with both values in both halves."""
    keep = []
    for k, name in enumerate(names):
        counts = [int(attrs[m, k].sum()) for m in (fit, score)]
        sizes = [int(m.sum()) for m in (fit, score)]
        if all(0 < c < n for c, n in zip(counts, sizes)):
            keep.append(k)
        else:
            print_log(
                f'attribute probe: skipping {name!r}: present in '
                f'{counts[0]}/{sizes[0]} fit and {counts[1]}/{sizes[1]} '
                'scored images (needs both values in both halves)',
                logger='current', level=logging.WARNING)
    if not keep:
        raise ValueError('attribute probe: no attribute has both values in '
                         'both identity halves')
    return keep


def _scores(pred: torch.Tensor, truth: torch.Tensor) -> Tuple[float, float]:
    """(accuracy, balanced accuracy) in percent of 0/1 predictions."""
    acc = (pred == truth).float().mean()
    tpr = (pred[truth == 1] == 1).float().mean()
    tnr = (pred[truth == 0] == 0).float().mean()
    return 100 * float(acc), 100 * float((tpr + tnr) / 2)


def _summary(per_attr: Dict[str, Tuple[float, float]],
             per_attribute: bool) -> Dict[str, float]:
    """Mean (and per-attribute) accuracy and balanced accuracy."""
    accs = torch.tensor(list(per_attr.values()))
    out = {f'{PREFIX}/mean_acc': float(accs[:, 0].mean()),
           f'{PREFIX}/mean_balanced_acc': float(accs[:, 1].mean())}
    if per_attribute:
        for name, (acc, bal) in per_attr.items():
            out[f'{PREFIX}/{name}_acc'] = acc
            out[f'{PREFIX}/{name}_balanced_acc'] = bal
    return out


def probe_attributes(feats: torch.Tensor,
                     attrs: torch.Tensor,
                     identities: torch.Tensor,
                     names: Sequence[str],
                     weight_decay: float = 1e-3,
                     steps: int = 200,
                     per_attribute: bool = False,
                     seed: int = 0) -> Dict[str, float]:
    """Linear probe of every attribute, fitted and scored across identities.

    Args:
        feats (Tensor): (N, D) frozen features.
        attrs (Tensor): (N, A) 0/1 attributes.
        identities (Tensor): (N,) identities (split by
            :func:`identity_split`).
        names (Sequence[str]): the A attribute names.
        weight_decay (float): L2 penalty. Defaults to 1e-3.
        steps (int): L-BFGS iterations. Defaults to 200.
        per_attribute (bool): also report every attribute. Defaults to
            False.
        seed (int): seed of the classifiers' initialisation, drawn in a
            forked RNG (the caller's random stream is untouched).
            Defaults to 0.

    Returns:
        dict: ``attr/mean_acc``, ``attr/mean_balanced_acc`` (percent) and,
        with ``per_attribute``, ``attr/<name>_acc`` and
        ``attr/<name>_balanced_acc``.
    """
    if not (len(feats) == len(attrs) == len(identities)):
        raise ValueError(f'attribute probe: {len(feats)} features, '
                         f'{len(attrs)} attribute rows and '
                         f'{len(identities)} identities')
    fit, score = identity_split(identities)
    feats = feats.float()
    per_attr = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for k in _usable(attrs, fit, score, names):
            pred = linear_probe_predict(feats[fit], attrs[fit, k],
                                        feats[score], 2, weight_decay,
                                        steps)
            per_attr[names[k]] = _scores(pred, attrs[score, k])
    return _summary(per_attr, per_attribute)


def majority_baseline(attrs: torch.Tensor, identities: torch.Tensor,
                      names: Sequence[str]) -> Dict[str, float]:
    """The image-blind rule: each attribute's majority value in the fit half.

    Its balanced accuracy is 50 by construction; its accuracy is what a
    probe's plain accuracy must be compared with.

    Args:
        attrs (Tensor): (N, A) 0/1 attributes.
        identities (Tensor): (N,) identities.
        names (Sequence[str]): the A attribute names.

    Returns:
        dict: the keys of :func:`probe_attributes` (``per_attribute``).
    """
    fit, score = identity_split(identities)
    per_attr = {}
    for k in _usable(attrs, fit, score, names):
        major = int(attrs[fit, k].float().mean() >= 0.5)
        pred = torch.full_like(attrs[score, k], major)
        per_attr[names[k]] = _scores(pred, attrs[score, k])
    return _summary(per_attr, True)


def held_out_set(cfg) -> Tuple[list, torch.Tensor, torch.Tensor, tuple]:
    """The packed samples of ``cfg.val_dataloader.dataset`` and their labels.

    The pipeline must be deterministic (a validation pipeline): its
    outputs are kept for the next call with the same data-set config, so
    that a learning curve renders the images once.

    Returns:
        tuple: ``(samples, attributes, identities, names)``, see
        :func:`attribute_table`.
    """
    key = repr(cfg.val_dataloader.dataset)
    if key not in _HELD_OUT:
        dataset = DATASETS.build(cfg.val_dataloader.dataset)
        table = attribute_table(dataset)
        _HELD_OUT.clear()
        _HELD_OUT[key] = ([dataset[i] for i in range(len(dataset))], ) + (
            table)
    return _HELD_OUT[key]


def attributes(cfg, model, work_dir: Optional[str] = None
               ) -> Dict[str, float]:
    """Learning-curve protocol: attribute probe of ``model`` on held-out ids.

    Takes the samples of ``cfg.val_dataloader.dataset`` (e.g.
    SyntheticFaces of held-out identities, :func:`held_out_set`), extracts
    the model's ``feat`` predictions with
    :func:`~facessl.evaluation.features.extract_features` and runs
    :func:`probe_attributes`. The model's train/eval mode and the global
    random state are left as they were.

    Args:
        cfg (Config): a config with ``val_dataloader``.
        model: a model whose ``val_step`` predictions carry ``feat``.
        work_dir (str, optional): unused (the protocol signature).

    Returns:
        dict: ``attr/mean_acc`` and ``attr/mean_balanced_acc``.
    """
    samples, attrs, ids, names = held_out_set(cfg)
    was_training = model.training
    try:
        with torch.random.fork_rng(devices=[]):
            feats, _ = extract_features(
                model, samples, cfg.val_dataloader.get('batch_size', 64))
    finally:
        model.train(was_training)
    return probe_attributes(feats, attrs, ids, names)


def attribute_baselines(cfg) -> Dict[str, Dict[str, float]]:
    """Raw-pixel and image-blind baselines of :func:`attributes`.

    Args:
        cfg (Config): the config (``val_dataloader`` and the data
            preprocessor's ``mean``/``std``, as the raw-pixel kNN).

    Returns:
        dict: ``{'raw_pixels': ..., 'majority': ...}``, each a metric dict
        with the per-attribute keys.
    """
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    attrs, ids, names = attribute_table(dataset)
    pre = cfg.get('data_preprocessor') or cfg.model.get(
        'data_preprocessor') or {}
    feats, _ = raw_pixel_features(dataset, pre.get('mean', (127.5, ) * 3),
                                  pre.get('std', (127.5, ) * 3))
    return dict(
        raw_pixels=probe_attributes(feats, attrs, ids, names,
                                    per_attribute=True),
        majority=majority_baseline(attrs, ids, names))
