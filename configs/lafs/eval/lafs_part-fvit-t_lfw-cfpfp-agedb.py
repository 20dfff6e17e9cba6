# Test a checkpoint trained with
#   configs/lafs/lafs_part-fvit-t_4xb64-coslr-100e_ms1m.py
# on LFW, CFP-FP and AgeDB-30 (insightface .bin files, 10-fold
# accuracy and TAR@FAR=1e-3).
# Embedding: the EMA teacher's Part fViT-T class token (its landmark CNN
# predicts the 196 landmarks on each face).
#
#   CFG=configs/lafs/eval/lafs_part-fvit-t_lfw-cfpfp-agedb.py
#   python tools/test.py $CFG CHECKPOINT --cfg-options \
#       test_dataloader.dataset.data_root=data/faces_emore
_base_ = [
    '../../_base_/models/lafs_part-fvit-t.py',
    '../../_base_/datasets/eval_lfw-cfpfp-agedb.py',
    '../../_base_/default_runtime.py',
]

out_dim = 100000  # as the MS1M pretraining config
# the landmark CNN's weights come with the checkpoint
model = dict(
    landmark_cnn_checkpoint=None,
    head=dict(out_dim=out_dim),
    loss=dict(out_dim=out_dim))
