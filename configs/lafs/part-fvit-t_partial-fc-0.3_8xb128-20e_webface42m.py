# LAFS stage 1 at WebFace42M scale: Part fViT-T + CosFace on 2,059,906
# identities with Partial FC sampling 30 % of each GPU's class centres per
# step (insightface's WebFace42M recipes use sample_rate 0.2-0.3 and 20
# epochs). On 8 GPUs each holds 257,489 x 192 centres (198 MB in fp32) and
# computes logits against 77,247 of them instead of 2,059,906.
#
#   bash tools/dist_train.sh \
#       configs/lafs/part-fvit-t_partial-fc-0.3_8xb128-20e_webface42m.py 8
_base_ = ['./part-fvit-t_cosface_4xb128-40e_ms1m.py']

data_root = 'data/webface42m'
num_identities = 2059906
max_epochs = 20
warmup_epochs = 2
sample_rate = 0.3

model = dict(
    data_preprocessor=dict(num_classes=num_identities),
    head=dict(num_classes=num_identities, sample_rate=sample_rate))
train_dataloader = dict(dataset=dict(data_root=data_root))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
