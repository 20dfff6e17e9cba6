# Test a checkpoint trained with
#   configs/berl/berl-stage3_iresnet100_curricularface-recon_4xb50-sgd-
#   adam-16e_ms1m.py
# on IJB-C 1:1 (TAR@FAR 1e-6 .. 1e-1, insightface template pooling).
# Embedding: the IResNet-100 embedding (the stage-3 model; its
# reconstruction networks are loaded but not used).
#
#   CFG=configs/berl/eval/berl_iresnet100_ijbc.py
#   python tools/test.py $CFG CHECKPOINT --cfg-options \
#       test_dataloader.dataset.data_root=data/IJB_release/IJBC \
#       test_evaluator.data_root=data/IJB_release/IJBC
_base_ = [
    '../../_base_/models/berl_iresnet100_ms1m.py',
    '../../_base_/datasets/eval_ijbc.py',
    '../../_base_/default_runtime.py',
]
