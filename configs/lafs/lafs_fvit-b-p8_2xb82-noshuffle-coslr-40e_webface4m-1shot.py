# The paper's Table 2 ablation (Sun et al., CVPR 2024, Sec. 3.3): LAFS on
# a plain fViT-B/8 (lafs_fvit-b-p8_2xb82-coslr-40e_webface4m-1shot.py)
# without the landmark shuffle: the grid patches keep their order, so each
# keeps its position embedding (the 36-token local subsets stay, their
# tokens in grid order).
_base_ = ['./lafs_fvit-b-p8_2xb82-coslr-40e_webface4m-1shot.py']

model = dict(
    landmark_augs=dict(
        _delete_=True,
        global_views=[],
        local_views=[
            dict(type='LandmarkSubset', num=_base_.local_landmarks,
                 replace=True, keep_order=True),
        ]))
