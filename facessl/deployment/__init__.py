"""Export of trained facessl models: embedding networks, ONNX, TorchScript.
"""
from .embedding import (EmbeddingNet, InputAdapter,  # noqa: F401
                        embedding_dim, embedding_net)
from .faces import faces_to_input, reference_faces  # noqa: F401
from .loading import (build_embedding_net, build_model,  # noqa: F401
                      load_strict)
from .onnx_export import (cosine_rows, export_onnx,  # noqa: F401
                          export_program, export_torchscript,
                          insightface_layout, onnx_parity)
