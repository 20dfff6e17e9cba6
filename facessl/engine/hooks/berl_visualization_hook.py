"""Pictures of 3D-BERL's reconstruction during training."""
import logging
from typing import Sequence

import torch
from mmengine.dist import is_main_process
from mmengine.logging import print_log

from facessl.registry import HOOKS
from facessl.visualization import berl_panel, berl_pictures
from ._utils import unwrap_model
from .batch_picture_hook import BatchPictureHook
from .visualization_hook import _rng_preserved


@HOOKS.register_module()
class BERLVisualizationHook(BatchPictureHook):
    """Draw input / depth / albedo / shading / reconstruction / new views.

    In stages 2 and 3 (the model's ``stage``), at the first training
    iteration of a run or of a stage, and then at the first iteration of
    every ``interval``-th epoch (every ``interval`` iterations with
    ``by_epoch=False``), the first ``num_samples`` samples of the current
    batch are reconstructed (``model.reconstruct``, eval-free, no gradient)
    and drawn with :func:`~facessl.visualization.berl_panel` as
    ``berl_reconstruction`` through ``runner.visualizer.add_image`` (PNG
    under the work dir's ``vis_data/`` and TensorBoard with the default
    runtime). Main process only; the global RNG states are left unchanged.

    Args:
        interval (int): draw every ``interval`` epochs (iterations with
            ``by_epoch=False``). Defaults to 1.
        num_samples (int): samples per picture. Defaults to 4.
        by_epoch (bool): count ``interval`` in epochs. Defaults to True.
        yaws (Sequence[float]): viewpoints of the rotated re-renders in
            degrees. Defaults to (-30, 30).
        height (int): tile height. Defaults to 128.
    """

    def __init__(self,
                 interval: int = 1,
                 num_samples: int = 4,
                 by_epoch: bool = True,
                 yaws: Sequence[float] = (-30., 30.),
                 height: int = 128) -> None:
        super().__init__(interval, num_samples, by_epoch, height)
        self.yaws = tuple(float(y) for y in yaws)
        self._warned = False

    def phase(self, runner):
        """The model's stage in stages 2-3 (a stage's first iteration
        draws), None in stage 1 or for a model without reconstruction."""
        model = unwrap_model(runner)
        if not self._drawable(model) or model.stage == 1:
            return None
        return model.stage

    def draw(self, runner, data_batch, step: int) -> None:
        """Reconstruct the first samples of ``data_batch`` and add the
        panel to the runner's visualiser under ``step``."""
        if not is_main_process() or not data_batch:
            return
        model = unwrap_model(runner)
        n = self.num_samples
        batch = dict(inputs=data_batch['inputs'][:n], data_samples=None)
        with _rng_preserved(), torch.no_grad():
            data = model.data_preprocessor(batch, False)
            pictures = berl_pictures(
                model.reconstruct(data['inputs']), model.renderer,
                self.yaws)
        runner.visualizer.add_image(
            'berl_reconstruction',
            berl_panel(pictures, height=self.height), step)

    def _drawable(self, model) -> bool:
        ok = hasattr(model, 'stage') and callable(
            getattr(model, 'reconstruct', None))
        if not ok and not self._warned:
            self._warned = True
            print_log(
                f'BERLVisualizationHook: {type(model).__name__} has no '
                'stage or reconstruct(); nothing is drawn (use it with a '
                'BERL model)', logger='current', level=logging.WARNING)
        return ok
