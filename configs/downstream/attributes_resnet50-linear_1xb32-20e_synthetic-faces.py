# Face attributes (CelebA protocol) on a pretrained ResNet-50 (e.g. FRA):
# the ViT attribute config with the backbone swapped for a ResNet-50,
# global average pooling and a multi-label linear layer, fine-tuned with
# BCE, AdamW lr 5e-4, weight decay 0.05 (no layer-wise lr decay: that is
# a ViT recipe), 1 warm-up epoch then cosine; mean accuracy over attributes.
#
#   CFG=configs/downstream/attributes_resnet50-linear_1xb32-20e_synthetic-faces.py
#   python tools/train.py $CFG --cfg-options \
#       model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_400.pth
#
# The checkpoint is loaded strictly (FineTuneClassifier) from prefix
# 'backbone.' (FRA's online backbone; 'target_net.module.backbone.' is its
# momentum backbone).
_base_ = ['./attributes_vit-t-p8-linear_1xb32-20e_synthetic-faces.py']

pretrained = ('work_dirs/fra_resnet50_8xb128-coslr-400e_vggface2/'
              'epoch_400.pth')
pretrained_prefix = 'backbone.'
feat_channels = 2048

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            prefix=pretrained_prefix)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(in_channels=feat_channels))
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(
        type='AdamW', lr=5e-4, weight_decay=0.05, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
