"""Chaining the three LAFS stages: configs, checkpoints and prefixes.

LAFS (Sun et al., CVPR 2024, https://arxiv.org/abs/2403.08161) runs

1. a supervised Part fViT (``FaceRecognizer``), whose landmark CNN is kept:
   checkpoint keys ``backbone.landmark_cnn.*``;
2. self-supervised pretraining with that landmark CNN frozen; its EMA
   teacher is kept: keys ``teacher.backbone.*`` (the whole Part fViT,
   ``teacher.backbone.landmark_cnn.*`` included);
3. fine-tuning initialised from the teacher (``model.pretrained``), with
   a frozen copy of the stage-1 landmark CNN as the reference of the
   landmark regulariser (``model.landmark_reg.checkpoint``).

Here are LAFS's checkpoint prefixes and per-stage config overrides, used
by ``tools/lafs_pipeline.py`` and ``tools/analysis/lafs_report.py``; the
generic machinery (child configs, runs, checkpoints, scoring) is
:mod:`.stage_chain`.
"""
from typing import Optional

from .stage_chain import LOADER_OPTIONS, NO_VAL, cosine_schedule

#: keys of a stage-1 checkpoint holding the landmark CNN
STAGE1_PREFIX = 'backbone.landmark_cnn.'
#: keys of a stage-2 checkpoint holding the teacher's Part fViT
STAGE2_PREFIX = 'teacher.backbone.'
#: where stage 2's landmark CNN takes its weights (an MMEngine init_cfg)
DEFAULT_STAGE2_LANDMARK_KEY = 'model.landmark_cnn_checkpoint'


def stage2_options(stage1_checkpoint: str,
                   landmark_key: str = DEFAULT_STAGE2_LANDMARK_KEY) -> dict:
    """Stage 2 loads the stage-1 landmark CNN (frozen by the algorithm).

    Args:
        stage1_checkpoint (str): stage-1 checkpoint.
        landmark_key (str): dotted config key to set: ``LAFS``'s
            ``model.landmark_cnn_checkpoint`` (default; a path), or a
            landmark CNN's ``...init_cfg`` (a key ending in ``init_cfg``
            gets a ``Pretrained`` init from the checkpoint instead).

    Returns:
        dict: ``{landmark_key: value}`` for ``--cfg-options``.
    """
    if landmark_key.endswith('init_cfg'):
        return {
            landmark_key:
            dict(type='Pretrained', checkpoint=stage1_checkpoint,
                 prefix=STAGE1_PREFIX)
        }
    return {landmark_key: stage1_checkpoint}


def stage3_options(stage1_checkpoint: str,
                   stage2_checkpoint: Optional[str],
                   subset_file: Optional[str] = None,
                   stage2_prefix: str = STAGE2_PREFIX,
                   landmark_reg: bool = True) -> dict:
    """Stage 3: backbone from the stage-2 teacher, reference from stage 1.

    Args:
        stage1_checkpoint (str): stage-1 checkpoint (landmark reference).
        stage2_checkpoint (str | None): self-supervised checkpoint whose
            ``stage2_prefix`` weights initialise the backbone; None trains
            the transformer from scratch, with only the landmark CNN taken
            (strictly) from stage 1 (the "no pretraining" baseline).
        subset_file (str, optional): where the few-shot subset file goes.
        stage2_prefix (str): key prefix of the pretrained backbone.
            Defaults to ``'teacher.backbone.'``.
        landmark_reg (bool): set the regulariser's reference checkpoint
            (False for backbones without landmarks, e.g. a plain ViT).

    Returns:
        dict: dotted options for :func:`.stage_chain.write_stage_config`.
    """
    if stage2_checkpoint is None:
        pretrained = dict(checkpoint=stage1_checkpoint, prefix=STAGE1_PREFIX,
                          target='backbone.landmark_cnn', strict=True)
    else:
        pretrained = dict(checkpoint=stage2_checkpoint, prefix=stage2_prefix)
    options = {'model.pretrained': pretrained}
    if landmark_reg:
        options['model.landmark_reg.checkpoint'] = stage1_checkpoint
    if subset_file is not None:
        options['train_dataloader.dataset.subset_file'] = subset_file
    return options


#: per-stage overrides that make the chain a few-minute CPU run
SMALL_OPTIONS = {
    1: {
        **LOADER_OPTIONS,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': NO_VAL,
        'train_dataloader.dataset.num_identities': 20,
        'train_dataloader.dataset.images_per_identity': 4,
        'model.head.num_classes': 20,
        'model.data_preprocessor.num_classes': 20,
        'param_scheduler': cosine_schedule(1),
    },
    2: {
        **LOADER_OPTIONS,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': NO_VAL,
        'train_dataloader.dataset.num_identities': 16,
        'train_dataloader.dataset.images_per_identity': 2,
    },
    3: {
        **LOADER_OPTIONS,
        'train_cfg.max_epochs': 2,
        'train_cfg.val_interval': NO_VAL,
        # 10 identities x 2 shots of the few-shot source
        'train_dataloader.dataset.fraction': None,
        'train_dataloader.dataset.num_identities': 10,
        'train_dataloader.dataset.shots': 2,
        'model.head.num_classes': 10,
        'model.data_preprocessor.num_classes': 10,
        'param_scheduler': cosine_schedule(2),
    },
}
