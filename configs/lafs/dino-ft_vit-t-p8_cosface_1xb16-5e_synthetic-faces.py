# The DINO baseline of the LAFS comparison, fine-tuned like LAFS stage 3:
# a ViT-T/8 (the backbone of configs/lafs/dino_vit-t-p8_*) initialised
# from a DINO checkpoint's EMA teacher ('teacher.backbone.*'), CosFace
# (s = 64, m = 0.4), layer-wise lr decay 0.58, AdamW lr 1e-4 wd 0.1, the
# same few-shot subset settings as the LAFS stage-3 config (10 % x 4 shots)
# and the same verification .bin. No landmarks, so no landmark_reg.
#
#   python tools/train.py \
#       configs/lafs/dino-ft_vit-t-p8_cosface_1xb16-5e_synthetic-faces.py \
#       --cfg-options model.pretrained.checkpoint=DINO.pth
_base_ = ['./lafs-ft_part-fvit-t_cosface_1xb16-5e_synthetic-faces.py']

dino_checkpoint = \
    'work_dirs/dino_vit-t-p8_1xb16-coslr-2e_synthetic-faces/epoch_2.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='FastVisionTransformer',
        arch='deit-tiny',
        img_size=_base_.face_size,
        patch_size=8,
        drop_path_rate=0.1,
        out_type='cls_token',
        final_norm=True),
    pretrained=dict(checkpoint=dino_checkpoint),
    landmark_reg=None)
train_dataloader = dict(
    dataset=dict(
        subset_file='work_dirs/dino-ft_vit-t-p8_cosface_1xb16-5e_'
        'synthetic-faces/few_shot_subset.json'))
