"""Depth of a 3D-BERL model against the synthetic generator's true depth.

A learning-curve protocol (``tools/analysis/learning_curve.py --protocols
facessl.evaluation.depth_protocol:depth_correlation``) for a model with a
reconstruction branch (``BERL`` in stage 2 or 3): it renders held-out
synthetic faces with their true depth, decodes the canonical depth of each
with the model's IRA network and scores

- ``depth/corr``: the Pearson correlation, inside the face, of the
  predicted depth with the true one, averaged over faces. The model's
  depth is a distance from the camera (nearer = smaller), the generator's
  a height in front of the head (nearer = larger), so the predicted depth
  is negated first: 1 is the true relief, -1 the relief inverted. A face
  whose predicted depth is constant inside the face has no relief to
  correlate and counts as 0 (not NaN, so that a mean over faces and seeds
  stays defined);
- ``depth/spread``: the spatial standard deviation of the mean-centred
  predicted depth over the whole map, in mm, averaged over faces (0 for a
  flat face: the flat-depth collapse);
- ``depth/across``: the standard deviation over faces of the mean-centred
  predicted depth at a pixel, in mm, averaged over pixels (0 when every
  face gets the same depth: the input-independent collapse).

The faces are rendered frontal (yaw, pitch and roll set to 0; identity,
expression, light, occluders and background as drawn), so that the true
depth lies in the canonical frame in which the IRA network predicts depth,
and resized to the renderer's size (64 px in the 3D-BERL configs) by area
averaging; a pixel is inside the face when all of its source pixels are.
"""
import dataclasses
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from facessl.datasets.synthetic.generator import SyntheticFaceGenerator

#: faces of the depth set
NUM_FACES = 32
#: the depth set's identities start this far after the training ones
#: (kNN validation follows the training identities directly, the
#: verification and IJB sets start 1000 and 2000 after them)
IDENTITY_GAP = 3000


def _require_reconstruction(model) -> None:
    """TypeError unless ``model`` has a ``reconstruct`` method."""
    if not callable(getattr(model, 'reconstruct', None)):
        raise TypeError(
            'depth_correlation: the model has no reconstruction branch '
            f'(a reconstruct() method, as BERL in stage 2 or 3); got '
            f'{type(model).__name__}')


def render_depth_set(cfg, num_faces: int = NUM_FACES,
                     identity_gap: int = IDENTITY_GAP
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """Frontal held-out faces of the config's generator, with true depth.

    Face ``i`` is image 0 of identity ``identity_offset + num_identities +
    identity_gap + i`` of ``cfg.train_dataloader.dataset`` (its seed,
    ``img_size`` and ``generator_cfg``), with the pose set to 0.

    Args:
        cfg (Config): a config training on ``SyntheticFaces``.
        num_faces (int): faces. Defaults to :data:`NUM_FACES`.
        identity_gap (int): offset after the training identities.
            Defaults to :data:`IDENTITY_GAP`.

    Returns:
        tuple: ``images`` (N, H, W, 3) uint8 BGR and ``depth`` (N, H, W)
        float32 (height in front of the head in pixels, 0 off the face).
    """
    data = cfg.train_dataloader.dataset
    if data.get('type') != 'SyntheticFaces':
        raise ValueError(
            'depth_correlation: train_dataloader.dataset must be '
            f'SyntheticFaces (the true depth comes from its generator), '
            f'got {data.get("type")!r}')
    gen = SyntheticFaceGenerator(
        img_size=data.get('img_size', 112), seed=data.get('seed', 0),
        with_depth=True, **dict(data.get('generator_cfg') or {}))
    first = data.get('identity_offset', 0) + data.num_identities + \
        identity_gap
    images, depths = [], []
    for identity in range(first, first + num_faces):
        params = dataclasses.replace(
            gen.sample_params(identity, 0), yaw=0., pitch=0., roll=0.)
        out = gen.render(gen.identity(identity), params)
        images.append(out['img'])
        depths.append(out['depth'])
    return np.stack(images), np.stack(depths)


def depth_metrics(pred: torch.Tensor, true: torch.Tensor,
                  mask: torch.Tensor) -> Dict[str, float]:
    """``depth/corr``, ``depth/spread`` and ``depth/across`` (see module).

    Args:
        pred (Tensor): (N, S, S) predicted distance from the camera in
            metres (nearer = smaller).
        true (Tensor): (N, S, S) true height (nearer = larger), any unit.
        mask (Tensor): (N, S, S) bool, inside the face.

    Returns:
        dict[str, float]: the three metrics (spread and across in mm).
    """
    if pred.shape != true.shape or pred.shape != mask.shape:
        raise ValueError(
            'depth_metrics: pred, true and mask must have one shape, got '
            f'{tuple(pred.shape)}, {tuple(true.shape)}, '
            f'{tuple(mask.shape)}')
    pred, true = pred.double(), true.double()
    corrs = []
    for p, t, m in zip(-pred, true, mask):
        p, t = p[m] - p[m].mean(), t[m] - t[m].mean()
        denom = float(p.norm() * t.norm())
        corrs.append(float((p * t).sum()) / denom if denom > 1e-20 else 0.)
    centred = pred - pred.mean(dim=(1, 2), keepdim=True)
    spread = centred.flatten(1).std(1, unbiased=False).mean()
    across = centred.std(0, unbiased=False).mean()
    return {
        'depth/corr': float(np.mean(corrs)),
        'depth/spread': float(spread) * 1e3,
        'depth/across': float(across) * 1e3,
    }


@torch.no_grad()
def predict_depth(model, images: np.ndarray,
                  batch_size: int = 16) -> torch.Tensor:
    """Canonical depth (metres) of BGR images by ``model.reconstruct``.

    The images go through ``model.data_preprocessor`` as a validation batch
    would; the model is put in eval mode and back.

    Returns:
        Tensor: (N, S, S) on the CPU, S the renderer's size.
    """
    _require_reconstruction(model)
    was_training = model.training
    model.eval()
    try:
        depths = []
        for i in range(0, len(images), batch_size):
            batch = torch.from_numpy(images[i:i + batch_size]).permute(
                0, 3, 1, 2).contiguous()
            data = model.data_preprocessor(dict(inputs=list(batch)), False)
            depths.append(model.reconstruct(data['inputs'])['depth'].cpu())
    finally:
        model.train(was_training)
    depth = torch.cat(depths)
    return depth[:, 0] if depth.dim() == 4 else depth


def true_depth_at(depth: np.ndarray, size: int
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """True depth and face mask area-resized to ``size`` x ``size``."""
    depth = torch.from_numpy(depth).float()[:, None]
    inside = (depth > 0).float()
    if depth.shape[-1] != size:
        depth = F.interpolate(depth, size=(size, size), mode='area')
        inside = F.interpolate(inside, size=(size, size), mode='area')
    return depth[:, 0], inside[:, 0] > 1 - 1e-6


def depth_correlation(cfg, model, work_dir: str = '') -> Dict[str, float]:
    """The depth protocol of a BERL model (``learning_curve.py`` API).

    Args:
        cfg (Config): the training config (``SyntheticFaces`` data).
        model (BaseModel): a model with ``reconstruct(inputs)`` returning
            ``depth`` (BERL in stage 2 or 3).
        work_dir (str): unused (nothing is written).

    Returns:
        dict[str, float]: ``depth/corr``, ``depth/spread`` (mm),
        ``depth/across`` (mm).
    """
    _require_reconstruction(model)
    images, depth = render_depth_set(cfg)
    pred = predict_depth(model, images)
    true, mask = true_depth_at(depth, pred.shape[-1])
    return depth_metrics(pred, true, mask)
