"""Part fViT: a Vision Transformer on patches sampled at facial landmarks.

Sun & Tzimiropoulos, "Part-based Face Recognition with Vision
Transformers", BMVC 2022 (https://arxiv.org/abs/2212.00057); the backbone
of LAFS (Sun et al., CVPR 2024, https://arxiv.org/abs/2403.08161).

One ``P x P`` patch is sampled bilinearly around each landmark (predicted
by a :class:`~facessl.models.backbones.LandmarkCNN` or given), flattened
and linearly projected; each token gets the position embedding of its
*landmark id*, so a shuffled or subset set of landmarks keeps its own
embeddings; a class token is prepended and mmpretrain's
``TransformerEncoderLayer`` blocks (SDPA attention) follow.
"""
from typing import Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from mmpretrain.models.utils import build_norm_layer

from facessl.registry import MODELS
from .fast_vit import _fast_path_ok, _layer_forward

ARCH_ZOO = {
    # DINO's / DeiT's ViT-Tiny width (the authors' DINO code's vit_tiny)
    'tiny': dict(embed_dims=192, num_layers=12, num_heads=3,
                 feedforward_channels=768),
    # DINO's ViT-S
    'small': dict(embed_dims=384, num_layers=12, num_heads=6,
                  feedforward_channels=1536),
    # fViT-B of the authors' code: width 768, 12 layers, MLP 2048; they use
    # 11 heads of 64 (attention width 704), mmpretrain needs heads | width
    'base': dict(embed_dims=768, num_layers=12, num_heads=12,
                 feedforward_channels=2048),
}


@MODELS.register_module()
class PartFViT(BaseModule):
    """Part fViT backbone (landmark patches + ViT), mmpretrain-style.

    Patch sampling (:meth:`sample_patches`): a landmark ``(x, y)`` is in
    pixels, pixel ``(i, j)`` (row, column) having its centre at ``x = j``,
    ``y = i`` (the convention of :class:`LandmarkCNN`, whose outputs span
    ``[0, H - 1]``). Patch pixel ``(a, b)`` is sampled at
    ``(x + b - (P - 1) / 2, y + a - (P - 1) / 2)``: the patch is centred on
    the landmark, so a landmark on a pixel centre with odd ``P`` copies the
    image block around it exactly. Sampling is ``F.grid_sample`` bilinear
    with ``align_corners=False`` and the grid built so that every sample
    point hits the pixel coordinates above exactly; ``padding_mode='zeros'``
    makes each of the four bilinear neighbours outside the image count as
    0 (a point half a pixel outside the border gets half the border pixel).
    A patch is flattened channel-major ``(C, P, P)``, like a conv patch
    embedding's weights. (The authors' code samples at
    ``x + b - P / 2 - 0.5`` in this convention, its grid mapping coordinate
    ``p`` to pixel ``p - 0.5``: one pixel up-left of centre, and with the
    patch transposed; learned landmarks and projection absorb both.)

    Complexity at 112 x 112, P = 8, 196 landmarks, counted by
    ``torch.utils.flop_counter`` with every token through every layer
    (1 MAC = 2 FLOPs; grid_sample, norms and activations not counted;
    mmengine's ``get_model_complexity_info`` gives 1.12 G MACs for Tiny):

    ======================  =========  ========  ======
    model                   params     GFLOPs    GMACs
    ======================  =========  ========  ======
    tiny + landmark CNN     8.29 M     2.22      1.11
    tiny, no landmark CNN   5.41 M     2.11      1.05
    landmark CNN alone      2.88 M     0.11      0.06
    small + landmark CNN    24.32 M    8.51      4.25
    base + landmark CNN     69.35 M    26.20     13.10
    paper, Part fViT-Tiny   15.28 M    2.48 (?)
    ======================  =========  ========  ======

    (With ``out_type='cls_token'`` the last layer only computes the class
    token's query, so Tiny actually runs 2.07 GFLOPs.) The paper does not
    give its Tiny's width and depth, and the authors' released code only
    builds fViT-B (width 768, 12 layers, 11 heads of 64, MLP 2048: 67.4 M
    parameters, 12.7 G by their ptflops count, which counts multiply-adds;
    our 'base' has 12 heads, hence 69.3 M, 13.1 GMACs). facessl's 'tiny' is
    DINO's/DeiT's ViT-Tiny (width 192, 12 layers, 3 heads, MLP 768). The
    paper's 15.28 M leaves ~12.4 M for its transformer, ~2.3x ours; if its
    2.48 G counts multiply-adds like the authors' tooling, its transformer
    costs ~2.4 GMACs, again ~2.3x ours. So the paper's Tiny is a wider or
    deeper transformer than ViT-Tiny (not ViT-S either: 24.3 M); pass an
    ``arch`` dict to reproduce another size.

    Args:
        arch (str | dict): 'tiny', 'small', 'base' (see ``ARCH_ZOO``) or a
            dict with ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels``. Defaults to 'tiny'.
        img_size (int | None): expected input height and width; inputs of
            another size raise an error (None accepts any). Defaults to 112.
        patch_size (int): side ``P`` of the patch around each landmark.
            Defaults to 8.
        num_landmarks (int): number of position embeddings (landmark ids).
            Defaults to 196.
        landmark_cnn (dict | nn.Module | None): config of the landmark
            network used when ``forward`` gets no landmarks. Defaults to
            ``dict(type='LandmarkCNN', num_landmarks=196)``.
        drop_path_rate (float): stochastic depth, linear over the layers.
            Defaults to 0.
        out_type (str): 'cls_token' -> ``(B, D)`` or 'raw' ->
            ``(B, 1 + N, D)``. Defaults to 'cls_token'.
        final_norm (bool): LayerNorm after the last layer. Defaults to True.
        init_cfg (dict, optional): MMEngine init config. Defaults to None.
        drop_rate (float): dropout after the position embedding and in the
            layers. Defaults to 0.
        pos_embed_mode (str): 'slot' adds embedding ``k`` to the ``k``-th
            token (the authors' release: a shuffle or a subset changes the
            embeddings the patches get), 'landmark' adds the embedding of
            each token's landmark id (order-invariant). Both use the same
            ``pos_embed`` of shape ``(1, num_landmarks, D)``, so checkpoints
            load in either mode; a view with ``N < num_landmarks`` tokens
            uses the first ``N`` rows in 'slot' mode. Defaults to 'slot'.
    """
    OUT_TYPES = ('cls_token', 'raw')
    POS_EMBED_MODES = ('slot', 'landmark')

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 img_size: Optional[int] = 112,
                 patch_size: int = 8,
                 num_landmarks: int = 196,
                 landmark_cnn: Optional[Union[dict, nn.Module]] = dict(
                     type='LandmarkCNN', num_landmarks=196),
                 drop_path_rate: float = 0.,
                 out_type: str = 'cls_token',
                 final_norm: bool = True,
                 init_cfg: Optional[dict] = None,
                 drop_rate: float = 0.,
                 pos_embed_mode: str = 'slot'):
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._arch(arch)
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'out_type must be one of {self.OUT_TYPES}, got '
                             f'{out_type!r}')
        if pos_embed_mode not in self.POS_EMBED_MODES:
            raise ValueError(f'PartFViT: pos_embed_mode must be one of '
                             f'{self.POS_EMBED_MODES}, got {pos_embed_mode!r}')
        self.pos_embed_mode = pos_embed_mode
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_landmarks = num_landmarks
        self.out_type = out_type
        self.final_norm = final_norm

        if isinstance(landmark_cnn, dict):
            landmark_cnn = MODELS.build(landmark_cnn)
        self.landmark_cnn = landmark_cnn

        D = self.embed_dims
        self.patch_embed = nn.Linear(3 * patch_size * patch_size, D)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.cls_pos_embed = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_landmarks, D))
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        dpr = np.linspace(0, drop_path_rate, self.num_layers)
        self.layers = ModuleList([
            TransformerEncoderLayer(
                embed_dims=D,
                num_heads=self.arch_settings['num_heads'],
                feedforward_channels=self.arch_settings[
                    'feedforward_channels'],
                drop_rate=drop_rate,
                drop_path_rate=float(dpr[i]),
                qkv_bias=True,
                norm_cfg=dict(type='LN', eps=1e-6))
            for i in range(self.num_layers)
        ])
        if final_norm:
            self.ln1 = build_norm_layer(dict(type='LN', eps=1e-6), D)
        # facessl's fused layer step (see fast_vit.py), same maths
        self._fast = [_fast_path_ok(layer) for layer in self.layers]

    @staticmethod
    def _arch(arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            if arch not in ARCH_ZOO:
                raise ValueError(f'PartFViT arch {arch!r} is not one of '
                                 f'{sorted(ARCH_ZOO)}')
            return dict(ARCH_ZOO[arch])
        keys = {'embed_dims', 'num_layers', 'num_heads',
                'feedforward_channels'}
        if not isinstance(arch, dict) or not keys <= set(arch):
            raise ValueError(f'a custom PartFViT arch needs a dict with keys '
                             f'{sorted(keys)}, got {arch!r}')
        return dict(arch)

    def init_weights(self) -> None:
        """Default init, then truncated-normal tokens and embeddings."""
        super().init_weights()
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            for param in (self.cls_token, self.cls_pos_embed, self.pos_embed):
                trunc_normal_(param, std=0.02)

    # ----------------------------------------------------------- inputs --
    def _check_images(self, x: torch.Tensor) -> None:
        size = self.img_size
        if (x.dim() != 4 or x.shape[1] != 3
                or (size is not None and tuple(x.shape[2:]) != (size, size))):
            side = 'H, W' if size is None else f'{size}, {size}'
            raise ValueError(f'PartFViT expects images (B, 3, {side}), got '
                             f'shape {tuple(x.shape)}')

    def _check_landmarks(self, x: torch.Tensor, landmarks: torch.Tensor,
                         landmark_ids: Optional[torch.Tensor]
                         ) -> torch.Tensor:
        """Validate landmarks and ids; return the position-embedding rows
        ``(B, N)``: the token slots 0..N-1 in 'slot' mode, the landmark ids
        (default 0..N-1) in 'landmark' mode."""
        B = x.shape[0]
        if (not torch.is_tensor(landmarks) or landmarks.dim() != 3
                or landmarks.shape[0] != B or landmarks.shape[2] != 2
                or landmarks.shape[1] < 1
                or not landmarks.is_floating_point()):
            got = tuple(landmarks.shape) if torch.is_tensor(landmarks) \
                else type(landmarks).__name__
            raise ValueError(f'landmarks must be a float tensor (B, N, 2) of '
                             f'pixel (x, y) with B = {B} images, got {got}')
        N = landmarks.shape[1]
        slots = torch.arange(N, device=x.device).expand(B, N)
        if landmark_ids is None or self.pos_embed_mode == 'slot':
            if N > self.num_landmarks:
                hint = ('pass landmark_ids (B, N) to say which embedding '
                        'each landmark uses' if self.pos_embed_mode ==
                        'landmark' else 'slot position embeddings: use at '
                        f'most {self.num_landmarks} tokens')
                raise ValueError(
                    f'{N} landmarks but only {self.num_landmarks} position '
                    f'embeddings: {hint}')
            if landmark_ids is None:
                return slots
        ids = landmark_ids
        if not torch.is_tensor(ids) or ids.is_floating_point() or \
                ids.is_complex() or ids.dtype == torch.bool:
            raise ValueError('landmark_ids must be an integer tensor (B, N), '
                             f'got {getattr(ids, "dtype", type(ids))}')
        if ids.dim() == 1:
            ids = ids.expand(B, -1)
        if tuple(ids.shape) != (B, N):
            raise ValueError(f'landmark_ids must be (B, N) = ({B}, {N}) like '
                             f'the landmarks, got {tuple(landmark_ids.shape)}')
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.num_landmarks):
            raise ValueError(
                f'landmark_ids must be in [0, {self.num_landmarks - 1}], got '
                f'values in [{int(ids.min())}, {int(ids.max())}]')
        return slots if self.pos_embed_mode == 'slot' else ids.long()

    # ------------------------------------------------------------ steps --
    def predict_landmarks(self, x: torch.Tensor) -> torch.Tensor:
        """Landmarks ``(B, R, 2)`` in pixels from the landmark CNN."""
        if self.landmark_cnn is None:
            raise ValueError('PartFViT has no landmark_cnn: pass landmarks '
                             '(B, N, 2) to forward')
        return self.landmark_cnn(x)

    def sample_patches(self, x: torch.Tensor,
                       landmarks: torch.Tensor) -> torch.Tensor:
        """Bilinear ``P x P`` patches centred on each landmark.

        Differentiable w.r.t. both ``x`` and ``landmarks``; see the class
        docstring for the pixel convention and the zero padding.

        Args:
            x (Tensor): images ``(B, C, H, W)``.
            landmarks (Tensor): ``(B, N, 2)`` pixel ``(x, y)``.

        Returns:
            Tensor: ``(B, N, C * P * P)``, each patch flattened ``(C, P, P)``.
        """
        B, C, H, W = x.shape
        N, P = landmarks.shape[1], self.patch_size
        offsets = torch.arange(P, device=x.device, dtype=landmarks.dtype)
        offsets = offsets - (P - 1) / 2
        px = landmarks[..., 0, None, None] + offsets.view(1, 1, 1, P)
        py = landmarks[..., 1, None, None] + offsets.view(1, 1, P, 1)
        # pixel u -> normalised (2u + 1) / size - 1 under align_corners=False
        grid = torch.stack(torch.broadcast_tensors(
            (2 * px + 1) / W - 1, (2 * py + 1) / H - 1), dim=-1)
        patches = F.grid_sample(
            x, grid.view(B, N * P, P, 2).to(x.dtype), mode='bilinear',
            padding_mode='zeros', align_corners=False)  # (B, C, N*P, P)
        patches = patches.view(B, C, N, P, P).permute(0, 2, 1, 3, 4)
        return patches.reshape(B, N, C * P * P)

    def embed(self, patches: torch.Tensor,
              pos_ids: torch.Tensor) -> torch.Tensor:
        """Tokens ``(B, 1 + N, D)``: class token, then projected patches,
        each plus position embedding ``pos_ids`` (its slot or its landmark
        id, see ``pos_embed_mode``)."""
        if self.pos_embed_mode == 'slot':
            # the release's pos_embedding[:, :n + 1]: one slice, no gather
            pos = self.pos_embed[:, :patches.shape[1]]
        else:
            pos = self.pos_embed[0][pos_ids]
        tokens = self.patch_embed(patches) + pos
        cls = (self.cls_token + self.cls_pos_embed).expand(
            tokens.shape[0], -1, -1)
        return self.drop_after_pos(torch.cat((cls, tokens), dim=1))

    def blocks(self, x: torch.Tensor) -> torch.Tensor:
        """Transformer layers and the final norm."""
        last = self.num_layers - 1
        for i, layer in enumerate(self.layers):
            if self._fast[i]:
                # with a cls-token output, the last layer only needs the
                # class token's query (keys/values still use every token)
                cls_only = i == last and self.out_type == 'cls_token'
                x = _layer_forward(layer, x, cls_only)
            else:
                x = layer(x)
        return self.ln1(x) if self.final_norm else x

    def forward(self,
                x: torch.Tensor,
                landmarks: Optional[torch.Tensor] = None,
                landmark_ids: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor]:
        """Sample patches at the landmarks and encode them.

        Args:
            x (Tensor): normalised images ``(B, 3, H, W)``.
            landmarks (Tensor, optional): ``(B, N, 2)`` pixel ``(x, y)``;
                None predicts ``R`` of them with ``self.landmark_cnn``.
            landmark_ids (Tensor, optional): ``(B, N)`` (or ``(N,)``)
                integer landmark ids of the tokens, checked in both modes
                and used to index the position embedding in 'landmark'
                mode; defaults to ``0 .. N - 1`` for every sample.

        Returns:
            tuple[Tensor]: ``(B, D)`` class token for 'cls_token', or
            ``(B, 1 + N, D)`` for 'raw'.
        """
        self._check_images(x)
        if landmarks is None:
            landmarks = self.predict_landmarks(x)
        ids = self._check_landmarks(x, landmarks, landmark_ids)
        x = self.blocks(self.embed(self.sample_patches(x, landmarks), ids))
        return (x[:, 0] if self.out_type == 'cls_token' else x, )

    def get_layer_depth(self, param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer depth for layer-wise lr decay (mmpretrain's convention).

        Embeddings, tokens and the landmark CNN are depth 0 (the authors'
        fine-tuning puts the landmark CNN there too), layer ``i`` is
        ``i + 1``, the final norm and anything outside ``prefix`` are last.
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name in ('cls_token', 'cls_pos_embed', 'pos_embed') or \
                name.startswith(('patch_embed', 'landmark_cnn')):
            return 0, num_layers
        if name.startswith('layers.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers
