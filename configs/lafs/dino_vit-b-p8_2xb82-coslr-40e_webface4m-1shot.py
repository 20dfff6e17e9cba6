# The DINO baseline of LAFS at paper scale: the LAFS pre-training config
# (lafs_part-fvit-b_2xb82-coslr-40e_webface4m-1shot.py: WebFace4M-1shot,
# 2 global + 8 local views, 40 epochs, batch 2 x 82, out_dim 100000,
# student temperature 0.1, teacher temperature 0.07 -> 0.04 over 30
# epochs, teacher momentum 0.996 -> 1, AdamW 5e-4 x batch / 256 with 10
# warm-up epochs, weight decay 0.04 -> 0.4, clipping 3.0) with only the
# method changed: a fViT-B/8 (ViT on the regular grid of 196 8-px patches
# at 112 px, the token count of Part fViT's 196 landmarks; the Part
# fViT-B widths 768 / 12 layers / 12 heads / MLP 2048) with DINO's
# random-crop views instead of patches at landmarks, no landmark CNN and
# no landmark augmentations.
#
#   bash tools/dist_train.sh \
#       configs/lafs/dino_vit-b-p8_2xb82-coslr-40e_webface4m-1shot.py 2 \
#       --cfg-options train_dataloader.dataset.dataset.data_root=<dir>
#
# Views as LAFS's (all random-resized crops to 112 px with area 0.4-1,
# flip, the same photometric augmentation): LAFS's local views differ
# from its global ones only by keeping 36 landmarks, so the baseline's
# local views are 112-px crops too (DINO's small local crops would change
# the data, not only the method).
_base_ = ['./lafs_part-fvit-b_2xb82-coslr-40e_webface4m-1shot.py']

model = dict(
    _delete_=True,
    type='DINO',
    num_global_views=2,
    backbone=dict(
        type='FastVisionTransformer',
        arch=dict(
            embed_dims=768,
            num_layers=12,
            num_heads=12,
            feedforward_channels=2048),
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
