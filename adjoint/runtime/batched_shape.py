"""vmap of the functions that move elements (reshape, transpose, joins,
splits, flips, rolls, sorts, pads, ...): each runs once on the whole batch.

A batched value ``b`` holds every example along axis 0, so an example has
``b.ndim - 1`` axes and its axis ``k`` is the batched axis ``k + 1``
(negative axes count from the end and stay as they are). Where a function
reads "the flattened array" (``axis=None``), the batch axis stays in front
and only each example is flattened. A batched list or tuple (``np.stack``'s
argument) holds batched items; a batched array given where NumPy reads a
sequence stands for the sequence of its rows, the rows of every example.
"""
import numpy as np

from .batched import example, first_example, stack_examples, warn_per_example
from .batched_reductions import _vaxis
from .broadcasting import unbroadcast
from .indexing import rebuild_like


def _vaxis_keep_negative(axis, ndim):
    """One axis of an example with ``ndim`` axes as a batched axis
    (checked; a negative axis stays negative)."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis if axis < 0 else axis + 1


def vitems(b):
    """The batched items of a batched sequence: a list or tuple as it is,
    the rows of every example for a batched array. An item that is itself
    a list (``np.concatenate([[0.0], y])``: each of its numbers batched, by
    ``rt.to_batched`` or the code) is the array it stands for, batched."""
    if isinstance(b, (list, tuple)):
        return [_vlisted_array(item) for item in b]
    b = np.asarray(b)
    return [b[:, i] for i in range(b.shape[1])]


def _vlisted_array(item):
    """A batched item of a sequence; a list or tuple of batched values is
    stacked behind the batch axis (as np.asarray would stack it in each
    example)."""
    if isinstance(item, (list, tuple)):
        return np.stack([_vlisted_array(v) for v in item], axis=1)
    return item


def vshape(shape, b):
    """``shape`` of an example as the shape of the batched ``b``'s reshape."""
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    return (np.shape(b)[0],) + tuple(int(s) for s in shape)


def vreshape(b, shape, order="C"):
    """``np.reshape(a, shape, order=order)`` of every example (``-1`` too).
    Fortran order is C order on the example's axes reversed, both ways;
    ``order='A'`` is the one of each example's layout (``vexample_order``)."""
    order = vexample_order(order, b)
    if order == "C":
        return np.reshape(b, vshape(shape, b))
    if order == "F":
        reverse = vpermutation(None, b)
        flipped = np.reshape(np.transpose(b, reverse), vshape(vreversed_shape(shape), b))
        return np.transpose(flipped, vpermutation(None, flipped))
    raise ValueError(f"np.reshape: order must be 'C', 'F' or 'A', not {order!r}.")


def vexample_order(order, b):
    """``order='A'`` of np.reshape as 'C' or 'F' for the examples of ``b``
    (every example has the same strides): 'F' when an example is Fortran
    contiguous and not C contiguous, as NumPy decides; other orders as they are."""
    if order != "A":
        return order
    flags = np.asarray(b)[0].flags if np.shape(b)[0] else None
    return "F" if flags is not None and flags.f_contiguous and not flags.c_contiguous else "C"


def vreversed_shape(shape):
    """``shape`` (an int or a sequence) with its entries in reverse order."""
    return ((shape,) if np.ndim(shape) == 0 else tuple(shape))[::-1]


def vravel(b):
    """``np.ravel`` of every example."""
    return np.reshape(b, (np.shape(b)[0], -1))


def vatleast(b, ndim):
    """``np.atleast_1d`` / ``2d`` / ``3d`` of every example."""
    one = {1: np.atleast_1d, 2: np.atleast_2d, 3: np.atleast_3d}[ndim](np.empty(np.shape(b)[1:], dtype=np.int8))
    return np.reshape(b, np.shape(b)[:1] + one.shape)


def vfloat(b):
    """``float(x)`` of every example: a float64 array ``(B,)``."""
    b = np.asarray(b)
    if b.shape[1:] and int(np.prod(b.shape[1:])) != 1:
        raise TypeError("only length-1 arrays can be converted to Python scalars (vmap of float())")
    if np.iscomplexobj(b):
        raise TypeError("float() argument must not be complex (vmap of float())")
    return np.reshape(b.astype(np.float64), (b.shape[0],))


def vsqueeze_axes(axis, b):
    """``axis`` of ``np.squeeze(a, axis)`` as axes of the batched ``b``
    (None: the example's axes of length 1, never the batch axis)."""
    ndim = (np.ndim(b) - 1)
    if axis is None:
        return tuple(i + 1 for i, size in enumerate(np.shape(b)[1:]) if size == 1)
    if isinstance(axis, (tuple, list)):
        return tuple(_vaxis(a, ndim) for a in axis)
    return _vaxis(axis, ndim)


def vexpand_axes(axis, b):
    """``axis`` of ``np.expand_dims(a, axis)`` (axes of the result) as axes
    of the batched result."""
    count = len(axis) if isinstance(axis, (tuple, list)) else 1
    ndim = np.ndim(b) - 1 + count
    if isinstance(axis, (tuple, list)):
        return tuple(_vaxis_keep_negative(a, ndim) for a in axis)
    return _vaxis_keep_negative(axis, ndim)


def vpermutation(axes, b):
    """``axes`` of ``np.transpose(a, axes)`` (None: reversed) as a
    permutation of the batched ``b``, the batch axis kept first."""
    ndim = (np.ndim(b) - 1)
    if axes is None:
        return (0,) + tuple(range(ndim, 0, -1))
    return (0,) + tuple(_vaxis(a, ndim) for a in axes)


def vrollaxis_start(start, b):
    """``start`` of ``np.rollaxis(a, axis, start)`` as a batched position
    (NumPy lets ``start`` be the number of axes)."""
    ndim = (np.ndim(b) - 1)
    start = int(start)
    if not -ndim <= start <= ndim:
        raise np.exceptions.AxisError(f"'start' arg requires {-ndim} <= start < {ndim + 1}, but {start} was passed in")
    return (start + ndim if start < 0 else start) + 1


def vconcatenate(b, axis=0):
    """``np.concatenate(arrays, axis)`` of every example (``axis=None``:
    each example's items flattened and joined)."""
    items = vitems(b)
    if axis is None:
        items, axis = [np.reshape(item, (np.shape(item)[0], -1)) for item in items], 1
    else:
        axis = _vaxis(axis, np.ndim(items[0]) - 1)
    return np.concatenate(items, axis=axis)


def vstack_items(b, axis=0):
    """``np.stack(arrays, axis)`` of every example."""
    items = vitems(b)
    return np.stack(items, axis=_vaxis(axis, np.ndim(items[0])))


def vhstack(b):
    """``np.hstack(tup)`` of every example: 0-d and 1-d items joined end to
    end, others along their second axis."""
    items = vitems(b)
    if np.ndim(items[0]) - 1 <= 1:
        return np.concatenate([np.reshape(item, (np.shape(item)[0], -1)) for item in items], axis=1)
    return np.concatenate(items, axis=2)


def vvstack(b):
    """``np.vstack(tup)`` of every example (a 0-d or 1-d item is a row)."""
    return np.concatenate([vatleast(item, 2) for item in vitems(b)], axis=1)


def vcolumn_stack(b):
    """``np.column_stack(tup)`` of every example (a 0-d or 1-d item is a column)."""
    columns = []
    for item in vitems(b):
        if np.ndim(item) - 1 < 2:
            item = np.reshape(item, (np.shape(item)[0], -1, 1))
        columns.append(item)
    return np.concatenate(columns, axis=2)


def vdstack(b):
    """``np.dstack(tup)`` of every example."""
    return np.concatenate([vatleast(item, 3) for item in vitems(b)], axis=3)


def vappend(arr, values, axis=None):
    """``np.append(arr, values, axis)`` of every example (both batched)."""
    if axis is None:
        return np.concatenate([vravel(arr), vravel(values)], axis=1)
    return np.concatenate([arr, values], axis=_vaxis(axis, np.ndim(arr) - 1))


def vsplit_pieces(function, b, indices_or_sections, axis=0):
    """``np.split`` / ``np.array_split`` of every example: a list of batched pieces."""
    return function(b, indices_or_sections, axis=_vaxis(axis, (np.ndim(b) - 1)))


def vhsplit_axis(b):
    """The batched axis ``np.hsplit`` cuts along (the first of a 1-d example, else the second)."""
    return 1 if (np.ndim(b) - 1) == 1 else 2


def vtriangle(function, b, k=0):
    """``np.tril`` / ``np.triu`` of every example (a 1-d example is
    repeated as the rows of a square matrix first, as NumPy does)."""
    b = np.asarray(b)
    if b.ndim == 2:
        b = np.broadcast_to(b[:, None, :], (b.shape[0], b.shape[1], b.shape[1]))
    return function(b, k)


def vtake_along_axis(b, indices, axis=-1):
    """``np.take_along_axis(arr, indices, axis)`` of every example (both batched)."""
    if axis is None:
        return np.take_along_axis(vravel(b), indices, axis=1)
    return np.take_along_axis(b, indices, axis=_vaxis(axis, (np.ndim(b) - 1)))


def _flat_or_axis(function, b, args, axis, kwargs):
    """``function(a, *args, axis=axis, **kwargs)`` of every example, where
    ``axis=None`` means the flattened example."""
    if axis is None or ((np.ndim(b) - 1) == 0 and function is np.take):
        result = function(vravel(b), *args, axis=1, **kwargs)
        return np.reshape(result, np.shape(b)) if function is np.roll else result
    if isinstance(axis, (tuple, list)):
        axis = tuple(_vaxis_keep_negative(a, (np.ndim(b) - 1)) for a in axis)
    else:
        axis = _vaxis_keep_negative(axis, (np.ndim(b) - 1))
    return function(b, *args, axis=axis, **kwargs)


def vsort(b, axis=-1, kind=None):
    """``np.sort(a, axis, kind)`` of every example."""
    return _flat_or_axis(np.sort, b, (), axis, {"kind": kind})


def vpartition(b, kth, axis=-1, kind="introselect", order=None):
    """``np.partition(a, kth, axis, kind, order)`` of every example."""
    return _flat_or_axis(np.partition, b, (kth,), axis, {"kind": kind, "order": order})


def vroll(b, shift, axis=None):
    """``np.roll(a, shift, axis)`` of every example."""
    return _flat_or_axis(np.roll, b, (shift,), axis, {})


def vrepeat(b, repeats, axis=None):
    """``np.repeat(a, repeats, axis)`` of every example."""
    return _flat_or_axis(np.repeat, b, (repeats,), axis, {})


def vtake(b, indices, axis=None, mode="raise"):
    """``np.take(a, indices, axis, mode=mode)`` of every example (``indices`` the same for all)."""
    return _flat_or_axis(np.take, b, (indices,), axis, {"mode": mode})


def vtile(b, reps):
    """``np.tile(A, reps)`` of every example (axes of ``A`` and ``reps``
    aligned on the right, as NumPy does)."""
    shape = np.shape(b)[1:]
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    ndim = max(len(reps), len(shape))
    b = np.reshape(b, np.shape(b)[:1] + (1,) * (ndim - len(shape)) + shape)
    return np.tile(b, (1,) * (1 + ndim - len(reps)) + reps)


def vbroadcast_to(b, shape):
    """``np.broadcast_to(array, shape)`` of every example."""
    shape = (shape,) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    b = np.asarray(b)
    example = b.shape[1:]
    if len(example) > len(shape):
        raise ValueError(f"input operand has more dimensions than allowed by the axis remapping "
                         f"(vmap of np.broadcast_to: an example of shape {example} to {shape})")
    b = np.reshape(b, b.shape[:1] + (1,) * (len(shape) - len(example)) + example)
    return np.broadcast_to(b, b.shape[:1] + shape)


def _batched_widths(widths, ndim):
    """A per-axis ``((before, after), ...)`` option of np.pad for the batched array."""
    per_axis = np.broadcast_to(np.asarray(widths), (ndim, 2))
    return ((0, 0),) + tuple((int(before), int(after)) for before, after in per_axis)


def vpad(b, pad_width, mode="constant", **kwargs):
    """``np.pad(array, pad_width, mode, ...)`` of every example: nothing is
    added along the batch axis. Per-axis options (constant_values,
    end_values, stat_length) get the batch axis's entry too."""
    ndim = (np.ndim(b) - 1)
    for name in ("constant_values", "end_values", "stat_length"):
        if name in kwargs and kwargs[name] is not None and np.ndim(kwargs[name]) > 0:
            kwargs[name] = _batched_widths(kwargs[name], ndim)
    return np.pad(b, _batched_widths(pad_width, ndim), mode, **kwargs)


def vfull(shape, fill_value, dtype=None):
    """``np.full(shape, fill_value, dtype)`` with a batched ``fill_value``."""
    fill_value = np.asarray(fill_value)
    return np.array(vbroadcast_to(fill_value, shape), dtype=fill_value.dtype if dtype is None else dtype)


def vlinspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``np.linspace(start, stop, num, endpoint, dtype=dtype, axis=axis)``
    with batched bounds (aligned by example rank, as NumPy broadcasts them)."""
    start, stop = np.asarray(start), np.asarray(stop)
    ndim = max(start.ndim, stop.ndim) - 1
    start = np.reshape(start, start.shape[:1] + (1,) * (ndim - start.ndim + 1) + start.shape[1:])
    stop = np.reshape(stop, stop.shape[:1] + (1,) * (ndim - stop.ndim + 1) + stop.shape[1:])
    return np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=_vaxis(axis, ndim + 1))


def _lifted(item, rank):
    """A batched item given the leading axes of length 1 that NumPy's
    broadcasting adds to an example of lower rank (``x + y`` of a number and
    a vector): the batch axis stays in front."""
    item = np.asarray(item)
    return np.reshape(item, item.shape[:1] + (1,) * (rank - item.ndim) + item.shape[1:])


# vsum_items and vextremum_items are written (loops by index, no
# comprehension) so that their own source can be differentiated: vmap code
# that calls them is differentiated again in jacrev(vmap(f)).
def vsum_items(b, start=0):
    """``sum(iterable, start)`` of every example, added in the same order
    (``start`` the same for every example)."""
    items = vitems(b)
    rank = max([np.ndim(item) for item in items], default=1)
    total = start
    for k in range(len(items)):
        total = total + _lifted(items[k], rank)
    return total


def vextremum_items(b, largest=True):
    """``max(iterable)`` / ``min(iterable)`` of every example: the first
    item that no later item beats, as Python picks it."""
    items = vitems(b)
    if not items:
        raise ValueError(f"{'max' if largest else 'min'}() iterable argument is empty")
    rank = max([np.ndim(item) for item in items])
    best = _lifted(items[0], rank)
    for k in range(1, len(items)):
        item = _lifted(items[k], rank)
        best = np.where(item > best if largest else item < best, item, best)
    return best


def vsequence(b, kind):
    """``list(iterable)`` / ``tuple(iterable)`` of every example: a batched
    array is the sequence of its rows."""
    return kind(vitems(b))


# ------------------------------------------------------------ vmap of derivative code
# In batched backward code (vmap(jacrev(f))) a cotangent is ``(V, G) +
# z.shape``: the vmap axis, then its own batch axis; in batched forward code
# a tangent is ``(V, T) + x.shape``. Primal values are ``(V,) + x.shape``.
# The helpers of the shape family are linear in the cotangent or tangent;
# most read the primal values only for their shapes (one example tells),
# and then the two leading axes merge into one batch. Those that read the
# values themselves (a sort's order, a partition's, interp's segments) are
# written out for the batch here.

def _merge(g):
    if g is None:
        return None, None
    if isinstance(g, dict):  # a dict's cotangent (vmap(hessian(f)) of f building a dict)
        merged = {key: _merge(item) for key, item in g.items()}
        lead = next((m[1] for m in merged.values() if m[1] is not None), None)
        return {key: m[0] for key, m in merged.items()}, lead
    if isinstance(g, (list, tuple)):
        merged = [_merge(item) for item in g]
        lead = next((m[1] for m in merged if m[1] is not None), None)
        return rebuild_like(g, [m[0] for m in merged]), lead  # (a namedtuple keeps its class: fields by name)
    g = np.asarray(g)
    return np.reshape(g, (g.shape[0] * g.shape[1],) + g.shape[2:]), g.shape[:2]


def _unmerge(result, lead):
    if result is None:
        return None
    if isinstance(result, dict):
        return {key: _unmerge(item, lead) for key, item in result.items()}
    if isinstance(result, (list, tuple)):
        return rebuild_like(result, [_unmerge(item, lead) for item in result])
    result = np.asarray(result)
    return np.reshape(result, tuple(lead) + result.shape[1:])


def vmerged_g(helper, g, *args, **kwargs):
    """``helper(g, *args, **kwargs)`` on a batched cotangent or tangent ``g``
    (``(V, G) + shape``, or a list of them, None for the parts that got
    none), the other arguments the same for every example (primal values
    read only for their shapes are passed as one example): the two leading
    axes merged into one batch, the result split back."""
    merged, lead = _merge(g)
    if lead is None:  # no part got a cotangent: the helper sees the same
        return helper(g, *args, **kwargs)
    return _unmerge(helper(merged, *args, **kwargs), lead)


def _vaxis_or_flat(a, axis):
    """(a, batched axis) with ``axis=None`` meaning each example flattened."""
    if axis is None:
        return np.reshape(a, (a.shape[0], -1)), 1
    return a, _vaxis(axis, a.ndim - 1)


def vsort_adjoint(g, a, axis=-1):
    """``sort_adjoint`` on a batch: each example's order from its own values."""
    a = np.asarray(a)
    flat, k = _vaxis_or_flat(a, axis)
    ranks = np.argsort(np.argsort(flat, axis=k, kind="stable"), axis=k)
    rows = np.reshape(g, g.shape[:2] + flat.shape[1:])
    return np.reshape(np.take_along_axis(rows, ranks[:, None], axis=k + 1), g.shape[:2] + a.shape[1:])


def vsort_tangent(t, a, axis=-1):
    """``sort_tangent`` on a batch: ``t`` is ``(V, T) + a.shape``."""
    a = np.asarray(a)
    flat, k = _vaxis_or_flat(a, axis)
    order = np.argsort(flat, axis=k, kind="stable")
    rows = np.reshape(t, t.shape[:2] + flat.shape[1:])
    return np.take_along_axis(rows, order[:, None], axis=k + 1)


def vpartition_order(a, z, axis=-1):
    """``partition_order`` of every example: ``(V,) + a.shape`` indices
    (``(V, size)`` for ``axis=None``)."""
    a, z = np.asarray(a), np.asarray(z)
    a, k = _vaxis_or_flat(a, axis)
    z, _ = _vaxis_or_flat(z, axis)
    order_a = np.argsort(a, axis=k, kind="stable")
    order_z = np.argsort(z, axis=k, kind="stable")
    indices = np.empty_like(order_a)
    np.put_along_axis(indices, order_z, order_a, axis=k)
    return indices


def vtake_along_axis_adjoint(g, arr, indices, axis=-1):
    """``take_along_axis_adjoint`` on a batch, with ``indices`` batched
    (``(V,) + indices.shape``): the cotangent scattered back per example."""
    shape = np.shape(arr)[1:]
    indices = np.asarray(indices)
    lead = g.shape[:2]
    if axis is None:
        a_bar = np.zeros(lead + (int(np.prod(shape, dtype=np.int64)),), dtype=g.dtype)
        index = (np.arange(lead[0])[:, None, None], np.arange(lead[1])[None, :, None], indices[:, None, :])
        np.add.at(a_bar, index, g)
        return np.reshape(a_bar, lead + shape)
    ndim = len(shape)
    axis = axis % ndim
    out_shape = g.shape[2:]
    total = 2 + ndim
    index = [np.reshape(np.arange(lead[0]), (-1,) + (1,) * (total - 1)),
             np.reshape(np.arange(lead[1]), (1, -1) + (1,) * (total - 2))]
    for d in range(ndim):
        if d == axis:
            index.append(np.broadcast_to(indices[:, None], indices.shape[:1] + (1,) + out_shape))
        else:
            along = np.arange(out_shape[d]) if shape[d] != 1 else np.zeros(out_shape[d], dtype=int)
            index.append(np.reshape(along, (1, 1) + (1,) * d + (-1,) + (1,) * (ndim - 1 - d)))
    a_bar = np.zeros(lead + shape, dtype=g.dtype)
    np.add.at(a_bar, tuple(index), g)
    return a_bar


def vtake_along_axis_tangent(t, indices, axis=-1):
    """``take_along_axis_tangent`` on a batch, with ``indices`` batched."""
    indices = np.asarray(indices)
    if axis is None:
        return np.take_along_axis(np.reshape(t, t.shape[:2] + (-1,)), indices[:, None], axis=2)
    return np.take_along_axis(t, indices[:, None], axis=_vaxis(axis, t.ndim - 2) + 1)


def vinterp_adjoint_x(g, x, xp, fp, left=None, right=None):
    """``interp_adjoint_x`` on a batch: ``g`` is ``(V, G) + x.shape``."""
    from .tangent_reductions import interp_slope

    return g * interp_slope(x, xp, fp)[:, None]


def vinterp_adjoint_fp(g, x, xp, fp, left=None, right=None):
    """``interp_adjoint_fp`` on a batch: each example's ``x`` sends its
    cotangent to the ends of its own segments."""
    return _vinterp_adjoint_fp(g, np.asarray(x), xp, fp, left, right)


def _vinterp_adjoint_fp(g, x, xp, fp, left, right):
    from .reductions import _interp_segments

    segment, t, below, above = _interp_segments(x, xp)
    lead = g.shape[:2]
    g_rows = np.reshape(g, lead + (-1,))
    segment, t, below, above = (np.reshape(v, (lead[0], 1, -1)) for v in (segment, t, below, above))
    inside = ~(below | above)
    low = np.where(inside, 1.0 - t, 0.0)
    high = np.where(inside, t, 0.0)
    count = np.size(fp)
    fp_bar = np.zeros(lead + (count,), dtype=g.dtype)
    rows = (np.arange(lead[0])[:, None, None], np.arange(lead[1])[None, :, None])
    np.add.at(fp_bar, rows + (segment,), g_rows * low)
    if count > 1:
        np.add.at(fp_bar, rows + (segment + 1,), g_rows * high)
    if left is None:
        fp_bar[:, :, 0] += np.sum(g_rows * below, axis=2)
    if right is None:
        fp_bar[:, :, -1] += np.sum(g_rows * above, axis=2)
    return fp_bar


_DIFFERS = object()


def _common(b):
    """The one example every example of the batched ``b`` is (a list or
    tuple item by item), or ``_DIFFERS``."""
    from .indexing import rebuild_like

    if not isinstance(b, (np.ndarray, np.generic, list, tuple, dict)):
        return b  # None, a number, a string, a dtype: not batched
    if isinstance(b, (list, tuple)):
        items = [_common(item) for item in b]
        return _DIFFERS if any(item is _DIFFERS for item in items) else rebuild_like(b, items)
    if isinstance(b, dict):
        return _DIFFERS
    b = np.asarray(b)
    if b.dtype == object or b.ndim == 0 or b.shape[0] == 0:
        return _DIFFERS
    if b.strides[0] == 0 or bool(np.all(b == b[:1])):
        return b[0]
    return _DIFFERS


def vmerged_where_shared(batch, helper, g, args, values, **options):
    """``helper(g, *args, **options)`` on a batch, every argument batched.
    ``args`` flagged False in ``values`` are read only for their shapes (one
    example tells); the others and the ``options`` are read for their values
    (axes, shifts, indices, widths: constants of the user's code, which the
    forward pass saves, so the same in every example). When every example
    has the same values the two leading axes of ``g`` merge (``vmerged_g``);
    otherwise the helper runs once per example, which is exact."""
    from .batched import example, first_example, stack_examples, warn_per_example

    common = [_common(arg) if by_value else first_example(arg) for arg, by_value in zip(args, values, strict=True)]
    common_options = {name: _common(value) for name, value in options.items()}
    if (_merge(g)[1] is None  # no array in g (None holes only): the examples tell the batch
            or any(found is _DIFFERS for found in common)
            or any(found is _DIFFERS for found in common_options.values())):
        if _merge(g)[1] is not None:
            warn_per_example(f"rt.{helper.__name__} with values that differ between the examples")
        return stack_examples([
            helper(example(g, v), *[example(a, v) for a in args], **{k: example(o, v) for k, o in options.items()})
            for v in range(batch)], announced=_merge(g)[1] is not None)
    return vmerged_g(helper, g, *common, **common_options)


def vinterp_adjoint(batch, batched_helper, helper, g, x, xp, fp, left=None, right=None):
    """``interp_adjoint_x`` / ``interp_adjoint_fp`` on a batch: one call for
    the batch when the knots ``xp`` and values ``fp`` are the same for every
    example (the usual case: constants saved by the forward pass), else
    once per example."""
    common_xp, common_fp = _common(xp), _common(fp)
    if common_xp is _DIFFERS or common_fp is _DIFFERS:
        warn_per_example(f"rt.{helper.__name__} with knots that differ between the examples")
        return stack_examples([helper(example(g, v), example(x, v), example(xp, v), example(fp, v), left=left,
                                      right=right) for v in range(batch)], announced=True)
    return batched_helper(g, x, common_xp, common_fp, left=left, right=right)


def vinterp_adjoint_x_tangent_fp(t, g, x, xp, fp, left=None, right=None):
    """``interp_adjoint_x_tangent_fp`` on a batch: ``t`` is ``(V, T) +
    fp.shape`` (or a list's item tangents), ``g`` ``(V, B) + x.shape``. One
    call when the knots are the same for every example, else once per example."""
    from .batched import example, stack_examples
    from .reductions import _interp_segments
    from .tangent_reductions import interp_adjoint_x_tangent_fp

    x = np.asarray(x)
    batch = x.shape[0]
    if isinstance(t, (list, tuple)) and any(type(item) is np.ndarray for item in t):
        rows = next(item for item in t if type(item) is np.ndarray).shape[:2]
        t = np.stack([np.zeros(rows) if item is None else np.broadcast_to(item, rows) for item in t], axis=2)
    common_xp = _common(xp)
    if common_xp is _DIFFERS or type(t) is not np.ndarray or type(g) is not np.ndarray:
        return stack_examples([interp_adjoint_x_tangent_fp(example(t, v), example(g, v), x[v], example(xp, v),
                                                           example(fp, v)) for v in range(batch)])
    xp = np.asarray(common_xp, dtype=float)
    if xp.size < 2:
        return np.zeros(t.shape[:2] + np.shape(g)[1:], dtype=np.result_type(t, g))
    segment, _, below, above = _interp_segments(x, xp)
    flat = np.reshape(segment, (batch, 1, -1))
    index = np.broadcast_to(flat, (batch, t.shape[1], flat.shape[-1]))
    rise = np.take_along_axis(t, index + 1, axis=2) - np.take_along_axis(t, index, axis=2)
    width = np.reshape(xp[segment + 1] - xp[segment], (batch, 1, -1))
    slope = np.reshape(rise / width, t.shape[:2] + x.shape[1:])
    return g[:, None] * np.where((below | above)[:, None], 0.0, slope)[:, :, None]


def vextremum_of_items_adjoint(g, items, z):
    """``extremum_of_items_adjoint`` on a batch: in each example the first
    item equal to the result gets the cotangent, the others zeros."""
    z = np.asarray(z)
    batched = [np.asarray(item) for item in vitems(items)]
    equal = [np.all(np.reshape(item == z, (z.shape[0], -1)), axis=1) for item in batched]
    taken = np.zeros(z.shape[0], dtype=bool)
    bars = []
    for item, found in zip(batched, equal, strict=True):
        wins = found & ~taken
        taken |= found
        part = vmerged_g(unbroadcast, g, first_example(item))
        bars.append(np.where(np.reshape(wins, wins.shape + (1,) * (part.ndim - 1)), part, np.zeros_like(part)))
    return rebuild_like(items, bars)


def vextremum_of_items_tangent(t, items, z, rows=None):
    """``extremum_of_items_tangent`` on a batch: in each example the tangent
    of the first item equal to the result (``t`` is ``(V, T) + shape`` per
    item, None for constant items, or one array of the items' tangents)."""
    from .tangents import lift
    from .batched import first_example

    z = np.asarray(z)
    batched = [np.asarray(item) for item in vitems(items)]
    tangents = [t[:, :, i] for i in range(len(batched))] if isinstance(t, np.ndarray) else list(t)
    lead = next((np.shape(item_t)[:2] for item_t in tangents if item_t is not None), None)
    if lead is None and rows is None:
        raise ValueError("max() / min(): no item has a tangent")
    one = first_example(z)
    total = np.zeros((lead or (z.shape[0], rows)) + np.shape(one))
    taken = np.zeros(z.shape[0], dtype=bool)
    for item, item_t in zip(batched, tangents, strict=True):
        found = np.all(np.reshape(item == z, (z.shape[0], -1)), axis=1)
        wins = found & ~taken
        taken |= found
        if item_t is not None:
            lifted = vmerged_g(lift, item_t, one)
            total = np.where(np.reshape(wins, wins.shape + (1,) * (lifted.ndim - 1)), lifted, total)
    return total


def vmerged_tree(batch, flags, keyword_flags, helper, t, *args, **kwargs):
    """``rt.merged_tree`` on a batch (vmap of forward-over-reverse code,
    ``vmap(hessian(f))``), as ``rt.vmerged_call`` batches ``rt.merged``."""
    from .batched_derivatives import vmerged_call
    from .second_order_arrays import merged_tree

    return vmerged_call(batch, flags, keyword_flags, merged_tree, helper, t, *args, **kwargs)


def _read_for_shapes():
    """The backward helpers of the shape family read these arguments (after
    the cotangent) only for their shapes: batched, one example tells."""
    from .batched_derivatives import shape_only
    from . import shape as s, indexing as ix, differences as d, batched as b

    for helper in (s.concatenate_adjoint, s.stack_adjoint, s.hstack_adjoint, s.vstack_adjoint, s.column_stack_adjoint,
                   s.dstack_adjoint, s.split_adjoint, s.tile_adjoint, s.repeat_adjoint, s.take_adjoint, s.pad_adjoint,
                   s.diagonal_adjoint, s.triangle_adjoint, s.array_adjoint, s.rollaxis_adjoint, s.full_adjoint,
                   s.linspace_adjoint, ix.sum_of_items_adjoint, ix.sequence_adjoint, b.sequence_adjoint_of,
                   d.numpy_gradient_adjoint):
        shape_only(helper, 0)
    shape_only(s.append_adjoint, 0, 1)


_read_for_shapes()


def velement_bar_tangent(batch, flags, keyword_flags, t, key, like, bar, rows):
    """``element_bar_tangent`` on a batch (met in ``vmap(hessian(f))`` of
    functions that join or split arrays): ``t`` the tangents of a container's
    cotangents, ``(V, T, B) + shape`` per item; ``like`` and ``bar`` read for
    their shapes; ``key`` the same for every example (else once per example).
    Called as ``rt.vmap_loop`` is (``flags``: which arguments are batched)."""
    from .batched import example, first_example, stack_examples
    from .indexing import zeros_bar
    from .second_order_math import element_bar, element_bar_tangent, merged_items

    t_batched, key_batched, like_batched, bar_batched, rows_batched = flags
    common_key = _common(key) if key_batched else key
    if common_key is _DIFFERS or rows_batched:
        return stack_examples([element_bar_tangent(
            example(t, v) if t_batched else t, example(key, v) if key_batched else key,
            example(like, v) if like_batched else like, example(bar, v) if bar_batched else bar, rows)
            for v in range(batch)])
    one_like = first_example(like) if like_batched else like
    one_bar = first_example(bar) if bar_batched else bar
    found = None
    if t is not None:
        if t_batched:
            found = vmerged_g(lambda merged: merged_items(element_bar, merged, common_key, one_like), t)
        else:
            found = merged_items(element_bar, t, common_key, one_like)
            found = None if found is None else np.broadcast_to(found, (batch,) + np.shape(found))
    if found is None:
        zeros = zeros_bar(one_bar, rows)
        return np.zeros((batch,) + zeros.shape, dtype=zeros.dtype)
    return found


def vprimal_matrices(z):
    """A batched stack of matrices ``(V,) + shape`` given an axis after the
    batch axis, so that it broadcasts against cotangents or tangents
    ``(V, G) + shape`` in helpers that act on the last two axes."""
    return np.asarray(z)[:, None]


def vinterp_slope(batch, x, xp, fp):
    """``interp_slope`` (elementwise in ``x``) of every example: one call
    when the knots and values are the same for every example."""
    from .batched import example, stack_examples
    from .tangent_reductions import interp_slope

    common_xp, common_fp = _common(xp), _common(fp)
    if common_xp is _DIFFERS or common_fp is _DIFFERS:
        return stack_examples([interp_slope(x[v], example(xp, v), example(fp, v)) for v in range(batch)])
    return interp_slope(x, common_xp, common_fp)
