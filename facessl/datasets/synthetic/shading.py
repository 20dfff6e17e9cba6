"""Lambertian shading and z-buffer of the face mesh and the skull.

Shade of a surface point with unit normal ``n``::

    shade = ambient + diffuse * max(0, n . l)

where ``l`` is the unit light direction in the camera frame (from the
surface towards the light; ``l_z < 0`` means lit from the camera's side).
The face mesh is Gouraud-shaded: per-vertex shades and depths are
interpolated linearly inside each triangle. Triangles are painted far to
near into an index map (painter's algorithm, back faces culled), then one
vectorised gather evaluates every pixel's triangle plane.
"""
from typing import Tuple

import cv2
import numpy as np

from .draw import SHIFT, fixed, grid


def lambert(normals: np.ndarray, light: np.ndarray, ambient: float,
            diffuse: float) -> np.ndarray:
    """Shade of unit ``normals`` (..., 3) under a directional light."""
    return ambient + diffuse * np.maximum(normals @ light, 0.)


def vertex_normals(verts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Unit vertex normals of a mesh, pointing to the camera (``-z``).

    Args:
        verts (np.ndarray): (V, 3) camera-frame vertices.
        tris (np.ndarray): (F, 3) triangles, counter-clockwise on screen
            for a frontal face.

    Returns:
        np.ndarray: (V, 3) normals, area-weighted averages of the faces'.
    """
    p = verts[tris]
    u, v = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    face_n = np.stack([
        u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1],
        u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2],
        u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    ], 1)
    normals = _incidence(tris, len(verts)) @ face_n
    norm = np.sqrt((normals * normals).sum(1, keepdims=True))
    return -normals / np.maximum(norm, 1e-9)


_INCIDENCE = {}


def _incidence(tris: np.ndarray, num_verts: int) -> np.ndarray:
    """Cached (V, F) 0/1 matrix: vertex v belongs to triangle f."""
    key = (num_verts, tris.tobytes())
    if key not in _INCIDENCE:
        inc = np.zeros((num_verts, len(tris)))
        for k in range(3):
            inc[tris[:, k], np.arange(len(tris))] = 1.
        _INCIDENCE[key] = inc
    return _INCIDENCE[key]


def rasterise(verts: np.ndarray, tris: np.ndarray, values: np.ndarray,
              shape: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Interpolate per-vertex values over the visible mesh triangles.

    Args:
        verts (np.ndarray): (V, 3) camera-frame vertices (pixels).
        tris (np.ndarray): (F, 3) triangles.
        values (np.ndarray): (V, C) per-vertex values.
        shape (tuple[int, int]): output (height, width).

    Returns:
        tuple: ``(mask, out)``: (H, W) bool coverage and (H, W, C) float32
        interpolated values (0 where not covered).
    """
    h, w = shape
    p = verts[tris]  # (F, 3, 3)
    d1, d2 = p[:, 1, :2] - p[:, 0, :2], p[:, 2, :2] - p[:, 0, :2]
    det = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    front = det > 1e-6  # counter-clockwise on screen (y down)
    order = np.argsort(-p[:, :, 2].mean(1))
    order = order[front[order]]
    index = np.zeros((h, w), np.int32)
    pts = fixed(p[:, :, :2])
    for k in order.tolist():
        cv2.fillConvexPoly(index, pts[k], k + 1, cv2.LINE_8, SHIFT)
    f = values[tris]  # (F, 3, C)
    g1, g2 = f[:, 1] - f[:, 0], f[:, 2] - f[:, 0]
    inv = np.where(front, 1. / np.where(front, det, 1.), 0.)[:, None]
    ga = (g1 * d2[:, 1:2] - g2 * d1[:, 1:2]) * inv  # d value / dx
    gb = (g2 * d1[:, 0:1] - g1 * d2[:, 0:1]) * inv  # d value / dy
    gc = f[:, 0] - ga * p[:, 0, 0:1] - gb * p[:, 0, 1:2]
    zero = np.zeros((values.shape[1], 1))
    ga, gb, gc = (np.concatenate([zero, g.T], 1).astype(np.float32)
                  for g in (ga, gb, gc))
    xs, ys = grid(h, w)
    out = np.stack([
        ga[c].take(index) * xs + gb[c].take(index) * ys + gc[c].take(index)
        for c in range(values.shape[1])
    ], -1)
    return index > 0, out


def sphere_shade(shade: np.ndarray, polygon: np.ndarray, centre,
                 matrix: np.ndarray, light: np.ndarray, ambient: float,
                 diffuse: float) -> None:
    """Paint the shade of a round, sphere-like surface inside ``polygon``.

    The normal at an image point ``u`` of the ellipse ``(u - c)^T M (u -
    c) <= 1`` is taken as ``(q, -sqrt(1 - |q|^2))`` with ``q = M^(1/2) (u
    - c)``: a sphere stretched onto the ellipse.

    Args:
        shade (np.ndarray): (H, W) float32 shade map, painted in place.
        polygon (np.ndarray): (N, 2) region to paint.
        centre: (2,) ellipse centre.
        matrix (np.ndarray): (2, 2) ellipse matrix.
        light (np.ndarray): (3,) light direction.
        ambient (float): ambient term.
        diffuse (float): diffuse term.
    """
    h, w = shade.shape
    x0, y0 = np.maximum(np.floor(polygon.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(polygon.max(0)).astype(int) + 1, [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    vals, vecs = np.linalg.eigh(matrix)
    root = ((vecs * np.sqrt(vals)) @ vecs.T).astype(np.float32)
    # evaluated every 4 px, then bilinearly up-sampled (smooth anyway)
    dx = np.arange(x0, x1 + 3, 4, dtype=np.float32) - np.float32(centre[0])
    dy = np.arange(y0, y1 + 3, 4, dtype=np.float32) - np.float32(centre[1])
    dx, dy = dx[None, :], dy[:, None]
    qx = root[0, 0] * dx + root[0, 1] * dy
    qy = root[1, 0] * dx + root[1, 1] * dy
    inv = 1. / np.maximum(np.sqrt(qx * qx + qy * qy), np.float32(1.))
    nx, ny = qx * inv, qy * inv  # outside the ellipse: a rim normal
    nz = -np.sqrt(np.maximum(1. - nx * nx - ny * ny, np.float32(0.)))
    light = np.asarray(light, np.float32)
    val = ambient + diffuse * np.maximum(
        nx * light[0] + ny * light[1] + nz * light[2], np.float32(0.))
    val = cv2.resize(val.astype(np.float32), (val.shape[1] * 4,
                                              val.shape[0] * 4),
                     interpolation=cv2.INTER_LINEAR)[:y1 - y0, :x1 - x0]
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [fixed(polygon - [x0, y0])], 1, cv2.LINE_8, SHIFT)
    np.copyto(shade[y0:y1, x0:x1], val, where=mask.view(bool))
