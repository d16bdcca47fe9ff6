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
    """The residual for a value read only for its shape."""
    return Shape(np.shape(value))


def _shape(x):
    if isinstance(x, (np.ndarray, np.generic, Shape)):
        return x.shape
    return np.shape(x)


def unbroadcast(g, x):
    """Sum the batched cotangent ``g`` down to the shape of ``x`` (plus batch)."""
    shape = _shape(x)
    if g.shape[1:] == shape:
        return g
    extra = g.ndim - 1 - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(1, 1 + extra)))
    axes = tuple(i + 1 for i, n in enumerate(shape) if n == 1 and g.shape[i + 1] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def normalize_axes(axis, ndim):
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(a % ndim for a in axis))
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
    axes = normalize_axes(axis, x.ndim)
    z_kept = z if keepdims else np.reshape(z, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    hits = (x == z_kept).astype(g.dtype)
    share = hits / hits.sum(axis=axes, keepdims=True)
    return unreduce(g, x, axis, keepdims) * share


# ----------------------------------------------------------- elementwise

def log_base(x):
    """``log(x)`` for the exponent's derivative of ``x ** y``; 0 where x is 0
    (there ``x ** y`` is flat in ``y`` for positive ``y``)."""
    return np.log(np.where(np.equal(x, 0), 1.0, x))


def balanced_eq(x, z, other):
    """1 where ``x`` is the result of max/min, 1/2 where both inputs tie."""
    return np.equal(x, z) / (1.0 + np.equal(x, other))


def inside_bounds(a, a_min=None, a_max=None, lower=None, upper=None):
    """1.0 where ``np.clip`` passed ``a`` through, 0.0 where it clipped
    (``lower``/``upper`` are NumPy's keyword spellings ``min=``/``max=``)."""
    a_min = lower if a_min is None else a_min
    a_max = upper if a_max is None else a_max
    inside = np.ones(np.shape(a), dtype=bool)
    if a_min is not None:
        inside = inside & (np.greater_equal(a, a_min))
    if a_max is not None:
        inside = inside & (np.less_equal(a, a_max))
    return inside.astype(np.result_type(np.asarray(a), np.float16))


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
    if x_nd == 1:
        x = x[None, :]
        g = np.expand_dims(g, -2)
    if y_nd == 1:
        g = g[..., None]
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


# ----------------------------------------------------------- shapes

def reshape_adjoint(g, x):
    return np.reshape(g, g.shape[:1] + _shape(x))


def array_adjoint(g, a):
    """Adjoint of ``np.array(a)``: ``a`` an array, or a list of arrays."""
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


# ----------------------------------------------------------- indexing

def _batched_index(index):
    if not isinstance(index, tuple):
        index = (index,)
    expanded = []
    for part in index:
        if isinstance(part, list):
            part = np.asarray(part)
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
    if isinstance(x, (tuple, list, dict)):
        return item_bar(x, index, g)
    return _scatter(np.zeros(g.shape[:1] + np.shape(x), dtype=g.dtype), g, index)


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
    if not isinstance(x_bar, np.ndarray):
        return add_bar(x_bar, getitem_adjoint(g, x, index))
    return _scatter(x_bar, g, index)


def setitem(array, index, value):
    """``array[index] = value`` as a new array: the forward pass keeps the
    old value, which the backward pass may need, and only arrays the function
    made itself are updated (the transformer checks), so no one else sees
    the difference."""
    updated = array.copy()
    updated[index] = value
    return updated


def overwritten_adjoint(g, index):
    """Adjoint of the array in ``array[index] = value``: what was overwritten
    gets nothing."""
    g = g.copy()
    if type(index) is slice or type(index) is int:
        g[:, index] = 0
    else:
        g[_batched_index(index)] = 0
    return g


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
    return list(g[:length])


def item_bar(container, key, g):
    """A container adjoint shaped like ``container`` with ``g`` at ``key``."""
    if isinstance(container, dict):
        return {k: (g if k == key else None) for k in container}
    bars = [None] * len(container)
    if isinstance(key, slice):
        for position, bar in zip(range(*key.indices(len(container))), g, strict=True):
            bars[position] = bar
    else:
        bars[key] = g
    return rebuild_like(container, bars)


def rebuild_like(container, items):
    if isinstance(container, tuple) and hasattr(type(container), "_fields"):
        return type(container)(*items)
    return type(container)(items) if isinstance(container, (tuple, list)) else items


def batch_size(bar):
    """The batch size of an adjoint that may be a container with None holes."""
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
    return np.zeros((batch,) + np.shape(like), dtype=np.result_type(like, np.float64) if np.ndim(like) == 0 and not isinstance(like, np.ndarray) else np.asarray(like).dtype)


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
    if isinstance(a, dict):
        return {k: add_bar(a[k], b[k]) for k in a}
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


def extremum_of_items_adjoint(g, items, z):
    """Adjoint of Python's ``max(items)`` / ``min(items)``: the first item
    equal to the result gets ``g``."""
    winner = next(i for i, item in enumerate(items) if np.all(item == z))
    return rebuild_like(items, [unbroadcast(g, item) if i == winner else zeros_bar(item, g.shape[0])
                                for i, item in enumerate(items)])


# ----------------------------------------------------------- user rules

def call_vjp(maker, batched, g, ans, *args, **kwargs):
    """Apply a rule registered with ``adjoint.defvjp``.

    An unbatched maker's function sees one cotangent at a time; its results
    are stacked along the batch axis.
    """
    vjp = maker(ans, *args, **kwargs)
    if batched:
        return vjp(g)
    return np.stack([np.asarray(vjp(row)) for row in g])


# ----------------------------------------------------------- primitives
# Syntax that is not a function call (``x[i]``, ``(a, b)``, ``y = x``) is
# looked up in the rule registry under these functions. Generated code keeps
# the original syntax; these exist so every primitive has one identity.

def loop_length(*sequences):
    """How many times ``for`` runs over ``sequences`` (zip stops at the shortest)."""
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


def attribute(value, name):
    return getattr(value, name)


def transpose_attribute(value):
    return value.T
