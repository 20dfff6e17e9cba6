# IJB-C evaluation, insightface protocol: faces aligned to 112 x 112 with
# their five points, each image also flipped (features summed), templates
# pooled per media, TAR@FAR 1e-6 .. 1e-1 (IJBMetric; one_to_n=True adds
# rank-1/5 and TPIR@FPIR on galleries G1/G2). For IJB-B set
# ijb_name = 'IJBB' and the data_root. Use as test_dataloader /
# test_evaluator, e.g. tools/test.py CONFIG CKPT.
data_root = 'data/IJB_release/IJBC'  # meta/ and loose_crop/ of insightface
ijb_name = 'IJBC'

ijb_pipeline = [
    dict(
        type='PackInputs',
        # what IJBMetric needs (facessl.datasets.ijb.IJB_META_KEYS)
        meta_keys=('sample_idx', 'img_index', 'flip', 'template_id',
                   'media_id', 'face_score')),
]
test_dataloader = dict(
    batch_size=128,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='IJBDataset',
        data_root=data_root,
        name=ijb_name,
        flip_test=True,
        pipeline=ijb_pipeline))
test_evaluator = dict(
    type='IJBMetric', data_root=data_root, name=ijb_name, one_to_n=False)
test_cfg = dict()
