"""Read and rewrite the multi-crop part of a pretraining config.

Used by tools that change how a config's views are made (e.g.
``tools/analysis/pros_report.py`` switching to the batched path with
un-augmented crops for ProS's crop filter).
"""
from facessl.models.utils.photometric_preprocessor import batched_views

#: multi-crop transforms of a pretraining pipeline (``num_views`` each)
MULTIVIEWS = ('MultiView', 'MultiViewWithGeometry', 'LAFSMultiView')


def plain(value):
    """``value`` with every (Config)dict a plain dict, for option values."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def find_views(cfg) -> tuple:
    """``(index, transform)`` of the multi-crop transform (one of
    :data:`MULTIVIEWS`) in the pretraining pipeline."""
    for i, step in enumerate(cfg.train_dataloader.dataset.pipeline):
        if step['type'].split('.')[-1] in MULTIVIEWS:
            return i, step
    raise KeyError(f'{cfg.filename}: train_dataloader.dataset.pipeline has '
                   f'no multi-crop transform (one of {", ".join(MULTIVIEWS)})')


def local_views_per_image(cfg) -> int:
    """Local views of one image in the pretraining pipeline (the views
    after the first ``model.num_global_views``; un-augmented copies, of a
    ``LAFSMultiView`` or appended by the preprocessor, not counted)."""
    views = find_views(cfg)[1]['num_views']
    views = views if isinstance(views, (list, tuple)) else [views]
    return sum(views) - cfg.model.get('num_global_views', 2)


def unaugmented_copy_options(cfg) -> dict:
    """Options that give every view its un-augmented crop (ProS's crop
    filter scores them): ``MultiViewWithGeometry`` crops and flips on the
    workers, ``MultiViewPhotometricPreprocessor`` with
    ``append_unaugmented`` applies the config's photometric recipe (a
    per-image ``MultiView`` is split, see ``batched_views``) and appends
    the crops; ``PackInputs`` packs ``num_views``. Empty when the
    views already carry the crops (``LAFSMultiView`` of ``TwoImageView``).
    """
    index, views = find_views(cfg)
    views = plain(views)
    if views['type'].split('.')[-1] == 'LAFSMultiView' and views.get(
            'geo_key', 'img_geo') is not None:
        return {}
    geometric, prep = batched_views(
        views, plain(cfg.get('data_preprocessor') or {}), True)
    pipeline = plain(list(cfg.train_dataloader.dataset.pipeline))
    pipeline[index] = dict(type='MultiViewWithGeometry',
                           num_views=[g['num_views']
                                      for g in prep['view_groups']],
                           transforms=geometric)
    for step in pipeline:
        if step['type'].split('.')[-1] == 'PackInputs':
            keys = tuple(step.get('meta_keys', ()))
            step['meta_keys'] = keys + ('num_views', ) * (
                'num_views' not in keys)
    return {'train_dataloader.dataset.pipeline': pipeline,
            'data_preprocessor': prep}
