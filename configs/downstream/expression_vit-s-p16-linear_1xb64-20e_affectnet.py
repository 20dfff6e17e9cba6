# Facial expression on AffectNet (8 classes with Contempt, the paper-size
# setting): as expression_vit-s-p16-linear_1xb64-20e_rafdb.py, trained on
# training.csv and tested on validation.csv (AffectNet's test set is not
# public); codes 8-10 (None, Uncertain, No-Face) are dropped. For the
# 7-class protocol set num_classes=7 in the model and both data sets.
#
# Data: data/AffectNet/{training,validation}.csv and
# Manually_Annotated_Images/ (face crops, resized to 224 as they are).
_base_ = ['./expression_vit-s-p16-linear_1xb64-20e_rafdb.py']

data_root = 'data/AffectNet'
num_classes = 8

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
    dataset=dict(
        affectnet, ann_file='training.csv',
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(
        affectnet, ann_file='validation.csv',
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
