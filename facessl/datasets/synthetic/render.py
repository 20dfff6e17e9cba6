"""Render one synthetic face image with its exact ground truth.

Image formation: every part is drawn as BGR *albedo* (back to front:
background, shoulders, long hair, neck, skull/hair, ears, face, features,
fringe, glasses), then multiplied by a Lambertian shade map (Gouraud on
the face mesh, a sphere-like model on the skull, flat on neck, ears and
shoulders) and a colour tint. Occluder, blur and noise come last.
"""
import dataclasses
from typing import Optional, Tuple

import cv2
import numpy as np

from . import draw, parts
from .camera import Camera, rotation_matrix
from .shading import lambert, rasterise, sphere_shade, vertex_normals
from .template import (MESH_TRIANGLES, NUM_LANDMARKS, OUTLINE, build_face,
                       dense_points)


@dataclasses.dataclass(frozen=True, eq=False)
class ImageParams:
    """Everything that varies from image to image of one identity.

    Lengths given as fractions are relative to the image size, so the same
    parameters render the same picture at any ``img_size``.

    Args:
        yaw (float): degrees; > 0 turns the nose to the image right.
        pitch (float): degrees; > 0 lifts the chin.
        roll (float): degrees; > 0 rotates the face clockwise on screen.
        scale (float): pixels per template unit / image size.
        centre (tuple): head rotation centre (x, y) / image size.
        smile (float): 0 neutral .. 1 broad smile.
        mouth_open (float): 0 closed .. 1 wide open.
        brow_raise (float): 0 .. 1.
        eye_closure (float): 0 open .. 1 closed.
        gaze (tuple): iris offset (x, y) in [-1, 1].
        ambient (float): ambient light level.
        diffuse (float): directional light strength.
        light (tuple): unit light direction in the camera frame.
        tint (tuple): BGR multipliers of the light colour.
        eyeglasses (bool): draw glasses.
        occluder (dict, optional): ``kind`` ('rect' or 'ellipse'),
            ``centre`` and ``size`` (half extents) as fractions, ``angle``
            in degrees and BGR ``colour``.
        blur (float): Gaussian blur sigma in pixels at 112 px (0 = none).
        noise (float): pixel noise standard deviation (0 = none).
        clothing (tuple): BGR clothing colour.
        texture_seed (int): seed of the background and noise texture.
    """
    yaw: float = 0.
    pitch: float = 0.
    roll: float = 0.
    scale: float = 0.34
    centre: Tuple[float, float] = (0.5, 0.43)
    smile: float = 0.
    mouth_open: float = 0.
    brow_raise: float = 0.
    eye_closure: float = 0.
    gaze: Tuple[float, float] = (0., 0.)
    ambient: float = 0.6
    diffuse: float = 0.45
    light: Tuple[float, float, float] = (0., -0.5, -0.866)
    tint: Tuple[float, float, float] = (1., 1., 1.)
    eyeglasses: bool = False
    occluder: Optional[dict] = None
    blur: float = 0.
    noise: float = 0.
    clothing: Tuple[float, float, float] = (120., 90., 60.)
    texture_seed: int = 0


def _camera(params: ImageParams, size: int) -> Camera:
    rot = rotation_matrix(params.yaw, params.pitch, params.roll)
    centre = (params.centre[0] * size, params.centre[1] * size)
    return Camera(rot, params.scale * size, centre)


def _occluder_polygon(occ: dict, size: int) -> np.ndarray:
    if occ['kind'] == 'rect':
        local = np.array([[1., 1.], [-1., 1.], [-1., -1.], [1., -1.]])
    else:
        local = draw.unit_circle(24)
    a = np.deg2rad(occ['angle'])
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    local = local * np.asarray(occ['size']) * size
    return local @ rot.T + np.asarray(occ['centre']) * size


_NOISE = []


def _add_noise(img: np.ndarray, rng: np.random.Generator,
               sigma: float) -> np.ndarray:
    """Add Gaussian noise: a random window of a fixed noise texture."""
    if not _NOISE:  # a constant texture, the same in every process
        _NOISE.append(np.random.default_rng(0x5EED).standard_normal(
            (512, 512, 3), np.float32))
    h, w = img.shape[:2]
    bank = _NOISE[0]
    if h > bank.shape[0] or w > bank.shape[1]:
        noise = rng.standard_normal(img.shape, np.float32)
    else:
        y = int(rng.integers(bank.shape[0] - h + 1))
        x = int(rng.integers(bank.shape[1] - w + 1))
        noise = bank[y:y + h, x:x + w]
    return cv2.add(img, noise * np.float32(sigma), dtype=cv2.CV_8U)


BACKGROUNDS = ('texture', 'plain')


def render_face(ident, params: ImageParams, size: int = 112,
                with_depth: bool = False, background: str = 'texture') -> dict:
    """Render one face and its ground truth.

    Args:
        ident (IdentityParams): the identity.
        params (ImageParams): the image parameters.
        size (int): image height and width. Defaults to 112.
        with_depth (bool): also return the depth map. Defaults to False.
        background (str): ``'texture'``, a colourful random gradient with
            blotches (a hard nuisance), or ``'plain'``, one grey level per
            image in [96, 160] (like studio or tightly aligned crops).
            Defaults to ``'texture'``.

    Returns:
        dict: ``img`` (H, W, 3) uint8 BGR; ``landmarks`` (68, 2) and
        ``dense_landmarks`` (D, 2) float32 pixel (x, y); ``visible`` (68,)
        bool (in the image, not occluded, not hidden by the face itself);
        ``depth`` (H, W) float32 if ``with_depth``: distance in pixels in
        front of the plane one template unit behind the head centre, so
        positive on the face mesh, 0 elsewhere.
    """
    cam = _camera(params, size)
    verts = build_face(ident, params)
    rng = np.random.default_rng(params.texture_seed)
    if background == 'texture':
        img = draw.background(rng, size, size)
    elif background == 'plain':
        img = np.full((size, size, 3), int(rng.integers(96, 161)), np.uint8)
    else:
        raise ValueError(f'background must be one of {BACKGROUNDS}, got '
                         f'{background!r}')
    shade = np.ones((size, size), np.float32)
    light = np.asarray(params.light, np.float64)
    amb, dif = params.ambient, params.diffuse

    def flat(normal):  # shade of a flat part facing ``normal``
        return float(lambert(np.asarray(normal), light, amb, dif))

    ctx = parts.FaceContext(ident, params, cam, verts, img)
    skin, hair = np.asarray(ident.skin), np.asarray(ident.hair)
    s, (cx, cy) = cam.scale, cam.offset[:2]
    # shoulders (not rotated with the head)
    roll = np.deg2rad(params.roll) * 0.3
    body = np.array([[np.cos(roll), -np.sin(roll)],
                     [np.sin(roll), np.cos(roll)]])
    body_m = body @ np.diag([1 / (2.2 * s)**2, 1 / (0.95 * s)**2]) @ body.T
    body_pts = draw.ellipse_points((cx, cy + 2.45 * s), body_m, 32)
    draw.fill(img, body_pts, draw.colour(params.clothing))
    draw.fill(shade, body_pts, flat([0., -0.3, -0.954]), aa=False)
    if ident.hair_style_name == 'long':
        parts.long_hair(ctx, hair)
    # neck
    hw = ident.head_width
    neck = ctx.project([[-0.4 * hw, 0.6, 0.9], [0.4 * hw, 0.6, 0.9],
                        [0.45 * hw, 2.5, 1.0], [-0.45 * hw, 2.5, 1.0]])
    draw.fill(img, neck, draw.colour(skin * 0.9))
    draw.fill(shade, neck, 0.8 * flat([0., 0., -1.]), aa=False)
    # skull, with hair unless bald
    style = ident.hair_style_name
    volume = 0. if ident.bald else ident.hair_volume + 0.08 * (
        style == 'curly')
    centre3, axes3 = parts.skull(ctx, volume)
    c2, m2 = draw.project_ellipsoid(cam, centre3, axes3)
    outline = draw.ellipse_points(c2, m2, 40)
    draw.fill(img, outline, draw.colour(skin if ident.bald else hair))
    if style == 'curly':
        parts.curls(ctx, outline, hair, c2[1])
    sphere_shade(shade, outline, c2, m2, light, amb, dif)
    if not ident.bald:
        parts.hair_strands(ctx, centre3, axes3, hair)
    ears_shown = parts.ears(ctx, skin)
    for _, ear, normal in ears_shown:
        draw.fill(shade, ear, flat(cam.directions(normal)), aa=False)
    # face
    draw.fill(img, ctx.pts[OUTLINE], draw.colour(skin))
    parts.spots(ctx, skin)
    parts.facial_hair(ctx, hair)
    parts.brows(ctx, hair)
    parts.eyes(ctx, skin)
    parts.nose(ctx, skin)
    parts.mouth(ctx)
    parts.fringe(ctx, hair)
    if params.eyeglasses:
        parts.glasses(ctx, ears_shown)
    # lighting on the face mesh
    normals = vertex_normals(ctx.cam, MESH_TRIANGLES)
    values = np.stack([lambert(normals, light, amb, dif), ctx.cam[:, 2]], 1)
    covered, interp = rasterise(ctx.cam, MESH_TRIANGLES, values,
                                (size, size))
    np.copyto(shade, interp[..., 0], where=covered)
    shade = cv2.GaussianBlur(shade, (0, 0), 0.8 * ctx.unit)
    light3 = cv2.merge([shade * np.float32(t) for t in params.tint])
    img = cv2.multiply(img, light3, dtype=cv2.CV_8U)  # rounds, saturates
    # occluder, blur, noise
    lmk = ctx.pts[:NUM_LANDMARKS].astype(np.float32)
    inside = ((lmk >= 0) & (lmk <= size - 1)).all(1)
    ij = np.clip(np.round(lmk).astype(int), 0, size - 1)
    zbuf = interp[ij[:, 1], ij[:, 0], 1]
    hidden = covered[ij[:, 1], ij[:, 0]] & (
        ctx.cam[:NUM_LANDMARKS, 2] > zbuf + 0.15 * s)
    visible = inside & ~hidden
    if params.occluder is not None:
        poly = _occluder_polygon(params.occluder, size)
        col = np.asarray(params.occluder['colour'], float)
        draw.fill(img, poly, draw.colour(col))
        n = len(poly)  # a cross of darker stripes as texture
        cross = [poly[[0, n // 2]], poly[[n // 4, 3 * n // 4]]]
        draw.polyline(img, [c * 0.9 + poly.mean(0) * 0.1 for c in cross],
                      draw.colour(col * 0.7), ctx.thick(1.5))
        mask = np.zeros((size, size), np.uint8)
        draw.fill(mask, poly, 1, aa=False)
        visible &= mask[ij[:, 1], ij[:, 0]] == 0
    if params.blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), params.blur * ctx.unit)
    if params.noise > 0:
        img = _add_noise(img, rng, params.noise)
    out = dict(
        img=np.ascontiguousarray(img),
        landmarks=lmk,
        dense_landmarks=dense_points(ctx.pts).astype(np.float32),
        visible=visible)
    if with_depth:
        depth = np.where(covered, s - interp[..., 1], 0.)
        out['depth'] = depth.astype(np.float32)
    return out
