# Test a checkpoint of a LAFS Part fViT-T config (built on
# configs/_base_/models/lafs_part-fvit-t.py; a strict load needs the
# training head's size: e.g. lafs_part-fvit-t_1xb16-coslr-2e_synthetic-
# faces.py adds --cfg-options model.head.out_dim=1024
# model.head.use_bn=True model.loss.out_dim=1024)
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

# the landmark CNN's weights come with the checkpoint
model = dict(landmark_cnn_checkpoint=None)
