# Plain DINO baseline for LAFS's comparison: the LAFS CPU config
# (lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py: same faces, batch,
# epochs, head, schedule and hooks) with a ViT-T/8 on the regular patch
# grid (196 patches of 8 x 8 at 112 px, the same token count as Part fViT's
# 196 landmarks) instead of patches at landmarks, and no landmark CNN.
#
#   python tools/train.py \
#       configs/lafs/dino_vit-t-p8_1xb16-coslr-2e_synthetic-faces.py
#
# Views as LAFS's (2 global + 2 local, all random-resized crops to 112 px
# with scale 0.4-1, flip, the same photometric augmentation): LAFS's local
# views differ from its global ones only by keeping 36 landmarks, so the
# baseline's local views are plain 112-px crops (DINO's usual small local
# crops would change the data, not only the method).
_base_ = ['./lafs_part-fvit-t_1xb16-coslr-2e_synthetic-faces.py']

model = dict(
    _delete_=True,
    type='DINO',
    num_global_views=2,
    backbone=dict(
        type='FastVisionTransformer',
        arch='deit-tiny',
        img_size=112,
        patch_size=8,
        drop_path_rate=0.1,
        out_type='cls_token',
        final_norm=True),
    head=_base_.model.head,
    loss=_base_.model.loss)


# LAFS's batched views: the workers crop and flip, the preprocessor
# applies the same photometric recipe; DINO needs no un-augmented copies
_lafs_views = _base_.train_dataloader.dataset.pipeline[0]
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(
            type='MultiView',
            num_views=_lafs_views.num_views,
            transforms=_lafs_views.transforms),
        dict(type='PackInputs'),
    ]))
data_preprocessor = dict(append_unaugmented=False)
custom_hooks = [
    h for h in _base_.custom_hooks if h['type'] != 'LAFSVisualizationHook'
]
