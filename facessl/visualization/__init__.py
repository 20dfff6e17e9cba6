"""facessl.visualization."""
from .attention import (attention_grid, block_attention,  # noqa: F401
                        cls_attention_maps, last_block, last_block_attention,
                        overlay)
from .grid import (caption_strip, default_view_names, tile_grid,  # noqa: F401
                   to_rgb_image, view_grid)
from .landmarks import draw_landmarks, landmark_grid  # noqa: F401
from .landmarks import (draw_landmark_ids, landmark_colours,  # noqa: F401
                        patch_mosaic, patches_to_images, view_landmark_grid)
from .region_heatmaps import (probability_overlay,  # noqa: F401
                              region_heatmap_grid, region_map)
from .berl import (berl_panel, berl_pictures, rotated_views,  # noqa: F401
                   shade_depth)
from .retrieval import (activation_grid, feature_energy_maps,  # noqa: F401
                        nearest_neighbours, retrieval_grid)
