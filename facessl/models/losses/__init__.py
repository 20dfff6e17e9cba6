"""facessl.models.losses."""
from .dino_loss import DINOLoss, dino_loss  # noqa: F401
from .margin_losses import (ArcFaceMargin, CosFaceMargin,  # noqa: F401
                            CurricularFaceMargin, arcface_logits,
                            cosface_logits, curricular_logits,
                            curricular_t_update)
from .pros_loss import (ProSLoss, mean_entropy, me_max,  # noqa: F401
                        pros_loss, prototype_assignments)
from .fra_loss import (RegionContrastLoss,  # noqa: F401
                       SemanticConsistencyLoss, region_contrast_loss,
                       balanced_assignments, semantic_consistency_loss,
                       pixel_region_information, target_assignments)
from .dist_softmax import dist_softmax_cross_entropy  # noqa: F401
from .reconstruction_loss import (masked_l1_loss,  # noqa: F401
                                  total_variation_loss)
from .heatmap_loss import heatmap_soft_ce  # noqa: F401
