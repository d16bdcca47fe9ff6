"""Adjoint helpers of indexing (``x[i]``, ``take``, ``where``, in-place item
writes) and the small array utilities the other families share.
"""
import math

import numpy as np

from .broadcasting import _shape, unbroadcast


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


#: modules whose objects are never followed attribute by attribute
_NOT_USER_MODULES = {"adjoint", "numpy", "builtins", "scipy", "collections", "functools", "types"}


def is_plain_object(value):
    """An instance of a class of the user's that keeps its attributes itself
    (not an array, a number, a container, or an object of adjoint, NumPy or
    Python): its adjoint and tangent are dicts of attributes (runtime.objects)."""
    return (not isinstance(value, (np.ndarray, np.generic, tuple, list, dict, int, float, complex, str, type))
            and (type(value).__module__ or "").split(".")[0] not in _NOT_USER_MODULES
            and (hasattr(value, "__dict__") or hasattr(type(value), "__slots__")))


def computed_attribute_error(value, name):
    """A TypeError if ``value.name`` (``value`` an object of the user's
    class) is not an attribute the object stores but one its class
    computes (a property, a descriptor, ``__dict__``): adjoint follows stored
    attributes only, so its derivative would be lost. None otherwise."""
    stored = getattr(value, "__dict__", None)
    if stored is not None and name in stored:
        return None
    for klass in type(value).__mro__:
        if name in vars(klass):
            found = vars(klass)[name]
            if hasattr(type(found), "__get__") and type(found).__name__ != "member_descriptor":
                return TypeError(
                    f"cannot differentiate .{name} of a {type(value).__name__} read through a container, a "
                    "call's result or another object: adjoint follows the attributes an object stores, and "
                    f".{name} is computed by its class (a property or another descriptor). Read it on the name "
                    "the object was made under in the differentiated function, or compute it from the stored "
                    "attributes.")
            return None
    return None


def attribute_adjoint(g, value, name):
    """Adjoint of ``value.name``: a namedtuple field, or an attribute of an
    object of the user's class (a dict adjoint, see ``runtime.objects``)."""
    fields = getattr(type(value), "_fields", None)
    if fields is None and is_plain_object(value):
        error = computed_attribute_error(value, name)
        if error is not None:
            raise error
        return {name: g}
    if fields is None or name not in fields:
        raise TypeError(
            f"cannot differentiate the attribute .{name} of a {type(value).__name__}: only "
            "namedtuple fields and the array attribute .T carry derivatives."
        )
    return item_bar(value, fields.index(name), g)


def scatter_add(x_bar, g, x, index):
    """``x_bar + getitem_adjoint(g, x, index)``, adding in place into
    ``x_bar``, an array that the backward pass itself created."""
    if type(x_bar) is np.ndarray:
        return _scatter(x_bar, g, index)
    if isinstance(x_bar, AbsentBar):  # no adjoint yet: never written into (it would stay "absent")
        return getitem_adjoint(g, x, index)
    if isinstance(x_bar, np.ndarray) and not hasattr(x_bar, "absent"):  # (a MaskedBar is added to)
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


def add_at(a, indices, b):
    """``np.add.at(a, indices, b)`` as a new array: ``b`` added at every
    index, once per occurrence of a repeated one. Only arrays the function
    made itself are updated (the transformer checks), and the forward pass
    keeps the old value, as ``setitem`` does."""
    updated = a.copy()
    np.add.at(updated, indices, b)
    return updated


def add_at_adjoint(g, indices, b):
    """Adjoint of ``b`` in ``np.add.at(a, indices, b)``: ``g`` gathered at
    the indices (a repeated index reads its cotangent each time it occurs),
    summed over the axes where ``b`` was broadcast."""
    return unbroadcast(batched_getitem(g, indices), b)


def _add_rows_at(out, indices, values):
    """``np.add.at`` on every batch row of ``out`` (updated and returned):
    ``values`` (a leading batch axis, then ``b``'s shape) broadcast to each
    row's ``out[indices]``."""
    batched = _batched_index(indices)
    target = batched_getitem(out, indices).shape
    values = np.asarray(values)
    values = np.reshape(values, values.shape[:1] + (1,) * (len(target) - values.ndim) + values.shape[1:])
    values = np.broadcast_to(values, target)
    if _is_advanced(batched):
        leading = _separated_advanced_ndim(batched)
        if leading:  # batched_getitem moved the batch axis first: put it back where NumPy has it
            values = np.moveaxis(values, 0, leading)
    np.add.at(out, batched, values)
    return out


def scatter_added(t, like, indices):
    """Tangent of ``np.add.at(a, indices, b)`` from the tangent ``t`` of ``b``
    (shape ``(B,) + b.shape``): zeros shaped like ``like`` with each row of
    ``t`` added at the indices."""
    out = np.zeros((t.shape[0],) + np.shape(like), dtype=np.result_type(t, like, np.float64))
    return _add_rows_at(out, indices, t)


def vadd_at(a, indices, b):
    """``add_at`` of every example: ``a`` and ``b`` carry a leading batch axis."""
    return _add_rows_at(np.array(a), indices, b)


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
        start, stop, step = key.indices(len(items))
        if stop < 0:  # a step back to the front: slice(n - 1, -1, -1) would read from the end
            stop = None
        return slice(start, stop, step)
    if isinstance(key, (int, np.integer)) and key < 0:
        return key + len(items)
    return key


def replace_item(container, key, value):
    """``container[key] = value`` on a list or dict the function made, as a
    new container: the forward pass keeps the old one for the backward pass,
    and nothing else holds it (the transformer checks), so no one sees the
    difference. A namedtuple (``p._replace(a=v)``, ``key`` the field's
    name) gives a new namedtuple of its class."""
    if isinstance(container, tuple):
        items = list(container)
        items[_field_slot(container, key)] = value
        return rebuild_like(container, items)
    updated = container.copy()
    updated[key] = value
    return updated


def _field_slot(container, key):
    """The position of ``key`` in ``container``: a field's name (a str) is
    its position in a namedtuple; any other key is its own."""
    if isinstance(key, str) and isinstance(container, tuple):
        fields = getattr(type(container), "_fields", None)
        if fields is None or key not in fields:
            raise TypeError(f"{type(container).__name__} has no field {key!r} to replace")
        return fields.index(key)
    return key


def without_item(g, key, container):
    """Adjoint of the container in ``container[key] = value``: the item that
    was replaced reaches nothing (a key the dict did not have is dropped)."""
    if g is None:
        return None
    key = _field_slot(container, key)
    if isinstance(g, np.ndarray):  # a list that NumPy read as an array
        g = g.copy()
        g[:, key] = 0
        return g
    # The replaced item's adjoint becomes zeros of the old item's shape (not
    # None, and not of the new item's shape, which may differ), so the batch
    # size stays known to whatever reads the old item later.
    if isinstance(g, dict):
        return {k: (_zeros_like_bar(g.get(k), container[k]) if k == key else g.get(k)) for k in container}
    g = list(g)
    g[key] = _zeros_like_bar(g[key], container[key])
    return rebuild_like(container, g)


def _zeros_like_bar(bar, old):
    """Zeros for the adjoint of ``old``, an item that ``bar``'s item replaced."""
    return absent_bar(old, bar.shape[0]) if isinstance(bar, np.ndarray) else None


def copy(value):
    """``value.copy()`` for arrays, lists and dicts alike."""
    return value.copy()


def concat_items(a, b):
    """``a + b`` on lists (or tuples) the function made."""
    _refuse_array_operand("+", a, b)
    return a + b


def repeat_items(items, count):
    """``items * count`` on a list (or tuple) the function made."""
    _refuse_array_operand("*", items, count)
    return items * count


def _refuse_array_operand(symbol, *operands):
    """NumPy reads ``[x, y] + a`` with an array ``a`` as an array sum: not the list join the code was made for."""
    if any(isinstance(v, (np.ndarray, np.generic)) for v in operands):
        from ..errors import list_operator_with_array
        from .scipy_stats_helpers import ValueRefused

        raise ValueRefused(list_operator_with_array(symbol))


def _item_bars(g, length):
    """A sequence adjoint as a list of ``length`` item adjoints (None: zero)."""
    if isinstance(g, np.ndarray):  # the joined list was read as one array
        return [g[:, i] for i in range(length)]
    return list(g)


def concat_items_adjoint(g, a, b, which):
    """The part of ``(a + b)``'s adjoint that belongs to ``a`` (which=0) or ``b``."""
    _refuse_array_operand("+", a, b)
    bars = _item_bars(g, len(a) + len(b))
    part = bars[:len(a)] if which == 0 else bars[len(a):]
    return rebuild_like(a if which == 0 else b, part)


def repeat_items_adjoint(g, items, count):
    """Adjoint of ``items * count``: each item's adjoints from every repeat, added."""
    _refuse_array_operand("*", items, count)
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
    if is_plain_object(like):  # an object of the user's class: no attribute has an adjoint yet
        return {}
    if isinstance(like, (tuple, list)):
        return rebuild_like(like, [zeros_bar(v, batch) for v in like])
    like = np.asarray(like)  # (np.shape(np.float32), a dtype passed along, is no shape)
    dtype = like.dtype
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.float64
    return np.zeros((batch,) + like.shape, dtype=dtype)


def element_bar(container_bar, key, like, batch=None):
    """The adjoint of one element of a container; zeros if it got none
    (``batch`` rows of them when the container's adjoint holds no array).

    A list that NumPy read as an array (``np.dot([x, y], w)``) gets an array
    adjoint; its element ``key`` is then a slice after the batch axis."""
    key = _field_slot(container_bar, key)
    if isinstance(container_bar, np.ndarray):
        return container_bar[:, key]
    bar = None
    if container_bar is not None and (isinstance(container_bar, dict) or key < len(container_bar)):
        bar = container_bar[key]
    if bar is None:  # no adjoint: zeros that stay zeros (see absent_bar)
        rows = batch_size(container_bar)
        return absent_bar(like, batch if rows is None else rows)
    return bar


def add_bar(a, b, lead=1):
    """Sum two adjoints where None is zero and containers add elementwise.
    ``lead``: the batch axes in front of an array adjoint's own (1; 2 for
    vmap of backward code, where the vmap axis comes first)."""
    if type(a) is np.ndarray and type(b) is np.ndarray:
        return a + b
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict):  # keys may differ: a dict adjoint taken before an item was added
        return {k: add_bar(a.get(k), b.get(k), lead) for k in {**a, **b}}
    # A list that NumPy read as one array (np.sin(items)) has one array
    # adjoint, whose items follow the batch axes; other uses give it items.
    front = (slice(None),) * lead
    if isinstance(a, np.ndarray) and isinstance(b, (tuple, list)):
        a = rebuild_like(b, [a[front + (i,)] for i in range(len(b))])
    elif isinstance(b, np.ndarray) and isinstance(a, (tuple, list)):
        b = rebuild_like(a, [b[front + (i,)] for i in range(len(a))])
    if isinstance(a, list) and len(a) != len(b):
        # Adjoints of a list taken before and after appends: the shorter one
        # has no contribution for the later items.
        longest = max(len(a), len(b))
        a, b = a + [None] * (longest - len(a)), list(b) + [None] * (longest - len(b))
    if isinstance(a, (tuple, list)):
        return rebuild_like(a, [add_bar(x, y, lead) for x, y in zip(a, b, strict=True)])
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


def extremum_winner(items, z):
    """The position of ``z = max(items)`` / ``min(items)`` among ``items``:
    the item Python returned (itself), else the first item equal to it."""
    for i, item in enumerate(items):
        if item is z:
            return i
    return next(i for i, item in enumerate(items) if np.all(item == z))


def extremum_of_items_adjoint(g, items, z):
    """Adjoint of Python's ``max(items)`` / ``min(items)``: the item it
    returned gets ``g``. Of objects compared by their ``__lt__``
    (``min(q1, q2)``), ``g`` is the winner's adjoint as it is (its
    attributes')."""
    winner = extremum_winner(items, z)
    if not isinstance(g, np.ndarray):
        batch = batch_size(g)
        return rebuild_like(items, [g if i == winner else None if batch is None else zeros_bar(item, batch)
                                    for i, item in enumerate(items)])
    return rebuild_like(items, [unbroadcast(g, item) if i == winner else zeros_bar(item, g.shape[0])
                                for i, item in enumerate(items)])


# ----------------------------------------------------------- values cast to integers or booleans
# A value written into an integer or boolean array is truncated (or tested)
# there: the result is flat in it, so its derivative is 0, not 1.

def holds_integers(like):
    """Whether ``like`` (an array, a NumPy scalar or a ``Shape``) holds
    integers or booleans, which are flat in any value cast to them."""
    # (a list or dict has no dtype: NumPy does not cast what is written into it)
    return getattr(getattr(like, "dtype", None), "kind", "f") in "biu"


def written_adjoint(g, array):
    """The cotangent ``g`` of ``array`` after ``array[index] = value``, as
    the value's part of it: nothing when ``array`` holds integers or booleans."""
    if holds_integers(array):
        return np.zeros_like(g)
    return g


# ----------------------------------------------------------- absent adjoints
#
# A value that no path taken gave an adjoint (an item of a container nobody
# read here, a name the branch taken did not use) still gets one, of zeros,
# so that the code after it has an array to add to. Pulled back through a
# rule with an infinite slope (np.cbrt, np.sqrt at 0) those zeros became
# 0 * inf = NaN where the answer is finite. They are ``AbsentBar`` arrays:
# zeros whose products, quotients, reductions and reshapes stay exact zeros
# (a rule's pullback is linear in the adjoint, so the pullback of no
# adjoint is none), and which sums with a real adjoint turn into it.

class AbsentBar(np.ndarray):
    """Zeros standing for "no adjoint": every rule pulls them back to zeros."""

    # (kept on the class: an exported module carries the runtime's functions
    # and classes, not its other globals)
    #: ufuncs whose result is no adjoint if any argument is none
    ANY = frozenset({np.multiply, np.matmul})
    #: ... if their first argument is none (a / b)
    FIRST = frozenset({np.true_divide, np.floor_divide})
    #: ... if every argument is none (or a zero number)
    ALL = frozenset({np.add, np.subtract, np.negative, np.positive, np.conjugate})
    #: NumPy functions linear in each of their arguments
    PRODUCTS = frozenset({np.dot, np.tensordot, np.einsum, np.outer, np.inner, np.kron, np.vdot, np.matmul})
    #: NumPy functions linear in their first argument
    LINEAR = frozenset({np.sum, np.mean, np.reshape, np.transpose, np.moveaxis, np.swapaxes, np.expand_dims,
                        np.squeeze, np.broadcast_to, np.ravel, np.take, np.diagonal, np.trace, np.cumsum,
                        np.flip, np.roll, np.tile, np.repeat, np.real, np.conj, np.copy,
                        np.ascontiguousarray})

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        plain = [_present(i) for i in inputs]
        if out is not None:
            kwargs["out"] = tuple(_present(o) for o in out)
        with np.errstate(all="ignore"):
            result = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:
            return result  # (scatter_add never adds into an AbsentBar in place)
        absent = [isinstance(i, AbsentBar) for i in inputs]
        if method == "__call__":
            if ufunc in AbsentBar.ANY and any(absent):
                return _absent_like(result)
            if ufunc in AbsentBar.FIRST and absent[0]:
                return _absent_like(result)
            if ufunc in AbsentBar.ALL and all(a or np.ndim(i) == 0 and not np.any(i)
                                            for a, i in zip(absent, inputs, strict=True)):
                return _absent_like(result)
        elif method == "reduce" and ufunc is np.add and absent[0]:
            return _absent_like(result)
        return result

    def __array_function__(self, func, types, args, kwargs):
        plain_args = _present_tree(args)
        plain_kwargs = _present_tree(kwargs)
        with np.errstate(all="ignore"):
            result = func(*plain_args, **plain_kwargs)
        if func in AbsentBar.PRODUCTS and any(isinstance(a, AbsentBar) for a in _leaves_of(args)):
            return _absent_like(result)
        if func in AbsentBar.LINEAR and args and isinstance(args[0], AbsentBar):
            return _absent_like(result)
        if func is np.where and len(args) == 3 and all(
                isinstance(a, AbsentBar) or (np.ndim(a) == 0 and not np.any(a)) for a in args[1:]):
            return _absent_like(result)  # np.where(mask, g, 0) in a rule
        return result


def _present(value):
    return value.view(np.ndarray) if isinstance(value, AbsentBar) else value


def _present_tree(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_present_tree(v) for v in value)
    if isinstance(value, dict):
        return {k: _present_tree(v) for k, v in value.items()}
    return _present(value)


def _leaves_of(value):
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves_of(v)]
    return [value]


def _absent_like(result):
    if not isinstance(result, (np.ndarray, np.generic)):
        return result
    return np.zeros(np.shape(result), dtype=np.result_type(result)).view(AbsentBar)


def absent_bar(like, batch):
    """``zeros_bar`` for a value that gets no adjoint on this path: zeros
    that every rule pulls back to zeros (0 * inf is not NaN here)."""
    bar = zeros_bar(like, batch)
    return _absent_tree(bar)


def _absent_tree(bar):
    if isinstance(bar, dict):
        return {k: _absent_tree(v) for k, v in bar.items()}
    if isinstance(bar, (tuple, list)):
        return rebuild_like(bar, [_absent_tree(v) for v in bar])
    return bar.view(AbsentBar) if isinstance(bar, np.ndarray) else bar
