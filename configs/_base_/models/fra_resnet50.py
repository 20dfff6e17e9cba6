# FRA (Gao & Patras, CVPR 2024): BYOL with ResNet-50 on 128 x 128 faces,
# projector/predictor MLPs 4096 hidden / 256 out with BN + ReLU, a one-layer
# mask decoder with K facial mask embeddings, region-level contrast and
# semantic consistency. The sizes are plain variables; a child config that
# changes them must also rebuild the dicts that use them.
feat_channels = 2048  # ResNet-50 stage 4
proj_hidden = 4096
proj_out = 256
num_masks = 8
region_weight = 1.  # lambda_region
semantic_weight = 1.  # lambda_sem


def mlp(in_channels, pool):
    # BYOL's projector/predictor: Linear-BN-ReLU-Linear
    return dict(
        type='NonLinearNeck',
        in_channels=in_channels,
        hid_channels=proj_hidden,
        out_channels=proj_out,
        num_layers=2,
        with_bias=True,
        with_last_bn=False,
        with_avg_pool=pool)


model = dict(
    type='FRA',
    base_momentum=0.01,  # 1 - tau, tau 0.99 -> 1 (cosine)
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        to_rgb=True),  # facessl datasets yield BGR
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    neck=mlp(feat_channels, True),
    head=dict(
        type='LatentPredictHead',
        predictor=mlp(proj_out, False),
        # 2 - 2 cos, BYOL's normalised MSE
        loss=dict(type='CosineSimilarityLoss', shift_factor=2.,
                  scale_factor=2.)),
    # MaskFormer's transformer decoder with one layer (supplementary 5.1)
    mask_decoder=dict(
        type='FRAMaskDecoder',
        in_channels=feat_channels,
        num_masks=num_masks,
        embed_dims=256,
        num_heads=8,
        num_layers=1,
        ffn_channels=2048,
        dropout=0.1,
        norm_order='post',
        pos_encoding='sine',
        temperature=0.1),
    region_neck=mlp(feat_channels, False),
    region_predictor=mlp(proj_out, False),
    region_loss=dict(type='RegionContrastLoss', loss_weight=region_weight),
    # facessl's collapse guard against the trivial all-alike heatmaps (see
    # SemanticConsistencyLoss and configs/fra/README.md): momentum targets
    # balanced by Sinkhorn over the batch's pixels (3 iterations,
    # temperature 0.05) and a reward for online heatmaps whose pixels
    # differ (pixel-region mutual information, weight 1); 'batch' measured
    # better than 'image' and None on the CPU demo. 'batch' is each
    # process's batch: with several processes it is not all-reduced, so
    # N processes x B faces differ from one process x N B in this term.
    semantic_loss=dict(
        type='SemanticConsistencyLoss',
        num_masks=num_masks,
        loss_weight=semantic_weight,
        target_temp=0.05,
        center_momentum=1.,
        collapse_guard='batch',
        sinkhorn_iters=3,
        info_weight=1.))
