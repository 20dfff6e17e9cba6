"""Real 112 x 112 face crops to check an exported model on (no download).

scikit-image ships a few real face photographs: the astronaut portrait
and the 25 x 25 grey LFW subset. Upsampled to 112 x 112 they are real
faces, roughly centred as aligned crops, enough to compare two runtimes
on the same inputs.
"""
from typing import List

import cv2
import numpy as np
import torch

from .embedding import INSIGHTFACE_MEAN, INSIGHTFACE_STD


def reference_faces(num: int = 4, size: int = 112) -> List[np.ndarray]:
    """``num`` real face crops as BGR uint8 ``(size, size, 3)`` arrays.

    The first is the astronaut's face (colour); the others are LFW faces
    from ``skimage.data.lfw_subset()`` (grey, bicubic-upsampled).

    Args:
        num (int): number of crops, 1 to 101. Defaults to 4.
        size (int): crop side. Defaults to 112.

    Returns:
        list[np.ndarray]: the crops.
    """
    from skimage import data

    from facessl.datasets.real_faces import (ASTRONAUT_FACE_BOX,
                                             real_face_images)
    if not 1 <= num <= 101:
        raise ValueError(f'num must be in [1, 101], got {num}')
    x0, y0, x1, y1 = ASTRONAUT_FACE_BOX
    astronaut = real_face_images()['astronaut'][y0:y1, x0:x1]
    faces = [cv2.resize(astronaut, (size, size),
                        interpolation=cv2.INTER_AREA)]
    lfw = data.lfw_subset()[:num - 1]  # the first 100 are faces, [0, 1]
    for grey in lfw:
        img = np.clip(grey * 255, 0, 255).astype(np.uint8)
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC)
        faces.append(np.repeat(img[..., None], 3, axis=2))
    return faces


def faces_to_input(faces: List[np.ndarray]) -> torch.Tensor:
    """BGR uint8 crops -> ``(N, 3, H, W)`` RGB ``(x - 127.5) / 127.5``.

    The same blob ``ArcFaceONNX.get_feat`` builds with
    ``cv2.dnn.blobFromImages(..., swapRB=True)``.
    """
    batch = np.stack([f[..., ::-1] for f in faces]).astype(np.float32)
    batch = (batch - INSIGHTFACE_MEAN) / INSIGHTFACE_STD
    return torch.from_numpy(np.ascontiguousarray(
        batch.transpose(0, 3, 1, 2)))
