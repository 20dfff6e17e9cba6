"""A trained facessl model as a plain ``images -> embedding`` network.

Export formats (ONNX, TorchScript) and face pipelines want one network
``(N, 3, 112, 112) -> (N, D)``. :func:`embedding_net` cuts it out of a
whole facessl model so that it computes exactly the ``feat`` its
``predict()`` gives to the verification, IJB and kNN metrics:

=====================================  ====================================
model                                  embedding
=====================================  ====================================
``FaceRecognizer`` (``BERL``) and      ``backbone -> (neck)``, last output
other ``ImageClassifier`` models       (the margin head's input)
``TeacherStudent`` (DINO, LAFS, ProS)  the teacher backbone's last output
                                       (the class token of a ViT / Part
                                       fViT); ``part='student'`` for the
                                       student
``FRA``                                the online backbone's last map,
                                       globally average-pooled
=====================================  ====================================

Its input is insightface's: RGB already normalised as
``(x - 127.5) / 127.5``. :class:`InputAdapter` maps it to what the
model's data preprocessor fed the backbone in training (another mean/std,
or BGR channel order); it is the identity for facessl's configs, which all
normalise insightface's way.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn

#: insightface's input normalisation, ``(x - MEAN) / STD`` on RGB
INSIGHTFACE_MEAN = 127.5
INSIGHTFACE_STD = 127.5
PARTS = ('teacher', 'student')


class InputAdapter(nn.Module):
    """Map insightface-normalised RGB to a backbone's training input.

    ``y = (x - 127.5) / 127.5`` on RGB pixels ``x`` becomes
    ``(x[perm] - mean) / std``: ``y[perm] * (127.5 / std) +
    (127.5 - mean) / std``, ``perm`` reversing the channels when the model
    was trained on BGR.

    Args:
        mean (Sequence[float]): per-channel mean of the model's
            preprocessor, in its channel order.
        std (Sequence[float]): per-channel std, same order.
        bgr (bool): the backbone was trained on BGR images.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float],
                 bgr: bool = False) -> None:
        super().__init__()
        mean_t = torch.as_tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        std_t = torch.as_tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.bgr = bool(bgr)
        self.register_buffer('scale', INSIGHTFACE_STD / std_t)
        self.register_buffer('shift', (INSIGHTFACE_MEAN - mean_t) / std_t)

    @property
    def is_identity(self) -> bool:
        """Whether the adapter changes nothing (facessl's configs)."""
        return (not self.bgr and bool((self.scale == 1).all())
                and bool((self.shift == 0).all()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Adapt ``(N, 3, H, W)`` insightface-normalised RGB images."""
        if self.bgr:
            x = x.flip(1)
        return x * self.scale + self.shift

    @classmethod
    def from_preprocessor(cls, preprocessor: Optional[nn.Module]
                          ) -> 'InputAdapter':
        """The adapter for an mmpretrain data preprocessor.

        Args:
            preprocessor (nn.Module | None): e.g. ``ClsDataPreprocessor``
                or ``SelfSupDataPreprocessor``; None means the backbone
                takes insightface-normalised RGB.

        Returns:
            InputAdapter: the mapping (identity for mean = std = 127.5 and
            ``to_rgb=True`` on BGR data).
        """
        if preprocessor is None:
            return cls([INSIGHTFACE_MEAN] * 3, [INSIGHTFACE_STD] * 3)
        if getattr(preprocessor, '_enable_normalize', False):
            mean = preprocessor.mean.flatten().tolist()
            std = preprocessor.std.flatten().tolist()
        else:  # no normalisation: the backbone saw 0-255 pixels
            mean, std = [0.] * 3, [1.] * 3
        # facessl's datasets yield BGR; without a BGR->RGB conversion the
        # backbone was trained on BGR
        to_rgb = bool(getattr(preprocessor, 'to_rgb', False)
                      or getattr(preprocessor, '_channel_conversion', False))
        return cls(mean, std, bgr=not to_rgb)


def _last(x):
    """The last element of a tuple/list output, or ``x`` itself."""
    return x[-1] if isinstance(x, (tuple, list)) else x


class EmbeddingNet(nn.Module):
    """``images -> embedding`` part of a facessl model.

    Args:
        backbone (nn.Module): the backbone (returns a tensor or a tuple
            whose last element is used, after the neck).
        neck (nn.Module, optional): neck applied to the backbone's output
            tuple, as ``ImageClassifier.extract_feat``. Defaults to None.
        pool (bool): globally average-pool a ``(N, C, H, W)`` output.
            Defaults to False.
        adapter (InputAdapter, optional): input mapping; None or an
            identity adapter is left out of the network. Defaults to None.
    """

    def __init__(self,
                 backbone: nn.Module,
                 neck: Optional[nn.Module] = None,
                 pool: bool = False,
                 adapter: Optional[InputAdapter] = None) -> None:
        super().__init__()
        self.adapter = None if adapter is None or adapter.is_identity \
            else adapter
        self.backbone = backbone
        self.neck = neck
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings of insightface-normalised RGB faces.

        Args:
            x (Tensor): ``(N, 3, 112, 112)``, ``(rgb - 127.5) / 127.5``.

        Returns:
            Tensor: ``(N, D)`` embeddings (not L2-normalised, as
            ``predict()``).
        """
        if self.adapter is not None:
            x = self.adapter(x)
        feats = self.backbone(x)
        if self.neck is not None:
            feats = self.neck(feats)
        emb = _last(feats)
        if self.pool:
            emb = emb.mean((-2, -1))
        return emb


def embedding_net(model: nn.Module,
                  part: Optional[str] = None) -> EmbeddingNet:
    """Cut the embedding network out of a facessl model.

    See the module docstring for what each model type gives. The returned
    network shares the model's modules (no copy) and is in eval mode.

    Args:
        model (nn.Module): a built facessl model.
        part (str, optional): ``'teacher'`` (default for teacher-student
            models) or ``'student'``; only teacher-student models accept
            ``'student'``.

    Returns:
        EmbeddingNet: the network.

    Raises:
        ValueError: an unknown ``part``, or ``'student'`` for a model
            without a teacher.
        TypeError: a model type with no known embedding.
    """
    from mmpretrain.models import ImageClassifier

    from facessl.models.algorithms import FRA, TeacherStudent
    if part is not None and part not in PARTS:
        raise ValueError(f'part must be one of {PARTS}, got {part!r}')
    name = type(model).__name__
    adapter = InputAdapter.from_preprocessor(
        getattr(model, 'data_preprocessor', None))
    if isinstance(model, TeacherStudent):
        backbone = model.backbone if part == 'student' else \
            model.teacher['backbone']
        net = EmbeddingNet(backbone, adapter=adapter)
    elif part == 'student':
        raise ValueError(f"{name} has no teacher, so part='student' does "
                         'not apply; leave part unset')
    elif isinstance(model, FRA):
        net = EmbeddingNet(model.backbone, pool=True, adapter=adapter)
    elif isinstance(model, ImageClassifier):
        neck = model.neck if model.with_neck else None
        net = EmbeddingNet(model.backbone, neck=neck, adapter=adapter)
    else:
        raise TypeError(
            f'{name} has no known face embedding; expected a '
            'FaceRecognizer/ImageClassifier, a teacher-student model '
            '(DINO, LAFS, ProS) or FRA')
    return net.eval()


def embedding_dim(net: nn.Module, img_size: int = 112) -> int:
    """Size ``D`` of the embedding (one forward of a zero image)."""
    param = next(net.parameters())
    with torch.no_grad():
        out = net(torch.zeros(1, 3, img_size, img_size, device=param.device))
    if out.dim() != 2:
        raise ValueError(f'{type(net).__name__}: expected a (N, D) '
                         f'embedding, got shape {tuple(out.shape)}')
    return int(out.shape[1])

