"""insightface ``arcface_torch`` IResNet weights in facessl's names.

facessl's :class:`~facessl.models.backbones.IResNet` uses the module names
of insightface's ``recognition/arcface_torch/backbones/iresnet.py``
(``conv1``, ``bn1``, ``prelu``, ``layer1.0.bn1`` ... ``layerN.M.downsample.
{0,1}``, ``bn2``, ``fc``, ``features``), so the conversion is the identity
on names and tensors. What it adds: it strips the wrapper prefixes a saved
file may carry (``module.`` from DDP, ``backbone.``), refuses anything that
is not an IResNet, and reads the preset (r18, r34, r50, r100, or the units
per stage) and the embedding size from the tensors.
"""
import re
from collections import OrderedDict
from typing import Tuple

from .common import State, strip_prefixes, tensors_only


def iresnet_backbone_config(state: State, where: str = 'IResNet') -> dict:
    """facessl ``IResNet`` config matching an insightface state dict.

    Raises:
        KeyError: no ``layer1``..``layer4`` units or no ``features``.
    """
    from facessl.models.backbones.iresnet import ARCH_SETTINGS
    units = []
    for stage in range(1, 5):
        ids = {int(m.group(1)) for k in state
               for m in [re.match(rf'layer{stage}\.(\d+)\.', k)] if m}
        if not ids:
            raise KeyError(f'{where}: no layer{stage}.N.* keys; not an '
                           'insightface IResNet state dict')
        units.append(max(ids) + 1)
    if 'features.weight' not in state:
        raise KeyError(f'{where}: no features.weight (the embedding '
                       'BatchNorm); not an insightface IResNet')
    names = {v: k for k, v in ARCH_SETTINGS.items()}
    return dict(type='IResNet', arch=names.get(tuple(units), units),
                embed_dims=int(state['features.weight'].shape[0]))


def convert_iresnet(state: dict, where: str = 'IResNet'
                    ) -> Tuple[State, dict]:
    """An arcface_torch ``backbone.pth`` state dict in facessl's names.

    Args:
        state (dict): the state dict (``module.``/``backbone.`` prefixes
            allowed).
        where (str): name of the source, for errors.

    Returns:
        tuple: the state dict (same names and tensors) and the matching
        ``IResNet`` backbone config.
    """
    state = strip_prefixes(tensors_only(state, where),
                           ('module.', 'backbone.'))
    state = OrderedDict(state)
    return state, iresnet_backbone_config(state, where)
