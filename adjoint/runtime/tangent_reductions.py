"""Tangent helpers of reductions (forward mode).
"""
import numpy as np

from .broadcasting import normalize_axes
from .reductions import _average_weights, _interp_segments
from .jacobians import batched_reshape


# ---- tangent helpers: reductions
# A reduction's tangent is the sum, over the reduced axes, of the tangent
# times a weight per element of the input (one np.einsum, whose rules keep
# the generated code differentiable); the weights are the adjoint helper's
# answer to a unit cotangent, so forward and reverse mode share one
# convention (ties of max/min shared equally, NaN positions, zeros of prod).

def tangent_axes(axis, x):
    """``axis`` of a reduction of ``x`` (None, an int, a tuple, negatives
    allowed; ``axis=0`` or ``-1`` of a 0-d ``x`` reduces nothing) as a tuple
    of axes of the batched tangent ``(B,) + x.shape``."""
    return tuple(a + 1 for a in normalize_axes(axis, np.ndim(x)))


def unit_cotangent(z):
    """One cotangent of ``z`` (batch of 1) that is 1 everywhere: a
    reduction's adjoint helper maps it to the weight of each input element
    in the output it reaches (row 0 of the result)."""
    return np.ones((1,) + np.shape(z))


def reduction_subscripts(x, weights, axis=None):
    """The ``np.einsum`` subscripts of a reduction's tangent: the batched
    tangent ``(B,) + x.shape`` times ``weights`` (``x``'s shape, after any
    extra leading axes, such as quantile's one axis per ``q``), summed over
    the reduced axes. The result is ``(B,) + extra + kept axes``, which
    ``batched_reshape`` gives the result's shape (keepdims, ``q``'s shape)."""
    ndim = np.ndim(x)
    extra = np.ndim(weights) - ndim
    reduced = normalize_axes(axis, ndim)
    letters = "abcdefghijklmnopqrstuvwxy"[:ndim]
    leading = "ABCDEFGHIJKLMNOPQRSTUVWXY"[:extra]
    kept = "".join(letter for i, letter in enumerate(letters) if i not in reduced)
    return f"z{letters},{leading}{letters}->z{leading}{kept}"


def quantile_basis(z, q=0.5):
    """Cotangents of ``z = np.quantile(a, q, ...)``, one per entry of ``q``,
    each 1 over that entry's slice of ``z``: ``quantile_adjoint`` maps them
    to the weights of ``a``'s elements in the quantile of each ``q``."""
    count = np.size(q)
    shape = np.shape(z)
    basis = np.eye(count).reshape((count,) + shape[:np.ndim(q)] + (1,) * (len(shape) - np.ndim(q)))
    return np.broadcast_to(basis, (count,) + shape)


def average_tangent_weights(t, a, z, axis=None, weights=None, keepdims=False):
    """Tangent of ``z = np.average(a, axis, weights)`` from the tangent ``t``
    of ``weights``: ``sum(t (a - z)) / sum(w)`` over the reduced axes."""
    a = np.asarray(a)
    w = _average_weights(a, weights, axis)
    axes = None if axis is None else normalize_axes(axis, a.ndim)
    total = np.sum(np.broadcast_to(w, a.shape), axis=axes, keepdims=True)
    z_kept = np.reshape(z, total.shape)
    t = np.broadcast_to(np.reshape(t, t.shape[:1] + w.shape), t.shape[:1] + a.shape)
    slopes = (a - z_kept) / total
    return batched_reshape(np.einsum(reduction_subscripts(a, slopes, axis), t, slopes), z)


def negative_axis(axis, x):
    """``axis`` of ``x`` counted from the end: the same axis of ``x``'s
    batched tangent, and of anything that broadcasts against ``x``."""
    return axis % np.ndim(x) - np.ndim(x)


def trapezoid_heights(y, axis=-1):
    """The sum of the mean heights of ``np.trapezoid``'s intervals (the
    integral with unit widths): ``np.trapezoid``'s derivative in ``dx``."""
    moved = np.moveaxis(y, axis, -1)
    return np.sum(0.5 * (moved[..., 1:] + moved[..., :-1]), axis=-1)


def trapezoid_tangent_x(t, y, x, axis=-1):
    """Tangent of ``np.trapezoid(y, x, axis=axis)`` from the tangent ``t`` of
    the sample points ``x``: each interval's mean height times the change of
    its width."""
    axis = axis % np.ndim(y)
    moved = np.moveaxis(y, axis, -1)
    heights = 0.5 * (moved[..., 1:] + moved[..., :-1])  # y's shape, the axis last
    if np.ndim(x) == 1:
        widths = np.diff(t, axis=-1)  # (B, n - 1)
        return np.moveaxis(heights @ widths.T, -1, 0)
    t = np.reshape(t, t.shape[:1] + (1,) * (np.ndim(y) - np.ndim(x)) + np.shape(x))
    widths = np.diff(np.moveaxis(t, axis + 1, -1), axis=-1)
    return np.sum(widths * heights, axis=-1)


def interp_slope(x, xp, fp):
    """``d np.interp(x, xp, fp) / dx``: the slope of the segment ``x`` falls
    in (the right one at a knot), 0 outside ``xp``'s range (see
    ``interp_adjoint_x``)."""
    xp = np.asarray(xp, dtype=float)
    fp = np.asarray(fp)
    if xp.size < 2:
        return np.zeros(np.shape(x))
    segment, _, below, above = _interp_segments(x, xp)
    slope = (fp[segment + 1] - fp[segment]) / (xp[segment + 1] - xp[segment])
    return np.where(np.logical_or(below, above), 0.0, slope)  # (not |: this code is differentiated again)


def interp_adjoint_x_tangent_fp(t, g, x, xp, fp, left=None, right=None):
    """Tangent of ``interp_adjoint_x(g, x, xp, fp)`` from the tangent ``t``
    of ``fp`` (``(T,) + fp.shape``, or a list's item tangents): the adjoint is
    linear in ``fp``, so this is ``g`` times the slope of each tangent row's
    values, ``(T, B) + x.shape`` (the slopes of ``interp_adjoint_x``)."""
    from .tangent_shape import as_tangent  # (tangent_shape imports tangents, which this module's callers use)

    xp = np.asarray(xp, dtype=float)
    t = as_tangent(t, fp)
    if xp.size < 2:
        return np.zeros((t.shape[0],) + np.shape(g), dtype=np.result_type(t, g))
    segment, _, below, above = _interp_segments(x, xp)
    slope = (t[:, segment + 1] - t[:, segment]) / (xp[segment + 1] - xp[segment])
    return g[None] * np.where(np.logical_or(below, above), 0.0, slope)[:, None]


def interp_tangent_fp(t, x, xp, fp, left=None, right=None):
    """Tangent of ``np.interp(x, xp, fp, left, right)`` from the tangent ``t``
    (``(B, len(fp))``) of ``fp``: the interpolation of the tangent's values,
    with the conventions of ``interp_adjoint_fp``."""
    segment, share, below, above = _interp_segments(x, xp)
    inside = np.logical_not(np.logical_or(below, above))
    low = np.where(inside, 1.0 - share, 0.0)
    high = np.where(inside, share, 0.0)
    if left is None:
        low = low + below  # below the range: fp[0], and segment is 0 there
    if t.shape[1] < 2:
        if right is None:
            low = low + above
        return t[:, segment] * low
    if right is None:
        high = high + above  # above the range: fp[-1], the end of the last segment
    return t[:, segment] * low + t[:, segment + 1] * high


def scan_tangent_axis(axis=None):
    """The axis of a scan's batched tangent, reshaped to the result's shape
    (``batched_reshape``), that ``np.cumsum`` or ``np.cumprod`` runs along:
    the last for ``axis=None`` (the flattened input)."""
    return -1 if axis is None else (axis + 1 if axis >= 0 else axis)


def cumprod_tangent(t, a, z, axis=None):
    """Tangent of ``z = np.cumprod(a, axis)``, exact when ``a`` holds zeros
    (no division): ``dz_k = dz_{k-1} a_k + z_{k-1} da_k``, one vectorised
    step per position along the axis."""
    a = np.asarray(a)
    if axis is None or a.ndim == 0:  # flattened (z too)
        a = np.ravel(a)
        t = np.reshape(t, (t.shape[0], -1))
        axis = 0
    axis = axis % a.ndim
    factors = np.moveaxis(a, axis, -1)
    products = np.moveaxis(np.reshape(z, a.shape), axis, -1)
    moved = np.moveaxis(t, axis + 1, -1)
    out = np.empty(moved.shape, dtype=np.result_type(moved, factors))
    n = factors.shape[-1]
    if n:
        out[..., 0] = moved[..., 0]
    for k in range(1, n):
        out[..., k] = out[..., k - 1] * factors[..., k] + products[..., k - 1] * moved[..., k]
    return np.moveaxis(out, -1, axis + 1)


def ediff1d_tangent(t, to_end=None, to_begin=None):
    """Tangent of ``np.ediff1d(ary, to_end, to_begin)``: the differences of
    the flattened tangent, zeros where the constants ``to_begin`` and
    ``to_end`` go."""
    rows = np.reshape(t, (t.shape[0], -1))
    parts = [np.diff(rows, axis=1)]
    if to_begin is not None:
        parts.insert(0, np.zeros((t.shape[0], np.size(to_begin)), dtype=rows.dtype))
    if to_end is not None:
        parts.append(np.zeros((t.shape[0], np.size(to_end)), dtype=rows.dtype))
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
