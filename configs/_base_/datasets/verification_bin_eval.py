# Face verification on insightface .bin sets (LFW, CFP-FP, AgeDB-30), the
# insightface protocol: each image and its flip embedded and summed, then
# L2-normalised; 10 folds, threshold chosen on 9; accuracy, threshold and
# TAR@FAR=1e-3 per set (VerificationMetric). All sets are one dataset so
# one evaluator reports them all. Use as test_dataloader / test_evaluator
# (tools/test.py CONFIG CKPT) or as val_* during fine-tuning.
data_root = 'data/faces_emore'  # the .bin files of an insightface pack
bin_files = ['lfw.bin', 'cfp_fp.bin', 'agedb_30.bin']

verification_pipeline = [
    dict(
        type='PackInputs',
        # what VerificationMetric needs
        meta_keys=('sample_idx', 'img_index', 'flip', 'set_name',
                   'pair_index', 'issame')),
]
test_dataloader = dict(
    batch_size=128,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='VerificationBin',
        data_root=data_root,
        bin_files=bin_files,
        image_size=112,
        flip_test=True,
        pipeline=verification_pipeline))
test_evaluator = dict(type='VerificationMetric', far_targets=(1e-3, ))
test_cfg = dict()
