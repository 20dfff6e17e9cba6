# DINO multi-crop on WebFace4M-1shot (one image per identity, see
# webface4m-1shot_lafs.py): the DINO baseline of LAFS with the same number
# of views as LAFS, 2 global 112-px crops (area 0.4-1) + 8 local 48-px
# crops (area 0.05-0.4; DINO's local crops), photometric recipe of
# synthetic_faces_dino.py. Override the paths with
#   --cfg-options train_dataloader.dataset.dataset.data_root=DIR \
#       train_dataloader.dataset.subset_file=FILE
_base_ = ['./synthetic_faces_dino.py']

data_root = 'data/webface4m'
subset_file = 'data/webface4m/webface4m-1shot.json'
num_local_views = 8
train_pipeline = [
    dict(
        type='MultiView',
        num_views=[1, 1, num_local_views],
        transforms=[
            _base_.global_pipeline1, _base_.global_pipeline2,
            _base_.local_pipeline
        ]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    num_workers=8,
    dataset=dict(
        _delete_=True,
        type='FewShotSubset',
        dataset=dict(
            type='FaceRecordIO', data_root=data_root, rec_file='train.rec'),
        subset_file=subset_file,
        fraction=1.0,
        shots=1,
        seed=0,
        pipeline=train_pipeline))
