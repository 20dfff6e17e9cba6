# DINO multi-crop on SyntheticFaces; kNN evaluation on held-out identities.
#
# The sizes below are plain variables. MMEngine evaluates this file before a
# child config, so a child that changes them must rebuild the pipelines it
# uses (copy the pipeline blocks), or edit the built dicts, e.g.
#   --cfg-options train_dataloader.dataset.pipeline.0.num_views=[1,1,2]
#   train_dataloader.dataset.pipeline.0.transforms.2.0.scale=32
# (pipeline.0 is the MultiView; transforms.0/1/2 are the first global, the
# second global and the local view pipelines).
face_size = 112  # side of the generated faces
global_size = 112  # side of the two global views
local_size = 48  # side of each local view
num_local_views = 6
global_crop_scale = (0.4, 1.0)  # fraction of the face area
local_crop_scale = (0.05, 0.4)
val_size = global_size  # validation faces are resized to this side

num_train_identities = 500
train_images_per_identity = 20
# Held-out identities: same generator, ids after the training ones.
num_val_identities = 50
val_images_per_identity = 10
batch_size = 64
num_workers = 2  # persistent_workers needs num_workers > 0

dataset_type = 'SyntheticFaces'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[127.5, 127.5, 127.5],  # insightface-style face normalisation
    std=[127.5, 127.5, 127.5],
    to_rgb=True)  # the dataset yields BGR


def _views(size, crop_scale, blur_prob, solarize_prob=0., ref_size=224):
    # One view pipeline of DINO's DataAugmentationDINO (faces are BGR, so
    # the grayscale weights are B, G, R).
    views = [
        dict(
            type='RandomResizedCrop',
            scale=size,
            crop_ratio_range=crop_scale,
            interpolation='bicubic',
            backend='pillow'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(
            type='RandomApply',
            transforms=[
                dict(
                    type='ColorJitter',  # facessl's: NumPy-2-safe hue
                    brightness=0.4,
                    contrast=0.4,
                    saturation=0.2,
                    hue=0.1)
            ],
            prob=0.8),
        dict(
            type='RandomGrayscale',
            prob=0.2,
            keep_channels=True,
            channel_weights=(0.114, 0.587, 0.2989)),
        # DINO's sigma ~ U(0.1, 2.0) px on 224-px global / 96-px local
        # crops, scaled to the actual crop size (ScaledGaussianBlur): the
        # same pixel sigma on 112/48-px face crops would blur several times
        # more of the face.
        dict(
            type='ScaledGaussianBlur',
            sigma_range=(0.1, 2.0),
            ref_size=ref_size,
            prob=blur_prob),
    ]
    if solarize_prob > 0:
        views.append(dict(type='Solarize', thr=128, prob=solarize_prob))
    return views


global_pipeline1 = _views(global_size, global_crop_scale, blur_prob=1.0)
global_pipeline2 = _views(
    global_size, global_crop_scale, blur_prob=0.1, solarize_prob=0.2)
local_pipeline = _views(
    local_size, local_crop_scale, blur_prob=0.5, ref_size=96)

train_pipeline = [
    dict(
        type='MultiView',
        num_views=[1, 1, num_local_views],
        transforms=[global_pipeline1, global_pipeline2, local_pipeline]),
    dict(type='PackInputs'),
]

# The same augmentation split in two: the workers only crop and flip
# (uint8), and MultiViewPhotometricPreprocessor applies the photometric
# transforms above batched, one draw per sample, on the model's device.
# A config takes `batched_train_pipeline` as its pipeline and
# `batched_data_preprocessor` as the model's data_preprocessor.


def _photometric(blur_prob, solarize_prob=0., ref_size=224):
    # the photometric half of _views(), as preprocessor arguments
    return dict(
        color_jitter=dict(
            prob=0.8, brightness=0.4, contrast=0.4, saturation=0.2,
            hue=0.1),
        grayscale_prob=0.2,
        grayscale_weights=(0.114, 0.587, 0.2989),
        blur=dict(prob=blur_prob, sigma_range=(0.1, 2.0), ref_size=ref_size),
        solarize=dict(prob=solarize_prob, thr=128))


global_photometric1 = _photometric(blur_prob=1.0)
global_photometric2 = _photometric(blur_prob=0.1, solarize_prob=0.2)
local_photometric = _photometric(blur_prob=0.5, ref_size=96)
# RandomResizedCrop and RandomFlip as above; the resize by OpenCV (bicubic,
# about 4x faster than Pillow's on these crops: the worker's main cost)
global_geometric = [dict(global_pipeline1[0], backend='cv2'),
                    global_pipeline1[1]]
local_geometric = [dict(local_pipeline[0], backend='cv2'), local_pipeline[1]]
batched_train_pipeline = [
    dict(
        type='MultiView',
        num_views=[1, 1, num_local_views],
        transforms=[global_geometric, global_geometric, local_geometric]),
    dict(type='PackInputs'),
]
batched_data_preprocessor = dict(
    data_preprocessor,
    type='MultiViewPhotometricPreprocessor',
    view_groups=[
        dict(num_views=1, **global_photometric1),
        dict(num_views=1, **global_photometric2),
        dict(num_views=num_local_views, **local_photometric),
    ])
val_pipeline = [
    dict(
        type='ResizeEdge',
        scale=val_size,
        edge='short',
        interpolation='bicubic',
        backend='pillow'),
    dict(type='CenterCrop', crop_size=val_size),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=num_workers,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    drop_last=True,
    dataset=dict(
        type=dataset_type,
        num_identities=num_train_identities,
        images_per_identity=train_images_per_identity,
        img_size=face_size,
        seed=0,
        identity_offset=0,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=num_workers,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        num_identities=num_val_identities,
        images_per_identity=val_images_per_identity,
        img_size=face_size,
        seed=0,
        identity_offset=num_train_identities,
        pipeline=val_pipeline))
val_evaluator = dict(
    type='KNNAccuracy', k=20, temperature=0.07, topk=(1, 5))
val_cfg = dict()

test_dataloader = val_dataloader
test_evaluator = val_evaluator
test_cfg = dict()
