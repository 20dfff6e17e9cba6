"""Stop on SIGTERM/SIGINT with a checkpoint that resumes bit for bit."""
import os.path as osp
import random
import signal
import threading
from typing import Optional

import numpy as np
import torch
from mmengine.dist import (all_gather_object, all_reduce, get_rank,
                           get_world_size, is_main_process)
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import EpochBasedTrainLoop

from facessl.registry import HOOKS
from facessl.utils.fileio import atomic_write


class TrainingInterrupted(RuntimeError):
    """Training stopped on a signal after saving a resumable checkpoint.

    Args:
        signum (int): the signal received.
        checkpoint (str): the checkpoint written before stopping.
        iteration (int): iterations completed.
    """

    def __init__(self, signum: int, checkpoint: str, iteration: int) -> None:
        self.signum, self.checkpoint = signum, checkpoint
        super().__init__(
            f'training stopped on {signal.Signals(signum).name} after '
            f'iteration {iteration}; saved {checkpoint}; continue with '
            '`tools/train.py CONFIG --resume`')

    @property
    def exit_code(self) -> int:
        """The shell convention for death by a signal: 128 + its number."""
        return 128 + self.signum


def _rng_state() -> dict:
    """Python, NumPy and torch (CPU and CUDA) random states."""
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    """Restore what :func:`_rng_state` returned."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _resume_epoch_at(loop: EpochBasedTrainLoop, skip: int,
                     rng: Optional[dict]) -> None:
    """Make ``loop``'s next epoch start at batch ``skip``.

    The next ``run_epoch`` call (only that one) iterates the dataloader as
    usual but trains from batch ``skip`` on; the first ``skip`` batches are
    loaded and dropped so that the sampler order and every data worker's
    random stream advance exactly as in the uninterrupted run. Right after
    batch ``skip - 1`` is fetched, the main process's random state is put
    back to the one saved after training it.
    """

    def run_epoch() -> None:
        del loop.run_epoch  # later epochs use the class's method again
        runner = loop.runner
        runner.call_hook('before_train_epoch')
        runner.model.train()
        for idx, data_batch in enumerate(loop.dataloader):
            if idx < skip:
                if idx == skip - 1 and rng is not None:
                    _set_rng_state(rng)
                continue
            loop.run_iter(idx, data_batch)
        runner.call_hook('after_train_epoch')
        loop._epoch += 1

    loop.run_epoch = run_epoch


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Save and stop at an iteration boundary on SIGTERM or SIGINT.

    Cluster schedulers send SIGTERM before preempting a job; Ctrl-C sends
    SIGINT. On either, the current iteration finishes, every hook of it
    runs (EMA teacher, schedulers, NaN guard), then this hook (priority
    ``LOWEST``) writes ``iter_<N>.pth`` atomically next to the other
    checkpoints, points ``last_checkpoint`` at it, and raises
    :class:`TrainingInterrupted` (``tools/train.py`` exits with
    ``128 + signal``). A second signal, or one that comes after training
    ended (also by an error), acts as without this hook (Ctrl-C twice
    interrupts at once). A signal during validation stops once it ends. In
    distributed runs all ranks agree on the stop (a one-number all-reduce
    per iteration).

    Resuming (``--resume``) continues bit for bit. MMEngine 0.10.7's
    ``EpochBasedTrainLoop`` restores only ``epoch``/``iter`` and would
    replay the interrupted epoch from its first batch, so the checkpoint
    also stores the batch position in the epoch (``meta.resume_batch``) and
    every rank's random state (``meta.resume_rng``); on resume the epoch
    starts from that batch (see :func:`_resume_epoch_at`), after
    :class:`EpochSeedHook` has reseeded it as usual. Exactness needs the
    same world size and non-persistent data workers (as for
    :class:`EpochSeedHook`). An ``IterBasedTrainLoop`` skips consumed
    batches itself; use ``EpochSeedHook(by_epoch=False)`` with it.

    Args:
        signals (tuple[str]): names of the signals to catch.
            Defaults to ``('SIGTERM', 'SIGINT')``.
    """

    priority = 'LOWEST'

    def __init__(self, signals: tuple = ('SIGTERM', 'SIGINT')) -> None:
        self.signals = [signal.Signals[name] for name in signals]
        self._received = 0
        self._previous = {}
        self._pending = None
        self._training = False
        self._train_code = None

    # -- signals -----------------------------------------------------------
    def _handle(self, signum, frame) -> None:
        if self._received or not self._training_on(frame):
            # a second signal, or training ended (possibly by an error):
            # behave as without the hook
            previous = self._previous.get(signum, signal.SIG_DFL)
            self._uninstall()
            signal.signal(signum, previous)
            signal.raise_signal(signum)
            return
        self._received = signum

    def _training_on(self, frame) -> bool:
        """Whether ``frame``'s stack is inside the runner's ``train``."""
        while frame is not None:
            if frame.f_code is self._train_code:
                return True
            frame = frame.f_back
        return False

    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handle)

    def _uninstall(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}

    def _stop_requested(self) -> int:
        """The signal to act on (0: none), agreed by all ranks."""
        if get_world_size() == 1:
            return self._received
        flag = torch.tensor([self._received], dtype=torch.int64)
        all_reduce(flag, op='max')
        return int(flag.item())

    # -- saving ------------------------------------------------------------
    def _stop(self, runner, signum: int, meta: dict) -> None:
        """Save a checkpoint for ``meta``'s position and raise."""
        ckpt_hook = next(
            (h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        out_dir = getattr(ckpt_hook, 'out_dir', None) or runner.work_dir
        backend_args = getattr(ckpt_hook, 'backend_args', None) or dict(
            backend='local_atomic')
        filename = f'iter_{meta["iter"]}.pth'
        path = osp.join(out_dir, filename)
        rng = all_gather_object(_rng_state())
        if 'resume_batch' in meta:
            meta['resume_rng'] = rng
        runner.message_hub.update_info('last_ckpt', path)
        runner.logger.warning(
            f'received {signal.Signals(signum).name}: saving {path} and '
            'stopping')
        runner.save_checkpoint(
            out_dir, filename, meta=meta, backend_args=backend_args)
        if is_main_process():
            atomic_write(path, osp.join(runner.work_dir, 'last_checkpoint'))
        self._training = False
        self._uninstall()
        raise TrainingInterrupted(signum, path, meta['iter'])

    # -- hook points ---------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Remember a mid-epoch position stored by :meth:`_stop`."""
        meta = checkpoint.get('meta', {})
        self._pending = None
        if 'resume_batch' in meta:
            self._pending = {
                k: meta.get(k)
                for k in ('epoch', 'iter', 'resume_batch', 'resume_rng')
            }

    def before_train(self, runner) -> None:
        """Catch the signals; continue a mid-epoch checkpoint where it was."""
        self._received = 0
        self._training = True
        self._train_code = type(runner).train.__code__
        self._install()
        pending, self._pending = self._pending, None
        loop = runner.train_loop
        if (pending is None or runner.iter != pending['iter']
                or runner.epoch != pending['epoch']
                or not isinstance(loop, EpochBasedTrainLoop)):
            return  # not resumed from a mid-epoch checkpoint
        skip, total = pending['resume_batch'], len(loop.dataloader)
        if skip > total:
            raise ValueError(
                f'the checkpoint stopped after batch {skip} of epoch '
                f'{runner.epoch + 1}, but the train dataloader now has '
                f'{total} batches per epoch: resume with the same data and '
                'batch size')
        rngs = pending['resume_rng'] or []
        rng = rngs[get_rank()] if len(rngs) == get_world_size() else None
        if rng is None:
            runner.logger.warning(
                f'the checkpoint holds random states for {len(rngs)} '
                f'process(es), this run has {get_world_size()}: the rest of '
                'the epoch will not repeat the interrupted run exactly')
        runner.logger.info(
            f'resuming epoch {runner.epoch + 1} after its first {skip} of '
            f'{total} batches (already trained: loaded again, not trained)')
        _resume_epoch_at(loop, skip, rng)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Save and stop if a signal arrived during this iteration."""
        signum = self._stop_requested()
        if not signum:
            return
        meta = dict(epoch=runner.epoch, iter=runner.iter + 1)
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            meta['resume_batch'] = batch_idx + 1
        self._stop(runner, signum, meta)

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Save and stop if a signal arrived during in-training validation."""
        if not self._training or runner.iter == 0:
            return
        signum = self._stop_requested()
        if signum:
            self._stop(runner, signum,
                       dict(epoch=runner.epoch, iter=runner.iter))

    def after_train(self, runner) -> None:
        """Give the signals back to their previous handlers."""
        self._training = False
        self._uninstall()
