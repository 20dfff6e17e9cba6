"""Face-recognition protocols on synthetic held-out identities.

A config that trains on :class:`~facessl.datasets.SyntheticFaces` may name
evaluation sets as plain variables ``synthetic_<name>_dataloader`` and
``synthetic_<name>_evaluator`` (``configs/_base_/datasets/
synthetic_faces_eval.py``: an insightface verification ``.bin`` and an
IJB-C-style set). :func:`write_eval_sets` renders those sets once into a
folder, from identities that neither the training nor the kNN validation
set uses; :func:`face_protocols` scores a model on them with the same
dataset and metric classes as ``tools/test.py``.
"""
import copy
import os.path as osp
from typing import Dict, Sequence

from .evaluate import evaluate

#: The evaluation sets :func:`write_eval_sets` renders.
PROTOCOLS = ('verification', 'ijb')


def write_eval_sets(cfg, root: str) -> None:
    """Render the synthetic verification ``.bin`` and IJB set into ``root``.

    Identities start 1000 after the training ones (the IJB set 1000 later
    still), with the training set's ``generator_cfg``, so both keep the
    generator's pose, light, expression and background variation. Sets
    already present are kept.

    Args:
        cfg (Config): a config whose ``train_dataloader.dataset`` is a
            ``SyntheticFaces`` set.
        root (str): output folder.
    """
    from facessl.datasets.synthetic.export_bin import \
        write_synthetic_verification_bin
    from facessl.datasets.synthetic.export_ijb import write_synthetic_ijb
    data = cfg.train_dataloader.dataset
    held_out = data.get('identity_offset', 0) + data.num_identities + 1000
    gen = dict(data.get('generator_cfg') or {})
    if not osp.isfile(osp.join(root, 'verification.bin')):
        write_synthetic_verification_bin(
            osp.join(root, 'verification.bin'),
            num_pairs=600,
            identity_offset=held_out,
            generator_cfg=gen)
    if not osp.isdir(osp.join(root, 'ijb')):
        write_synthetic_ijb(
            osp.join(root, 'ijb'),
            num_identities=50,
            identity_offset=held_out + 1000,
            generator_cfg=gen)


def face_protocols(cfg,
                   model,
                   root: str,
                   names: Sequence[str] = PROTOCOLS) -> Dict[str, float]:
    """Metrics of ``model`` on the sets that :func:`write_eval_sets` wrote.

    Args:
        cfg (Config): config with ``synthetic_<name>_dataloader`` and
            ``synthetic_<name>_evaluator`` for every name.
        model (BaseModel): a model whose ``test_step`` returns ``feat``.
        root (str): the folder passed to :func:`write_eval_sets`.
        names (Sequence[str]): protocols to run. Defaults to
            :data:`PROTOCOLS`.

    Returns:
        dict: the metrics of all protocols.
    """
    results = {}
    for name in names:
        key = f'synthetic_{name}_dataloader'
        if name not in PROTOCOLS or key not in cfg:
            raise KeyError(f'protocol {name!r}: the config has no {key} '
                           f'(known protocols: {", ".join(PROTOCOLS)})')
        loader = copy.deepcopy(cfg[key])
        metric = copy.deepcopy(cfg[f'synthetic_{name}_evaluator'])
        sub = root if name == 'verification' else osp.join(root, 'ijb')
        loader['dataset']['data_root'] = sub
        if 'data_root' in metric:
            metric['data_root'] = sub
        results.update(evaluate(model, loader, metric, desc=name))
    return results
