"""LAFS landmark augmentations: perturb, shuffle and subset landmark tokens.

LAFS (Sun et al., CVPR 2024, https://arxiv.org/abs/2403.08161) augments
the landmarks that the frozen landmark CNN predicts for each view before
the Part fViT samples patches at them. These run on the model side, on a
batch of landmarks ``(B, N, 2)`` pixel (x, y), after the CNN.

Every augmentation takes ``(landmarks, ids)`` and returns ``(landmarks,
ids)``: ``ids`` (B, N) int64 is the landmark id of each token (its row in
the CNN's output, 0..R-1). A Part fViT in its default ``pos_embed_mode=
'slot'`` (the authors' release) embeds tokens by their place in the
sequence, so a shuffle or a subset changes the embedding each patch gets;
in ``'landmark'`` mode it indexes the embedding by these ids and a token
keeps its own embedding wherever it goes. ``ids=None`` means
``arange(N)`` for every sample. They compose in any order, e.g. perturb,
then shuffle, then subset. LAFS applies them to the teacher's and the
student's landmarks (Eq. 4).

Randomness comes from torch's global generator, or from ``generator``.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

from facessl.registry import MODELS

LandmarksAndIds = Tuple[torch.Tensor, torch.Tensor]


def check_landmarks(landmarks: torch.Tensor,
                    ids: Optional[torch.Tensor] = None,
                    where: str = 'landmarks') -> LandmarksAndIds:
    """Validate a (B, N, 2) landmark batch and its (B, N) ids.

    Args:
        landmarks (torch.Tensor): (B, N, 2) pixel (x, y).
        ids (torch.Tensor, optional): (B, N) landmark ids; None gives
            ``arange(N)`` for every sample.
        where (str): caller, for errors.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: the landmarks and int64 ids.
    """
    if not isinstance(landmarks, torch.Tensor) or landmarks.ndim != 3 or (
            landmarks.shape[-1] != 2):
        shape = tuple(getattr(landmarks, 'shape', ()))
        raise ValueError(f'{where}: expected a (B, N, 2) tensor of pixel '
                         f'(x, y) landmarks, got {type(landmarks).__name__} '
                         f'of shape {shape}')
    b, n = landmarks.shape[:2]
    if ids is None:
        ids = torch.arange(n, device=landmarks.device).repeat(b, 1)
    elif tuple(ids.shape) != (b, n):
        raise ValueError(f'{where}: ids must be (B, N) = {(b, n)} like the '
                         f'landmarks, got {tuple(ids.shape)}')
    return landmarks, ids.long()


def perturb_landmarks(landmarks: torch.Tensor,
                      alpha: float,
                      generator: Optional[torch.Generator] = None
                      ) -> torch.Tensor:
    """``r + alpha * N(0, 1)``: independent Gaussian noise per coordinate.

    Args:
        landmarks (torch.Tensor): (B, N, 2) pixel (x, y).
        alpha (float): noise standard deviation in pixels.
        generator (torch.Generator, optional): random source.

    Returns:
        torch.Tensor: perturbed landmarks (not clipped to the image).
    """
    device = landmarks.device if generator is None else generator.device
    noise = torch.randn(
        landmarks.shape,
        generator=generator,
        dtype=landmarks.dtype,
        device=device)
    return landmarks + alpha * noise.to(landmarks.device)


def _gather(landmarks: torch.Tensor, ids: torch.Tensor,
            index: torch.Tensor) -> LandmarksAndIds:
    """Tokens ``index`` (B, M) of every sample, landmarks and ids alike."""
    picked = torch.gather(landmarks, 1, index[..., None].expand(-1, -1, 2))
    return picked, torch.gather(ids, 1, index)


def shuffle_landmarks(landmarks: torch.Tensor,
                      ids: torch.Tensor,
                      generator: Optional[torch.Generator] = None
                      ) -> LandmarksAndIds:
    """Random permutation of the tokens, a different one per sample.

    Args:
        landmarks (torch.Tensor): (B, N, 2).
        ids (torch.Tensor): (B, N) landmark ids.
        generator (torch.Generator, optional): random source.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: permuted landmarks and ids;
        token ``j`` keeps its (landmark, id) pair.
    """
    b, n = ids.shape
    order = torch.rand(b, n, generator=generator).argsort(dim=1)
    return _gather(landmarks, ids, order.to(ids.device))


def subset_landmarks(landmarks: torch.Tensor,
                     ids: torch.Tensor,
                     num: int,
                     replace: bool = True,
                     generator: Optional[torch.Generator] = None,
                     keep_order: bool = False) -> LandmarksAndIds:
    """``num`` random tokens per sample, with or without replacement.

    Args:
        landmarks (torch.Tensor): (B, N, 2).
        ids (torch.Tensor): (B, N) landmark ids.
        num (int): tokens to keep.
        replace (bool): draw with replacement (a token may repeat; the
            authors' release) or ``num`` distinct tokens in random order.
            Defaults to True.
        generator (torch.Generator, optional): random source.
        keep_order (bool): put the drawn tokens back in their input order
            (no shuffle through the subset). Defaults to False.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: (B, num, 2) landmarks and
        (B, num) ids.
    """
    b, n = ids.shape
    if num < 1:
        raise ValueError(f'landmark subset: num must be >= 1, got {num}')
    if not replace and num > n:
        raise ValueError(f'landmark subset: cannot draw {num} distinct '
                         f'landmarks out of {n} without replacement; use '
                         f'num <= {n} or replace=True')
    if replace:
        index = torch.randint(0, n, (b, num), generator=generator)
    else:
        index = torch.rand(b, n, generator=generator).argsort(dim=1)[:, :num]
    if keep_order:
        index = index.sort(dim=1).values
    return _gather(landmarks, ids, index.to(ids.device))


@MODELS.register_module()
class LandmarkPerturb(nn.Module):
    """Gaussian landmark perturbation ``r + alpha * N(0, 1)`` (pixels).

    The default ``alpha=2`` is the best value of the paper's ablation; the
    authors' released pretraining code (``face_landmark_4simmin_glo_loc``)
    uses 5 -- set ``alpha=5`` to follow the release. Ids are unchanged.

    Args:
        alpha (float): noise standard deviation in pixels of the view.
            Defaults to 2.
    """

    def __init__(self, alpha: float = 2.) -> None:
        super().__init__()
        if alpha < 0:
            raise ValueError(f'LandmarkPerturb: alpha must be >= 0 pixels, '
                             f'got {alpha}')
        self.alpha = float(alpha)

    def forward(self,
                landmarks: torch.Tensor,
                ids: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None
                ) -> LandmarksAndIds:
        """Perturb (B, N, 2) landmarks; return them with their ids."""
        landmarks, ids = check_landmarks(landmarks, ids, 'LandmarkPerturb')
        return perturb_landmarks(landmarks, self.alpha, generator), ids

    def extra_repr(self) -> str:
        return f'alpha={self.alpha}'


@MODELS.register_module()
class LandmarkShuffle(nn.Module):
    """Random order of the landmark tokens, each keeping its id.

    With a Part fViT in ``pos_embed_mode='slot'`` (the default, as the
    authors' release) the new order decides which position embedding each
    patch gets: the regulariser whose effect the paper's Table 2 measures.
    With ``'landmark'`` embeddings the order carries no information and the
    shuffle has no effect. (The release draws the order with
    ``torch.randint``, i.e. with repeats; this is a true permutation, as
    the paper describes.)
    """

    def forward(self,
                landmarks: torch.Tensor,
                ids: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None
                ) -> LandmarksAndIds:
        """Permute (B, N, 2) landmarks and their ids per sample."""
        landmarks, ids = check_landmarks(landmarks, ids, 'LandmarkShuffle')
        return shuffle_landmarks(landmarks, ids, generator)


@MODELS.register_module()
class LandmarkSubset(nn.Module):
    """Keep ``num`` random landmark tokens (LAFS local views: 36 of 196).

    Args:
        num (int): tokens to keep. Defaults to 36.
        replace (bool): draw with replacement, as the authors' release
            does (``torch.randint``; a landmark may appear twice), or
            ``num`` distinct landmarks. Defaults to True.
        keep_order (bool): keep the drawn tokens in their input order
            (landmark order when no shuffle ran before), for runs without
            the shuffle; by default they come in the random draw order.
            Defaults to False.
    """

    def __init__(self, num: int = 36, replace: bool = True,
                 keep_order: bool = False) -> None:
        super().__init__()
        if int(num) != num or num < 1:
            raise ValueError(f'LandmarkSubset: num must be an integer >= 1, '
                             f'got {num!r}')
        self.num = int(num)
        self.replace = bool(replace)
        self.keep_order = bool(keep_order)

    def forward(self,
                landmarks: torch.Tensor,
                ids: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None
                ) -> LandmarksAndIds:
        """(B, num, 2) landmarks and (B, num) ids drawn per sample."""
        landmarks, ids = check_landmarks(landmarks, ids, 'LandmarkSubset')
        return subset_landmarks(landmarks, ids, self.num, self.replace,
                                generator, self.keep_order)

    def extra_repr(self) -> str:
        return (f'num={self.num}, replace={self.replace}, '
                f'keep_order={self.keep_order}')


def build_landmark_augs(cfgs: Optional[Sequence[dict]]) -> nn.ModuleList:
    """Build a chain of landmark augmentations from config dicts.

    Args:
        cfgs (Sequence[dict], optional): e.g. ``[dict(type='LandmarkPerturb',
            alpha=2), dict(type='LandmarkSubset', num=36)]``.

    Returns:
        nn.ModuleList: the built modules (empty for None).
    """
    return nn.ModuleList([MODELS.build(c) for c in cfgs or ()])


def apply_landmark_augs(augs: Sequence[nn.Module],
                        landmarks: torch.Tensor,
                        ids: Optional[torch.Tensor] = None
                        ) -> LandmarksAndIds:
    """Run augmentations in order on (B, N, 2) landmarks.

    Args:
        augs (Sequence[nn.Module]): landmark augmentations.
        landmarks (torch.Tensor): (B, N, 2) pixel (x, y).
        ids (torch.Tensor, optional): (B, N) ids; None is ``arange(N)``.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: the augmented landmarks and ids.
    """
    landmarks, ids = check_landmarks(landmarks, ids)
    for aug in augs:
        landmarks, ids = aug(landmarks, ids)
    return landmarks, ids


def stack_view_landmarks(data_samples: List,
                         key: str = 'landmarks') -> torch.Tensor:
    """Per-view ground-truth landmarks of a batch as one tensor.

    Args:
        data_samples (list[DataSample]): packed samples whose ``key`` is
            (V, K, 2) (``LAFSMultiView`` + ``PackInputs(algorithm_keys=
            ('landmarks', ))``).
        key (str): field name. Defaults to 'landmarks'.

    Returns:
        torch.Tensor: (B, V, K, 2) float32.
    """
    missing = [i for i, s in enumerate(data_samples) if key not in s]
    if missing:
        raise KeyError(f'data samples {missing} have no "{key}"; pack it '
                       f"with PackInputs(algorithm_keys=('{key}', ))")
    return torch.stack([
        torch.as_tensor(s.get(key), dtype=torch.float32)
        for s in data_samples
    ])
