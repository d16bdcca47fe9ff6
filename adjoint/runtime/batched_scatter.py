"""Scatters and gathers whose index differs between the examples of a vmap.

``np.add.at(y, i, v)`` (and every ufunc's ``.at``) with a batched integer
index ``i`` of shape ``(B,) + ishape``: example ``b`` updates the rows
``i[b]`` of its own ``y[b]``. Offsetting each example's indices by its
start in the flattened batch (``b * N + i[b]``, ``N`` the length of the
indexed axis) makes it one unbuffered ``ufunc.at`` on the whole batch, as
the gathers of the derivatives (``g[b, :, i[b]]``) are one fancy index.

The helpers are called as ``rt.<name>(batch, flags, keyword_flags, *args)``
(``flags``: which arguments carry the batch axis; ``rules.FLAG_BATCHED`` and
``rules.INDEX_BATCHED``). An index these do not batch (a tuple of indices,
a boolean mask, whose selections may differ in size) runs once per
example with a ``RuntimeWarning`` naming the call, counted by
``PER_EXAMPLE_LOOPS`` (``warn_per_example``).

An index that carries the batch axis but is the same in every example (a
loop counter kept on the backward pass's tape, broadcast to the batch with
the other items of its tuple) is read once.
"""
import numpy as np

from .batched import example, stack_examples, to_batched, warn_per_example
from .broadcasting import unbroadcast
from .batched_derivatives import vscatter_add
from .batched_shape import _DIFFERS, _common, vmerged_where_shared
from .indexing import add_at_adjoint, add_bar, getitem_adjoint, scatter_added


def _same_index(value):
    """Whether every example of the batched ``value`` (an index: an array,
    or a tuple of them) is the same."""
    return _common(value) is not _DIFFERS


def _per_example_index(indices, length):
    """``indices`` (``(B,) + ishape``, integers) checked against an axis of
    ``length`` and made non-negative, or None when they are not a batched
    integer index (a mask, a tuple)."""
    if type(indices) is not np.ndarray or indices.ndim == 0 or indices.dtype.kind not in "iu":
        return None
    if indices.size and (indices.min() < -length or indices.max() >= length):
        bad = indices[(indices < -length) | (indices >= length)].flat[0]
        raise IndexError(f"index {bad} is out of bounds for axis 0 with size {length}")
    return np.where(indices < 0, indices + length, indices)


def _flat_rows(indices, batch, lead, length):
    """The rows ``((b * lead) + l) * length + indices[b]`` of the batch's
    arrays flattened to ``(batch * lead * length,) + rest``: ``(batch, lead) + ishape``."""
    ishape = indices.shape[1:]
    starts = np.arange(batch * lead).reshape((batch, lead) + (1,) * len(ishape)) * length
    return starts + indices.reshape((batch, 1) + ishape)


def _scatter_rows(ufunc, out, indices, values):
    """``ufunc.at(out[b, l], indices[b], values[b, l])`` for every example
    ``b`` and lead row ``l`` at once, in place: ``out`` is ``(B, L, N) +
    rest``, ``values`` broadcasts to ``(B, L) + ishape + rest`` (None for a
    unary ufunc)."""
    batch, lead, length = out.shape[:3]
    rest = out.shape[3:]
    rows = _flat_rows(indices, batch, lead, length)
    flat = out.reshape((batch * lead * length,) + rest)
    if values is None:
        ufunc.at(flat, rows.ravel())
    else:
        values = np.broadcast_to(values, rows.shape + rest)
        ufunc.at(flat, rows.ravel(), values.reshape((-1,) + rest))
    if not np.shares_memory(flat, out):  # (a reshape of a non-contiguous array is a copy)
        out[...] = flat.reshape(out.shape)
    return out


def _lift_values(values, region_ndim, batched, lead=0):
    """Per-example ``values`` (batch axis first, then ``lead`` axes) aligned
    with ``(B,) + lead + region``, the region being ``region_ndim`` axes."""
    values = np.asarray(values)
    if not batched:
        return values
    front = 1 + lead
    missing = region_ndim - (values.ndim - front)
    return values.reshape(values.shape[:front] + (1,) * max(missing, 0) + values.shape[front:])


def _loop(batch, flags, function, args, construct):
    warn_per_example(construct)
    results = []
    for row in range(batch):
        results.append(function(*[example(a, row) if f else a for a, f in zip(args, flags, strict=True)]))
    return stack_examples(results, announced=True)


def vufunc_at(batch, flags, keyword_flags, method, a, indices, b=None):
    """``ufunc.at(a, indices, b)`` (``method`` the bound ``.at``) in every
    example, in place; ``a`` carries the batch axis (vmap made it a batch of
    its own when batched values update it)."""
    ufunc = method.__self__
    batched_index = flags[1] if len(flags) > 1 else False
    batched_b = flags[2] if len(flags) > 2 else False
    if not flags[0] or type(a) is not np.ndarray or a.ndim < 2:
        raise TypeError(f"vmap: {ufunc.__name__}.at updates an array that does not hold the batch")
    if batched_index:
        rows = _per_example_index(indices, a.shape[1])
        if rows is None:
            def one(a_row, i_row, b_row=None):
                method(a_row, i_row) if b is None else method(a_row, i_row, b_row)
                return a_row
            args = (a, indices) if b is None else (a, indices, b)
            _loop(batch, flags[:len(args)], one, args, f"np.{ufunc.__name__}.at with a batched index")
            return None
        region = rows.ndim - 1 + a.ndim - 2
        values = None if b is None else _lift_values(b, region, batched_b)[:, None] if batched_b else b
        _scatter_rows(ufunc, a[:, None], rows, values)
        return None
    # one index for every example: the batch axis goes in front of it
    index = indices if isinstance(indices, tuple) else (indices,)
    if any(isinstance(p, np.ndarray) and p.dtype == bool for p in index) or sum(
            isinstance(p, (np.ndarray, list)) for p in index) > 1:
        def one(a_row, b_row=None):
            method(a_row, indices) if b is None else method(a_row, indices, b_row)
            return a_row
        args = (a,) if b is None else (a, b)
        _loop(batch, (True,) + ((batched_b,) if b is not None else ()), one, args,
              f"np.{ufunc.__name__}.at with this index")
        return None
    full = (slice(None),) + index
    if b is None:
        method(a, full)
    else:
        region_ndim = a[full].ndim - 1
        method(a, full, _lift_values(b, region_ndim, batched_b))
    return None


def vadd_at_indexed(batch, flags, keyword_flags, a, indices, b):
    """``rt.add_at(a, indices, b)`` of every example, ``indices`` batched: a new array."""
    out = np.array(a if flags[0] else to_batched(a, batch), dtype=np.result_type(a, b))
    vufunc_at(batch, (True, True, flags[2]), {}, np.add.at, out, indices, b)
    return out


def vadd_at_adjoint_rows(batch, g, indices, b):
    """``rt.add_at_adjoint(g, indices, b)`` of every example (all batched):
    ``g`` is ``(B, V) + a.shape``; ``g[b, v, indices[b]]`` summed to ``b``'s
    shape. Indices the same in every example: one call with the two leading
    axes merged."""
    if _same_index(indices):
        return vmerged_where_shared(batch, add_at_adjoint, g, (indices, b), (True, False))
    flags = (True, True, True)
    g = np.asarray(g)
    rows = _per_example_index(indices, g.shape[2]) if g.ndim >= 3 else None
    if rows is None:
        return _loop(batch, flags, add_at_adjoint, (g, indices, b), "the adjoint of np.add.at with a batched index")
    lead = g.shape[1]
    rest = g.shape[3:]
    flat = g.reshape((batch * lead * g.shape[2],) + rest)
    gathered = flat[_flat_rows(rows, batch, lead, g.shape[2])]  # (B, V) + ishape + rest
    shape = np.shape(b)[1:] if flags[2] else np.shape(b)
    return unbroadcast(gathered.reshape((batch * lead,) + gathered.shape[2:]),
                       np.empty(shape)).reshape((batch, lead) + tuple(shape))


def vscatter_added_rows(batch, t, like, indices):
    """``rt.scatter_added(t, like, indices)`` of every example (all
    batched): ``t`` is ``(B, T) + b.shape``; zeros ``(B, T) + like.shape``
    with ``t[b, s]`` added at ``indices[b]``."""
    if _same_index(indices):
        return vmerged_where_shared(batch, scatter_added, t, (like, indices), (False, True))
    flags = (True, True, True)
    t = np.asarray(t)
    shape = np.shape(like)[1:] if flags[1] else np.shape(like)
    out = np.zeros((batch, t.shape[1]) + tuple(shape), dtype=np.result_type(t, like, np.float64))
    rows = _per_example_index(indices, shape[0]) if shape else None
    if rows is None:
        return _loop(batch, flags, scatter_added, (t, like, indices), "the tangent of np.add.at with a batched index")
    region = rows.ndim - 1 + len(shape) - 1
    values = t.reshape(t.shape[:2] + (1,) * (region - (t.ndim - 2)) + t.shape[2:])
    return _scatter_rows(np.add, out, rows, values)


def vscatter_add_indexed(batch, flags, keyword_flags, x_bar, g, x, index):
    """``rt.scatter_add(x_bar, g, x, index)`` of every example with an index
    that carries the batch axis: read once when every example has the same
    (a loop counter on the tape), else once per example."""
    shared = _common(index)
    if shared is not _DIFFERS:
        if isinstance(shared, np.ndarray) and shared.ndim == 0:
            shared = shared.item()
        args = [v if f else to_batched(v, batch) for v, f in zip((x_bar, g, x), flags[:3], strict=True)]
        return vscatter_add(*args, shared)

    def one(x_bar_row, g_row, x_row, index_row):
        return add_bar(x_bar_row, getitem_adjoint(g_row, x_row, index_row))
    return _loop(batch, flags, one, (x_bar, g, x, index), "an adjoint scattered at a batched index")

