"""facessl example plugin: ``RandomFaceCutout`` and ``NormLinearClsHead``.

Importing this package registers both in facessl's registries; facessl
imports it either through its ``facessl.plugins`` entry point or through
``custom_imports = dict(imports=['facessl_example_plugin'])`` in a config.
"""
from .heads import NormLinearClsHead, cosine_logits
from .transforms import RandomFaceCutout

__version__ = '0.1.0'
__all__ = ['NormLinearClsHead', 'RandomFaceCutout', 'cosine_logits']
