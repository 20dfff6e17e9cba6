# Test a checkpoint trained with
#   configs/berl/berl-stage3_iresnet50_curricularface-recon_4xb50-sgd-
#   adam-16e_ms1m.py
# on IJB-C 1:1 (TAR@FAR 1e-6 .. 1e-1, insightface template pooling).
# Embedding: the IResNet-50 embedding (the stage-3 model; its
# reconstruction networks are loaded but not used).
#
#   CFG=configs/berl/eval/berl_iresnet50_ijbc.py
#   python tools/test.py $CFG CHECKPOINT --cfg-options \
#       test_dataloader.dataset.data_root=data/IJB_release/IJBC \
#       test_evaluator.data_root=data/IJB_release/IJBC
_base_ = [
    '../../_base_/models/berl_recon.py',
    '../../_base_/datasets/eval_ijbc.py',
    '../../_base_/default_runtime.py',
]

num_identities = 85742  # MS1MV2; 93431 for MS1MV3
# The 3D-BERL model of the stage configs (stage 1 needs no earlier
# checkpoint; every stage has the same modules and weights).
model = dict(
    type='BERL',
    stage=1,
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_identities,
        mean=[127.5] * 3,
        std=[127.5] * 3,
        to_rgb=True),
    backbone=dict(type='IResNet', arch='r50', out_indices=(2, 4)),
    head=dict(
        type='CurricularFaceHead',
        num_classes=num_identities,
        in_channels=512,
        s=64.,
        m=0.5,
        momentum=0.99),
    ira=_base_.berl_ira,
    iia=_base_.berl_iia,
    renderer=_base_.berl_renderer)
