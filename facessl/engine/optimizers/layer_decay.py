"""Layer-wise learning-rate decay for ViT-like face backbones (Part fViT).

mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` asks the model
for ``get_layer_depth(name)``; its ``ImageClassifier`` forwards that to the
backbone, and only mmpretrain's own backbones implement it
(``VisionTransformer``: ``cls_token``, ``pos_embed``, ``patch_embed*`` ->
0, ``layers.<i>`` -> ``i + 1``, anything else -> the top). facessl's
:class:`FaceLayerDecayOptimWrapperConstructor` assigns the depths from the
parameter names instead, so any model whose backbone follows the ViT
naming works, including Part fViT's ``landmark_cnn``.
"""
from typing import Sequence, Tuple

import torch.nn as nn
from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor

from facessl.registry import OPTIM_WRAPPER_CONSTRUCTORS

#: backbone parameters before the first block (depth 0)
STEM_KEYS = ('cls_token', 'pos_embed', 'cls_pos_embed', 'patch_embed',
             'landmark_cnn', 'pre_norm', 'mask_token')
#: backbone parameters after the last block (the top depth, like the head)
TOP_KEYS = ('ln1', 'ln2', 'norm', 'final_norm', 'fc_norm')


def _starts(name: str, keys: Sequence[str]) -> bool:
    return any(name == k or name.startswith(k + '.') or name.startswith(k)
               and not name[len(k)].isalnum() for k in keys)


def vit_layer_depth(name: str,
                    num_layers: int,
                    prefix: str = 'backbone.',
                    layer_key: str = 'layers',
                    stem_keys: Sequence[str] = STEM_KEYS,
                    top_keys: Sequence[str] = TOP_KEYS) -> Tuple[int, int]:
    """Layer depth of a parameter of a ViT-like model, BEiT/MAE style.

    With ``L = num_layers`` blocks the depths are 0 (stem: ``stem_keys``
    under ``prefix``, e.g. ``backbone.cls_token``, ``backbone.pos_embed``,
    ``backbone.patch_embed.*``, ``backbone.landmark_cnn.*``), ``i + 1`` for
    ``backbone.<layer_key>.<i>.*``, and ``L + 1`` for the backbone's
    ``top_keys`` and everything outside the backbone (neck, head). The
    constructor scales the lr of depth ``d`` by ``rate ** (L + 1 - d)``:
    1 for the head, ``rate ** (L - i)`` for block ``i`` and
    ``rate ** (L + 1)`` for the stem, as MAE's ``param_groups_lrd`` and the
    LAFS authors' fine-tuning code (which also put the landmark CNN at
    depth 0).

    Args:
        name (str): parameter name in the model.
        num_layers (int): number of blocks ``L``.
        prefix (str): backbone prefix. Defaults to ``'backbone.'``.
        layer_key (str): name of the block list. Defaults to ``'layers'``.
        stem_keys (Sequence[str]): stem parameter/module names.
        top_keys (Sequence[str]): top parameter/module names.

    Returns:
        tuple[int, int]: ``(depth, L + 2)`` as mmpretrain's
        ``get_layer_depth``.

    Raises:
        KeyError: a backbone parameter matches none of the keys (so that
            no parameter gets a wrong lr silently).
    """
    max_depth = num_layers + 2
    if not name.startswith(prefix):
        return max_depth - 1, max_depth
    rest = name[len(prefix):]
    if rest.startswith(layer_key + '.'):
        block = rest.split('.')[1]
        if not block.isdigit() or int(block) >= num_layers:
            raise KeyError(f'{name}: block index {block!r} is not in '
                           f'[0, {num_layers})')
        return int(block) + 1, max_depth
    if _starts(rest, stem_keys):
        return 0, max_depth
    if _starts(rest, top_keys):
        return max_depth - 1, max_depth
    raise KeyError(
        f'layer-wise lr decay: cannot place {name!r}: it is not under '
        f"'{prefix}{layer_key}.<i>.' and matches no stem key {list(stem_keys)}"
        f' nor top key {list(top_keys)}; add its name to '
        'paramwise_cfg.stem_keys or paramwise_cfg.top_keys')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FaceLayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """Layer-wise lr decay by parameter names (see :func:`vit_layer_depth`).

    mmpretrain's constructor with the depths of :func:`vit_layer_depth`
    instead of the model's ``get_layer_depth``; weight-decay options
    (``norm_decay_mult``, ``flat_decay_mult``, ``custom_keys`` with
    ``decay_mult``) work as there. Parameters with
    ``requires_grad=False`` (e.g. the frozen landmark reference of
    ``FaceRecognizer``, or a landmark CNN frozen on purpose) get no group.
    Part fViT's trainable ``landmark_cnn`` sits at depth 0, with the patch
    embedding whose sampling positions it produces, as in the LAFS code.
    LAFS fine-tunes with ``layer_decay_rate=0.58``, AdamW, lr 1e-4 and
    weight decay 0.1.

    ``paramwise_cfg`` keys besides mmpretrain's:

    - ``num_layers`` (int): number of blocks; defaults to
      ``len(<backbone>.<layer_key>)``.
    - ``backbone_prefix`` (str): defaults to ``'backbone.'``.
    - ``layer_key`` (str): defaults to ``'layers'``.
    - ``stem_keys`` / ``top_keys`` (list[str]): override
      :data:`STEM_KEYS` / :data:`TOP_KEYS`.

    Example::

        optim_wrapper = dict(
            optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.1),
            constructor='FaceLayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.58))
    """

    _OPTIONS = ('num_layers', 'backbone_prefix', 'layer_key', 'stem_keys',
                'top_keys')

    def add_params(self,
                   params: list,
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth=None,
                   **kwargs) -> None:
        """Add the parameter groups of ``module`` (see mmpretrain's)."""
        if get_layer_depth is None:
            get_layer_depth = self._depth_fn(module)
        super().add_params(params, module, prefix, get_layer_depth, **kwargs)

    def _depth_fn(self, model: nn.Module):
        cfg = self.paramwise_cfg
        prefix = cfg.get('backbone_prefix', 'backbone.')
        layer_key = cfg.get('layer_key', 'layers')
        num_layers = cfg.get('num_layers')
        if num_layers is None:
            path = prefix.rstrip('.') + '.' + layer_key if prefix else (
                layer_key)
            try:
                num_layers = len(model.get_submodule(path))
            except (AttributeError, TypeError) as err:
                raise AttributeError(
                    f'FaceLayerDecayOptimWrapperConstructor: '
                    f'{type(model).__name__} has no block list {path!r} '
                    f'({err}); set paramwise_cfg.num_layers or '
                    'layer_key/backbone_prefix') from err
        stem = tuple(cfg.get('stem_keys', STEM_KEYS))
        top = tuple(cfg.get('top_keys', TOP_KEYS))

        def depth(name: str) -> Tuple[int, int]:
            return vit_layer_depth(name, num_layers, prefix, layer_key,
                                   stem, top)

        return depth
