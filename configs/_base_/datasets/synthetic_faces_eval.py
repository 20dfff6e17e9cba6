# Face-recognition protocols on synthetic held-out identities, written by
#   python tools/misc/make_synthetic_faces.py --out data/synthetic_eval \
#       --num-identities 0 ... --formats bin ijb
# (tools/demo.py writes them itself): an insightface verification .bin
# (VerificationBin + VerificationMetric) and an IJB-C-style set
# (IJBDataset + IJBMetric, 1:1 and 1:N), the same classes that read LFW /
# IJB-C. A config that trains at another resolution resizes in the
# pipelines below (`eval_size`). The dataloaders/evaluators are plain
# variables: use them as test_* or score them all with
# facessl.evaluation.evaluate (tools/demo.py does).
synthetic_eval_root = 'data/synthetic_eval'
eval_size = 112

synthetic_verification_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='VerificationBin',
        data_root=synthetic_eval_root,
        bin_files=['verification.bin'],
        image_size=112,
        flip_test=True,
        pipeline=[
            dict(type='Resize', scale=eval_size, backend='pillow',
                 interpolation='bicubic'),
            dict(
                type='PackInputs',
                meta_keys=('sample_idx', 'img_index', 'flip', 'set_name',
                           'pair_index', 'issame')),
        ]))
synthetic_verification_evaluator = dict(
    type='VerificationMetric', far_targets=(1e-2, ))

synthetic_ijb_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='IJBDataset',
        data_root=synthetic_eval_root + '/ijb',
        name='IJBC',
        flip_test=True,
        pipeline=[
            dict(type='Resize', scale=eval_size, backend='pillow',
                 interpolation='bicubic'),
            dict(
                type='PackInputs',
                meta_keys=('sample_idx', 'img_index', 'flip', 'template_id',
                           'media_id', 'face_score')),
        ]))
synthetic_ijb_evaluator = dict(
    type='IJBMetric',
    data_root=synthetic_eval_root + '/ijb',
    name='IJBC',
    one_to_n=True,
    far_targets=(1e-3, 1e-2, 1e-1),
    fpir_targets=(1e-1, ))
