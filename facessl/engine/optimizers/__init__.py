"""facessl.engine.optimizers."""
from .per_param_clip import (AMP_WRAPPERS, PerParamClipAmpOptimWrapper,  # noqa
                             PerParamClipOptimWrapper, clip_grad_per_param_)
from .layer_decay import (FaceLayerDecayOptimWrapperConstructor,  # noqa
                          vit_layer_depth)
from .module_groups import ModuleGroupsOptimWrapperConstructor  # noqa
