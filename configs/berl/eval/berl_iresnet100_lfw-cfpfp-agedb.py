# Test a checkpoint trained with
#   configs/berl/berl-stage3_iresnet100_curricularface-recon_4xb50-sgd-
#   adam-16e_ms1m.py
# on LFW, CFP-FP and AgeDB-30 (insightface .bin files, 10-fold
# accuracy and TAR@FAR=1e-3).
# Embedding: the IResNet-100 embedding (the stage-3 model; its
# reconstruction networks are loaded but not used).
#
#   CFG=configs/berl/eval/berl_iresnet100_lfw-cfpfp-agedb.py
#   python tools/test.py $CFG CHECKPOINT --cfg-options \
#       test_dataloader.dataset.data_root=data/faces_emore
_base_ = [
    '../../_base_/models/berl_iresnet100_ms1m.py',
    '../../_base_/datasets/eval_lfw-cfpfp-agedb.py',
    '../../_base_/default_runtime.py',
]
