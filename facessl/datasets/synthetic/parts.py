"""Albedo drawers for the parts of a synthetic face (eyes, mouth, hair...).

Every drawer takes a :class:`FaceContext` (the projected face of one
image) and draws BGR albedo in place; lighting is applied afterwards by
:mod:`.render`. Geometry is built in the template frame and projected, so
every part follows the head pose.
"""
import cv2
import numpy as np

from . import draw
from .template import NUM_ARC, NUM_LANDMARKS, surface_depth

_ARC = slice(NUM_LANDMARKS, NUM_LANDMARKS + NUM_ARC)
_STRAND_T = np.linspace(0.08, 1., 7)[None]
_BROW_PROFILE = np.array([0.55, 0.85, 1., 1., 0.95, 0.95, 1., 1., 0.85,
                          0.55])[:, None]
_UPPER_LIDS = [36, 37, 38, 39, 42, 43, 44, 45]
# ear outline (14 points) then the inner fold (8 points); the ear plane
# holds the template y axis and the direction (0.34, 0, 0.94 * side)
_EAR_T = np.linspace(0., 2 * np.pi, 14, endpoint=False)
_EAR_RING = np.concatenate([
    np.stack([0.34 * np.cos(_EAR_T), np.sin(_EAR_T), 0.94 * np.cos(_EAR_T)],
             1),
    np.stack([0.17 * np.cos(_EAR_T[3:11]), 0.57 * np.sin(_EAR_T[3:11]),
              0.47 * np.cos(_EAR_T[3:11])], 1)
])
_NOSE_WING = np.array([[0.01, -0.1, 0.02], [0.04, -0.05, 0.01],
                       [0.03, 0.01, 0.], [0., 0.03, 0.]])


class FaceContext:
    """The projected face of one image, shared by the part drawers.

    Args:
        ident (IdentityParams): the identity.
        params (ImageParams): the image parameters.
        camera (Camera): the image's camera.
        verts (np.ndarray): (V, 3) template-frame mesh vertices.
        img (np.ndarray): (H, W, 3) uint8 albedo canvas.
    """

    def __init__(self, ident, params, camera, verts, img):
        self.ident, self.params, self.camera = ident, params, camera
        self.verts = verts
        self.cam = camera.to_camera(verts)
        self.pts = self.cam[:, :2]
        self.img = img
        self.unit = img.shape[0] / 112.  # pixel scale of line widths

    def project(self, points: np.ndarray) -> np.ndarray:
        """Template points (N, 3) -> image points (N, 2)."""
        return self.camera.to_camera(np.asarray(points, float))[:, :2]

    def on_surface(self, xy: np.ndarray, lift: float = 0.) -> np.ndarray:
        """Frontal (N, 2) points placed on the smooth face surface."""
        z = surface_depth(xy[:, 0], xy[:, 1], self.ident.head_width)
        return np.concatenate([xy, (z - lift)[:, None]], 1)

    def facing(self, normals: np.ndarray) -> np.ndarray:
        """Whether template normals (N, 3) face the camera."""
        return self.camera.directions(normals)[:, 2] < -0.05

    def thick(self, width: float) -> int:
        """Line width in pixels for a width given at 112 px."""
        return max(1, int(round(width * self.unit)))


def skull(ctx: FaceContext, volume: float = 0.):
    """Centre and semi-axes of the skull (plus hair ``volume``)."""
    ident = ctx.ident
    centre = np.array([0., -0.25, 0.85])
    axes = np.array([1.02 * ident.head_width,
                     0.8 + 0.1 * ident.forehead_height, 1.05]) + volume
    return centre, axes


def ears(ctx: FaceContext, skin: np.ndarray) -> list:
    """Draw the ears that face the camera.

    Returns:
        list: ``(side, outline, normal)`` of each ear drawn; ``side`` is -1
        (image left) or +1, ``outline`` its (N, 2) polygon and ``normal``
        its (3,) template-frame normal.
    """
    ident, shown = ctx.ident, []
    normals = np.array([[-0.94, 0., -0.34], [0.94, 0., -0.34]])
    facing = ctx.facing(normals)
    if not facing.any():
        return shown
    size = ident.ear_size
    ring = _EAR_RING * [0.14 * size, 0.3 * size, 0.14 * size]
    fill, lines = [], []
    for side, normal, ok in zip((-1., 1.), normals, facing):
        if ok:
            centre = np.array([side * 0.99 * ident.head_width, 0.25, 0.9])
            pts = ctx.project(centre + ring * [1., 1., side])
            fill.append(pts[:14])
            lines.append(pts[14:])
            shown.append((side, pts[:14], normal))
    draw.fill(ctx.img, fill, draw.colour(skin))
    draw.polyline(ctx.img, lines, draw.colour(skin * 0.7), ctx.thick(1))
    return shown


def hair_strands(ctx: FaceContext, centre, axes, hair: np.ndarray):
    """Identity-fixed strands on the hair ellipsoid (visible parts)."""
    strands = ctx.ident.strands
    if not len(strands):
        return
    polar = _STRAND_T * strands[:, 1:2]  # (K, 7)
    azim = strands[:, 0:1]
    unit = np.stack([
        np.sin(polar) * np.sin(azim), -np.cos(polar),
        -np.sin(polar) * np.cos(azim)
    ], -1).reshape(-1, 3)
    vis = ctx.facing(unit / axes).reshape(len(strands), -1)
    pts = ctx.project(centre + unit * axes).reshape(len(strands), -1, 2)
    width = ctx.thick(1)
    for tone in (0.65, 1.35):
        lines = [p[v] for p, v in zip(pts, vis) if v.sum() >= 2]
        if lines:
            cv2.polylines(ctx.img, [draw.fixed(p) for p in lines], False,
                          draw.colour(hair * tone), width, cv2.LINE_AA,
                          draw.SHIFT)
        pts, vis = pts[1::2], vis[1::2]


def curls(ctx: FaceContext, outline: np.ndarray, hair: np.ndarray,
          centre_y: float):
    """Curly hair: circles along the upper half of the hair outline."""
    radius = 0.12 * ctx.camera.scale
    for k, pt in enumerate(outline[::2]):
        if pt[1] < centre_y + radius:
            tone = 1.0 if k % 2 else 0.8
            draw.circle(ctx.img, pt, radius, draw.colour(hair * tone))


def long_hair(ctx: FaceContext, hair: np.ndarray):
    """A curtain of long hair behind the head, to the shoulders."""
    hw = ctx.ident.head_width
    quad = np.array([[-1.08 * hw, -0.3, 1.0], [1.08 * hw, -0.3, 1.0],
                     [1.2 * hw, 1.9, 1.1], [0.5, 2.0, 1.1], [-0.5, 2.0, 1.1],
                     [-1.2 * hw, 1.9, 1.1]])
    draw.fill(ctx.img, ctx.project(quad), draw.colour(hair * 0.85))


def fringe(ctx: FaceContext, hair: np.ndarray):
    """Hair over the forehead: a fringe, a side part or a curly hairline."""
    ident = ctx.ident
    style = ident.hair_style_name
    arc = ctx.verts[_ARC]
    brow_y = min(ctx.verts[17:27, 1].min() - 0.06, -0.3)
    if style == 'curly':
        for k, pt in enumerate(ctx.project(arc)):
            draw.circle(ctx.img, pt, 0.09 * ctx.camera.scale,
                        draw.colour(hair * (0.9 + 0.2 * (k % 2))))
        return
    if style not in ('fringe', 'side_part', 'long'):
        return
    x = arc[::-1, 0]
    side = 1 - np.abs(x / x.max())**3
    if style == 'fringe':
        depth = ident.fringe_depth * (0.5 + 0.5 * side)
    elif style == 'side_part':
        depth = ident.fringe_depth * np.clip(
            0.55 + 0.6 * ident.part_side * x / x.max(), 0.1, 1.)
    else:
        depth = 0.35 * ident.fringe_depth * side
    y = arc[::-1, 1] + (brow_y - arc[::-1, 1]) * depth
    jag = np.where(np.arange(len(x)) % 2 == 0, 0.04, -0.02)
    lower = ctx.on_surface(np.stack([x, y + jag * side], 1), lift=0.03)
    top = arc + [0., -0.04, -0.02]
    draw.fill(ctx.img, ctx.project(np.concatenate([top, lower])),
              draw.colour(hair))


def spots(ctx: FaceContext, skin: np.ndarray):
    """Moles and freckles (identity texture) where they face the camera."""
    ident, hw = ctx.ident, ctx.ident.head_width
    for xy, size, col in ((ident.moles, 0.028, np.array([40., 50., 70.])),
                          (ident.freckles, 0.016, skin * 0.78)):
        if not len(xy):
            continue
        xy = xy * [hw, 1.]
        pts3 = ctx.on_surface(xy, lift=0.01)
        normal = np.stack([-xy[:, 0] / hw**2, np.zeros(len(xy)),
                           -np.ones(len(xy))], 1)
        vis = ctx.facing(normal)
        for pt in ctx.project(pts3[vis]):
            draw.circle(ctx.img, pt, size * ctx.camera.scale,
                        draw.colour(col))


def facial_hair(ctx: FaceContext, hair: np.ndarray):
    """Beard (along the jaw) and moustache (above the upper lip)."""
    v, ident = ctx.verts, ctx.ident
    if ident.beard:
        mouth = np.array([0., v[48:55, 1].mean(), v[51, 2]])
        jaw = v[2:15]
        inner = jaw[::-1] + (mouth - jaw[::-1]) * 0.5 + [0., 0., -0.02]
        draw.fill(ctx.img, ctx.project(np.concatenate([jaw, inner])),
                  draw.colour(hair * 0.95))
    if ident.moustache:
        top = v[31:36] + [0., 0.035, -0.02]
        bottom = v[[54, 53, 52, 51, 50, 49, 48]] + [0., -0.015, -0.03]
        bottom[0] += [0.04, 0.07, 0.]
        bottom[-1] += [-0.04, 0.07, 0.]
        draw.fill(ctx.img, ctx.project(np.concatenate([top, bottom])),
                  draw.colour(hair * 0.9))


def brows(ctx: FaceContext, hair: np.ndarray):
    """Both eyebrows, thicker at the inner end."""
    th = ctx.ident.brow_thickness * _BROW_PROFILE
    up = ctx.verts[17:27] - th * [0., 0.6, 0.]
    down = ctx.verts[17:27] + th * [0., 0.4, 0.]
    pts = ctx.project(np.concatenate([up, down]))
    left = np.r_[0:5, 14:9:-1]
    draw.fill(ctx.img, [pts[left], pts[left + 5]], draw.colour(hair * 0.85))


def eyes(ctx: FaceContext, skin: np.ndarray):
    """Sclera, iris and pupil clipped to the lids; lashes and creases."""
    ident, params = ctx.ident, ctx.params
    lids = [ctx.pts[36:42], ctx.pts[42:48]]
    crease = ctx.project(ctx.verts[_UPPER_LIDS] + [0., -0.045, 0.])
    draw.polyline(ctx.img, [crease[:4], crease[4:]],
                  draw.colour(skin * 0.75), ctx.thick(0.8))
    if params.eye_closure < 0.85:
        half_w = 0.17 * ident.eye_width
        offset = [params.gaze[0] * 0.4 * half_w, params.gaze[1] * 0.02,
                  -0.02]
        centres = np.stack([ctx.verts[36:42].mean(0),
                            ctx.verts[42:48].mean(0)]) + offset
        radius = 0.42 * half_w * ctx.camera.scale
        draw.fill(ctx.img, lids, (225., 230., 235.))
        for centre in ctx.project(centres):
            draw.circle(ctx.img, centre, radius, draw.colour(ident.iris))
            draw.circle(ctx.img, centre, 0.45 * radius, (15., 15., 20.))
        # clip the irises to the lids: skin around each eye opening
        rings = []
        for lid in lids:
            mid = lid.mean(0)
            rings += [mid + (lid - mid) * 1.7, lid[::-1]]
        draw.fill(ctx.img, rings, draw.colour(skin))
    lash = draw.colour(np.minimum(ident.hair, 60.) * 0.6)
    draw.polyline(ctx.img, [lid[:4] for lid in lids], lash, ctx.thick(1.3))
    draw.polyline(ctx.img, [lid[[3, 4, 5, 0]] for lid in lids],
                  draw.colour(skin * 0.7), ctx.thick(0.7))


def nose(ctx: FaceContext, skin: np.ndarray):
    """Nostrils, nose wings and the line of the nose base."""
    p, v = ctx.pts, ctx.verts
    wing = _NOSE_WING * [ctx.ident.nose_width, 1., 1.]
    wings = ctx.project(np.concatenate([v[31] + wing * [-1., 1., 1.],
                                        v[35] + wing]))
    draw.polyline(ctx.img, [p[31:36], wings[:4], wings[4:]],
                  draw.colour(skin * 0.7), ctx.thick(1))
    r = 0.022 * ctx.ident.nose_width * ctx.camera.scale
    for k in (32, 34):
        draw.circle(ctx.img, 0.7 * p[k] + 0.3 * p[33] + [0., -0.3 * r], r,
                    draw.colour(skin * 0.35))


def mouth(ctx: FaceContext):
    """Lips, the open mouth with teeth, and the lip line."""
    p, ident = ctx.pts, ctx.ident
    draw.fill(ctx.img, p[48:60], draw.colour(ident.lips))
    inner = p[60:68]
    gap = p[66, 1] - p[62, 1]
    if gap > 0.8:
        draw.fill(ctx.img, inner, (45., 35., 70.))
        frac = min(0.6, 0.07 * ctx.camera.scale / gap)
        upper = p[[60, 61, 62, 63, 64]]
        lower = p[[60, 67, 66, 65, 64]]
        edge = upper + frac * (lower - upper)
        draw.fill(ctx.img, np.concatenate([upper, edge[::-1]]),
                  (225., 235., 240.))
    draw.polyline(ctx.img, p[[60, 61, 62, 63, 64]],
                  draw.colour(ident.lips * 0.45), ctx.thick(1))


def glasses(ctx: FaceContext, ears_shown: list):
    """Eyeglasses (round, rectangular or sunglasses) on the nose."""
    ident = ctx.ident
    frame = draw.colour(ident.glasses_colour)
    cos, sin = draw.unit_circle(20).T
    if ident.glasses_style:
        cos = np.sign(cos) * np.abs(cos)**0.5
        sin = np.sign(sin) * np.abs(sin)**0.5
    rims = []
    for first in (36, 42):
        c = ctx.verts[first:first + 6].mean(0) + [0., 0.02, -0.1]
        rx = 0.2 * ident.eye_width
        ring = c + np.stack([rx * cos, 0.14 * sin, 0 * cos], 1)
        rims.append(ring)
        pts = ctx.project(ring)
        if ident.glasses_style == 2:
            draw.fill(ctx.img, pts, (25., 22., 20.))
        draw.polyline(ctx.img, pts, frame, ctx.thick(1.3), closed=True)
    bridge = np.array([rims[0][0], (rims[0][0] + rims[1][10]) / 2 +
                       [0., -0.05, -0.02], rims[1][10]])
    draw.polyline(ctx.img, ctx.project(bridge), frame, ctx.thick(1.3))
    for side, _, _ in ears_shown:
        rim = rims[0][10] if side < 0 else rims[1][0]
        ear = np.array([side * 0.98 * ident.head_width, 0.05, 0.75])
        draw.polyline(ctx.img, ctx.project(np.stack([rim, ear])), frame,
                      ctx.thick(1.3))
