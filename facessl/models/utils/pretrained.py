"""Strict loading of one sub-module's weights from a whole-model checkpoint.

MMEngine's ``init_cfg=dict(type='Pretrained', prefix=...)`` loads with
``strict=False``: a wrong prefix half-matching, or a checkpoint of another
architecture, only logs a warning and leaves random weights behind. For a
frozen backbone that silently yields a probe of a random network, so
facessl loads such weights with :func:`load_pretrained`, which refuses
any missing or unexpected key.
"""
from typing import Optional

import torch.nn as nn
from mmengine.runner.checkpoint import CheckpointLoader


def load_pretrained(module: nn.Module,
                    checkpoint: str,
                    prefix: Optional[str] = None,
                    map_location: str = 'cpu') -> None:
    """Load the ``prefix`` part of ``checkpoint`` into ``module``, strictly.

    facessl's DINO checkpoints hold the student backbone under
    ``'backbone.'`` and the teacher's under ``'teacher.backbone.'``. The
    checkpoint is read by MMEngine's loader (facessl's ``weights_only``
    loader for local files, see :mod:`facessl.utils.checkpoint`); the
    module's load hooks run (e.g. a ViT resizes ``pos_embed`` to its image
    size).

    Args:
        module (nn.Module): the module to fill.
        checkpoint (str): checkpoint path, a dict with ``state_dict`` or a
            bare state dict.
        prefix (str, optional): key prefix to select and strip, e.g.
            ``'teacher.backbone.'``. Defaults to None (all keys).
        map_location (str): device to load to. Defaults to 'cpu'.

    Raises:
        KeyError: no key has the prefix, or keys are missing/unexpected.
        ValueError: a tensor's shape does not fit the module.
    """
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items()
                 if k.startswith(prefix)}
        if not state:
            heads = sorted({k.split('.')[0] + '.' for k in ckpt.get(
                'state_dict', ckpt)})
            raise KeyError(f'{checkpoint}: no weight starts with prefix '
                           f"'{prefix}'; its keys start with {heads[:8]}")
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise ValueError(f'{checkpoint} (prefix {prefix!r}) does not fit '
                         f'{type(module).__name__}: {err}') from err
    if result.missing_keys or result.unexpected_keys:
        raise KeyError(
            f'{checkpoint} (prefix {prefix!r}) does not match '
            f'{type(module).__name__}: missing {result.missing_keys[:5]} '
            f'({len(result.missing_keys)}), unexpected '
            f'{result.unexpected_keys[:5]} '
            f'({len(result.unexpected_keys)}); check the prefix and the '
            'architecture')
