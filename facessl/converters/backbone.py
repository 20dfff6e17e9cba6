"""Backbone-only weights out of a facessl training checkpoint.

A training checkpoint holds the whole model (student, teacher, heads,
losses' buffers) plus the optimiser state and the message hub; deployment
and fine-tuning need one backbone. Where each backbone lives:

=========================================  ============================
model                                      prefix
=========================================  ============================
teacher of DINO / LAFS / ProS              ``teacher.backbone.``
momentum target of FRA (BYOL)              ``target_net.module.backbone.``
student / online network, FaceRecognizer,  ``backbone.``
BERL, linear probes
=========================================  ============================

``part='teacher'`` or ``'student'``; by default the teacher of DINO, LAFS
and ProS (their EMA teacher is what they evaluate and fine-tune) and the
online network of everything else (FRA evaluates its online network).
"""
from typing import Optional, Tuple

from .common import State, read_checkpoint, select_prefix, tensors_only

TEACHER_PREFIXES = ('teacher.backbone.', 'target_net.module.backbone.')
STUDENT_PREFIX = 'backbone.'
PARTS = ('teacher', 'student')


def backbone_prefix(state: State, part: Optional[str] = None,
                    where: str = 'checkpoint') -> str:
    """The key prefix of the requested backbone in a model state dict.

    Args:
        state (dict): whole-model state dict.
        part (str, optional): ``'teacher'``, ``'student'`` or None
            (``teacher.backbone.`` if there, else ``backbone.``).
        where (str): name of the source, for errors.

    Raises:
        ValueError: unknown ``part``, or ``'teacher'`` without a teacher.
        KeyError: no backbone at all.
    """
    if part is not None and part not in PARTS:
        raise ValueError(f'part must be one of {PARTS}, got {part!r}')
    teacher = [p for p in TEACHER_PREFIXES
               if any(k.startswith(p) for k in state)]
    if part == 'teacher' and not teacher:
        raise ValueError(f'{where} has no teacher (no key starts with '
                         f'{TEACHER_PREFIXES}); use part student')
    if part == 'teacher' or (part is None and teacher[:1] == [
            TEACHER_PREFIXES[0]]):
        return teacher[0]
    if not any(k.startswith(STUDENT_PREFIX) for k in state):
        heads = sorted({k.split('.')[0] + '.' for k in state})
        raise KeyError(f'{where}: no backbone weights (no key starts with '
                       f"'{STUDENT_PREFIX}'); its keys start with "
                       f'{heads[:10]}')
    return STUDENT_PREFIX


def extract_backbone(path: str, part: Optional[str] = None,
                     trust: bool = False) -> Tuple[State, dict]:
    """Read a training checkpoint and return one backbone's weights.

    Args:
        path (str): facessl training checkpoint (``state_dict`` of the
            whole model).
        part (str, optional): see :func:`backbone_prefix`.
        trust (bool): load with ``weights_only=False`` (trusted files).

    Returns:
        tuple: the backbone state dict (no prefix) and a ``meta`` dict
        with ``source``, ``prefix``, ``part`` (``'teacher'``,
        ``'student'``, or None without a teacher) and the training config
        text (``cfg``) when the checkpoint has it.
    """
    ckpt = read_checkpoint(path, trust)
    state = tensors_only(ckpt.get('state_dict', ckpt), path)
    prefix = backbone_prefix(state, part, path)
    has_teacher = any(k.startswith(TEACHER_PREFIXES) for k in state)
    part = 'teacher' if prefix != STUDENT_PREFIX else (
        'student' if has_teacher else None)
    meta = dict(source=path, prefix=prefix, part=part)
    cfg = (ckpt.get('meta') or {}).get('cfg')
    if isinstance(cfg, str):
        meta['cfg'] = cfg
    return select_prefix(state, prefix, path), meta
