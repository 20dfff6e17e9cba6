# Face alignment on 300-W (68 landmarks), ProS's recipe: an UperNet
# heatmap head on the blocks 4, 6, 8 and 12 of a pretrained ViT-S/16 at
# 224 px, trained with the soft-label cross-entropy of each heatmap
# (UperNetLandmarkHead(loss_type='soft_ce')), lr 0.01 and weight decay
# 1e-5; NME (inter-ocular) on the full test set (common + challenging).
#
# Data: data/300W with afw/, helen/{trainset,testset}/, lfpw/{trainset,
# testset}/ and ibug/ (images with their .pts files). Faces are the
# landmarks' tight box enlarged 1.25 times to a square, resized to 224.
#   CFG=configs/downstream
#   python tools/train.py \
#       $CFG/alignment_vit-s-p16-upernet_1xb32-soft-ce-60e_300w.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH
# Common or challenging subset only:
#   --cfg-options test_dataloader.dataset.split=common
#
# From the paper: soft-label cross-entropy, lr 0.01, weight decay 1e-5.
# facessl's choices where it is silent: AdamW with layer-wise lr decay
# 0.65, 60 epochs (1 warm-up, cosine), batch 32, box enlargement 1.25,
# 128 x 128 heatmaps with Gaussians of sigma 2, UperNet channels 256,
# flips as the only augmentation (configs/pros/README.md).
_base_ = ['./alignment_vit-t-p8-upernet_1xb32-20e_synthetic-faces.py']

pretrained = ('work_dirs/pros_vit-s-p16_8xb32-coslr-20e_synthetic-faces/'
              'epoch_20.pth')
data_root = 'data/300W'
img_size = 224
num_landmarks = 68
max_epochs = 60

model = dict(
    backbone=dict(
        arch='deit-small',
        img_size=img_size,
        patch_size=16,
        init_cfg=dict(checkpoint=pretrained)),
    head=dict(
        in_channels=384,
        num_landmarks=num_landmarks,
        channels=256,
        loss_type='soft_ce',
        loss_weight=1.,
        # the maps are logits: beta 1 reads the predicted distribution
        decode=dict(method='soft_argmax', beta=1., radius=3)))

crop = dict(type='LandmarkBoxCrop', size=img_size, scale=1.25)
train_pipeline = [crop, dict(type='LandmarkRandomFlip', prob=0.5),
                  _base_.pack]
test_pipeline = [crop, _base_.pack]
landmarks = dict(type='Landmarks300W', data_root=data_root, _delete_=True)
train_dataloader = dict(
    num_workers=8,
    dataset=dict(landmarks, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=8,
    dataset=dict(landmarks, split='full', pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=1e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=10))
