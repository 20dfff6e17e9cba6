# LAFS (Sun et al., CVPR 2024) stage 2 with a Part fViT-B, the backbone of
# the paper's Tables 3-5: width 768, 12 layers, 12 heads, MLP 2048 (the
# authors' release uses 11 heads of 64; mmpretrain's layers need the
# heads to divide the width), and the paper's 100K-dim DINO head
# (out_dim 100000, as the release). Everything else as
# lafs_part-fvit-t.py: 196 landmarks, 8-px patches, slot position
# embeddings, perturbation alpha = 2 px + shuffle on every view (teacher's
# too), 36 landmarks on the local views, student temperature 0.1, teacher
# temperature 0.07 -> 0.04 over 30 epochs (lafs_hooks).
_base_ = ['./lafs_part-fvit-t.py']

embed_dims = 768
out_dim = 100000
model = dict(
    backbone=dict(arch='base'),
    head=dict(in_channels=embed_dims, out_dim=out_dim),
    loss=dict(out_dim=out_dim))
