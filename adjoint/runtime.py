"""The helpers that generated derivative code calls, as ``rt.<name>``.

Conventions (DESIGN.md): a cotangent ``g`` carries one leading batch axis, so
for a primal ``x`` of shape ``s`` its adjoint has shape ``(B,) + s``. Every
helper here takes and returns adjoints in that form, never mutates its
arguments, and imports nothing but NumPy, so an exported derivative module can
carry these helpers along and run with NumPy alone.

``None`` stands for a zero adjoint inside containers (a tuple adjoint whose
second element never received a contribution); leaf adjoints handed to rules
are always arrays.
"""
import math

import numpy as np


# ----------------------------------------------------------- broadcasting

class Shape:
    """What a residual keeps of an array whose values the backward pass does
    not read: its shape alone (so the array itself can be freed)."""

    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape

    def __repr__(self):
        return f"Shape{self.shape}"


def shape_of(value):
    """The residual for a value read only for its shape (a container is
    kept whole: its structure is what the backward pass reads)."""
    if isinstance(value, (list, tuple, dict)):
        return value
    try:  # arrays and NumPy scalars; this runs once per loop iteration
        return Shape(value.shape)
    except AttributeError:
        return Shape(np.shape(value))


def _shape(x):
    """The shape of an array, NumPy scalar, ``Shape``, Python number or list."""
    try:
        return x.shape
    except AttributeError:
        return np.shape(x)


def unbroadcast(g, x):
    """Sum the batched cotangent ``g`` down to the shape of ``x`` (plus batch)."""
    try:  # inlined _shape: most calls return g unchanged, and they are many
        shape = x.shape
    except AttributeError:
        shape = np.shape(x)
    try:
        if g.shape[1:] == shape:
            return g
    except AttributeError:  # g is a list's adjoint: the operator joined or repeated lists
        raise TypeError(
            "an operator joined or repeated lists or tuples (a + b, items * n) that adjoint "
            "could not tell were lists when it transformed the function. Build them in the "
            "function ([...], list(...)) before joining them, or append to a list."
        ) from None
    extra = g.ndim - 1 - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(1, 1 + extra)))
    axes = tuple(i + 1 for i, n in enumerate(shape) if n == 1 and g.shape[i + 1] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def normalize_axes(axis, ndim):
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple.

    NumPy lets a reduction of a 0-d array name ``axis=0`` or ``axis=-1`` (an
    int, not a tuple) and reduces nothing: that is the empty tuple here.
    """
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(a % ndim for a in axis))
    if ndim == 0:
        return ()
    return (axis % ndim,)


def unreduce(g, x, axis=None, keepdims=False):
    """Broadcast the cotangent of a reduction back to ``(B,) + x.shape``."""
    shape = _shape(x)
    if axis is None and not keepdims:  # a full reduction: one value per batch row
        g = np.reshape(g, g.shape[:1] + (1,) * len(shape))
    elif not keepdims:
        axes = normalize_axes(axis, len(shape))
        g = np.reshape(g, g.shape[:1] + tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return _broadcast(g, g.shape[:1] + shape)


def _broadcast(g, shape):
    """``g`` broadcast to ``shape``: a read-only view when large, a small
    copy otherwise (np.broadcast_to costs more than copying a few thousand
    numbers)."""
    if math.prod(shape) > 4096:
        return np.broadcast_to(g, shape)
    out = np.empty(shape, dtype=g.dtype)
    out[...] = g
    return out


def reduced_count(x, axis=None):
    """How many elements of ``x`` each output of a reduction over ``axis`` sees."""
    shape = _shape(x)
    count = 1
    for a in normalize_axes(axis, len(shape)):
        count *= shape[a]
    return count


def prod_others(x, axis=None, keepdims=False):
    """For each element, the product of the other elements reduced with it.

    Exact when ``x`` holds zeros (no division): the product of the elements
    before and after each one along the flattened reduced axes.
    """
    x = np.asarray(x)
    if x.size == 0:  # nothing to multiply (and no length-0 axis to split)
        return np.ones(x.shape, dtype=np.result_type(x, np.float64))
    axes = normalize_axes(axis, x.ndim)
    kept = tuple(a for a in range(x.ndim) if a not in axes)
    moved = np.transpose(x, kept + axes)
    flat = moved.reshape(moved.shape[: len(kept)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (before * after).reshape(moved.shape)
    return np.transpose(others, np.argsort(kept + axes))


def extremum_adjoint(g, x, z, axis=None, keepdims=False):
    """Adjoint of max/min: the cotangent is shared equally among the ties."""
    x = np.asarray(x)
    if keepdims:
        z_kept = z
    else:
        axes = normalize_axes(axis, x.ndim)
        kept_shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
        z_kept = np.reshape(z, kept_shape)
        g = np.reshape(g, g.shape[:1] + kept_shape)
    hits = x == z_kept
    z_flat = np.ravel(z_kept)
    # Without a NaN extremum every slot has a hit, so as many hits as slots
    # means no ties: each extremum gets its cotangent whole. (A sum of
    # squares is NaN only if a square is.)
    if (x.dtype.kind != "f" or not math.isnan(z_flat.dot(z_flat))) and np.count_nonzero(hits) == z_flat.size:
        return g * hits
    axes = axis if type(axis) is int else normalize_axes(axis, x.ndim)
    counts = hits.sum(axis=axes, keepdims=True)
    if not counts.all():
        # Only a NaN extremum equals none of its elements. NumPy returns a NaN
        # when there is one: it gets the cotangent.
        hits |= np.isnan(x) & np.isnan(z_kept)
        counts = hits.sum(axis=axes, keepdims=True)
    # g and counts have the reduced shape (size-1 axes): share g among the
    # ties there, then the product with hits broadcasts it back.
    return (g / counts) * hits


# ----------------------------------------------------------- statistics and scans

def var_adjoint(g, a, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``np.var(a, axis, ddof=ddof)``: ``2 (a - mean) / (N - ddof)``
    per element (the mean's own derivative drops out: deviations sum to zero)."""
    a = np.asarray(a)
    deviations = a - np.mean(a, axis=normalize_axes(axis, a.ndim), keepdims=True)
    return unreduce(g, a, axis, keepdims) * (deviations * (2.0 / (reduced_count(a, axis) - ddof)))


def std_adjoint(g, a, z, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``z = np.std(a, axis, ddof=ddof)``: the variance's, divided
    by ``2 z`` (infinite where ``z`` is 0, as the derivative of sqrt is)."""
    return var_adjoint(g / (2.0 * z), a, axis, ddof, keepdims)


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
        raise ValueError(f"the derivative of the matrix norm with ord={ord!r} is not implemented; "
                         "ord=None and ord='fro' are.")
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


# ----------------------------------------------------------- elementwise

def log_base(x):
    """``log(x)`` for the exponent's derivative of ``x ** y``; 0 where x is 0
    (there ``x ** y`` is flat in ``y`` for positive ``y``)."""
    return np.log(np.where(np.equal(x, 0), 1.0, x))


def balanced_eq(x, z, other):
    """1 where ``x`` is the result of max/min, 1/2 where both inputs tie.
    A NaN is the result NumPy gives where an input is one, as for np.max:
    the NaN input gets it (both share where both are NaN)."""
    z = np.asarray(z)
    if z.dtype.kind != "f" or not math.isnan(np.vdot(z, z)):  # a sum of squares: NaN only if z has one
        return np.equal(x, z) / (1.0 + np.equal(x, other))
    x_nan, other_nan = np.isnan(x), np.isnan(other)
    return (np.equal(x, z) | x_nan) / (1.0 + (np.equal(x, other) | (x_nan & other_nan)))



def sinc_derivative(x, z):
    """The slope of ``z = np.sinc(x) = sin(pi x) / (pi x)``: ``(cos(pi x) - z) / x``,
    which cancels catastrophically near 0, so the Taylor series is used for
    ``|x| < 1e-2`` (0 at 0, where the peak is flat)."""
    x = np.asarray(x, dtype=np.result_type(x, np.float64))
    small = np.abs(x) < 1e-2
    safe = np.where(small, 1.0, x)
    direct = (np.cos(np.pi * safe) - np.where(small, 1.0, z)) / safe
    p2 = np.pi * np.pi * x * x
    series = -np.pi * np.pi * x / 3.0 * (1.0 - p2 / 10.0 + p2 * p2 / 280.0)
    return np.where(small, series, direct)


def copysign_factor(x1, x2):
    """The slope of ``np.copysign(x1, x2)`` in ``x1``: +1 where the signs (sign
    bits, so -0.0 counts as negative) agree, -1 where they differ."""
    return np.where(np.signbit(x1) == np.signbit(x2), 1.0, -1.0)


def fmod_quotient(x1, x2, z):
    """The integer quotient ``trunc(x1 / x2)`` that ``z = np.fmod(x1, x2)``
    subtracted, read back from ``z`` so it matches NumPy's rounding."""
    return np.round((x1 - z) / x2)

def _clip_bounds(a, a_min, a_max, lower, upper):
    """``np.clip``'s bounds, given as ``a_min``/``a_max`` or by NumPy's keyword
    spellings ``min=``/``max=``, and ``a`` raised to the lower one."""
    a_min = lower if a_min is None else a_min
    a_max = upper if a_max is None else a_max
    raised = a if a_min is None else np.maximum(a, a_min)
    return a_min, a_max, raised


def _clip_factor(factor, a):
    """A derivative factor of ``np.clip`` in ``a``'s floating type."""
    return np.asarray(factor, dtype=np.result_type(np.asarray(a), np.float16))


# np.clip(a, a_min, a_max) is np.minimum(np.maximum(a, a_min), a_max), a
# missing bound left out (so a_max wins where a_min > a_max). Its derivatives
# are those of that composition, with ties shared equally as the rules of
# np.maximum and np.minimum share them (balanced_eq).

def clip_wrt_a(a, z, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 (NumPy's names)
    """d np.clip(a, a_min, a_max) / d a: 1 where ``a`` passed through, 0
    where a bound was taken, 1/2 (or 1/4) where ``a`` ties with a bound."""
    a_min, a_max, raised = _clip_bounds(a, a_min, a_max, min, max)
    factor = 1.0
    if a_min is not None:
        factor = balanced_eq(a, raised, a_min)
    if a_max is not None:
        factor = factor * balanced_eq(raised, z, a_max)
    return _clip_factor(factor, a)


def clip_wrt_min(a, z, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 (NumPy's names)
    """d np.clip(a, a_min, a_max) / d a_min: 1 where the lower bound was
    taken (broadcast against ``a``; the rule sums it back)."""
    a_min, a_max, raised = _clip_bounds(a, a_min, a_max, min, max)
    factor = balanced_eq(a_min, raised, a)
    if a_max is not None:
        factor = factor * balanced_eq(raised, z, a_max)
    return _clip_factor(factor, a)


def clip_wrt_max(a, z, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 (NumPy's names)
    """d np.clip(a, a_min, a_max) / d a_max: 1 where the upper bound was taken."""
    a_min, a_max, raised = _clip_bounds(a, a_min, a_max, min, max)
    return _clip_factor(balanced_eq(a_max, z, raised), a)


# ----------------------------------------------------------- linear algebra

def matmul_adjoint_left(g, x, y):
    """Adjoint of ``x`` in ``x @ y`` (any NumPy matmul ranks, batched ``g``)."""
    x_nd, y_nd = np.ndim(x), np.ndim(y)
    if x_nd == 2 and y_nd == 1:  # matrix @ vector, the common case: an outer product
        return np.einsum("bi,k->bik", g, y)  # einsum writes it twice as fast as broadcasting
    if x_nd == 2 and y_nd == 2:
        return g @ y.T
    if y_nd == 1:
        y = y[:, None]
        g = g[..., None]
    if x_nd == 1:
        g = np.expand_dims(g, -2)
    x_bar = np.matmul(g, np.swapaxes(y, -1, -2))
    if x_nd == 1:
        x_bar = x_bar[..., 0, :]
    return unbroadcast(x_bar, x)


def matmul_adjoint_right(g, x, y):
    """Adjoint of ``y`` in ``x @ y`` (any NumPy matmul ranks, batched ``g``)."""
    x_nd, y_nd = np.ndim(x), np.ndim(y)
    if x_nd == 2 and y_nd == 1:  # matrix @ vector: rows of g times the matrix
        return g @ x
    if x_nd == 2 and y_nd == 2:
        return x.T @ g
    if y_nd == 1:  # first: g gets y's missing column axis, then x's missing row axis
        g = g[..., None]
    if x_nd == 1:
        x = x[None, :]
        g = np.expand_dims(g, -2)
    y_bar = np.matmul(np.swapaxes(x, -1, -2), g)
    if y_nd == 1:
        y_bar = y_bar[..., 0]
    return unbroadcast(y_bar, y)


def dot_adjoint_left(g, a, b):
    """Adjoint of ``a`` in ``np.dot(a, b)`` for every rank NumPy allows."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * b, a)
    a_pre = a_nd - 1
    # g axes: batch, a's leading axes, then b's axes without the contracted one.
    b_rest = [i for i in range(b_nd) if i != max(b_nd - 2, 0)]
    g_axes = list(range(1 + a_pre, g.ndim))
    return np.tensordot(g, b, axes=(g_axes, b_rest))


def dot_adjoint_right(g, a, b):
    """Adjoint of ``b`` in ``np.dot(a, b)`` for every rank NumPy allows."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * a, b)
    a_pre = a_nd - 1
    # result axes: batch, then b's axes without the contracted one, then k.
    b_bar = np.tensordot(g, a, axes=(list(range(1, 1 + a_pre)), list(range(a_pre))))
    if b_nd >= 2:
        b_bar = np.moveaxis(b_bar, -1, -2)
    return b_bar


def outer_adjoint_left(g, a, b):
    flat = np.reshape(g, g.shape[:1] + (np.size(a), np.size(b)))
    return np.reshape(flat @ np.ravel(b), g.shape[:1] + np.shape(a))


def outer_adjoint_right(g, a, b):
    flat = np.reshape(g, g.shape[:1] + (np.size(a), np.size(b)))
    return np.reshape(np.ravel(a) @ flat, g.shape[:1] + np.shape(b))


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum_explicit(subscripts, shapes):
    """``np.einsum`` subscripts with ``...`` spelled out in letters and the
    output made explicit: ``(input terms, output term, a free letter)``.

    Ellipses broadcast right-aligned as in NumPy; the implicit output is
    the ellipsis then the letters used once, in alphabetical order.
    """
    if not isinstance(subscripts, str):
        raise TypeError("the derivative of np.einsum takes its subscripts as a string "
                        "(not the interleaved operand, sublist form).")
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"np.einsum subscripts {subscripts!r} name {len(terms)} operands, got {len(shapes)}.")
    free = [c for c in _EINSUM_LETTERS if c not in subscripts]
    ranks = [len(shape) - len(term.replace("...", "")) for term, shape in zip(terms, shapes, strict=True)]
    width = max([r for r, term in zip(ranks, terms, strict=True) if "..." in term], default=0)
    if len(free) <= width:
        raise ValueError(f"np.einsum subscripts {subscripts!r} leave too few letters free for the derivative.")
    ellipsis = "".join(free[:width])
    spelled = [term.replace("...", ellipsis[width - rank:]) for term, rank in zip(terms, ranks, strict=True)]
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        letters = inputs.replace(",", "").replace(".", "")
        output = ellipsis + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return spelled, output, free[width]


#: above this many multiply-adds per batch row, an einsum goes through BLAS.
_EINSUM_DIRECT_WORK = 4096


def _contract(spec, g, others):
    """``np.einsum(spec, g, *others)`` where ``g`` carries the batch letter.

    Large or many-operand contractions follow a path (pairwise, through
    BLAS where it applies) chosen for one batch row, so that every row is
    computed the same way whatever the batch size."""
    g_term, *terms = spec.split("->")[0].split(",")
    sizes = dict(zip(g_term[1:], g.shape[1:], strict=True))
    for term, array in zip(terms, others, strict=True):
        sizes.update(zip(term, np.shape(array), strict=True))
    if len(others) < 2 and math.prod(sizes.values()) <= _EINSUM_DIRECT_WORK:
        return np.einsum(spec, g, *others)
    path = np.einsum_path(spec, g[:1], *others, optimize="greedy")[0]
    return np.einsum(spec, g, *others, optimize=path)


def einsum_operands(operand0, operand1=None, operand2=None, operand3=None, operand4=None, operand5=None):
    """The operands of one ``np.einsum`` call as arrays (the rule names six)."""
    return [np.asarray(o) for o in (operand0, operand1, operand2, operand3, operand4, operand5) if o is not None]


def einsum_adjoint(g, subscripts, operands, position):
    """Adjoint of ``operands[position]`` in ``np.einsum(subscripts, *operands)``.

    The cotangent contracted with the other operands gives the operand's
    distinct letters; letters only the operand has (summed away in the
    forward pass) get the cotangent broadcast; size-1 axes that NumPy
    broadcast are summed back; a repeated letter (a diagonal) puts the
    result on that diagonal and zeros elsewhere.
    """
    terms, output, batch = einsum_explicit(subscripts, [o.shape for o in operands])
    term, x = terms[position], operands[position]
    distinct = "".join(dict.fromkeys(term))
    others = [(t, o) for i, (t, o) in enumerate(zip(terms, operands, strict=True)) if i != position]
    reached = set(output).union(*(set(t) for t, _ in others))
    present = "".join(c for c in distinct if c in reached)
    spec = ",".join([batch + output] + [t for t, _ in others]) + "->" + batch + present
    part = _contract(spec, g, [o for _, o in others])
    part = np.reshape(part, part.shape[:1] + tuple(
        part.shape[1 + present.index(c)] if c in present else 1 for c in distinct))
    sizes = dict(zip(term, x.shape, strict=True))
    summed = tuple(i + 1 for i, c in enumerate(distinct) if sizes[c] == 1 and part.shape[i + 1] != 1)
    if summed:
        part = part.sum(axis=summed, keepdims=True)
    if distinct == term:
        return _broadcast(part, part.shape[:1] + x.shape)
    x_bar = np.zeros(part.shape[:1] + x.shape, dtype=part.dtype)
    diagonal = np.einsum(f"{batch}{term}->{batch}{distinct}", x_bar)  # a writeable view
    diagonal[...] = part
    return x_bar


def _tensordot_axes(a_ndim, b_ndim, axes):
    """The contracted axes of ``np.tensordot(a, b, axes)`` as two lists."""
    if isinstance(axes, (int, np.integer)):
        return list(range(a_ndim - axes, a_ndim)), list(range(axes))
    a_axes, b_axes = axes
    a_axes = [a_axes] if isinstance(a_axes, (int, np.integer)) else list(a_axes)
    b_axes = [b_axes] if isinstance(b_axes, (int, np.integer)) else list(b_axes)
    return [i % a_ndim for i in a_axes], [i % b_ndim for i in b_axes]


def tensordot_adjoint_left(g, a, b, axes=2):
    """Adjoint of ``a`` in ``np.tensordot(a, b, axes)``."""
    a_axes, b_axes = _tensordot_axes(np.ndim(a), np.ndim(b), axes)
    a_free = [i for i in range(np.ndim(a)) if i not in a_axes]
    b_free = [i for i in range(np.ndim(b)) if i not in b_axes]
    part = np.tensordot(g, b, axes=(list(range(1 + len(a_free), g.ndim)), b_free))
    # part: batch, a's free axes, then b's contracted axes in increasing order.
    order = a_free + [a_axes[b_axes.index(j)] for j in sorted(b_axes)]
    return np.transpose(part, (0,) + tuple(1 + int(i) for i in np.argsort(order)))


def tensordot_adjoint_right(g, a, b, axes=2):
    """Adjoint of ``b`` in ``np.tensordot(a, b, axes)``."""
    a_axes, b_axes = _tensordot_axes(np.ndim(a), np.ndim(b), axes)
    a_free = [i for i in range(np.ndim(a)) if i not in a_axes]
    b_free = [i for i in range(np.ndim(b)) if i not in b_axes]
    part = np.tensordot(g, a, axes=(list(range(1, 1 + len(a_free))), a_free))
    # part: batch, b's free axes, then a's contracted axes in increasing order.
    order = b_free + [b_axes[a_axes.index(i)] for i in sorted(a_axes)]
    return np.transpose(part, (0,) + tuple(1 + int(i) for i in np.argsort(order)))


def inv_adjoint(g, z):
    """Adjoint of ``z = np.linalg.inv(a)``: ``-z^T g z^T`` per matrix."""
    z_t = np.swapaxes(z, -1, -2)
    return -(z_t @ g @ z_t)


def _solve_reads_vectors(a, b):
    """Whether ``np.linalg.solve(a, b)`` reads ``b`` as vectors rather than
    columns: NumPy 2 when ``b`` is 1-d, NumPy 1 when ``b`` has one dimension
    fewer than ``a``."""
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        return np.ndim(b) == 1
    return np.ndim(b) == np.ndim(a) - 1


def solve_transposed(a, g, b):
    """``solve(a^T, g)`` for every batch row of ``g``: the adjoint of ``b`` in
    ``np.linalg.solve(a, b)`` before broadcast axes are summed (``b`` a
    vector or a stack of vectors, or else a stack of columns, as the
    installed NumPy reads it).

    ``a`` is inverted once and each row multiplied by the inverse on its own,
    so a row's result does not depend on how many rows the batch has (a
    solve with many right-hand sides rounds differently from one with one).
    """
    inverse_t = np.swapaxes(np.linalg.inv(a), -1, -2)
    if _solve_reads_vectors(a, b):
        return (inverse_t @ g[..., None])[..., 0]
    return inverse_t @ g


def solve_adjoint_matrix(b_bar, z, a, b):
    """Adjoint of ``a`` in ``z = np.linalg.solve(a, b)`` from ``b_bar``, the
    output of ``solve_transposed``: ``-b_bar z^T``."""
    if _solve_reads_vectors(a, b):
        return unbroadcast(-b_bar[..., :, None] * z[..., None, :], a)
    return unbroadcast(-(b_bar @ np.swapaxes(z, -1, -2)), a)


def det_adjoint(g, z, a):
    """Adjoint of ``z = np.linalg.det(a)``: ``g z inv(a)^T`` (so ``a`` must be
    invertible; NumPy raises LinAlgError for a singular one)."""
    return (g * z)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)



def _mT(x):
    return np.swapaxes(x, -1, -2)


def _triangle_read(full, upper=False):
    """The adjoint of a symmetric matrix function that reads one triangle of
    its input (LAPACK's cholesky and eigh do): ``full`` is the gradient for a
    symmetric perturbation; the entries off the read triangle get nothing,
    and each entry in it stands for itself and its mirror image."""
    folded = full + _mT(full)
    diagonal = np.einsum("...ii->...i", full)
    if upper:
        folded = np.triu(folded, 1)
    else:
        folded = np.tril(folded, -1)
    return folded + diagonal[..., None] * np.eye(full.shape[-1], dtype=full.dtype)


def cholesky_adjoint(g, z, upper=False):
    """Adjoint of ``z = np.linalg.cholesky(a)`` (``a = L L^T``, ``L`` lower; with
    ``upper=True``, ``z = L^T``).

    With ``Phi(X)`` the lower triangle of ``X`` with its diagonal halved, the
    gradient for a symmetric perturbation is the symmetric part of
    ``S = L^-T Phi(L^T Lbar) L^-1`` (Murray, 2016). NumPy reads only one
    triangle of ``a`` (the lower, or the upper with ``upper=True``), so
    ``_triangle_read`` gives the derivative of the function NumPy computes:
    for a symmetric input built from differentiated values it adds up to the
    symmetric gradient other libraries report."""
    if upper:
        z, g = _mT(z), _mT(g)
    phi = np.tril(_mT(z) @ g)
    phi = phi - 0.5 * np.einsum("...ii->...i", phi)[..., None] * np.eye(z.shape[-1], dtype=phi.dtype)
    inverse = np.linalg.inv(z)
    s = _mT(inverse) @ phi @ inverse
    return _triangle_read(0.5 * (s + _mT(s)), upper=upper)


def _result_bars(g, count, function, fix):
    """The cotangents of the ``count`` values a function returned as a tuple
    or list, None for those that got none. A list or tuple of another length
    means the adjoints of several uses were joined end to end instead of
    added (a tuple result indexed in more than one way), which is refused
    rather than answered wrongly."""
    if isinstance(g, np.ndarray):  # the values were read as one array
        return [g[:, i] for i in range(count)]
    if not isinstance(g, (tuple, list)) or len(g) != count:
        raise ValueError(
            f"the derivative of {function} got a cotangent of the wrong structure: its "
            f"result was used in several ways (e.g. both r[1] and r.{fix[0]}). Unpack the "
            f"result once ({fix[1]}) and use the names.")
    return list(g)


def slogdet_adjoint(g, a):
    """Adjoint of ``np.linalg.slogdet(a)``, a (sign, logabsdet) pair: the sign
    is piecewise constant (no derivative); ``logabsdet`` has slope
    ``inv(a)^T``, so ``a`` must be invertible."""
    _, g_logdet = _result_bars(g, 2, "np.linalg.slogdet", ("logabsdet", "sign, logdet = np.linalg.slogdet(a)"))
    if g_logdet is None:
        return zeros_bar(a, batch_size(g))
    return g_logdet[..., None, None] * _mT(np.linalg.inv(a))


def eigh_adjoint(g, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Adjoint of ``w, v = np.linalg.eigh(a)`` for a real symmetric ``a``.

    For a symmetric perturbation, ``abar = v (diag(wbar) + F * (v^T vbar)) v^T``
    with ``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal and 0 on it: the
    eigenvectors' derivative is infinite where eigenvalues repeat (a
    degenerate eigenspace has no unique basis), so their cotangent gives inf
    or nan there; the eigenvalues alone are fine. NumPy reads one triangle
    of ``a`` (``UPLO``), and the result is the derivative of that function
    (see ``_triangle_read``)."""
    g_w, g_v = _result_bars(g, 2, "np.linalg.eigh", ("eigenvalues", "w, v = np.linalg.eigh(a)"))
    w, v = z
    if g_w is None and g_v is None:
        return zeros_bar(v, batch_size(g))
    inner = 0.0
    if g_w is not None:
        inner = g_w[..., None, :] * np.eye(w.shape[-1], dtype=g_w.dtype)
    if g_v is not None:
        gaps = w[..., None, :] - w[..., :, None]
        off = ~np.eye(w.shape[-1], dtype=bool)
        with np.errstate(divide="ignore"):
            f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
        inner = inner + f * (_mT(v) @ g_v)
    full = v @ inner @ _mT(v)
    return _triangle_read(full, upper=UPLO.upper() == "U")


def pinv_adjoint(g, a, z):
    """Adjoint of ``z = np.linalg.pinv(a)`` where the rank of ``a`` does not
    change nearby (full rank, typically): from Golub and Pereyra's
    ``dz = -z da z + z z^T da^T (1 - a z) + (1 - z a) da^T z^T z``,
    ``abar = -z^T g z^T + (1 - a z) g^T z z^T + z^T z g^T (1 - z a)``."""
    z_t = _mT(z)
    g_t = _mT(g)
    left = np.eye(a.shape[-2], dtype=z.dtype) - a @ z
    right = np.eye(a.shape[-1], dtype=z.dtype) - z @ a
    return unbroadcast(-(z_t @ g @ z_t) + left @ g_t @ (z @ z_t) + (z_t @ z) @ g_t @ right, a)


def _chain_product(matrices, size):
    """The product of ``matrices`` (2-d), the identity of ``size`` if none."""
    if not matrices:
        return np.eye(size)
    if len(matrices) == 1:
        return matrices[0]
    return np.linalg.multi_dot(matrices)


def multi_dot_adjoint(g, arrays):
    """Adjoint of ``np.linalg.multi_dot(arrays)``: each matrix gets
    ``left^T g right^T``, with ``left`` and ``right`` the products of the
    matrices before and after it (a 1-d first array is a row, a 1-d last
    array a column, as NumPy reads them)."""
    shapes = [np.shape(x) for x in arrays]
    matrices = [np.asarray(x) for x in arrays]
    if matrices[0].ndim == 1:
        matrices[0] = matrices[0][None, :]
    if matrices[-1].ndim == 1:
        matrices[-1] = matrices[-1][:, None]
    g = np.reshape(g, g.shape[:1] + (matrices[0].shape[0], matrices[-1].shape[1]))
    bars = []
    for i, (matrix, shape) in enumerate(zip(matrices, shapes, strict=True)):
        left = _chain_product(matrices[:i], matrix.shape[0])
        right = _chain_product(matrices[i + 1:], matrix.shape[1])
        bars.append(np.reshape(left.T @ g @ right.T, g.shape[:1] + shape))
    return bars


def matrix_power_adjoint(g, a, n):
    """Adjoint of ``np.linalg.matrix_power(a, n)`` (stacks too): for ``n > 0``,
    ``sum_k (a^T)^k g (a^T)^(n-1-k)``; for ``n < 0`` the same for the power
    ``-n`` of ``m = inv(a)``, then through the inverse (``-m^T mbar m^T``);
    ``n = 0`` is the identity, which does not depend on ``a``."""
    if n == 0:
        return zeros_bar(a, g.shape[0])
    base = np.linalg.inv(a) if n < 0 else np.asarray(a)
    count = abs(n)
    powers = [np.broadcast_to(np.eye(base.shape[-1], dtype=base.dtype), base.shape)]
    base_t = _mT(base)
    for _ in range(count - 1):
        powers.append(powers[-1] @ base_t)
    bar = sum(powers[k] @ g @ powers[count - 1 - k] for k in range(count))
    if n < 0:
        bar = -(base_t @ bar @ base_t)
    return bar


def diag_adjoint(g, v, k=0):
    """Adjoint of ``np.diag(v, k)``: a 1-d ``v`` gets the ``k``-th diagonal of
    the cotangent; a 2-d ``v`` gets the cotangent on its ``k``-th diagonal."""
    if np.ndim(v) == 1:
        return np.diagonal(g, offset=k, axis1=1, axis2=2).copy()
    positions = np.arange(g.shape[1])
    v_bar = np.zeros(g.shape[:1] + _shape(v), dtype=g.dtype)
    v_bar[:, positions + max(-k, 0), positions + max(k, 0)] = g
    return v_bar


def _kron_blocks(g, a, b):
    """The cotangent of ``np.kron(a, b)`` with every axis split in two (``a``'s
    index, then ``b``'s), and ``a``, ``b`` with as many axes as the result."""
    a_shape, b_shape = _shape(a), _shape(b)
    ndim = max(len(a_shape), len(b_shape))
    a_full = (1,) * (ndim - len(a_shape)) + a_shape
    b_full = (1,) * (ndim - len(b_shape)) + b_shape
    split = tuple(n for pair in zip(a_full, b_full, strict=True) for n in pair)
    return np.reshape(g, g.shape[:1] + split), np.reshape(a, a_full), np.reshape(b, b_full)


def kron_adjoint_left(g, a, b):
    blocks, _, b_full = _kron_blocks(g, a, b)
    part = np.tensordot(blocks, b_full, axes=(list(range(2, blocks.ndim, 2)), list(range(b_full.ndim))))
    return np.reshape(part, g.shape[:1] + _shape(a))


def kron_adjoint_right(g, a, b):
    blocks, a_full, _ = _kron_blocks(g, a, b)
    part = np.tensordot(blocks, a_full, axes=(list(range(1, blocks.ndim, 2)), list(range(a_full.ndim))))
    return np.reshape(part, g.shape[:1] + _shape(b))


# ----------------------------------------------------------- shapes

def reshape_adjoint(g, x):
    return np.reshape(g, g.shape[:1] + _shape(x))


def full_adjoint(g, fill_value, dtype=None):
    """Adjoint of ``fill_value`` in ``np.full(shape, fill_value, dtype)``,
    which broadcasts it to ``shape``: the cotangent summed down to the fill
    value's shape (nothing through a cast to integers or booleans)."""
    if dtype is not None:
        g = cast_adjoint(g, dtype)
    return unbroadcast(g, fill_value)


def full_like_adjoint(g, a, fill_value, dtype=None):
    """Adjoint of ``fill_value`` in ``np.full_like(a, fill_value, dtype)``: as
    ``np.full``, with ``a``'s dtype when ``dtype`` is not given (nothing
    through integers or booleans)."""
    return full_adjoint(g, fill_value, dtype=np.result_type(a) if dtype is None else dtype)

def linspace_adjoint(g, bound, num, endpoint=True, dtype=None, axis=0, stop=False):
    """Adjoint of ``start`` (or, with ``stop=True``, of ``stop``) in
    ``np.linspace(start, stop, num, endpoint, dtype=dtype, axis=axis)``.

    Sample ``i`` is ``start * (1 - t_i) + stop * t_i`` with ``t_i = i / (num - 1)``
    (``i / num`` without the endpoint; 0 for a single sample), so each bound
    gets the cotangent of every sample weighted by its share, summed down to
    its own shape (array bounds broadcast against each other). A cast to
    integers (``dtype=int``) is flat: nothing.
    """
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.inexact):
        return np.zeros(g.shape[:1] + _shape(bound), dtype=g.dtype)
    g = np.moveaxis(g, axis % (g.ndim - 1) + 1, 1)  # the samples' axis, after the batch
    steps = num - 1 if endpoint else num
    shares = np.arange(num) / steps if steps > 0 else np.zeros(num)
    weights = shares if stop else 1.0 - shares
    return unbroadcast(np.tensordot(g, weights, axes=([1], [0])), bound)


def array_adjoint(g, a):
    """Adjoint of ``np.array(a)``: ``a`` an array, or a list of arrays."""
    if type(a) is list and all(type(item) is float or type(item) is np.float64 for item in a):
        return [g[:, i] for i in range(len(a))]  # a list of scalars, the common case
    if isinstance(a, (list, tuple)):
        return rebuild_like(a, [g[:, i] if isinstance(item, (float, np.generic)) else array_adjoint(g[:, i], item)
                                for i, item in enumerate(a)])
    return np.reshape(g, g.shape[:1] + np.shape(a))


def transpose_adjoint(g, axes=None):
    nd = g.ndim - 1
    if axes is None:
        inverse = tuple(range(nd - 1, -1, -1))
    else:
        inverse = tuple(np.argsort([a % nd for a in axes]))
    return np.transpose(g, (0,) + tuple(a + 1 for a in inverse))


def swapaxes_adjoint(g, axis1, axis2):
    nd = g.ndim - 1
    return np.swapaxes(g, axis1 % nd + 1, axis2 % nd + 1)


def concatenate_adjoint(g, arrays, axis=0):
    """Split the cotangent of ``np.concatenate(arrays, axis)`` per input."""
    if axis is None:
        sizes = [np.size(a) for a in arrays]
        pieces = np.split(g, np.cumsum(sizes)[:-1], axis=1)
        return [np.reshape(p, g.shape[:1] + np.shape(a)) for p, a in zip(pieces, arrays, strict=True)]
    ndim = np.ndim(arrays[0])
    sizes = [np.shape(a)[axis % ndim] for a in arrays]
    return np.split(g, np.cumsum(sizes)[:-1], axis=axis % ndim + 1)


def stack_adjoint(g, arrays, axis=0):
    """Unstack the cotangent of ``np.stack(arrays, axis)`` per input."""
    axis = axis % (np.ndim(arrays[0]) + 1)
    return [np.take(g, i, axis=axis + 1) for i in range(len(arrays))]


def hstack_adjoint(g, tup):
    """Split the cotangent of ``np.hstack(tup)`` per input: 0-d and 1-d
    inputs were joined end to end, others along their second axis."""
    shapes = [np.shape(a) for a in tup]
    if len(shapes[0]) <= 1:
        sizes, axis = [shape[0] if shape else 1 for shape in shapes], 1
    else:
        sizes, axis = [shape[1] for shape in shapes], 2
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    return [np.reshape(p, g.shape[:1] + s) for p, s in zip(pieces, shapes, strict=True)]


def vstack_adjoint(g, tup):
    """Split the cotangent of ``np.vstack(tup)`` per input: each input was
    made at least 2-d (a 1-d one is a row) and joined along the first axis."""
    shapes = [np.shape(a) for a in tup]
    sizes = [shape[0] if len(shape) >= 2 else 1 for shape in shapes]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=1)
    return [np.reshape(p, g.shape[:1] + s) for p, s in zip(pieces, shapes, strict=True)]


def _batched_axes(axis, g):
    """``axis`` (an int or a sequence, negatives allowed) of a primal with
    ``g``'s shape, as axes of the batched ``g``."""
    ndim = g.ndim - 1
    if isinstance(axis, (tuple, list)):
        return tuple(a % ndim + 1 for a in axis)
    return axis % ndim + 1


def flip_adjoint(g, axis=None):
    """Adjoint of ``np.flip(m, axis)``: the cotangent flipped back."""
    return np.flip(g, tuple(range(1, g.ndim)) if axis is None else _batched_axes(axis, g))


def roll_adjoint(g, shift, axis=None):
    """Adjoint of ``np.roll(a, shift, axis)``: the cotangent rolled back."""
    if axis is None:  # NumPy rolls the flattened array
        rows = np.reshape(g, (g.shape[0], -1))
        return np.reshape(np.roll(rows, np.negative(shift), axis=1), g.shape)
    return np.roll(g, np.negative(shift), axis=_batched_axes(axis, g))


def tile_adjoint(g, A, reps):
    """Adjoint of ``np.tile(A, reps)``: the cotangent of every copy, summed."""
    shape = _shape(A)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    ndim = max(len(reps), len(shape))
    reps = (1,) * (ndim - len(reps)) + reps
    full = (1,) * (ndim - len(shape)) + shape
    blocks = np.reshape(g, g.shape[:1] + tuple(n for pair in zip(reps, full, strict=True) for n in pair))
    return np.reshape(blocks.sum(axis=tuple(range(1, blocks.ndim, 2))), g.shape[:1] + shape)


def repeat_adjoint(g, a, repeats, axis=None):
    """Adjoint of ``np.repeat(a, repeats, axis)``: each element gets the sum
    of the cotangents of its copies (``repeats`` an int or one per element)."""
    shape = _shape(a)
    if axis is None:  # NumPy repeats the flattened array
        axis, count = 1, math.prod(shape)
    else:
        axis, count = axis % len(shape) + 1, shape[axis % len(shape)]
    if np.size(repeats) == 1:
        copies = int(np.ravel(repeats)[0])
        blocks = np.reshape(g, g.shape[:axis] + (count, copies) + g.shape[axis + 1:])
        summed = blocks.sum(axis=axis + 1)
    else:
        owners = np.repeat(np.arange(count), repeats)
        summed = np.zeros(g.shape[:axis] + (count,) + g.shape[axis + 1:], dtype=g.dtype)
        np.add.at(summed, (slice(None),) * axis + (owners,), g)
    return np.reshape(summed, g.shape[:1] + shape)


def take_adjoint(g, a, indices, axis=None, mode="raise"):
    """Adjoint of ``np.take(a, indices, axis, mode=mode)``: the cotangent
    scattered back (repeated indices add up)."""
    shape = _shape(a)
    if axis is None or not shape:  # NumPy takes from the flattened array (a 0-d one for any axis)
        lead, count = 1, math.prod(shape)
        a_bar = np.zeros((g.shape[0], count), dtype=g.dtype)
    else:
        lead, count = axis % len(shape) + 1, shape[axis % len(shape)]
        a_bar = np.zeros(g.shape[:1] + shape, dtype=g.dtype)
    indices = _integer_index(indices)
    if mode == "wrap":
        indices = np.mod(indices, count)
    elif mode == "clip":
        indices = np.clip(indices, 0, count - 1)
    np.add.at(a_bar, (slice(None),) * lead + (indices,), g)
    return np.reshape(a_bar, g.shape[:1] + shape)


def diagonal_adjoint(g, a, offset=0, axis1=0, axis2=1):
    """Adjoint of ``np.diagonal(a, offset, axis1, axis2)``, whose last axis
    runs along the diagonal: the cotangent on that diagonal, zero off it."""
    shape = _shape(a)
    axis1, axis2 = axis1 % len(shape), axis2 % len(shape)
    a_bar = np.zeros(g.shape[:1] + shape, dtype=g.dtype)
    moved = np.moveaxis(a_bar, (axis1 + 1, axis2 + 1), (-2, -1))  # a view: writes reach a_bar
    positions = np.arange(g.shape[-1])
    moved[..., positions + max(-offset, 0), positions + max(offset, 0)] = g
    return a_bar


def triangle_adjoint(g, m, k=0, upper=False):
    """Adjoint of ``np.tril(m, k)`` / ``np.triu(m, k)``: the cotangent where the
    triangle kept the input, zero elsewhere. A 1-d ``m`` was repeated as the
    rows of a square matrix, so its adjoint sums the kept rows."""
    kept = np.triu(g, k) if upper else np.tril(g, k)
    if np.ndim(m) == 1:
        return kept.sum(axis=1)
    return kept


def cross_adjoint(g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False):
    """Adjoint of ``a`` (or, with ``wrt_b=True``, of ``b``) in
    ``c = np.cross(a, b, ...)`` for 3-vectors: ``abar = b x cbar`` and
    ``bbar = cbar x a``, summed down to the operand's broadcast shape."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a_moved, b_moved = np.moveaxis(a, axisa, -1), np.moveaxis(b, axisb, -1)
    if a_moved.shape[-1] != 3 or b_moved.shape[-1] != 3:
        raise ValueError("np.cross is differentiated for 3-vectors only (2-vectors are deprecated in NumPy 2).")
    g_moved = np.moveaxis(g, axisc % (g.ndim - 1) + 1, -1)
    if wrt_b:
        bar, own, own_axis = np.cross(g_moved, a_moved), b_moved, axisb
    else:
        bar, own, own_axis = np.cross(b_moved, g_moved), a_moved, axisa
    return np.moveaxis(unbroadcast(bar, own), -1, own_axis % own.ndim + 1)


def _split_along(g, arrays, sizes, axis):
    """``g`` split along its (batched) ``axis`` into pieces of ``sizes``, each
    reshaped to the shape of its array (which gained size-1 axes when joined)."""
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    return [np.reshape(p, g.shape[:1] + np.shape(x)) for p, x in zip(pieces, arrays, strict=True)]


def column_stack_adjoint(g, tup):
    """Adjoint of ``np.column_stack(tup)``: 0-d and 1-d inputs became
    columns, others were joined along their second axis."""
    sizes = [1 if np.ndim(x) < 2 else np.shape(x)[1] for x in tup]
    return _split_along(g, tup, sizes, 2)


def dstack_adjoint(g, tup):
    """Adjoint of ``np.dstack(tup)``: each input was made at least 3-d (size-1
    axes added) and joined along the third axis."""
    sizes = [1 if np.ndim(x) < 3 else np.shape(x)[2] for x in tup]
    return _split_along(g, tup, sizes, 3)


def append_adjoint(g, arr, values, axis=None, wrt_values=False):
    """Adjoint of ``arr`` (or, with ``wrt_values=True``, of ``values``) in
    ``np.append(arr, values, axis)``: the cotangent's first part, or its
    rest (``axis=None`` joined the flattened arrays)."""
    if axis is None:
        pieces = np.split(np.reshape(g, (g.shape[0], -1)), [np.size(arr)], axis=1)
    else:
        axis = axis % np.ndim(arr)
        pieces = np.split(g, [np.shape(arr)[axis]], axis=axis + 1)
    if wrt_values:
        return np.reshape(pieces[1], g.shape[:1] + np.shape(values))
    return np.reshape(pieces[0], g.shape[:1] + np.shape(arr))


def take_along_axis_adjoint(g, arr, indices, axis=-1):
    """Adjoint of ``np.take_along_axis(arr, indices, axis)``: the cotangent
    scattered back (repeated indices add up)."""
    shape = _shape(arr)
    indices = np.asarray(indices)
    if axis is None:  # NumPy takes from the flattened array
        a_bar = np.zeros((g.shape[0], math.prod(shape)), dtype=g.dtype)
        np.add.at(a_bar, (slice(None), indices), g)
        return np.reshape(a_bar, g.shape[:1] + shape)
    axis = axis % len(shape)
    out_shape = g.shape[1:]
    index = []
    for d in range(len(shape)):
        if d == axis:
            index.append(np.broadcast_to(indices, out_shape))
        else:
            along = np.arange(out_shape[d]) if shape[d] != 1 else np.zeros(out_shape[d], dtype=int)
            index.append(np.reshape(along, (-1,) + (1,) * (len(shape) - 1 - d)))
    a_bar = np.zeros(g.shape[:1] + shape, dtype=g.dtype)
    np.add.at(a_bar, (slice(None),) + tuple(index), g)
    return a_bar


def split_adjoint(g, ary, indices_or_sections, axis=0):
    """Adjoint of ``np.split`` / ``np.array_split(ary, indices_or_sections,
    axis)``, a list of pieces: each piece's cotangent put back where it was
    cut from (zeros for pieces that got none; overlapping pieces, from
    indices out of order, add up)."""
    shape = _shape(ary)
    axis = axis % len(shape)
    positions = np.array_split(np.arange(shape[axis]), indices_or_sections)
    bars = _result_bars(g, len(positions), "np.split", ("append(...)", "a, b = np.split(x, 2)"))
    a_bar = np.zeros((batch_size(g),) + shape, dtype=np.result_type(ary, np.float64))
    lead = (slice(None),) * (axis + 1)
    for piece, bar in zip(positions, bars, strict=True):
        if bar is not None and piece.size:
            a_bar[lead + (slice(piece[0], piece[-1] + 1),)] += bar
    return a_bar

def moveaxis_adjoint(g, source, destination):
    """Adjoint of ``np.moveaxis(a, source, destination)``: the axes moved back."""
    return np.moveaxis(g, _batched_axes(destination, g), _batched_axes(source, g))


def sort_adjoint(g, a, axis=-1):
    """Adjoint of ``np.sort(a, axis)``: each element gets the cotangent of the
    position it was sorted to (ties are told apart by a stable sort)."""
    a = np.asarray(a)
    if axis is None:  # NumPy sorts the flattened array
        order = np.argsort(a, axis=None, kind="stable")
        ranks = np.empty_like(order)
        ranks[order] = np.arange(order.size)
        return np.reshape(g[:, ranks], g.shape[:1] + a.shape)
    order = np.argsort(a, axis=axis, kind="stable")
    ranks = np.argsort(order, axis=axis)
    return np.take_along_axis(g, ranks[None], axis=axis % a.ndim + 1)


#: ``np.pad`` modes that only copy elements of the input.
_COPYING_PAD_MODES = ("edge", "reflect", "symmetric", "wrap")


def pad_adjoint(g, array, pad_width, mode="constant"):
    """Adjoint of ``np.pad(array, pad_width, mode)``: for ``'constant'`` the
    cotangent of the interior; for the modes that copy input elements into
    the border (edge, reflect, symmetric, wrap), their cotangents added back
    to the elements they copy."""
    shape = _shape(array)
    if mode == "constant":
        widths = np.broadcast_to(np.asarray(pad_width), (len(shape), 2))
        return g[(slice(None),) + tuple(slice(int(before), int(before) + n)
                                        for (before, _), n in zip(widths, shape, strict=True))]
    if mode not in _COPYING_PAD_MODES:
        raise ValueError(f"the derivative of np.pad with mode={mode!r} is not implemented; "
                         f"mode='constant' and {', '.join(map(repr, _COPYING_PAD_MODES))} are.")
    sources = np.pad(np.arange(math.prod(shape)).reshape(shape), pad_width, mode=mode)
    array_bar = np.zeros((g.shape[0], math.prod(shape)), dtype=g.dtype)
    np.add.at(array_bar, (slice(None), np.ravel(sources)), np.reshape(g, (g.shape[0], -1)))
    return np.reshape(array_bar, g.shape[:1] + shape)


# ----------------------------------------------------------- indexing

def _integer_index(part):
    """An index list as an array. NumPy reads an empty list as an empty
    integer index, but ``np.asarray([])`` is float, which no index accepts."""
    part = np.asarray(part)
    if part.size == 0 and part.dtype != bool:
        return part.astype(np.intp)
    return part


def _batched_index(index):
    if not isinstance(index, tuple):
        index = (index,)
    expanded = []
    for part in index:
        if isinstance(part, list) or (isinstance(part, np.ndarray) and part.size == 0):
            part = _integer_index(part)
        if isinstance(part, np.ndarray) and part.dtype == bool:
            expanded.extend(np.nonzero(part))
        else:
            expanded.append(part)
    return (slice(None),) + tuple(expanded)


def _is_advanced(index):
    return any(isinstance(p, np.ndarray) for p in index)


def _separated_advanced_ndim(index):
    """For advanced indices separated by a slice, None or ``...``, NumPy puts
    their broadcast dimensions first; return how many, else 0."""
    positions = [i for i, p in enumerate(index)
                 if isinstance(p, np.ndarray) or isinstance(p, (int, np.integer))]
    if not positions or positions[-1] - positions[0] + 1 == len(positions):
        return 0
    return np.broadcast(*[index[i] for i in positions]).ndim


def getitem_adjoint(g, x, index):
    """Adjoint of ``x[index]``: arrays scatter-add (repeated indices
    accumulate); tuples, lists and dicts get ``g`` at ``index``, None elsewhere."""
    if type(x) is np.ndarray:
        return _scatter(np.zeros(g.shape[:1] + x.shape, dtype=g.dtype), g, index)
    if isinstance(x, (tuple, list, dict)):
        return item_bar(x, index, g)
    return _scatter(np.zeros(g.shape[:1] + _shape(x), dtype=g.dtype), g, index)


def _scatter(x_bar, g, index):
    """Add ``g`` into ``x_bar[:, index]`` in place (repeated indices add up)."""
    if type(index) is slice or type(index) is int:  # basic indexing, the common case
        x_bar[:, index] += g
        return x_bar
    batched = _batched_index(index)
    if _is_advanced(batched):
        leading = _separated_advanced_ndim(batched)
        if leading:
            g = np.moveaxis(g, 0, leading)
        np.add.at(x_bar, batched, g)
    else:
        x_bar[batched] += g
    return x_bar


def attribute_adjoint(g, value, name):
    """Adjoint of ``value.name``: a namedtuple field."""
    fields = getattr(type(value), "_fields", None)
    if fields is None or name not in fields:
        raise TypeError(
            f"cannot differentiate the attribute .{name} of a {type(value).__name__}: only "
            "namedtuple fields and the array attribute .T carry derivatives."
        )
    return item_bar(value, fields.index(name), g)


def scatter_add(x_bar, g, x, index):
    """``x_bar + getitem_adjoint(g, x, index)``, adding in place into
    ``x_bar``, an array that the backward pass itself created."""
    if type(x_bar) is np.ndarray or isinstance(x_bar, np.ndarray):
        return _scatter(x_bar, g, index)
    return add_bar(x_bar, getitem_adjoint(g, x, index))


def setitem(array, index, value):
    """``array[index] = value`` as a new array: the forward pass keeps the
    old value, which the backward pass may need, and only arrays the function
    made itself are updated (the transformer checks), so no one else sees
    the difference."""
    updated = array.copy()
    updated[index] = value
    return updated


def _require_array_adjoint(g):
    if not isinstance(g, np.ndarray):
        raise TypeError(
            "item assignment on a list or dict that adjoint cannot tell was built in the "
            "differentiated function (a .copy() of an argument, for instance). Build it there "
            "([...], {...}) or copy it with list(...) / dict(...)."
        )


def overwritten_adjoint(g, index, in_place=False):
    """Adjoint of the array in ``array[index] = value``: what was overwritten
    gets nothing. ``in_place``: ``g`` is an array the backward pass made and
    nothing else reads any more (the transformer knows), so it is updated
    instead of copied: a loop of updates then costs what the updates do."""
    _require_array_adjoint(g)
    if not in_place:
        g = g.copy()
    if type(index) is slice or type(index) is int:
        g[:, index] = 0
    else:
        g[_batched_index(index)] = 0
    return g


def assigned_adjoint(g, index, copy=False):
    """Adjoint of the value in ``array[index] = value``, shaped like
    ``array[index]`` (broadcasting is summed back by the rule): ``g`` at the
    written positions.

    An integer-array index may name one element more than once
    (``y[[0, 0]] = v``, or ``3`` and ``-1`` in a length-4 array). NumPy then
    keeps one of the writes (the last, in practice) and the others reach
    nothing, so only the position whose write was kept gets the cotangent.
    Which one is found by replaying the assignment with position numbers,
    so this follows NumPy's choice whatever it is. Slices, integers and
    masks never repeat an element and skip that work.
    """
    _require_array_adjoint(g)
    out = batched_getitem(g, index)
    if type(index) is slice or type(index) is int or not _has_integer_array(index):
        return out.copy() if copy else out  # a copy when g is about to be updated in place
    shape = out.shape[1:]
    positions = np.arange(math.prod(shape)).reshape(shape)
    landed = np.empty(g.shape[1:], dtype=positions.dtype)
    landed[index] = positions
    kept = landed[index] == positions
    if kept.all():  # no element written twice
        return out
    return out * kept


def _has_integer_array(index):
    """Whether ``index`` has an integer array (or list) part, the only kind
    of index that can name one element twice."""
    for part in index if isinstance(index, tuple) else (index,):
        if isinstance(part, (list, np.ndarray)) and np.asarray(part).dtype != bool:
            return True
    return False


def batched_getitem(g, index):
    """``g[index]`` on every batch row: shape ``(B,) + x[index].shape``."""
    if type(index) is slice or type(index) is int:
        return g[:, index]
    batched = _batched_index(index)
    out = g[batched]
    if _is_advanced(batched):
        leading = _separated_advanced_ndim(batched)
        if leading:
            out = np.moveaxis(out, leading, 0)
    return out


def append(items, value):
    """``items.append(value)``, returning the list (the transformer gives
    each version of a list its own name)."""
    items.append(value)
    return items


def list_head(g, length):
    """Adjoint of a list before an append: the first ``length`` entries."""
    if g is None:
        return None
    if isinstance(g, np.ndarray):  # the longer list was read as one array
        return [g[:, i] for i in range(length)]
    return list(g[:length])


def item_bar(container, key, g):
    """A container adjoint shaped like ``container`` with ``g`` at ``key``."""
    if isinstance(container, dict):
        return {k: (g if k == key else None) for k in container}
    bars = [None] * len(container)
    if isinstance(key, slice):
        positions = range(*key.indices(len(container)))
        if isinstance(g, np.ndarray):  # the slice was read as one array
            g = [g[:, i] for i in range(len(positions))]
        for position, bar in zip(positions, g, strict=True):
            bars[position] = bar
    else:
        bars[key] = g
    return rebuild_like(container, bars)


class MissingRule(TypeError):
    """A derivative rule is missing for a call in a branch that ran."""


def missing_rule(message):
    """Raised by the backward pass of a branch whose derivative is missing,
    if that branch ran: ``message`` names the user's line and what to do."""
    raise MissingRule(message)


def item_position(items, key):
    """``key`` (an int or a slice) counted from the front of ``items`` as it
    is now: the same items however long the list grows afterwards."""
    if isinstance(key, slice):
        return slice(*key.indices(len(items)))
    if isinstance(key, (int, np.integer)) and key < 0:
        return key + len(items)
    return key


def replace_item(container, key, value):
    """``container[key] = value`` on a list or dict the function made, as a
    new container: the forward pass keeps the old one for the backward pass,
    and nothing else holds it (the transformer checks), so no one sees the
    difference."""
    updated = container.copy()
    updated[key] = value
    return updated


def without_item(g, key, container):
    """Adjoint of the container in ``container[key] = value``: the item that
    was replaced reaches nothing (a key the dict did not have is dropped)."""
    if g is None:
        return None
    if isinstance(g, np.ndarray):  # a list that NumPy read as an array
        g = g.copy()
        g[:, key] = 0
        return g
    # The replaced item's adjoint becomes zeros of its shape (not None), so
    # the batch size stays known to whatever reads the old item later.
    if isinstance(g, dict):
        return {k: (_zeros_like_bar(g.get(k)) if k == key else g.get(k)) for k in container}
    g = list(g)
    g[key] = _zeros_like_bar(g[key])
    return rebuild_like(container, g)


def _zeros_like_bar(bar):
    return np.zeros_like(bar) if isinstance(bar, np.ndarray) else None


def copy(value):
    """``value.copy()`` for arrays, lists and dicts alike."""
    return value.copy()


def concat_items(a, b):
    """``a + b`` on lists (or tuples) the function made."""
    return a + b


def repeat_items(items, count):
    """``items * count`` on a list (or tuple) the function made."""
    return items * count


def _item_bars(g, length):
    """A sequence adjoint as a list of ``length`` item adjoints (None: zero)."""
    if isinstance(g, np.ndarray):  # the joined list was read as one array
        return [g[:, i] for i in range(length)]
    return list(g)


def concat_items_adjoint(g, a, b, which):
    """The part of ``(a + b)``'s adjoint that belongs to ``a`` (which=0) or ``b``."""
    bars = _item_bars(g, len(a) + len(b))
    part = bars[:len(a)] if which == 0 else bars[len(a):]
    return rebuild_like(a if which == 0 else b, part)


def repeat_items_adjoint(g, items, count):
    """Adjoint of ``items * count``: each item's adjoints from every repeat, added."""
    bars = _item_bars(g, len(items) * count)
    total = [None] * len(items)
    for position, bar in enumerate(bars):
        total[position % len(items)] = add_bar(total[position % len(items)], bar)
    return rebuild_like(items, total)


def rebuild_like(container, items):
    if isinstance(container, tuple) and hasattr(type(container), "_fields"):
        return type(container)(*items)
    return type(container)(items) if isinstance(container, (tuple, list)) else items


def batch_size(bar):
    """The batch size of an adjoint that may be a container with None holes."""
    if type(bar) is np.ndarray:
        return bar.shape[0]
    if isinstance(bar, dict):
        bar = list(bar.values())
    if isinstance(bar, (tuple, list)):
        for item in bar:
            size = batch_size(item)
            if size is not None:
                return size
        return None
    return None if bar is None else np.shape(bar)[0]


def zeros_bar(like, batch):
    """A zero adjoint for ``like`` (a leaf or a container of leaves; None, a
    hole of a container adjoint, stays None)."""
    if like is None:
        return None
    if isinstance(like, dict):
        return {k: zeros_bar(v, batch) for k, v in like.items()}
    if isinstance(like, (tuple, list)):
        return rebuild_like(like, [zeros_bar(v, batch) for v in like])
    dtype = np.asarray(like).dtype
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.float64
    return np.zeros((batch,) + np.shape(like), dtype=dtype)


def element_bar(container_bar, key, like, batch=None):
    """The adjoint of one element of a container; zeros if it got none
    (``batch`` rows of them when the container's adjoint holds no array).

    A list that NumPy read as an array (``np.dot([x, y], w)``) gets an array
    adjoint; its element ``key`` is then a slice after the batch axis."""
    if isinstance(container_bar, np.ndarray):
        return container_bar[:, key]
    bar = None
    if container_bar is not None and (isinstance(container_bar, dict) or key < len(container_bar)):
        bar = container_bar[key]
    if bar is None:
        rows = batch_size(container_bar)
        return zeros_bar(like, batch if rows is None else rows)
    return bar


def add_bar(a, b):
    """Sum two adjoints where None is zero and containers add elementwise."""
    if type(a) is np.ndarray and type(b) is np.ndarray:
        return a + b
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict):  # keys may differ: a dict adjoint taken before an item was added
        return {k: add_bar(a.get(k), b.get(k)) for k in {**a, **b}}
    # A list that NumPy read as one array (np.sin(items)) has one array
    # adjoint, whose items follow the batch axis; other uses give it items.
    if isinstance(a, np.ndarray) and isinstance(b, (tuple, list)):
        a = rebuild_like(b, [a[:, i] for i in range(len(b))])
    elif isinstance(b, np.ndarray) and isinstance(a, (tuple, list)):
        b = rebuild_like(a, [b[:, i] for i in range(len(a))])
    if isinstance(a, list) and len(a) != len(b):
        # Adjoints of a list taken before and after appends: the shorter one
        # has no contribution for the later items.
        longest = max(len(a), len(b))
        a, b = a + [None] * (longest - len(a)), list(b) + [None] * (longest - len(b))
    if isinstance(a, (tuple, list)):
        return rebuild_like(a, [add_bar(x, y) for x, y in zip(a, b, strict=True)])
    return a + b


def unpack_bar(value, bars):
    """Adjoint of ``a, b, ... = value`` from the targets' adjoints."""
    if isinstance(value, (tuple, list)):
        return rebuild_like(value, list(bars))
    batch = batch_size(list(bars))
    value_bar = np.zeros((batch,) + np.shape(value), dtype=np.result_type(value, np.float64))
    for position, bar in enumerate(bars):
        if bar is not None:
            value_bar[:, position] = bar
    return value_bar


def sum_of_items_adjoint(g, items):
    """Adjoint of Python's ``sum(items)``: every item gets ``g``, summed
    down to its own shape."""
    return rebuild_like(items, [unbroadcast(g, item) for item in items])


def sequence_adjoint(g, items):
    """Adjoint of ``list(items)`` / ``tuple(items)``: the same entries, in
    the shape of ``items`` (a sequence, or an array split along its first axis)."""
    if isinstance(g, np.ndarray):  # the copy was read as one array
        g = [g[:, i] for i in range(len(items))]
    if isinstance(items, (list, tuple)):
        return rebuild_like(items, list(g) + [None] * (len(items) - len(g)))
    batch = batch_size(list(g))
    rows = [zeros_bar(item, batch) if bar is None else bar for bar, item in zip(g, items, strict=True)]
    return np.stack(rows, axis=1)


def mapping_adjoint(g, mapping):
    """Adjoint of ``dict(mapping)``, a copy of a dict: the same entries (keys
    the copy gained later are dropped)."""
    if not isinstance(mapping, dict):
        raise TypeError("dict(...) is differentiated only as the copy of a dict: dict(d).")
    return {key: g.get(key) for key in mapping}


def extremum_of_items_adjoint(g, items, z):
    """Adjoint of Python's ``max(items)`` / ``min(items)``: the first item
    equal to the result gets ``g``."""
    winner = next(i for i, item in enumerate(items) if np.all(item == z))
    return rebuild_like(items, [unbroadcast(g, item) if i == winner else zeros_bar(item, g.shape[0])
                                for i, item in enumerate(items)])


# ----------------------------------------------------------- user rules

#: the transformer, for callees known only when generated code runs (a method
#: of an object passed in, a function passed in): installed by adjoint.api,
#: so that the runtime imports nothing of adjoint (exported modules carry it).
DYNAMIC = {}


def method_forward(name, positions, receiver, *args, **kwargs):
    """Forward pass of ``receiver.name(*args)`` when the object is known only
    at run time: its method is transformed (and cached) for the argument
    ``positions`` that carry derivatives (0 is the object itself)."""
    get_vjp, compiled_call = DYNAMIC["get_vjp"], DYNAMIC["compiled_call"]
    method = getattr(receiver, name)
    function = getattr(method, "__func__", None)
    if function is None or getattr(method, "__self__", None) is not receiver:
        # Not a method bound to this object: a static method, or a function
        # or callable stored on it. It does not take the object.
        skipped = 1 if 0 in positions else 0
        compiled = compiled_call(method, len(args), tuple(p - 1 for p in positions if p > 0),
                                 for_caller=True, skipped=skipped, keywords=tuple(kwargs))
        result, residuals = compiled.forward(*args, **kwargs)
        return result, (compiled, residuals)
    if not hasattr(function, "__code__"):
        raise TypeError(
            f"cannot differentiate through {type(receiver).__name__}.{name}(): it is not a "
            "Python method with source. Register its derivative with adjoint.defvjp."
        )
    compiled = get_vjp(function, positions, False, for_caller=True)
    result, residuals = compiled.forward(receiver, *args, **kwargs)
    return result, (compiled, residuals)


def function_forward(positions, function, *args, **kwargs):
    """Forward pass of ``function(*args)`` when the function is known only at
    run time (passed in as an argument): a Python function is transformed (and
    cached) for the argument ``positions`` that carry derivatives; a NumPy
    function with a rule gets a one-line wrapper first."""
    compiled = DYNAMIC["compiled_call"](function, len(args), positions, for_caller=True, keywords=tuple(kwargs))
    result, residuals = compiled.forward(*args, **kwargs)
    return result, (compiled, residuals)


def call_backward(saved, g):
    """Backward pass of a call made by ``method_forward`` or ``function_forward``."""
    compiled, residuals = saved
    return compiled.backward(residuals, g)


def call_vjp(maker, batched, g, ans, *args, **kwargs):
    """Apply a rule registered with ``adjoint.defvjp``.

    An unbatched maker's function sees one cotangent at a time; its results
    are stacked along the batch axis.
    """
    vjp = maker(ans, *args, **kwargs)
    position = getattr(maker, "position", None)  # set by the rule registry
    expected = None if position is None else _shape(args[position])
    if isinstance(ans, (tuple, list)):
        # A function returning several values (np.linalg.slogdet): g is shaped
        # like ans, with zeros for the values that got no cotangent.
        batch = batch_size(g)
        g = rebuild_like(ans, [zeros_bar(a, batch) if b is None else b
                               for a, b in zip(ans, list(g), strict=True)])
        if not batched:
            rows = [rebuild_like(ans, [leaf[row] for leaf in g]) for row in range(batch)]
            return _stack_contributions([vjp(row) for row in rows], maker, expected)
    if batched:
        contribution = vjp(g)
        if expected is not None and _shape(contribution) != (batch_size(g),) + expected:
            raise _contribution_error(maker, _shape(contribution), (batch_size(g),) + expected, batched)
        return contribution
    return _stack_contributions([vjp(row) for row in g], maker, expected)


def _stack_contributions(contributions, maker, expected):
    """An unbatched maker's contributions, one per cotangent row, stacked."""
    rows = []
    for contribution in contributions:
        contribution = np.asarray(contribution)
        if expected is not None and contribution.shape != expected:
            raise _contribution_error(maker, contribution.shape, expected, False)
        rows.append(contribution)
    return np.stack(rows)


def _contribution_error(maker, got, expected, batched):
    """A defvjp maker returned a contribution of the wrong shape (typically
    shaped like the cotangent, for an argument the function broadcast)."""
    shape = "the batch size followed by that argument's shape" if batched else "that argument's shape"
    return ValueError(
        f"the defvjp rule of {maker.rule_name}: the function made by the maker for positional "
        f"argument {maker.position} returned a contribution of shape {got}, but it must have "
        f"{shape}, {expected}. If {maker.rule_name} broadcasts that argument, sum the "
        "cotangent over the broadcast axes."
    )


# ----------------------------------------------------------- primitives
# Syntax that is not a function call (``x[i]``, ``(a, b)``, ``y = x``) is
# looked up in the rule registry under these functions. Generated code keeps
# the original syntax; these exist so every primitive has one identity.

def loop_length(*sequences):
    """How many times ``for`` runs over ``sequences`` (zip stops at the shortest).
    The loop reads ``sequence[i]``, which is the i-th item only of a sequence."""
    for sequence in sequences:
        if not isinstance(sequence, (list, tuple, np.ndarray)):
            raise TypeError(
                f"a for loop over a {type(sequence).__name__} that holds differentiated values: "
                "adjoint loops over lists, tuples and arrays by position. For a dict, loop over "
                "d.keys() and index it (for k in d.keys(): ... d[k] ...)."
            )
    return min(len(sequence) for sequence in sequences)


def check_aux_result(result):
    """With has_aux, the function must return ``(output, aux)``."""
    if not (isinstance(result, tuple) and len(result) == 2):
        from .errors import aux_error

        raise aux_error(result)


def getitem(value, index):
    return value[index]


def identity(value):
    return value


def make_tuple(*items):
    return tuple(items)


def make_list(*items):
    return list(items)


def make_dict(keys, *values):
    return dict(zip(keys, values, strict=True))


def astype(value, dtype):
    """``value.astype(dtype)``, the primitive of the array method."""
    return value.astype(dtype)


def cast_adjoint(g, dtype):
    """Adjoint of a cast: the cotangent itself to a floating type; nothing
    through a cast to integers or booleans, which is flat."""
    if np.issubdtype(np.dtype(dtype), np.floating):
        return g
    return np.zeros_like(g)


def attribute(value, name):
    return getattr(value, name)


def transpose_attribute(value):
    return value.T


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
    n = math.prod(a.shape[d] for d in axes)
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
    return np.where(np.isnan(a), 0.0, unreduce(g, a, axis, keepdims))


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
    return (np.reshape(g, g.shape[:1] + kept_shape) / np.maximum(counts, 1)) * hits


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
        return unreduce(g, a, axis, keepdims) * (deviations * (2.0 / (counts - ddof)))


def nanstd_adjoint(g, a, z, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``z = np.nanstd(a, ...)``: nanvar's over ``2 z``."""
    return nanvar_adjoint(g / (2.0 * z), a, axis, ddof, keepdims)


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


def ediff1d_adjoint(g, ary, to_begin=None):
    """Adjoint of ``ary`` in ``np.ediff1d(ary, to_end, to_begin)``: the
    differences' cotangent (after the ``to_begin`` values, before the
    ``to_end`` ones) through ``np.diff`` of the flattened array."""
    shape = _shape(ary)
    size = math.prod(shape)
    start = 0 if to_begin is None else np.size(to_begin)
    differences = g[:, start:start + max(size - 1, 0)]
    if size == 0:
        return np.zeros(g.shape[:1] + shape, dtype=g.dtype)
    return np.reshape(diff_adjoint(differences, 1, -1), g.shape[:1] + shape)


def diagflat_adjoint(g, v, k=0):
    """Adjoint of ``np.diagflat(v, k)``: the ``k``-th diagonal of the
    cotangent, shaped like ``v``."""
    return np.reshape(np.diagonal(g, offset=k, axis1=1, axis2=2).copy(), g.shape[:1] + _shape(v))


def rot90_adjoint(g, k=1, axes=(0, 1)):
    """Adjoint of ``np.rot90(m, k, axes)``: the cotangent rotated back."""
    return np.rot90(g, -k, axes=_batched_axes(axes, g))


def rollaxis_adjoint(g, a, axis, start=0):
    """Adjoint of ``np.rollaxis(a, axis, start)``: the axes of the cotangent
    put back (NumPy's permutation, inverted)."""
    ndim = len(_shape(a))
    axes = list(range(ndim))
    axis = axis % ndim
    if start < 0:
        start += ndim
    if axis < start:
        start -= 1
    if axis != start:
        axes.remove(axis)
        axes.insert(start, axis)
    inverse = np.argsort(axes)
    return np.transpose(g, (0,) + tuple(int(i) + 1 for i in inverse))


def inner_adjoint(g, a, b, wrt_b=False):
    """Adjoint of ``a`` (or ``b``) in ``np.inner(a, b)``: the product over the
    last axes, ``z[I, J] = sum_k a[I, k] b[J, k]`` (a 0-d argument multiplies)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        other = a if wrt_b else b
        return unbroadcast(g * other, b if wrt_b else a)
    k = a.shape[-1]
    a_rows = np.reshape(a, (-1, k))
    b_rows = np.reshape(b, (-1, k))
    g_rows = np.reshape(g, (g.shape[0], a_rows.shape[0], b_rows.shape[0]))
    if wrt_b:
        return np.reshape(np.swapaxes(g_rows, 1, 2) @ a_rows, g.shape[:1] + b.shape)
    return np.reshape(g_rows @ b_rows, g.shape[:1] + a.shape)


def vdot_adjoint(g, other, like):
    """Adjoint of one argument of ``np.vdot(a, b)`` for real arrays (the sum
    of the flattened products): the other argument times the cotangent."""
    return np.reshape(g, (-1,) + (1,) * len(_shape(like))) * np.reshape(other, _shape(like))


def fmax_factor(x, z, other, first=False):
    """The slope of ``z = np.fmax(x, other)`` (or fmin) in ``x``: 1 where
    ``x`` is the result, 1/2 where both tie (as np.maximum's rule), 0 where
    ``x`` is NaN and ``other`` is not (NumPy returns ``other``); where both
    are NaN NumPy returns the first argument, which gets it (``first``)."""
    factor = np.equal(x, z) / (1.0 + np.equal(x, other))  # NaN inputs: nothing, here
    if first:
        factor = factor + (np.isnan(x) & np.isnan(other))
    return factor


def eigvalsh_adjoint(g, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Adjoint of ``np.linalg.eigvalsh(a, UPLO)``: eigh's for the eigenvalues
    alone, ``v diag(wbar) v^T`` read back through the triangle NumPy reads."""
    return eigh_adjoint((g, None), np.linalg.eigh(a, UPLO=UPLO), UPLO=UPLO)


def singular_values_adjoint(g, a, compute_uv=True):
    """Adjoint of ``s = np.linalg.svd(a, compute_uv=False)``: ``u diag(sbar) vh``
    with the reduced factors (differentiable where the singular values are
    nonzero; repeated ones are fine). The factors' own derivative
    (``compute_uv=True``) is not implemented."""
    if compute_uv:
        raise ValueError(
            "the derivative of np.linalg.svd is implemented for the singular values alone: "
            "call np.linalg.svd(a, compute_uv=False), or np.linalg.svdvals(a).")
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return (u * g[..., None, :]) @ vh


def _cov_rows(m, rowvar):
    """``np.cov``'s observations matrix: one variable per row, and whether
    ``m`` was transposed to get it."""
    x = np.array(m, ndmin=2, dtype=np.result_type(m, np.float64))
    transposed = not rowvar and np.ndim(m) != 1
    return (x.T if transposed else x), transposed


def cov_adjoint(g, m, rowvar=True, bias=False, ddof=None):
    """Adjoint of ``C = np.cov(m, rowvar=rowvar, bias=bias, ddof=ddof)`` for one
    array ``m``: with ``X`` the centred observations (a variable per row) and
    ``f = N - ddof``, ``C = X X^T / f`` and ``mbar = (Cbar + Cbar^T) X / f``
    (the mean's derivative drops out: each row of ``X`` sums to zero)."""
    x, transposed = _cov_rows(m, rowvar)
    if ddof is None:
        ddof = 0 if bias else 1
    centred = x - np.mean(x, axis=1, keepdims=True)
    count = x.shape[0]
    c_bar = np.reshape(g, (g.shape[0], count, count))
    x_bar = ((c_bar + np.swapaxes(c_bar, 1, 2)) @ centred) / (x.shape[1] - ddof)
    if transposed:
        x_bar = np.swapaxes(x_bar, 1, 2)
    return np.reshape(x_bar, g.shape[:1] + _shape(m))


def corrcoef_adjoint(g, x, rowvar=True):
    """Adjoint of ``R = np.corrcoef(x, rowvar=rowvar)`` for one array: with
    ``C`` the covariance and ``s = sqrt(diag(C))``, ``R = C / (s s^T)``, so
    ``Cbar = Rbar / (s s^T) - diag(sum_j (Rbar + Rbar^T)[i, j] R[i, j]) / (2 s_i^2)``,
    then the covariance's adjoint (NumPy clips R to [-1, 1]: a perfect
    correlation has no derivative, and gets this formula's)."""
    c = np.atleast_2d(np.cov(x, rowvar=rowvar))
    s = np.sqrt(np.diagonal(c))
    outer = s[:, None] * s[None, :]
    r = c / outer
    r_bar = np.reshape(g, (g.shape[0],) + c.shape)
    sym = r_bar + np.swapaxes(r_bar, 1, 2)
    diagonal = -np.sum(sym * r, axis=2) / (2.0 * s * s)
    c_bar = r_bar / outer + diagonal[:, :, None] * np.eye(c.shape[0])
    return cov_adjoint(c_bar, x, rowvar=rowvar)


def lstsq_adjoint(g, a, b, wrt_b=False):
    """Adjoint of ``a`` (or ``b``) in ``x = np.linalg.lstsq(a, b)[0]`` where
    ``a`` has full rank (tall, square or wide): ``x = pinv(a) b``, so
    ``bbar = pinv(a)^T xbar`` and ``abar`` is pinv's adjoint for the
    cotangent ``xbar b^T``. The residuals, rank and singular values that
    lstsq also returns have no derivative here: a use of the residuals is
    refused."""
    bars = _result_bars(g, 4, "np.linalg.lstsq", ("residuals", "x, residuals, rank, sv = np.linalg.lstsq(a, b)"))
    x_bar = bars[0]
    if bars[1] is not None or bars[3] is not None:
        raise ValueError(
            "the derivative of np.linalg.lstsq is implemented for the solution x alone; its "
            "residuals and singular values were used. Compute them from x (np.sum((a @ x - b) ** 2, axis=0)).")
    like = b if wrt_b else a
    if x_bar is None:
        return zeros_bar(like, batch_size(g))
    a = np.asarray(a)
    b = np.asarray(b)
    inverse = np.linalg.pinv(a)
    if wrt_b:
        return _mT(inverse) @ x_bar if b.ndim == 2 else (x_bar @ inverse)
    if b.ndim == 1:
        p_bar = x_bar[:, :, None] * b[None, None, :]
    else:
        p_bar = x_bar @ b.T
    return pinv_adjoint(p_bar, a, inverse)


def qr_adjoint(g, a, z, mode="reduced"):
    """Adjoint of ``q, r = np.linalg.qr(a)`` (reduced, ``a`` square or tall with
    full column rank, stacks too), as in TensorFlow's QR gradient:
    ``abar = q (rbar + tril(q^T qbar - qbar^T q + r rbar^T - rbar r^T) r^-T)
    + (qbar - q q^T qbar) r^-T``."""
    if mode != "reduced":
        raise ValueError(f"the derivative of np.linalg.qr is implemented for mode='reduced' only, not {mode!r}.")
    a = np.asarray(a)
    if a.shape[-2] < a.shape[-1]:
        raise ValueError(
            "the derivative of np.linalg.qr is implemented for square or tall matrices "
            f"(rows >= columns); this one is {a.shape[-2]}x{a.shape[-1]}.")
    q_bar, r_bar = _result_bars(g, 2, "np.linalg.qr", ("Q", "q, r = np.linalg.qr(a)"))
    q, r = z
    if q_bar is None and r_bar is None:
        return zeros_bar(a, batch_size(g))
    if q_bar is None:
        q_bar = np.zeros(r_bar.shape[:1] + q.shape, dtype=r_bar.dtype)
    if r_bar is None:
        r_bar = np.zeros(q_bar.shape[:1] + r.shape, dtype=q_bar.dtype)
    q_t = _mT(q)
    qdq = q_t @ q_bar
    rdr = r @ _mT(r_bar)
    lower = np.tril(qdq - _mT(qdq) + rdr - _mT(rdr))
    r_inverse_t = _mT(np.linalg.inv(r))
    return q @ (r_bar + lower @ r_inverse_t) + (q_bar - q @ qdq) @ r_inverse_t


# ------------------------------------------------------------ forward mode
# Tangents carry a leading batch axis, like adjoints: ``(B,) + x.shape``.
# A container's tangent is a container of the same structure, with None for
# items that carry no derivative.

def lift(t, z):
    """A tangent ``(B,) + x.shape`` broadcast to ``(B,) + z.shape`` the way
    NumPy broadcasts ``x`` against ``z`` (for elementwise functions)."""
    shape = np.shape(z)
    if t.shape[1:] == shape:
        return t
    missing = len(shape) - (t.ndim - 1)
    if missing > 0:
        t = t.reshape(t.shape[:1] + (1,) * missing + t.shape[1:])
    return np.broadcast_to(t, t.shape[:1] + shape)


def batch_axes(axis, x):
    """``axis`` of ``x`` as an axis of its batched tangent (None: all of x's axes)."""
    if axis is None:
        return tuple(range(1, np.ndim(x) + 1))
    if isinstance(axis, (tuple, list)):
        return tuple(a + 1 if a >= 0 else a for a in axis)
    return axis + 1 if axis >= 0 else axis


def batch_axis(axis):
    """One axis of an array as an axis of its batched tangent."""
    return axis + 1 if axis >= 0 else axis


def tangent_of_item(t, batch, like):
    return zeros_bar(like, batch) if t is None else t


def item_tangent(t, item, key, batch):
    """The tangent of ``value[key]`` from the tangent ``t`` of ``value``."""
    if t is None:
        return zeros_bar(item, batch)
    if isinstance(t, np.ndarray):
        return batched_getitem(t, key)
    return tangent_of_item(t[key], batch, item)


def attribute_tangent(t, item, name, batch):
    """The tangent of ``value.name``: a namedtuple field."""
    if t is None:
        return zeros_bar(item, batch)
    if isinstance(t, np.ndarray):
        raise TypeError(f"cannot differentiate the attribute .{name} of an array.")
    return tangent_of_item(getattr(t, name), batch, item)


def unpack_tangent(t, value, count, batch):
    """Tangents of ``a, b, ... = value``."""
    if isinstance(t, np.ndarray):
        return [t[:, i] for i in range(count)]
    items = list(value.values()) if isinstance(value, dict) else list(value)
    holes = list(t.values()) if isinstance(t, dict) else list(t)
    return [tangent_of_item(h, batch, item) for h, item in zip(holes, items, strict=True)]


def no_tangents(container):
    """A tangent with no derivative in any item, shaped like ``container``."""
    if isinstance(container, dict):
        return dict.fromkeys(container)
    return rebuild_like(container, [None] * len(container))


def append_tangent(t, items, value_t):
    """The tangent of ``items.append(value)`` (a new list)."""
    base = list(no_tangents(items)[:-1]) if t is None else list(t)
    return base + [value_t]


def replace_item_tangent(t, container, key, value_t):
    updated = (no_tangents(container) if t is None else t).copy()
    updated[key] = value_t
    return updated


def setitem_tangent(t, index, value_t, result, batch):
    """The tangent of ``result = array; result[index] = value``."""
    updated = zeros_bar(result, batch) if t is None else np.array(t, dtype=np.result_type(t, float))
    region = batched_getitem(updated, index)
    if value_t is None:
        part = np.zeros_like(region)
    else:
        part = lift(value_t, region[0])
    batched = (slice(None),) + (index if isinstance(index, tuple) else (index,))
    if _is_advanced(_batched_index(index)) and _separated_advanced_ndim(_batched_index(index)):
        for row in range(updated.shape[0]):
            updated[row][index] = part[row]
        return updated
    updated[batched] = part
    return updated


def jvp_from_vjp(maker, batched, t, ans, *args, **kwargs):
    """The tangent through a rule registered with ``adjoint.defvjp``: row i
    of the Jacobian is the VJP of the i-th basis cotangent, so the tangent
    is those rows applied to ``t`` (one VJP per output element)."""
    size = int(np.size(ans))
    basis = np.eye(size).reshape((size,) + np.shape(ans))
    rows = call_vjp(maker, batched, basis, ans, *args, **kwargs)  # (size,) + x.shape
    rows = np.reshape(rows, (size, -1))
    return (np.reshape(t, (t.shape[0], -1)) @ rows.T).reshape((t.shape[0],) + np.shape(ans))


def call_jvp(maker, t, ans, *args, **kwargs):
    """Apply a rule registered with ``adjoint.defjvp`` to each tangent row."""
    push = maker(ans, *args, **kwargs)
    return np.stack([np.broadcast_to(push(row), np.shape(ans)) for row in t])


zeros_tangent = zeros_bar


# ------------------------------------------------------------ derivatives as code
# What the functions of ``derivatives.py`` call to turn the generated code's
# adjoints and tangents into Jacobians (each has an adjoint and a tangent rule).

def size_of(x):
    """The number of elements of ``x``."""
    return int(np.size(x))


def batch_count(tangents):
    """The batch size a forward-mode function is called with (its first entry)."""
    return tangents[0]


def _float_dtype(value):
    """The floating dtype of a derivative of ``value``: its own if it is
    floating, else float64 (by dtype: NumPy 1 would cast a float64 scalar's
    value down to float32)."""
    dtype = np.asarray(value).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _derivative_value(value, what):
    if not isinstance(value, (np.ndarray, np.generic, float, int)) or isinstance(value, bool):
        raise TypeError(
            f"differentiating a derivative: the function's {what} is a {type(value).__name__}; a derivative "
            "is differentiated again only for array arguments and an array output (containers are not "
            "supported there yet).")


def output_basis(out):
    """Every row of the identity over ``out``'s elements: ``(N,) + out.shape``."""
    _derivative_value(out, "output")
    key = (np.shape(out), _float_dtype(out))
    basis = _BASES.get(key)
    if basis is None:
        size = int(np.size(out))
        basis = np.eye(size, dtype=key[1]).reshape((size,) + key[0])
        basis.flags.writeable = False  # shared by every call: nothing may write into it
        if len(_BASES) < 64 and size * size <= 1 << 16:  # small ones only: memory stays bounded
            _BASES[key] = basis
    return basis


#: identity bases already built, by shape and dtype (small ones are asked for again and again)
_BASES = {}


def scalar_seed(out):
    """The cotangent 1 of a 0-d output, batched: ``(1,)``."""
    _derivative_value(out, "output")
    if np.ndim(out) != 0:
        raise ValueError(f"grad of a function whose output has shape {np.shape(out)}: the output "
                         "must be a single 0-d value. Use jacrev, or sum the output.")
    return np.ones((1,), dtype=_float_dtype(out))


def input_basis(x, offset, total):
    """Columns ``offset:offset + x.size`` of the identity over ``total``
    input elements, as tangents of ``x``: ``(total,) + x.shape``."""
    _derivative_value(x, "argument")
    size = int(np.size(x))
    seed = np.zeros((total, size), dtype=_float_dtype(x))
    seed[offset + np.arange(size), np.arange(size)] = 1
    return seed.reshape((total,) + np.shape(x))


def jacobian_from_rows(bar, out, x):
    """Adjoints ``(N,) + x.shape`` of the output basis -> ``out.shape + x.shape``."""
    _derivative_value(x, "argument")
    if bar is None:
        return np.zeros(np.shape(out) + np.shape(x), dtype=_float_dtype(x))
    return np.reshape(bar, np.shape(out) + np.shape(x))


def rows_from_jacobian(g, out, x):
    """Adjoint of ``jacobian_from_rows``: ``(B,) + out.shape + x.shape`` -> ``(B, N) + x.shape``."""
    return np.reshape(g, (g.shape[0], int(np.size(out))) + np.shape(x))


def gradient_from_row(bar, out, x):
    """The adjoint ``(1,) + x.shape`` of a 0-d output's seed -> ``x.shape``."""
    _derivative_value(x, "argument")
    if bar is None:
        return np.zeros(np.shape(x), dtype=_float_dtype(x))
    return np.reshape(bar, np.shape(x))


def jacobian_from_columns(out_dot, out, x, offset):
    """Tangents ``(total,) + out.shape``; the columns of ``x`` (from
    ``offset``) -> ``out.shape + x.shape``."""
    size = int(np.size(x))
    part = out_dot[offset:offset + size]
    return np.moveaxis(part, 0, -1).reshape(np.shape(out) + np.shape(x))


def jacobian_from_columns_tangent(t, out, x, offset):
    """``jacobian_from_columns`` on every row of a batch ``(B, total) + out.shape``."""
    size = int(np.size(x))
    part = t[:, offset:offset + size]
    return np.moveaxis(part, 1, -1).reshape((t.shape[0],) + np.shape(out) + np.shape(x))


def columns_adjoint(g, out_dot, out, x, offset):
    """Adjoint of ``jacobian_from_columns``: ``(B,) + out.shape + x.shape``
    -> ``(B,) + out_dot.shape``, zero outside ``x``'s columns."""
    size = int(np.size(x))
    batch = g.shape[0]
    result = np.zeros((batch,) + np.shape(out_dot), dtype=g.dtype)
    part = np.reshape(g, (batch,) + np.shape(out) + (size,))
    result[:, offset:offset + size] = np.moveaxis(part, -1, 1)
    return result


def batched_reshape(t, z):
    """A tangent or adjoint ``(B, ...)`` reshaped to ``(B,) + z.shape``."""
    return np.reshape(t, (t.shape[0],) + np.shape(z))


# ------------------------------------------------------------ tangents of the backward helpers
# Forward mode over generated backward code (a Hessian as jacfwd(jacrev(f))):
# an adjoint there has shape (B,) + x.shape and its tangent (T, B) + x.shape.

def merged(helper, t, *args, **kwargs):
    """``helper(g, *args)`` is linear in its batched first argument ``g``:
    apply it to a tangent ``(T, B) + shape`` of ``g`` by merging the two
    leading axes into one batch and splitting them again."""
    if t is None:
        return None
    if not isinstance(t, np.ndarray):
        return [merged(helper, item, *args, **kwargs) for item in t]
    outer, inner = t.shape[0], t.shape[1]
    result = helper(t.reshape((outer * inner,) + t.shape[2:]), *args, **kwargs)
    if result is None:
        return None
    return np.reshape(result, (outer, inner) + np.shape(result)[1:])


def over_tangent(helper, position, t, *args, **kwargs):
    """The tangent through ``helper(*args)`` of the argument at ``position``,
    where ``helper`` is linear in that argument: ``helper`` applied with each
    tangent row ``t[i]`` in its place, stacked along a new leading axis."""
    rows = []
    for row in t:
        replaced = list(args)
        replaced[position] = row
        rows.append(helper(*replaced, **kwargs))
    return np.stack(rows)


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
    return np.where(below | above, 0.0, slope)


def interp_tangent_fp(t, x, xp, fp, left=None, right=None):
    """Tangent of ``np.interp(x, xp, fp, left, right)`` from the tangent ``t``
    (``(B, len(fp))``) of ``fp``: the interpolation of the tangent's values,
    with the conventions of ``interp_adjoint_fp``."""
    segment, share, below, above = _interp_segments(x, xp)
    inside = ~(below | above)
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


# ---- tangent helpers: shapes
# Tangents of the functions that move elements (rules/shape.py). Most rules
# apply the function itself to the batched tangent, with axes shifted by
# ``batch_axis`` / ``batch_axes`` / ``batch_permutation``; the helpers below
# do what needs more (axis=None flattening, joins of sequence arguments).
# A list or tuple argument has a list of item tangents, None for constant
# items: ``as_tangent`` makes it one batched array, ``tangent_items`` one
# batched array per item.

def as_tangent(t, like, batch=None):
    """The tangent of the array_like ``like`` as one array of shape
    ``(B,) + np.shape(like)``: ``t`` itself when it is an array; for a list
    or tuple, its items' tangents stacked after the batch axis, zeros for
    constant items (None). ``batch`` is ``B`` when ``t`` may hold no array."""
    if type(t) is np.ndarray:
        return t
    if batch is None:
        batch = batch_size(t)
    if t is None:
        return np.zeros((batch,) + _shape(like))
    if isinstance(t, (list, tuple)):
        if not t:
            return np.zeros((batch,) + _shape(like))
        return np.stack([as_tangent(item_t, item, batch) for item_t, item in zip(t, like, strict=True)], axis=1)
    return np.asarray(t)


def tangent_items(t, items):
    """The tangents of the arrays of a sequence argument (``np.stack(arrays)``,
    ``np.concatenate(arrays)``, ...), one batched array per item: zeros for
    constant items (None); the rows of the tangent when the argument is one array."""
    if type(t) is np.ndarray:
        return [t[:, i] for i in range(t.shape[1])]
    batch = batch_size(t)
    return [as_tangent(item_t, item, batch) for item_t, item in zip(t, items, strict=True)]


def batch_permutation(axes, x):
    """``axes`` of ``np.transpose(x, axes)`` (None: reversed) as a
    permutation of the batched tangent, which keeps its batch axis first."""
    ndim = np.ndim(x)
    if axes is None:
        return (0,) + tuple(range(ndim, 0, -1))
    return (0,) + tuple(a % ndim + 1 for a in axes)


def concatenate_tangent(t, arrays, axis=0):
    """The tangent of ``np.concatenate(arrays, axis)``: the items' tangents
    joined (flattened first when ``axis`` is None)."""
    items = tangent_items(t, arrays)
    if axis is None:
        return np.concatenate([np.reshape(item, (item.shape[0], -1)) for item in items], axis=1)
    return np.concatenate(items, axis=batch_axis(axis))


def _join_tangents(t, tup, shapes, axis):
    """The items' tangents of ``tup``, each reshaped to ``(B,) + shape``
    (``shapes``: the item shapes after NumPy adds its size-1 axes), joined
    along the batched ``axis``."""
    items = tangent_items(t, tup)
    return np.concatenate([np.reshape(item, item.shape[:1] + shape)
                           for item, shape in zip(items, shapes, strict=True)], axis=axis)


def hstack_tangent(t, tup):
    """The tangent of ``np.hstack(tup)``: 0-d and 1-d items joined end to
    end, others along their second axis."""
    if np.ndim(tup[0]) <= 1:
        return _join_tangents(t, tup, [(int(np.size(x)),) for x in tup], 1)
    return _join_tangents(t, tup, [np.shape(x) for x in tup], 2)


def vstack_tangent(t, tup):
    """The tangent of ``np.vstack(tup)``: items made at least 2-d (a 1-d one
    is a row), joined along the first axis."""
    return _join_tangents(t, tup, [np.shape(np.atleast_2d(x)) for x in tup], 1)


def column_stack_tangent(t, tup):
    """The tangent of ``np.column_stack(tup)``: 0-d and 1-d items made
    columns, joined along the second axis."""
    shapes = []
    for x in tup:
        shape = np.shape(x)
        shapes.append(shape if len(shape) >= 2 else (shape[0] if shape else 1, 1))
    return _join_tangents(t, tup, shapes, 2)


def dstack_tangent(t, tup):
    """The tangent of ``np.dstack(tup)``: items made at least 3-d, joined
    along the third axis."""
    return _join_tangents(t, tup, [np.shape(np.atleast_3d(x)) for x in tup], 3)


def append_arrays_tangent(t, z, arr, values, axis=None, wrt_values=False):
    """The contribution of ``arr`` (or, with ``wrt_values=True``, of
    ``values``) to the tangent of ``z = np.append(arr, values, axis)``: its
    tangent in its own part of ``z``, zeros in the other (``axis=None``
    joined the flattened arrays)."""
    batch = t.shape[0]
    if axis is None:
        flat = np.reshape(t, (batch, -1))
        zeros = np.zeros((batch, int(np.size(arr if wrt_values else values))), dtype=t.dtype)
        return np.concatenate([zeros, flat] if wrt_values else [flat, zeros], axis=1)
    axis = axis % np.ndim(z)
    shape = list(np.shape(z))
    before = np.shape(arr)[axis]
    shape[axis] = before if wrt_values else shape[axis] - before
    zeros = np.zeros((batch,) + tuple(shape), dtype=t.dtype)
    return np.concatenate([zeros, t] if wrt_values else [t, zeros], axis=axis + 1)


def take_along_axis_tangent(t, indices, axis=-1):
    """The tangent of ``np.take_along_axis(arr, indices, axis)``: the same
    elements of the tangent (the flattened one when ``axis`` is None)."""
    indices = _integer_index(indices)[None]
    if axis is None:
        return np.take_along_axis(np.reshape(t, (t.shape[0], -1)), indices, axis=1)
    return np.take_along_axis(t, indices, axis=batch_axis(axis))


def roll_tangent(t, shift, axis=None):
    """The tangent of ``np.roll(a, shift, axis)``: the tangent rolled alike
    (the flattened one when ``axis`` is None)."""
    if axis is None:
        return np.reshape(np.roll(np.reshape(t, (t.shape[0], -1)), shift, axis=1), t.shape)
    axis = tuple(map(batch_axis, axis)) if isinstance(axis, (tuple, list)) else batch_axis(axis)
    return np.roll(t, shift, axis=axis)


def tile_tangent(t, reps):
    """The tangent of ``np.tile(A, reps)``: the tangent tiled alike (axes of
    ``A`` and ``reps`` aligned on the right, as NumPy does)."""
    shape = t.shape[1:]
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(reps)
    ndim = max(len(reps), len(shape))
    t = np.reshape(t, t.shape[:1] + (1,) * (ndim - len(shape)) + shape)
    return np.tile(t, (1,) * (1 + ndim - len(reps)) + reps)


def repeat_tangent(t, repeats, axis=None):
    """The tangent of ``np.repeat(a, repeats, axis)``: the tangent repeated
    alike (the flattened one when ``axis`` is None)."""
    if axis is None:
        return np.repeat(np.reshape(t, (t.shape[0], -1)), repeats, axis=1)
    return np.repeat(t, repeats, axis=batch_axis(axis))


def take_tangent(t, indices, axis=None, mode="raise"):
    """The tangent of ``np.take(a, indices, axis, mode=mode)``: the same
    elements of the tangent (the flattened one when ``axis`` is None or
    ``a`` is 0-d)."""
    if axis is None or t.ndim == 1:
        return np.take(np.reshape(t, (t.shape[0], -1)), _integer_index(indices), axis=1, mode=mode)
    return np.take(t, _integer_index(indices), axis=batch_axis(axis), mode=mode)


def sort_tangent(t, a, axis=-1):
    """The tangent of ``np.sort(a, axis)``: each position gets the tangent of
    the element sorted to it (ties told apart by a stable sort, as in
    ``sort_adjoint``)."""
    if axis is None:  # NumPy sorts the flattened array
        order = np.argsort(a, axis=None, kind="stable")
        return np.reshape(t, (t.shape[0], -1))[:, order]
    order = np.argsort(a, axis=axis, kind="stable")
    return np.take_along_axis(t, order[None], axis=batch_axis(axis))


def pad_tangent(t, pad_width, mode="constant"):
    """The tangent of ``np.pad(array, pad_width, mode)``: the tangent padded
    with zeros for ``'constant'`` (constant values carry no derivative), or
    in the same copying mode (edge, reflect, symmetric, wrap); never along
    the batch axis."""
    if mode != "constant" and mode not in _COPYING_PAD_MODES:
        raise ValueError(f"the derivative of np.pad with mode={mode!r} is not implemented; "
                         f"mode='constant' and {', '.join(map(repr, _COPYING_PAD_MODES))} are.")
    widths = np.broadcast_to(np.asarray(pad_width), (t.ndim - 1, 2))
    widths = ((0, 0),) + tuple((int(before), int(after)) for before, after in widths)
    if mode == "constant":
        return np.pad(t, widths)
    return np.pad(t, widths, mode=mode)


def full_tangent(t, z):
    """The tangent of ``z = np.full(shape, fill_value, dtype)`` (or
    ``np.full_like``) from ``fill_value``'s: broadcast to ``z``'s shape;
    zeros through a cast to integers or booleans, which is flat."""
    if not np.issubdtype(np.result_type(z), np.floating):
        return np.zeros(t.shape[:1] + np.shape(z), dtype=t.dtype)
    return lift(t, z)


def linspace_tangent(t, z, num, endpoint=True, dtype=None, axis=0, stop=False):
    """The contribution of ``start`` (or, with ``stop=True``, of ``stop``) to
    the tangent of ``z = np.linspace(start, stop, num, endpoint, dtype=dtype,
    axis=axis)``: sample ``i`` is ``start * (1 - s_i) + stop * s_i`` (see
    ``linspace_adjoint``), so the bound's tangent, broadcast to the bounds'
    common shape, times its share of each sample. Zeros for integer samples."""
    shape = np.shape(z)
    batch = t.shape[0]
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.inexact):
        return np.zeros((batch,) + shape, dtype=t.dtype)
    axis = axis % len(shape)
    bounds_shape = shape[:axis] + shape[axis + 1:]
    missing = len(bounds_shape) - (t.ndim - 1)
    t = np.reshape(t, t.shape[:1] + (1,) * missing + t.shape[1:])
    t = np.broadcast_to(t, (batch,) + bounds_shape)
    steps = num - 1 if endpoint else num
    shares = np.arange(num) / steps if steps > 0 else np.zeros(num)
    weights = shares if stop else 1.0 - shares
    return np.expand_dims(t, axis + 1) * np.reshape(weights, (num,) + (1,) * (len(bounds_shape) - axis))


def cast_tangent(t, dtype):
    """The tangent of ``value.astype(dtype)``: the tangent itself to a
    floating type; zeros through a cast to integers or booleans (as
    ``cast_adjoint``)."""
    return cast_adjoint(t, dtype)


def sum_to(g, shape):
    """``g`` of shape ``(C,) + full`` summed down to ``(C,) + shape`` (same
    number of axes, ``shape`` 1 where ``full`` was broadcast)."""
    axes = tuple(i + 1 for i, (have, want) in enumerate(zip(g.shape[1:], shape, strict=True))
                 if want == 1 and have != 1)
    return np.sum(g, axis=axes, keepdims=True) if axes else g


def unlift(g, t):
    """Adjoint of ``lift(t, z)``: ``(C, B) + z.shape`` -> ``(C,) + t.shape``."""
    missing = (g.ndim - 2) - (t.ndim - 1)
    lifted = (t.shape[0],) + (1,) * missing + t.shape[1:]
    return np.reshape(sum_to(g, lifted), (g.shape[0],) + t.shape)


def batched_getitem_adjoint(g, t, index):
    """Adjoint of ``batched_getitem(t, index)``: ``(C, B) + x[index].shape``
    -> ``(C,) + t.shape``, one batch row of ``t`` at a time."""
    result = np.zeros((g.shape[0],) + t.shape, dtype=np.result_type(g, t))
    for row in range(t.shape[0]):
        result[:, row] = getitem_adjoint(g[:, row], t[row], index)
    return result


# ---- tangent helpers: linalg
# Tangents ``t`` carry a leading batch axis, ``(B,) + x.shape``; each helper
# returns the contribution ``(B,) + z.shape`` of one input to the tangent of
# ``z``. The products are bilinear, so their tangents are the product with
# the batched tangent in place of the input, its batch axis kept in front.

def _lead(t, ndim):
    """``t`` (batch axis first) with size-1 axes after the batch axis so that
    it has ``ndim`` axes besides the batch axis: the batch axis then stays in
    front when the primal shapes broadcast against other operands."""
    missing = ndim - (t.ndim - 1)
    if missing <= 0:
        return t
    return np.reshape(t, t.shape[:1] + (1,) * missing + t.shape[1:])


def _scaled_tangent(t, own, other):
    """``own * other`` along ``t``, the tangent of ``own``, when one of them is
    0-d (np.dot and np.inner multiply then)."""
    return _lead(t, np.ndim(other) + np.ndim(own)) * other if np.ndim(own) == 0 else t * other


def matmul_tangent_left(t, x1, x2):
    """Tangent of ``x1 @ x2`` along ``t``, the tangent of ``x1``: ``t @ x2`` per
    batch row, for every rank NumPy's matmul takes (a 1-d ``x1`` is a row, a
    1-d ``x2`` a column, stacks broadcast)."""
    t = as_tangent(t, x1)
    x2 = np.asarray(x2)
    x1_nd, x2_nd = np.ndim(x1), x2.ndim
    if x1_nd == 1:
        if x2_nd <= 2:  # (B, k) @ (k,) or (B, k) @ (k, m): one product
            return t @ x2
        row = np.reshape(t, t.shape[:1] + (1,) * (x2_nd - 1) + t.shape[-1:])
        return (row @ x2)[..., 0, :]
    if x2_nd == 1:  # (B, ..., n, k) @ (k,)
        return t @ x2
    if x2_nd == 2:  # every row of every matrix times x2: one product
        rows = np.reshape(t, (math.prod(t.shape[:-1]), t.shape[-1]))
        return np.reshape(rows @ x2, t.shape[:-1] + x2.shape[-1:])
    return _lead(t, x2_nd) @ x2


def matmul_tangent_right(t, x1, x2):
    """Tangent of ``x1 @ x2`` along ``t``, the tangent of ``x2``: ``x1 @ t`` per
    batch row, for every rank NumPy's matmul takes."""
    t = as_tangent(t, x2)
    x1 = np.asarray(x1)
    x1_nd, x2_nd = x1.ndim, np.ndim(x2)
    if x2_nd == 1:
        if x1_nd == 1:
            return t @ x1
        if x1_nd == 2:
            return t @ x1.T
        return np.tensordot(t, x1, axes=([1], [x1_nd - 1]))  # (B, ..., n)
    if x1_nd == 1:  # (k,) @ (B, ..., k, m)
        return x1 @ t
    return x1 @ _lead(t, x1_nd)


def dot_tangent_left(t, a, b):
    """Tangent of ``np.dot(a, b)`` along ``t``, the tangent of ``a``."""
    t = as_tangent(t, a)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _scaled_tangent(t, a, b)
    return np.dot(t, b)


def dot_tangent_right(t, a, b):
    """Tangent of ``np.dot(a, b)`` along ``t``, the tangent of ``b``."""
    t = as_tangent(t, b)
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return _scaled_tangent(t, b, a)
    if b_nd == 1:
        return t @ a if a_nd == 1 else np.tensordot(t, a, axes=([1], [a_nd - 1]))
    if a_nd <= 2 and b_nd == 2:  # np.dot is matmul here
        return np.asarray(a) @ t
    # np.dot(a, t): a's leading axes, then the batch axis and b's other axes
    return np.moveaxis(np.dot(a, t), a_nd - 1, 0)


def outer_tangent_left(t, a, b):
    """Tangent of ``np.outer(a, b)`` along ``t``, the tangent of ``a``."""
    t = as_tangent(t, a)
    return np.reshape(t, (t.shape[0], np.size(a), 1)) * np.ravel(b)


def outer_tangent_right(t, a, b):
    """Tangent of ``np.outer(a, b)`` along ``t``, the tangent of ``b``."""
    t = as_tangent(t, b)
    return np.ravel(a)[:, None] * np.reshape(t, (t.shape[0], 1, np.size(b)))


def inner_tangent(t, a, b, wrt_b=False):
    """Tangent of ``np.inner(a, b)`` along ``t``, the tangent of ``a`` (or of
    ``b``): the product over the last axes (a 0-d argument multiplies)."""
    t = as_tangent(t, b if wrt_b else a)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _scaled_tangent(t, b, a) if wrt_b else _scaled_tangent(t, a, b)
    if wrt_b:
        return np.moveaxis(np.inner(a, t), np.ndim(a) - 1, 0)
    return np.inner(t, b)


def vdot_tangent(t, own, other):
    """Tangent of ``np.vdot(a, b)`` (real arrays) along ``t``, the tangent of
    ``own``, one argument: the flattened tangent times the other argument."""
    t = as_tangent(t, own)
    return np.reshape(t, (t.shape[0], np.size(other))) @ np.ravel(other)


def einsum_tangent(t, subscripts, operands, position):
    """Tangent of ``np.einsum(subscripts, *operands)`` along ``t``, the tangent
    of ``operands[position]``: the same contraction with a batch letter
    added to that operand and to the output. Large or many-operand
    contractions follow a path chosen for one batch row."""
    terms, output, batch = einsum_explicit(subscripts, [o.shape for o in operands])
    terms = list(terms)
    terms[position] = batch + terms[position]
    spec = ",".join(terms) + "->" + batch + output
    arrays = list(operands)
    arrays[position] = t = as_tangent(t, operands[position])
    sizes = {}
    for term, array in zip(terms, arrays, strict=True):
        for letter, size in zip(term, np.shape(array), strict=True):
            sizes[letter] = max(sizes.get(letter, 1), size)
    sizes.pop(batch)
    if len(arrays) < 3 and math.prod(sizes.values()) <= _EINSUM_DIRECT_WORK:
        return np.einsum(spec, *arrays)
    row = list(arrays)
    row[position] = t[:1]
    path = np.einsum_path(spec, *row, optimize="greedy")[0]
    return np.einsum(spec, *arrays, optimize=path)


def tensordot_tangent_left(t, a, b, axes=2):
    """Tangent of ``np.tensordot(a, b, axes)`` along ``t``, the tangent of ``a``."""
    t = as_tangent(t, a)
    a_axes, b_axes = _tensordot_axes(np.ndim(a), np.ndim(b), axes)
    return np.tensordot(t, b, axes=([i + 1 for i in a_axes], b_axes))


def tensordot_tangent_right(t, a, b, axes=2):
    """Tangent of ``np.tensordot(a, b, axes)`` along ``t``, the tangent of ``b``."""
    t = as_tangent(t, b)
    a_axes, b_axes = _tensordot_axes(np.ndim(a), np.ndim(b), axes)
    part = np.tensordot(a, t, axes=(a_axes, [j + 1 for j in b_axes]))
    return np.moveaxis(part, np.ndim(a) - len(a_axes), 0)


def _kron_tangent(t, a, b, wrt_b):
    t = as_tangent(t, b if wrt_b else a)
    a_shape, b_shape = _shape(a), _shape(b)
    ndim = max(len(a_shape), len(b_shape))
    a_full = (1,) * (ndim - len(a_shape)) + a_shape
    b_full = (1,) * (ndim - len(b_shape)) + b_shape
    # every axis split in two, a's index then b's: (B, a0, b0, a1, b1, ...)
    a_split = tuple(n for size in a_full for n in (size, 1))
    b_split = tuple(n for size in b_full for n in (1, size))
    if wrt_b:
        product = np.reshape(a, a_split) * np.reshape(t, t.shape[:1] + b_split)
    else:
        product = np.reshape(t, t.shape[:1] + a_split) * np.reshape(b, b_split)
    return np.reshape(product, t.shape[:1] + tuple(p * q for p, q in zip(a_full, b_full, strict=True)))


def kron_tangent_left(t, a, b):
    """Tangent of ``np.kron(a, b)`` along ``t``, the tangent of ``a``."""
    return _kron_tangent(t, a, b, wrt_b=False)


def kron_tangent_right(t, a, b):
    """Tangent of ``np.kron(a, b)`` along ``t``, the tangent of ``b``."""
    return _kron_tangent(t, a, b, wrt_b=True)


def cross_tangent(t, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False):
    """Tangent of ``np.cross(a, b, ...)`` along ``t``, the tangent of ``a`` (or
    ``b``): the cross product with the batched tangent, whose axes (and the
    result's) are shifted past the batch axis."""
    if axis is not None:
        axisa = axisb = axisc = axis
    own, other = (b, a) if wrt_b else (a, b)
    t = as_tangent(t, own)
    pad = max(np.ndim(other) - np.ndim(own), 0)
    t = _lead(t, np.ndim(own) + pad)
    shifted = 1 + pad
    axisc = axisc + 1 if axisc >= 0 else axisc
    if wrt_b:
        return np.cross(a, t, axisa=axisa, axisb=axisb + shifted if axisb >= 0 else axisb, axisc=axisc)
    return np.cross(t, b, axisa=axisa + shifted if axisa >= 0 else axisa, axisb=axisb, axisc=axisc)


def diag_tangent(t, v, k=0):
    """Tangent of ``np.diag(v, k)`` along ``t``: a 1-d ``v`` puts the tangent on
    the ``k``-th diagonal; a 2-d ``v`` gives its ``k``-th diagonal."""
    t = as_tangent(t, v)
    if np.ndim(v) == 2:
        return np.diagonal(t, offset=k, axis1=1, axis2=2)
    count = t.shape[1]
    size = count + abs(k)
    result = np.zeros((t.shape[0], size, size), dtype=np.result_type(t, np.float64))
    positions = np.arange(count)
    result[:, positions + max(-k, 0), positions + max(k, 0)] = t
    return result


def diagflat_tangent(t, v, k=0):
    """Tangent of ``np.diagflat(v, k)``: the flattened tangent on the diagonal."""
    t = as_tangent(t, v)
    return diag_tangent(np.reshape(t, (t.shape[0], np.size(v))), np.ravel(v), k=k)


def _convolve_start(n, m, mode, correlate):
    """Where a convolution's ``mode`` cuts its output from the full one
    (see ``_convolve_full_cotangent``)."""
    mode = _convolve_mode(mode)
    if mode == "full":
        return 0
    short = min(n, m)
    if mode == "valid":
        return short - 1
    if correlate and n < m:
        return short // 2
    return (short - 1) // 2


def convolve_tangent(t, a, v, z, mode="full", wrt_v=False, correlate=False):
    """Tangent of ``z = np.convolve(a, v, mode)`` (``correlate=True``:
    ``np.correlate``, the convolution with ``v`` reversed) along ``t``, the
    tangent of ``a`` (or ``v``): the full convolution of each tangent row
    with the other argument, cut as the mode cuts ``z``."""
    a_flat, v_flat = np.ravel(a), np.ravel(v)
    n, m = a_flat.shape[0], v_flat.shape[0]
    rows = np.reshape(as_tangent(t, v if wrt_v else a), (batch_size(t), m if wrt_v else n))
    if wrt_v:
        rows, fixed = (rows[:, ::-1] if correlate else rows), a_flat
    else:
        fixed = v_flat[::-1] if correlate else v_flat
    width = fixed.shape[0]
    padded = np.pad(rows, ((0, 0), (width - 1, width - 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)
    full = windows @ fixed[::-1]  # full[:, k] = sum_i rows[:, i] fixed[k - i]
    start = _convolve_start(n, m, mode, correlate)
    return full[:, start:start + np.shape(z)[0]]


def correlate_tangent(t, a, v, z, mode="valid", wrt_v=False):
    """Tangent of ``np.correlate(a, v, mode)`` (real arrays), along the
    tangent of ``a`` (or ``v``); see ``convolve_tangent``."""
    return convolve_tangent(t, a, v, z, mode, wrt_v=wrt_v, correlate=True)


def inv_tangent(t, z):
    """Tangent of ``z = np.linalg.inv(a)``: ``-z t z`` per matrix."""
    t = as_tangent(t, z)
    return -(z @ t @ z)


def det_tangent(t, z, a):
    """Tangent of ``z = np.linalg.det(a)``: ``z tr(inv(a) t)`` (``a`` must be
    invertible, as for ``det_adjoint``)."""
    t = as_tangent(t, a)
    return z * np.einsum("...ji,b...ij->b...", np.linalg.inv(a), t)


def slogdet_tangent(t, z, a):
    """Tangent of ``np.linalg.slogdet(a)``: the sign is piecewise constant
    (None: no tangent); ``logabsdet`` moves by ``tr(inv(a) t)``."""
    t = as_tangent(t, a)
    return rebuild_like(z, [None, np.einsum("...ji,b...ij->b...", np.linalg.inv(a), t)])


def solve_tangent(t, inverse, a, b, z, wrt_a=False):
    """Tangent of ``z = np.linalg.solve(a, b)`` along ``t``, the tangent of
    ``b`` (or, ``wrt_a=True``, of ``a``): ``inverse @ t`` (or
    ``-inverse @ t @ z``) with ``inverse = inv(a)``, per batch row; ``b``
    read as vectors or as columns as the installed NumPy reads it."""
    t = as_tangent(t, a if wrt_a else b)
    if _solve_reads_vectors(a, b):
        column = (t @ z[..., None])[..., 0] if wrt_a else _lead(t, np.ndim(z))
        if inverse.ndim == 2:
            part = column @ inverse.T
        else:
            part = (inverse @ column[..., None])[..., 0]
    else:
        part = inverse @ (_lead(t, np.ndim(z)) @ z if wrt_a else _lead(t, np.ndim(z)))
    return -part if wrt_a else part


def _symmetric_read(t, upper=False):
    """The symmetric matrices that a function reading one triangle of its
    input (LAPACK's cholesky, eigh) sees, from the tangent of that input."""
    if upper:
        return np.triu(t) + _mT(np.triu(t, 1))
    return np.tril(t) + _mT(np.tril(t, -1))


def cholesky_tangent(t, z, upper=False):
    """Tangent of ``z = np.linalg.cholesky(a)`` (``a = L L^T``; ``z = L^T`` with
    ``upper=True``): ``L Phi(L^-1 dA L^-T)``, ``Phi`` the lower triangle with
    its diagonal halved, ``dA`` the symmetric matrix of the triangle NumPy
    reads (as ``cholesky_adjoint``)."""
    t = as_tangent(t, z)
    lower = _mT(z) if upper else z
    inverse = np.linalg.inv(lower)
    inner = inverse @ _symmetric_read(t, upper=upper) @ _mT(inverse)
    phi = np.tril(inner) - 0.5 * np.einsum("...ii->...i", inner)[..., None] * np.eye(z.shape[-1])
    part = lower @ phi
    return _mT(part) if upper else part


def eigh_tangent(t, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Tangent of ``w, v = np.linalg.eigh(a)`` for a real symmetric ``a``:
    ``dw = diag(v^T dA v)``, ``dv = v (F * (v^T dA v))`` with ``F[i, j] = 1 /
    (w[j] - w[i])`` off the diagonal, 0 on it (so repeated eigenvalues give
    inf or nan in ``dv`` only), ``dA`` read from NumPy's triangle."""
    w, v = z
    t = as_tangent(t, v)
    inner = _mT(v) @ _symmetric_read(t, upper=UPLO.upper() == "U") @ v
    w_dot = np.einsum("...ii->...i", inner).copy()
    gaps = w[..., None, :] - w[..., :, None]
    off = ~np.eye(w.shape[-1], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
        v_dot = v @ (f * inner)
    return rebuild_like(z, [w_dot, v_dot])


def eigvalsh_tangent(t, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Tangent of ``np.linalg.eigvalsh(a, UPLO)``: ``diag(v^T dA v)``."""
    _, v = np.linalg.eigh(a, UPLO=UPLO)
    return np.sum((_symmetric_read(t, upper=UPLO.upper() == "U") @ v) * v, axis=-2)


def pinv_tangent(t, a, z):
    """Tangent of ``z = np.linalg.pinv(a)`` where the rank of ``a`` does not
    change nearby: ``-z t z + z z^T t^T (1 - a z) + (1 - z a) t^T z^T z``
    (Golub and Pereyra)."""
    t = as_tangent(t, a)
    t = as_tangent(t, a)
    t_t = _mT(t)
    z_t = _mT(z)
    left = np.eye(np.shape(a)[-2], dtype=z.dtype) - a @ z
    right = np.eye(np.shape(a)[-1], dtype=z.dtype) - z @ a
    return -(z @ t @ z) + (z @ z_t) @ t_t @ left + right @ t_t @ (z_t @ z)


def multi_dot_tangent(t, arrays, z):
    """Tangent of ``z = np.linalg.multi_dot(arrays)`` along ``t``, the tangents
    of the arrays (None for a constant): ``left t_i right`` for each, with
    ``left`` and ``right`` the products before and after (a 1-d first array
    is a row, a 1-d last array a column)."""
    matrices = [np.asarray(x) for x in arrays]
    batch = batch_size(t)
    if isinstance(t, np.ndarray):  # the list was read as one array
        t = [t[:, i] for i in range(len(matrices))]
    t = [None if item is None else as_tangent(item, x, batch) for item, x in zip(t, arrays, strict=True)]
    if matrices[0].ndim == 1:
        matrices[0] = matrices[0][None, :]
    if matrices[-1].ndim == 1:
        matrices[-1] = matrices[-1][:, None]
    count = len(matrices)
    before = [None] * count  # before[i]: the product of matrices[:i]
    after = [None] * count  # after[i]: the product of matrices[i + 1:]
    for i in range(1, count):
        before[i] = matrices[0] if i == 1 else before[i - 1] @ matrices[i - 1]
    for i in range(count - 2, -1, -1):
        after[i] = matrices[-1] if i == count - 2 else matrices[i + 1] @ after[i + 1]
    total = None
    for i, item in enumerate(t):
        if item is None:
            continue
        part = np.reshape(item, (batch,) + matrices[i].shape)
        if after[i] is not None:
            part = part @ after[i]
        if before[i] is not None:
            part = before[i] @ part
        total = part if total is None else total + part
    if total is None:
        return zeros_bar(z, batch)
    return np.reshape(total, (batch,) + np.shape(z))


def matrix_power_tangent(t, a, n):
    """Tangent of ``np.linalg.matrix_power(a, n)`` (stacks too):
    ``d(b^(j+1)) = d(b^j) b + b^j db`` from ``b = a`` (or, ``n < 0``,
    ``b = inv(a)``, ``db = -b t b``); 0 for ``n = 0``."""
    t = as_tangent(t, a)
    if n == 0:
        return np.zeros(t.shape, dtype=np.result_type(t, np.float64))
    base = np.asarray(a)
    step = t
    if n < 0:
        base = np.linalg.inv(base)
        step = -(base @ t @ base)
    power, tangent = base, step
    for _ in range(abs(n) - 1):
        tangent = tangent @ base + power @ step
        power = power @ base
    return tangent


def singular_values_tangent(t, a, compute_uv=True):
    """Tangent of ``s = np.linalg.svd(a, compute_uv=False)``: ``ds_k = u_k^T
    dA v_k`` with the reduced factors (see ``singular_values_adjoint``)."""
    t = as_tangent(t, a)
    if compute_uv:
        singular_values_adjoint(t, a, compute_uv=True)  # raises, with the message
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum((_mT(u) @ t) * vh, axis=-1)


def cov_tangent(t, m, z, rowvar=True, bias=False, ddof=None):
    """Tangent of ``C = np.cov(m, rowvar=rowvar, bias=bias, ddof=ddof)`` for
    one array: with ``X`` the centred observations (a variable per row),
    ``dC = S + S^T``, ``S = dM X^T / f`` (the mean's tangent drops out: the
    rows of ``X`` sum to zero)."""
    t = as_tangent(t, m)
    x, transposed = _cov_rows(m, rowvar)
    if ddof is None:
        ddof = 0 if bias else 1
    centred = x - np.mean(x, axis=1, keepdims=True)
    rows = np.reshape(t, t.shape[:1] + (x.shape[::-1] if transposed else x.shape))
    if transposed:
        rows = np.swapaxes(rows, 1, 2)
    s = (rows @ centred.T) / (x.shape[1] - ddof)
    return np.reshape(s + np.swapaxes(s, 1, 2), t.shape[:1] + np.shape(z))


def corrcoef_tangent(t, x, z, rowvar=True):
    """Tangent of ``R = np.corrcoef(x, rowvar=rowvar)`` for one array: with
    ``C`` the covariance and ``s = sqrt(diag(C))``,
    ``dR = dC / (s s^T) - R (d_i + d_j)``, ``d_i = dC_ii / (2 s_i^2)``."""
    t = as_tangent(t, x)
    c = np.atleast_2d(np.cov(x, rowvar=rowvar))
    s = np.sqrt(np.diagonal(c))
    outer = s[:, None] * s[None, :]
    c_dot = cov_tangent(t, x, c, rowvar=rowvar)
    d = np.diagonal(c_dot, axis1=1, axis2=2) / (2.0 * s * s)
    r_dot = c_dot / outer - (c / outer) * (d[:, :, None] + d[:, None, :])
    return np.reshape(r_dot, t.shape[:1] + np.shape(z))


class ItemwiseTangent(tuple):
    """One input's contribution to the tangent of a tuple result (lstsq with
    both arguments differentiated). The transformer adds contributions with
    ``+``: two contributions of the same call add item by item (None is
    zero); with anything else ``+`` joins tuples, as for a plain tuple."""

    def __add__(self, other):
        call = getattr(self, "call", None)
        if (type(other) is ItemwiseTangent and other is not self and call is not None
                and getattr(other, "call", None) is call and len(other) == len(self)):
            return rebuild_like(call, [add_bar(x, y) for x, y in zip(self, other, strict=True)])
        return tuple.__add__(self, other)


def _itemwise(items, result):
    tangent = ItemwiseTangent(items)
    tangent.call = result
    return tangent


def lstsq_tangent(t, a, b, z, wrt_b=False):
    """Tangent of ``x, residuals, rank, sv = np.linalg.lstsq(a, b)`` along
    ``t``, the tangent of ``a`` (or ``b``), ``a`` of full rank: ``x = P b``
    with ``P = pinv(a)``, so ``dx = P db``, or ``dP b`` (Golub and Pereyra)
    for ``da``; the residuals ``sum(r^2)``, ``r = b - a x``, move by
    ``2 sum(r (db - da x))`` (``a^T r = 0``); ``sv`` by ``u_k^T da v_k``;
    the rank has no tangent."""
    x, residuals, _, _ = z
    t = as_tangent(t, b if wrt_b else a)
    a = np.asarray(a)
    b = np.asarray(b)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    inverse = _mT(vh) @ (_mT(u) / s[:, None])
    column = b.ndim == 1
    xs = x[:, None] if column else x
    r = (b[:, None] if column else b) - a @ xs
    if wrt_b:
        db = t[..., None] if column else t
        x_dot = inverse @ db
        change = db
        sv_dot = None
    else:
        t_t = _mT(t)
        change = -(t @ xs)
        x_dot = (inverse @ change + (inverse @ inverse.T) @ (t_t @ r)
                 + (np.eye(a.shape[1]) - inverse @ a) @ (t_t @ (inverse.T @ xs)))
        sv_dot = np.sum((u.T @ t) * vh, axis=-1)
    if np.size(residuals):
        residuals_dot = np.reshape(2.0 * np.sum(r * change, axis=-2), t.shape[:1] + np.shape(residuals))
    else:
        residuals_dot = np.zeros(t.shape[:1] + np.shape(residuals))
    return _itemwise((np.reshape(x_dot, t.shape[:1] + x.shape), residuals_dot, None, sv_dot), z)


def qr_tangent(t, a, z, mode="reduced"):
    """Tangent of ``q, r = np.linalg.qr(a)`` (reduced, ``a`` square or tall of
    full column rank, stacks too): with ``C = q^T dA r^-1`` and ``W`` its
    strictly lower part, ``dr = (C - W + W^T) r`` and
    ``dq = dA r^-1 - q (C - W + W^T)``."""
    t = as_tangent(t, a)
    if mode != "reduced":
        raise ValueError(f"the derivative of np.linalg.qr is implemented for mode='reduced' only, not {mode!r}.")
    if np.shape(a)[-2] < np.shape(a)[-1]:
        raise ValueError(
            "the derivative of np.linalg.qr is implemented for square or tall matrices "
            f"(rows >= columns); this one is {np.shape(a)[-2]}x{np.shape(a)[-1]}.")
    q, r = z
    moved = t @ np.linalg.inv(r)
    c = _mT(q) @ moved
    lower = np.tril(c, -1)
    upper = c - lower + _mT(lower)
    return rebuild_like(z, [moved - q @ upper, upper @ r])


# ---- tangents of backward helpers: runtime_arrays
# Forward mode over generated backward code (jacfwd(jacrev(f))): an adjoint
# ``g`` there is ``(B,) + x.shape`` and its tangent ``(T, B) + x.shape``; the
# tangent of a primal argument is ``(T,) + shape``. Each helper below returns
# one contribution ``(T, B) + result.shape`` to the tangent of a backward
# helper's result: ``..._tangent(t, <the helper's arguments>)`` is the
# contribution of the argument whose tangent is ``t``.

def _ra_map(function, tree):
    """``function`` applied to every array leaf of a list / tuple tree (None kept)."""
    if tree is None:
        return None
    if isinstance(tree, (list, tuple)):
        return rebuild_like(tree, [_ra_map(function, item) for item in tree])
    return function(np.asarray(tree))


def _ra_leading(tree):
    """The two leading axes ``(T, B)`` of the first array leaf of ``tree``."""
    if tree is None:
        return None
    if isinstance(tree, (list, tuple)):
        for item in tree:
            lead = _ra_leading(item)
            if lead is not None:
                return lead
        return None
    return np.shape(tree)[:2]


def merged_tree(helper, t, *args, **kwargs):
    """``merged`` for helpers whose adjoint argument or result is a list or
    tuple of adjoints with None holes (a tuple result's cotangent, the
    pieces of a split): every array leaf of the tangent ``t`` has its two
    leading axes ``(T, B)`` merged before the call, and every array leaf of
    the result has them split again."""
    if isinstance(t, (list, tuple)):  # zero tangents of holes may come as (T,) zeros: holes again
        t = _ra_map(lambda a: a if a.ndim >= 2 else None, t)
    lead = _ra_leading(t)
    if lead is None:
        return None
    result = helper(_ra_map(lambda a: np.reshape(a, (-1,) + a.shape[2:]), t), *args, **kwargs)
    return _ra_map(lambda a: np.reshape(a, tuple(lead) + a.shape[1:]), result)


def _ra_over(t, ndim):
    """A primal tangent ``(T,) + shape`` as ``(T, 1) + shape``, with size-1
    axes after those two so that ``shape`` has ``ndim`` axes: it then
    broadcasts against adjoints ``(1, B) + ...`` of results with ``ndim`` axes."""
    missing = max(ndim - (t.ndim - 1), 0)
    return np.reshape(t, t.shape[:1] + (1,) * (1 + missing) + t.shape[1:])


def _ra_unbroadcast(r, x):
    """``unbroadcast`` of a contribution with two leading axes ``(T, B)``."""
    lead = r.shape[:2]
    summed = unbroadcast(np.reshape(r, (-1,) + r.shape[2:]), x)
    return np.reshape(summed, lead + _shape(x))


def _ra_zeros(t, g, like):
    """A zero contribution ``(T, B) + like.shape``."""
    dtype = np.result_type(np.asarray(t).dtype if t is not None else np.float64, np.float64)
    return np.zeros((np.shape(t)[0], batch_size(g)) + _shape(like), dtype=dtype)


class TangentItems(list):
    """The tangent of a list that a backward helper built from several
    values (``einsum_operands``): one contribution per value, None
    elsewhere; contributions add item by item."""

    def __add__(self, other):
        return TangentItems(a if b is None else b if a is None else a + b
                            for a, b in zip(self, other, strict=True))


def einsum_operands_tangent(t, position, operands):
    """The contribution of operand ``position`` to the tangent of
    ``einsum_operands(...)``: its tangent at its place, None elsewhere."""
    items = TangentItems([None] * len(operands))
    items[position] = t
    return items


def _ra_einsum_pair(t, g, subscripts, operands, position, wrt):
    """``einsum_adjoint(g, subscripts, operands, position)`` with
    ``operands[wrt]`` replaced by each row of its tangent ``t``:
    ``(T, B) + operands[position].shape``."""
    operands = [np.asarray(o) for o in operands]
    terms, output, batch = einsum_explicit(subscripts, [o.shape for o in operands])
    used = set("".join(terms)) | set(output) | {batch}
    lead = next(c for c in _EINSUM_LETTERS if c not in used)
    term, x = terms[position], operands[position]
    distinct = "".join(dict.fromkeys(term))
    specs, arrays = [], []
    for i, (s, o) in enumerate(zip(terms, operands, strict=True)):
        if i == position:
            continue
        specs.append(lead + s if i == wrt else s)
        arrays.append(t if i == wrt else o)
    reached = set(output).union(*(set(s) for i, s in enumerate(terms) if i != position))
    present = "".join(c for c in distinct if c in reached)
    spec = ",".join([batch + output] + specs) + "->" + lead + batch + present
    part = np.einsum(spec, g, *arrays, optimize="greedy")
    pair = part.shape[:2]
    part = np.reshape(part, pair + tuple(
        part.shape[2 + present.index(c)] if c in present else 1 for c in distinct))
    sizes = dict(zip(term, x.shape, strict=True))
    summed = tuple(i + 2 for i, c in enumerate(distinct) if sizes[c] == 1 and part.shape[i + 2] != 1)
    if summed:
        part = part.sum(axis=summed, keepdims=True)
    if distinct == term:
        return _broadcast(part, pair + x.shape)
    x_bar = np.zeros(pair + x.shape, dtype=part.dtype)
    diagonal = np.einsum(f"{lead}{batch}{term}->{lead}{batch}{distinct}", x_bar)  # a writeable view
    diagonal[...] = part
    return x_bar


def einsum_adjoint_tangent(t, g, subscripts, operands, position):
    """Tangent of ``einsum_adjoint(g, subscripts, operands, position)`` from
    the tangent ``t`` of ``operands`` (one item per operand, None for
    constants): the adjoint with each other operand replaced by its tangent,
    added up (the operand at ``position`` is read only for its shape)."""
    total = None
    for wrt, item in enumerate(t):
        if item is None or wrt == position:
            continue
        part = _ra_einsum_pair(item, g, subscripts, operands, position, wrt)
        total = part if total is None else total + part
    if total is None:
        first = next(item for item in t if item is not None)
        return _ra_zeros(first, g, operands[position])
    return total


def _ra_matmul_subscripts(x_nd, y_nd):
    if x_nd == 1 and y_nd == 1:
        return "j,j->"
    if x_nd == 1:
        return "j,...jk->...k"
    if y_nd == 1:
        return "...ij,j->...i"
    return "...ij,...jk->...ik"


def matmul_adjoint_left_tangent(t, g, x, y):
    """Tangent of ``matmul_adjoint_left(g, x, y)`` (``g y^T``) from the
    tangent ``t`` of ``y``."""
    return _ra_einsum_pair(t, g, _ra_matmul_subscripts(np.ndim(x), np.ndim(y)), [x, y], 0, 1)


def matmul_adjoint_right_tangent(t, g, x, y):
    """Tangent of ``matmul_adjoint_right(g, x, y)`` (``x^T g``) from the
    tangent ``t`` of ``x``."""
    return _ra_einsum_pair(t, g, _ra_matmul_subscripts(np.ndim(x), np.ndim(y)), [x, y], 1, 0)


def _ra_scaled(t, g, like):
    """``unbroadcast(g * other, like)`` with ``other`` replaced by each row
    of its tangent ``t`` (the products of a 0-d operand)."""
    return _ra_unbroadcast(g[None] * _ra_over(t, g.ndim - 1), like)


def _ra_dot_subscripts(a_nd, b_nd):
    letters = "abcdefghijklmnopqrstuvw"
    pre = letters[:a_nd - 1]
    if b_nd == 1:
        return f"{pre}K,K->{pre}"
    rest = letters[a_nd - 1:a_nd - 1 + b_nd - 1]
    return f"{pre}K,{rest[:-1]}K{rest[-1]}->{pre}{rest}"


def dot_adjoint_left_tangent(t, g, a, b):
    """Tangent of ``dot_adjoint_left(g, a, b)`` from the tangent ``t`` of ``b``."""
    t = as_tangent(t, b)  # (b a list NumPy reads as an array: its items' tangents)
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return _ra_scaled(t, g, a)
    return _ra_einsum_pair(t, g, _ra_dot_subscripts(a_nd, b_nd), [a, b], 0, 1)


def dot_adjoint_right_tangent(t, g, a, b):
    """Tangent of ``dot_adjoint_right(g, a, b)`` from the tangent ``t`` of ``a``."""
    t = as_tangent(t, a)  # (a a list NumPy reads as an array: its items' tangents)
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return _ra_scaled(t, g, b)
    return _ra_einsum_pair(t, g, _ra_dot_subscripts(a_nd, b_nd), [a, b], 1, 0)


def outer_adjoint_left_tangent(t, g, a, b):
    """Tangent of ``outer_adjoint_left(g, a, b)`` from the tangent ``t`` of ``b``."""
    flat = np.reshape(g, g.shape[:1] + (np.size(a), np.size(b)))
    rows = np.reshape(t, (t.shape[0], np.size(b)))
    return np.reshape(np.einsum("bij,tj->tbi", flat, rows), (t.shape[0],) + g.shape[:1] + _shape(a))


def outer_adjoint_right_tangent(t, g, a, b):
    """Tangent of ``outer_adjoint_right(g, a, b)`` from the tangent ``t`` of ``a``."""
    flat = np.reshape(g, g.shape[:1] + (np.size(a), np.size(b)))
    rows = np.reshape(t, (t.shape[0], np.size(a)))
    return np.reshape(np.einsum("bij,ti->tbj", flat, rows), (t.shape[0],) + g.shape[:1] + _shape(b))


def _ra_tensordot_subscripts(a_nd, b_nd, axes):
    a_axes, b_axes = _tensordot_axes(a_nd, b_nd, axes)
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    a_term = [next(letters) for _ in range(a_nd)]
    b_term = [a_term[a_axes[b_axes.index(j)]] if j in b_axes else next(letters) for j in range(b_nd)]
    output = [c for i, c in enumerate(a_term) if i not in a_axes] + \
        [c for j, c in enumerate(b_term) if j not in b_axes]
    return "".join(a_term) + "," + "".join(b_term) + "->" + "".join(output)


def tensordot_adjoint_left_tangent(t, g, a, b, axes=2):
    """Tangent of ``tensordot_adjoint_left(g, a, b, axes)`` from the tangent ``t`` of ``b``."""
    return _ra_einsum_pair(t, g, _ra_tensordot_subscripts(np.ndim(a), np.ndim(b), axes), [a, b], 0, 1)


def tensordot_adjoint_right_tangent(t, g, a, b, axes=2):
    """Tangent of ``tensordot_adjoint_right(g, a, b, axes)`` from the tangent ``t`` of ``a``."""
    return _ra_einsum_pair(t, g, _ra_tensordot_subscripts(np.ndim(a), np.ndim(b), axes), [a, b], 1, 0)


def inner_adjoint_tangent(t, g, a, b, wrt_b=False, of_b=False):
    """Tangent of ``inner_adjoint(g, a, b, wrt_b)`` from the tangent ``t`` of
    ``b`` (``of_b=True``) or of ``a``: the adjoint of one argument is linear
    in the other and reads its own only for the shape."""
    like = b if wrt_b else a
    if of_b == wrt_b:
        return _ra_zeros(t, g, like)
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return _ra_scaled(t, g, like)
    letters = "abcdefghijklmnopqrstuvw"
    pre_a, pre_b = letters[:a_nd - 1], letters[a_nd - 1:a_nd + b_nd - 2]
    subscripts = f"{pre_a}K,{pre_b}K->{pre_a}{pre_b}"
    if wrt_b:
        return _ra_einsum_pair(t, g, subscripts, [a, b], 1, 0)
    return _ra_einsum_pair(t, g, subscripts, [a, b], 0, 1)


def vdot_adjoint_tangent(t, g, other, like):
    """Tangent of ``vdot_adjoint(g, other, like)`` from the tangent ``t`` of ``other``."""
    shape = _shape(like)
    return np.reshape(g, (1, -1) + (1,) * len(shape)) * np.reshape(t, (t.shape[0], 1) + shape)


def _ra_kron_labels(a, b):
    ndim = max(np.ndim(a), np.ndim(b))
    a_labels = [1 + 2 * i for i in range(ndim)]
    b_labels = [2 + 2 * i for i in range(ndim)]
    return ndim, a_labels, b_labels


def kron_adjoint_left_tangent(t, g, a, b):
    """Tangent of ``kron_adjoint_left(g, a, b)`` from the tangent ``t`` of ``b``."""
    blocks, _, b_full = _kron_blocks(g, a, b)
    ndim, a_labels, b_labels = _ra_kron_labels(a, b)
    rows = np.reshape(t, t.shape[:1] + b_full.shape)
    lead = 2 * ndim + 1
    part = np.einsum(blocks, [0] + [n for pair in zip(a_labels, b_labels) for n in pair],
                     rows, [lead] + b_labels, [lead, 0] + a_labels, optimize="greedy")
    return np.reshape(part, part.shape[:2] + _shape(a))


def kron_adjoint_right_tangent(t, g, a, b):
    """Tangent of ``kron_adjoint_right(g, a, b)`` from the tangent ``t`` of ``a``."""
    blocks, a_full, _ = _kron_blocks(g, a, b)
    ndim, a_labels, b_labels = _ra_kron_labels(a, b)
    rows = np.reshape(t, t.shape[:1] + a_full.shape)
    lead = 2 * ndim + 1
    part = np.einsum(blocks, [0] + [n for pair in zip(a_labels, b_labels) for n in pair],
                     rows, [lead] + a_labels, [lead, 0] + b_labels, optimize="greedy")
    return np.reshape(part, part.shape[:2] + _shape(b))


def cross_adjoint_tangent(t, g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False, of_b=False):
    """Tangent of ``cross_adjoint(g, a, b, ..., wrt_b)`` from the tangent
    ``t`` of ``b`` (``of_b=True``) or of ``a``: ``abar = b x cbar`` is linear
    in ``b``, ``bbar = cbar x a`` in ``a``; each reads its own operand only
    for the shape."""
    if axis is not None:
        axisa = axisb = axisc = axis
    own, own_axis = (b, axisb) if wrt_b else (a, axisa)
    if of_b == wrt_b:
        return _ra_zeros(t, g, own)
    own_moved = np.moveaxis(np.asarray(own), own_axis, -1)
    t_axis = (axisa if wrt_b else axisb) % (t.ndim - 1) + 1
    g_moved = np.moveaxis(g, axisc % (g.ndim - 1) + 1, -1)
    t_moved = _ra_over(np.moveaxis(t, t_axis, -1), g_moved.ndim - 1)
    bar = np.cross(g_moved[None], t_moved) if wrt_b else np.cross(t_moved, g_moved[None])
    return np.moveaxis(_ra_unbroadcast(bar, own_moved), -1, own_axis % own_moved.ndim + 2)


def inv_adjoint_tangent(t, g, z):
    """Tangent of ``inv_adjoint(g, z) = -z^T g z^T`` from the tangent ``t`` of ``z``."""
    z_t = _mT(z)
    t_t = _mT(t)[:, None]
    return -(t_t @ g[None] @ z_t + z_t @ g[None] @ t_t)


def solve_transposed_tangent(t, a, g, b):
    """Tangent of ``r = solve_transposed(a, g, b) = inv(a)^T g`` from the
    tangent ``t`` of ``a``: ``-inv(a)^T t^T r``."""
    inverse_t = np.swapaxes(np.linalg.inv(a), -1, -2)
    r = solve_transposed(a, g, b)
    if np.ndim(b) == 1:
        r = r[..., None]
    t_t = _ra_over(_mT(t), r.ndim - 1)
    result = -(inverse_t @ (t_t @ r[None]))
    return result[..., 0] if np.ndim(b) == 1 else result


def solve_adjoint_matrix_tangent(t, b_bar, z, a, b):
    """Tangent of ``solve_adjoint_matrix(b_bar, z, a, b) = -b_bar z^T`` from
    the tangent ``t`` of ``z``."""
    if np.ndim(b) == 1:
        return _ra_unbroadcast(-b_bar[None, ..., :, None] * t[:, None, ..., None, :], a)
    return _ra_unbroadcast(-(b_bar[None] @ _mT(t)[:, None]), a)


def _ra_inverse_tangent_t(t, a):
    """``d(inv(a)^T)`` along each row of ``t``: ``-inv(a)^T t^T inv(a)^T``, ``(T,) + a.shape``."""
    inverse_t = _mT(np.linalg.inv(a))
    return -(inverse_t @ _mT(t) @ inverse_t)


def det_adjoint_tangent(t, g, z, a, of_a=False):
    """Tangent of ``det_adjoint(g, z, a) = g z inv(a)^T`` from the tangent
    ``t`` of ``z``, or of ``a`` (``of_a=True``)."""
    if of_a:
        return (g * z)[None, ..., None, None] * _ra_inverse_tangent_t(t, a)[:, None]
    return (g[None] * t[:, None])[..., None, None] * _mT(np.linalg.inv(a))


def slogdet_adjoint_tangent(t, g, a):
    """Tangent of ``slogdet_adjoint(g, a)`` from the tangent ``t`` of ``a``."""
    _, g_logdet = _result_bars(g, 2, "np.linalg.slogdet", ("logabsdet", "sign, logdet = np.linalg.slogdet(a)"))
    if g_logdet is None:
        return _ra_zeros(t, g, a)
    return g_logdet[None, ..., None, None] * _ra_inverse_tangent_t(t, a)[:, None]


def _ra_phi(x):
    """The lower triangle of ``x`` with its diagonal halved (last two axes)."""
    lower = np.tril(x)
    return lower - 0.5 * np.einsum("...ii->...i", lower)[..., None] * np.eye(x.shape[-1], dtype=lower.dtype)


def cholesky_adjoint_tangent(t, g, z, upper=False):
    """Tangent of ``cholesky_adjoint(g, z, upper)`` from the tangent ``t`` of
    ``z`` (the product rule through ``phi = Phi(L^T g)`` and ``L^-1``)."""
    if upper:
        z, g, t = _mT(z), _mT(g), _mT(t)
    g = g[None]
    t = t[:, None]
    phi = _ra_phi(_mT(z) @ g)
    d_phi = _ra_phi(_mT(t) @ g)
    inverse = np.linalg.inv(z)
    d_inverse = -(inverse @ t @ inverse)
    d_s = _mT(d_inverse) @ phi @ inverse + _mT(inverse) @ d_phi @ inverse + _mT(inverse) @ phi @ d_inverse
    return _triangle_read(0.5 * (d_s + _mT(d_s)), upper=upper)


def _ra_pair_items(t, count):
    """The items of a pair's tangent (None for a missing one)."""
    if t is None:
        return [None] * count
    if isinstance(t, np.ndarray):
        return [t[:, i] for i in range(count)]
    return list(t)


def eigh_adjoint_tangent(t, g, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Tangent of ``eigh_adjoint(g, z, UPLO)`` from the tangent ``t = (dw, dv)``
    of ``z = (w, v)``: the product rule through
    ``v (diag(wbar) + F * (v^T vbar)) v^T``, with ``dF = -F^2 (dw_j - dw_i)``."""
    g_w, g_v = _result_bars(g, 2, "np.linalg.eigh", ("eigenvalues", "w, v = np.linalg.eigh(a)"))
    w, v = z
    t_w, t_v = _ra_pair_items(t, 2)
    lead = t_w if t_w is not None else t_v
    if (g_w is None and g_v is None) or (t_v is None and (t_w is None or g_v is None)):
        return _ra_zeros(lead, g, v)
    n = w.shape[-1]
    eye = np.eye(n)
    gaps = w[..., None, :] - w[..., :, None]
    off = ~np.eye(n, dtype=bool)
    with np.errstate(divide="ignore"):
        f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
    inner = 0.0
    if g_w is not None:
        inner = g_w[None, ..., None, :] * eye
    d_inner = 0.0
    if g_v is not None:
        vg = _mT(v) @ g_v[None]
        inner = inner + f * vg
        if t_w is not None:
            t_w = t_w[:, None]
            d_inner = d_inner - f * f * (t_w[..., None, :] - t_w[..., :, None]) * vg
        if t_v is not None:
            d_inner = d_inner + f * (_mT(t_v[:, None]) @ g_v[None])
    full = 0.0 if np.ndim(d_inner) == 0 else v @ d_inner @ _mT(v)
    if t_v is not None:
        t_v = t_v[:, None]
        full = full + t_v @ inner @ _mT(v) + v @ inner @ _mT(t_v)
    full = np.broadcast_to(full, (lead.shape[0], batch_size(g)) + v.shape)
    return _triangle_read(full, upper=UPLO.upper() == "U")


def eigvalsh_adjoint_tangent(t, g, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Tangent of ``eigvalsh_adjoint(g, a, UPLO)`` from the tangent ``t`` of
    ``a``: the eigenvectors' tangent ``v (F * (v^T da v))`` for the
    symmetric matrix NumPy reads from one triangle of ``a``."""
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    if UPLO.upper() == "U":
        symmetric = np.triu(t) + _mT(np.triu(t, 1))
    else:
        symmetric = np.tril(t) + _mT(np.tril(t, -1))
    n = w.shape[-1]
    gaps = w[..., None, :] - w[..., :, None]
    off = ~np.eye(n, dtype=bool)
    with np.errstate(divide="ignore"):
        f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
    t_v = v @ (f * (_mT(v) @ symmetric @ v))
    return eigh_adjoint_tangent((None, t_v), (g, None), (w, v), UPLO=UPLO)


def _ra_pinv_parts(g, a, z):
    z_t = _mT(z)
    left = np.eye(a.shape[-2], dtype=z.dtype) - a @ z
    right = np.eye(a.shape[-1], dtype=z.dtype) - z @ a
    return z_t, left, right


def pinv_adjoint_tangent(t, g, a, z, of_z=False):
    """Tangent of ``pinv_adjoint(g, a, z)`` from the tangent ``t`` of ``a``,
    or of ``z`` (``of_z=True``), by the product rule through
    ``-z^T g z^T + (1 - a z) g^T z z^T + z^T z g^T (1 - z a)``."""
    a = np.asarray(a)
    z_t, left, right = _ra_pinv_parts(g, a, z)
    g_b = g[None]
    g_t = _mT(g)[None]
    t = _ra_over(t, max(a.ndim, z.ndim))
    if not of_z:
        result = -(t @ z) @ g_t @ (z @ z_t) - (z_t @ z) @ g_t @ (z @ t)
        return _ra_unbroadcast(result, a)
    t_t = _mT(t)
    result = (-(t_t @ g_b @ z_t + z_t @ g_b @ t_t)
              - (a @ t) @ g_t @ (z @ z_t)
              + left @ g_t @ (t @ z_t + z @ t_t)
              + (t_t @ z + z_t @ t) @ g_t @ right
              - (z_t @ z) @ g_t @ (t @ a))
    return _ra_unbroadcast(result, a)


def _ra_pinv_tangent(t, a, p):
    """``d pinv(a)`` along each row of ``t`` (full rank): Golub and Pereyra's formula."""
    t_t = _mT(t)
    left = np.eye(a.shape[-2], dtype=p.dtype) - a @ p
    right = np.eye(a.shape[-1], dtype=p.dtype) - p @ a
    return -(p @ t @ p) + p @ _mT(p) @ t_t @ left + right @ t_t @ _mT(p) @ p


def lstsq_adjoint_tangent(t, g, a, b, wrt_b=False, of_b=False):
    """Tangent of ``lstsq_adjoint(g, a, b, wrt_b)`` from the tangent ``t`` of
    ``b`` (``of_b=True``) or of ``a``."""
    bars = _result_bars(g, 4, "np.linalg.lstsq", ("residuals", "x, residuals, rank, sv = np.linalg.lstsq(a, b)"))
    x_bar = bars[0]
    like = b if wrt_b else a
    if x_bar is None or (wrt_b and of_b):
        return _ra_zeros(t, g, like)
    a = np.asarray(a)
    b = np.asarray(b)
    inverse = np.linalg.pinv(a)
    if wrt_b:  # pinv(a)^T xbar, from the tangent of a
        d_inverse = _ra_pinv_tangent(t, a, inverse)[:, None]
        return _mT(d_inverse) @ x_bar[None] if b.ndim == 2 else np.einsum("bi,tij->tbj", x_bar, d_inverse[:, 0])
    if of_b:  # pinv_adjoint(xbar b^T), linear in b
        if b.ndim == 1:
            p_bar = x_bar[None, :, :, None] * t[:, None, None, :]
        else:
            p_bar = x_bar[None] @ _mT(t)[:, None]
        return merged(pinv_adjoint, p_bar, a, inverse)
    p_bar = x_bar[:, :, None] * b[None, None, :] if b.ndim == 1 else x_bar @ b.T
    d_inverse = _ra_pinv_tangent(t, a, inverse)
    return (pinv_adjoint_tangent(t, p_bar, a, inverse)
            + pinv_adjoint_tangent(d_inverse, p_bar, a, inverse, of_z=True))


def multi_dot_adjoint_tangent(t, g, arrays):
    """Tangent of ``multi_dot_adjoint(g, arrays)`` from the tangent ``t`` of
    ``arrays`` (one item per array, None for constants): each matrix's
    adjoint ``left^T g right^T`` with one other matrix at a time replaced by
    its tangent, added up."""
    shapes = [np.shape(x) for x in arrays]
    matrices = [np.asarray(x) for x in arrays]
    tangents = [t[:, i] for i in range(len(arrays))] if isinstance(t, np.ndarray) else list(t)
    if matrices[0].ndim == 1:
        matrices[0] = matrices[0][None, :]
        if tangents[0] is not None:
            tangents[0] = tangents[0][:, None, :]
    if matrices[-1].ndim == 1:
        matrices[-1] = matrices[-1][:, None]
        if tangents[-1] is not None:
            tangents[-1] = tangents[-1][..., None]
    tangents = [None if x is None else x[:, None] for x in tangents]
    lead = next(x for x in tangents if x is not None).shape[0]
    g = np.reshape(g, g.shape[:1] + (matrices[0].shape[0], matrices[-1].shape[1]))[None]

    def chain(items, size):
        if not items:
            return np.eye(size)
        product = items[0]
        for item in items[1:]:
            product = product @ item
        return product

    results = []
    for i, (matrix, shape) in enumerate(zip(matrices, shapes, strict=True)):
        total = np.zeros((lead,) + g.shape[1:2] + matrix.shape)
        for j, tangent in enumerate(tangents):
            if tangent is None or j == i:
                continue
            replaced = matrices[:j] + [tangent] + matrices[j + 1:]
            left = chain(replaced[:i], matrix.shape[0])
            right = chain(replaced[i + 1:], matrix.shape[1])
            total = total + _mT(left) @ g @ _mT(right)
        results.append(np.reshape(total, (lead,) + g.shape[1:2] + shape))
    return results


def matrix_power_adjoint_tangent(t, g, a, n):
    """Tangent of ``matrix_power_adjoint(g, a, n)`` from the tangent ``t`` of
    ``a``: the product rule through the powers of ``a^T`` (of ``inv(a)^T``
    and the final ``-m^T mbar m^T`` for ``n < 0``)."""
    if n == 0:
        return _ra_zeros(t, g, a)
    a = np.asarray(a)
    g = g[None]
    if n < 0:
        base = np.linalg.inv(a)
        d_base = -(base @ t @ base)[:, None]
    else:
        base = a
        d_base = t[:, None]
    count = abs(n)
    base_t, d_base_t = _mT(base), _mT(d_base)
    powers = [np.broadcast_to(np.eye(base.shape[-1], dtype=base.dtype), base.shape)]
    d_powers = [np.zeros(d_base.shape[:1] + (1,) + base.shape)]
    for _ in range(count - 1):
        d_powers.append(d_powers[-1] @ base_t + powers[-1] @ d_base_t)
        powers.append(powers[-1] @ base_t)
    d_bar = sum(d_powers[k] @ g @ powers[count - 1 - k] + powers[k] @ g @ d_powers[count - 1 - k]
                for k in range(count))
    if n < 0:
        bar = sum(powers[k] @ g @ powers[count - 1 - k] for k in range(count))
        d_bar = -(d_base_t @ bar @ base_t + base_t @ d_bar @ base_t + base_t @ bar @ d_base_t)
    return np.broadcast_to(d_bar, (t.shape[0],) + g.shape[1:2] + a.shape)


def qr_adjoint_tangent(t, g, a, z, mode="reduced"):
    """Tangent of ``qr_adjoint(g, a, z)`` from the tangent ``t = (dq, dr)`` of
    ``z = (q, r)``: the product rule through
    ``q (rbar + tril(q^T qbar - qbar^T q + r rbar^T - rbar r^T) r^-T) + (qbar - q q^T qbar) r^-T``."""
    q_bar, r_bar = _result_bars(g, 2, "np.linalg.qr", ("Q", "q, r = np.linalg.qr(a)"))
    q, r = z
    t_q, t_r = _ra_pair_items(t, 2)
    lead = t_q if t_q is not None else t_r
    if q_bar is None and r_bar is None:
        return _ra_zeros(lead, g, a)
    if q_bar is None:
        q_bar = np.zeros(r_bar.shape[:1] + q.shape, dtype=r_bar.dtype)
    if r_bar is None:
        r_bar = np.zeros(q_bar.shape[:1] + r.shape, dtype=q_bar.dtype)
    q_bar, r_bar = q_bar[None], r_bar[None]
    t_q = np.zeros((1, 1) + q.shape) if t_q is None else t_q[:, None]
    t_r = np.zeros((1, 1) + r.shape) if t_r is None else t_r[:, None]
    q_t = _mT(q)
    qdq = q_t @ q_bar
    rdr = r @ _mT(r_bar)
    lower = np.tril(qdq - _mT(qdq) + rdr - _mT(rdr))
    r_inverse_t = _mT(np.linalg.inv(r))
    d_qdq = _mT(t_q) @ q_bar
    d_rdr = t_r @ _mT(r_bar)
    d_lower = np.tril(d_qdq - _mT(d_qdq) + d_rdr - _mT(d_rdr))
    d_r_inverse_t = -(r_inverse_t @ _mT(t_r) @ r_inverse_t)
    result = (t_q @ (r_bar + lower @ r_inverse_t)
              + q @ (d_lower @ r_inverse_t + lower @ d_r_inverse_t)
              - (t_q @ qdq + q @ d_qdq) @ r_inverse_t
              + (q_bar - q @ qdq) @ d_r_inverse_t)
    return np.broadcast_to(result, (lead.shape[0], batch_size(g)) + q.shape[:-2] + a.shape[-2:])


def singular_values_adjoint_tangent(t, g, a, compute_uv=True):
    """Tangent of ``singular_values_adjoint(g, a) = u diag(g) vh`` from the
    tangent ``t`` of ``a`` (distinct nonzero singular values): with
    ``dP = u^T da v`` and ``F[i, j] = 1 / (s_j^2 - s_i^2)``,
    ``du = u (F * (dP S + S dP^T)) + (1 - u u^T) da v S^-1`` and
    ``dv = v (F * (S dP + dP^T S)) + (1 - v v^T) da^T u S^-1``."""
    a = np.asarray(a)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    v = _mT(vh)
    k = s.shape[-1]
    squares = s[..., None, :] ** 2 - s[..., :, None] ** 2
    off = ~np.eye(k, dtype=bool)
    with np.errstate(divide="ignore"):
        f = np.where(off, 1.0 / np.where(off, squares, 1.0), 0.0)
    t = _ra_over(t, a.ndim)[:, 0]  # (T,) + a.shape
    d_p = _mT(u) @ t @ v
    s_row = s[..., None, :]
    s_col = s[..., :, None]
    d_u = u @ (f * (d_p * s_row + s_col * _mT(d_p))) + \
        (np.eye(a.shape[-2]) - u @ _mT(u)) @ t @ (v / s_row)
    d_v = v @ (f * (s_col * d_p + _mT(d_p) * s_row)) + \
        (np.eye(a.shape[-1]) - v @ vh) @ _mT(t) @ (u / s_row)
    scaled = g[None, ..., None, :]
    return (d_u[:, None] * scaled) @ vh + (u * scaled) @ _mT(d_v[:, None])


def _ra_cov_tangent_rows(t, m, rowvar):
    """The tangent ``(T,) + m.shape`` of ``m`` as the tangent of cov's centred
    observations (a variable per row)."""
    x, transposed = _cov_rows(m, rowvar)
    rows = np.reshape(t, t.shape[:1] + (np.swapaxes(x, 0, 1).shape if transposed else x.shape))
    if transposed:
        rows = np.swapaxes(rows, 1, 2)
    return rows - np.mean(rows, axis=2, keepdims=True)


def cov_adjoint_tangent(t, g, m, rowvar=True, bias=False, ddof=None):
    """Tangent of ``cov_adjoint(g, m, ...) = (Cbar + Cbar^T) X / f`` from the
    tangent ``t`` of ``m`` (linear in the centred observations ``X``)."""
    x, transposed = _cov_rows(m, rowvar)
    if ddof is None:
        ddof = 0 if bias else 1
    count = x.shape[0]
    c_bar = np.reshape(g, (g.shape[0], count, count))
    rows = _ra_cov_tangent_rows(t, m, rowvar)
    x_bar = ((c_bar + np.swapaxes(c_bar, 1, 2))[None] @ rows[:, None]) / (x.shape[1] - ddof)
    if transposed:
        x_bar = np.swapaxes(x_bar, 2, 3)
    return np.reshape(x_bar, (t.shape[0], g.shape[0]) + _shape(m))


def corrcoef_adjoint_tangent(t, g, x, rowvar=True):
    """Tangent of ``corrcoef_adjoint(g, x)`` from the tangent ``t`` of ``x``:
    the product rule through ``R = C / (s s^T)`` and the covariance's adjoint."""
    c = np.atleast_2d(np.cov(x, rowvar=rowvar))
    xs, _ = _cov_rows(x, rowvar)
    centred = xs - np.mean(xs, axis=1, keepdims=True)
    rows = _ra_cov_tangent_rows(t, x, rowvar)  # (T, n, N)
    d_c = (rows @ centred.T + centred @ np.swapaxes(rows, 1, 2)) / (xs.shape[1] - 1)
    s = np.sqrt(np.diagonal(c))
    d_s = np.diagonal(d_c, axis1=1, axis2=2) / (2.0 * s)
    outer = s[:, None] * s[None, :]
    d_outer = d_s[:, :, None] * s[None, :] + s[:, None] * d_s[:, None, :]
    r = c / outer
    d_r = d_c / outer - r * d_outer / outer
    r_bar = np.reshape(g, (g.shape[0],) + c.shape)
    sym = r_bar + np.swapaxes(r_bar, 1, 2)
    total = np.sum(sym * r, axis=2)  # (B, n)
    d_total = np.sum(sym[None] * d_r[:, None], axis=3)  # (T, B, n)
    d_diagonal = -d_total / (2.0 * s * s) + total[None] * (d_s / s ** 3)[:, None]
    d_c_bar = (-r_bar[None] * (d_outer / outer ** 2)[:, None]
               + d_diagonal[..., None] * np.eye(c.shape[0]))
    diagonal = -total / (2.0 * s * s)
    c_bar = r_bar / outer + diagonal[:, :, None] * np.eye(c.shape[0])
    return merged(cov_adjoint, d_c_bar, x, rowvar=rowvar) + cov_adjoint_tangent(t, c_bar, x, rowvar=rowvar)


def convolve_adjoint_tangent(t, g, a, v, mode="full", wrt_v=False, correlate=False, of_v=False):
    """Tangent of ``convolve_adjoint(g, a, v, mode, wrt_v, correlate)`` from
    the tangent ``t`` of ``v`` (``of_v=True``) or of ``a``: ``a``'s adjoint
    is linear in ``v`` and ``v``'s in ``a``; each reads its own only for the shape."""
    like = v if wrt_v else a
    if of_v == wrt_v:
        return _ra_zeros(t, g, like)
    n, m = np.size(a), np.size(v)
    full = _convolve_full_cotangent(g, n, m, mode, correlate)
    rows = np.reshape(t, (t.shape[0], -1))
    if not wrt_v and correlate:
        rows = rows[:, ::-1]
    windows = np.lib.stride_tricks.sliding_window_view(full, rows.shape[1], axis=1)
    part = np.moveaxis(windows @ rows.T, -1, 0)  # (T, B, length)
    if wrt_v and correlate:
        part = part[..., ::-1]
    return np.reshape(part, part.shape[:2] + _shape(like))


def correlate_adjoint_tangent(t, g, a, v, mode="valid", wrt_v=False, of_v=False):
    """Tangent of ``correlate_adjoint(g, a, v, mode, wrt_v)`` (see ``convolve_adjoint_tangent``)."""
    return convolve_adjoint_tangent(t, g, a, v, mode, wrt_v=wrt_v, correlate=True, of_v=of_v)


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
    leaf = _first_leaf(t)
    if leaf is None:
        return None
    outer, inner = leaf.shape[:2]
    merged_t = _map_leaves(lambda a: np.reshape(a, (outer * inner,) + np.shape(a)[2:]), t)
    result = helper(merged_t, *args, **kwargs)
    return _map_leaves(lambda a: np.reshape(a, (outer, inner) + np.shape(a)[1:]), result)


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
    scale = 2.0 / (reduced_count(a, axis) - ddof)
    return _outer(unreduce(g, a, axis, keepdims), deviations * scale)


def std_adjoint_tangent_z(t, g, a, z, axis=None, ddof=0, keepdims=False):
    """Tangent of ``std_adjoint(g, a, z, ...) = var_adjoint(g / (2 z), a, ...)``
    from the tangent ``t`` of ``z``: ``g / (2 z)`` changes by ``-g t / (2 z^2)``."""
    return merged(var_adjoint, _outer(g, t / (-2.0 * np.square(z))), a, axis, ddof, keepdims)


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
        return _outer(unreduce(g, a, axis, keepdims), deviations * (2.0 / (counts - ddof)))


def nanstd_adjoint_tangent_z(t, g, a, z, axis=None, ddof=0, keepdims=False):
    """Tangent of ``nanstd_adjoint(g, a, z, ...)`` from the tangent ``t`` of ``z``."""
    return merged(nanvar_adjoint, _outer(g, t / (-2.0 * np.square(z))), a, axis, ddof, keepdims)


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
    flat, order, moved_shape = _reduced_last(x, axis)
    t_flat = np.transpose(t, (0,) + tuple(a + 1 for a in order)).reshape(t.shape[:1] + flat.shape)
    n = flat.shape[-1]
    if np.all(flat != 0):
        ratios = t_flat / flat
        zero = np.zeros(ratios.shape[:-1] + (1,), dtype=dtype)
        before = np.cumsum(np.concatenate([zero, ratios[..., :-1]], axis=-1), axis=-1)
        after = np.cumsum(np.concatenate([zero, ratios[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        out = prod_others(flat, axis=-1) * (before + after)
    else:
        prefix = np.empty(flat.shape, dtype=dtype)
        suffix = np.empty(flat.shape, dtype=dtype)
        prefix_t = np.empty(t_flat.shape, dtype=dtype)
        suffix_t = np.empty(t_flat.shape, dtype=dtype)
        for positions, values, tangents in ((range(n), prefix, prefix_t),
                                            (range(n - 1, -1, -1), suffix, suffix_t)):
            running = np.ones(flat.shape[:-1], dtype=dtype)
            running_t = np.zeros(t_flat.shape[:-1], dtype=dtype)
            for i in positions:
                values[..., i] = running
                tangents[..., i] = running_t
                running_t = running_t * flat[..., i] + running * t_flat[..., i]
                running = running * flat[..., i]
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


def _outer_zeros(tt, batch, like):
    """Zeros ``(S, batch) + like.shape`` for an item whose tangent ``tt``
    (with the outer batch S) holds no array."""
    if isinstance(like, dict):
        return {k: _outer_zeros(tt, batch, v) for k, v in like.items()}
    if isinstance(like, (tuple, list)):
        return rebuild_like(like, [_outer_zeros(tt, batch, v) for v in like])
    outer = batch_size(tt)
    dtype = np.result_type(np.asarray(like).dtype, np.float32) if like is not None else np.float64
    return np.zeros((outer or 1, batch) + np.shape(like), dtype=dtype)


def item_tangent_tangent(tt, t, item, key, batch):
    """Tangent of ``item_tangent(t, item, key, batch)`` (linear in ``t``)."""
    if isinstance(tt, np.ndarray):
        return merged(item_tangent, tt, item, key, batch)
    picked = None if tt is None else tt[key]
    return _outer_zeros(tt, batch, item) if picked is None else picked


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
    """Tangent of ``unpack_tangent(t, value, count, batch)``."""
    if isinstance(tt, np.ndarray):
        return [tt[:, :, i] for i in range(count)]
    items = list(value.values()) if isinstance(value, dict) else list(value)
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


# ---- tangent helpers: ufuncs and builtins

def _item_tangents(t, items):
    """The tangents of the items of a sequence, from the sequence's tangent
    ``t``: a list or tuple of them (None for an item without one), or an
    array whose items follow the batch axis (a sequence that is an array)."""
    if isinstance(t, np.ndarray):
        return [t[:, i] for i in range(len(items))]
    return list(t)


def _no_item_tangent(z):
    """Refuse a sum/max/min over a sequence whose items all lost their
    derivatives (items replaced by constants): forward mode cannot size a zero
    tangent for it."""
    raise ValueError(
        "sum(), max() or min() of a sequence none of whose items carries a derivative any more "
        f"(result of shape {np.shape(z)}): forward mode cannot size its zero tangent. Use jacrev, "
        "or wrap the call in adjoint.stop_gradient(...).")


def sum_of_items_tangent(t, items, z):
    """Tangent of Python's ``sum(items)`` (``z``): the items' tangents added,
    each broadcast to ``z``'s shape; items without a tangent add nothing."""
    if isinstance(t, np.ndarray):  # an array summed along its first axis
        total = np.sum(t, axis=1) if len(items) else np.zeros((t.shape[0],) + np.shape(z), t.dtype)
        return lift(total, z)
    total = None
    for item_t in t:
        if item_t is not None:
            total = lift(item_t, z) if total is None else total + lift(item_t, z)
    if total is None:
        _no_item_tangent(z)
    return total


def extremum_of_items_tangent(t, items, z):
    """Tangent of Python's ``max(items)`` / ``min(items)`` (``z``): the tangent
    of the first item equal to the result, as the adjoint rule chooses."""
    winner = next(i for i, item in enumerate(items) if np.all(item == z))
    tangents = _item_tangents(t, items)
    if tangents[winner] is not None:
        return lift(tangents[winner], z)
    batch = batch_size(tangents)
    if batch is None:
        _no_item_tangent(z)
    return zeros_bar(z, batch)


def sequence_tangent(t, items, z):
    """Tangent of ``z = list(items)`` / ``tuple(items)``: the items' tangents
    in ``z``'s container (an array's items are its rows after the batch axis)."""
    return rebuild_like(z, _item_tangents(t, items))


def mapping_tangent(t, mapping):
    """Tangent of ``dict(mapping)``, a copy of a dict: the same entries."""
    if not isinstance(mapping, dict):
        raise TypeError("dict(...) is differentiated only as the copy of a dict: dict(d).")
    return {key: t.get(key) for key in mapping}


# ------------------------------------------------------------ vmap
# In batched code a value that depends on a batched argument holds every
# example along a new leading axis.

def to_batched(value, batch):
    """``value`` for every example: a stride-0 view with a leading axis."""
    if isinstance(value, dict):
        return {k: to_batched(v, batch) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return rebuild_like(value, [to_batched(v, batch) for v in value])
    array = np.asarray(value)
    if array.flags.c_contiguous and array.dtype != object:
        # the view built directly: np.broadcast_to costs several times more
        view = np.ndarray((batch,) + array.shape, array.dtype, array, 0, (0,) + array.strides)
        view.flags.writeable = False
        return view
    return np.broadcast_to(array, (batch,) + array.shape)


def example(value, row):
    """One example of a batched value."""
    if isinstance(value, dict):
        return {k: example(v, row) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return rebuild_like(value, [example(v, row) for v in value])
    return value[row]


def first_example(value):
    return example(value, 0)


def stack_examples(results):
    """Per-example results stacked along a new leading axis."""
    first = results[0]
    if isinstance(first, dict):
        return {k: stack_examples([r[k] for r in results]) for k in first}
    if isinstance(first, (tuple, list)):
        return rebuild_like(first, [stack_examples([r[i] for r in results]) for i in range(len(first))])
    return np.stack([np.asarray(r) for r in results])


def vmap_getitem(value, index):
    """``value[index]`` of every example."""
    if isinstance(value, np.ndarray):
        return batched_getitem(value, index)
    return value[index]


def vmap_setitem(array, index, value):
    """``array[index] = value`` in every example, as a new array."""
    updated = np.array(array)
    region = batched_getitem(updated, index)
    value = np.asarray(value)
    missing = region.ndim - value.ndim
    if missing > 0:
        value = value.reshape(value.shape[:1] + (1,) * missing + value.shape[1:])
    value = np.broadcast_to(value, region.shape)
    batched_index = _batched_index(index)
    if _is_advanced(batched_index) and _separated_advanced_ndim(batched_index):
        for row in range(updated.shape[0]):
            updated[row][index] = value[row]
        return updated
    updated[(slice(None),) + (index if isinstance(index, tuple) else (index,))] = value
    return updated


def vmap_unpack(value, count):
    """``a, b, ... = value`` in every example."""
    if isinstance(value, np.ndarray):
        return [value[:, i] for i in range(count)]
    return list(value.values()) if isinstance(value, dict) else list(value)


def vmap_attribute(value, name):
    """``value.shape`` (``ndim``, ``size``, ...) of one example."""
    if isinstance(value, np.ndarray):
        return getattr(value[0], name)
    return getattr(first_example(value), name)


def vmap_loop(batch, function, batched, keyword_batched, *args, **kwargs):
    """``function(*args, **kwargs)`` once per example, results stacked."""
    results = []
    for row in range(batch):
        example_args = [example(a, row) if b else a for a, b in zip(args, batched, strict=True)]
        example_kwargs = {k: example(v, row) if keyword_batched.get(k) else v for k, v in kwargs.items()}
        results.append(function(*example_args, **example_kwargs))
    return stack_examples(results)



def sequence_adjoint_of(bar, x):
    """The adjoint of a sequence argument: item by item for a list or tuple;
    for one array NumPy read as a sequence of its rows, one array whose rows
    follow the batch axis."""
    if isinstance(x, np.ndarray) and isinstance(bar, (list, tuple)):
        batch = batch_size(bar)
        if not bar:  # an empty array: no rows
            return np.zeros((0 if batch is None else batch,) + x.shape, dtype=x.dtype)
        return np.stack([np.zeros((batch,) + x.shape[1:], dtype=x.dtype) if b is None else b for b in bar], axis=1)
    return bar


def vjacobian_from_rows(bar, out, x):
    """``jacobian_from_rows`` on a batch (every argument batched)."""
    return np.reshape(bar, bar.shape[:1] + out.shape[1:] + x.shape[1:])


def vgradient_from_row(bar, out, x):
    """``gradient_from_row`` on a batch."""
    return np.reshape(bar, x.shape)


def vjacobian_from_columns(out_dot, out, x, offset):
    """``jacobian_from_columns`` on a batch: ``(B, total) + out.shape``."""
    return jacobian_from_columns_tangent(out_dot, out[0], x[0], offset)


# ---- batching helpers: reductions
# vmap of the reductions, and of the backward helpers that generated reverse
# code calls for reductions and broadcasting. A batched value has the batch
# axis first; a cotangent of generated backward code has its own batch axis,
# so batched it is ``(B, G) + shape``: the vmap batch, then the cotangent's.

def _vaxis(axis, ndim):
    """One axis of an example with ``ndim`` axes as an axis of the batched array."""
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim + 1


def vaxes(axis, b):
    """``axis`` of one example as an axis of the batched array ``b``: None ->
    every axis but the batch axis; ints (negatives too) shifted past the batch
    axis; tuples item by item. ``axis=0`` or ``-1`` of 0-d examples reduces
    nothing (the empty tuple), as NumPy lets it."""
    ndim = np.ndim(b) - 1
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, (tuple, list)):
        return tuple(_vaxis(a, ndim) for a in axis)
    if ndim == 0 and axis in (0, -1):
        return ()
    return _vaxis(axis, ndim)


def vasarray(b):
    """A batched operand as one array ``(B,) + example shape``: a batched
    list or tuple (each item batched) is stacked after the batch axis."""
    if isinstance(b, np.ndarray):
        return b
    if isinstance(b, (list, tuple)):
        return np.stack([vasarray(item) for item in b], axis=1)
    return np.asarray(b)


def example_shape(b):
    """The shape of one example of the batched ``b``, as a ``Shape`` (a
    ``Shape`` residual broadcast to the batch is an object array of it)."""
    if isinstance(b, np.ndarray):
        if b.dtype == object and b.size and isinstance(b.flat[0], Shape):
            return b.flat[0]
        return Shape(b.shape[1:])
    if isinstance(b, Shape):
        return b
    if isinstance(b, (list, tuple)):
        return Shape((len(b),) + (example_shape(b[0]).shape if len(b) else ()))
    return Shape(np.shape(b)[1:])


def _is_none(b):
    """``b`` is None, or None broadcast to the batch (``vec[x]`` of an absent argument)."""
    return b is None or (isinstance(b, np.ndarray) and b.dtype == object and b.size and b.flat[0] is None)


def _same_for_every_example(g):
    return g.strides[0] == 0 and g.shape[0] > 1


def vmerged(helper, g, *args, **kwargs):
    """``helper(g, *args, **kwargs)``, linear in its cotangent ``g`` and with
    the other arguments the same for every example, on a batched cotangent
    ``(B, G) + shape``: the two leading axes merged into one batch (or, when
    ``g`` is a stride-0 broadcast, the helper applied once and broadcast)."""
    if not isinstance(g, np.ndarray):
        return stack_examples([helper(example(g, row), *args, **kwargs) for row in range(batch_size(g))])
    if _same_for_every_example(g):
        result = helper(g[0], *args, **kwargs)
        return np.broadcast_to(result, g.shape[:1] + result.shape)
    outer, inner = g.shape[0], g.shape[1]
    result = helper(g.reshape((outer * inner,) + g.shape[2:]), *args, **kwargs)
    return result.reshape((outer, inner) + result.shape[1:])


def vunbroadcast(g, x):
    """``unbroadcast`` on a batch: ``g`` is ``(B, G) + shape``, ``x`` batched (read for its shape)."""
    shape = example_shape(x)
    if isinstance(g, np.ndarray) and g.shape[2:] == shape.shape:
        return g
    return vmerged(unbroadcast, g, shape)


def vunreduce(g, x, axis=None, keepdims=False):
    """``unreduce`` on a batch: ``g`` is ``(B, G) + z.shape``, ``x`` batched (read for its shape)."""
    return vmerged(unreduce, g, example_shape(x), axis=axis, keepdims=keepdims)


def vreduced_count(x, batch, axis=None):
    """``reduced_count`` of every example (the same count), batched: ``(B,)``."""
    return np.full((batch,), reduced_count(example_shape(x), axis=axis))


def vextremum_adjoint(g, x, z, axis=None, keepdims=False):
    """``extremum_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``x``
    and ``z`` batched; ties shared equally, a NaN extremum gets it whole."""
    x = vasarray(x)
    axes = normalize_axes(axis, x.ndim - 1)
    kept_shape = x.shape[:1] + tuple(1 if i in axes else n for i, n in enumerate(x.shape[1:]))
    z_kept = np.reshape(z, kept_shape)
    if not keepdims:
        g = np.reshape(g, g.shape[:2] + kept_shape[1:])
    hits = x == z_kept
    z_flat = np.ravel(z_kept)
    if (x.dtype.kind != "f" or not math.isnan(z_flat.dot(z_flat))) and np.count_nonzero(hits) == z_flat.size:
        return g * hits[:, None]
    batched_axes = tuple(a + 1 for a in axes)
    counts = hits.sum(axis=batched_axes, keepdims=True)
    if not counts.all():
        hits |= np.isnan(x) & np.isnan(z_kept)
        counts = hits.sum(axis=batched_axes, keepdims=True)
    return (g / counts[:, None]) * hits[:, None]


def vvar_adjoint(g, a, axis=None, ddof=0, keepdims=False):
    """``var_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` batched."""
    a = vasarray(a)
    deviations = a - np.mean(a, axis=tuple(i + 1 for i in normalize_axes(axis, a.ndim - 1)), keepdims=True)
    count = reduced_count(Shape(a.shape[1:]), axis)
    return vunreduce(g, a, axis, keepdims) * (deviations * (2.0 / (count - ddof)))[:, None]


def vstd_adjoint(g, a, z, axis=None, ddof=0, keepdims=False):
    """``std_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` and ``z`` batched."""
    return vvar_adjoint(g / (2.0 * z)[:, None], a, axis, ddof, keepdims)


def vprod_others(x, axis=None, keepdims=False):
    """``prod_others`` of every example of the batched ``x``."""
    x = vasarray(x)
    return prod_others(x, axis=tuple(i + 1 for i in normalize_axes(axis, x.ndim - 1)))


def vscan(function, a, axis=None, dtype=None):
    """``np.cumsum`` / ``np.cumprod`` of every example (``axis=None``: of the flattened example)."""
    a = vasarray(a)
    if axis is None or a.ndim == 1:
        return function(a.reshape(a.shape[0], -1), axis=1, dtype=dtype)
    return function(a, axis=_vaxis(axis, a.ndim - 1), dtype=dtype)


def vquantile(function, a, q, axis=None, method="linear", keepdims=False):
    """``np.quantile`` / ``np.percentile`` / ``np.median`` (``q`` None) of
    every example: NumPy puts ``q``'s axes first, the batch axis follows them."""
    a = vasarray(a)
    if q is None:
        return function(a, axis=vaxes(axis, a), keepdims=keepdims)
    result = function(a, q, axis=vaxes(axis, a), method=method, keepdims=keepdims)
    return np.moveaxis(result, np.ndim(q), 0) if np.ndim(q) else result


def vaverage(a, axis=None, weights=None, keepdims=False):
    """``np.average`` of every example; ``weights`` batched (or None): a 1-d
    weight per position along an int ``axis`` is spread over ``a``'s shape."""
    a = vasarray(a)
    if _is_none(weights):
        return np.average(a, axis=vaxes(axis, a), keepdims=keepdims)
    weights = vasarray(weights)
    if weights.shape != a.shape:
        if axis is None:
            raise TypeError("Axis must be specified when shapes of a and weights differ.")
        if weights.ndim != 2 or isinstance(axis, (tuple, list)):
            return vmap_loop(a.shape[0], np.average, (True, False, True), {}, a, axis, weights,
                             keepdims=keepdims)
        position = _vaxis(axis, a.ndim - 1)
        if weights.shape[1] != a.shape[position]:
            raise ValueError("Length of weights not compatible with specified axis.")
        kept = [1] * a.ndim
        kept[0], kept[position] = a.shape[0], a.shape[position]
        weights = np.broadcast_to(weights.reshape(kept), a.shape)
    return np.average(a, axis=vaxes(axis, a), weights=weights, keepdims=keepdims)


def vtrapezoid(y, x=None, dx=1.0, axis=-1):
    """``np.trapezoid`` of every example, ``x`` (or ``dx``) batched too."""
    y = vasarray(y)
    ndim = y.ndim - 1
    position = _vaxis(axis, ndim)
    if _is_none(x):
        d = np.asarray(dx)
        d = d.reshape(d.shape[:1] + (1,) * (ndim - (d.ndim - 1)) + d.shape[1:])
    else:
        x = vasarray(x)
        if x.ndim == 2:
            d = np.diff(x, axis=1)
            shape = [1] * y.ndim
            shape[0], shape[position] = d.shape[0], d.shape[1]
            d = d.reshape(shape)
        else:
            d = np.diff(x, axis=_vaxis(axis, x.ndim - 1))
            d = d.reshape(d.shape[:1] + (1,) * (ndim - (d.ndim - 1)) + d.shape[1:])
    slice1 = [slice(None)] * y.ndim
    slice2 = [slice(None)] * y.ndim
    slice1[position] = slice(1, None)
    slice2[position] = slice(None, -1)
    return np.add.reduce(d * (y[tuple(slice1)] + y[tuple(slice2)]) / 2.0, position)


def vnorm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (NumPy's name)
    """``np.linalg.norm`` of every example."""
    x = vasarray(x)
    ndim = x.ndim - 1
    if axis is None:
        if ord is None:  # the 2-norm of the flattened example
            result = np.linalg.norm(x.reshape(x.shape[0], -1), axis=1)
            return result.reshape(x.shape[:1] + (1,) * ndim) if keepdims else result
        if ndim not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(ndim))
    axes = vaxes(axis, x)
    return np.linalg.norm(x, ord=ord, axis=axes, keepdims=keepdims)


def vediff1d(ary, to_end=None, to_begin=None):
    """``np.ediff1d`` of every example (flattened), ``to_end`` and ``to_begin`` the same for all."""
    ary = vasarray(ary)
    rows = ary.reshape(ary.shape[0], -1)
    parts = []
    for name, extra in (("to_begin", to_begin), ("to_end", to_end)):
        if extra is None:
            parts.append(None)
            continue
        extra = np.asanyarray(extra)
        if not np.can_cast(extra, rows.dtype, casting="same_kind"):
            raise TypeError(f"dtype of `{name}` must be compatible with input `ary` under the "
                            "`same_kind` rule.")
        parts.append(extra.ravel())
    begin, end = parts
    count = max(rows.shape[1] - 1, 0)
    width = (0 if begin is None else begin.size) + count + (0 if end is None else end.size)
    result = np.empty((rows.shape[0], width), dtype=rows.dtype)
    start = 0
    if begin is not None:
        result[:, :begin.size] = begin
        start = begin.size
    np.subtract(rows[:, 1:], rows[:, :-1], out=result[:, start:start + count])
    if end is not None:
        result[:, start + count:] = end
    return result


def varg(function, a, axis=None, keepdims=False):
    """``np.argmax`` / ``np.argmin`` of every example (``axis=None``: an index into the flattened example)."""
    a = vasarray(a)
    if axis is None:
        result = function(a.reshape(a.shape[0], -1), axis=1)
        return result.reshape(a.shape[:1] + (1,) * (a.ndim - 1)) if keepdims else result
    if a.ndim == 1 and axis in (0, -1):  # a 0-d example: the index 0
        return np.zeros(a.shape, dtype=np.intp)
    return function(a, axis=_vaxis(axis, a.ndim - 1), keepdims=keepdims)


def vargsort(a, axis=-1, kind=None, order=None, stable=None):
    """``np.argsort`` of every example (``axis=None``: of the flattened example)."""
    a = vasarray(a)
    options = {"kind": kind, "order": order}
    if stable is not None:  # NumPy >= 2.0 only
        options["stable"] = stable
    if axis is None or a.ndim == 1:
        return np.argsort(a.reshape(a.shape[0], -1), axis=1, **options)
    return np.argsort(a, axis=_vaxis(axis, a.ndim - 1), **options)


def vreverse_cumsum(g, axis=None):
    """``reverse_cumsum`` on a batched cotangent ``(B, G) + shape``."""
    return vmerged(reverse_cumsum, g, axis=axis)


def result_rank(batched, *args):
    """The rank of one example of an elementwise result."""
    return max(np.ndim(a) - 1 if b else np.ndim(a) for a, b in zip(args, batched, strict=True))


def vlift(value, rank):
    """A batched operand ``(B,) + shape`` with singleton axes after the batch
    axis, up to ``rank`` axes per example (as NumPy broadcasts the example)."""
    missing = rank - (value.ndim - 1)
    if missing <= 0:
        return value
    return value.reshape(value.shape[:1] + (1,) * missing + value.shape[1:])


def vunlift(g, value):
    """Adjoint of ``vlift``: ``(C,) + lifted shape`` -> ``(C,) + value.shape``."""
    return np.reshape(g, g.shape[:1] + np.shape(value))


def to_batched_adjoint(g, value):
    """Adjoint of ``to_batched(value, batch)``: the examples' adjoints summed."""
    return np.sum(g, axis=1)


def vmap_getitem_adjoint(g, value, index):
    """Adjoint of ``vmap_getitem`` (an array, or a container's item)."""
    if isinstance(value, np.ndarray):
        return batched_getitem_adjoint(g, value, index)
    return item_tangent_adjoint(g, value, index)


def vmap_getitem_tangent(t, index):
    """Tangent of ``vmap_getitem``."""
    if isinstance(t, np.ndarray):
        return merged(batched_getitem, t, index)
    return t[index]


def size_along(value, axis):
    """The size of ``value`` along ``axis`` (a vmap's batch size)."""
    return np.shape(value)[axis]


def vreshape_adjoint(g, x):
    """``reshape_adjoint`` on a batched cotangent ``(B, G) + shape``: to ``(B, G) + x``'s example shape."""
    return np.reshape(g, g.shape[:2] + example_shape(x).shape)


def _vreduced_axes(axis, b):
    """The reduced axes of one example of the batched ``b``, as axes of ``b`` (a tuple)."""
    return tuple(a + 1 for a in normalize_axes(axis, np.ndim(b) - 1))


def vptp_adjoint(g, a, axis=None, keepdims=False):
    """``ptp_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` batched."""
    a = vasarray(a)
    axes = _vreduced_axes(axis, a)
    high = np.max(a, axis=axes, keepdims=keepdims)
    low = np.min(a, axis=axes, keepdims=keepdims)
    return vextremum_adjoint(g, a, high, axis, keepdims) - vextremum_adjoint(g, a, low, axis, keepdims)


def vnan_reduced(g, a, axis=None, keepdims=False):
    """``nan_reduced`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` batched."""
    a = vasarray(a)
    return np.where(np.isnan(a)[:, None], 0.0, vunreduce(g, a, axis, keepdims))


def vnanmean_adjoint(g, a, axis=None, keepdims=False):
    """``nanmean_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` batched."""
    a = vasarray(a)
    counts = np.sum(~np.isnan(a), axis=_vreduced_axes(axis, a), keepdims=True)
    return vnan_reduced(g, a, axis, keepdims) / np.maximum(counts, 1)[:, None]


def vnan_extremum_adjoint(g, a, z, axis=None, keepdims=False):
    """``nan_extremum_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` and ``z`` batched."""
    a = vasarray(a)
    axes = normalize_axes(axis, a.ndim - 1)
    kept_shape = tuple(1 if d in axes else n for d, n in enumerate(a.shape[1:]))
    hits = a == np.reshape(z, a.shape[:1] + kept_shape)
    counts = np.sum(hits, axis=tuple(d + 1 for d in axes), keepdims=True)
    return (np.reshape(g, g.shape[:2] + kept_shape) / np.maximum(counts, 1)[:, None]) * hits[:, None]


def vnorm_adjoint(g, x, z, ord=None, axis=None, keepdims=False):  # noqa: A002 (NumPy's name)
    """``norm_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``x`` and ``z`` batched."""
    x = vasarray(x)
    ndim = x.ndim - 1
    if axis is None:
        axes = tuple(range(ndim))
        matrix = ndim == 2
        if ord is not None and ndim not in (1, 2):
            raise ValueError(f"np.linalg.norm: ord={ord!r} needs a 1-d or 2-d array or an axis.")
    else:
        axes = normalize_axes(axis, ndim)
        matrix = len(axes) == 2
    if matrix and ord not in (None, "fro"):
        raise ValueError(f"the derivative of the matrix norm with ord={ord!r} is not implemented; "
                         "ord=None and ord='fro' are.")
    if not matrix and (isinstance(ord, str) or (ord is not None and not (ord >= 1 or ord == -np.inf))):
        raise ValueError(f"the derivative of the vector norm with ord={ord!r} is not implemented; "
                         "ord=None, 1, 2, a finite p >= 1, np.inf and -np.inf are.")
    z = np.asarray(z)
    if ord in (None, 2, "fro"):
        return vunreduce(g / np.where(np.equal(z, 0), 1.0, z)[:, None], x, axes, keepdims) * x[:, None]
    if ord == 1:
        return vunreduce(g, x, axes, keepdims) * np.sign(x)[:, None]
    if np.isinf(ord):
        return vextremum_adjoint(g, np.abs(x), z, axes, keepdims) * np.sign(x)[:, None]
    kept = x.shape[:1] + tuple(1 if i in axes else n for i, n in enumerate(x.shape[1:]))
    z_kept = np.reshape(z, kept)
    ratio = np.abs(x) / np.where(np.equal(z_kept, 0), 1.0, z_kept)
    return vunreduce(g, x, axes, keepdims) * (np.sign(x) * ratio ** (ord - 1))[:, None]


def vcumprod_adjoint(g, a, axis=None):
    """``cumprod_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` batched."""
    a = vasarray(a)
    shape = a.shape[1:]
    if axis is None or a.ndim == 1:  # flattened examples
        a = a.reshape(a.shape[0], -1)
        axis = 0
    axis = axis % (a.ndim - 1)
    factors = np.moveaxis(a, axis + 1, -1)[:, None]
    g = np.moveaxis(g, axis + 2, -1)
    a_bar = np.moveaxis(_cumprod_pullback(g, factors), -1, axis + 2)
    return np.reshape(a_bar, a_bar.shape[:2] + shape)


def call_method(receiver, name, *args, **kwargs):
    """``receiver.name(*args, **kwargs)`` (a method called once per example)."""
    return getattr(receiver, name)(*args, **kwargs)


def vasarray_tangent(t):
    """Tangent of ``vasarray``: a list's items' tangents stacked after both leading axes."""
    if isinstance(t, np.ndarray):
        return t
    return np.stack([vasarray_tangent(item) for item in t], axis=2)


def vasarray_adjoint(g, b):
    """Adjoint of ``vasarray``: the array's adjoint, or one per item of a list."""
    if isinstance(b, np.ndarray):
        return g
    return rebuild_like(b, [vasarray_adjoint(g[:, :, i], item) for i, item in enumerate(b)])


# ---- batching helpers: linalg
# Batched operands carry the batch on axis 0. One that is a stride-0
# broadcast (an unbatched value given a batch axis) is used as its first
# example, so that a constant matrix times a batch of vectors is one GEMM.
# The backward helpers' batched cotangent ``g`` is ``(B, N) + z.shape``.

_VLETTERS = "abcdefghijklmnopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXY"  # "z", "Z": batch and cotangent rows


def _vconst(x):
    """Whether batched ``x`` is the same for every example (a stride-0 broadcast)."""
    return isinstance(x, np.ndarray) and x.ndim > 0 and x.shape[0] > 0 and x.strides[0] == 0


def _vbroadcast(value, batch):
    """An unbatched result for every example (a stride-0 view)."""
    if isinstance(value, (tuple, list)):
        return rebuild_like(value, [_vbroadcast(v, batch) for v in value])
    value = np.asarray(value)
    return np.broadcast_to(value, (batch,) + value.shape)


def _vlead(x, ndim, lead=1):
    """``x`` with size-1 axes after its ``lead`` leading axes, up to ``ndim`` axes."""
    return np.reshape(x, x.shape[:lead] + (1,) * (ndim - x.ndim) + x.shape[lead:])


def _vlinalg_axis(axis, rank):
    """Axis ``axis`` of a ``rank``-d example as an axis of the batched array."""
    if not -rank <= axis < rank:
        raise np.exceptions.AxisError(axis, rank)
    return axis % rank + 1


def _vunbroadcast(value, shape, lead):
    """``value`` (``lead`` leading axes, then an example's broadcast shape)
    summed back to ``shape``."""
    extra = value.ndim - lead - len(shape)
    if extra > 0:
        value = value.sum(axis=tuple(range(lead, lead + extra)))
    axes = tuple(lead + i for i, n in enumerate(shape) if n == 1 and value.shape[lead + i] != 1)
    if axes:
        value = value.sum(axis=axes, keepdims=True)
    return value


def _vmatmul_general(a, b, ra, rb):
    if ra == 1:
        a = a[:, None, :]
    if rb == 1:
        b = b[..., None]
    ndim = max(a.ndim, b.ndim)
    z = np.matmul(_vlead(a, ndim), _vlead(b, ndim))
    if rb == 1:
        z = z[..., 0]
    if ra == 1:
        z = z[..., 0] if rb == 1 else z[..., 0, :]
    return z


def vmatmul(a, b):
    """``a @ b`` of every example, any ranks NumPy's matmul takes. A
    constant matrix against a batch is one matrix product (GEMM)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        a, b = np.asarray(a), np.asarray(b)
    a_const = a.strides[0] == 0 and a.shape[0] > 0
    b_const = b.strides[0] == 0 and b.shape[0] > 0
    if a_const and a.ndim == 3 and b.ndim == 2 and not b_const:  # the common case: matrix @ vectors
        return b @ a[0].T
    ra, rb = a.ndim - 1, b.ndim - 1
    if a_const and b_const:
        return _vbroadcast(np.matmul(a[0], b[0]), a.shape[0])
    if b_const and rb <= 2 and ra >= 1:
        m = b[0]
        flat = a.reshape(-1, a.shape[-1]) @ m
        return flat.reshape(a.shape[:-1] + m.shape[1:])
    if a_const and ra <= 2 and rb >= 1:
        m = a[0]
        right = m.T if ra == 2 else m
        if rb == 1:
            return b @ right
        bt = np.swapaxes(b, -1, -2)
        flat = bt.reshape(-1, bt.shape[-1]) @ right
        if ra == 2:
            return np.swapaxes(flat.reshape(bt.shape[:-1] + (m.shape[0],)), -1, -2)
        return flat.reshape(bt.shape[:-1])
    return _vmatmul_general(a, b, ra, rb)


def _vmultiply(a, b):
    """``a * b`` of every example (a 0-d operand of np.dot, np.inner)."""
    ndim = max(a.ndim, b.ndim)
    return _vlead(a, ndim) * _vlead(b, ndim)


def vnpdot(a, b):
    """``np.dot(a, b)`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    ra, rb = a.ndim - 1, b.ndim - 1
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.dot(a[0], b[0]), batch)
    if ra == 0 or rb == 0:
        return _vmultiply(a, b)
    if rb <= 2:
        return vmatmul(a, b)
    if _vconst(b):
        return np.dot(a, b[0])
    if _vconst(a):
        return np.moveaxis(np.dot(a[0], b), ra - 1, 0)
    left, stack = _VLETTERS[:ra - 1], _VLETTERS[ra - 1:ra + rb - 3]
    k, m = _VLETTERS[ra + rb - 3], _VLETTERS[ra + rb - 2]
    return np.einsum(f"Z{left}{k},Z{stack}{k}{m}->Z{left}{stack}{m}", a, b)


def vouter(a, b):
    """``np.outer(a, b)`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    fa = np.reshape(a[:1], (1, -1)) if _vconst(a) else np.reshape(a, (batch, -1))
    fb = np.reshape(b[:1], (1, -1)) if _vconst(b) else np.reshape(b, (batch, -1))
    z = fa[:, :, None] * fb[:, None, :]
    return z if z.shape[0] == batch else np.broadcast_to(z, (batch,) + z.shape[1:])


def vinner(a, b):
    """``np.inner(a, b)`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    ra, rb = a.ndim - 1, b.ndim - 1
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.inner(a[0], b[0]), batch)
    if ra == 0 or rb == 0:
        return _vmultiply(a, b)
    if _vconst(b):
        return np.inner(a, b[0])
    if _vconst(a):
        return np.moveaxis(np.inner(a[0], b), ra - 1, 0)
    left, right, k = _VLETTERS[:ra - 1], _VLETTERS[ra - 1:ra + rb - 2], _VLETTERS[ra + rb - 2]
    return np.einsum(f"Z{left}{k},Z{right}{k}->Z{left}{right}", a, b)


def vvdot(a, b):
    """``np.vdot(a, b)`` of every example (both flattened; ``a`` conjugated)."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.vdot(a[0], b[0]), batch)
    fa, fb = np.reshape(a, (batch, -1)), np.reshape(b, (batch, -1))
    if np.iscomplexobj(fa):
        fa = np.conj(fa)
    if _vconst(a):
        return fb @ fa[0]
    if _vconst(b):
        return fa @ fb[0]
    return np.einsum("Zi,Zi->Z", fa, fb)


def vtensordot(a, b, axes=2):
    """``np.tensordot(a, b, axes)`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    ra, rb = a.ndim - 1, b.ndim - 1
    a_axes, b_axes = _tensordot_axes(ra, rb, axes)
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.tensordot(a[0], b[0], axes=(a_axes, b_axes)), batch)
    if _vconst(b):
        return np.tensordot(a, b[0], axes=([i + 1 for i in a_axes], b_axes))
    if _vconst(a):
        z = np.tensordot(a[0], b, axes=(a_axes, [j + 1 for j in b_axes]))
        return np.moveaxis(z, ra - len(a_axes), 0)
    a_term = list(_VLETTERS[:ra])
    b_term = list(_VLETTERS[ra:ra + rb])
    for i, j in zip(a_axes, b_axes, strict=True):
        b_term[j] = a_term[i]
    out = [c for i, c in enumerate(a_term) if i not in a_axes] + [c for j, c in enumerate(b_term) if j not in b_axes]
    return np.einsum(f"Z{''.join(a_term)},Z{''.join(b_term)}->Z{''.join(out)}", a, b)


def _vnone(x):
    """An operand slot the user left out (None, given a batch axis)."""
    return x is None or (isinstance(x, np.ndarray) and x.dtype == object and x.size > 0 and x.flat[0] is None)


def veinsum(subscripts, *operands, optimize=False):
    """``np.einsum(subscripts, *operands)`` of every example: each batched
    operand's term and the output get a batch letter; constant operands are
    used as they are."""
    operands = [np.asarray(o) for o in operands if not _vnone(o)]
    batch = operands[0].shape[0]
    const = [_vconst(o) for o in operands]
    if not isinstance(subscripts, str):
        return stack_examples([np.einsum(subscripts, *[o[row] for o in operands], optimize=optimize)
                               for row in range(batch)])
    if all(const):
        return _vbroadcast(np.einsum(subscripts, *[o[0] for o in operands], optimize=optimize), batch)
    terms, output, letter = einsum_explicit(subscripts, [o.shape[1:] for o in operands])
    spec = ",".join(t if c else letter + t for t, c in zip(terms, const, strict=True)) + "->" + letter + output
    return np.einsum(spec, *[o[0] if c else o for o, c in zip(operands, const, strict=True)], optimize=optimize)


def vkron(a, b):
    """``np.kron(a, b)`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.kron(a[0], b[0]), batch)
    ndim = max(a.ndim, b.ndim)
    a, b = _vlead(a, ndim), _vlead(b, ndim)
    sa, sb = a.shape[1:], b.shape[1:]
    z = (np.reshape(a, a.shape[:1] + tuple(n for s in sa for n in (s, 1)))
         * np.reshape(b, b.shape[:1] + tuple(n for s in sb for n in (1, s))))
    return np.reshape(z, z.shape[:1] + tuple(p * q for p, q in zip(sa, sb, strict=True)))


def vcross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``np.cross`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    if axis is not None:
        axisa = axisb = axisc = axis
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.cross(a[0], b[0], axisa=axisa, axisb=axisb, axisc=axisc), batch)
    a = np.moveaxis(a, _vlinalg_axis(axisa, a.ndim - 1), -1)
    b = np.moveaxis(b, _vlinalg_axis(axisb, b.ndim - 1), -1)
    ndim = max(a.ndim, b.ndim)
    a, b = _vlead(a, ndim), _vlead(b, ndim)
    return np.cross(a, b, axisc=_vlinalg_axis(axisc, ndim - 1))


def vdiag(v, k=0):
    """``np.diag(v, k)`` of every example."""
    v = np.asarray(v)
    if v.ndim == 3:
        return np.diagonal(v, offset=k, axis1=1, axis2=2)
    if v.ndim != 2:
        raise ValueError("Input must be 1- or 2-d.")
    size = v.shape[1] + abs(k)
    z = np.zeros((v.shape[0], size, size), dtype=v.dtype)
    positions = np.arange(v.shape[1])
    z[:, positions + max(-k, 0), positions + max(k, 0)] = v
    return z


def vdiagflat(v, k=0):
    """``np.diagflat(v, k)`` of every example."""
    v = np.asarray(v)
    return vdiag(np.reshape(v, (v.shape[0], -1)), k)


def vsolve(a, b):
    """``np.linalg.solve(a, b)`` of every example (NumPy 2: ``b`` 1-d is one
    vector, otherwise a stack of matrices). A constant 2-d ``a`` is factored
    once for the whole batch."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    ra, rb = a.ndim - 1, b.ndim - 1
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.linalg.solve(a[0], b[0]), batch)
    if _vconst(a) and ra == 2 and rb <= 2:
        if rb == 1:
            return np.linalg.solve(a[0], b.T).T
        n, k = b.shape[1:]
        z = np.linalg.solve(a[0], np.reshape(np.moveaxis(b, 0, 1), (n, batch * k)))
        return np.moveaxis(np.reshape(z, (n, batch, k)), 1, 0)
    if rb == 1:
        return np.linalg.solve(a, _vlead(b[..., None], a.ndim))[..., 0]
    ndim = max(a.ndim, b.ndim)
    return np.linalg.solve(_vlead(a, ndim), _vlead(b, ndim))


def vlstsq(a, b, rcond=None):
    """``np.linalg.lstsq(a, b, rcond)`` of every example: one call for a
    constant ``a`` (the examples' ``b`` as columns), else one per example
    (NumPy's lstsq takes no stacks)."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.linalg.lstsq(a[0], b[0], rcond=rcond), batch)
    if _vconst(a):
        if b.ndim == 2:
            x, residuals, rank, s = np.linalg.lstsq(a[0], b.T, rcond=rcond)
            x, per_row = x.T, 1
        else:
            m, k = b.shape[1:]
            x, residuals, rank, s = np.linalg.lstsq(a[0], np.reshape(np.moveaxis(b, 0, 1), (m, batch * k)),
                                                    rcond=rcond)
            x, per_row = np.moveaxis(np.reshape(x, (x.shape[0], batch, k)), 1, 0), k
        residuals = (np.reshape(residuals, (batch, per_row)) if residuals.size
                     else np.zeros((batch, 0), dtype=residuals.dtype))
        return x, residuals, _vbroadcast(rank, batch), _vbroadcast(s, batch)
    return stack_examples([np.linalg.lstsq(a[row], b[row], rcond=rcond) for row in range(batch)])


def vmulti_dot(arrays):
    """``np.linalg.multi_dot(arrays)`` of every example, left to right (a
    constant prefix is multiplied once)."""
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    z = arrays[0]
    for x in arrays[1:]:
        z = vmatmul(z, x)
    return z


def vcov(m, rowvar=True, bias=False, ddof=None):
    """``np.cov(m, ...)`` of every example (one array, no weights)."""
    m = np.asarray(m)
    batch = m.shape[0]
    if _vconst(m):
        return _vbroadcast(np.cov(m[0], rowvar=rowvar, bias=bias, ddof=ddof), batch)
    if m.ndim > 3:
        raise ValueError("m has more than 2 dimensions")
    x = np.array(m, dtype=np.result_type(m, np.float64))
    if x.ndim == 2:
        x = x[:, None, :]
    elif not rowvar and x.shape[1] != 1:
        x = np.swapaxes(x, 1, 2)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    fact = x.shape[2] - ddof
    if fact <= 0:
        import warnings

        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    x = x - x.mean(axis=2, keepdims=True)
    c = x @ np.swapaxes(x, 1, 2).conj()
    c *= np.true_divide(1, fact)
    return c[:, 0, 0] if c.shape[1] == 1 else c


def vcorrcoef(x, rowvar=True):
    """``np.corrcoef(x, rowvar=...)`` of every example."""
    x = np.asarray(x)
    if _vconst(x):
        return _vbroadcast(np.corrcoef(x[0], rowvar=rowvar), x.shape[0])
    c = vcov(x, rowvar=rowvar)
    if c.ndim == 1:
        return c / c
    stddev = np.sqrt(np.diagonal(c, axis1=1, axis2=2).real)
    c = c / stddev[:, :, None]
    c /= stddev[:, None, :]
    np.clip(c.real, -1, 1, out=c.real)
    if np.iscomplexobj(c):
        np.clip(c.imag, -1, 1, out=c.imag)
    return c


def _vcorrelate(a, w, mode, start_same):
    """``z[k] = sum_n a_padded[n + k] w[n]`` for the rows of ``a`` and ``w``
    (1-d examples), cut to ``mode`` as NumPy's convolve and correlate do."""
    batch = a.shape[0]
    a = a[:1] if _vconst(a) else a
    w = w[:1] if _vconst(w) else w
    size_a, size_w = a.shape[1], w.shape[1]
    if size_a == 0 or size_w == 0:
        raise ValueError("v cannot be empty" if size_w == 0 else "a cannot be empty")
    padded = np.zeros((a.shape[0], size_a + 2 * (size_w - 1)), dtype=np.result_type(a, w))
    padded[:, size_w - 1:size_w - 1 + size_a] = a
    windows = np.lib.stride_tricks.sliding_window_view(padded, size_w, axis=1)
    full = np.matmul(windows, w[:, :, None])[..., 0]
    short, long = min(size_a, size_w), max(size_a, size_w)
    if mode == "full":
        z = full
    elif mode == "valid":
        z = full[:, short - 1:long]
    elif mode == "same":
        z = full[:, start_same:start_same + long]
    else:
        raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})")
    return z if z.shape[0] == batch else np.broadcast_to(z, (batch,) + z.shape[1:])


def vconvolve(a, v, mode="full"):
    """``np.convolve(a, v, mode)`` of every example (1-d)."""
    a, v = np.asarray(a), np.asarray(v)
    short = min(a.shape[1], v.shape[1])
    return _vcorrelate(a, v[:, ::-1], mode, short - 1 - short // 2)


def vcorrelate(a, v, mode="valid"):
    """``np.correlate(a, v, mode)`` of every example (1-d)."""
    a, v = np.asarray(a), np.asarray(v)
    if np.iscomplexobj(v):
        v = np.conj(v)
    short = min(a.shape[1], v.shape[1])
    start = short // 2 if a.shape[1] < v.shape[1] else short - 1 - short // 2
    return _vcorrelate(a, v, mode, start)


# The backward helpers of the products, batched: ``g`` is ``(B, N) + z.shape``.
# Where the other operand is the same for every example the batch and row
# axes merge into one, and the helper runs once on ``(B * N) + z.shape``.

def _vrows(helper, g, shape, *args, **kwargs):
    """``helper`` on ``g`` with its batch and row axes merged; ``shape``: the
    result's shape for one row of one example."""
    batch, rows = g.shape[:2]
    merged = helper(g.reshape((batch * rows,) + g.shape[2:]), *args, **kwargs)
    return merged.reshape((batch, rows) + tuple(shape))


def _vconst_result(helper, g, *args, **kwargs):
    """The helper once, when ``g`` and the operands are the same for every example."""
    return _vbroadcast(helper(g[0], *[a[0] for a in args], **kwargs), g.shape[0])


def vmatmul_adjoint_left(g, x, y):
    """``matmul_adjoint_left`` of every example."""
    g, x, y = np.asarray(g), np.asarray(x), np.asarray(y)
    if _vconst(g) and _vconst(y):
        return _vconst_result(matmul_adjoint_left, g, x, y)
    x_shape = x.shape[1:]
    if _vconst(y):
        return _vrows(matmul_adjoint_left, g, x_shape, x[0], y[0])
    x_nd, y_nd = len(x_shape), y.ndim - 1
    y = y[:, None]
    if y_nd == 1:
        y, g = y[..., None], g[..., None]
    if x_nd == 1:
        g = np.expand_dims(g, -2)
    ndim = max(g.ndim, y.ndim)
    x_bar = np.matmul(_vlead(g, ndim, 2), np.swapaxes(_vlead(y, ndim, 2), -1, -2))
    if x_nd == 1:
        x_bar = x_bar[..., 0, :]
    return _vunbroadcast(x_bar, x_shape, 2)


def vmatmul_adjoint_right(g, x, y):
    """``matmul_adjoint_right`` of every example."""
    g, x, y = np.asarray(g), np.asarray(x), np.asarray(y)
    if x.ndim == 3 and y.ndim == 2 and x.strides[0] == 0 and x.shape[0] > 0 and g.strides[0] != 0:
        # the common case: a constant matrix times vectors; rows of g times the matrix, one GEMM
        return (g.reshape(-1, g.shape[2]) @ x[0]).reshape(g.shape[:2] + y.shape[1:])
    if _vconst(g) and _vconst(x):
        return _vconst_result(matmul_adjoint_right, g, x, y)
    y_shape = y.shape[1:]
    if _vconst(x):
        return _vrows(matmul_adjoint_right, g, y_shape, x[0], y[0])
    x_nd, y_nd = x.ndim - 1, len(y_shape)
    x = x[:, None]
    if y_nd == 1:
        g = g[..., None]
    if x_nd == 1:
        x = x[..., None, :]
        g = np.expand_dims(g, -2)
    ndim = max(g.ndim, x.ndim)
    y_bar = np.matmul(np.swapaxes(_vlead(x, ndim, 2), -1, -2), _vlead(g, ndim, 2))
    if y_nd == 1:
        y_bar = y_bar[..., 0]
    return _vunbroadcast(y_bar, y_shape, 2)


def _vtensordot_adjoint(g, own, other, own_axes, other_axes, own_first):
    """The adjoint of ``own`` in a tensordot with ``other`` (both batched),
    ``g``: ``(B, N)`` then the result's axes (``own``'s free axes first
    when ``own_first``)."""
    r_own, r_other = own.ndim - 1, other.ndim - 1
    own_term = list(_VLETTERS[:r_own])
    other_term = list(_VLETTERS[r_own:r_own + r_other])
    for i, j in zip(own_axes, other_axes, strict=True):
        other_term[j] = own_term[i]
    own_free = [c for i, c in enumerate(own_term) if i not in own_axes]
    other_free = [c for j, c in enumerate(other_term) if j not in other_axes]
    g_term = own_free + other_free if own_first else other_free + own_free
    return np.einsum(f"Zz{''.join(g_term)},Z{''.join(other_term)}->Zz{''.join(own_term)}", g, other)


def vtensordot_adjoint_left(g, a, b, axes=2):
    """``tensordot_adjoint_left`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(b):
        return _vconst_result(tensordot_adjoint_left, g, a, b, axes=axes)
    if _vconst(b):
        return _vrows(tensordot_adjoint_left, g, a.shape[1:], a[0], b[0], axes=axes)
    a_axes, b_axes = _tensordot_axes(a.ndim - 1, b.ndim - 1, axes)
    return _vtensordot_adjoint(g, a, b, a_axes, b_axes, True)


def vtensordot_adjoint_right(g, a, b, axes=2):
    """``tensordot_adjoint_right`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(a):
        return _vconst_result(tensordot_adjoint_right, g, a, b, axes=axes)
    if _vconst(a):
        return _vrows(tensordot_adjoint_right, g, b.shape[1:], a[0], b[0], axes=axes)
    a_axes, b_axes = _tensordot_axes(a.ndim - 1, b.ndim - 1, axes)
    return _vtensordot_adjoint(g, b, a, b_axes, a_axes, False)


def _vdot_axes(a_nd, b_nd):
    """``np.dot`` of arrays of ranks >= 1 as a tensordot: its axes."""
    return [a_nd - 1], [max(b_nd - 2, 0)]


def vdot_adjoint_left(g, a, b):
    """``dot_adjoint_left`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(b):
        return _vconst_result(dot_adjoint_left, g, a, b)
    if _vconst(b):
        return _vrows(dot_adjoint_left, g, a.shape[1:], a[0], b[0])
    a_nd, b_nd = a.ndim - 1, b.ndim - 1
    if a_nd == 0 or b_nd == 0:  # a product: g times b, summed to a's shape
        b = b[:, None]
        product = _vlead(g, max(g.ndim, b.ndim), 2) * _vlead(b, max(g.ndim, b.ndim), 2)
        return _vunbroadcast(product, a.shape[1:], 2)
    return _vtensordot_adjoint(g, a, b, *_vdot_axes(a_nd, b_nd), True)


def vdot_adjoint_right(g, a, b):
    """``dot_adjoint_right`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(a):
        return _vconst_result(dot_adjoint_right, g, a, b)
    if _vconst(a):
        return _vrows(dot_adjoint_right, g, b.shape[1:], a[0], b[0])
    a_nd, b_nd = a.ndim - 1, b.ndim - 1
    if a_nd == 0 or b_nd == 0:
        a = a[:, None]
        product = _vlead(g, max(g.ndim, a.ndim), 2) * _vlead(a, max(g.ndim, a.ndim), 2)
        return _vunbroadcast(product, b.shape[1:], 2)
    a_axes, b_axes = _vdot_axes(a_nd, b_nd)
    return _vtensordot_adjoint(g, b, a, b_axes, a_axes, False)


def vouter_adjoint_left(g, a, b):
    """``outer_adjoint_left`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(b):
        return _vconst_result(outer_adjoint_left, g, a, b)
    if _vconst(b):
        return _vrows(outer_adjoint_left, g, a.shape[1:], a[0], b[0])
    batch, rows = g.shape[:2]
    flat = np.reshape(g, (batch, rows, a[0].size, b[0].size))
    return np.reshape(flat @ np.reshape(b, (batch, 1, -1, 1)), g.shape[:2] + a.shape[1:])


def vouter_adjoint_right(g, a, b):
    """``outer_adjoint_right`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(a):
        return _vconst_result(outer_adjoint_right, g, a, b)
    if _vconst(a):
        return _vrows(outer_adjoint_right, g, b.shape[1:], a[0], b[0])
    batch, rows = g.shape[:2]
    flat = np.reshape(g, (batch, rows, a[0].size, b[0].size))
    return np.reshape(np.reshape(a, (batch, 1, 1, -1)) @ flat, g.shape[:2] + b.shape[1:])


def vinv_adjoint(g, z):
    """``inv_adjoint`` of every example: ``-z^T g z^T`` per row of ``g``."""
    g, z = np.asarray(g), np.asarray(z)
    if _vconst(g) and _vconst(z):
        return _vconst_result(inv_adjoint, g, z)
    if _vconst(z):
        return _vrows(inv_adjoint, g, g.shape[2:], z[0])
    z_t = np.swapaxes(z, -1, -2)[:, None]
    return -(z_t @ g @ z_t)


def vsolve_transposed(a, g, b):
    """``solve_transposed`` of every example (``b`` is read for its rank)."""
    a, g, b = np.asarray(a), np.asarray(g), np.asarray(b)
    if _vconst(g) and _vconst(a):
        return _vbroadcast(solve_transposed(a[0], g[0], b[0]), g.shape[0])
    if _vconst(a):
        batch, rows = g.shape[:2]
        merged = solve_transposed(a[0], np.reshape(g, (batch * rows,) + g.shape[2:]), b[0])
        return np.reshape(merged, g.shape)
    inverse_t = np.swapaxes(np.linalg.inv(a), -1, -2)[:, None]
    if b.ndim == 2:
        return (inverse_t @ g[..., None])[..., 0]
    return inverse_t @ g


def vsolve_adjoint_matrix(b_bar, z, a, b):
    """``solve_adjoint_matrix`` of every example: ``-b_bar z^T`` per row of
    ``b_bar``, summed to ``a``'s shape."""
    b_bar, z, a, b = np.asarray(b_bar), np.asarray(z), np.asarray(a), np.asarray(b)
    z = z[:, None]
    if b.ndim == 2:  # one vector per example
        part = -b_bar[..., :, None] * z[..., None, :]
    else:
        part = -(b_bar @ np.swapaxes(z, -1, -2))
    return _vunbroadcast(part, a.shape[1:], 2)


def vdet_adjoint(g, z, a):
    """``det_adjoint`` of every example: ``g z inv(a)^T`` per row of ``g``."""
    g, z, a = np.asarray(g), np.asarray(z), np.asarray(a)
    if _vconst(g) and _vconst(z) and _vconst(a):
        return _vconst_result(det_adjoint, g, z, a)
    inverse_t = np.swapaxes(np.linalg.inv(a[:1] if _vconst(a) else a), -1, -2)[:, None]
    return (g * z[:, None])[..., None, None] * inverse_t


# Tangent helpers of forward code (vmap of jvp / jacfwd): ``t`` is ``(B, T) + x.shape``.

def _vmatmul_lead2(a, b, ra, rb):
    """``a @ b`` where both carry two leading axes (batch, tangent rows; either may be 1)."""
    if ra == 1:
        a = np.expand_dims(a, -2)
    if rb == 1:
        b = b[..., None]
    ndim = max(a.ndim, b.ndim)
    z = np.matmul(_vlead(a, ndim, 2), _vlead(b, ndim, 2))
    if rb == 1:
        z = z[..., 0]
    if ra == 1:
        z = z[..., 0] if rb == 1 else z[..., 0, :]
    return z


def _vrows_merged(helper, g, *args, **kwargs):
    """``helper`` on ``g`` with its batch and row axes merged into one."""
    batch, rows = g.shape[:2]
    merged = helper(g.reshape((batch * rows,) + g.shape[2:]), *args, **kwargs)
    return merged.reshape((batch, rows) + merged.shape[1:])


def vmatmul_tangent_left(t, x1, x2):
    """``matmul_tangent_left`` of every example: ``t @ x2`` per tangent row."""
    t, x1, x2 = np.asarray(t), np.asarray(x1), np.asarray(x2)
    if _vconst(t) and _vconst(x2):
        return _vconst_result(matmul_tangent_left, t, x1, x2)
    if _vconst(x2):
        return _vrows_merged(matmul_tangent_left, t, x1[0], x2[0])
    return _vmatmul_lead2(t, x2[:, None], x1.ndim - 1, x2.ndim - 1)


def vmatmul_tangent_right(t, x1, x2):
    """``matmul_tangent_right`` of every example: ``x1 @ t`` per tangent row."""
    t, x1, x2 = np.asarray(t), np.asarray(x1), np.asarray(x2)
    if _vconst(t) and _vconst(x1):
        return _vconst_result(matmul_tangent_right, t, x1, x2)
    if _vconst(x1):
        return _vrows_merged(matmul_tangent_right, t, x1[0], x2[0])
    return _vmatmul_lead2(x1[:, None], t, x1.ndim - 1, x2.ndim - 1)


def as_tangent_tangent(tt, t, like):
    """Tangent of ``as_tangent(t, like)``: an array's tangent as it is; a
    list's items' tangents stacked after both leading axes."""
    if isinstance(t, np.ndarray):
        return tt
    outer = batch_size(tt)
    items = [as_tangent_tangent(item_tt, item_t, item_like) if item_tt is not None
             else np.zeros((outer or 1, batch_size(t) or 1) + np.shape(item_like))
             for item_tt, item_t, item_like in zip(tt, t, like, strict=True)]
    return np.stack(items, axis=2)


def as_tangent_adjoint(g, t):
    """Adjoint of ``as_tangent`` with respect to ``t``."""
    if isinstance(t, np.ndarray):
        return g
    return rebuild_like(t, [g[:, :, i] for i in range(len(t))])
