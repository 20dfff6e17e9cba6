# LAFS views on WebFace4M-1shot: one image of each of WebFace4M's 205,990
# identities (the LAFS paper's self-supervised pre-training set), read
# from insightface's RecordIO pack (train.rec / train.idx, true RGB
# colours) under `data_root`. The one-image-per-identity subset is drawn
# by FewShotSubset (fraction 1.0, shots 1, seed 0) on first use and kept
# in `subset_file`, so later runs read the same images; make it ahead with
#   python tools/misc/make_few_shot_subset.py CONFIG --fraction 1.0 \
#       --shots 1 --seed 0 --out data/webface4m/webface4m-1shot.json
# The views (2 global + 8 local 112-px LAFS views) and the kNN validation
# come from synthetic_faces_lafs.py. The paths are built into the dataset
# dict, so override them with
#   --cfg-options train_dataloader.dataset.dataset.data_root=DIR \
#       train_dataloader.dataset.subset_file=FILE
_base_ = ['./synthetic_faces_lafs.py']

data_root = 'data/webface4m'
subset_file = 'data/webface4m/webface4m-1shot.json'
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
        pipeline=_base_.train_pipeline))
