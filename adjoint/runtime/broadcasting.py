"""Broadcasting with a batch axis: ``unbroadcast``, ``unreduce`` and the
shape helpers every adjoint rule uses.
"""
import math

import numpy as np


# ----------------------------------------------------------- broadcasting

class Shape:
    """What a residual keeps of an array whose values the backward pass does
    not read: its shape (and its dtype, where known) alone, so the array
    itself can be freed."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype=None):
        self.shape = shape
        self.dtype = dtype

    def __repr__(self):
        return f"Shape{self.shape}"


def shape_of(value):
    """The residual for a value read only for its shape (a container is
    kept whole: its structure is what the backward pass reads)."""
    if isinstance(value, (list, tuple, dict)):
        return value
    try:  # arrays and NumPy scalars; this runs once per loop iteration
        return Shape(value.shape, value.dtype)
    except AttributeError:
        pass
    try:
        return Shape(np.shape(value), np.result_type(value))
    except TypeError:  # an object of the user's class (read by rt.real_for): kept whole
        return value


def is_real_value(x):
    """Whether ``x`` (an array, a number, or a ``Shape`` that knows its
    dtype) is known to be real: its cotangent is then real too. A ``Shape``
    without a dtype is not known to be real."""
    if isinstance(x, Shape):
        return x.dtype is not None and np.dtype(x.dtype).kind != "c"
    if isinstance(x, np.ndarray) and x.dtype == object:  # (a Shape residual broadcast to vmap's batch)
        return x.size > 0 and all(is_real_value(item) for item in x.flat[:1])
    return not np.iscomplexobj(x)


def _shape(x):
    """The shape of an array, NumPy scalar, ``Shape``, Python number or list."""
    try:
        return x.shape
    except AttributeError:
        return np.shape(x)


def unbroadcast(g, x):
    """Sum the batched cotangent ``g`` down to the shape of ``x`` (plus batch);
    a complex ``g`` meant for a real ``x`` gives its real part (a real
    value's cotangent: docs/complex.md)."""
    try:  # inlined _shape: most calls return g unchanged, and they are many
        shape = x.shape
    except AttributeError:
        shape = np.shape(x)
    try:
        if g.dtype.kind == "c" and is_real_value(x):
            g = g.real
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
        if len(axes) == 1 and type(g) is np.ndarray and _einsum_sums_faster(g, axes[0]):
            axis = axes[0]
            letters = "abcdefghijklmnopqrstuvwxyz"[:g.ndim]  # (a literal: exported modules copy functions)
            summed = np.einsum(f"{letters}->{letters[:axis]}{letters[axis + 1:]}", g)
            return summed.reshape(g.shape[:axis] + (1,) + g.shape[axis + 1:])
        g = g.sum(axis=axes, keepdims=True)
    return g


def _einsum_sums_faster(g, axis):
    """Whether ``np.einsum`` sums the float array ``g`` over ``axis`` faster
    than ``g.sum``: an axis followed by a few elements (the pairs of points
    ``X[:, None, :] - X[None, :, :]`` summed over one point, ``(1, 50, 50, 3)``
    over its third axis: 10 us against 39 us), where NumPy's reduction loops
    over the few trailing elements innermost."""
    if g.ndim > 26 or axis == g.ndim - 1 or g.dtype.kind not in "fc":
        return False
    trailing = 1
    for n in g.shape[axis + 1:]:
        trailing *= n
    return trailing <= 8 and g.shape[axis] >= 8


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
        g = g.reshape(g.shape[:1] + (1,) * len(shape)) if type(g) is np.ndarray else np.reshape(
            g, np.shape(g)[:1] + (1,) * len(shape))
    elif not keepdims:
        axes = normalize_axes(axis, len(shape))
        g = np.reshape(g, g.shape[:1] + tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return _broadcast(g, g.shape[:1] + shape)


def _broadcast(g, shape):
    """``g`` broadcast to ``shape``: a read-only view when large, a small
    copy otherwise (np.broadcast_to costs more than copying a few thousand
    numbers)."""
    if math.prod(shape) > 4096 or getattr(g, "absent", None) is not None:
        # (a cotangent whose zeros are marked, runtime/masked_bars.py: np.broadcast_to spreads the marks)
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
