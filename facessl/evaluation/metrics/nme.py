"""Normalised mean error of face landmarks, failure rate and CED AUC."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from facessl.datasets.landmark_layouts import EYE_POINTS, OUTER_EYE_CORNERS
from facessl.registry import METRICS

NORMS = ('inter_ocular', 'inter_pupil', 'bbox')


def interocular_distance(gt: np.ndarray, left: int,
                         right: int) -> np.ndarray:
    """Distance between two landmarks (the outer eye corners) per face.

    Args:
        gt (np.ndarray): (N, K, 2) ground-truth landmarks.
        left (int): index of the image-left outer eye corner.
        right (int): index of the image-right outer eye corner.

    Returns:
        np.ndarray: (N,) distances.
    """
    return np.linalg.norm(gt[:, left] - gt[:, right], axis=-1)


def interpupil_distance(gt: np.ndarray, left: Sequence[int],
                        right: Sequence[int]) -> np.ndarray:
    """Distance between the eye centres (means of each eye's points).

    Args:
        gt (np.ndarray): (N, K, 2) ground-truth landmarks.
        left (Sequence[int]): indices of the image-left eye's points.
        right (Sequence[int]): indices of the image-right eye's points.

    Returns:
        np.ndarray: (N,) distances.
    """
    centre_l = gt[:, list(left)].mean(1)
    centre_r = gt[:, list(right)].mean(1)
    return np.linalg.norm(centre_l - centre_r, axis=-1)


def bbox_size(bbox: np.ndarray) -> np.ndarray:
    """``sqrt(w * h)`` of ``[x1, y1, x2, y2]`` boxes, (N, 4) -> (N,)."""
    bbox = np.asarray(bbox, np.float64)
    return np.sqrt((bbox[:, 2] - bbox[:, 0]) * (bbox[:, 3] - bbox[:, 1]))


def landmark_nme(pred: np.ndarray,
                 gt: np.ndarray,
                 norm: np.ndarray,
                 mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Per-face NME: mean point-to-point error over the normaliser.

    ``nme_i = mean_k ||pred_ik - gt_ik|| / norm_i`` over the points with
    ``mask_ik`` (all points without a mask).

    Args:
        pred (np.ndarray): (N, K, 2) predicted landmarks.
        gt (np.ndarray): (N, K, 2) ground truth, same frame as ``pred``.
        norm (np.ndarray): (N,) normalising distances, > 0.
        mask (np.ndarray, optional): (N, K) bool, points that count.

    Returns:
        np.ndarray: (N,) float64 NMEs (fractions, not percent).
    """
    err = np.linalg.norm(
        np.asarray(pred, np.float64) - np.asarray(gt, np.float64), axis=-1)
    if mask is None:
        mask = np.ones(err.shape, bool)
    mask = np.asarray(mask, bool)
    counts = mask.sum(1)
    if (counts == 0).any():
        raise ValueError(f'landmark_nme: face {int(np.argmin(counts))} has '
                         'no point to evaluate (empty mask)')
    return (err * mask).sum(1) / counts / np.asarray(norm, np.float64)


def failure_rate(nmes: np.ndarray, threshold: float = 0.1) -> float:
    """Fraction of faces whose NME exceeds ``threshold`` (FR@threshold)."""
    return float((np.asarray(nmes) > threshold).mean())


def ced_auc(nmes: np.ndarray, threshold: float = 0.1) -> float:
    """Area under the cumulative error distribution up to ``threshold``.

    The CED is ``F(x) = #{i: nme_i <= x} / N``; the AUC is
    ``integral_0^t F(x) dx / t``, in [0, 1]. The integral of the step
    function is exact: ``mean_i max(0, 1 - nme_i / t)``.

    Args:
        nmes (np.ndarray): (N,) per-face NMEs.
        threshold (float): upper limit t. Defaults to 0.1.

    Returns:
        float: the normalised area.
    """
    nmes = np.asarray(nmes, np.float64)
    return float(np.clip(1 - nmes / threshold, 0, 1).mean())


def _first(sample: dict, keys: Sequence[str]):
    for key in keys:
        if sample.get(key) is not None:
            return sample[key]
    return None


def _array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, np.float64)


@METRICS.register_module()
class NMEMetric(BaseMetric):
    """Landmark NME, failure rate and AUC (300-W / WFLW protocol).

    Each prediction carries ``pred_landmarks`` (K, 2) and its ground truth
    ``gt_landmarks`` (K, 2), or the data info's ``landmarks`` packed into
    the data sample (``PackInputs(algorithm_keys=('landmarks',))`` or
    ``meta_keys``); both must be in the same pixel frame (NME is scale
    free, so any common frame works). Per face:

    - ``inter_ocular``: error over the distance of the outer eye corners
      (iBUG 68: points 36 and 45; WFLW 98: 60 and 72; CelebA 5: the eye
      centres 0 and 1);
    - ``inter_pupil``: over the distance of the eye centres, the means of
      each eye's contour points (68: 36-41, 42-47; 98: 60-67, 68-75);
    - ``bbox``: over ``sqrt(w * h)`` of ``gt_bbox``/``bbox`` ``[x1, y1,
      x2, y2]`` (the tight box of the ground truth if absent).

    Reported: ``nme``, the mean of per-face NMEs, and ``failure_rate``
    (faces with NME > ``threshold``), both in percent, and ``auc``, the
    area under the CED curve up to ``threshold`` normalised to [0, 1]
    (the 300-W/WFLW FR@10% and AUC@10%). Deviation: the AUC is the exact
    integral of the step CED, where common code samples the CED every
    1e-4 and integrates with Simpson's rule (differences ~1e-3).

    Args:
        norm (str): 'inter_ocular', 'inter_pupil' or 'bbox'. Defaults to
            'inter_ocular'.
        eye_indices (Sequence, optional): (left, right) corner indices for
            'inter_ocular', or (left points, right points) for
            'inter_pupil'; defaults to the layout of K points.
        threshold (float): FR and AUC limit. Defaults to 0.1.
        pred_key (str): prediction field. Defaults to 'pred_landmarks'.
        mask_key (str, optional): sample field of (K,) bool points that
            count (e.g. COCO's 'landmarks_labelled'). Defaults to None
            (all points, the 300-W/WFLW protocol).
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to 'landmarks'.
    """
    default_prefix = 'landmarks'

    def __init__(self,
                 norm: str = 'inter_ocular',
                 eye_indices: Optional[Sequence] = None,
                 threshold: float = 0.1,
                 pred_key: str = 'pred_landmarks',
                 mask_key: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if norm not in NORMS or threshold <= 0:
            raise ValueError(f'NMEMetric: norm must be one of {NORMS} and '
                             f'threshold > 0, got {norm!r}, {threshold}')
        self.norm = norm
        self.eye_indices = eye_indices
        self.threshold = threshold
        self.pred_key = pred_key
        self.mask_key = mask_key

    def _eyes(self, num: int):
        if self.eye_indices is not None:
            return self.eye_indices
        table = OUTER_EYE_CORNERS if self.norm == 'inter_ocular' else (
            EYE_POINTS)
        if num not in table:
            raise ValueError(f'NMEMetric: no default eye indices for {num} '
                             f'landmarks (known: {sorted(table)}); pass '
                             'eye_indices')
        return table[num]

    def _normaliser(self, gt: np.ndarray, sample: dict) -> float:
        if self.norm == 'bbox':
            box = _first(sample, ('gt_bbox', 'bbox'))
            if box is None:
                box = np.concatenate([gt.min(0), gt.max(0)])
            return float(bbox_size(_array(box).reshape(1, 4))[0])
        left, right = self._eyes(len(gt))
        fn = (interocular_distance
              if self.norm == 'inter_ocular' else interpupil_distance)
        return float(fn(gt[None], left, right)[0])

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Compute and store each face's NME.

        Args:
            data_batch: the batch (unused).
            data_samples (Sequence[dict | DataSample]): predictions with
                ``pred_key`` and ``gt_landmarks`` or ``landmarks``.
        """
        for sample in data_samples:
            pred = sample.get(self.pred_key)
            gt = _first(sample, ('gt_landmarks', 'landmarks'))
            if pred is None or gt is None:
                raise KeyError(
                    f"NMEMetric: each sample needs '{self.pred_key}' and "
                    "'gt_landmarks' or 'landmarks', got keys "
                    f'{sorted(sample.keys())}')
            pred, gt = _array(pred), _array(gt)
            where = sample.get('img_path', sample.get('sample_idx', '?'))
            if pred.shape != gt.shape or gt.ndim != 2 or gt.shape[1] != 2:
                raise ValueError(f'NMEMetric: sample {where}: prediction '
                                 f'{pred.shape} and ground truth '
                                 f'{gt.shape} must both be (K, 2)')
            mask = None
            if self.mask_key is not None:
                mask = np.asarray(_array(sample[self.mask_key]), bool)[None]
            norm = self._normaliser(gt, sample)
            if not norm > 0:
                raise ValueError(f'NMEMetric: sample {where}: {self.norm} '
                                 f'normaliser is {norm}, expected > 0')
            self.results.append(
                float(landmark_nme(pred[None], gt[None], [norm], mask)[0]))

    def compute_metrics(self, results: List[float]) -> Dict[str, float]:
        """NME and FR in percent, AUC in [0, 1].

        Args:
            results (list[float]): per-face NMEs.

        Returns:
            dict: ``nme``, ``failure_rate``, ``auc``.
        """
        nmes = np.asarray(results, np.float64)
        return dict(
            nme=float(nmes.mean()) * 100,
            failure_rate=failure_rate(nmes, self.threshold) * 100,
            auc=ced_auc(nmes, self.threshold))
