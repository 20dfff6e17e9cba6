"""IJB-B / IJB-C 1:1 TAR@FAR and 1:N identification (insightface protocol)."""
import re
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from facessl.datasets.ijb_meta import (GALLERIES, meta_file, one_to_n_files,
                                       read_id_list, read_template_pairs)
from facessl.evaluation.ijb_protocol import (identification, lookup,
                                             pair_scores, tar_at_far,
                                             template_features)
from facessl.registry import METRICS

_META = ('img_index', 'flip', 'template_id', 'media_id', 'face_score')


def rate_name(rate: float) -> str:
    """``1e-4`` for 0.0001: a short name for a FAR/FPIR in metric keys."""
    mantissa, exponent = f'{rate:.0e}'.split('e')
    return f'{mantissa}e{int(exponent)}'


@METRICS.register_module()
class IJBMetric(BaseMetric):
    """IJB-B / IJB-C template verification and identification.

    Protocol (insightface ``ijb_11.py`` / ``ijb_1n.py``, details in
    :mod:`facessl.evaluation.ijb_protocol`):

    1. image feature = ``feat`` of the image + ``feat`` of its flip (the
       predictions of :class:`~facessl.datasets.IJBDataset` with
       ``flip_test=True``, matched by ``img_index``; without flips the
       single feature); not L2-normalised unless
       ``normalize_image_feats``; multiplied by the face score if
       ``use_face_score``;
    2. template = L2-normalised sum over its media of the mean image
       feature of each media (template and media ids from the
       predictions' meta data);
    3. 1:1: cosine score of every pair of the pair file; TAR@FAR per
       ``far_mode`` (``'nearest'``: insightface's ROC point nearest each
       FAR; ``'at_most'``: loosest threshold with FAR <= target);
    4. 1:N (``one_to_n``): each gallery (IJB-C G1, G2; IJB-B S1, S2)
       searched by the mixed probe set: rank-k over mated probes, TPIR at
       FPIR with the threshold set by the non-mated probes
       (:func:`~facessl.evaluation.ijb_protocol.identification`). Reported
       per gallery (``G1/rank1``) and combined: rank-k over the mated
       probes of both galleries (insightface ``ijb_evals.py``'s "Mean"),
       TPIR averaged over the galleries.

    Rates are in percent. Keys (prefix ``ijbc`` for ``name='IJBC'``):
    ``ijbc/tar@far=1e-4`` ...; with 1:N also ``ijbc/rank1``,
    ``ijbc/rank5``, ``ijbc/tpir@fpir=1e-2``, ``ijbc/G1/rank1`` ...

    The predictions must carry the dataset's meta keys: pack them with
    ``dict(type='PackInputs', meta_keys=IJB_META_KEYS)``
    (:data:`facessl.datasets.ijb.IJB_META_KEYS`). The pair file and 1:N
    lists are parsed in :meth:`compute_metrics` with
    :mod:`facessl.datasets.ijb_meta` (once; cached on the metric).

    Args:
        data_root (str, optional): the benchmark folder (as the dataset's);
            the default place of the pair file and 1:N lists.
        name (str): 'IJBC' or 'IJBB'. Defaults to 'IJBC'.
        pair_file (str, optional): ``template template label`` pairs.
            Defaults to ``<data_root>/meta/<name>_template_pair_label.txt``.
        one_to_n (bool): also run 1:N. Defaults to False (True when
            ``gallery_files`` are given).
        gallery_files (Sequence[str], optional): 1:N gallery CSVs.
            Defaults to the benchmark's two galleries under ``data_root``.
        probe_file (str, optional): 1:N probe CSV. Defaults to
            ``<data_root>/meta/<name>_1N_probe_mixed.csv``.
        far_targets (Sequence[float]): FARs of the TAR@FAR table.
        far_mode (str): 'nearest' (insightface) or 'at_most'.
        ranks (Sequence[int]): 1:N closed-set ranks. Defaults to (1, 5).
        fpir_targets (Sequence[float]): 1:N FPIRs. Defaults to
            (0.01, 0.1).
        normalize_image_feats (bool): L2-normalise image features before
            pooling. Defaults to False.
        use_face_score (bool): weight images by their face score.
            Defaults to True.
        feat_key (str): prediction field of the feature. Defaults to
            'feat'.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to ``name.lower()``.
    """
    default_prefix = 'ijb'

    def __init__(self,
                 data_root: Optional[str] = None,
                 name: str = 'IJBC',
                 pair_file: Optional[str] = None,
                 one_to_n: bool = False,
                 gallery_files: Optional[Sequence[str]] = None,
                 probe_file: Optional[str] = None,
                 far_targets: Sequence[float] = (1e-6, 1e-5, 1e-4, 1e-3,
                                                 1e-2, 1e-1),
                 far_mode: str = 'nearest',
                 ranks: Sequence[int] = (1, 5),
                 fpir_targets: Sequence[float] = (1e-2, 1e-1),
                 normalize_image_feats: bool = False,
                 use_face_score: bool = True,
                 feat_key: str = 'feat',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        if name.upper() not in GALLERIES:
            raise ValueError(f'IJBMetric: name must be one of '
                             f'{sorted(GALLERIES)}, got {name!r}')
        if far_mode not in ('nearest', 'at_most'):
            raise ValueError(f"IJBMetric: far_mode must be 'nearest' or "
                             f"'at_most', got {far_mode!r}")
        super().__init__(
            collect_device=collect_device, prefix=prefix or name.lower())
        one_to_n = one_to_n or gallery_files is not None
        if data_root is None and (pair_file is None or one_to_n and (
                gallery_files is None or probe_file is None)):
            raise ValueError('IJBMetric: give data_root, or pair_file (and '
                             'gallery_files and probe_file for 1:N)')
        self.pair_file = pair_file or meta_file(data_root, name,
                                                'template_pair_label.txt')
        self.gallery_files, self.probe_file = None, None
        if one_to_n:
            galleries, probe = (
                one_to_n_files(data_root, name) if data_root else (None,
                                                                   None))
            self.gallery_files = list(gallery_files or galleries)
            self.probe_file = probe_file or probe
        self.far_targets = tuple(far_targets)
        self.far_mode = far_mode
        self.ranks = tuple(ranks)
        self.fpir_targets = tuple(fpir_targets)
        self.normalize_image_feats = normalize_image_feats
        self.use_face_score = use_face_score
        self.feat_key = feat_key
        self._lists = {}

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store each prediction's feature with its image/template ids.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples (Sequence[dict]): predictions with a 1-D ``feat``
                and the meta keys ``img_index``, ``flip``, ``template_id``,
                ``media_id``, ``face_score``.
        """
        for sample in data_samples:
            feat = sample.get(self.feat_key)
            missing = [k for k in _META if sample.get(k) is None]
            if not isinstance(feat, torch.Tensor) or missing:
                raise KeyError(
                    f'IJBMetric: each prediction needs a tensor '
                    f"'{self.feat_key}' and the meta keys {_META} (pack "
                    'them with PackInputs(meta_keys=IJB_META_KEYS)); '
                    f'missing {missing or [self.feat_key]}')
            rec = {k: sample.get(k) for k in _META}
            rec['feat'] = feat.detach().float().flatten().cpu().numpy()
            self.results.append(rec)

    # --- evaluation -----------------------------------------------------
    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Pool templates, then score the 1:1 pairs (and 1:N lists).

        Args:
            results (list[dict]): the records stored by :meth:`process`.

        Returns:
            dict: rates in percent, see the class docstring.
        """
        feats, tids, mids, scores = image_features(results)
        templates, tfeats = template_features(
            feats, tids, mids, scores if self.use_face_score else None,
            self.normalize_image_feats)
        del feats
        t1, t2, labels = self._read(self.pair_file, read_template_pairs)
        rows1 = self._rows(templates, t1, self.pair_file)
        rows2 = self._rows(templates, t2, self.pair_file)
        pair = pair_scores(tfeats, rows1, rows2)
        picked = tar_at_far(labels, pair, self.far_targets, self.far_mode)
        out = {
            f'tar@far={rate_name(far)}': float(tar) * 100
            for far, tar in zip(self.far_targets, picked['tar'])
        }
        if self.gallery_files:
            out.update(self._one_to_n(templates, tfeats))
        return out

    def _read(self, path: str, reader):
        if path not in self._lists:
            self._lists[path] = reader(path)
        return self._lists[path]

    @staticmethod
    def _rows(templates: np.ndarray, ids: np.ndarray, path: str):
        rows = lookup(templates, ids)
        if (rows < 0).any():
            bad = np.asarray(ids)[rows < 0]
            raise ValueError(f'{path}: template {bad[0]} has no image '
                             f'feature ({len(np.unique(bad))} such '
                             'templates); evaluate the whole IJB data set')
        return rows

    def _one_to_n(self, templates: np.ndarray, tfeats: np.ndarray):
        probe_ids, probe_subjects = self._read(self.probe_file, read_id_list)
        probes = tfeats[self._rows(templates, probe_ids, self.probe_file)]
        out, hits, mated, tpirs = {}, 0, 0, []
        for path in self.gallery_files:
            gal_ids, gal_subjects = self._read(path, read_id_list)
            gallery = tfeats[self._rows(templates, gal_ids, path)]
            try:
                res = identification(probes, probe_subjects, gallery,
                                     gal_subjects, self.ranks,
                                     self.fpir_targets)
            except ValueError as err:
                raise ValueError(f'{path}: {err}') from None
            tag = gallery_tag(path)
            denom = max(res['num_mated'], 1)
            for r, h in zip(self.ranks, res['rank_hits']):
                out[f'{tag}/rank{r}'] = h / denom * 100
            for f, t in zip(self.fpir_targets, res['tpir']):
                out[f'{tag}/tpir@fpir={rate_name(f)}'] = float(t) * 100
            hits, mated = hits + res['rank_hits'], mated + res['num_mated']
            tpirs.append(res['tpir'])
        for r, h in zip(self.ranks, hits):
            out[f'rank{r}'] = h / max(mated, 1) * 100
        for f, t in zip(self.fpir_targets, np.mean(tpirs, 0)):
            out[f'tpir@fpir={rate_name(f)}'] = float(t) * 100
        return out


def gallery_tag(path: str) -> str:
    """``G1`` for ``.../ijbc_1N_gallery_G1.csv``; else the file stem."""
    stem = re.sub(r'\.csv$', '', path.replace('\\', '/').split('/')[-1])
    match = re.search(r'_gallery_(\w+)$', stem)
    return match.group(1) if match else stem


def image_features(results: List[dict]):
    """Sum each image's original and flipped features.

    Records repeated with the same ``(img_index, flip)`` (a distributed
    sampler's padding) count once. Every image must have the same set of
    flips.

    Args:
        results (list[dict]): ``feat``, ``img_index``, ``flip``,
            ``template_id``, ``media_id``, ``face_score`` per prediction.

    Returns:
        tuple: features (N, D) float32, template ids, media ids and face
        scores (N,) of the N distinct images, by ascending ``img_index``.
    """
    if not results:
        raise ValueError('IJBMetric: no predictions to evaluate')
    index = np.array([int(r['img_index']) for r in results], np.int64)
    flip = np.array([bool(r['flip']) for r in results])
    _, first = np.unique(index * 2 + flip, return_index=True)
    images, rows, counts = np.unique(
        index[first], return_inverse=True, return_counts=True)
    if counts.min() != counts.max():
        bad = images[np.argmin(counts)]
        raise ValueError(f'IJBMetric: image {bad} has {counts.min()} '
                         f'feature(s) but others have {counts.max()}; '
                         'expected the original and flipped image of '
                         'every image (or none flipped)')
    dim = len(results[0]['feat'])
    feats = torch.zeros(len(images), dim)
    for start in range(0, len(first), 65536):
        chunk = first[start:start + 65536]
        stacked = torch.from_numpy(np.stack([results[k]['feat']
                                             for k in chunk]))
        feats.index_add_(0, torch.from_numpy(rows[start:start + 65536]),
                         stacked)
    head = first[np.unique(rows, return_index=True)[1]]
    meta = [np.array([results[k][key] for k in head])
            for key in ('template_id', 'media_id', 'face_score')]
    return (feats.numpy(), meta[0].astype(np.int64),
            meta[1].astype(np.int64), meta[2].astype(np.float64))
