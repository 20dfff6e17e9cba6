"""Few-shot identification on frozen features of held-out identities.

The few-shot question of LAFS (Sun et al., CVPR 2024,
https://arxiv.org/abs/2403.08161) asked without fine-tuning: how well do
the frozen features recognise an identity from K enrolment images? For
each identity the first K images (dataset order, so the split is the same
for every network scored) form its gallery, the others are probes; a
probe is assigned the identity whose gallery mean, on L2-normalised
features, is the most cosine-similar (nearest class mean). Top-1 accuracy
over all probes, in %.
"""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F

from facessl.registry import DATASETS
from .features import extract_features

#: gallery sizes of :func:`few_shot`
SHOTS = (1, 5)


def few_shot_top1(feats: torch.Tensor,
                  labels: torch.Tensor,
                  shots: int,
                  source: str = 'features') -> float:
    """K-shot nearest-class-mean top-1 accuracy (%).

    Args:
        feats (Tensor): ``(N, D)`` features, in dataset order.
        labels (Tensor): ``(N,)`` identity labels.
        shots (int): K, gallery images per identity (its first K).
        source (str): what the features are, for error messages.

    Returns:
        float: top-1 accuracy over every identity's remaining images.

    Raises:
        ValueError: K < 1, mismatched shapes, or an identity with K or
            fewer images (it would have no probe), naming it.
    """
    if shots < 1:
        raise ValueError(f'{source}: shots must be >= 1, got {shots}')
    if feats.dim() != 2 or labels.shape != feats.shape[:1]:
        raise ValueError(f'{source}: expected (N, D) features and (N,) '
                         f'labels, got {tuple(feats.shape)} and '
                         f'{tuple(labels.shape)}')
    feats = F.normalize(feats.float(), dim=1)
    ids = labels.unique()
    gallery = torch.zeros(len(ids), feats.shape[1])
    probe_idx, probe_cls = [], []
    for cls, identity in enumerate(ids.tolist()):
        idx = (labels == identity).nonzero().flatten()
        if len(idx) <= shots:
            raise ValueError(
                f'{source}: identity {identity} has {len(idx)} images; '
                f'{shots}-shot identification needs more than {shots} '
                f'({shots} gallery + at least one probe)')
        gallery[cls] = feats[idx[:shots]].mean(0)
        probe_idx.append(idx[shots:])
        probe_cls.append(torch.full((len(idx) - shots, ), cls))
    probes = feats[torch.cat(probe_idx)]
    pred = (probes @ F.normalize(gallery, dim=1).T).argmax(1)
    return (pred == torch.cat(probe_cls)).float().mean().item() * 100


def few_shot(cfg, model, work_dir: str,
             shots: Sequence[int] = SHOTS) -> Dict[str, float]:
    """Few-shot top-1 of ``model`` on ``cfg.val_dataloader.dataset``.

    A ``tools/analysis/learning_curve.py`` protocol
    (``--protocols facessl.evaluation.few_shot:few_shot``): the features
    are ``model.val_step``'s ``feat`` (the teacher's class token for the
    self-supervised algorithms), see
    :func:`facessl.evaluation.features.extract_features`.

    Args:
        cfg (Config): config whose ``val_dataloader.dataset`` holds the
            held-out identities (more than ``max(shots)`` images each).
        model (nn.Module): the network being trained.
        work_dir (str): unused; part of the protocol signature.
        shots (Sequence[int]): gallery sizes. Defaults to (1, 5).

    Returns:
        dict: ``fewshot/<K>shot_top1`` -> accuracy in %.
    """
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    feats, labels = extract_features(
        model, dataset, batch_size=cfg.val_dataloader.get('batch_size', 64))
    source = ('cfg.val_dataloader.dataset '
              f"({cfg.val_dataloader.dataset.get('type')})")
    return {
        f'fewshot/{k}shot_top1': few_shot_top1(feats, labels, k, source)
        for k in shots
    }
