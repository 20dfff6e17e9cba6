"""Pictures of an FRA run: the K facial-region heatmaps over the faces."""
import logging

import torch
from mmengine.dist import is_main_process
from mmengine.logging import print_log

from facessl.registry import HOOKS
from facessl.visualization import region_heatmap_grid, to_rgb_image
from ._utils import unwrap_model
from .batch_picture_hook import BatchPictureHook
from .visualization_hook import _rng_preserved


@HOOKS.register_module()
class FRAHeatmapVisualizationHook(BatchPictureHook):
    """Draw the online network's K region heatmaps over training faces.

    At the first training iteration of a run and then at the first
    iteration of every ``interval``-th epoch (every ``interval`` iterations
    with ``by_epoch=False``), takes the first view of the first
    ``num_samples`` samples of the batch and writes ``fra_heatmaps``
    through ``runner.visualizer.add_image`` (PNG under the work dir's
    ``vis_data/`` and TensorBoard with the default runtime): per face the
    input, the arg-max region map and each heatmap (probability, 1 red).

    The model must provide ``online_heatmaps(inputs)`` (as
    :class:`~facessl.models.FRA`); the hook runs on the main process only,
    in eval mode (BN statistics untouched) and leaves the global RNG states
    unchanged, so runs with and without it train identically.

    Args:
        interval (int): draw every ``interval`` epochs (iterations with
            ``by_epoch=False``). Defaults to 10.
        num_samples (int): faces per picture. Defaults to 4.
        by_epoch (bool): count ``interval`` in epochs. Defaults to True.
        size (int): tile side. Defaults to 112.
    """

    def __init__(self,
                 interval: int = 10,
                 num_samples: int = 4,
                 by_epoch: bool = True,
                 size: int = 112) -> None:
        super().__init__(interval, num_samples, by_epoch, size, 'size')
        self.size = size
        self._warned = False

    def draw(self, runner, data_batch, step: int) -> None:
        """Write ``fra_heatmaps`` for ``data_batch``.

        Args:
            runner (Runner): the runner.
            data_batch (dict): a collated batch, ``inputs`` a list of uint8
                views (B, 3, H, W).
            step (int): the step to file the picture under.
        """
        if not is_main_process() or not data_batch:
            return
        model = unwrap_model(runner)
        if not callable(getattr(model, 'online_heatmaps', None)):
            if not self._warned:
                self._warned = True
                print_log(
                    f'FRAHeatmapVisualizationHook: {type(model).__name__} '
                    'has no online_heatmaps(); nothing is drawn (use it '
                    'with an FRA model)',
                    logger='current',
                    level=logging.WARNING)
            return
        raw = data_batch['inputs']
        raw = raw[0] if isinstance(raw, (list, tuple)) else raw
        raw = raw[:self.num_samples]
        was_training = model.training
        model.eval()
        try:
            with _rng_preserved(), torch.no_grad():
                data = model.data_preprocessor(
                    dict(inputs=[raw], data_samples=None), False)
                heat = model.online_heatmaps(data['inputs'][0])
        finally:
            model.train(was_training)
        # the uint8 views are BGR (facessl datasets) before the preprocessor
        faces = [to_rgb_image(img, channel_order='bgr') for img in raw]
        picture = region_heatmap_grid(
            faces, heat, [f'sample {i}' for i in range(len(faces))],
            self.size)
        runner.visualizer.add_image('fra_heatmaps', picture, step)
