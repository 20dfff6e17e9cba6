# Face verification on insightface .bin sets (LFW, CFP-FP, AgeDB-30), the
# insightface protocol: each image and its flip embedded and summed, then
# L2-normalised; 10 folds, threshold chosen on 9; accuracy, threshold and
# TAR@FAR=1e-3 per set (VerificationMetric). All sets are one dataset so
# one evaluator reports them all.
#
# Defines only test_dataloader / test_evaluator / test_cfg, the face
# normalisation (top-level data_preprocessor, used by models whose config
# takes it from the dataset config) and variables prefixed `eval_bin_`,
# so it composes with a model base and default_runtime.py without
# "Duplicate key" (it cannot be combined with a config that defines
# test_* itself). Point it at your data on the command line:
#   python tools/test.py CONFIG CKPT \
#       --cfg-options test_dataloader.dataset.data_root=data/faces_emore
# (a model trained at another size prepends a Resize to eval_bin_pipeline).
eval_bin_root = 'data/faces_emore'  # the .bin files of an insightface pack
eval_bin_files = ['lfw.bin', 'cfp_fp.bin', 'agedb_30.bin']
eval_bin_pipeline = [
    dict(
        type='PackInputs',
        # what VerificationMetric needs
        meta_keys=('sample_idx', 'img_index', 'flip', 'set_name',
                   'pair_index', 'issame')),
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
        type='VerificationBin',
        data_root=eval_bin_root,
        bin_files=eval_bin_files,
        image_size=112,
        flip_test=True,
        pipeline=eval_bin_pipeline))
test_evaluator = dict(type='VerificationMetric', far_targets=(1e-3, ))
test_cfg = dict()
