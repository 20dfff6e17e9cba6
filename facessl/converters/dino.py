"""Official DINO checkpoints (facebookresearch/dino) in facessl's names.

Layouts read (key names of the authors' ``vision_transformer.py`` and
``main_dino.py``):

- *full checkpoints* (``main_dino.py``'s ``checkpoint.pth``): a dict with
  ``'student'`` and ``'teacher'`` state dicts of the multi-crop wrapper
  (``backbone.*``, ``head.*``; the student, DDP-wrapped, also under
  ``module.``), ``'dino_loss'`` (``center``), plus ``optimizer``,
  ``epoch``, ``args``;
- *backbone releases* (``dino_vits16_pretrain.pth`` etc.): the bare ViT
  state dict (``cls_token``, ``pos_embed``, ``patch_embed.proj.*``,
  ``blocks.N.*``, ``norm.*``), possibly under ``module.``/``backbone.``.

ViT names map one to one onto mmpretrain's ``VisionTransformer`` (and
facessl's ``FastVisionTransformer``): the fused ``qkv`` projection has the
same ``[q; k; v]`` row layout and head split in both, and ``pos_embed``
includes the class token's position in both, so no tensor changes; the
LayerNorms use eps 1e-6 in both. DINO's projection head maps onto
facessl's ``DINOHead`` with the same ``mlp.N`` indices, except the
one-layer head (``nlayers=1``), a bare ``nn.Linear`` named ``mlp``
(``mlp.weight``), which becomes ``mlp.0.*``; the weight-normed last layer
keeps ``last_layer.weight_g``/``weight_v`` (also read from the
``parametrizations.weight.original0/1`` names of newer PyTorch).
"""
import re
from collections import OrderedDict
from typing import Dict, Optional, Tuple

from .common import State, strip_prefixes, tensors_only

#: DINO's ViT presets: width -> heads (vit_tiny / vit_small / vit_base)
DINO_HEADS = {192: 3, 384: 6, 768: 12}
_BLOCK = [
    ('norm1.', 'ln1.'),
    ('attn.qkv.', 'attn.qkv.'),
    ('attn.proj.', 'attn.proj.'),
    ('norm2.', 'ln2.'),
    ('mlp.fc1.', 'ffn.layers.0.0.'),
    ('mlp.fc2.', 'ffn.layers.1.'),
]
_TOP = {
    'cls_token': 'cls_token',
    'pos_embed': 'pos_embed',
    'patch_embed.proj.weight': 'patch_embed.projection.weight',
    'patch_embed.proj.bias': 'patch_embed.projection.bias',
    'norm.weight': 'ln1.weight',
    'norm.bias': 'ln1.bias',
}
_WEIGHT_NORM = {
    'last_layer.parametrizations.weight.original0': 'last_layer.weight_g',
    'last_layer.parametrizations.weight.original1': 'last_layer.weight_v',
}


def convert_vit(state: State, where: str = 'DINO ViT') -> State:
    """DINO ViT state dict -> facessl/mmpretrain ViT state dict.

    Raises:
        KeyError: a key that is not part of DINO's ViT (named).
    """
    out = OrderedDict()
    for key, value in state.items():
        match = re.match(r'blocks\.(\d+)\.(.*)$', key)
        if key in _TOP:
            out[_TOP[key]] = value
        elif match:
            rest = match.group(2)
            for old, new in _BLOCK:
                if rest.startswith(old):
                    out[f'layers.{match.group(1)}.{new}'
                        f'{rest[len(old):]}'] = value
                    break
            else:
                raise KeyError(f'{where}: unknown block key {key!r}')
        else:
            raise KeyError(f'{where}: key {key!r} is not part of DINO\'s '
                           'VisionTransformer')
    return out


def convert_head(state: State, where: str = 'DINO head') -> State:
    """DINO ``DINOHead`` state dict -> facessl ``DINOHead`` state dict.

    Raises:
        KeyError: a key that is not part of DINO's head (named).
    """
    out = OrderedDict()
    for key, value in state.items():
        key = _WEIGHT_NORM.get(key, key)
        if key in ('mlp.weight', 'mlp.bias'):  # nlayers == 1: a Linear
            out['mlp.0.' + key.split('.')[1]] = value
        elif re.match(r'mlp\.\d+\.', key) or key in ('last_layer.weight_g',
                                                      'last_layer.weight_v'):
            out[key] = value
        else:
            raise KeyError(f'{where}: key {key!r} is not part of DINO\'s '
                           'DINOHead')
    return out


def vit_backbone_config(state: State, img_size: int = 112,
                        num_heads: Optional[int] = None) -> dict:
    """facessl backbone config for a converted DINO ViT state dict.

    Width, depth, MLP width and patch size are read from the tensors; the
    head count from DINO's presets (192: 3, 384: 6, 768: 12) unless given.
    A ``pos_embed`` for another image size is resized (bicubic) by
    mmpretrain's load hook.

    Returns:
        dict: ``FastVisionTransformer`` config (class-token output).
    """
    dims = int(state['cls_token'].shape[-1])
    heads = num_heads or DINO_HEADS.get(dims)
    if heads is None:
        raise ValueError(f'width {dims} is not one of DINO\'s presets '
                         f'{sorted(DINO_HEADS)}: give num_heads')
    layers = 1 + max(int(k.split('.')[1]) for k in state
                     if k.startswith('layers.'))
    return dict(
        type='FastVisionTransformer',
        arch=dict(embed_dims=dims, num_layers=layers, num_heads=heads,
                  feedforward_channels=int(
                      state['layers.0.ffn.layers.0.0.weight'].shape[0])),
        img_size=img_size,
        patch_size=int(state['patch_embed.projection.weight'].shape[-1]),
        out_type='cls_token',
        final_norm=True)


def _network(state: State, where: str) -> Tuple[State, State]:
    """Split a (wrapper or bare) network into ViT and head state dicts."""
    state = strip_prefixes(tensors_only(state, where), ('module.', ))
    if not any(k.startswith(('backbone.', 'head.')) for k in state):
        return convert_vit(state, where), OrderedDict()
    vit = OrderedDict((k[9:], v) for k, v in state.items()
                      if k.startswith('backbone.'))
    head = OrderedDict((k[5:], v) for k, v in state.items()
                       if k.startswith('head.'))
    other = [k for k in state if not k.startswith(('backbone.', 'head.'))]
    if other:
        raise KeyError(f'{where}: keys outside backbone./head.: '
                       f'{other[:5]}')
    return convert_vit(vit, f'{where} backbone'), \
        convert_head(head, f'{where} head')


def convert_dino(ckpt: Dict[str, object], where: str = 'checkpoint'
                 ) -> Tuple[State, State]:
    """An official DINO checkpoint in facessl's names.

    Args:
        ckpt (dict): a full checkpoint (``teacher``/``student``) or a bare
            ViT state dict (``module.``/``backbone.`` prefixes allowed).
        where (str): name of the source, for errors.

    Returns:
        tuple: ``(model_state, backbone_state)``. ``model_state`` is in the
        layout of a facessl ``DINO`` model (``backbone.*``, ``head.*`` for
        the student, ``teacher.backbone.*``, ``teacher.head.*``,
        ``loss_module.center``); empty for a backbone release.
        ``backbone_state`` is the teacher's ViT (the student's if there is
        no teacher), without prefix.
    """
    if not any(k in ckpt for k in ('teacher', 'student')):
        state = strip_prefixes(tensors_only(ckpt, where),
                               ('module.', 'backbone.'))
        return OrderedDict(), convert_vit(state, where)
    model = OrderedDict()
    nets = {}
    for name, prefix in (('student', ''), ('teacher', 'teacher.')):
        if name in ckpt:
            vit, head = _network(ckpt[name], f'{where} [{name!r}]')
            nets[name] = vit
            model.update((f'{prefix}backbone.{k}', v) for k, v in vit.items())
            model.update((f'{prefix}head.{k}', v) for k, v in head.items())
    center = (ckpt.get('dino_loss') or {}).get('center')
    if center is not None:
        model['loss_module.center'] = center
    return model, nets.get('teacher', nets.get('student'))
