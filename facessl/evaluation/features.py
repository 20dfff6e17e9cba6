"""Feature extraction and a linear probe on frozen features."""
from typing import Tuple

import torch
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm


@torch.no_grad()
def extract_features(model,
                     dataset: Dataset,
                     batch_size: int = 64,
                     progress: bool = False,
                     collate_fn=default_collate) -> Tuple[torch.Tensor,
                                                         torch.Tensor]:
    """Run ``model.val_step`` over ``dataset``; return (features, labels).

    The model's predictions must carry ``feat`` (a 1-D feature), as
    facessl's algorithms return them; the label of a sample without
    ``gt_label`` (verification pairs, IJB images) is -1. Batches are
    stacked (``default_collate``), as the SSL data preprocessors expect.
    For L2-normalised, flip-pooled face embeddings of any input use
    :class:`facessl.apis.FaceEmbedder`.
    """
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate_fn)
    model.eval()
    feats, labels = [], []
    for batch in tqdm(loader, disable=not progress, desc='features'):
        for sample in model.val_step(batch):
            feats.append(sample.feat.detach().float().cpu().flatten())
            label = sample.get('gt_label')
            labels.append(-1 if label is None else int(label))
    return torch.stack(feats), torch.tensor(labels)


def linear_probe(train_x: torch.Tensor,
                 train_y: torch.Tensor,
                 test_x: torch.Tensor,
                 test_y: torch.Tensor,
                 weight_decay: float = 1e-3,
                 steps: int = 200) -> float:
    """Test accuracy of an L2-regularised softmax classifier.

    Features are standardised with the training statistics; the classifier
    is fitted full-batch with L-BFGS (a convex problem, so the result does
    not depend on a learning-rate schedule).
    """
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    pred = linear_probe_predict(train_x, train_y, test_x, num_classes,
                                weight_decay, steps)
    return (pred == test_y).float().mean().item()


def linear_probe_predict(train_x: torch.Tensor,
                         train_y: torch.Tensor,
                         test_x: torch.Tensor,
                         num_classes: int,
                         weight_decay: float = 1e-3,
                         steps: int = 200) -> torch.Tensor:
    """Test predictions of the classifier of :func:`linear_probe`.

    Args:
        train_x (Tensor): (N, D) features to fit on.
        train_y (Tensor): (N,) labels in ``[0, num_classes)``.
        test_x (Tensor): (M, D) features to classify.
        num_classes (int): number of classes.
        weight_decay (float): L2 penalty on the weights. Defaults to 1e-3.
        steps (int): L-BFGS iterations. Defaults to 200.

    Returns:
        Tensor: (M,) predicted labels.
    """
    mean, std = train_x.mean(0), train_x.std(0).clamp_min(1e-6)
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    linear = torch.nn.Linear(train_x.shape[1], num_classes)
    opt = torch.optim.LBFGS(
        linear.parameters(), max_iter=steps, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(train_x), train_y)
        loss = loss + weight_decay * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return linear(test_x).argmax(1)
