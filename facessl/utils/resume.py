"""Choose the checkpoint that ``--resume`` (auto) continues from."""
import logging
import os
import os.path as osp
from typing import Optional

from mmengine.logging import print_log

from .checkpoint import load_local_checkpoint

POINTER = 'last_checkpoint'


def _why_not_resumable(path: str) -> Optional[str]:
    """None if ``path`` loads as a training checkpoint, else the reason."""
    try:
        ckpt = load_local_checkpoint(path, map_location='cpu')
    except Exception as err:  # any failure means: do not resume from it
        text = str(err).splitlines()[0] if str(err) else ''
        return f'cannot be loaded ({type(err).__name__}: {text})'
    if not isinstance(ckpt, dict) or not {'meta', 'state_dict'} <= set(ckpt):
        return 'is not a training checkpoint (no meta/state_dict)'
    return None


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume from in ``work_dir``, or None.

    Normally the file that ``work_dir/last_checkpoint`` names. When that
    pointer is missing, empty, names a missing file (a moved work dir) or a
    file that does not load (truncated, zero bytes, not a checkpoint), the
    newest loadable ``*.pth`` directly in ``work_dir`` (by modification
    time) is chosen instead and a warning says so and why. Loadability is
    tested with :func:`~facessl.utils.checkpoint.load_local_checkpoint`, so
    a chosen file is read once more by the runner.

    Args:
        work_dir (str): the run's work directory.

    Returns:
        str or None: a checkpoint path, or None when nothing in
        ``work_dir`` can be resumed (training then starts from scratch).
    """
    pointer = osp.join(work_dir, POINTER)
    named = None
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if not named:
            reason = f'{pointer} is empty'
        elif not osp.isfile(named):
            reason = f'{pointer} names {named}, which does not exist'
        else:
            problem = _why_not_resumable(named)
            if problem is None:
                return named
            reason = f'{pointer} names {named}, which {problem}'
    else:
        reason = f'{pointer} does not exist'

    candidates = [
        osp.join(work_dir, name)
        for name in (os.listdir(work_dir) if osp.isdir(work_dir) else [])
        if name.endswith('.pth') and not name.startswith('.')
    ]
    candidates = [
        path for path in candidates
        if osp.isfile(path) and (not named
                                 or osp.abspath(path) != osp.abspath(named))
    ]
    candidates.sort(key=lambda p: (osp.getmtime(p), p), reverse=True)
    skipped = []
    for path in candidates:
        problem = _why_not_resumable(path)
        if problem is None:
            print_log(
                f'{reason}; resuming from {path} instead, the newest '
                f'loadable checkpoint in {work_dir}' +
                (f' (skipped: {"; ".join(skipped)})' if skipped else ''),
                logger='current',
                level=logging.WARNING)
            return path
        skipped.append(f'{osp.basename(path)} {problem}')
    if named is not None or skipped:
        print_log(
            f'{reason}, and no other checkpoint in {work_dir} can be '
            'resumed' + (f' ({"; ".join(skipped)})' if skipped else '') +
            ': training starts from scratch',
            logger='current',
            level=logging.WARNING)
    return None
