# Face alignment (68 landmarks) on a pretrained ResNet-50 (e.g. FRA): the
# ViT alignment config with the backbone swapped for a ResNet-50 whose 4
# stages (strides 4, 8, 16, 32) are UperNet's pyramid as they are
# (UperNetLandmarkHead with 4 in_channels), fine-tuned with AdamW lr 5e-4,
# weight decay 0.05 (no layer-wise lr decay: that is a ViT recipe); NME
# (inter-ocular) on held-out synthetic identities.
#
#   CFG=configs/downstream/alignment_resnet50-upernet_1xb32-20e_synthetic-faces.py
#   python tools/train.py $CFG --cfg-options \
#       model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_400.pth
#
# The checkpoint is loaded strictly from prefix 'backbone.' (FRA's online
# backbone).
_base_ = ['./alignment_vit-t-p8-upernet_1xb32-20e_synthetic-faces.py']

pretrained = ('work_dirs/fra_resnet50_8xb128-coslr-400e_vggface2/'
              'epoch_400.pth')
pretrained_prefix = 'backbone.'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained,
            prefix=pretrained_prefix)),
    head=dict(in_channels=[256, 512, 1024, 2048]))
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(
        type='AdamW', lr=5e-4, weight_decay=0.05, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
