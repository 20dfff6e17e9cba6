# Facial expression on AffectNet (8 classes with Contempt), ProS's recipe:
# as expression_vit-s-p16-linear_1xb64-100e_rafdb.py (weight decay 0.5),
# for 10 epochs and with a class-balanced sampler (ClassBalancedSampler:
# every class drawn equally often, with replacement, len(dataset) draws an
# epoch). Trained on training.csv, tested on validation.csv (AffectNet's
# test set is not public); codes 8-10 (None, Uncertain, No-Face) are
# dropped. For the 7-class protocol set num_classes=7 in the model and
# both data sets.
#
# Data: data/AffectNet/{training,validation}.csv and
# Manually_Annotated_Images/ (face crops, resized to 224 as they are).
_base_ = ['./expression_vit-s-p16-linear_1xb64-100e_rafdb.py']

data_root = 'data/AffectNet'
num_classes = 8
max_epochs = 10

model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    head=dict(num_classes=num_classes))
affectnet = dict(
    type='AffectNet',
    data_root=data_root,
    data_prefix='Manually_Annotated_Images',
    num_classes=num_classes,
    _delete_=True)
train_dataloader = dict(
    sampler=dict(type='ClassBalancedSampler', _delete_=True),
    dataset=dict(
        affectnet, ann_file='training.csv',
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(
        affectnet, ann_file='validation.csv',
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1))
