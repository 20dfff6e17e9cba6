"""Run a model over a dataloader into an MMEngine evaluator (a test loop).

What ``Runner.test()`` does for its one test set, as a function: the demo
and scripts use it to score one model on several evaluation sets (a
verification ``.bin``, an IJB set, ...) with the same dataset and metric
classes as ``tools/test.py``.
"""
from typing import Dict, Union

import torch
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from tqdm import tqdm


@torch.no_grad()
def evaluate(model,
             dataloader: Union[dict, torch.utils.data.DataLoader],
             evaluator: Union[dict, list, Evaluator],
             progress: bool = False,
             desc: str = 'evaluate') -> Dict[str, float]:
    """Metrics of ``model`` on one evaluation set.

    Args:
        model (BaseModel): a model with ``test_step`` (facessl's SSL
            algorithms return their ``feat`` predictions).
        dataloader (dict | DataLoader): a dataloader or its config, as
            ``test_dataloader`` in a config.
        evaluator (dict | list | Evaluator): metric config(s), as
            ``test_evaluator`` in a config.
        progress (bool): show a tqdm bar. Defaults to False.
        desc (str): progress-bar label. Defaults to 'evaluate'.

    Returns:
        dict: the metrics, as ``Runner.test()`` returns them.
    """
    if isinstance(dataloader, dict):
        dataloader = Runner.build_dataloader(dataloader)
    if not isinstance(evaluator, Evaluator):
        evaluator = Evaluator(evaluator)  # metrics from the default scope
    evaluator.dataset_meta = getattr(dataloader.dataset, 'metainfo', None)
    was_training = model.training
    model.eval()
    try:
        for batch in tqdm(dataloader, desc=desc, disable=not progress):
            evaluator.process(model.test_step(batch), batch)
    finally:
        model.train(was_training)
    return evaluator.evaluate(len(dataloader.dataset))
