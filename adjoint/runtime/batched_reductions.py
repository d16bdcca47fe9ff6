"""Batched (vmap) helpers of reductions and of their backward helpers.
"""
import math

import numpy as np

from .broadcasting import Shape, is_real_value, normalize_axes, prod_others, reduced_count, unbroadcast, unreduce
from .reductions import (
    _cumprod_pullback, matrix_axes, matrix_norm_slope, reverse_cumsum, std_divisor, var_scale,
)
from .indexing import batch_size, batched_getitem, rebuild_like
from .tangents import merged, tangent_of_item
from .tangent_shape import batched_getitem_adjoint
from .second_order_math import item_tangent_adjoint
from .batched import example, stack_examples, vmap_loop
from .masked_bars import masked_array


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
        return Shape(b.shape[1:], b.dtype)
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
    if kwargs.get("in_place") and (not g.flags.writeable or _same_for_every_example(g)):
        # (a helper told it may update g, which here is a broadcast every example reads: not in place)
        kwargs = dict(kwargs, in_place=False)
    if _same_for_every_example(g):
        result = helper(g[0], *args, **kwargs)
        return np.broadcast_to(result, g.shape[:1] + result.shape)
    outer, inner = g.shape[0], g.shape[1]
    result = helper(g.reshape((outer * inner,) + g.shape[2:]), *args, **kwargs)
    return result.reshape((outer, inner) + result.shape[1:])


def vunbroadcast(g, x):
    """``unbroadcast`` on a batch: ``g`` is ``(B, G) + shape``, ``x`` batched (read for its shape)."""
    shape = example_shape(x)
    if isinstance(g, np.ndarray) and g.shape[2:] == shape.shape and (g.dtype.kind != "c" or not is_real_value(x)):
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
    with np.errstate(invalid="ignore"):
        return vunreduce(g, a, axis, keepdims) * (deviations * var_scale(count, ddof))[:, None]


def vstd_adjoint(g, a, z, axis=None, ddof=0, keepdims=False):
    """``std_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` and ``z`` batched."""
    return vvar_adjoint(g / (2.0 * std_divisor(z))[:, None], a, axis, ddof, keepdims)


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
    if len(args) == 2:  # the common case, a binary operator: no generator
        first, second = args
        first = first.ndim if type(first) is np.ndarray else np.ndim(first)
        second = second.ndim if type(second) is np.ndarray else np.ndim(second)
        return max(first - 1 if batched[0] else first, second - 1 if batched[1] else second)
    return max(np.ndim(a) - 1 if b else np.ndim(a) for a, b in zip(args, batched, strict=True))


def vlift(value, rank):
    """A batched operand ``(B,) + shape`` with singleton axes after the batch
    axis, up to ``rank`` axes per example (as NumPy broadcasts the example).
    None (an optional operand left out) stays None."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):  # a list of batched items NumPy reads as one array
        value = vasarray(value)
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


def to_batched_tangent(t, batch, axis=1):
    """Tangent of ``to_batched(value, batch)`` from the tangent ``t`` of
    ``value`` (``(T,) + value.shape``): the same for every example, so
    ``(T, batch) + value.shape`` (``axis``: where the batch axis goes, 2 for
    the tangent of this tangent). None (no tangent) stays None."""
    if t is None:
        return None
    if isinstance(t, dict):
        return {k: to_batched_tangent(v, batch, axis) for k, v in t.items()}
    if isinstance(t, (tuple, list)):
        return rebuild_like(t, [to_batched_tangent(v, batch, axis) for v in t])
    t = np.asarray(t)
    expanded = np.expand_dims(t, axis)
    return np.broadcast_to(expanded, t.shape[:axis] + (batch,) + t.shape[axis:])


def vmap_getitem_adjoint(g, value, index):
    """Adjoint of ``vmap_getitem`` (an array, or a container's item)."""
    if isinstance(value, np.ndarray):
        return batched_getitem_adjoint(g, value, index)
    return item_tangent_adjoint(g, value, index)


def vmap_getitem_tangent(t, index, item=None, batch=None):
    """Tangent of ``item = vmap_getitem(value, index)`` from the tangent
    ``t`` of ``value``: a constant item of a list of batched values (no
    tangent) gets zeros, ``batch`` tangents of ``item``'s shape."""
    if isinstance(t, np.ndarray):
        return merged(batched_getitem, t, index)
    if item is None:
        return t[index]
    return tangent_of_item(None if t is None else t[index], batch, item)


def size_along(value, axis):
    """The size of ``value`` along ``axis`` (a vmap's batch size)."""
    return np.shape(value)[axis]


def vreshape_adjoint(g, x):
    """``reshape_adjoint`` on a batched cotangent ``(B, G) + shape``: to ``(B, G) + x``'s example shape."""
    return np.reshape(g, g.shape[:2] + example_shape(x).shape)


def _vreduced_axes(axis, batched_ndim):
    """The reduced axes of one example of a batched array with ``batched_ndim``
    axes, as axes of that array (a tuple). (Given the rank, not the array: a
    transform of the callers then sees no derivative through the axes.)"""
    return tuple(a + 1 for a in normalize_axes(axis, batched_ndim - 1))


def vptp_adjoint(g, a, axis=None, keepdims=False):
    """``ptp_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` batched."""
    a = vasarray(a)
    axes = _vreduced_axes(axis, a.ndim)
    high = np.max(a, axis=axes, keepdims=keepdims)
    low = np.min(a, axis=axes, keepdims=keepdims)
    return vextremum_adjoint(g, a, high, axis, keepdims) - vextremum_adjoint(g, a, low, axis, keepdims)


def vnan_reduced(g, a, axis=None, keepdims=False):
    """``nan_reduced`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` batched."""
    a = vasarray(a)
    return _vnan_absent(np.where(np.isnan(a)[:, None], 0.0, vunreduce(g, a, axis, keepdims)), a)


def _vnan_absent(bar, a):
    """``rt.reductions._nan_absent`` on a batch: ``bar`` is ``(B, G) +
    a.shape[1:]``, ``a`` batched."""
    nans = np.isnan(a)
    if not nans.any() or np.ndim(bar) != nans.ndim + 1:
        return bar
    return masked_array(bar, np.broadcast_to(nans[:, None], np.shape(bar)))


def vnanmean_adjoint(g, a, axis=None, keepdims=False):
    """``nanmean_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` batched."""
    a = vasarray(a)
    counts = np.sum(~np.isnan(a), axis=_vreduced_axes(axis, a.ndim), keepdims=True)
    return vnan_reduced(g, a, axis, keepdims) / np.maximum(counts, 1)[:, None]


def vnan_extremum_adjoint(g, a, z, axis=None, keepdims=False):
    """``nan_extremum_adjoint`` on a batch: ``g`` is ``(B, G) + z.shape``, ``a`` and ``z`` batched."""
    a = vasarray(a)
    axes = normalize_axes(axis, a.ndim - 1)
    kept_shape = tuple(1 if d in axes else n for d, n in enumerate(a.shape[1:]))
    hits = a == np.reshape(z, a.shape[:1] + kept_shape)
    counts = np.sum(hits, axis=tuple(d + 1 for d in axes), keepdims=True)
    shares = (np.reshape(g, g.shape[:2] + kept_shape) / np.maximum(counts, 1)[:, None]) * hits[:, None]
    return _vnan_absent(shares, a)


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
        # (the matrices of every example as one stack: the vmap axis is one more stack axis)
        slopes = matrix_norm_slope(x, ord, tuple(a + 1 for a in matrix_axes(axis, ndim)))
        return vunreduce(g, x, axes, keepdims) * slopes[:, None]
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


def vasarray_tangent(t, b=None, batch=None):
    """Tangent of ``vasarray(b)``: a list's items' tangents stacked after both
    leading axes (zeros, ``batch`` tangents, for a constant item of ``b``)."""
    if isinstance(t, np.ndarray):
        return t
    if t is None:  # (a constant item that is itself a list: the shape of its stacked array)
        return np.zeros((batch,) + np.shape(vasarray(b)))
    if b is None:
        return np.stack([vasarray_tangent(item) for item in t], axis=2)
    return np.stack([vasarray_tangent(item, like, batch) for item, like in zip(t, b, strict=True)], axis=2)


def vasarray_adjoint(g, b):
    """Adjoint of ``vasarray``: the array's adjoint, or one per item of a list."""
    if isinstance(b, np.ndarray):
        return g
    return rebuild_like(b, [vasarray_adjoint(g[:, :, i], item) for i, item in enumerate(b)])
