"""MMEngine's checkpoint hook with an atomic pointer and temp clean-up."""
import builtins
import io
import os.path as osp
import sys
from contextlib import contextmanager

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from facessl.registry import HOOKS
from facessl.utils.fileio import atomic_write, remove_stale_temporaries

POINTER = 'last_checkpoint'


class _AtomicTextFile(io.StringIO):
    """A text file that reaches the disk atomically when closed."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def close(self) -> None:
        """Write everything at once with :func:`atomic_write`."""
        if not self.closed:
            text = self.getvalue()
            super().close()
            atomic_write(text, self.path)


@contextmanager
def _atomic_pointer_writes():
    """Make ``open(.../last_checkpoint, 'w')`` in MMEngine's hook atomic.

    MMEngine 0.10.7 writes the pointer inside ``_save_checkpoint_with_step``
    with a plain ``open``; a kill at that moment leaves it empty. Shadowing
    ``open`` in that module only, and only for the pointer, keeps the rest
    of MMEngine's logic (keep/remove rotation, message hub) as it is.
    """
    module = sys.modules[CheckpointHook.__module__]

    def _open(file, mode='r', *args, **kwargs):
        if mode == 'w' and osp.basename(str(file)) == POINTER:
            return _AtomicTextFile(str(file))
        return builtins.open(file, mode, *args, **kwargs)

    module.open = _open
    try:
        yield
    finally:
        del module.open


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` that survives a kill anywhere.

    * The ``last_checkpoint`` pointer is written atomically (the checkpoint
      files themselves are atomic through ``backend_args=dict(backend=
      'local_atomic')``), so it always names a whole file.
    * At start-up (and on resume) the hidden temporaries that a killed
      atomic write left in the output folder (``.epoch_3.pth.k3x_9q0a.tmp``)
      are removed and listed in the log; other files are left alone.

    Takes the same arguments as MMEngine's hook.
    """

    def before_train(self, runner) -> None:
        """Set up the backend, then remove stale temporaries."""
        super().before_train(runner)
        if not is_main_process():
            return
        folders = {runner.work_dir, self.out_dir}
        for folder in sorted(f for f in folders if osp.isdir(f)):
            removed = remove_stale_temporaries(folder)
            if removed:
                runner.logger.warning(
                    f'removed {len(removed)} temporary file(s) left by an '
                    f'interrupted save in {folder}: {", ".join(removed)}')

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """MMEngine's save, with the pointer written atomically."""
        with _atomic_pointer_writes():
            super()._save_checkpoint_with_step(runner, step, meta)
