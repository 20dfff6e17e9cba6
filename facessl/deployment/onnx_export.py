"""ONNX export in insightface's recognition layout; TorchScript and
``torch.export`` programs of the same network.

The file insightface's ``ArcFaceONNX`` (``insightface.model_zoo.
arcface_onnx``) and other face pipelines load: one input ``(N, 3, 112,
112)`` float RGB already normalised as ``(x - 127.5) / 127.5``, the batch
``N`` dynamic, and one output ``(N, D)``, the embedding.

How ``ArcFaceONNX`` picks its input normalisation (read before naming any
node): it looks at the *names* of the graph's first 8 nodes; if one starts
with ``Sub`` (or ``_minus``) and one with ``Mul`` (or ``_mul``) it takes
the graph for an MXNet conversion that normalises inside and feeds raw
pixels (mean 0, std 1), otherwise it feeds ``(x - 127.5) / 127.5``.
:func:`export_onnx` renames nodes whose names start so (PyTorch's
exporter names them ``/Sub`` etc., which do not, but a graph might) and
:func:`insightface_layout` checks the result the same way.

Exported with PyTorch's TorchScript-based ONNX exporter (``dynamo=False``,
opset 17; Part fViT's ``grid_sample`` needs opset >= 16), which needs no
package beyond ``onnx`` for the checks; ``onnxruntime`` is needed only to
verify the file (:func:`onnx_parity`).
"""
import warnings
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn as nn

from .embedding import embedding_dim

INPUT_NAME = 'input'
OUTPUT_NAME = 'embedding'
BATCH_AXIS = 'batch'
#: node-name prefixes that make ArcFaceONNX feed raw pixels
MXNET_SUB = ('Sub', '_minus')
MXNET_MUL = ('Mul', '_mul')
#: how many leading nodes ArcFaceONNX inspects
INSPECTED_NODES = 8
DEFAULT_OPSET = 17


def _import_onnx():
    try:
        import onnx
    except ImportError as err:
        raise ImportError(
            'ONNX export needs the onnx package: pip install -r '
            'requirements/tests.txt (or pip install onnx)') from err
    return onnx


def _rename_mxnet_lookalikes(model) -> int:
    """Prefix node names that ArcFaceONNX would read as MXNet's."""
    renamed = 0
    for node in model.graph.node:
        if node.name.startswith(MXNET_SUB + MXNET_MUL):
            node.name = f'facessl/{node.name}'
            renamed += 1
    return renamed


def insightface_layout(path: str, img_size: int = 112) -> Dict[str, object]:
    """Check an ONNX file against insightface's recognition layout.

    Args:
        path (str): ONNX file.
        img_size (int): expected input side. Defaults to 112.

    Returns:
        dict: ``input_name``, ``input_shape`` (batch as its symbol),
        ``output_name``, ``output_shape``, and the ``input_mean`` /
        ``input_std`` that ArcFaceONNX will use (127.5 / 127.5).

    Raises:
        ValueError: not one input and one output, a wrong input shape, a
            fixed batch size, or names that make ArcFaceONNX feed raw
            pixels; the message names the file.
    """
    onnx = _import_onnx()
    model = onnx.load(path)
    graph = model.graph
    init_names = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init_names]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ValueError(f'{path}: expected 1 input and 1 output, got '
                         f'{len(inputs)} and {len(graph.output)}')

    def shape(value):
        return [d.dim_param or d.dim_value
                for d in value.type.tensor_type.shape.dim]

    in_shape, out_shape = shape(inputs[0]), shape(graph.output[0])
    if in_shape[1:] != [3, img_size, img_size] or \
            not isinstance(in_shape[0], str):
        raise ValueError(f'{path}: input shape {in_shape}, expected '
                         f"['{BATCH_AXIS}', 3, {img_size}, {img_size}] "
                         '(dynamic batch)')
    if len(out_shape) != 2 or not isinstance(out_shape[0], str) or \
            not isinstance(out_shape[1], int):
        raise ValueError(f'{path}: output shape {out_shape}, expected '
                         '(dynamic batch, embedding size)')
    names = [n.name for n in graph.node[:INSPECTED_NODES]]
    raw = (any(n.startswith(MXNET_SUB) for n in names)
           and any(n.startswith(MXNET_MUL) for n in names))
    if raw:
        raise ValueError(
            f'{path}: its first nodes {names} make insightface treat it as '
            'an MXNet model fed raw pixels (mean 0, std 1)')
    return dict(input_name=inputs[0].name, input_shape=in_shape,
                output_name=graph.output[0].name, output_shape=out_shape,
                input_mean=127.5, input_std=127.5)


def export_onnx(net: nn.Module,
                path: str,
                img_size: int = 112,
                opset: int = DEFAULT_OPSET) -> Dict[str, object]:
    """Export an embedding network to ONNX in insightface's layout.

    Args:
        net (nn.Module): ``(N, 3, S, S)`` insightface-normalised RGB ->
            ``(N, D)``, e.g. from
            :func:`facessl.deployment.build_embedding_net`.
        path (str): output ``.onnx`` file.
        img_size (int): input side ``S``. Defaults to 112.
        opset (int): ONNX opset, >= 16. Defaults to 17.

    Returns:
        dict: :func:`insightface_layout` of the written file.
    """
    onnx = _import_onnx()
    if opset < 16:
        raise ValueError(f'opset {opset} < 16: the GridSample of Part '
                         'fViT needs opset >= 16')
    net = net.eval()
    dim = embedding_dim(net, img_size)  # also refuses a non-(N, D) output
    dummy = torch.zeros(2, 3, img_size, img_size,
                        device=next(net.parameters()).device)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(
            net, (dummy, ), path, dynamo=False, opset_version=opset,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: BATCH_AXIS},
                          OUTPUT_NAME: {0: BATCH_AXIS}})
    model = onnx.load(path)
    _rename_mxnet_lookalikes(model)
    # the embedding size is fixed even where the exporter left a symbol
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    out_dims[1].Clear()
    out_dims[1].dim_value = dim
    onnx.save(model, path)
    onnx.checker.check_model(path)
    return insightface_layout(path, img_size)


def export_torchscript(net: nn.Module, path: str,
                       img_size: int = 112) -> None:
    """Save a traced TorchScript module (batch stays dynamic).

    Load it with ``torch.jit.load(path)``; it takes the same input as the
    ONNX file.
    """
    net = net.eval()
    dummy = torch.zeros(2, 3, img_size, img_size,
                        device=next(net.parameters()).device)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        traced = torch.jit.trace(net, dummy, check_trace=False)
    traced.save(path)


def export_program(net: nn.Module, path: str, img_size: int = 112,
                   max_batch: int = 4096) -> None:
    """Save a ``torch.export`` program (``.pt2``) with a dynamic batch.

    Load it with ``torch.export.load(path).module()``; it takes the same
    input as the ONNX file, batches of 1 to ``max_batch``.
    """
    net = net.eval()
    dummy = torch.zeros(2, 3, img_size, img_size,
                        device=next(net.parameters()).device)
    batch = torch.export.Dim('batch', min=1, max=max_batch)
    with torch.no_grad():
        program = torch.export.export(net, (dummy, ),
                                      dynamic_shapes=({0: batch}, ))
    torch.export.save(program, path)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of matching rows of two ``(N, D)`` arrays."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) *
                             np.linalg.norm(b, axis=1))


def onnx_parity(net: nn.Module, path: str, faces: torch.Tensor,
                providers: Optional[list] = None) -> np.ndarray:
    """Per-image cosine between onnxruntime's and PyTorch's embeddings.

    Args:
        net (nn.Module): the exported network.
        path (str): its ONNX file.
        faces (Tensor): ``(N, 3, S, S)`` insightface-normalised RGB.
        providers (list, optional): onnxruntime providers. Defaults to
            the CPU.

    Returns:
        np.ndarray: ``(N,)`` cosine similarities.
    """
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise ImportError('verifying the ONNX file needs onnxruntime: pip '
                          'install -r requirements/tests.txt') from err
    session = ort.InferenceSession(
        path, providers=providers or ['CPUExecutionProvider'])
    x = faces.detach().float().cpu()
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    device = next(net.parameters()).device
    with torch.no_grad():
        want = net.eval()(x.to(device)).cpu().numpy()
    return cosine_rows(got, want)
