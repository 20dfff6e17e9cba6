# Face alignment on WFLW (98 landmarks), ProS's recipe as
# alignment_vit-s-p16-upernet_1xb32-soft-ce-60e_300w.py (soft-label
# cross-entropy, lr 0.01, weight decay 1e-5); NME (inter-ocular: outer
# eye corners 60 and 72) on the 2500 test faces. Faces are WFLW's face
# rectangle enlarged 1.25 times to a square, resized to 224.
#
# Data: data/WFLW with WFLW_images/ and WFLW_annotations/
# list_98pt_rect_attr_train_test/list_98pt_rect_attr_{train,test}.txt.
#   CFG=configs/downstream
#   python tools/train.py \
#       $CFG/alignment_vit-s-p16-upernet_1xb32-soft-ce-60e_wflw.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = ['./alignment_vit-s-p16-upernet_1xb32-soft-ce-60e_300w.py']

data_root = 'data/WFLW'
num_landmarks = 98
lists = 'WFLW_annotations/list_98pt_rect_attr_train_test/'

model = dict(head=dict(num_landmarks=num_landmarks))
landmarks = dict(type='WFLWLandmarks', data_root=data_root, _delete_=True)
train_dataloader = dict(
    dataset=dict(
        landmarks,
        ann_file=lists + 'list_98pt_rect_attr_train.txt',
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(
        landmarks,
        ann_file=lists + 'list_98pt_rect_attr_test.txt',
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
