"""Head pose and weak-perspective camera of the synthetic faces.

Camera frame: ``x`` to the image right, ``y`` down, ``z`` away from the
camera (pixel units). A template point ``X`` maps to the image as::

    (u, v, depth) = scale * R(yaw, pitch, roll) @ (X - HEAD_CENTRE)
                    + (cx, cy, 0)

Angles are in degrees. Positive **yaw** turns the face towards the image
right (the nose tip moves to larger ``u``); positive **pitch** lifts the
chin (the nose tip moves up, to smaller ``v``); positive **roll** rotates
the face clockwise on screen (the image-right eye moves down).
"""
import numpy as np

#: Rotation centre of the head in template units (between the ears).
HEAD_CENTRE = np.array([0., 0.3, 0.85])


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation ``R = R_roll @ R_pitch @ R_yaw`` of the documented pose.

    Args:
        yaw (float): degrees about the vertical axis.
        pitch (float): degrees about the horizontal axis.
        roll (float): degrees about the optical axis.

    Returns:
        np.ndarray: (3, 3) rotation matrix.
    """
    y, p, r = np.deg2rad([yaw, pitch, roll])
    cy, sy, cp, sp, cr, sr = (np.cos(y), np.sin(y), np.cos(p), np.sin(p),
                              np.cos(r), np.sin(r))
    r_yaw = np.array([[cy, 0., -sy], [0., 1., 0.], [sy, 0., cy]])
    r_pitch = np.array([[1., 0., 0.], [0., cp, sp], [0., -sp, cp]])
    r_roll = np.array([[cr, -sr, 0.], [sr, cr, 0.], [0., 0., 1.]])
    return r_roll @ r_pitch @ r_yaw


class Camera:
    """Weak-perspective projection of template points for one image.

    Args:
        rotation (np.ndarray): (3, 3) head rotation.
        scale (float): pixels per template unit.
        centre (tuple[float, float]): image position of ``HEAD_CENTRE``.
    """

    def __init__(self, rotation: np.ndarray, scale: float, centre) -> None:
        self.rotation = rotation
        self.scale = float(scale)
        self.offset = np.array([centre[0], centre[1], 0.])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """Template points (N, 3) -> camera frame (N, 3), pixel units."""
        return (self.scale * (points - HEAD_CENTRE) @ self.rotation.T +
                self.offset)

    def directions(self, vectors: np.ndarray) -> np.ndarray:
        """Rotate template directions (N, 3) into the camera frame."""
        return vectors @ self.rotation.T
