"""Pictures of an SSL run: augmented views and teacher attention maps."""
import logging
import random
from contextlib import contextmanager
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import default_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from facessl.registry import HOOKS
from facessl.visualization import (activation_grid, attention_grid,
                                   cls_attention_maps, default_view_names,
                                   feature_energy_maps, last_block,
                                   last_block_attention, to_rgb_image,
                                   view_grid)


@contextmanager
def _rng_preserved():
    """Leave Python's, NumPy's and torch's global RNG states untouched."""
    states = (random.getstate(), np.random.get_state(),
              torch.random.get_rng_state())
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.random.set_rng_state(states[2])


def _labels(samples) -> List[str]:
    out = []
    for s in samples or []:
        label = s.get('gt_label') if hasattr(s, 'get') else None
        out.append('' if label is None else
                   f'label {int(torch.as_tensor(label).flatten()[0])}')
    return out


@HOOKS.register_module()
class SSLVisualizationHook(Hook):
    """Draw augmented views and the teacher's attention during training.

    At the first training iteration of a run, and then every ``interval``
    epochs (or iterations with ``by_epoch=False``) and at the end, writes
    through ``runner.visualizer.add_image`` (PNG files under the work dir's
    ``vis_data/`` and TensorBoard with the default runtime):

    - ``ssl_views``: the views of the first ``num_samples`` samples of the
      current training batch (global views, then local ones), each resized
      to ``height``;
    - ``ssl_attention``: the class-token attention of the last block of the
      backbone at ``backbone`` (mean and per head) for ``num_samples``
      validation faces (evenly spaced over the validation set, so several
      identities), or the first global views of the batch when there is no
      validation loop; for a convolutional backbone (no transformer
      blocks) ``ssl_activation`` instead: the L2 norm over channels of its
      last feature map on the same faces.

    The hook runs on the main process only and leaves the global RNG states
    unchanged, so runs with and without it train identically.

    Args:
        interval (int): draw every ``interval`` epochs (iterations with
            ``by_epoch=False``); each picture is a few hundred kB of PNG.
            Defaults to 10.
        num_samples (int): samples per picture. Defaults to 4.
        by_epoch (bool): count ``interval`` in epochs. Defaults to True.
        backbone (str): dotted path from the model to the backbone to draw;
            models wrapped in an EMA (``.module``) are looked through.
            Defaults to 'teacher.backbone'.
        height (int): tile height of the pictures. Defaults to 112.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 10,
                 num_samples: int = 4,
                 by_epoch: bool = True,
                 backbone: str = 'teacher.backbone',
                 height: int = 112) -> None:
        if interval < 1 or num_samples < 1:
            raise ValueError(f'SSLVisualizationHook: interval={interval} and '
                             f'num_samples={num_samples} must be >= 1')
        self.interval = interval
        self.num_samples = num_samples
        self.by_epoch = by_epoch
        self.backbone = backbone
        self.height = height
        self._started = False
        self._warned = False

    # ---------------------------------------------------------------- hooks
    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Draw at the first iteration of the run and of drawing epochs."""
        if not self._started:
            self._started = True
            self.draw_views(runner, data_batch, runner.iter)
            self.draw_attention(runner, runner.iter, data_batch)
        elif (self.by_epoch and batch_idx == 0
              and runner.epoch % self.interval == 0):
            self.draw_views(runner, data_batch, runner.iter)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Iteration-based schedule: draw every ``interval`` iterations."""
        if self.by_epoch:
            return
        if (self.every_n_train_iters(runner, self.interval)
                or self.is_last_train_iter(runner)):
            self.draw_views(runner, data_batch, runner.iter + 1)
            self.draw_attention(runner, runner.iter + 1, data_batch)

    def after_train_epoch(self, runner) -> None:
        """Epoch-based schedule: attention every ``interval`` epochs."""
        if self.by_epoch and (self.every_n_epochs(runner, self.interval)
                              or self.is_last_train_epoch(runner)):
            self.draw_attention(runner, runner.iter)

    # -------------------------------------------------------------- drawing
    def draw_views(self, runner, data_batch, step: int) -> None:
        """Write the augmented views of the batch as ``ssl_views``.

        Args:
            runner (Runner): the runner.
            data_batch (dict): a collated batch, ``inputs`` a list of
                (B, C, H, W) uint8 BGR views (or one such batch).
            step (int): the step to file the picture under.
        """
        if not is_main_process() or not data_batch:
            return
        views = data_batch['inputs']
        views = [views] if isinstance(views, torch.Tensor) else list(views)
        grid = view_grid(
            views,
            self.num_samples,
            self.height,
            channel_order='bgr',
            view_names=default_view_names(len(views)),
            row_titles=_labels(data_batch.get('data_samples')))
        runner.visualizer.add_image('ssl_views', grid, step)

    def draw_attention(self, runner, step: int, data_batch=None) -> None:
        """Write ``ssl_attention`` (a ViT) or ``ssl_activation`` (a CNN).

        Args:
            runner (Runner): the runner.
            step (int): the step to file the picture under.
            data_batch (dict, optional): fallback faces when the runner has
                no validation set.
        """
        if not is_main_process():
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = self._find_backbone(model)
        if backbone is None:
            return
        with _rng_preserved():
            batch = self._faces(runner) or data_batch
            if not batch:
                return
            raw = batch['inputs']
            raw = raw if isinstance(raw, torch.Tensor) else raw[0]
            raw = raw[:self.num_samples]
            data = model.data_preprocessor(
                dict(inputs=raw, data_samples=None), False)
            try:
                last_block(backbone)
                is_vit = True
            except AttributeError:
                is_vit = False
            with torch.no_grad():
                if is_vit:
                    weights = last_block_attention(backbone, data['inputs'])
                else:
                    maps = feature_energy_maps(backbone, data['inputs'])
        faces = [to_rgb_image(img, channel_order='bgr') for img in raw]
        titles = _labels(batch.get('data_samples'))[:len(faces)]
        if not is_vit:
            grid = activation_grid(faces, maps, titles, size=self.height)
            runner.visualizer.add_image('ssl_activation', grid, step)
            return
        extra = getattr(backbone, 'num_extra_tokens', 1)
        maps = cls_attention_maps(weights, tuple(raw.shape[-2:]), extra)
        grid = attention_grid(faces, maps, row_titles=titles,
                              size=self.height)
        runner.visualizer.add_image('ssl_attention', grid, step)

    # -------------------------------------------------------------- helpers
    def _find_backbone(self, model) -> Optional[torch.nn.Module]:
        obj = model
        for name in self.backbone.split('.'):
            while not hasattr(obj, name) and hasattr(obj, 'module'):
                obj = obj.module  # look through EMA / wrappers
            obj = getattr(obj, name, None)
            if obj is None:
                if not self._warned:
                    self._warned = True
                    print_log(
                        'SSLVisualizationHook: the model has no '
                        f"'{self.backbone}'; attention maps are skipped. "
                        'Set backbone=<dotted path> to the backbone.',
                        logger='current',
                        level=logging.WARNING)
                return None
        return obj

    def _faces(self, runner) -> Optional[dict]:
        """The first view of ``num_samples`` validation faces, collated."""
        loop = getattr(runner, 'val_loop', None)
        dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
        if dataset is None or len(dataset) == 0:
            return None
        idx = np.linspace(0, len(dataset) - 1, self.num_samples)
        items = [dataset[int(i)] for i in np.unique(np.rint(idx))]
        for item in items:
            if isinstance(item['inputs'], Sequence):
                item['inputs'] = item['inputs'][0]
        return default_collate(items)
