"""Read the scalars MMEngine's ``LocalVisBackend`` logged for a run."""
import glob
import json
import os.path as osp
from typing import List


def scalar_records(work_dir: str) -> List[dict]:
    """Every logged record of the newest run in ``work_dir``.

    ``LocalVisBackend`` writes one JSON line per logging step (training
    and validation) into ``<work_dir>/<timestamp>/vis_data/scalars.json``;
    the newest timestamp is read.

    Args:
        work_dir (str): the run's work dir.

    Returns:
        list[dict]: the records in logging order.

    Raises:
        FileNotFoundError: no ``scalars.json`` in ``work_dir``.
    """
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{work_dir}: no <timestamp>/vis_data/scalars.json (was it '
            'trained there, with LocalVisBackend?)')
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]
