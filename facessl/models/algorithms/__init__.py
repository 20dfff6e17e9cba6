"""facessl.models.algorithms."""
from .teacher_student import TeacherStudent  # noqa: F401
from .dino import DINO  # noqa: F401
