"""Weight converters: backbone extraction and published layouts."""
from .backbone import backbone_prefix, extract_backbone  # noqa: F401
from .common import (read_checkpoint, save_backbone,  # noqa: F401
                     select_prefix, strip_prefixes)
from .dino import (convert_dino, convert_head, convert_vit,  # noqa: F401
                   vit_backbone_config)
from .insightface import (convert_iresnet,  # noqa: F401
                          iresnet_backbone_config)
