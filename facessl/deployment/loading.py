"""Build a facessl model from its config and load a checkpoint strictly.

Export must never ship a partly random network, so every key of the
checkpoint has to match the model built from the config: a missing or
unexpected key is an error that names the file, the model and the first
keys. Two kinds of files are accepted:

- a training checkpoint (``state_dict`` of the whole model, as
  ``tools/train.py`` writes it);
- a backbone-only file written by ``tools/model_converters/
  extract_backbone.py`` or a published-weights converter (its
  ``meta['facessl_part']`` is ``'backbone'``): loaded into the backbone
  that gives the embedding (the teacher's for teacher-student models).
"""
import copy
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader

from facessl.converters.common import BACKBONE_PART
from facessl.utils.checkpoint import load_state_dict_checked
from .embedding import EmbeddingNet, embedding_net


def build_model(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the ``model`` of a config, on the CPU, in eval mode.

    The top-level ``data_preprocessor`` is used when the model has none (as
    MMEngine's ``Runner``); SyncBN layers become BatchNorm (no process
    group is needed); ``compile_backbone`` is switched off. No weights are
    initialised from ``pretrained``/``init_cfg``: load a checkpoint.

    Args:
        config (str | Config): config file or loaded config.
        cfg_options (dict, optional): overrides, ``key=value`` as
            ``--cfg-options``. Defaults to None.

    Returns:
        nn.Module: the model.
    """
    from facessl.registry import MODELS
    from facessl.utils.config import load_tool_config
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    else:
        cfg = load_tool_config(config, cfg_options)
    if cfg.get('model') is None:
        raise KeyError(f'{getattr(cfg, "filename", config)}: no model')
    model_cfg = copy.deepcopy(cfg.model)
    if model_cfg.get('data_preprocessor') is None and \
            cfg.get('data_preprocessor') is not None:
        model_cfg['data_preprocessor'] = copy.deepcopy(cfg.data_preprocessor)
    if model_cfg.get('compile_backbone'):
        model_cfg['compile_backbone'] = False
    # nested builds (e.g. mmpretrain's BaseSelfSupervisor) look names up
    # in the default scope
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope') or 'facessl'):
        model = MODELS.build(model_cfg)
    model = revert_sync_batchnorm(model)
    model.eval()  # some train() overrides return None
    return model


def load_strict(module: nn.Module, state: dict, path: str) -> None:
    """Load ``state`` into ``module`` strictly
    (:func:`facessl.utils.checkpoint.load_state_dict_checked`).

    Raises:
        CheckpointMismatchError: a ``KeyError`` and ``ValueError`` naming
            ``path`` and the first missing / unexpected keys and size
            mismatches.
    """
    load_state_dict_checked(
        module, state, path, hint='is it a checkpoint of this config?')


def build_embedding_net(config: Union[str, Config],
                        checkpoint: str,
                        part: Optional[str] = None,
                        cfg_options: Optional[dict] = None,
                        trust_checkpoint: bool = False) -> EmbeddingNet:
    """The embedding network of ``config`` with ``checkpoint``'s weights.

    Args:
        config (str | Config): config file or loaded config.
        checkpoint (str): local training checkpoint or backbone-only file.
        part (str, optional): ``'teacher'`` or ``'student'`` for
            teacher-student models (default: teacher).
        cfg_options (dict, optional): config overrides.
        trust_checkpoint (bool): load ``checkpoint`` with
            ``weights_only=False`` (only for files you trust).

    Returns:
        EmbeddingNet: on the CPU, in eval mode.
    """
    from facessl.utils.checkpoint import trust_checkpoint as trust
    model = build_model(config, cfg_options)
    if trust_checkpoint:
        trust(checkpoint)
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise TypeError(f'{checkpoint}: expected a dict checkpoint, got '
                        f'{type(ckpt).__name__}')
    state = ckpt.get('state_dict', ckpt)
    meta = ckpt.get('meta') or {}
    net = embedding_net(model, part)
    if isinstance(meta, dict) and meta.get('facessl_part') == BACKBONE_PART:
        load_strict(net.backbone, state, checkpoint)
    else:
        load_strict(model, state, checkpoint)
    return net.eval()
