# The paper's Table 2 ablation (Sun et al., CVPR 2024, Sec. 3.3): LAFS on
# a plain fViT-B/8 instead of the Part fViT-B, with the landmark shuffle.
# The fViT's tokens are the 14 x 14 grid of 8-px patches of the 112-px
# view (GridLandmarks in place of the landmark CNN: the same patches as a
# strided patch embedding), with slot position embeddings; the shuffle
# (reported harmful for the fViT) and the 36-token local subsets act on
# the grid patches, which are not perturbed (a plain fViT has no
# landmarks; facessl's reading of the ablation). Recipe as
# lafs_part-fvit-b_2xb82-coslr-40e_webface4m-1shot.py; no stage-1
# checkpoint is needed.
_base_ = ['./lafs_part-fvit-b_2xb82-coslr-40e_webface4m-1shot.py']

model = dict(
    landmark_cnn_checkpoint=None,
    backbone=dict(
        landmark_cnn=dict(
            _delete_=True, type='GridLandmarks', img_size=112,
            patch_size=8)),
    landmark_augs=dict(
        _delete_=True,
        global_views=[dict(type='LandmarkShuffle')],
        local_views=[
            dict(type='LandmarkShuffle'),
            dict(type='LandmarkSubset', num=_base_.local_landmarks,
                 replace=True),
        ]))
