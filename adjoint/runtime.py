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
    n = factors.shape[-1]
    suffix = np.empty(np.broadcast_shapes(g.shape, factors.shape), dtype=np.result_type(g, factors))
    if n:
        suffix[..., n - 1] = g[..., n - 1]
    for k in range(n - 2, -1, -1):
        suffix[..., k] = g[..., k] + factors[..., k + 1] * suffix[..., k + 1]
    ones = np.ones(factors.shape[:-1] + (1,), dtype=factors.dtype)
    before = np.cumprod(np.concatenate([ones, factors[..., :-1]], axis=-1), axis=-1)
    a_bar = np.moveaxis(before * suffix, -1, axis + 1)
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
    """A zero adjoint for ``like`` (a leaf or a container of leaves)."""
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

def method_forward(name, positions, receiver, *args, **kwargs):
    """Forward pass of ``receiver.name(*args)`` when the object is known only
    at run time: its method is transformed (and cached) for the argument
    ``positions`` that carry derivatives (0 is the object itself)."""
    from .cache import get_vjp  # the transformer, needed only for this dynamic case

    method = getattr(receiver, name)
    function = getattr(method, "__func__", None)
    if function is None or getattr(method, "__self__", None) is not receiver:
        # Not a method bound to this object: a static method, or a function
        # or callable stored on it. It does not take the object.
        from .api import compiled_call

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
    from .api import compiled_call  # the transformer, needed only for this dynamic case

    compiled = compiled_call(function, len(args), positions, for_caller=True, keywords=tuple(kwargs))
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
