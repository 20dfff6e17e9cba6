"""A tiny 3D-BERL model and batch for fast tests (toy backbone at 112)."""
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from facessl.models.algorithms import BERL

NUM_CLASSES = 4


class ToyBackbone(nn.Module):
    """112 -> (8 x 14 x 14 map, 16-d embedding), with a BatchNorm."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 8, 8), nn.BatchNorm2d(8), nn.ReLU())
        self.fc = nn.Linear(8, 16)

    def forward(self, x):
        feat = self.stem(x)
        return feat, self.fc(feat.mean((2, 3)))


def make_model(stage=1, **kwargs):
    torch.manual_seed(0)
    model = BERL(
        backbone=ToyBackbone(),
        head=dict(type='CurricularFaceHead', num_classes=NUM_CLASSES,
                  in_channels=16),
        ira=dict(type='IRANet', in_channels=8, in_size=14, nf=8, zdim=16),
        iia=dict(type='IIANet', nf=8),
        renderer=dict(type='DepthMapRenderer', image_size=64),
        data_preprocessor=dict(
            type='ClsDataPreprocessor', num_classes=NUM_CLASSES,
            mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True),
        stage=stage,
        **kwargs)
    model.init_weights()
    return model


def make_wrappers(model, recon_lr=1e-3):
    return build_optim_wrapper(
        model,
        dict(constructor='ModuleGroupsOptimWrapperConstructor',
             fr=dict(modules=['backbone', 'head'],
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                                    weight_decay=5e-4)),
             recon=dict(modules=['ira', 'iia'],
                        optimizer=dict(type='Adam', lr=recon_lr))))


def make_batch(size=112, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    # smooth images (a face-like blob), so the reconstruction can fit them
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size),
                            torch.linspace(-1, 1, size), indexing='ij')
    inputs = []
    for i in range(n):
        c = torch.rand(3, 1, 1, generator=g)
        blob = torch.exp(-(xx**2 + yy**2) * (1 + i))
        inputs.append((255 * c * blob).to(torch.uint8))
    samples = [DataSample().set_gt_label(i % NUM_CLASSES) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)
