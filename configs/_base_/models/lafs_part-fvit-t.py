# LAFS (Sun et al., CVPR 2024) stage 2: a Part fViT-Tiny student and its
# EMA teacher, the landmark CNN frozen from the stage-1 checkpoint, a DINO
# head and loss. Patches (8 x 8) are sampled at the 196 landmarks the CNN
# predicts on each 112-px view; the student's landmarks are perturbed
# (alpha = 2 px, the paper's best ablation; the authors' release uses 5)
# and shuffled, and its local views keep 36 of them (drawn with
# replacement, as the release).
# The data preprocessor comes from the dataset config (synthetic_faces_
# lafs.py: mean = std = 127.5, BGR -> RGB).
embed_dims = 192
out_dim = 65536
num_landmarks = 196
# stage 1 (configs/lafs/part-fvit-t_cosface_*.py) writes it; the landmark
# CNN's weights are its keys 'backbone.landmark_cnn.*'
landmark_cnn_checkpoint = (
    'work_dirs/part-fvit-t_cosface_1xb16-4e_synthetic-faces/epoch_4.pth')
landmark_alpha = 2.  # perturbation std in pixels of the 112-px view
local_landmarks = 36
model = dict(
    type='LAFS',
    num_global_views=2,
    landmark_cnn_checkpoint=landmark_cnn_checkpoint,
    landmark_cnn_prefix='backbone.landmark_cnn.',
    backbone=dict(
        type='PartFViT',
        arch='tiny',
        img_size=112,
        patch_size=8,
        num_landmarks=num_landmarks,
        landmark_cnn=dict(type='LandmarkCNN', num_landmarks=num_landmarks),
        drop_path_rate=0.1,
        out_type='cls_token',
        final_norm=True),
    head=dict(
        type='DINOHead',
        in_channels=embed_dims,
        out_dim=out_dim,
        hidden_dim=2048,
        bottleneck_dim=256,
        num_layers=3,
        norm_last_layer=True,
        use_bn=False),
    loss=dict(
        type='DINOLoss',
        out_dim=out_dim,
        student_temp=0.1,
        teacher_temp=0.07,  # set every iteration by TeacherTempHook
        center_momentum=0.9),
    landmark_augs=dict(
        global_views=[
            dict(type='LandmarkPerturb', alpha=landmark_alpha),
            dict(type='LandmarkShuffle'),
        ],
        local_views=[
            dict(type='LandmarkPerturb', alpha=landmark_alpha),
            dict(type='LandmarkShuffle'),
            dict(type='LandmarkSubset', num=local_landmarks, replace=True),
        ]))

# The hooks that make it LAFS's DINO (append to the runtime's hooks):
# teacher momentum 0.996 -> 1 (cosine), teacher temperature 0.07 -> 0.04
# over 30 epochs (the authors' released recipe; DINO warms up instead),
# head's last layer frozen in epoch 0.
lafs_hooks = [
    dict(type='TeacherEMAHook', momentum=0.996, end_momentum=1.0),
    dict(type='TeacherTempHook', start=0.07, end=0.04, warmup=30),
    dict(type='FreezeLastLayerHook', freeze_last_layer=1),
]
