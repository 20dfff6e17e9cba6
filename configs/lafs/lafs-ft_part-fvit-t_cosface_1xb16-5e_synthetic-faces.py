# LAFS stage 3 demo: few-shot fine-tuning of the LAFS-pretrained Part fViT-T
# with CosFace (s = 64, m = 0.4) and landmark regularisation, on
# SyntheticFaces; verification accuracy and TAR@FAR on the synthetic .bin.
#
#   python tools/train.py \
#       configs/lafs/lafs-ft_part-fvit-t_cosface_1xb16-5e_synthetic-faces.py
#   python tools/test.py CONFIG work_dirs/<config name>/epoch_5.pth
#
# Inputs (tools/lafs_pipeline.py sets both from its own stage 1 and 2):
# - `stage2_checkpoint`: the LAFS stage-2 checkpoint; the backbone (Part
#   fViT with its landmark CNN) is initialised from its EMA teacher,
#   keys 'teacher.backbone.*', loaded strictly (the teacher holds a
#   complete Part fViT; add strict=False to load a partial one);
# - `stage1_checkpoint`: the stage-1 Part fViT; a frozen copy of its landmark
#   CNN ('backbone.landmark_cnn.*', loaded strictly) is the reference r of
#   the regulariser L = L_id + beta * mean ||r_hat - r||_2, beta = 0.1.
# Checkpoints are read in init_weights, so override the nested keys:
#   --cfg-options model.pretrained.checkpoint=S2.pth \
#       model.landmark_reg.checkpoint=S1.pth
#
# Few-shot protocol (LAFS): `fraction` of the identities x `shots` images
# each, drawn with `seed` by FewShotSubset from a source of 1000 synthetic
# identities x 10 images; the subset file is written into `subset_file`
# (the default work dir) on first use and read back afterwards. This file
# is the 10 % x 4-shot setting; the 8 settings of the paper (1 % / 10 % x
# 1 / 2 / 4 / 10 shots) are the child configs *_synthetic-faces-<p>pct-
# <k>shot.py (the head's num_classes follows the identity count, so a
# setting is a config rather than --cfg-options). Training identities
# 0..999 include stage 1's 0..49; the .bin's held-out ones are disjoint.
#
# Recipe (LAFS fine-tuning): AdamW lr 1e-4, weight decay 0.1, layer-wise lr
# decay 0.58 (FaceLayerDecayOptimWrapperConstructor: the landmark CNN with
# the patch embedding at depth 0), warm-up then cosine. Scaled for 2 CPU
# cores: 5 epochs with 1 warm-up epoch (the paper: 5 warm-up epochs of a
# longer run); 10 % x 4 shots = 400 images, 25 iterations per epoch of
# ~2.5 s for Part fViT-T with its reference CNN: about 5 minutes.
_base_ = ['./part-fvit-t_cosface_1xb16-4e_synthetic-faces.py']

stage1_checkpoint = \
    'work_dirs/part-fvit-t_cosface_1xb16-4e_synthetic-faces/epoch_4.pth'
stage2_checkpoint = \
    'work_dirs/lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces/epoch_2.pth'

num_source_identities = 1000
source_images_per_identity = 10
fraction = 0.1
shots = 4
few_shot_seed = 0
# identities of the subset: round(fraction x source identities)
num_classes = max(1, int(fraction * num_source_identities + 0.5))
# beside the default work dir's checkpoints
subset_file = ('work_dirs/lafs-ft_part-fvit-t_cosface_1xb16-5e_'
               'synthetic-faces/few_shot_subset.json')
max_epochs = 5
warmup_epochs = 1

model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    head=dict(num_classes=num_classes),
    pretrained=dict(checkpoint=stage2_checkpoint, prefix='teacher.backbone.'),
    landmark_reg=dict(
        beta=0.1,
        reference=dict(type='LandmarkCNN', num_landmarks=196),
        checkpoint=stage1_checkpoint,
        prefix='backbone.landmark_cnn.'))

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='FewShotSubset',
        dataset=dict(
            type='SyntheticFaces',
            num_identities=num_source_identities,
            images_per_identity=source_images_per_identity,
            img_size=_base_.face_size,
            seed=0,
            identity_offset=0,
            generator_cfg=_base_.generator_cfg),
        subset_file=subset_file,
        fraction=fraction,
        shots=shots,
        seed=few_shot_seed,
        pipeline=_base_.train_pipeline))

optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.1,
                   betas=(0.9, 0.999)),
    constructor='FaceLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.58))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
