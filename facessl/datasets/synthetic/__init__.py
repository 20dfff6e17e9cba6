"""Synthetic cartoon faces with exact identity, landmark and pose labels."""
from .camera import rotation_matrix
from .generator import ATTRIBUTE_NAMES, SyntheticFaceGenerator, attributes_of
from .identity import HAIR_STYLES, IdentityParams, sample_identity
from .render import ImageParams, render_face
from .template import (FLIP_INDICES, NUM_DENSE_LANDMARKS, NUM_LANDMARKS,
                       dense_points)

__all__ = [
    'ATTRIBUTE_NAMES', 'FLIP_INDICES', 'HAIR_STYLES', 'IdentityParams',
    'ImageParams', 'NUM_DENSE_LANDMARKS', 'NUM_LANDMARKS',
    'SyntheticFaceGenerator', 'attributes_of', 'dense_points',
    'render_face', 'rotation_matrix', 'sample_identity'
]
