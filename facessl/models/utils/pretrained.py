"""Loading of one sub-module's weights from a whole-model checkpoint.

MMEngine's ``init_cfg=dict(type='Pretrained', prefix=...)`` loads with
``strict=False``: a wrong prefix half-matching, or a checkpoint of another
architecture, only logs a warning and leaves random weights behind. For a
frozen backbone that silently yields a probe of a random network, so
facessl loads such weights with :func:`load_pretrained`, which by default
refuses any missing or unexpected key. Fine-tuning may load on purpose
only part of a module (``strict=False``): then nothing matching is still
an error, and the keys left out are listed in a warning.
"""
from typing import Optional

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import CheckpointLoader


def load_pretrained(module: nn.Module,
                    checkpoint: str,
                    prefix: Optional[str] = None,
                    map_location: str = 'cpu',
                    strict: bool = True):
    """Load the ``prefix`` part of ``checkpoint`` into ``module``.

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
        strict (bool): refuse missing or unexpected keys. If False, only a
            checkpoint part sharing no key with the module is refused and
            the missing/unexpected keys are logged as a warning.
            Defaults to True.

    Returns:
        NamedTuple: ``missing_keys`` and ``unexpected_keys``.

    Raises:
        KeyError: no key has the prefix, no key matches the module, or
            (``strict``) keys are missing/unexpected.
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
    if not strict and not set(state) & set(module.state_dict()):
        raise KeyError(
            f'{checkpoint} (prefix {prefix!r}): no weight matches '
            f'{type(module).__name__}; the checkpoint part has '
            f'{sorted(state)[:5]} ({len(state)}), the module expects '
            f'{sorted(module.state_dict())[:5]}; check the prefix and the '
            'architecture')
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise ValueError(f'{checkpoint} (prefix {prefix!r}) does not fit '
                         f'{type(module).__name__}: {err}') from err
    if not (result.missing_keys or result.unexpected_keys):
        return result
    if strict:
        raise KeyError(
            f'{checkpoint} (prefix {prefix!r}) does not match '
            f'{type(module).__name__}: missing {result.missing_keys[:5]} '
            f'({len(result.missing_keys)}), unexpected '
            f'{result.unexpected_keys[:5]} '
            f'({len(result.unexpected_keys)}); check the prefix and the '
            'architecture')
    MMLogger.get_current_instance().warning(
        f'{checkpoint} (prefix {prefix!r}) loaded into '
        f'{type(module).__name__} partly: {len(result.missing_keys)} '
        f'missing keys (left as initialised) {result.missing_keys}, '
        f'{len(result.unexpected_keys)} unexpected keys (ignored) '
        f'{result.unexpected_keys}')
    return result
