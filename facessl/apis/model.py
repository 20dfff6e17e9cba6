"""Configs by name and models built from them (as ``mmpretrain.apis``).

Every config file under the repository's ``configs/`` folder (``_base_``
pieces excluded) is a model name: its file stem, e.g.
``'lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces'``. The configs are
found next to the installed ``facessl`` package (an editable install of
the repository); an explicit config path works from anywhere.
"""
import difflib
import fnmatch
import os
import os.path as osp
from typing import Dict, List, Optional, Union

import torch
from mmengine.config import Config
from torch import nn

#: Where the configs of an (editable) install of the repository live.
CONFIG_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


def _config_files(root: str = CONFIG_ROOT) -> Dict[str, str]:
    """Model name (file stem) -> config path, for every config."""
    if not osp.isdir(root):
        raise FileNotFoundError(
            f'{root}: configs folder not found; facessl looks for the '
            "repository's configs/ next to the package (install it with "
            '`pip install -e .`), or pass a config file path')
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != '_base_')
        for name in sorted(files):
            if name.endswith('.py'):
                stem = name[:-3]
                path = osp.join(folder, name)
                if stem in found:
                    raise ValueError(f'two configs are named {stem!r}: '
                                     f'{found[stem]} and {path}')
                found[stem] = path
    return found


def list_models(pattern: Optional[str] = None) -> List[str]:
    """Names of every config under ``configs/``, sorted.

    Args:
        pattern (str, optional): an ``fnmatch`` wildcard pattern, e.g.
            ``'lafs*'`` or ``'*_ijbc'``. Defaults to None (all).

    Returns:
        list[str]: config file stems; each is a valid :func:`get_model`
        argument.
    """
    names = sorted(_config_files())
    if pattern is not None:
        names = fnmatch.filter(names, pattern)
    return names


def resolve_config(config_or_name: Union[str, Config]) -> Config:
    """A :class:`Config` from itself, a config file path or a model name.

    Raises:
        ValueError: neither an existing file nor a listed name; the
            message suggests the closest names.
    """
    if isinstance(config_or_name, Config):
        return config_or_name
    if not isinstance(config_or_name, str):
        raise TypeError('expected a Config, a config path or a model name, '
                        f'got {type(config_or_name).__name__}')
    if osp.isfile(config_or_name):
        return Config.fromfile(config_or_name)
    files = _config_files()
    name = osp.basename(config_or_name)
    name = name[:-3] if name.endswith('.py') else name
    if name in files:
        return Config.fromfile(files[name])
    close = difflib.get_close_matches(name, list(files), n=3, cutoff=0.5)
    hint = f'; did you mean {close}?' if close else ''
    raise ValueError(f'{config_or_name!r} is neither a config file nor a '
                     f'model name of list_models(){hint}')


def default_device(device: Optional[Union[str, torch.device]] = None
                   ) -> torch.device:
    """``device``, else ``'cuda'`` when available, else ``'cpu'``."""
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return torch.device(device)


def _strict_load(module: nn.Module, state: dict, path: str,
                 what: str) -> None:
    """Strict load whose error names the file and ``what`` it was for."""
    from facessl.utils.checkpoint import load_state_dict_checked
    load_state_dict_checked(module, state, f'{path} ({what})',
                            hint='is it a checkpoint of this config?')


def load_pretrained(model: nn.Module, path: str) -> None:
    """Load a local checkpoint into ``model``, strictly.

    The file is read by facessl's safe loader
    (:func:`facessl.utils.checkpoint.load_local_checkpoint`,
    ``weights_only=True``). Two layouts load:

    - a whole-model state dict (an MMEngine checkpoint's ``state_dict``):
      every key of ``model`` and no other;
    - a backbone-only state dict (keys without the ``backbone.`` prefix):
      loaded into ``model.backbone`` and, for teacher-student models,
      into the teacher's backbone too, which gives their embeddings.

    Raises:
        FileNotFoundError: no such file.
        RuntimeError: the file holds no state dict.
        CheckpointMismatchError: the keys match neither layout (a
            ``KeyError``); the message names the file and the first missing
            and unexpected keys.
    """
    from facessl.utils.checkpoint import load_local_checkpoint
    ckpt = load_local_checkpoint(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise RuntimeError(f'{path}: expected a state dict or a checkpoint '
                           f'with a state_dict, got {type(ckpt).__name__}')
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    backbone = getattr(model, 'backbone', None)
    if backbone is not None and set(state) == set(backbone.state_dict()):
        _strict_load(backbone, state, path, 'the backbone')
        teacher = getattr(model, 'teacher', None)
        if isinstance(teacher, nn.ModuleDict) and 'backbone' in teacher:
            _strict_load(teacher['backbone'], state, path,
                         "the teacher's backbone")
        return
    _strict_load(model, state, path, f'the {type(model).__name__} model')


def get_model(config_or_name: Union[str, Config],
              pretrained: Optional[str] = None,
              device: Optional[Union[str, torch.device]] = None
              ) -> nn.Module:
    """Build the model of a config, optionally with local weights.

    Args:
        config_or_name (str | Config): a name from :func:`list_models`, a
            config file path or a loaded :class:`Config`.
        pretrained (str, optional): a local checkpoint, loaded strictly
            (:func:`load_pretrained`); nothing is downloaded. Defaults to
            None: the freshly built weights (``init_cfg`` files that
            the config names are not read).
        device (str | torch.device, optional): defaults to CUDA when
            available, else CPU.

    Returns:
        nn.Module: the model (with the config's data preprocessor), in
        eval mode, on ``device``; ``model.cfg`` is the config.
    """
    from mmengine.registry import init_default_scope

    from facessl.registry import MODELS
    from facessl.utils.setup_env import register_all_modules
    cfg = resolve_config(config_or_name)
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'facessl'))
    model_cfg = dict(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    if pretrained is not None:
        load_pretrained(model, pretrained)
    model.cfg = cfg
    return model.to(default_device(device)).eval()
