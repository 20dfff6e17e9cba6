"""Chaining the three 3D-BERL stages: checkpoints, overrides, loss logs.

3D-BERL (He et al., CVPR 2022) runs

1. face recognition only (``FaceRecognizer`` or ``BERL`` with
   ``stage=1``): checkpoint keys ``backbone.*`` and ``head.*``;
2. the IRA/IIA networks with that backbone frozen (``BERL``,
   ``stage=2``), loading backbone and head of stage 1 strictly
   (``model.pretrained``); adds ``ira.*`` and ``iia.*``;
3. joint training (``stage=3``), loading the whole stage-2 model.

``tools/berl_pipeline.py`` runs them with the stage-running helpers of
:mod:`facessl.apis.stage_chain` (child config per stage, ``tools/train.py``,
checkpoint lookup, verification by ``tools/test.py``); this module holds
what is specific to 3D-BERL.
"""
from typing import Dict, List, Tuple

from facessl.utils.scalars import scalar_records

from .stage_chain import NO_VAL, cosine_schedule

#: keys a stage-1 checkpoint must have (backbone and margin head)
STAGE1_PREFIXES = ('backbone.', 'head.')
#: keys a stage-2 checkpoint must have besides the stage-1 ones
STAGE2_PREFIXES = ('backbone.', 'head.', 'ira.', 'iia.')


def stage2_options(stage1_checkpoint: str) -> dict:
    """Stage 2 loads backbone and margin head of stage 1, strictly."""
    return {
        'model.pretrained': [
            dict(checkpoint=stage1_checkpoint, prefix=prefix,
                 target=prefix[:-1], strict=True)
            for prefix in STAGE1_PREFIXES
        ]
    }


def stage3_options(stage2_checkpoint: str) -> dict:
    """Stage 3 loads the whole stage-2 model, strictly."""
    return {
        'model.pretrained':
        dict(checkpoint=stage2_checkpoint, target='', strict=True)
    }


def _data(num_identities: int, images: int, batch: int) -> dict:
    return {
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.batch_size': batch,
        'train_dataloader.dataset.num_identities': num_identities,
        'train_dataloader.dataset.images_per_identity': images,
        'model.head.num_classes': num_identities,
        'model.data_preprocessor.num_classes': num_identities,
    }


def small_options(stage: int, num_identities: int = 16, images: int = 4,
                  batch: int = 8, epochs: Tuple[int, int, int] = (1, 3, 1)
                  ) -> dict:
    """Overrides that make a stage of the CPU demo a short run.

    Every stage reads the same synthetic identities (same seed, sizes and
    labels), so the margin head of stage 1 fits stages 2 and 3. Losses are
    logged every iteration, unsmoothed, so that the reconstruction loss of
    stage 2 can be read at its first and last iteration.

    Args:
        stage (int): 1, 2 or 3.
        num_identities (int): identities. Defaults to 16.
        images (int): images per identity. Defaults to 4.
        batch (int): batch size. Defaults to 8.
        epochs (tuple[int, int, int]): epochs of the three stages.
            Defaults to (1, 3, 1).

    Returns:
        dict: dotted options for :func:`~.stage_chain.write_stage_config`.
    """
    n = epochs[stage - 1]
    options = _data(num_identities, images, batch)
    options.update({
        'train_cfg.max_epochs': n,
        'train_cfg.val_interval': NO_VAL,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': n,
        'log_processor.window_size': 1,
    })
    if stage == 1:
        options['param_scheduler'] = cosine_schedule(n)
    else:
        options['param_scheduler'] = dict(
            fr=cosine_schedule(n), recon=cosine_schedule(n))
    return options


def read_scalars(stage_dir: str, key: str) -> List[Tuple[int, float]]:
    """``(iter, value)`` of ``key`` in a run's ``vis_data/scalars.json``
    (the newest run; :func:`facessl.utils.scalars.scalar_records`).

    Raises:
        FileNotFoundError: no scalars file in ``stage_dir``.
    """
    values = []
    for record in scalar_records(stage_dir):
        if key in record:
            values.append((int(record.get('iter', len(values))),
                           float(record[key])))
    return values


def loss_trend(stage_dir: str, key: str = 'loss_recon') -> Dict[str, float]:
    """First and last logged value of ``key`` and their iterations.

    Returns:
        dict: ``first``, ``last``, ``first_iter``, ``last_iter``,
        ``count``; empty if ``key`` was never logged.
    """
    values = read_scalars(stage_dir, key)
    if not values:
        return {}
    return dict(first=values[0][1], last=values[-1][1],
                first_iter=values[0][0], last_iter=values[-1][0],
                count=len(values))
