# LAFS views on SyntheticFaces (stage 2, self-supervised pretraining).
#
# Each face gives 2 global + 8 local views, all random-resized crops to
# 112 px with area scale (0.4, 1.0) and a horizontal flip (LAFS's local
# views differ from the global ones only by the landmarks the model keeps,
# 36 of 196). Every view is a TwoImageView: the geometric-only crop (what
# the frozen landmark CNN sees) and the photometric crop (colour jitter
# p=0.8, grayscale 0.2, blur 1.0 / 0.1 / 0.5 for global 1 / global 2 /
# local, solarise 0.2 on global 2), from which patches are sampled.
#
# What the model receives (see facessl/datasets/transforms/
# landmark_views.py): inputs = 2 * V tensors (B, 3, 112, 112), the V
# photometric views (global 1, global 2, local 1..8), then the V geometric
# views in the same order; data_samples[i].landmarks (V, 68, 2) pixel (x, y)
# ground-truth landmarks of every view (synthetic faces have them);
# metainfo num_views, view_flip, view_crop_bbox.
#
# Data set sizes, the data preprocessor (mean = std = 127.5, LAFS's 0.5 of
# [0, 1]; BGR -> RGB), validation and kNN evaluation come from
# synthetic_faces_dino.py; only the training views differ.
#
# Two ways to make the views (the configs choose): `train_pipeline` runs
# every transform per image on the workers; `batched_train_pipeline` (the
# default of the configs/lafs/lafs_* pretraining configs) has the workers
# crop and flip only (the same geometric images and landmarks, uint8), and
# `batched_data_preprocessor` (MultiViewPhotometricPreprocessor with
# append_unaugmented=True) applies the photometric recipe batched on the
# model's device and appends the un-augmented crops: the model receives
# the same 2 V layout either way. A config that takes the batched path sets
#   train_dataloader = dict(dataset=dict(pipeline=batched_train_pipeline))
#   data_preprocessor = batched_data_preprocessor
#
# As in synthetic_faces_dino.py the sizes are plain variables: a child
# config that changes them must rebuild the pipeline, or edit the built
# dicts, e.g. --cfg-options train_dataloader.dataset.pipeline.0.num_views=
# [1,1,2] (pipeline.0 is the LAFSMultiView; on the batched path also
# data_preprocessor.view_groups.2.num_views=2).
_base_ = ['./synthetic_faces_dino.py']

view_size = 112  # side of every view
crop_scale = (0.4, 1.0)  # fraction of the face area
num_local_views = 8

# crop and flip: the geometric image (what the frozen landmark CNN sees)
view_geometric = [
    dict(
        type='LandmarkRandomResizedCrop',
        scale=view_size,
        crop_ratio_range=crop_scale,
        interpolation='bicubic',
        backend='pillow'),
    # mirror partners: the dataset's layout (68 iBUG points here)
    dict(type='LandmarkRandomFlip', prob=0.5),
]


def _view(blur_prob, solarize_prob=0.):
    # The photometric part is the authors' (DINO's) recipe at 112 px: their
    # blur draws sigma ~ U(0.1, 2.0) px on the 112-px crop itself, hence
    # ScaledGaussianBlur with ref_size=112.
    photometric = [
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
        dict(
            type='ScaledGaussianBlur',
            sigma_range=(0.1, 2.0),
            ref_size=112,
            prob=blur_prob),
    ]
    if solarize_prob > 0:
        photometric.append(dict(type='Solarize', thr=128, prob=solarize_prob))
    return [
        dict(
            type='TwoImageView',
            geometric=view_geometric,
            photometric=photometric)
    ]


train_pipeline = [
    dict(
        type='LAFSMultiView',
        num_views=[1, 1, num_local_views],
        transforms=[
            _view(blur_prob=1.0),
            _view(blur_prob=0.1, solarize_prob=0.2),
            _view(blur_prob=0.5)
        ]),
    dict(
        type='PackInputs',
        algorithm_keys=('landmarks', ),
        meta_keys=('sample_idx', 'identity', 'num_views', 'view_flip',
                   'view_crop_bbox')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))


def _photometric(blur_prob, solarize_prob=0.):
    # the photometric part of _view(), as preprocessor arguments
    return dict(
        color_jitter=dict(
            prob=0.8, brightness=0.4, contrast=0.4, saturation=0.2,
            hue=0.1),
        grayscale_prob=0.2,
        grayscale_weights=(0.114, 0.587, 0.2989),
        blur=dict(prob=blur_prob, sigma_range=(0.1, 2.0), ref_size=112),
        solarize=dict(prob=solarize_prob, thr=128))


# the batched path: the workers keep only view_geometric (one image per
# view, landmarks and view geometry as above), the preprocessor makes the
# photometric views and appends the geometric ones
batched_train_pipeline = [
    dict(
        type='MultiViewWithGeometry',
        num_views=[1, 1, num_local_views],
        transforms=[view_geometric, view_geometric, view_geometric]),
    train_pipeline[1],
]
batched_data_preprocessor = dict(
    _base_.data_preprocessor,
    type='MultiViewPhotometricPreprocessor',
    append_unaugmented=True,
    view_groups=[
        dict(num_views=1, **_photometric(blur_prob=1.0)),
        dict(num_views=1, **_photometric(blur_prob=0.1, solarize_prob=0.2)),
        dict(num_views=num_local_views, **_photometric(blur_prob=0.5)),
    ])
