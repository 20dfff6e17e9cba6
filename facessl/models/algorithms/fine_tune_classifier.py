"""A classifier fine-tuned from a pretrained backbone loaded strictly."""
from facessl.registry import MODELS
from .frozen_backbone_classifier import FrozenBackboneClassifier


@MODELS.register_module()
class FineTuneClassifier(FrozenBackboneClassifier):
    """:class:`FrozenBackboneClassifier` whose backbone trains too.

    The backbone's ``Pretrained`` ``init_cfg`` is loaded strictly by
    :func:`facessl.models.utils.load_pretrained` (mmpretrain's
    ``ImageClassifier`` loads it non-strictly: a wrong prefix would
    fine-tune a random network silently); all parameters train and
    ``train()`` switches the backbone's dropout/drop path as usual. For
    the attribute protocol: a ViT with ``out_type='cls_token'`` and
    ``final_norm=True`` (the layer-normed cls token), mmpretrain's
    ``MultiLabelLinearClsHead`` (BCE) and layer-wise lr decay
    (``FaceLayerDecayOptimWrapperConstructor``).

    Args: as :class:`FrozenBackboneClassifier`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.backbone.requires_grad_(True)
        self.backbone.train()

    def train(self, mode: bool = True) -> 'FineTuneClassifier':
        """Set train/eval mode of every sub-module, backbone included."""
        super(FrozenBackboneClassifier, self).train(mode)
        return self
