"""Tangent helpers of the functions that move elements (forward mode).
"""
import numpy as np

from .shape import _COPYING_PAD_MODES, _index_trick_places, _trick_item
from .indexing import _integer_index, batch_size, getitem_adjoint
from .structure import cast_adjoint
from .tangents import as_tangent, batch_axis, lift


# ---- tangent helpers: shapes
# Tangents of the functions that move elements (rules/shape.py). Most rules
# apply the function itself to the batched tangent, with axes shifted by
# ``batch_axis`` / ``batch_axes`` / ``batch_permutation``; the helpers below
# do what needs more (axis=None flattening, joins of sequence arguments).
# A list or tuple argument has a list of item tangents, None for constant
# items: ``as_tangent`` makes it one batched array, ``tangent_items`` one
# batched array per item.

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
    joined the flattened arrays). A list argument's tangent (a list of its
    items' tangents) is stacked first."""
    if type(t) is not np.ndarray:
        t = as_tangent(t, values if wrt_values else arr)
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
    floating or complex type (its real part to a real type: the cast drops
    an imaginary part); zeros through a cast to integers or booleans (as
    ``cast_adjoint``)."""
    if dtype is not None and np.iscomplexobj(t) and np.issubdtype(np.dtype(dtype), np.floating):
        return np.real(t)
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


# ----------------------------------------------------------- index tricks: np.r_[...], np.c_[...]

def index_trick_tangent(t, trick, items, z):
    """The tangent of ``z = trick[items]``: each data item's tangent placed
    where its elements landed."""
    places = _index_trick_places(trick, items)
    tangents = t if isinstance(t, (list, tuple)) else [t[:, i] for i in range(t.shape[1])]
    batch = batch_size(t)
    out = np.zeros((batch, places.size), dtype=np.result_type(np.asarray(z).dtype, np.float64))
    count = 0
    for position in range(len(items)):  # by index: jacfwd of a jacfwd differentiates this code
        item, item_t = items[position], tangents[position]
        if not _trick_item(item):
            continue
        size = int(np.size(item))
        if item_t is not None:
            where = np.nonzero((places >= count) & (places < count + size))[0]
            rows = np.reshape(as_tangent(item_t, item, batch), (batch, size))
            out[:, where] = rows[:, places[where] - count]
        count += size
    return np.reshape(out, (batch,) + np.shape(z))
