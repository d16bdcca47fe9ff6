"""Adjoint helpers of the functions that move elements: reshapes,
transposes, concatenation, stacking, splitting, padding, flips, rolls.
"""
import math

import numpy as np

from .broadcasting import _shape, is_real_value, unbroadcast
from .reductions import diff_adjoint
from .linalg import _result_bars
from .indexing import _integer_index, batch_size, rebuild_like
from .structure import cast_adjoint


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


def _real_parts(pieces, items, g):
    """The cotangents ``pieces`` of joined ``items``, each as its item's: the
    real part of a piece whose item is real, when ``g`` is complex (a real
    array joined with complex ones: a real value's cotangent is the real
    part of what flows back to it, docs/complex.md). Linear in ``pieces``."""
    if not np.iscomplexobj(g):
        return pieces
    return [np.real(p) if isinstance(p, np.ndarray) and p.dtype.kind == "c" and is_real_value(item) else p
            for p, item in zip(pieces, items, strict=True)]  # (a nested list's pieces: done item by item)


def array_adjoint(g, a, dtype=None):
    """Adjoint of ``np.array(a, dtype)``: ``a`` an array, or a list of arrays;
    nothing flows through a cast to integers or booleans (or, of a complex
    cotangent, the imaginary part through a cast to a real dtype)."""
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.inexact):
        g = np.zeros_like(g)
    elif dtype is not None and np.iscomplexobj(g) and not np.issubdtype(np.dtype(dtype), np.complexfloating):
        g = np.real(g)
    if type(a) is list and all(type(item) is float or type(item) is np.float64 for item in a):
        return [np.real(g[:, i]) for i in range(len(a))]  # a list of scalars, the common case
    if isinstance(a, (list, tuple)):
        return rebuild_like(a, _real_parts([g[:, i] if isinstance(item, (float, complex, np.generic))
                                            else array_adjoint(g[:, i], item)
                                            for i, item in enumerate(a)], list(a), g))
    return _real_parts([np.reshape(g, g.shape[:1] + np.shape(a))], [a], g)[0]


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
        return _real_parts([np.reshape(p, g.shape[:1] + np.shape(a)) for p, a in zip(pieces, arrays, strict=True)],
                           arrays, g)
    ndim = np.ndim(arrays[0])
    sizes = [np.shape(a)[axis % ndim] for a in arrays]
    return _real_parts(np.split(g, np.cumsum(sizes)[:-1], axis=axis % ndim + 1), arrays, g)


def stack_adjoint(g, arrays, axis=0):
    """Unstack the cotangent of ``np.stack(arrays, axis)`` per input."""
    axis = axis % (np.ndim(arrays[0]) + 1)
    return _real_parts([np.take(g, i, axis=axis + 1) for i in range(len(arrays))], arrays, g)


def hstack_adjoint(g, tup):
    """Split the cotangent of ``np.hstack(tup)`` per input: 0-d and 1-d
    inputs were joined end to end, others along their second axis."""
    shapes = [np.shape(a) for a in tup]
    if len(shapes[0]) <= 1:
        sizes, axis = [shape[0] if shape else 1 for shape in shapes], 1
    else:
        sizes, axis = [shape[1] for shape in shapes], 2
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    return _real_parts([np.reshape(p, g.shape[:1] + s) for p, s in zip(pieces, shapes, strict=True)], tup, g)


def vstack_adjoint(g, tup):
    """Split the cotangent of ``np.vstack(tup)`` per input: each input was
    made at least 2-d (a 1-d one is a row) and joined along the first axis."""
    shapes = [np.shape(a) for a in tup]
    sizes = [shape[0] if len(shape) >= 2 else 1 for shape in shapes]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=1)
    return _real_parts([np.reshape(p, g.shape[:1] + s) for p, s in zip(pieces, shapes, strict=True)], tup, g)


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
    return _real_parts([np.reshape(p, g.shape[:1] + np.shape(x)) for p, x in zip(pieces, arrays, strict=True)],
                       arrays, g)


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
        return _real_parts([np.reshape(pieces[1], g.shape[:1] + np.shape(values))], [values], g)[0]
    return _real_parts([np.reshape(pieces[0], g.shape[:1] + np.shape(arr))], [arr], g)[0]


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

def hsplit_axis(ary):
    """The axis np.hsplit cuts along: 1, or 0 for a 1-d array."""
    return 1 if len(_shape(ary)) > 1 else 0


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
    if np.ndim(g) < 3:
        # NumPy 1 returns a NumPy scalar for np.diagflat of a NumPy scalar: the output is v itself
        return np.reshape(g, g.shape[:1] + _shape(v))
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


# ----------------------------------------------------------- index tricks: np.r_[...], np.c_[...]
# trick[items] joins its array and scalar items (slices become ranges,
# strings are directives): linear in each of them, so an item's derivative
# is the part of the result its elements land in, found by numbering them.

def _trick_item(item):
    """Whether an item of ``np.r_[...]`` is data (not a slice or a directive)."""
    return not isinstance(item, (slice, str))


def diagonal_index(shape):
    """The positions ``np.fill_diagonal`` writes (``wrap=False``) in an
    array of ``shape``: ``a[i, i, ...]`` for ``i`` below the smallest
    dimension of a matrix, below the common one of a cube and up."""
    if len(shape) < 2 or (len(shape) > 2 and len(set(shape)) != 1):
        raise ValueError("np.fill_diagonal: the array must be at least 2-d, and of equal dimensions "
                         f"beyond 2-d (got shape {tuple(shape)}).")
    positions = np.arange(min(shape))
    return (positions,) * len(shape)


def index_trick(trick, items):
    """``trick[items]`` (``np.r_[a, b, 1:10]`` is ``index_trick(np.r_, (a, b, np.s_[1:10]))``)."""
    return trick[tuple(items)]


def _index_trick_places(trick, items):
    """For each position of ``trick[items]`` (flattened): the number of the
    item element that lands there, counted over the data items in order, or
    -1 for a number a slice made. Two joins, numbered ``k`` and ``k + 0.5``,
    tell the items' numbers from the slices' (which do not move)."""
    numbered, halves = [], []
    count = 0
    for item in items:
        if _trick_item(item):
            size = int(np.size(item))
            ids = np.arange(count, count + size, dtype=np.float64).reshape(np.shape(item))
            numbered.append(ids)
            halves.append(ids + 0.5)
            count += size
        else:
            numbered.append(item)
            halves.append(item)
    first = np.ravel(np.asarray(trick[tuple(numbered)], dtype=np.float64))
    second = np.ravel(np.asarray(trick[tuple(halves)], dtype=np.float64))
    return np.where(second != first, first, -1.0).astype(np.intp)


def index_trick_adjoint(g, trick, items):
    """Adjoints of the items of ``trick[items]``: each data item gets the
    cotangent at the positions its elements landed in (None for slices and
    directives)."""
    places = _index_trick_places(trick, items)
    flat = np.reshape(g, (g.shape[0], -1))
    adjoints = []
    count = 0
    for item in items:
        if not _trick_item(item):
            adjoints.append(None)
            continue
        size = int(np.size(item))
        where = np.nonzero((places >= count) & (places < count + size))[0]
        part = np.zeros((g.shape[0], size), dtype=g.dtype)
        np.add.at(part, (slice(None), places[where] - count), flat[:, where])
        adjoints.append(np.reshape(part, g.shape[:1] + np.shape(item)))
        count += size
    return adjoints


def partition_order(a, z, axis=-1):
    """Indices taking ``z = np.partition(a, kth, axis)`` from ``a`` along
    ``axis`` (``np.take_along_axis(a, indices, axis) == z``): each position
    of ``z`` gets the element of ``a`` of equal rank, tied elements in order
    (as stable sorts give them)."""
    a, z = np.asarray(a), np.asarray(z)
    if axis is None:  # NumPy partitions the flattened array
        a, z, axis = a.ravel(), z.ravel(), 0
    order_a = np.argsort(a, axis=axis, kind="stable")
    order_z = np.argsort(z, axis=axis, kind="stable")
    indices = np.empty_like(order_a)
    np.put_along_axis(indices, order_z, order_a, axis=axis)
    return indices
