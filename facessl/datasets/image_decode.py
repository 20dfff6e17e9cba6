"""Decoding of encoded image bytes, with errors that say where they were.

OpenCV answers empty bytes with ``cv2.error: (-215:Assertion failed)
!buf.empty()`` and undecodable bytes with ``None``; neither names the file
or the record. Every facessl dataset that decodes bytes (image folders and
lists, verification ``.bin`` files, RecordIO packs) goes through
:func:`decode_bgr`.
"""
from typing import Union

import cv2
import numpy as np

#: What the datasets accept, quoted in errors.
EXPECTED_IMAGE = 'expected JPEG/PNG (or other OpenCV-readable) image bytes'


def decode_bgr(data: Union[bytes, np.ndarray], where: str) -> np.ndarray:
    """Decode encoded image bytes to (H, W, 3) uint8 BGR.

    Args:
        data (bytes | np.ndarray): the encoded image (a uint8 array is
            read as its bytes).
        where (str): the file and record, e.g. ``'lfw.bin: image 7'``,
            used in errors.

    Returns:
        np.ndarray: the decoded image.

    Raises:
        ValueError: ``data`` is empty or not an image OpenCV can decode;
            the message starts with ``where``.
    """
    buf = np.frombuffer(data, np.uint8) if isinstance(
        data, (bytes, bytearray, memoryview)) else np.asarray(data, np.uint8)
    if buf.size == 0:
        raise ValueError(f'{where}: cannot decode an empty image (0 bytes); '
                         f'{EXPECTED_IMAGE}')
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'{where}: cannot decode the image ({buf.size} '
                         f'bytes); {EXPECTED_IMAGE}')
    return img
