# IJB-C evaluation, insightface protocol: faces aligned to 112 x 112 with
# their five points, each image also flipped (features summed), templates
# pooled per media, TAR@FAR 1e-6 .. 1e-1 (IJBMetric; one_to_n=True adds
# rank-1/5 and TPIR@FPIR on galleries G1/G2). For IJB-B set
# test_dataloader.dataset.name and test_evaluator.name to 'IJBB'.
#
# Defines only test_dataloader / test_evaluator / test_cfg, the face
# normalisation (top-level data_preprocessor, used by models whose config
# takes it from the dataset config) and variables prefixed `eval_ijb_`,
# so it composes with a model base and default_runtime.py without
# "Duplicate key". The data root is read by the dataset and the metric:
#   python tools/test.py CONFIG CKPT --cfg-options \
#       test_dataloader.dataset.data_root=data/IJB_release/IJBC \
#       test_evaluator.data_root=data/IJB_release/IJBC
eval_ijb_root = 'data/IJB_release/IJBC'  # meta/ and loose_crop/
eval_ijb_name = 'IJBC'
eval_ijb_pipeline = [
    dict(
        type='PackInputs',
        # what IJBMetric needs (facessl.datasets.ijb.IJB_META_KEYS)
        meta_keys=('sample_idx', 'img_index', 'flip', 'template_id',
                   'media_id', 'face_score')),
]
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[127.5, 127.5, 127.5],  # insightface: (x - 127.5) / 127.5
    std=[127.5, 127.5, 127.5],
    to_rgb=True)  # the datasets yield BGR
test_dataloader = dict(
    batch_size=128,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='IJBDataset',
        data_root=eval_ijb_root,
        name=eval_ijb_name,
        flip_test=True,
        pipeline=eval_ijb_pipeline))
test_evaluator = dict(
    type='IJBMetric', data_root=eval_ijb_root, name=eval_ijb_name,
    one_to_n=False)
test_cfg = dict()
