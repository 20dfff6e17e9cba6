"""3-D face template: 68 iBUG 300-W landmarks, dense contours, a face mesh.

Template frame (before pose): ``x`` to the image right, ``y`` down, ``z``
away from the camera; one unit is roughly half the face width. The eye
centres lie on ``y = 0``; the face is left/right symmetric about ``x = 0``.
"Left"/"right" below mean *image* left/right of a frontal face (iBUG's
"right eye" 36-41 is the image-left eye).

Landmark order (iBUG 300-W, 68 points)::

    0-16  jaw, image-left ear level -> chin (8) -> image-right ear level
    17-21 image-left brow, outer -> inner;  22-26 image-right brow, inner
          -> outer
    27-30 nose bridge, top -> tip;  31-35 nostril base, left -> right
    36-41 image-left eye: 36 outer corner, 37-38 upper lid, 39 inner
          corner, 40-41 lower lid
    42-47 image-right eye: 42 inner corner, 43-44 upper lid, 45 outer
          corner, 46-47 lower lid
    48-59 outer lips: 48 left corner, 49-53 upper lip, 54 right corner,
          55-59 lower lip (right -> left)
    60-67 inner lips: 60 left corner, 61-63 upper, 64 right corner, 65-67
          lower (right -> left)

Dense landmarks: the 68 points followed by ``DENSE_PER_SEGMENT = 2`` points
interpolated (in 3-D, before projection) inside each of the 63 segments of
the contours in :data:`CONTOURS`, i.e. ``NUM_DENSE_LANDMARKS = 194``.

Mesh vertices: the 68 landmarks, :data:`NUM_ARC` forehead (hairline) points
and :data:`NUM_INNER` inner points (cheeks, temples, forehead, nose sides);
:data:`MESH_TRIANGLES` is a Delaunay triangulation of the mean frontal
template (without the eye-lid and inner-lip points) used for shading and
the depth map.
"""
from typing import Dict, Tuple

import numpy as np

NUM_LANDMARKS = 68
DENSE_PER_SEGMENT = 2

#: name -> (first index, last index, closed loop?)
CONTOURS: Dict[str, Tuple[int, int, bool]] = {
    'jaw': (0, 16, False),
    'brow_left': (17, 21, False),
    'brow_right': (22, 26, False),
    'nose_bridge': (27, 30, False),
    'nostrils': (31, 35, False),
    'eye_left': (36, 41, True),
    'eye_right': (42, 47, True),
    'lips_outer': (48, 59, True),
    'lips_inner': (60, 67, True),
}


def _flip_indices() -> Tuple[int, ...]:
    pairs = [(i, 16 - i) for i in range(8)]
    pairs += [(17 + i, 26 - i) for i in range(5)]
    pairs += [(31, 35), (32, 34)]
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]
    pairs += [(60, 64), (61, 63), (65, 67)]
    flip = list(range(NUM_LANDMARKS))
    for a, b in pairs:
        flip[a], flip[b] = b, a
    return tuple(flip)


#: iBUG mirror partner of every landmark (for horizontal flips).
FLIP_INDICES: Tuple[int, ...] = _flip_indices()


def _segments() -> np.ndarray:
    segs = []
    for first, last, closed in CONTOURS.values():
        idx = list(range(first, last + 1))
        segs += list(zip(idx[:-1], idx[1:]))
        if closed:
            segs.append((last, first))
    return np.asarray(segs, dtype=np.int64)


SEGMENTS = _segments()
NUM_DENSE_LANDMARKS = NUM_LANDMARKS + DENSE_PER_SEGMENT * len(SEGMENTS)


def _dense_weights() -> np.ndarray:
    """(D, 68) matrix mapping the 68 points to the dense points."""
    w = np.zeros((NUM_DENSE_LANDMARKS, NUM_LANDMARKS), np.float32)
    w[:NUM_LANDMARKS] = np.eye(NUM_LANDMARKS)
    row = NUM_LANDMARKS
    for a, b in SEGMENTS:
        for k in range(1, DENSE_PER_SEGMENT + 1):
            t = k / (DENSE_PER_SEGMENT + 1)
            w[row, a], w[row, b] = 1 - t, t
            row += 1
    return w


DENSE_WEIGHTS = _dense_weights()


def dense_points(points: np.ndarray) -> np.ndarray:
    """Interpolate the dense landmarks from the 68 (3-D or 2-D) points.

    Args:
        points (np.ndarray): (68, C) landmark coordinates.

    Returns:
        np.ndarray: (NUM_DENSE_LANDMARKS, C); the first 68 rows are
        ``points``.
    """
    return DENSE_WEIGHTS @ points[:NUM_LANDMARKS]


NUM_ARC = 9
#: Inner mesh points (frontal x, y) of the mean face; mirrored pairs.
_INNER = np.array([[-0.58, 0.4], [0.58, 0.4], [-0.52, 0.85], [0.52, 0.85],
                   [-0.3, 1.25], [0.3, 1.25], [-0.8, -0.32],
                   [0.8, -0.32], [-0.4, -0.58], [0.4, -0.58], [0., -0.52],
                   [-0.2, 0.3], [0.2, 0.3], [-0.76, 0.25], [0.76, 0.25],
                   [0., 1.28]], np.float64)
NUM_INNER = len(_INNER)
NUM_MESH_VERTICES = NUM_LANDMARKS + NUM_ARC + NUM_INNER
#: Head-outline vertex indices in polygon order (jaw then hairline arc).
OUTLINE = np.arange(NUM_LANDMARKS + NUM_ARC)[np.r_[0:17, 68:68 + NUM_ARC]]


def surface_depth(x, y, half_width):
    """Template z of the smooth face surface (no features) at (x, y).

    Args:
        x (np.ndarray): frontal template x.
        y (np.ndarray): frontal template y.
        half_width (float): the identity's ``head_width``.

    Returns:
        np.ndarray: z (away from the camera) of the surface.
    """
    u = np.minimum(np.square(x / (1.04 * half_width)), 1.)
    return 0.85 * (1 - np.sqrt(1 - u)) + 0.12 * (y - 0.2)**2


def build_face(shape, expr) -> np.ndarray:
    """3-D mesh vertices of one face in the template frame.

    Args:
        shape: identity geometry, an object with the float attributes of
            :class:`~facessl.datasets.synthetic.identity.IdentityParams`
            (``head_width``, ``eye_spacing``, ...).
        expr: expression, an object with ``smile``, ``mouth_open``,
            ``brow_raise`` and ``eye_closure`` in [0, 1].

    Returns:
        np.ndarray: (NUM_MESH_VERTICES, 3) float64; rows 0-67 are the
        landmarks in iBUG order, then the hairline arc (image right to
        left), then the inner points.
    """
    s, o = expr.smile, expr.mouth_open
    p = np.zeros((NUM_MESH_VERTICES, 2))
    dz = np.zeros(NUM_MESH_VERTICES)
    hw = shape.head_width
    # jaw: a tapered super-ellipse from ear level to the chin
    y0, chin = -0.05, 1.5 * shape.face_length
    phi = np.linspace(0., np.pi, 17)
    c, sn = np.cos(phi), np.sin(phi)
    e = 2. / shape.jaw_squareness
    taper = 1 - shape.jaw_taper * sn**2
    p[:17, 0] = -hw * np.sign(c) * np.abs(c)**e * taper
    p[:17, 1] = y0 + (chin - y0) * sn**e + 0.16 * o * sn**6
    dz[:17] = -0.05 * sn**4
    # eyes (image-left, then mirrored)
    ex, ew = 0.41 * shape.eye_spacing, 0.17 * shape.eye_width
    eh = 0.07 * shape.eye_height
    lower = eh * 0.8 - 0.02 * s
    upper = -eh + (lower + eh) * expr.eye_closure * 0.95
    tilt = shape.eye_tilt
    p[36:42] = [[-ex - ew, -tilt], [-ex - ew / 3, upper - 0.3 * tilt],
                [-ex + ew / 3, upper], [-ex + ew, 0.],
                [-ex + ew / 3, lower], [-ex - ew / 3, lower - 0.3 * tilt]]
    dz[36:42] = 0.04
    # brows
    t = np.linspace(0., 1., 5)
    bx = -ex - 1.3 * ew + t * (ex + 1.3 * ew - 0.14)
    by = (-0.2 - shape.brow_height - shape.brow_arch * np.sin(np.pi * t) +
          shape.brow_tilt * (t - 0.5) - 0.08 * expr.brow_raise * (0.6 + t))
    p[17:22] = np.stack([bx, by], 1)
    dz[17:22] = -0.03
    # nose
    tip = 0.55 * shape.nose_length
    nw, nd = shape.nose_width, shape.nose_depth
    p[27:31] = [[0., -0.04], [0., tip * 0.35], [0., tip * 0.68], [0., tip]]
    dz[27:31] = np.array([-0.06, -0.13, -0.22, -0.32]) * nd
    p[31:34] = [[-0.17 * nw, tip + 0.03], [-0.085 * nw, tip + 0.075],
                [0., tip + 0.09]]
    dz[31:34] = np.array([-0.06, -0.11, -0.16]) * nd
    # mouth
    my = tip + 0.4 * shape.face_length + shape.mouth_drop
    mw = 0.33 * shape.mouth_width
    ul, ll = 0.065 * shape.upper_lip, 0.085 * shape.lower_lip
    cx, cy = mw + 0.05 * s, my - 0.075 * s
    gap = 0.26 * o
    p[48:52] = [[-cx, cy], [-0.6 * mw, my - 0.9 * ul - 0.03 * s],
                [-0.22 * mw, my - 1.1 * ul - 0.01 * s], [0., my - 0.85 * ul]]
    p[55:60] = [[0.6 * mw, my + 0.8 * ll + 0.75 * gap - 0.035 * s],
                [0.25 * mw, my + ll + 0.95 * gap - 0.01 * s],
                [0., my + 1.05 * ll + gap],
                [-0.25 * mw, my + ll + 0.95 * gap - 0.01 * s],
                [-0.6 * mw, my + 0.8 * ll + 0.75 * gap - 0.035 * s]]
    p[60:63] = [[-0.88 * cx, cy + 0.003], [-0.4 * mw, my - 0.01 - 0.04 * s],
                [0., my - 0.008 - 0.01 * s]]
    p[65:68] = [[0.4 * mw, my + 0.004 + 0.8 * gap - 0.03 * s],
                [0., my + 0.006 + gap],
                [-0.4 * mw, my + 0.004 + 0.8 * gap - 0.03 * s]]
    dz[48:68] = -0.05
    dz[[49, 50, 51, 52, 53, 56, 57, 58]] = -0.08
    dz[60:68] = -0.02
    # mirror the image-left halves onto the image-right points
    for a in range(NUM_LANDMARKS):
        b = FLIP_INDICES[a]
        if a in (22, 23, 24, 25, 26, 34, 35, 42, 43, 44, 45, 46, 47, 52, 53,
                 54, 63, 64):
            p[a] = (-p[b, 0], p[b, 1])
            dz[a] = dz[b]
    # hairline arc (image right -> left) and inner points
    theta = np.linspace(0., np.pi, NUM_ARC + 2)[1:-1]
    top = 0.62 * shape.forehead_height
    arc = slice(NUM_LANDMARKS, NUM_LANDMARKS + NUM_ARC)
    p[arc, 0] = 0.97 * hw * np.cos(theta)
    p[arc, 1] = y0 - top * np.sin(theta)**0.8 - 0.2 * np.sin(theta)
    inner = _INNER * [hw, 1.]
    inner[[4, 5, 15], 1] *= shape.face_length
    inner[[4, 5, 15], 1] += 0.16 * o
    inner[[8, 9, 10], 1] *= shape.forehead_height
    inner[11:13, 0] *= nw
    inner[11:13, 1] = tip * 0.55
    p[NUM_LANDMARKS + NUM_ARC:] = inner
    dz[NUM_LANDMARKS + NUM_ARC + 11:NUM_LANDMARKS + NUM_ARC + 13] = -0.05 * nd
    z = surface_depth(p[:, 0], p[:, 1], hw) + dz
    return np.concatenate([p, z[:, None]], 1)


#: Eye-lid and inner-lip points are left out of the mesh (fewer, fatter
#: triangles; the lids and lips barely change the surface).
_NOT_IN_MESH = np.array([37, 38, 40, 41, 43, 44, 46, 47, 60, 61, 62, 63, 64,
                         65, 66, 67])


def _mesh_triangles() -> np.ndarray:
    """Delaunay triangles of the mean frontal template, CCW on screen.

    Triangles outside the head outline (concave corners of the hull) are
    dropped, so the mesh covers the face polygon and nothing else.
    """
    from types import SimpleNamespace

    import cv2
    from scipy.spatial import Delaunay

    from .identity import IdentityParams
    expr = SimpleNamespace(
        smile=0., mouth_open=0., brow_raise=0., eye_closure=0.)
    pts = build_face(IdentityParams.mean(), expr)[:, :2]
    keep = np.setdiff1d(np.arange(len(pts)), _NOT_IN_MESH)
    tris = keep[Delaunay(pts[keep]).simplices]
    outline = pts[OUTLINE].astype(np.float32)
    centre = pts[tris].mean(1)
    inside = [
        cv2.pointPolygonTest(outline, (float(x), float(y)), False) >= 0
        for x, y in centre
    ]
    tris = tris[np.asarray(inside)]
    a, b, c = (pts[tris[:, k]] for k in range(3))
    cross = ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) -
             (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    tris[cross < 0] = tris[cross < 0][:, ::-1]
    return tris


MESH_TRIANGLES = _mesh_triangles()
