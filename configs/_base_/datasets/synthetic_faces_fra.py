# FRA / BYOL two-view pre-training data on SyntheticFaces; kNN evaluation on
# held-out identities. Each view is a random resized crop and flip that
# record their geometry (LandmarkRandomResizedCrop -> crop_bbox,
# LandmarkRandomFlip -> flip; no landmarks needed), then BYOL's
# photometric augmentations (view 1: blur always; view 2: blur 0.1,
# solarise 0.2). MultiViewWithGeometry stacks the views' crop boxes and
# flips (view_crop_bbox, view_flip), which PackInputs puts in each data
# sample's meta for FRA's semantic-consistency loss.
#
# The sizes are plain variables; a child config that changes them must
# rebuild the pipelines or edit the built dicts (see the FRA demo config).
face_size = 128
view_size = 128
crop_scale = (0.08, 1.0)  # fraction of the face area (BYOL's)
num_train_identities = 500
train_images_per_identity = 20
num_val_identities = 50
val_images_per_identity = 10
batch_size = 64
num_workers = 2

dataset_type = 'SyntheticFaces'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=True)


def _view(size, blur_prob, solarize_prob, crop_range=(0.08, 1.0)):
    # one BYOL view whose crop box and flip are recorded
    view = [
        dict(
            type='LandmarkRandomResizedCrop',
            scale=size,
            crop_ratio_range=crop_range,
            interpolation='bicubic',
            backend='pillow'),
        dict(type='LandmarkRandomFlip', prob=0.5),
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
            channel_weights=(0.114, 0.587, 0.2989)),  # B, G, R
        # BYOL's sigma U(0.1, 2.0) px on 224-px crops, scaled to the size
        dict(
            type='ScaledGaussianBlur',
            sigma_range=(0.1, 2.0),
            ref_size=224,
            prob=blur_prob),
    ]
    if solarize_prob > 0:
        view.append(dict(type='Solarize', thr=128, prob=solarize_prob))
    return view


def _pipelines(size, crop_range):
    # (train pipeline, val pipeline) at view side `size`
    train = [
        dict(
            type='MultiViewWithGeometry',
            num_views=[1, 1],
            transforms=[
                _view(size, 1.0, 0., crop_range),
                _view(size, 0.1, 0.2, crop_range)
            ]),
        dict(
            type='PackInputs',
            meta_keys=('sample_idx', 'identity', 'num_views', 'view_flip',
                       'view_crop_bbox')),
    ]
    val = [
        dict(
            type='Resize', scale=(size, size), interpolation='bicubic',
            backend='pillow'),
        dict(type='PackInputs'),
    ]
    return train, val


train_pipeline, val_pipeline = _pipelines(view_size, crop_scale)

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
val_evaluator = dict(type='KNNAccuracy', k=20, temperature=0.07, topk=(1, 5))
val_cfg = dict()
test_dataloader = val_dataloader
test_evaluator = val_evaluator
test_cfg = dict()
