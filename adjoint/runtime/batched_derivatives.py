"""vmap of derivative code: batched forms of the helpers that generated
forward and backward code calls to move tangents and adjoints around
(lifting, indexing, containers, zeros), so that ``vmap(jacrev(f))``,
``vmap(jacfwd(f))`` and ``vmap(hessian(f))`` run NumPy once per op.

In batched derivative code a tangent or adjoint has the vmap axis first and
its own batch axis second: ``(V, B) + x.shape``; a primal value has
``(V,) + x.shape``. A helper that reads a primal value only for its shape
or type reads one example of it (every example has the same shape).
"""
import numpy as np

from .broadcasting import unbroadcast, unreduce
from .indexing import (
    _absent_tree, _field_slot, _scatter, add_bar, batch_size, batched_getitem, getitem_adjoint, item_bar,
    rebuild_like, zeros_bar,
)
from .shape import reshape_adjoint
from .tangents import apply_merged, lift, merged, setitem_tangent
from .jacobians import batched_reshape
from .tangent_shape import as_tangent
from .second_order_math import _map_leaves, merged_items
from .batched import example, first_example, stack_examples, to_batched
from .batched_reductions import vmerged


def vtangent_lift(t, z):
    """``lift`` on a batch: ``t`` is ``(V, B) + x.shape``, ``z`` batched (read for its shape)."""
    if t.shape[2:] == np.shape(z)[1:]:
        return t
    return vmerged(lift, t, z[0])


def vas_tangent(t, like, rows=None, batch=None):
    """``as_tangent`` on a batch: an array tangent is itself; a container's
    (its items' tangents, None for constant ones) is built per example."""
    if type(t) is np.ndarray:
        return t
    if rows is None:
        leaf = _leaf(t)
        rows = None if leaf is None else leaf.shape[1]
    built = None if rows is None else _stacked_item_tangents(t, like, rows, batch)
    if built is not None:
        return built
    return stack_examples([as_tangent(example(t, v), example(like, v), rows) for v in range(batch)])


def _stacked_item_tangents(t, like, rows, batch):
    """``as_tangent`` of every example at once: the items' tangents ``(V, T)
    + shape`` stacked after the two leading axes, zeros for constant items
    (None); None where ``t`` is in another form."""
    if type(t) is np.ndarray:
        return t
    if t is None:
        if isinstance(like, (list, tuple)):
            items = [_stacked_item_tangents(None, item, rows, batch) for item in like]
            return None if not items or any(i is None for i in items) else np.stack(items, axis=2)
        return np.zeros((batch, rows) + np.shape(like)[1:])
    if isinstance(like, np.ndarray) and like.ndim >= 2 and isinstance(t, (list, tuple)) and like.shape[1] == len(t):
        like = [like[:, i] for i in range(len(t))]  # (an array read as a sequence of its rows)
    if isinstance(t, (list, tuple)) and t and isinstance(like, (list, tuple)) and len(like) == len(t):
        items = [_stacked_item_tangents(item, item_like, rows, batch) for item, item_like in zip(t, like)]
        if any(i is None for i in items) or len({i.shape for i in items}) != 1:
            return None
        return np.stack(items, axis=2)
    return None


def vitem_tangent(t, item, key, rows, batch):
    """``item_tangent`` on a batch: the tangent of ``value[key]``."""
    if t is None:
        return vzeros_bar(item, rows, batch)
    if isinstance(t, np.ndarray):
        return vmerged(batched_getitem, t, key)
    found = t[key]
    return vzeros_bar(item, rows, batch) if found is None else found


def vunpack_tangent(t, value, count, rows, batch):
    """``unpack_tangent`` on a batch: tangents of ``a, b, ... = value``."""
    if isinstance(t, np.ndarray):
        return [t[:, :, i] for i in range(count)]
    items = list(value.values()) if isinstance(value, dict) else list(value)
    holes = list(t.values()) if isinstance(t, dict) else list(t)
    return [vzeros_bar(item, rows, batch) if h is None else h for h, item in zip(holes, items, strict=True)]


def vzeros_bar(like, rows, batch):
    """``zeros_bar`` on a batch: zeros ``(V, rows) + shape`` for each leaf of ``like``."""
    if like is None:
        return None
    if isinstance(like, dict):
        return {k: vzeros_bar(v, rows, batch) for k, v in like.items()}
    if isinstance(like, (tuple, list)):
        return rebuild_like(like, [vzeros_bar(v, rows, batch) for v in like])
    one = zeros_bar(first_example(like), rows)
    return np.zeros((batch,) + one.shape, dtype=one.dtype)


def vlist_head(g, length):
    """``list_head`` on a batch: a list's adjoint before an append (an array
    ``(B, V, n) + ...`` read as one array, or a list of batched items)."""
    if g is None:
        return None
    if isinstance(g, np.ndarray):
        return [g[:, :, i] for i in range(length)]
    return list(g[:length])


def vabsent_bar(like, rows, batch):
    """``absent_bar`` on a batch: ``vzeros_bar`` marked absent (see ``absent_bar``)."""
    return _absent_tree(vzeros_bar(like, rows, batch))


def velement_bar(container_bar, key, like, rows=None, batch=None):
    """``element_bar`` on a batch: one element's adjoint, zeros if it got none."""
    key = _field_slot(container_bar, key)
    if isinstance(container_bar, np.ndarray):
        return container_bar[:, :, key]
    bar = None
    if container_bar is not None and (isinstance(container_bar, dict) or key < len(container_bar)):
        bar = container_bar[key]
    if bar is None:
        found = _rows(container_bar)
        return vzeros_bar(like, rows if found is None else found, batch)
    return bar


def _rows(bar):
    """The cotangent batch size (axis 1) of a batched adjoint that may be a container."""
    size = batch_size(bar)
    if size is None:
        return None
    leaf = _leaf(bar)
    return None if leaf is None else leaf.shape[1]


def _leaf(bar):
    if isinstance(bar, np.ndarray):
        return bar
    if isinstance(bar, dict):
        bar = list(bar.values())
    if isinstance(bar, (tuple, list)):
        for item in bar:
            leaf = _leaf(item)
            if leaf is not None:
                return leaf
    return None


def vadd_bar(a, b):
    """``add_bar`` on a batch: the vmap axis and the cotangent axis lead."""
    return add_bar(a, b, lead=2)


def _per_example(helper, *args):
    count = _leaf(args).shape[0]
    return stack_examples([helper(*[example(a, v) for a in args]) for v in range(count)])


def vadd_bar_tangent(t, value, other):
    """``add_bar_tangent`` on a batch: ``t`` is ``(V, T, B) + shape``."""
    if isinstance(value, np.ndarray) and isinstance(other, (tuple, list)) and isinstance(t, np.ndarray):
        return rebuild_like(other, [t[:, :, :, i] for i in range(len(other))])
    return t


def vunpack_bar(value, bars):
    """``unpack_bar`` on a batch: the adjoint of ``a, b, ... = value``."""
    if isinstance(value, (tuple, list)):
        return rebuild_like(value, list(bars))
    leaf = _leaf(list(bars))
    value_bar = np.zeros(leaf.shape[:2] + np.shape(value)[1:], dtype=np.result_type(value, np.float64))
    for position, bar in enumerate(bars):
        if bar is not None:
            value_bar[:, :, position] = bar
    return value_bar


def vsetitem_tangent(t, index, value_t, result, rows):
    """``setitem_tangent`` on a batch, the index the same for every example:
    the vmap axis joins the tangent's, ``(V * T) + shape``."""
    outer = np.shape(result)[0]
    one = first_example(result)

    def joined(tangent):
        if tangent is None:
            return None
        return np.reshape(tangent, (outer * tangent.shape[1],) + tangent.shape[2:])

    found = setitem_tangent(joined(t), index, joined(value_t), one, outer * rows)
    return np.reshape(found, (outer, rows) + found.shape[1:])


def vbatched_reshape(t, z):
    """``batched_reshape`` on a batch: ``(V, B, ...)`` to ``(V, B) + z``'s example shape."""
    return np.reshape(t, t.shape[:2] + np.shape(z)[1:])


def vgetitem_adjoint(g, x, index):
    """``getitem_adjoint`` on a batch, the index the same for every example:
    ``g`` is ``(V, B) + item shape``, ``x`` batched (read for its shape)."""
    if isinstance(g, np.ndarray) and isinstance(x, np.ndarray):
        return vmerged(getitem_adjoint, g, x[0], index)
    if isinstance(x, (tuple, list, dict)) and not isinstance(index, np.ndarray):
        # an item of a container of batched values (a tuple result's): only its structure is read
        if isinstance(index, slice) and isinstance(g, np.ndarray):  # the slice read as one array
            g = [g[:, :, i] for i in range(len(range(*index.indices(len(x)))))]
        return item_bar(x, index, g)
    return _per_example(lambda g_, x_: getitem_adjoint(g_, x_, index), g, x)


def vscatter_add(x_bar, g, x, index):
    """``scatter_add`` on a batch: ``x_bar + getitem_adjoint(g, x, index)``,
    in place when ``x_bar`` is an array this backward pass made."""
    if (type(x_bar) is np.ndarray and type(g) is np.ndarray and x_bar.flags.writeable
            and x_bar.flags.c_contiguous):
        outer, inner = x_bar.shape[:2]
        _scatter(x_bar.reshape((outer * inner,) + x_bar.shape[2:]), g.reshape((outer * inner,) + g.shape[2:]),
                 index)
        return x_bar
    return vadd_bar(x_bar, vgetitem_adjoint(g, x, index))


#: helper -> positions (after the cotangent) of the arguments it reads only
#: for their shape or type: one example of them stands for every example
SHAPE_ONLY = {}


def _shape_positions(helper, args):
    """The positions of ``args`` that ``helper`` reads only for their shapes
    (``merged(apply_merged, t, merge, inner, *inner_args)``, a fourth
    order's: those of ``inner``, after ``merge`` and ``inner`` themselves)."""
    if helper is apply_merged and len(args) >= 2:
        return frozenset({0, 1} | {2 + i for i in SHAPE_ONLY.get(args[1], ())})
    return SHAPE_ONLY.get(helper, frozenset())


def shape_only(helper, *positions):
    SHAPE_ONLY[helper] = frozenset(positions)


def vmerged_merged(batch, flags, keyword_flags, helper, t, *args, **kwargs):
    """``rt.merged`` on a batch (see ``vmerged_call``)."""
    return vmerged_call(batch, flags, keyword_flags, merged, helper, t, *args, **kwargs)


def vmerged_items(batch, flags, keyword_flags, helper, t, *args, **kwargs):
    """``rt.merged_items`` on a batch (see ``vmerged_call``)."""
    return vmerged_call(batch, flags, keyword_flags, merged_items, helper, t, *args, **kwargs)


def vmerged_call(batch, flags, keyword_flags, merge, helper, t, *args, **kwargs):
    """``merge(helper, t, *args, **kwargs)`` (``rt.merged`` or
    ``rt.merged_items``: ``helper`` linear in its cotangent, applied to a
    tangent ``(T, B) + shape``) on a batch; ``flags`` say which of ``merge,
    helper, t, *args`` are batched, as ``rt.vmap_loop`` takes them. Where
    every batched argument is the same for every example, or read only for
    its shape, the vmap axis joins the tangent axis and ``merge`` runs once;
    otherwise once per example (exact, slower)."""
    flags = (False,) + tuple(flags)  # merge itself is never batched
    arg_flags = flags[3:]
    shape_positions = _shape_positions(helper, args)
    per_example = any(f and i not in shape_positions and not _shared(a)
                      for i, (a, f) in enumerate(zip(args, arg_flags, strict=True)))
    per_example = per_example or any(keyword_flags.get(k) and not _shared(v) for k, v in kwargs.items())
    if t is None:
        return None
    if not per_example:
        args = [first_example(a) if f else a for a, f in zip(args, arg_flags, strict=True)]
        kwargs = {k: first_example(v) if keyword_flags.get(k) else v for k, v in kwargs.items()}
        if not flags[2]:  # the tangent is the same for every example, and so is the result
            result = merge(helper, t, *args, **kwargs)
            return _map_leaves(lambda a: np.broadcast_to(a, (batch,) + a.shape), result)
        leaf = _leaf(t)
        if leaf is None:
            return None
        outer, inner = leaf.shape[:2]
        joined = _map_leaves(lambda a: np.reshape(a, (outer * inner,) + a.shape[2:]), t)
        result = merge(helper, joined, *args, **kwargs)
        return _map_leaves(lambda a: np.reshape(a, (outer, inner) + np.shape(a)[1:]), result)
    batched_keywords = {k for k, f in keyword_flags.items() if f}
    if helper in MERGE_BATCHED and flags[2] and batched_keywords <= MERGE_BATCHED_KEYWORDS.get(helper, set()):
        kwargs = {k: to_batched(v, batch) if k in MERGE_BATCHED_KEYWORDS.get(helper, ()) and k not in batched_keywords
                  else v for k, v in kwargs.items()}
        found = _merged_by_rows(batch, helper, t, args, arg_flags, kwargs, merge is not merged)
        if found is not None:
            return found
    if (helper is apply_merged and merge is merged and len(args) >= 2 and args[0] is merged and flags[2]
            and not any(arg_flags[:2]) and type(t) is np.ndarray and t.ndim >= 4):
        # merged(apply_merged, t, merged, inner, ...) (a third derivative's): inner applied to every
        # row of t's three axes after the vmap axis; two of them joined, it is merged(inner, ...) on a batch
        outer, second, third = t.shape[:3]
        joined = np.reshape(t, (outer, second * third) + t.shape[3:])
        found = vmerged_call(batch, (False, True) + tuple(arg_flags[2:]), keyword_flags, merged, args[1], joined,
                             *args[2:], **kwargs)
        if type(found) is np.ndarray:
            return np.reshape(found, (outer, second, third) + found.shape[2:])
    results = []
    for row in range(batch):
        row_args = [example(a, row) if f else a for a, f in zip(args, arg_flags, strict=True)]
        row_kwargs = {k: example(v, row) if keyword_flags.get(k) else v for k, v in kwargs.items()}
        results.append(merge(helper, example(t, row) if flags[2] else t, *row_args, **row_kwargs))
    if all(r is None for r in results):
        return None
    return stack_examples(results)


#: helper -> its batched form ``batched(g, *args, **kwargs)``, ``g`` ``(V, N)
#: + ...`` and the other arguments batched (filled by batched_second_order):
#: what ``rt.merged`` of the helper on a batch runs when the helper reads
#: values that differ between examples, instead of once per example
MERGE_BATCHED = {}
#: helper -> keyword arguments its batched form takes batched (given to it
#: batched, broadcast when they are not); other keywords stay as they are
MERGE_BATCHED_KEYWORDS = {}


def _merged_by_rows(batch, helper, t, args, arg_flags, kwargs, items):
    """``merge(helper, t, *args, **kwargs)`` on a batch through the helper's
    batched form: ``t``'s arrays ``(V, T, B) + ...`` go in as ``(V, T * B) +
    ...`` (the cotangent rows of every example), unbatched arguments
    broadcast to the batch, and the result's arrays are split again. For
    ``rt.merged_tree`` / ``rt.merged_items`` (``items``) an item of a
    container tangent without the three leading axes is a hole (None), as
    ``merged_tree`` reads it. None when ``t`` holds no array."""
    if items and isinstance(t, (list, tuple)):
        t = _map_leaves(lambda a: a if np.ndim(a) >= 3 else None, t)
    leaf = _leaf(t)
    if leaf is None or leaf.ndim < 3:
        return None
    lead = leaf.shape[:3]
    joined = _map_leaves(lambda a: np.reshape(a, (lead[0], lead[1] * lead[2]) + a.shape[3:]), t)
    batched_args = [to_batched(a, batch) if not f and isinstance(a, (np.ndarray, list, tuple, dict)) else a
                    for a, f in zip(args, arg_flags, strict=True)]
    result = MERGE_BATCHED[helper](joined, *batched_args, **kwargs)
    return _map_leaves(lambda a: np.reshape(a, lead + np.shape(a)[2:]), result)


def _shared(value):
    """Whether a batched value is the same for every example (stride 0)."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0 or value.strides[0] == 0
    if isinstance(value, (tuple, list)):
        return all(_shared(v) for v in value)
    if isinstance(value, dict):
        return all(_shared(v) for v in value.values())
    return value is None


shape_only(unbroadcast, 0)
shape_only(unreduce, 0)
shape_only(reshape_adjoint, 0)
shape_only(lift, 0)
shape_only(batched_reshape, 0)
shape_only(getitem_adjoint, 0)


def vmerge_axes(t, axis=0):
    """``merge_axes`` of every example: ``t`` has the vmap axis first."""
    shape = np.shape(t)
    return np.reshape(t, shape[:axis + 1] + (shape[axis + 1] * shape[axis + 2],) + shape[axis + 3:])


def vsplit_axes(r, like, axis=0):
    """``split_axes`` of every example: axis ``axis`` of each example of ``r``
    split into the two leading axes of an example of ``like``."""
    shape = np.shape(r)
    return np.reshape(r, shape[:axis + 1] + np.shape(like)[1:3] + shape[axis + 2:])
