# The paper's Table 2 ablation (Sun et al., CVPR 2024, Sec. 3.3): LAFS
# with a Part fViT-B as lafs_part-fvit-b_2xb82-coslr-40e_webface4m-1shot.py
# but without the landmark shuffle (teacher and student keep the landmark
# order; perturbation and the 36-landmark local subsets stay, their tokens
# in landmark order). With slot position embeddings the shuffle decides
# which embedding each patch gets; the paper reports it helps Part fViT.
_base_ = ['./lafs_part-fvit-b_2xb82-coslr-40e_webface4m-1shot.py']

model = dict(
    landmark_augs=dict(
        _delete_=True,
        global_views=[
            dict(type='LandmarkPerturb', alpha=_base_.landmark_alpha),
        ],
        local_views=[
            dict(type='LandmarkPerturb', alpha=_base_.landmark_alpha),
            dict(type='LandmarkSubset', num=_base_.local_landmarks,
                 replace=True, keep_order=True),
        ]))
