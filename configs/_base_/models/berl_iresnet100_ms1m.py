# The 3D-BERL model of the MS1MV2 stage configs
# (configs/berl/berl-stage*_iresnet100_*_ms1m.py) as one dict, for configs
# that only evaluate a trained checkpoint: IResNet-100 with the stage-3 map
# and the embedding as outputs, the CurricularFace head through Partial FC
# (its checkpoints hold the whole 85,742 x 512 centres, so one process loads
# them), and the reconstruction networks.
_base_ = ['./berl_recon.py']

num_identities = 85742  # MS1MV2; 93431 for MS1MV3
model = dict(
    type='BERL',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_identities,
        mean=[127.5] * 3,
        std=[127.5] * 3,
        to_rgb=True),
    backbone=dict(type='IResNet', arch='r100', out_indices=(2, 4)),
    head=dict(
        type='PartialFCHead',
        num_classes=num_identities,
        in_channels=512,
        margin=dict(type='curricular', s=64., m=0.5, momentum=0.99),
        sample_rate=1.0),
    ira=_base_.berl_ira,
    iia=_base_.berl_iia,
    renderer=_base_.berl_renderer)
