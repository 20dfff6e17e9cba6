"""facessl.engine.hooks."""
from .checkpoint_hook import AtomicCheckpointHook
from .nan_guard import NaNGuardHook
from .preemption_hook import PreemptionHook, TrainingInterrupted
from .seed_hook import EpochSeedHook
from .validate_at_start import ValidateAtStartHook
from .visualization_hook import SSLVisualizationHook  # noqa: F401
from .freeze_last_layer_hook import FreezeLastLayerHook  # noqa: F401
from .teacher_ema_hook import TeacherEMAHook  # noqa: F401
from .teacher_temp_hook import TeacherTempHook  # noqa: F401
from .landmark_reg_hook import LandmarkRegWeightHook  # noqa: F401
from .lafs_visualization_hook import LAFSVisualizationHook  # noqa: F401
from .fra_visualization_hook import \
    FRAHeatmapVisualizationHook  # noqa: F401
from .berl_stage_hook import BERLStageHook  # noqa: F401
from .berl_visualization_hook import BERLVisualizationHook  # noqa: F401
from .partial_fc_hook import PartialFCCheckpointHook  # noqa: F401
from .diagnostics_hook import DiagnosticsHook  # noqa: F401
