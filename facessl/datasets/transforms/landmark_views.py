"""LAFS views: each crop gives a geometric-only and a photometric image.

LAFS (Sun et al., CVPR 2024, https://arxiv.org/abs/2403.08161) takes
2 global and 8 local views of a face, all random-resized crops to 112 px
(scale (0.4, 1.0)) with a horizontal flip. Of every crop it keeps two
images: the crop as is, which the frozen landmark CNN sees, and the crop
after colour jitter, grayscale, blur (and solarisation on the second global
view), from which the Part fViT samples its patches. The authors' release
(``DataAugmentation_LAFS`` in ``lafs_train.py``) does the same.

mmpretrain's ``MultiView`` keeps only ``img`` of each view, so
:class:`LAFSMultiView` replaces it here: it runs one
:class:`TwoImageView` pipeline per view and keeps both images, the mapped
landmarks and each view's crop box and flip.

What the model receives, per sample, after ``PackInputs`` (and, batched,
after ``default_collate``):

- ``inputs``: a list of ``2 V`` (3, S, S) uint8 BGR tensors (batched:
  ``2 V`` tensors (B, 3, S, S)): first the ``V`` photometric images in
  view order (global views first, then local ones: the multi-crop order of
  ``num_views``), then the ``V`` geometric-only images in the same order.
  ``inputs[v]`` and ``inputs[V + v]`` are the same crop of view ``v``.
  ``SelfSupDataPreprocessor`` normalises all of them alike.
- ``data_samples[i].landmarks`` (with ``algorithm_keys=('landmarks',)``
  and a data set with ground-truth ``landmarks``): (V, K, 2) float32 pixel
  (x, y) in every view, following its crop and flip.
- meta (with ``meta_keys``): ``num_views`` (V), ``view_flip`` (V,) bool,
  ``view_crop_bbox`` (V, 4) ``[x1, y1, x2, y2]`` in the original face.
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from facessl.registry import TRANSFORMS

#: Keys :class:`LAFSMultiView` stacks over views when the views have them.
VIEW_KEYS = ('landmarks', 'landmarks_visible')


@TRANSFORMS.register_module()
class TwoImageView(BaseTransform):
    """One view as two images of the same crop: geometric and photometric.

    Runs ``geometric`` (crop, flip: transforms that move pixels and
    landmarks), stores a copy of the result as ``geo_key``, then runs
    ``photometric`` (colour, blur: transforms that change pixel values
    only) on ``img``. With an empty ``photometric`` both images are equal.

    **Required keys:** ``img`` and whatever the transforms need.
    **Modified keys:** ``img`` (photometric image) and the keys the
    transforms modify. **Added keys:** ``geo_key`` (geometric image).

    Args:
        geometric (Sequence[dict | callable]): transforms applied to both
            images, e.g. ``LandmarkRandomResizedCrop`` and
            ``LandmarkRandomFlip``.
        photometric (Sequence[dict | callable]): transforms applied to
            ``img`` only. Defaults to ().
        geo_key (str): key of the geometric-only image.
            Defaults to 'img_geo'.
    """

    def __init__(self,
                 geometric: Sequence[Union[dict, callable]],
                 photometric: Sequence[Union[dict, callable]] = (),
                 geo_key: str = 'img_geo') -> None:
        self.geometric = Compose(list(geometric))
        self.photometric = Compose(list(photometric))
        self.geo_key = geo_key

    def transform(self, results: Dict) -> Dict:
        """Crop/flip, keep the geometric image, then colour the other."""
        results = self.geometric(results)
        results[self.geo_key] = results['img'].copy()
        return self.photometric(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(geometric={self.geometric}, '
                f'photometric={self.photometric}, geo_key={self.geo_key!r})')


@TRANSFORMS.register_module()
class LAFSMultiView(BaseTransform):
    """Multi-crop views that keep two images per view and the landmarks.

    Like mmpretrain's ``MultiView``: pipeline ``j`` of ``transforms`` runs
    ``num_views[j]`` times on a copy of the input, giving ``V =
    sum(num_views)`` views in pipeline order. Each view pipeline must put
    its geometric-only image in ``geo_key`` (use :class:`TwoImageView`);
    with ``geo_key=None`` a view is one image (any pipeline) and only the
    geometry is kept besides it (see :class:`MultiViewWithGeometry`).

    **Required keys:** ``img``. **Modified keys:** ``img`` becomes the
    list of the ``V`` photometric images followed by the ``V`` geometric
    ones (only the ``V`` images with ``geo_key=None``); ``landmarks``
    (V, K, 2) and ``landmarks_visible`` (V, K) when the input has them;
    ``img_shape`` (of one view). **Added keys:**
    ``num_views`` (V), ``view_flip`` (V,) bool, ``view_crop_bbox`` (V, 4)
    int64 (all -1 when a view has no ``crop_bbox``).

    Args:
        transforms (Sequence[Sequence[dict | callable]]): one pipeline per
            kind of view (e.g. first global, second global, local).
        num_views (int | Sequence[int]): views per pipeline, e.g.
            ``[1, 1, 8]``.
        geo_key (str, optional): key of each view's geometric image, or
            None for one image per view. Defaults to 'img_geo'.
    """

    def __init__(self,
                 transforms: Sequence[Sequence[Union[dict, callable]]],
                 num_views: Union[int, Sequence[int]],
                 geo_key: Optional[str] = 'img_geo') -> None:
        if isinstance(num_views, int):
            num_views = [num_views]
        num_views = [int(n) for n in num_views]
        if len(num_views) != len(transforms) or any(n < 0
                                                    for n in num_views):
            raise ValueError(
                f'LAFSMultiView: num_views {num_views} must give a count '
                f'>= 0 for each of the {len(transforms)} pipelines')
        if sum(num_views) == 0:
            raise ValueError('LAFSMultiView: num_views are all 0')
        self.num_views = num_views
        self.pipelines = [Compose(list(t)) for t in transforms]
        self.geo_key = geo_key

    def _views(self, results: Dict) -> List[Dict]:
        views = []
        for pipeline, n in zip(self.pipelines, self.num_views):
            for _ in range(n):
                views.append(pipeline(copy.deepcopy(results)))
        for v, view in enumerate(views):
            if view is None or (self.geo_key is not None
                                and self.geo_key not in view):
                raise KeyError(
                    f'LAFSMultiView: view {v} has no "{self.geo_key}" image; '
                    'wrap each view pipeline in a TwoImageView')
        return views

    def transform(self, results: Dict) -> Dict:
        """Run every view pipeline and gather the two images per view."""
        views = self._views(results)
        results['img'] = [v['img'] for v in views]
        if self.geo_key is not None:
            results['img'] += [v[self.geo_key] for v in views]
        results['img_shape'] = views[0]['img'].shape[:2]
        results['num_views'] = len(views)
        results['view_flip'] = np.array(
            [bool(v.get('flip', False)) for v in views])
        results['view_crop_bbox'] = np.stack([
            np.asarray(v.get('crop_bbox', [-1] * 4), np.int64) for v in views
        ])
        for key in VIEW_KEYS:
            if views[0].get(key) is not None:
                results[key] = np.stack([np.asarray(v[key]) for v in views])
        if self.geo_key is not None:
            results.pop(self.geo_key, None)
        return results

    def __repr__(self) -> str:
        out = f'{type(self).__name__}(geo_key={self.geo_key!r}'
        for p, n in zip(self.pipelines, self.num_views):
            out += f'\n  {n} view(s) of {p}'
        return out + ')'



@TRANSFORMS.register_module()
class MultiViewWithGeometry(LAFSMultiView):
    """mmpretrain's ``MultiView`` that also keeps each view's crop and flip.

    :class:`LAFSMultiView` with one image per view (``geo_key=None``): for
    methods that relate the views' pixels, e.g. FRA's semantic
    consistency. Build the views with ``LandmarkRandomResizedCrop``
    (stores ``crop_bbox``) and ``LandmarkRandomFlip`` (stores ``flip``);
    both work without landmarks.

    **Modified keys:** ``img`` (list of the ``V`` views), ``img_shape`` and
    the landmarks as :class:`LAFSMultiView`. **Added keys:** ``num_views``,
    ``view_flip`` (V,) bool, ``view_crop_bbox`` (V, 4) int64 (pack them with
    ``PackInputs(meta_keys=(...))``).

    Args:
        transforms (Sequence[Sequence[dict | callable]]): one pipeline per
            kind of view.
        num_views (int | Sequence[int]): views per pipeline.
    """

    def __init__(self,
                 transforms: Sequence[Sequence[Union[dict, callable]]],
                 num_views: Union[int, Sequence[int]]) -> None:
        super().__init__(transforms, num_views, geo_key=None)
