"""MultiViewWithGeometry: one image per view plus its crop and flip."""
import mmcv
import numpy as np

from facessl.datasets.transforms import MultiViewWithGeometry


def test_views_keep_their_crop_box_and_flip_without_landmarks():
    np.random.seed(0)
    img = np.random.randint(0, 256, (40, 40, 3), np.uint8)
    view = [
        dict(type='LandmarkRandomResizedCrop', scale=40,
             crop_ratio_range=(0.3, 0.6), interpolation='nearest'),
        dict(type='LandmarkRandomFlip', prob=0.5),
    ]
    t = MultiViewWithGeometry([view, view], num_views=[2, 2])
    out = t(dict(img=img))
    assert len(out['img']) == 4 and out['num_views'] == 4
    assert out['view_crop_bbox'].shape == (4, 4)
    assert out['view_flip'].dtype == bool and 'landmarks' not in out
    for v in range(4):
        x1, y1, x2, y2 = out['view_crop_bbox'][v]
        crop = img[y1:y2 + 1, x1:x2 + 1]
        crop = mmcv.imresize(crop, (40, 40), interpolation='nearest')
        if out['view_flip'][v]:
            crop = crop[:, ::-1]
        np.testing.assert_array_equal(out['img'][v], crop)
