# ProS CPU demo with a half-width ResNet-18 (mmpretrain ResNet, depth 18,
# stem and base width 32, 256 output channels) in place of the ViT-T/8:
# the rest of the recipe is pros_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py
# (views, prototypes, loss, AdamW schedule, teacher momentum). With no
# neck, the student and the teacher global-average-pool the last feature
# map of each view (TeacherStudent), and kNN / probes use the teacher's
# pooled map. See README.md (Learning curve) for why.
_base_ = ['./pros_vit-t-p8_1xb32-coslr-8e_synthetic-faces.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 2),
        norm_cfg=dict(type='BN')),
    head=dict(in_channels=256))
