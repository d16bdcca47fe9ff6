"""Adjoint helpers of reductions, statistics, scans, quantiles, NaN-ignoring
reductions and convolutions.
"""
import math

import numpy as np

from .broadcasting import (
    Shape, _shape, extremum_adjoint, normalize_axes, prod_others, reduced_count, unbroadcast,
    unreduce,
)
from .masked_bars import masked_array


# ----------------------------------------------------------- statistics and scans

def var_scale(count, ddof):
    """``2 / (N - ddof)``, the variance's slope per deviation; NaN where
    ``N <= ddof``: NumPy divides by 0 there (its value is inf or nan, a
    slope has no meaning), never by a negative count."""
    dof = np.asarray(count, dtype=np.float64) - ddof
    return np.where(dof > 0, 2.0 / np.where(dof > 0, dof, 1.0), np.nan)


def std_divisor(z):
    """``z`` where a standard deviation's derivative divides by it, with inf
    for 0: where ``z`` is 0 every deviation is 0, so the derivative is 0 (a
    single element, or a length-1 axis, gives a constant 0; equal elements
    the subgradient 0, as np.linalg.norm of a zero vector), not 0 / 0."""
    return np.where(np.equal(z, 0), np.inf, z)


def var_adjoint(g, a, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``np.var(a, axis, ddof=ddof)``: ``2 (a - mean) / (N - ddof)``
    per element (the mean's own derivative drops out: deviations sum to zero)."""
    a = np.asarray(a)
    deviations = a - np.mean(a, axis=normalize_axes(axis, a.ndim), keepdims=True)
    with np.errstate(invalid="ignore"):  # N <= ddof: NumPy's value is inf or nan too
        return unreduce(g, a, axis, keepdims) * (deviations * var_scale(reduced_count(a, axis), ddof))


def std_adjoint(g, a, z, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``z = np.std(a, axis, ddof=ddof)``: the variance's, divided
    by ``2 z`` (0 where ``z`` is 0: see ``std_divisor``)."""
    return var_adjoint(g / (2.0 * std_divisor(z)), a, axis, ddof, keepdims)


def _average_weights(a, weights, axis):
    """``np.average``'s weights shaped to broadcast against ``a``: a 1-d
    weight per position along an int ``axis`` when their shapes differ."""
    weights = np.asarray(weights)
    shape = _shape(a)
    if weights.shape != shape and axis is not None:
        axes = normalize_axes(axis, len(shape))
        kept = [n if i in axes else 1 for i, n in enumerate(shape)]
        weights = np.reshape(weights, kept)
    return weights


def average_adjoint(g, a, z, axis=None, weights=None, keepdims=False, wrt_weights=False):
    """Adjoint of ``a`` (or, with ``wrt_weights=True``, of ``weights``) in
    ``z = np.average(a, axis, weights, keepdims=keepdims)``, which is
    ``sum(w a) / sum(w)``: ``abar = g w / sum(w)``,
    ``wbar = g (a - z) / sum(w)``."""
    if weights is None:
        return unreduce(g, a, axis=axis, keepdims=keepdims) / reduced_count(a, axis=axis)
    w = _average_weights(a, weights, axis)
    total = np.sum(np.broadcast_to(w, _shape(a)), axis=None if axis is None else normalize_axes(axis, np.ndim(a)),
                   keepdims=True)
    g_full = unreduce(g, a, axis=axis, keepdims=keepdims)
    if not wrt_weights:
        return g_full * (w / total)
    z_kept = np.reshape(z, total.shape) if np.ndim(z) != np.ndim(total) else z
    w_bar = unbroadcast(g_full * ((a - z_kept) / total), w)
    return np.reshape(w_bar, g.shape[:1] + np.shape(weights))


def trapezoid_adjoint(g, y, x=None, dx=1.0, axis=-1):
    """Adjoint of ``y`` in ``np.trapezoid(y, x, dx, axis)``: sample ``i`` gets
    half the widths of the intervals on either side of it."""
    shape = _shape(y)
    axis = axis % len(shape)
    count = shape[axis]
    widths = _trapezoid_widths(y, x, dx, axis)  # broadcasts against y with the axis last
    half = np.zeros(np.shape(widths)[:-1] + (count,), dtype=np.result_type(widths, float))
    half[..., :-1] += 0.5 * widths
    half[..., 1:] += 0.5 * widths
    y_bar = np.expand_dims(g, -1) * half
    moved = Shape(shape[:axis] + shape[axis + 1:] + (count,))  # y's shape with the axis last
    return np.moveaxis(unbroadcast(y_bar, moved), -1, axis + 1)


def _trapezoid_widths(y, x, dx, axis):
    """The interval widths of ``np.trapezoid``, with the integration axis last."""
    if x is None:
        return np.multiply(np.ones(max(_shape(y)[axis] - 1, 0)), dx)
    x = np.asarray(x)
    if x.ndim == 1:
        return np.diff(x)
    return np.diff(np.moveaxis(x, axis, -1), axis=-1)


def trapezoid_adjoint_x(g, y, x, axis=-1):
    """Adjoint of ``x`` in ``np.trapezoid(y, x, axis=axis)``: the integral is
    ``sum_i (y[i] + y[i+1]) / 2 * (x[i+1] - x[i])``, so ``x[i]`` gets the mean
    height of the interval ending at it minus that of the one starting there."""
    axis = axis % np.ndim(y)
    heights = 0.5 * (np.moveaxis(y, axis, -1)[..., 1:] + np.moveaxis(y, axis, -1)[..., :-1])
    per_width = np.expand_dims(g, -1) * heights  # the cotangent of each width
    zero = np.zeros(per_width.shape[:-1] + (1,), dtype=per_width.dtype)
    x_bar = np.concatenate([zero, per_width], axis=-1) - np.concatenate([per_width, zero], axis=-1)
    if np.ndim(x) == 1:
        return np.reshape(np.sum(x_bar, axis=tuple(range(1, x_bar.ndim - 1))), g.shape[:1] + np.shape(x))
    shape = np.shape(x)
    moved = Shape(shape[:axis] + shape[axis + 1:] + (shape[axis],))  # x's shape with the axis last
    return np.moveaxis(unbroadcast(x_bar, moved), -1, axis + 1)


def trapezoid_adjoint_dx(g, y, dx, axis=-1):
    """Adjoint of ``dx`` in ``np.trapezoid(y, dx=dx, axis=axis)``, which is
    ``dx`` times the sum of the intervals' mean heights."""
    moved = np.moveaxis(y, axis, -1)
    heights = np.sum(0.5 * (moved[..., 1:] + moved[..., :-1]), axis=-1)
    return unbroadcast(g * heights, dx)


def _interp_segments(x, xp):
    """For each ``x``: the segment of ``xp`` it falls in (clipped to the first
    and last), its share ``t`` of the way along it, and where it is below
    ``xp[0]`` or above ``xp[-1]``."""
    x = np.asarray(x, dtype=float)
    xp = np.asarray(xp, dtype=float)
    if xp.size < 2:
        zeros = np.zeros(x.shape, dtype=int)
        return zeros, np.zeros(x.shape), x < xp[0], x > xp[0]
    segment = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, xp.size - 2)
    t = (x - xp[segment]) / (xp[segment + 1] - xp[segment])
    return segment, t, x < xp[0], x > xp[-1]


def interp_adjoint_x(g, x, xp, fp, left=None, right=None):
    """Adjoint of ``x`` in ``np.interp(x, xp, fp)``: the slope of the segment
    ``x`` falls in (the right one at a knot), 0 outside ``xp``'s range where
    a constant is returned."""
    xp = np.asarray(xp, dtype=float)
    fp = np.asarray(fp)
    if xp.size < 2:
        return np.zeros(g.shape, dtype=g.dtype)
    segment, _, below, above = _interp_segments(x, xp)
    slope = (fp[segment + 1] - fp[segment]) / (xp[segment + 1] - xp[segment])
    return g * np.where(below | above, 0.0, slope)


def interp_adjoint_fp(g, x, xp, fp, left=None, right=None):
    """Adjoint of ``fp`` in ``np.interp(x, xp, fp, left, right)``: each ``x``
    sends ``1 - t`` of its cotangent to the left end of its segment and ``t``
    to the right; outside the range, all of it to ``fp[0]`` (or ``fp[-1]``)
    unless ``left`` (or ``right``) replaced that value."""
    segment, t, below, above = _interp_segments(x, xp)
    g_rows = np.reshape(g, (g.shape[0], -1))
    segment, t, below, above = (np.ravel(v) for v in (segment, t, below, above))
    inside = ~(below | above)
    low = np.where(inside, 1.0 - t, 0.0)
    high = np.where(inside, t, 0.0)
    count = np.size(fp)
    fp_bar = np.zeros((g.shape[0], count), dtype=g.dtype)
    np.add.at(fp_bar, (slice(None), segment), g_rows * low)
    if count > 1:
        np.add.at(fp_bar, (slice(None), segment + 1), g_rows * high)
    if left is None:
        fp_bar[:, 0] += np.sum(g_rows * below, axis=1)
    if right is None:
        fp_bar[:, -1] += np.sum(g_rows * above, axis=1)
    return fp_bar

def _scan_axis(g, axis):
    """The axis of the batched cotangent ``g`` that a scan over ``axis`` of
    the primal ran along (None: the flattened input, so ``g`` is ``(B, N)``)."""
    return 1 if axis is None else axis % (g.ndim - 1) + 1


def reverse_cumsum(g, axis=None):
    """Adjoint of ``np.cumsum`` along ``axis``: each element gets the sum of
    the cotangents at and after its position (reshape for ``axis=None``)."""
    axis = _scan_axis(g, axis)
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def _cumprod_pullback(g, factors):
    """The cotangent ``g`` of a cumulative product along the last axis of
    ``factors`` pulled back to them, exact at zeros (no division): element
    k gets the product of the factors before it times the suffix sum of
    ``g`` weighted by the factors after it."""
    n = factors.shape[-1]
    suffix = np.empty(np.broadcast_shapes(g.shape, factors.shape), dtype=np.result_type(g, factors))
    if n:
        suffix[..., n - 1] = g[..., n - 1]
    for k in range(n - 2, -1, -1):
        suffix[..., k] = g[..., k] + factors[..., k + 1] * suffix[..., k + 1]
    ones = np.ones(factors.shape[:-1] + (1,), dtype=factors.dtype)
    before = np.cumprod(np.concatenate([ones, factors[..., :-1]], axis=-1), axis=-1)
    return before * suffix


def cumprod_adjoint(g, a, axis=None):
    """Adjoint of ``np.cumprod`` along ``axis``, exact when ``a`` holds zeros
    (no division).

    With ``z_i = a_0 ... a_i``, ``a_bar_k = (a_0 ... a_{k-1}) S_k`` where
    ``S_k = sum_{i >= k} g_i a_{k+1} ... a_i`` obeys ``S_k = g_k + a_{k+1} S_{k+1}``:
    one vectorised step per position along the axis.
    """
    a = np.asarray(a)
    shape = a.shape
    if axis is None or a.ndim == 0:  # flattened (NumPy scans a 0-d array as one element)
        a = np.ravel(a)
        axis = 0
    axis = axis % a.ndim
    factors = np.moveaxis(a, axis, -1)
    g = np.moveaxis(g, axis + 1, -1)
    a_bar = np.moveaxis(_cumprod_pullback(g, factors), -1, axis + 1)
    return np.reshape(a_bar, a_bar.shape[:1] + shape)


def diff_adjoint(g, n=1, axis=-1):
    """Adjoint of ``np.diff(a, n, axis)``: ``n`` times, each element gets the
    cotangent of the difference that ends at it minus that of the one that
    starts at it."""
    axis = axis % (g.ndim - 1) + 1
    for _ in range(n):
        edge = np.zeros(g.shape[:axis] + (1,) + g.shape[axis + 1:], dtype=g.dtype)
        g = -np.diff(np.concatenate([edge, g, edge], axis=axis), axis=axis)
    return g


def trace_adjoint(g, a, offset=0, axis1=0, axis2=1):
    """Adjoint of ``np.trace(a, offset, axis1, axis2)``: the cotangent on the
    traced diagonal of every matrix, zero off it."""
    shape = _shape(a)
    axis1, axis2 = axis1 % len(shape), axis2 % len(shape)
    diagonal = np.eye(shape[axis1], shape[axis2], k=offset, dtype=g.dtype)
    return np.moveaxis(g[..., None, None] * diagonal, (-2, -1), (axis1 + 1, axis2 + 1))


def norm_adjoint(g, x, z, ord=None, axis=None, keepdims=False):
    """Adjoint of ``np.linalg.norm(x, ord, axis, keepdims)``.

    Vector norms (``x`` 1-d or ``axis`` an int): ``ord`` None, 2, 1, inf,
    -inf, or a finite ``p >= 1``. Matrix norms (``x`` 2-d or ``axis`` a pair):
    ``ord`` None or ``'fro'``. The 2-norm of a zero vector gets 0 (a
    subgradient); inf-norms share the cotangent equally among ties.
    """
    x = np.asarray(x)
    if axis is None:
        axes = tuple(range(x.ndim))
        matrix = x.ndim == 2
        if ord is not None and x.ndim not in (1, 2):
            raise ValueError(f"np.linalg.norm: ord={ord!r} needs a 1-d or 2-d array or an axis.")
    else:
        axes = normalize_axes(axis, x.ndim)
        matrix = len(axes) == 2
    if matrix and ord not in (None, "fro"):
        return unreduce(g, x, axes, keepdims) * matrix_norm_slope(x, ord, matrix_axes(axis, x.ndim))
    if not matrix and (isinstance(ord, str) or (ord is not None and not (ord >= 1 or ord == -np.inf))):
        raise ValueError(f"the derivative of the vector norm with ord={ord!r} is not implemented; "
                         "ord=None, 1, 2, a finite p >= 1, np.inf and -np.inf are.")
    if ord in (None, 2, "fro"):
        return unreduce(g / np.where(np.equal(z, 0), 1.0, z), x, axes, keepdims) * x
    if ord == 1:
        return unreduce(g, x, axes, keepdims) * np.sign(x)
    if np.isinf(ord):
        magnitudes = np.abs(x)
        return extremum_adjoint(g, magnitudes, z, axes, keepdims) * np.sign(x)
    z_kept = z if keepdims else np.reshape(z, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    ratio = np.abs(x) / np.where(np.equal(z_kept, 0), 1.0, z_kept)
    return unreduce(g, x, axes, keepdims) * (np.sign(x) * ratio ** (ord - 1))


#: matrix norms other than Frobenius: ord -> (reduce the rows (axis 0) or the
#: columns (axis 1) of |x|, or the singular values (None); np.max or np.min).
MATRIX_NORMS = {1: (0, np.max), -1: (0, np.min), np.inf: (1, np.max), -np.inf: (1, np.min),
                2: (None, np.max), -2: (None, np.min), "nuc": (None, np.sum)}


def matrix_axes(axis, ndim):
    """The row and column axes of a matrix norm, in the order given (not sorted)."""
    return (0, 1) if axis is None else tuple(a % ndim for a in axis)


def _matrix_norm_parts(x, ord, axes, stacks=False):  # noqa: A002 (NumPy's name)
    """``x`` as the matrix the norm reads (its axes in the order of ``axes``),
    and the entry of ``MATRIX_NORMS``. ``stacks``: ``x`` may have more
    dimensions, the matrix then has its rows and columns last."""
    if ord not in MATRIX_NORMS or isinstance(ord, bool):
        raise ValueError(f"np.linalg.norm: the matrix norm with ord={ord!r} has no derivative rule; "
                         "ord=None, 'fro', 'nuc', 1, -1, 2, -2, np.inf and -np.inf have.")
    if stacks and x.ndim >= 2:
        return np.moveaxis(x, tuple(axes), (-2, -1)), MATRIX_NORMS[ord]
    if x.ndim != 2:
        raise ValueError(f"the derivative of the matrix norm with ord={ord!r} is implemented for 2-d "
                         f"arrays; this one has {x.ndim} dimensions. Compute the norm of each matrix "
                         "in a loop, or use ord=None.")
    return (x if tuple(axes) == (0, 1) else x.T), MATRIX_NORMS[ord]


def _shares(values, extremum, axis=-1):
    """1 at the entries of ``values`` where ``extremum`` is reached along
    ``axis``, shared equally among ties; all ones for a sum."""
    if extremum is np.sum:
        return np.ones_like(values)
    hits = np.equal(values, extremum(values, axis=axis, keepdims=True))
    return hits / np.sum(hits, axis=axis, keepdims=True)


def matrix_norm_slope(x, ord, axes=(0, 1)):  # noqa: A002 (NumPy's name)
    """The slope of ``np.linalg.norm(x, ord)`` for a 2-d ``x`` and a matrix
    norm other than Frobenius, shaped like ``x`` (``axes``: the order of the
    norm's row and column axes). ord=1 (-1) is the largest (smallest) column
    sum of ``|x|``, np.inf (-np.inf) the row sum: the slope is ``sign(x)`` on
    the column (row) that reaches it. ord=2 (-2) is the largest (smallest)
    singular value, with slope ``u_k v_k^T``, and 'nuc' their sum, with slope
    ``u v^T``. Ties share the slope equally (a subgradient). ``x`` may have
    more dimensions (a stack of matrices along the others, as the norm reads
    it with ``axis`` a pair)."""
    x = np.asarray(x)
    matrix, _ = _matrix_norm_parts(x, ord, axes, stacks=True)
    summed, extremum = MATRIX_NORMS[ord]  # (apart from the matrix: this code is differentiated again)
    if summed is None:
        u, s, vh = np.linalg.svd(matrix, full_matrices=False)
        slope = (u * _shares(s, extremum)[..., None, :]) @ vh
    else:  # (column sums for ord 1 and -1, row sums for the infinities)
        totals = np.sum(np.abs(matrix), axis=summed - 2, keepdims=True)
        slope = np.sign(matrix) * _shares(totals, extremum, axis=-1 - summed)
    return np.moveaxis(slope, (-2, -1), tuple(axes))


def matrix_norm_weights(x, ord, axes=(0, 1)):  # noqa: A002 (NumPy's name)
    """The weights of the singular values in a norm that reads them (ord 2,
    -2, 'nuc'): the slope is ``u diag(weights) v^T``."""
    matrix, (_, extremum) = _matrix_norm_parts(np.asarray(x), ord, axes)
    return _shares(np.linalg.svd(matrix, compute_uv=False), extremum)


# ----------------------------------------------------------- convolutions, quantiles, NaN-ignoring reductions,
# ----------------------------------------------------------- more rearrangements and products

def _convolve_mode(mode):
    """A convolution ``mode`` as NumPy reads it: 'valid', 'same', 'full' or
    the integers 0, 1, 2 for them."""
    if isinstance(mode, str) and mode in ("valid", "same", "full"):
        return mode
    if not isinstance(mode, str) and mode in (0, 1, 2):
        return ("valid", "same", "full")[mode]
    raise ValueError(f"np.convolve / np.correlate: mode {mode!r} is not one of 'valid', 'same', 'full'.")


def _convolve_full_cotangent(g, n, m, mode, correlate):
    """The cotangent of a 1-d convolution's output embedded in the full
    output (length ``n + m - 1``), zeros where the mode cut it off.

    'valid' starts at ``min(n, m) - 1``; 'same' (length ``max(n, m)``) at
    ``(min(n, m) - 1) // 2``, except for np.correlate with the second
    argument longer: NumPy swaps the arguments and reverses the result, so
    the odd element is cut from the other end (``min(n, m) // 2``)."""
    mode = _convolve_mode(mode)
    if mode == "full":
        return g
    short = min(n, m)
    if mode == "valid":
        start = short - 1
    elif correlate and n < m:
        start = short // 2
    else:
        start = (short - 1) // 2
    full = np.zeros((g.shape[0], n + m - 1), dtype=g.dtype)
    full[:, start:start + g.shape[1]] = g
    return full


def _slide(full, values):
    """``out[b, j] = sum_i full[b, i + j] * values[i]`` (a batched
    correlation in 'valid' mode), one matrix product."""
    windows = np.lib.stride_tricks.sliding_window_view(full, values.shape[0], axis=1)
    return windows @ values


def convolve_adjoint(g, a, v, mode="full", wrt_v=False, correlate=False):
    """Adjoint of ``a`` (or, ``wrt_v=True``, of ``v``) in ``np.convolve(a, v,
    mode)`` (``correlate=True``: ``np.correlate(a, v, mode)``, which is the
    convolution with ``v`` reversed, cut differently in 'same' mode).

    For the full convolution ``z[k] = sum_i a[i] w[k - i]``:
    ``abar[i] = sum_j zbar[i + j] w[j]`` and ``wbar[j] = sum_i zbar[i + j] a[i]``."""
    a_flat = np.ravel(a)
    v_flat = np.ravel(v)
    n, m = a_flat.shape[0], v_flat.shape[0]
    full = _convolve_full_cotangent(g, n, m, mode, correlate)
    w = v_flat[::-1] if correlate else v_flat
    if wrt_v:
        w_bar = _slide(full, a_flat)
        bar = w_bar[:, ::-1] if correlate else w_bar
        return np.reshape(bar, g.shape[:1] + _shape(v))
    return np.reshape(_slide(full, w), g.shape[:1] + _shape(a))


def correlate_adjoint(g, a, v, mode="valid", wrt_v=False):
    """Adjoint of ``a`` (or ``v``) in ``np.correlate(a, v, mode)``, whose
    mode defaults to 'valid' (see ``convolve_adjoint``)."""
    return convolve_adjoint(g, a, v, mode, wrt_v=wrt_v, correlate=True)


def _check_linear_method(method, function):
    if method != "linear":
        raise ValueError(
            f"the derivative of {function} with method={method!r} is not implemented; "
            f"only the default method='linear' is.")


def quantile_adjoint(g, a, q=0.5, axis=None, method="linear", keepdims=False, scale=1.0,
                     function="np.quantile"):
    """Adjoint of ``a`` in ``np.quantile(a, q, axis, keepdims=keepdims)``
    (``scale=100``: np.percentile; ``q=0.5`` without q's axes: np.median).

    NumPy's value is ``(1 - t) s[lo] + t s[hi]`` for the sorted slice ``s``,
    ``lo = floor(q (n - 1))``, ``hi = lo + 1`` (both ``n - 1`` at the top) and
    ``t = q (n - 1) - lo``: the slope ``1 - t`` goes to the element at ``lo``
    and ``t`` to the one at ``hi``. Where several elements equal ``s[lo]`` (or
    ``s[hi]``) any of them could be the one sorted there, and its slope is
    shared equally among them, as ``np.max``'s rule shares ties (so the 0th
    and 100th percentiles have max's and min's derivatives). A slice holding
    a NaN has a NaN value, and its cotangent goes to its NaNs, as for
    ``np.max``."""
    _check_linear_method(method, function)
    a = np.asarray(a)
    q = np.asarray(q)
    axes = normalize_axes(axis, a.ndim)
    kept = tuple(d for d in range(a.ndim) if d not in axes)
    kept_shape = tuple(1 if d in axes else n for d, n in enumerate(a.shape))
    # The reduced axes last, flattened: (kept..., n), sorted along n.
    moved = np.transpose(a, kept + axes)
    n = math.prod([a.shape[d] for d in axes])
    ordered = np.sort(np.reshape(moved, moved.shape[:len(kept)] + (n,)), axis=-1)
    virtual = (q / scale) * (n - 1)
    lo = np.clip(np.floor(virtual), 0, n - 1).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    t = virtual - np.floor(virtual)
    q_axes = q.ndim
    expand = (1,) * a.ndim

    def values_at(index):  # s[index] shaped q.shape + kept_shape
        picked = ordered[..., index]  # kept... + q.shape
        picked = np.moveaxis(picked, tuple(range(len(kept))), tuple(range(q_axes, q_axes + len(kept))))
        return np.reshape(picked, q.shape + kept_shape)

    def share(value):  # 1 / ties at the elements equal to value, 0 elsewhere
        hits = a == value
        counts = np.sum(hits, axis=tuple(d + q_axes for d in axes), keepdims=True)
        return hits / np.maximum(counts, 1)

    t = np.reshape(t, q.shape + expand)
    weights = (1.0 - t) * share(values_at(lo)) + t * share(values_at(hi))
    if a.dtype.kind in "fc":
        nans = np.isnan(a)
        nan_counts = np.sum(nans, axis=axes, keepdims=True)
        if nan_counts.any():
            weights = np.where(nan_counts > 0, nans / np.maximum(nan_counts, 1), weights)
    # g: (B,) + q.shape + the reduced shape, kept as size-1 axes.
    g = np.reshape(g, g.shape[:1] + q.shape + kept_shape)
    contributions = g * weights
    if q_axes:
        contributions = np.sum(np.reshape(contributions, g.shape[:1] + (-1,) + a.shape), axis=1)
    return contributions


def nan_reduced(g, a, axis=None, keepdims=False):
    """The cotangent of a NaN-ignoring reduction broadcast back, 0 at NaNs."""
    return _nan_absent(np.where(np.isnan(a), 0.0, unreduce(g, a, axis, keepdims)), a)


def _nan_absent(bar, a):
    """``bar`` (the cotangent of ``a``, batch axes in front) with ``a``'s
    NaN elements marked as getting no cotangent (a MaskedBar): the rule
    before the NaN-ignoring reduction often has a NaN slope there (``D * m``
    with ``D`` holding NaNs for missing data), and ``0 * nan`` would make the
    whole derivative NaN, where the reduction never saw those elements."""
    nans = np.isnan(a)
    if not nans.any() or np.shape(bar)[np.ndim(bar) - nans.ndim:] != nans.shape:
        return bar
    return masked_array(bar, np.broadcast_to(nans, np.shape(bar)))


def _not_nan_counts(a, axis):
    return np.sum(~np.isnan(a), axis=normalize_axes(axis, np.ndim(a)), keepdims=True)


def nanmean_adjoint(g, a, axis=None, keepdims=False):
    """Adjoint of ``np.nanmean``: the cotangent over the count of non-NaN
    elements, 0 at NaNs (an all-NaN slice gets nothing)."""
    a = np.asarray(a)
    return nan_reduced(g, a, axis, keepdims) / np.maximum(_not_nan_counts(a, axis), 1)


def nan_extremum_adjoint(g, a, z, axis=None, keepdims=False):
    """Adjoint of ``np.nanmax`` / ``np.nanmin``: the cotangent shared equally
    among the elements equal to the extremum; NaNs (and all-NaN slices) get
    nothing."""
    a = np.asarray(a)
    axes = normalize_axes(axis, a.ndim)
    kept_shape = tuple(1 if d in axes else n for d, n in enumerate(a.shape))
    hits = a == np.reshape(z, kept_shape)
    counts = np.sum(hits, axis=axes, keepdims=True)
    return _nan_absent((np.reshape(g, g.shape[:1] + kept_shape) / np.maximum(counts, 1)) * hits, a)


def nanvar_adjoint(g, a, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``np.nanvar(a, axis, ddof=ddof)``: ``2 (a - mean) / (N - ddof)``
    with ``N`` the count of non-NaN elements and the mean theirs; 0 at NaNs."""
    a = np.asarray(a)
    axes = normalize_axes(axis, a.ndim)
    nans = np.isnan(a)
    counts = _not_nan_counts(a, axis)
    mean = np.sum(np.where(nans, 0.0, a), axis=axes, keepdims=True) / np.maximum(counts, 1)
    deviations = np.where(nans, 0.0, a - mean)
    with np.errstate(divide="ignore", invalid="ignore"):  # N <= ddof: NumPy's value is inf or nan too
        return _nan_absent(unreduce(g, a, axis, keepdims) * (deviations * var_scale(counts, ddof)), a)


def nanstd_adjoint(g, a, z, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``z = np.nanstd(a, ...)``: nanvar's over ``2 z`` (0 where ``z`` is 0)."""
    return nanvar_adjoint(g / (2.0 * std_divisor(z)), a, axis, ddof, keepdims)


def nanprod_adjoint(g, a, axis=None, keepdims=False):
    """Adjoint of ``np.nanprod``: the product of the other non-NaN elements
    (NaNs count as 1, as NumPy treats them; exact at zeros), 0 at NaNs."""
    a = np.asarray(a)
    ones = np.where(np.isnan(a), 1.0, a)
    return nan_reduced(g, a, axis, keepdims) * prod_others(ones, axis=axis)


def ptp_adjoint(g, a, axis=None, keepdims=False):
    """Adjoint of ``np.ptp`` (max - min): max's adjoint minus min's, ties
    shared equally as those rules share them."""
    a = np.asarray(a)
    axes = axis if axis is None or type(axis) is int else tuple(axis)
    high = np.max(a, axis=axes, keepdims=keepdims)
    low = np.min(a, axis=axes, keepdims=keepdims)
    return extremum_adjoint(g, a, high, axis, keepdims) - extremum_adjoint(g, a, low, axis, keepdims)
