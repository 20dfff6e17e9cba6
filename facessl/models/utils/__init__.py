"""facessl.models.utils."""
from .ema import ema_update_  # noqa: F401
from .pretrained import load_pretrained  # noqa: F401
from .landmark_aug import (LandmarkPerturb, LandmarkShuffle,  # noqa: F401
                           LandmarkSubset, apply_landmark_augs,
                           build_landmark_augs, stack_view_landmarks)
from .heatmaps import (decode_heatmaps, hard_argmax,  # noqa: F401
                       render_gaussian_heatmaps, scale_points, soft_argmax)
from .crop_retrieval import FaceAwareCropFilter  # noqa: F401
from .view_correspondence import (grid_points, sample_at,  # noqa: F401
                                  view_correspondence)
from .sharding import (ShardInfo, gather_rows, shard_range,  # noqa: F401
                       slice_rows)
from .heatmap_overlap import (heatmap_overlap,  # noqa: F401
                              mean_pairwise_overlap)
from .photometric_preprocessor import (  # noqa: F401
    MultiViewPhotometricPreprocessor, PhotometricAugment)
