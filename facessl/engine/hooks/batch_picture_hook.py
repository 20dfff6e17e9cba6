"""Base of the hooks that draw the current training batch on a schedule."""
from abc import ABCMeta, abstractmethod

from mmengine.hooks import Hook


class BatchPictureHook(Hook, metaclass=ABCMeta):
    """Draw pictures of the current training batch on a schedule.

    Draws at the first training iteration of every *phase* (by default one
    phase, the run; :meth:`phase` may split it, e.g. 3D-BERL's stages) and
    then at the first iteration of every ``interval``-th epoch (every
    ``interval`` iterations with ``by_epoch=False``). Subclasses implement
    :meth:`draw`.

    Args:
        interval (int): draw every ``interval`` epochs (iterations with
            ``by_epoch=False``).
        num_samples (int): samples per picture.
        by_epoch (bool): count ``interval`` in epochs.
        height (int): tile height (side) of the drawings in pixels.
        height_name (str): the subclass's name for ``height`` in error
            messages. Defaults to 'height'.

    Raises:
        ValueError: ``interval`` or ``num_samples`` < 1, or ``height`` < 8.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int,
                 num_samples: int,
                 by_epoch: bool,
                 height: int,
                 height_name: str = 'height') -> None:
        if interval < 1 or num_samples < 1 or height < 8:
            raise ValueError(
                f'{type(self).__name__}: interval={interval} and '
                f'num_samples={num_samples} must be >= 1, '
                f'{height_name}={height} >= 8')
        self.interval = interval
        self.num_samples = num_samples
        self.by_epoch = by_epoch
        self.height = height
        self._drawn_phase = object()  # equal to no phase: draw first

    def phase(self, runner):
        """The current phase (drawn at its first iteration), or None to
        draw nothing now. Defaults to one phase, the whole run."""
        return 0

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Draw at the first iteration of each phase and on schedule."""
        phase = self.phase(runner)
        if phase is None:
            return
        if phase != self._drawn_phase:
            due = True
        elif self.by_epoch:
            due = batch_idx == 0 and runner.epoch % self.interval == 0
        else:
            due = runner.iter % self.interval == 0
        if due:
            self._drawn_phase = phase
            self.draw(runner, data_batch, runner.iter)

    @abstractmethod
    def draw(self, runner, data_batch, step: int) -> None:
        """Draw ``data_batch`` and add it to the runner's visualiser under
        ``step``."""
