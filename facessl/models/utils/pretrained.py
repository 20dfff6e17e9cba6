"""Loading of one sub-module's weights from a whole-model checkpoint.

MMEngine's ``init_cfg=dict(type='Pretrained', prefix=...)`` loads with
``strict=False``: a wrong prefix half-matching, or a checkpoint of another
architecture, only logs a warning and leaves random weights behind. For a
frozen backbone that silently yields a probe of a random network, so
facessl loads such weights with :func:`load_pretrained`, which by default
refuses any missing or unexpected key. Fine-tuning may load on purpose
only part of a module (``strict=False``): then nothing matching is still
an error, and the keys left out are listed in a warning.
:class:`StrictPretrainedInit` makes every backbone/head
``init_cfg=dict(type='Pretrained')`` of a facessl config take this route.
"""
from typing import Optional

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model.weight_init import PretrainedInit, update_init_info
from mmengine.runner.checkpoint import CheckpointLoader

from facessl.registry import WEIGHT_INITIALIZERS
from facessl.utils.checkpoint import load_state_dict_checked


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
        KeyError: no key has the prefix or no key matches the module.
        CheckpointMismatchError: (a ``KeyError`` and a ``ValueError``)
            keys are missing/unexpected (``strict``) or a tensor's shape
            does not fit the module; the first keys are listed.
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
    result = load_state_dict_checked(
        module, state, f'{checkpoint} (prefix {prefix!r})', strict=strict)
    if result.missing_keys or result.unexpected_keys:
        MMLogger.get_current_instance().warning(
            f'{checkpoint} (prefix {prefix!r}) loaded into '
            f'{type(module).__name__} partly (strict=False): '
            f'{len(result.missing_keys)} missing keys (left as initialised) '
            f'{result.missing_keys}, {len(result.unexpected_keys)} '
            f'unexpected keys (ignored) {result.unexpected_keys}')
    return result


@WEIGHT_INITIALIZERS.register_module(name='Pretrained', force=True)
class StrictPretrainedInit(PretrainedInit):
    """``init_cfg=dict(type='Pretrained', ...)``, strict unless told not.

    Overrides MMEngine's ``Pretrained`` initialiser in the ``facessl``
    scope (a deliberate override, ``force=True``): it loads through
    :func:`load_pretrained`, so a checkpoint or prefix that does not
    match the module raises an error naming the file and the first
    missing/unexpected keys instead of a warning. ``strict=False`` loads
    what matches and lists the rest in a warning (for a module that on
    purpose holds more or fewer weights than the checkpoint part).

    Args:
        checkpoint (str): local checkpoint path.
        prefix (str, optional): key prefix to select and strip, e.g.
            ``'backbone.'`` (a missing final ``'.'`` is added, as MMEngine
            does). Defaults to None.
        map_location (str): device to load to. Defaults to 'cpu'.
        strict (bool): refuse missing/unexpected keys. Defaults to True.
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: str = 'cpu',
                 strict: bool = True) -> None:
        if prefix and not prefix.endswith('.'):
            prefix += '.'
        super().__init__(checkpoint, prefix, map_location)
        self.strict = strict

    def __call__(self, module: nn.Module) -> None:
        load_pretrained(module, self.checkpoint, prefix=self.prefix,
                        map_location=self.map_location, strict=self.strict)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())
