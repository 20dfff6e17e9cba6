"""Write a synthetic face set as an insightface RecordIO pack.

``out_dir/<prefix>.rec`` and ``<prefix>.idx`` in insightface's layout
(record 0 header, image keys ``1..N`` grouped by identity, identity-range
records), readable by :class:`facessl.datasets.FaceRecordIO` and by
mxnet/insightface's ``MXFaceDataset``. Each image record's label is the
absolute identity id (``identity_offset + k``), so ``FaceRecordIO``'s
``classes`` are those ids as strings.
"""
import os.path as osp
from typing import Optional

from ..face_recordio import encode_image
from ..face_pack import FacePackWriter
from .export import render_faces


def write_synthetic_recordio(out_dir: str,
                             num_identities: int,
                             images_per_identity: int,
                             img_size: int = 112,
                             seed: int = 0,
                             identity_offset: int = 0,
                             encoding: str = '.jpg',
                             quality: int = 95,
                             channel_order: str = 'rgb',
                             prefix: str = 'train',
                             progress: bool = False,
                             generator_cfg: Optional[dict] = None) -> dict:
    """Render N x M synthetic faces into a RecordIO pack.

    Args:
        out_dir (str): output folder (created if needed).
        num_identities (int): identities N.
        images_per_identity (int): images per identity M.
        img_size (int): image size. Defaults to 112.
        seed (int): data-set seed. Defaults to 0.
        identity_offset (int): first absolute identity id. Defaults to 0.
        encoding (str): ``'.jpg'`` (as insightface packs) or ``'.png'``
            (lossless: pixels round-trip exactly). Defaults to '.jpg'.
        quality (int): JPEG quality. Defaults to 95.
        channel_order (str): ``'rgb'`` true colours (insightface packs) or
            ``'bgr'`` R/B planes swapped. Defaults to 'rgb'.
        prefix (str): file name stem. Defaults to 'train'.
        progress (bool): show a tqdm progress bar. Defaults to False.
        generator_cfg (dict, optional): more
            :class:`SyntheticFaceGenerator` arguments.

    Returns:
        dict: ``rec``/``idx`` paths, ``num_images``, ``num_identities``.
    """
    faces = render_faces(num_identities, images_per_identity, img_size,
                         seed, identity_offset, progress, generator_cfg,
                         'synthetic recordio')
    rec = osp.join(out_dir, f'{prefix}.rec')
    with FacePackWriter(rec) as writer:
        for _, identity, _, out in faces:
            writer.add(
                identity,
                encode_image(out['img'], encoding, quality, channel_order))
    return dict(
        rec=rec,
        idx=writer.idx_path,
        num_images=num_identities * images_per_identity,
        num_identities=num_identities)
