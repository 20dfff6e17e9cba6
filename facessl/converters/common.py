"""Shared pieces of the weight converters: safe reading, prefixes, saving.
"""
import io
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterable, Optional, Tuple

import torch

State = Dict[str, torch.Tensor]
#: ``meta['facessl_part']`` of a backbone-only file
BACKBONE_PART = 'backbone'


def read_checkpoint(path: str, trust: bool = False) -> dict:
    """Read a local checkpoint with ``weights_only=True`` unless trusted.

    Uses facessl's loader (:mod:`facessl.utils.checkpoint`): a file that
    pickles other objects (e.g. DINO's full checkpoints, which hold an
    ``argparse.Namespace``) is refused with a message naming the file and
    the opt-in, unless ``trust``.

    Args:
        path (str): checkpoint file.
        trust (bool): allow ``weights_only=False`` for this file (only for
            files from a source you trust). Defaults to False.

    Returns:
        dict: the loaded object.

    Raises:
        TypeError: the file does not hold a dict.
    """
    from facessl.utils.checkpoint import (load_local_checkpoint,
                                          trust_checkpoint)
    if trust:
        trust_checkpoint(path)
    ckpt = load_local_checkpoint(path, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise TypeError(f'{path}: expected a dict of tensors or a '
                        f'checkpoint dict, got {type(ckpt).__name__}')
    return ckpt


def tensors_only(state: dict, where: str) -> State:
    """Check that ``state`` maps names to tensors.

    Raises:
        TypeError: a value is not a tensor; names ``where`` and the key.
    """
    for key, value in state.items():
        if not torch.is_tensor(value):
            raise TypeError(f'{where}: key {key!r} holds a '
                            f'{type(value).__name__}, expected a tensor '
                            '(is this a state dict?)')
    return state


def strip_prefixes(state: State, prefixes: Iterable[str]) -> State:
    """Remove leading ``prefixes`` (repeatedly, in any order) from keys that
    all share them, e.g. DDP's ``module.``."""
    prefixes = tuple(prefixes)
    changed = True
    while changed and state:
        changed = False
        for prefix in prefixes:
            if all(k.startswith(prefix) for k in state):
                state = OrderedDict(
                    (k[len(prefix):], v) for k, v in state.items())
                changed = True
    return state


def select_prefix(state: State, prefix: str, where: str) -> State:
    """The keys under ``prefix``, with the prefix removed.

    Raises:
        KeyError: no key starts with ``prefix``; lists the prefixes there.
    """
    out = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                      if k.startswith(prefix))
    if not out:
        heads = sorted({k.split('.')[0] + '.' for k in state})
        raise KeyError(f'{where}: no key starts with {prefix!r}; its keys '
                       f'start with {heads[:10]}')
    return out


def file_size_mb(path: str) -> float:
    """Size of a file in MB (10^6 bytes)."""
    return osp.getsize(path) / 1e6


def save_backbone(state: State, path: str,
                  meta: Optional[dict] = None) -> Tuple[int, float]:
    """Write a backbone-only file: ``{'state_dict': ..., 'meta': ...}``.

    Keys have no prefix, so ``backbone.load_state_dict(ckpt['state_dict'])``
    and ``init_cfg=dict(type='Pretrained', checkpoint=path)`` (no prefix)
    accept it; ``meta['facessl_part'] == 'backbone'`` tells facessl's
    tools what it is. Written atomically.

    Returns:
        tuple: number of tensors and file size in MB.
    """
    from facessl.utils.fileio import atomic_write
    meta = dict(meta or {}, facessl_part=BACKBONE_PART)
    buf = io.BytesIO()
    state = OrderedDict((k, v.detach().cpu().contiguous())
                        for k, v in state.items())
    torch.save({'state_dict': state, 'meta': meta}, buf)
    atomic_write(buf.getvalue(), path)
    return len(state), file_size_mb(path)
