"""facessl: plugin-based self-supervised learning for face representations.

Built on MMEngine and mmpretrain. Components register themselves in the
``facessl`` registry scope (see :mod:`facessl.registry`); call
:func:`facessl.utils.register_all_modules` before building from a config.
"""
import warnings

from .version import __version__

# mmcv-lite has no compiled ops; mmcv warns about one transformer op that
# facessl never uses every time mmpretrain imports its ViT.
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``')

__all__ = ['__version__']
