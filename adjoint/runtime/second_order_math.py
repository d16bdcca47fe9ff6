"""Tangents of the backward helpers of elementwise math and reductions
(``rules/runtime_math.py``): forward mode over generated backward code.
"""
import numpy as np

from .broadcasting import normalize_axes, prod_others, reduced_count, unbroadcast, unreduce
from .reductions import (
    MATRIX_NORMS, _average_weights, _interp_segments, _not_nan_counts, matrix_axes, matrix_norm_weights,
    nan_reduced, nanvar_adjoint, std_divisor, var_adjoint, var_scale,
)
from .indexing import batch_size, element_bar, is_plain_object, rebuild_like, unpack_bar, zeros_bar
from .tangents import item_tangent, merged
from .tangent_shape import batched_getitem_adjoint
from .second_order_arrays import singular_values_adjoint_tangent


# ---- tangents of backward helpers: runtime_math.py
# Forward mode over generated backward code: an adjoint ``g`` has shape
# ``(B,) + x.shape`` there and its tangent ``(T, B) + x.shape``; a residual
# ``x`` has the tangent ``(T,) + x.shape``. Helpers linear in ``g`` go
# through ``merged`` (or ``merged_items`` for container adjoints); these
# give the other contributions, where a helper depends on a primal value.

def _map_leaves(function, tree):
    """``function`` applied to every array of a container adjoint (None stays)."""
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: _map_leaves(function, v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return rebuild_like(tree, [_map_leaves(function, v) for v in tree])
    return function(tree)


def merged_items(helper, t, *args, **kwargs):
    """``merged`` for adjoints that may be containers (lists, tuples, dicts
    with None holes): every array of the tangent ``t`` has its two leading
    axes merged, ``helper`` runs once, and every array of its result is
    split again. None when ``t`` holds no array (no tangent at all)."""
    if type(t) is np.ndarray:  # the common case: one array in, one array out
        outer, inner = t.shape[:2]
        result = helper(t.reshape((outer * inner,) + t.shape[2:]), *args, **kwargs)
        if type(result) is np.ndarray:
            return result.reshape((outer, inner) + result.shape[1:])
        return _map_leaves(lambda a: np.reshape(a, (outer, inner) + np.shape(a)[1:]), result)
    leaf = _first_leaf(t)
    if leaf is None:
        return None
    outer, inner = leaf.shape[:2]
    merged_t = _map_leaves(lambda a: np.reshape(a, (outer * inner,) + np.shape(a)[2:]), t)
    result = helper(merged_t, *args, **kwargs)
    return _map_leaves(lambda a: np.reshape(a, (outer, inner) + np.shape(a)[1:]), result)


def element_bar_tangent(t, key, like, bar, batch):
    """The tangent of ``bar = element_bar(container_bar, key, like)`` from the
    container's tangent ``t``: zeros ``(batch,) + bar.shape`` where the item
    got no tangent (a cotangent that carries no derivative, a hole)."""
    found = merged_items(element_bar, t, key, like)
    return zeros_bar(bar, batch) if found is None else found


def _first_leaf(tree):
    """The first array of a container adjoint, or None."""
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (tuple, list)):
        for item in tree:
            leaf = _first_leaf(item)
            if leaf is not None:
                return leaf
        return None
    return tree


def _leading_zeros(t, g, shape):
    """A zero contribution ``(T, B) + shape`` (a read-only broadcast)."""
    return np.broadcast_to(np.zeros((), dtype=np.result_type(t, g, np.float64)),
                           (t.shape[0], g.shape[0]) + tuple(shape))


def _outer(g_full, d):
    """``(T, B) + shape``: the adjoint part ``g_full`` (``(B,) + shape``)
    times the tangent part ``d`` (``(T,) + shape``), row by row."""
    return g_full[None] * d[:, None]


def log_base_slope(x):
    """The slope of ``log_base``: ``1 / x``, 0 where ``x`` is 0 (where
    ``log_base`` is the constant 0)."""
    return 1.0 / np.where(np.equal(x, 0), np.inf, x)


def sinc_derivative_slope_x(x, z):
    """The partial slope of ``sinc_derivative(x, z)`` in ``x`` (``z`` held):
    ``(-pi sin(pi x) - s) / x`` with ``s = (cos(pi x) - z) / x``, and the
    series' own slope for ``|x| < 1e-2``."""
    x = np.asarray(x, dtype=np.result_type(x, np.float64))
    small = np.abs(x) < 1e-2
    safe = np.where(small, 1.0, x)
    slope = (np.cos(np.pi * safe) - np.where(small, 1.0, z)) / safe
    direct = (-np.pi * np.sin(np.pi * safe) - slope) / safe
    p2 = np.pi * np.pi * x * x
    series = -np.pi * np.pi / 3.0 * (1.0 - 3.0 * p2 / 10.0 + 5.0 * p2 * p2 / 280.0)
    return np.where(small, series, direct)


def sinc_derivative_slope_z(x):
    """The partial slope of ``sinc_derivative(x, z)`` in ``z``: ``-1 / x``,
    0 for ``|x| < 1e-2`` (the series there does not read ``z``)."""
    x = np.asarray(x, dtype=np.result_type(x, np.float64))
    small = np.abs(x) < 1e-2
    return np.where(small, 0.0, -1.0 / np.where(small, 1.0, x))


def _shifted_axes(axis, ndim):
    """A reduction's ``axis`` over ``ndim`` axes as axes of a tangent with
    one leading axis."""
    return tuple(a + 1 for a in normalize_axes(axis, ndim))


def var_adjoint_tangent(t, g, a, axis=None, ddof=0, keepdims=False):
    """Tangent of ``var_adjoint(g, a, ...)`` from the tangent ``t`` of ``a``
    (it is linear in ``a``): ``unreduce(g) * 2 (t - mean(t)) / (N - ddof)``."""
    a = np.asarray(a)
    deviations = t - np.mean(t, axis=_shifted_axes(axis, a.ndim), keepdims=True)
    scale = var_scale(reduced_count(a, axis), ddof)
    with np.errstate(invalid="ignore"):
        return _outer(unreduce(g, a, axis, keepdims), deviations * scale)


def std_adjoint_tangent_z(t, g, a, z, axis=None, ddof=0, keepdims=False):
    """Tangent of ``std_adjoint(g, a, z, ...) = var_adjoint(g / (2 z), a, ...)``
    from the tangent ``t`` of ``z``: ``g / (2 z)`` changes by ``-g t / (2 z^2)``."""
    return merged(var_adjoint, _outer(g, t / (-2.0 * np.square(std_divisor(z)))), a, axis, ddof, keepdims)


def nanvar_adjoint_tangent(t, g, a, axis=None, ddof=0, keepdims=False):
    """Tangent of ``nanvar_adjoint(g, a, ...)`` from the tangent ``t`` of
    ``a``: the deviations of ``t`` from its mean over the non-NaN elements,
    0 at NaNs (the helper is linear in ``a`` there)."""
    a = np.asarray(a)
    nans = np.isnan(a)
    counts = _not_nan_counts(a, axis)
    masked = np.where(nans, 0.0, t)
    mean = np.sum(masked, axis=_shifted_axes(axis, a.ndim), keepdims=True) / np.maximum(counts, 1)
    deviations = np.where(nans, 0.0, masked - mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _outer(unreduce(g, a, axis, keepdims), deviations * var_scale(counts, ddof))


def nanstd_adjoint_tangent_z(t, g, a, z, axis=None, ddof=0, keepdims=False):
    """Tangent of ``nanstd_adjoint(g, a, z, ...)`` from the tangent ``t`` of ``z``."""
    return merged(nanvar_adjoint, _outer(g, t / (-2.0 * np.square(std_divisor(z)))), a, axis, ddof, keepdims)


def _reduced_last(x, axis):
    """``x`` with the reduced axes moved last and flattened, and the order
    of axes that does it."""
    axes = normalize_axes(axis, x.ndim)
    kept = tuple(a for a in range(x.ndim) if a not in axes)
    moved = np.transpose(x, kept + axes)
    return moved.reshape(moved.shape[:len(kept)] + (-1,)), kept + axes, moved.shape


def prod_others_tangent(t, x, axis=None):
    """Tangent of ``prod_others(x, axis)`` from the tangent ``t`` of ``x``:
    for each element, ``sum_{j != i} t_j prod_{k != i, j} x_k``. Without
    zeros in ``x``, ``prod_others * sum_{j != i} t_j / x_j`` (the sums of the
    others by prefix and suffix sums, not a total minus one's own); with
    zeros, exact: prefix and suffix products and their tangents, one step
    per position along the reduced axes."""
    x = np.asarray(x)
    dtype = np.result_type(t, x, np.float64)
    if x.size == 0:
        return np.zeros(t.shape, dtype=dtype)
    axes = normalize_axes(axis, x.ndim)
    kept = tuple(a for a in range(x.ndim) if a not in axes)
    order = kept + axes  # (not read from _reduced_last's tuple, which holds x: third order follows this code)
    moved_shape = tuple(x.shape[a] for a in order)
    flat = np.transpose(x, order).reshape(moved_shape[:len(kept)] + (-1,))
    t_flat = np.transpose(t, (0,) + tuple(a + 1 for a in order)).reshape(t.shape[:1] + flat.shape)
    n = flat.shape[-1]
    if np.all(flat != 0):
        ratios = t_flat / flat
        zero = np.zeros(ratios.shape[:-1] + (1,), dtype=dtype)
        before = np.cumsum(np.concatenate([zero, ratios[..., :-1]], axis=-1), axis=-1)
        after = np.cumsum(np.concatenate([zero, ratios[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        out = prod_others(flat, axis=-1) * (before + after)
    else:  # (lists, not writes into arrays: third order differentiates this code)
        sides = []
        for positions in (range(n), range(n - 1, -1, -1)):
            running = np.ones(flat.shape[:-1], dtype=dtype)
            running_t = np.zeros(t_flat.shape[:-1], dtype=dtype)
            values = []
            tangents = []
            for i in positions:
                values.append(running)
                tangents.append(running_t)
                running_t = running_t * flat[..., i] + running * t_flat[..., i]
                running = running * flat[..., i]
            sides.append((values, tangents))
        prefix = np.stack(sides[0][0], axis=-1)
        prefix_t = np.stack(sides[0][1], axis=-1)
        suffix = np.stack(sides[1][0][::-1], axis=-1)
        suffix_t = np.stack(sides[1][1][::-1], axis=-1)
        out = prefix_t * suffix + prefix * suffix_t
    out = out.reshape(t.shape[:1] + moved_shape)
    return np.transpose(out, (0,) + tuple(int(i) + 1 for i in np.argsort(order)))


def nanprod_adjoint_tangent(t, g, a, axis=None, keepdims=False):
    """Tangent of ``nanprod_adjoint(g, a, ...)`` from the tangent ``t`` of
    ``a``: NaNs count as the constant 1."""
    a = np.asarray(a)
    nans = np.isnan(a)
    others = prod_others_tangent(np.where(nans, 0.0, t), np.where(nans, 1.0, a), axis=axis)
    return _outer(nan_reduced(g, a, axis, keepdims), others)


def cumprod_adjoint_tangent(t, g, a, axis=None):
    """Tangent of ``cumprod_adjoint(g, a, axis)`` from the tangent ``t`` of
    ``a``: the recurrences of ``cumprod_adjoint`` (``a_bar_k = before_k S_k``,
    ``S_k = g_k + a_{k+1} S_{k+1}``) differentiated, exact at zeros."""
    a = np.asarray(a)
    shape = a.shape
    if axis is None or a.ndim == 0:
        a = np.ravel(a)
        t = np.reshape(t, (t.shape[0], -1))
        axis = 0
    axis = axis % a.ndim
    factors = np.moveaxis(a, axis, -1)
    factors_t = np.moveaxis(t, axis + 1, -1)[:, None]  # (T, 1, ..., n)
    g = np.moveaxis(g, axis + 1, -1)  # (B, ..., n)
    n = factors.shape[-1]
    dtype = np.result_type(g, factors, t, np.float64)
    suffix = np.empty(np.broadcast_shapes(g.shape, factors.shape), dtype=dtype)
    suffix_t = np.zeros((t.shape[0],) + suffix.shape, dtype=dtype)
    if n:
        suffix[..., n - 1] = g[..., n - 1]
    for k in range(n - 2, -1, -1):
        suffix[..., k] = g[..., k] + factors[..., k + 1] * suffix[..., k + 1]
        suffix_t[..., k] = factors_t[..., k + 1] * suffix[..., k + 1] + factors[..., k + 1] * suffix_t[..., k + 1]
    before = np.empty(factors.shape, dtype=dtype)
    before_t = np.empty(factors_t.shape, dtype=dtype)
    running = np.ones(factors.shape[:-1], dtype=dtype)
    running_t = np.zeros(factors_t.shape[:-1], dtype=dtype)
    for k in range(n):
        before[..., k] = running
        before_t[..., k] = running_t
        running_t = running_t * factors[..., k] + running * factors_t[..., k]
        running = running * factors[..., k]
    out = before_t * suffix + before * suffix_t  # (T, B, ..., n)
    out = np.moveaxis(out, -1, axis + 2)
    return np.reshape(out, out.shape[:2] + shape)


def average_adjoint_tangent(t, g, a, z, axis=None, weights=None, keepdims=False, wrt_weights=False, wrt="a"):
    """Tangent of ``average_adjoint(g, a, z, ...)`` from the tangent ``t``
    of ``a``, ``z`` or ``weights`` (``wrt``). Without weights it reads ``a``
    and ``z`` for their shapes only; ``abar = g w / sum(w)`` reads only the
    weights; ``wbar = g (a - z) / sum(w)`` reads all three."""
    a = np.asarray(a)
    shape = np.shape(weights) if wrt_weights else a.shape
    if weights is None or (wrt != "weights" and not wrt_weights):
        return _leading_zeros(t, g, shape)
    w = _average_weights(a, weights, axis)
    axes = None if axis is None else normalize_axes(axis, a.ndim)
    total = np.sum(np.broadcast_to(w, a.shape), axis=axes, keepdims=True)
    g_full = unreduce(g, a, axis=axis, keepdims=keepdims)
    if wrt == "weights":
        w_t = np.reshape(t, t.shape[:1] + w.shape)
        total_t = np.sum(np.broadcast_to(w_t, t.shape[:1] + a.shape), axis=_shifted_axes(axis, a.ndim),
                         keepdims=True)
    if not wrt_weights:
        return _outer(g_full, w_t / total - w * (total_t / (total * total)))
    z_kept = np.reshape(z, total.shape) if np.ndim(z) != np.ndim(total) else z
    if wrt == "a":
        d = t / total
    elif wrt == "z":
        d = -np.reshape(t, t.shape[:1] + total.shape) / total
    else:
        d = -(a - z_kept) * (total_t / (total * total))
    part = np.broadcast_to(_outer(g_full, d), (t.shape[0],) + g_full.shape)
    return merged(_unbroadcast_reshaped, part, w, np.shape(weights))


def _unbroadcast_reshaped(g, w, shape):
    return np.reshape(unbroadcast(g, w), g.shape[:1] + shape)


def interp_adjoint_fp_tangent_x(t, g, x, xp, fp, left=None, right=None):
    """Tangent of ``interp_adjoint_fp(g, x, xp, fp, ...)`` from the tangent
    ``t`` of ``x``: inside ``xp``'s range the share ``(x - xp[i]) / (xp[i+1] -
    xp[i])`` moves with ``x``, taking from the left end and giving to the right."""
    xp = np.asarray(xp, dtype=float)
    count = np.size(fp)
    rows, batch = t.shape[0], g.shape[0]
    out = np.zeros((rows * batch, count), dtype=np.result_type(g, t, np.float64))
    if xp.size < 2 or count < 2:
        return out.reshape((rows, batch, count))
    segment, _, below, above = _interp_segments(x, xp)
    rate = np.where(below | above, 0.0, 1.0 / (xp[segment + 1] - xp[segment]))
    moved = _outer(np.reshape(g, (batch, -1)), np.reshape(t * rate, (rows, -1)))
    moved = moved.reshape(rows * batch, -1)
    segment = np.ravel(segment)
    np.add.at(out, (slice(None), segment), -moved)
    np.add.at(out, (slice(None), segment + 1), moved)
    return out.reshape((rows, batch, count))


def norm_adjoint_tangent(t, g, x, z, ord=None, axis=None, keepdims=False, wrt="x"):  # noqa: A002
    """Tangent of ``norm_adjoint(g, x, z, ...)`` from the tangent ``t`` of
    ``x`` (or of ``z``: ``wrt="z"``). The adjoint is ``unreduce(g) F(x, z)``
    with ``F = x / z`` (2-norms; 0-norm vectors divide by 1), ``sign(x)``
    (1-norm) or ``sign(x) (|x| / z)^(p-1)``; inf-norms and the 1-norm are
    piecewise constant."""
    x = np.asarray(x)
    axes = tuple(range(x.ndim)) if axis is None else normalize_axes(axis, x.ndim)
    if len(axes) == 2 and ord not in (None, "fro"):
        # Matrix norms: the slopes of 1, -1, inf and -inf are piecewise
        # constant; those of 2, -2 and 'nuc' are u diag(weights) v^T.
        if wrt == "z" or MATRIX_NORMS[ord][0] is not None:
            return _leading_zeros(t, g, x.shape)
        axes = matrix_axes(axis, x.ndim)
        matrix_t = t if axes == (0, 1) else np.swapaxes(t, 1, 2)
        weights = np.reshape(g, (g.shape[0], 1)) * matrix_norm_weights(x, ord, axes)
        result = singular_values_adjoint_tangent(matrix_t, weights, x if axes == (0, 1) else x.T)
        return result if axes == (0, 1) else np.swapaxes(result, 2, 3)
    if ord == 1 or (ord is not None and not isinstance(ord, str) and np.isinf(ord)):
        return _leading_zeros(t, g, x.shape)
    kept_shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    z_kept = z if keepdims else np.reshape(z, kept_shape)
    if wrt == "z" and not keepdims:
        t = np.reshape(t, t.shape[:1] + kept_shape)
    zero = np.equal(z_kept, 0)
    safe = np.where(zero, 1.0, z_kept)
    g_full = unreduce(g, x, axes, keepdims)
    if ord in (None, 2, "fro"):
        if wrt == "x":
            return _outer(g_full, t / safe)
        return _outer(g_full, np.where(zero, 0.0, -t * x / (safe * safe)))
    ratio = np.abs(x) / safe
    if wrt == "x":
        return _outer(g_full, t * ((ord - 1) * ratio ** (ord - 2) / safe))
    return _outer(g_full, np.where(zero, 0.0, -t * ((ord - 1) * np.sign(x) * ratio ** (ord - 1) / safe)))


def add_bar_tangent(t, value, other):
    """The contribution of ``value``'s tangent ``t`` to the tangent of
    ``add_bar(value, other)``: ``t`` in the result's structure (an array
    adjoint of a list is split into items when the other adjoint has items),
    so that the two contributions add with ``add_bar``."""
    if isinstance(value, np.ndarray) and isinstance(other, (tuple, list)) and isinstance(t, np.ndarray):
        return rebuild_like(other, [t[:, :, i] for i in range(len(other))])
    return t


def _unpack_bar_of(bars, value):
    return unpack_bar(value, bars)


def unpack_bar_tangent(t, value):
    """Tangent of ``unpack_bar(value, bars)`` from the tangent ``t`` of ``bars``."""
    return merged_items(_unpack_bar_of, t, value)


def tuple_tangent(value, *tangents, slots=None):
    """The tangent of a tuple or namedtuple ``value`` built from items whose
    tangents are ``tangents`` (None: no derivative), filling ``slots``."""
    items = [None] * len(value)
    for slot, tangent in zip(range(len(tangents)) if slots is None else slots, tangents, strict=True):
        items[slot] = tangent
    return rebuild_like(value, items)


def _outer_zeros(tt, batch, like, outer=None):
    """Zeros ``(S, batch) + like.shape`` for an item whose tangent ``tt``
    (with the outer batch S) holds no array. A hole of ``like`` (None: an
    item that has no tangent at the level below) stays None, as in
    ``zeros_bar``: it has no axes to put S and ``batch`` in front of."""
    if like is None:
        return None
    if isinstance(like, dict):
        return {k: _outer_zeros(tt, batch, v, outer) for k, v in like.items()}
    if isinstance(like, (tuple, list)):
        return rebuild_like(like, [_outer_zeros(tt, batch, v, outer) for v in like])
    if is_plain_object(like):  # an object of the user's class (held by a list): no attribute has a tangent yet
        return {}
    outer = batch_size(tt) or outer
    dtype = np.result_type(np.asarray(like).dtype, np.float32)
    return np.zeros((outer or 1, batch) + np.shape(like), dtype=dtype)


def item_tangent_tangent(tt, t, item, key, batch):
    """Tangent of ``item_tangent(t, item, key, batch)`` (linear in ``t``)."""
    if isinstance(tt, np.ndarray):
        return merged(item_tangent, tt, item, key, batch)
    picked = None if tt is None else tt[key]
    return _outer_zeros(tt, batch, item) if picked is None else picked


def sum_of_items_tangent_tangent(tt, items, z, rows=None):
    """Tangent of ``sum_of_items_tangent(t, items, z, rows)`` (linear in
    ``t``): zeros ``(S, rows) + z.shape`` when no item's tangent has one
    (items linear in the inputs: their second tangents are holes)."""
    from .tangent_elementwise import sum_of_items_tangent

    found = merged_items(sum_of_items_tangent, tt, items, z)
    return _outer_zeros(tt, rows, z) if found is None and rows is not None else found


def extremum_of_items_tangent_tangent(tt, items, z, rows=None):
    """Tangent of ``extremum_of_items_tangent(t, items, z, rows)``, as
    ``sum_of_items_tangent_tangent``."""
    from .tangent_elementwise import extremum_of_items_tangent

    found = merged_items(extremum_of_items_tangent, tt, items, z)
    return _outer_zeros(tt, rows, z) if found is None and rows is not None else found


def item_tangent_adjoint(g, t, key):
    """Adjoint of ``item_tangent(t, item, key, batch)`` with respect to ``t``."""
    if isinstance(t, np.ndarray):
        return batched_getitem_adjoint(g, t, key)
    if isinstance(t, dict):
        holes = dict.fromkeys(t)
        holes[key] = g
        return holes
    holes = [None] * len(t)
    holes[key] = g
    return rebuild_like(t, holes)


def unpack_tangent_tangent(tt, t, value, count, batch):
    """Tangent of ``unpack_tangent(t, value, count, batch)``. ``tt`` None
    (``merged_items`` of a tangent that holds no array: no derivative in any
    item) is a container of holes, as in ``item_tangent_tangent``."""
    if isinstance(tt, np.ndarray):
        return [tt[:, :, i] for i in range(count)]
    items = list(value.values()) if isinstance(value, dict) else list(value)
    if tt is None:
        holes = [None] * len(items)
    else:
        holes = list(tt.values()) if isinstance(tt, dict) else list(tt)
    return [_outer_zeros(tt, batch, item) if h is None else h for h, item in zip(holes, items, strict=True)]


def unpack_tangent_adjoint(bars, t):
    """Adjoint of ``unpack_tangent`` with respect to ``t`` from the targets' adjoints."""
    if isinstance(t, np.ndarray):
        batch = batch_size(list(bars))
        result = np.zeros((batch,) + t.shape, dtype=t.dtype)
        for position, bar in enumerate(bars):
            if bar is not None:
                result[:, :, position] = bar
        return result
    return rebuild_like(t, list(bars)) if not isinstance(t, dict) else dict(zip(t, bars, strict=True))
