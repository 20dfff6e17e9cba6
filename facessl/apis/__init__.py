"""What users call: models by name, face embeddings, multi-stage runs.

``list_models``/``get_model`` follow ``mmpretrain.apis``;
:class:`FaceEmbedder` embeds face images; the multi-stage workflows live in
:mod:`.stage_chain`, :mod:`.lafs_chain` and :mod:`.berl_chain`.
"""
from .embedder import FaceEmbedder, extract_embeddings, write_embeddings
from .model import get_model, list_models

__all__ = [
    'FaceEmbedder', 'extract_embeddings', 'get_model', 'list_models',
    'write_embeddings'
]
