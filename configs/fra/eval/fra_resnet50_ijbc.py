# Test a checkpoint trained with
#   configs/fra/fra_resnet50_8xb128-coslr-400e_vggface2.py
# on IJB-C 1:1 (TAR@FAR 1e-6 .. 1e-1, insightface template pooling).
# Embedding: the online ResNet-50's pooled last feature map, on faces
# resized to the 128-px training views.
#
#   CFG=configs/fra/eval/fra_resnet50_ijbc.py
#   python tools/test.py $CFG CHECKPOINT --cfg-options \
#       test_dataloader.dataset.data_root=data/IJB_release/IJBC \
#       test_evaluator.data_root=data/IJB_release/IJBC
_base_ = [
    '../../_base_/models/fra_resnet50.py',
    '../../_base_/datasets/eval_ijbc.py',
    '../../_base_/default_runtime.py',
]

# faces resized to the training size before packing
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='Resize', scale=128, backend='pillow',
             interpolation='bicubic'),
    ] + _base_.eval_ijb_pipeline))
