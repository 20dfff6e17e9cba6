"""Pictures of a LAFS run: landmarks of every view and sampled patches."""
import logging
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.logging import print_log

from facessl.registry import HOOKS
from facessl.visualization import (default_view_names, patch_mosaic,
                                   tile_grid, view_landmark_grid)
from ._utils import unwrap_model
from .batch_picture_hook import BatchPictureHook
from .visualization_hook import _rng_preserved


def _mean_std(preprocessor) -> tuple:
    """Normalisation (mean, std) lists of a data preprocessor, or Nones."""
    if not getattr(preprocessor, '_enable_normalize', False):
        return None, None
    return (preprocessor.mean.flatten().tolist(),
            preprocessor.std.flatten().tolist())


def _to_height(img: np.ndarray, height: int) -> np.ndarray:
    """Nearest-neighbour resize to ``height`` rows (patch pixels stay)."""
    width = max(1, int(round(img.shape[1] * height / img.shape[0])))
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_NEAREST)


@HOOKS.register_module()
class LAFSVisualizationHook(BatchPictureHook):
    """Draw what the LAFS model does with the landmarks of a batch.

    At the first training iteration of a run and then at the first
    iteration of every ``interval``-th epoch (every ``interval`` iterations
    with ``by_epoch=False``), for the first ``num_samples`` samples of the
    current batch, writes through ``runner.visualizer.add_image`` (PNG
    files under the work dir's ``vis_data/`` and TensorBoard with the
    default runtime):

    - ``lafs_landmarks``: the geometric-only image of every view with the
      landmarks the frozen landmark CNN predicts on it (one row per
      sample, global views first);
    - ``lafs_view_landmarks``: the photometric image of every view with
      the student's landmarks after perturbation, shuffle and subset;
    - ``lafs_patches``: patch mosaics, tokens in the order the backbone
      gets them: the teacher's first global view (all landmarks, in id
      order), the student's first global view and first local view.

    Points are coloured by landmark id on one wheel of ``R`` colours, so a
    landmark has the same colour in every view. Patches come from the
    backbone's own ``sample_patches``, which flattens each patch
    channel-major ``(C, P, P)``: the mosaics unflatten with
    ``layout='chw'``.

    The model must provide ``view_landmarks(inputs)`` (as
    :class:`~facessl.models.LAFS`) and ``backbone.sample_patches``; the
    hook runs on the main process only and leaves the global RNG states
    unchanged, so runs with and without it train identically.

    Args:
        interval (int): draw every ``interval`` epochs (iterations with
            ``by_epoch=False``). Defaults to 10.
        num_samples (int): samples per picture. Defaults to 2.
        by_epoch (bool): count ``interval`` in epochs. Defaults to True.
        height (int): view tile height before the 2x upsampling of the
            drawings. Defaults to 112.
    """

    def __init__(self,
                 interval: int = 10,
                 num_samples: int = 2,
                 by_epoch: bool = True,
                 height: int = 112) -> None:
        super().__init__(interval, num_samples, by_epoch, height)
        self._warned = False

    # -------------------------------------------------------------- drawing
    def draw(self, runner, data_batch, step: int) -> None:
        """Write the three pictures of ``data_batch``.

        Args:
            runner (Runner): the runner.
            data_batch (dict): a collated LAFS batch, ``inputs`` the ``2 V``
                uint8 views (B, 3, S, S), or the ``V`` crops of the
                batched path (the preprocessor makes the rest).
            step (int): the step to file the pictures under.
        """
        if not is_main_process() or not data_batch:
            return
        model = unwrap_model(runner)
        if not self._drawable(model):
            return
        n = self.num_samples
        raw = [v[:n] for v in data_batch['inputs']]
        with _rng_preserved(), torch.no_grad():
            # training mode: a batched preprocessor draws the photometric
            # views the model trains on (the per-image path's come
            # augmented from the workers and are only normalised)
            data = model.data_preprocessor(
                dict(inputs=raw, data_samples=None), True)
            views = model.view_landmarks(data['inputs'])
            patches = self._patches(model, views)
        mean, std = _mean_std(model.data_preprocessor)
        num_ids = views['predicted'][0].shape[1]
        names = default_view_names(
            len(views['predicted']), model.num_global_views)
        samples = range(views['predicted'][0].shape[0])
        rows = [f'sample {i}' for i in samples]

        def grid(images, points, ids):
            return view_landmark_grid(
                [[img[i] for img in images] for i in samples],
                [[p[i] for p in points] for i in samples],
                None if ids is None else [[d[i] for d in ids]
                                          for i in samples],
                num_ids=num_ids,
                col_titles=names,
                row_titles=rows,
                height=self.height,
                mean=mean,
                std=std)

        visualizer = runner.visualizer
        visualizer.add_image(
            'lafs_landmarks',
            grid(views['geometric'], views['predicted'], None), step)
        student = views['student']
        visualizer.add_image(
            'lafs_view_landmarks',
            grid(views['photometric'], [lm for lm, _ in student],
                 [ids for _, ids in student]), step)
        visualizer.add_image('lafs_patches',
                             self._mosaics(patches, mean, std), step)

    def _drawable(self, model) -> bool:
        ok = callable(getattr(model, 'view_landmarks', None)) and callable(
            getattr(getattr(model, 'backbone', None), 'sample_patches',
                    None))
        if not ok and not self._warned:
            self._warned = True
            print_log(
                f'LAFSVisualizationHook: {type(model).__name__} has no '
                'view_landmarks() or backbone.sample_patches(); nothing is '
                'drawn (use it with a LAFS model)',
                logger='current',
                level=logging.WARNING)
        return ok

    @staticmethod
    def _patches(model, views: dict) -> List[tuple]:
        """(title, (B, N, C*P*P) patches) of the mosaics to draw."""
        sample = model.backbone.sample_patches
        photo = views['photometric']
        lm, _ = views['teacher'][0]
        out = [('teacher global 1', sample(photo[0], lm))]
        lm, _ = views['student'][0]
        out.append(('student global 1', sample(photo[0], lm)))
        g = model.num_global_views
        if len(photo) > g:
            lm, _ = views['student'][g]
            out.append(('student local 1', sample(photo[g], lm)))
        return out

    def _mosaics(self, patches: Sequence[tuple], mean: Optional[list],
                 std: Optional[list]) -> np.ndarray:
        """One row of patch mosaics per sample, one column per view."""
        height = 2 * self.height
        rows = []
        for i in range(patches[0][1].shape[0]):
            rows.append([
                _to_height(
                    patch_mosaic(p[i], layout='chw', mean=mean, std=std),
                    height) for _, p in patches
            ])
        return tile_grid(
            rows,
            col_titles=[t for t, _ in patches],
            row_titles=[f'sample {i}' for i in range(len(rows))])
