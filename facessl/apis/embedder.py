"""Face embeddings from images with a trained facessl model.

The insightface recipe (``recognition/arcface_torch/eval/
verification.py``): the embedding of a face is
``normalise(f(x) + f(flip(x)))``, the model's features of the aligned
112 x 112 crop and of its horizontal mirror summed *before* L2
normalisation (``flip=False``: ``normalise(f(x))``). ``f`` is the model's
own ``predict`` feature after the data preprocessor of its config
(normalisation and BGR -> RGB): the teacher backbone for the
teacher-student methods (DINO, LAFS, ProS), the backbone (Part fViT with
its frozen landmark CNN predicting the landmarks, IResNet, ...) for
recognisers, the pooled ResNet feature for FRA.

Crops: an image with five landmarks is aligned onto the 112 x 112
ArcFace template (:class:`~facessl.datasets.transforms.AlignFace`).
Without landmarks, an image of 112 x 112 (or already of the model's
input size) is taken as an aligned crop; any other size is resized to
112 x 112, with one warning per call. The 112 crop is then resized to the
model's input size if that differs (e.g. a ViT trained on 64 px faces).
"""
import csv
import io
import os
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from torch import nn
from tqdm import tqdm

from facessl.datasets.transforms.alignment import AlignFace
from facessl.utils.fileio import atomic_write

from .face_inputs import CROP_SIZE, INDEX_KEYS, FaceInput, collect_inputs
from .model import default_device, get_model


def model_input_size(model: nn.Module) -> Tuple[int, int]:
    """(H, W) the backbone expects: its ``img_size``, else 112 x 112."""
    size = getattr(getattr(model, 'backbone', None), 'img_size', None)
    if size is None:
        return (CROP_SIZE, CROP_SIZE)
    if isinstance(size, int):
        return (size, size)
    return (int(size[0]), int(size[1]))


def _check_image(img, source: str) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or \
            img.ndim != 3 or img.shape[2] != 3:
        got = (f'{img.dtype} array of shape {img.shape}' if isinstance(
            img, np.ndarray) else type(img).__name__)
        raise ValueError(f'{source}: expected an (H, W, 3) uint8 BGR image, '
                         f'got a {got}')
    return img


class FaceEmbedder:
    """L2-normalised face embeddings of a trained model (module doc).

    Example::

        embedder = FaceEmbedder(CONFIG, pretrained='epoch_8.pth')
        emb = embedder(['a.jpg', 'b.jpg'])      # (2, D) unit rows
        similarity = emb[0] @ emb[1]

    Args:
        model (nn.Module | str | Config): a built model, or a config
            (name of :func:`~facessl.apis.list_models`, path, Config)
            built with :func:`~facessl.apis.get_model`.
        pretrained (str, optional): local checkpoint for a config (see
            :func:`~facessl.apis.get_model`). Defaults to None.
        device (str, optional): defaults to CUDA when available, else CPU.
        batch_size (int): images per forward pass. Defaults to 64.
        flip (bool): add the mirrored image's feature before normalising.
            Defaults to True.
        input_size (int | tuple, optional): model input (H, W); defaults
            to the backbone's ``img_size``, else 112.
        progress (bool): show a tqdm progress bar. Defaults to True.
    """

    def __init__(self,
                 model: Union[nn.Module, str, Config],
                 pretrained: Optional[str] = None,
                 device: Optional[Union[str, torch.device]] = None,
                 batch_size: int = 64,
                 flip: bool = True,
                 input_size: Optional[Union[int, Sequence[int]]] = None,
                 progress: bool = True) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if isinstance(model, nn.Module):
            if pretrained is not None:
                raise ValueError('pretrained is for a config; load weights '
                                 'into a built model yourself')
            self.model = model.to(default_device(device)).eval()
        else:
            self.model = get_model(model, pretrained, device)
        if input_size is None:
            input_size = model_input_size(self.model)
        elif isinstance(input_size, int):
            input_size = (input_size, input_size)
        self.input_size = tuple(int(s) for s in input_size)
        self.batch_size = int(batch_size)
        self.flip = bool(flip)
        self.progress = bool(progress)
        self._align = AlignFace(CROP_SIZE)

    def crop(self, img: np.ndarray, landmarks: Optional[np.ndarray],
             source: str) -> Tuple[np.ndarray, bool]:
        """The model-size crop of one image and whether it was resized
        without landmarks."""
        img = _check_image(img, source)
        resized = False
        if landmarks is not None:
            points = np.asarray(landmarks, np.float64)
            if points.shape != (5, 2):
                raise ValueError(f'{source}: expected (5, 2) landmarks, '
                                 f'got shape {points.shape}')
            img = self._align(dict(img=img, landmarks5=points))['img']
        elif img.shape[:2] not in ((CROP_SIZE, CROP_SIZE), self.input_size):
            img = cv2.resize(img, (CROP_SIZE, CROP_SIZE),
                             interpolation=cv2.INTER_LINEAR)
            resized = True
        if img.shape[:2] != self.input_size:
            img = cv2.resize(img, self.input_size[::-1],
                             interpolation=cv2.INTER_LINEAR)
        return img, resized

    @torch.no_grad()
    def features(self, batch: torch.Tensor) -> torch.Tensor:
        """Raw (B, D) model features of a (B, 3, H, W) uint8 BGR batch."""
        samples = self.model.test_step(dict(inputs=batch, data_samples=None))
        return torch.stack([s.feat.flatten() for s in samples]).float()

    def embed(self, inputs, landmarks: Optional[Sequence] = None
              ) -> Tuple[np.ndarray, List[FaceInput]]:
        """Embeddings and what each row is.

        Args:
            inputs: image paths, a folder, arrays, a data set ...
                (:mod:`facessl.apis.face_inputs`).
            landmarks (Sequence, optional): a (5, 2) array (x, y) or None
                per image path/array; images with landmarks are aligned.

        Returns:
            tuple: (N, D) float32 unit rows and the N
            :class:`~facessl.apis.face_inputs.FaceInput` (``source``,
            ``label``, ``extra``) in the same order.
        """
        faces = collect_inputs(inputs, landmarks)
        if not faces:
            raise ValueError('no images to embed')
        chunks, num_resized = [], 0
        starts = range(0, len(faces), self.batch_size)
        for start in tqdm(starts, disable=not self.progress, desc='embed',
                          unit='batch'):
            crops = []
            for face in faces[start:start + self.batch_size]:
                crop, resized = self.crop(*face.load(), face.source)
                crops.append(crop)
                num_resized += resized
            batch = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2)
            feats = self.features(batch)
            if self.flip:
                feats = feats + self.features(batch.flip(-1))
            chunks.append(nn.functional.normalize(feats, dim=1).cpu())
        if num_resized:
            warnings.warn(
                f'{num_resized} of {len(faces)} images were not '
                f'{CROP_SIZE}x{CROP_SIZE} aligned crops and came without '
                'five landmarks: they were resized, not aligned, which '
                'lowers recognition accuracy. Pass landmarks= to align '
                'them.')
        return torch.cat(chunks).numpy().astype(np.float32), faces

    def __call__(self, inputs, landmarks: Optional[Sequence] = None
                 ) -> np.ndarray:
        """(N, D) float32 L2-normalised embeddings of ``inputs``."""
        return self.embed(inputs, landmarks)[0]


def extract_embeddings(model: Union[nn.Module, str, Config],
                       inputs,
                       landmarks: Optional[Sequence] = None,
                       pretrained: Optional[str] = None,
                       **kwargs) -> np.ndarray:
    """Functional :class:`FaceEmbedder`: ``FaceEmbedder(model, pretrained,
    **kwargs)(inputs, landmarks)``.

    Returns:
        np.ndarray: (N, D) float32 L2-normalised embeddings.
    """
    return FaceEmbedder(model, pretrained, **kwargs)(inputs, landmarks)


def write_embeddings(out_dir: str, embeddings: np.ndarray,
                     faces: Sequence[FaceInput]) -> Tuple[str, str]:
    """Write ``features.npy`` and ``index.csv`` into ``out_dir``.

    ``features.npy`` is the (N, D) float32 array; ``index.csv`` has one
    line per row: ``row``, ``source`` (image path, ``<file>#<record>``
    for RecordIO, ``<set>.bin#<image>`` for verification pairs),
    ``label`` (empty when unknown) and, when the data set has them,
    ``set_name``, ``pair_index``, ``issame``, ``template_id``,
    ``media_id``. Both files are written atomically.

    Returns:
        tuple: the two paths.
    """
    if len(embeddings) != len(faces):
        raise ValueError(f'{len(embeddings)} embeddings for {len(faces)} '
                         'faces')
    os.makedirs(out_dir, exist_ok=True)
    extra = [k for k in INDEX_KEYS if any(k in f.extra for f in faces)]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator='\n')
    writer.writerow(['row', 'source', 'label'] + extra)
    for row, face in enumerate(faces):
        writer.writerow([row, face.source,
                         '' if face.label is None else face.label] +
                        [face.extra.get(k, '') for k in extra])
    buf = io.BytesIO()
    np.save(buf, np.asarray(embeddings, np.float32))
    paths = osp.join(out_dir, 'features.npy'), osp.join(out_dir, 'index.csv')
    atomic_write(buf.getvalue(), paths[0])
    atomic_write(text.getvalue(), paths[1])
    return paths
