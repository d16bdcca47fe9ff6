"""Forward mode: tangents carry a leading batch axis, ``(B,) + x.shape``;
container tangents keep their structure, with None for a zero. Also the
generic ways to push a tangent through a helper that is linear in it.
"""
import numpy as np

from .indexing import (
    _batched_index, _field_slot, _is_advanced, _separated_advanced_ndim, batch_size, batched_getitem,
    holds_integers, is_plain_object, rebuild_like, zeros_bar,
)
from .broadcasting import _shape
from .calls import call_vjp
from .elementwise import structural_zeros_known
from .masked_bars import masked_array


# ------------------------------------------------------------ forward mode
# Tangents carry a leading batch axis, like adjoints: ``(B,) + x.shape``.
# A container's tangent is a container of the same structure, with None for
# items that carry no derivative.

def lift(t, z):
    """A tangent ``(B,) + x.shape`` broadcast to ``(B,) + z.shape`` the way
    NumPy broadcasts ``x`` against ``z`` (for elementwise functions)."""
    shape = z.shape if type(z) is np.ndarray else np.shape(z)
    if t.shape[1:] == shape:
        return t
    missing = len(shape) - (t.ndim - 1)
    if missing > 0:
        t = t.reshape(t.shape[:1] + (1,) * missing + t.shape[1:])
        if t.shape[1:] == shape:  # only new leading axes of length 1: no broadcast needed
            return t
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
    """The tangent of an item, zeros where it has none: while the passes run
    again with the seed's zeros marked (api/bases.py), zeros marked as the
    seed's (no tangent reaches the item: a constant saved for the backward
    pass meets its NaN as 0, not ``0 * NaN``)."""
    if t is not None:
        return t
    zeros = zeros_bar(like, batch)
    if type(zeros) is np.ndarray and structural_zeros_known():
        return masked_array(zeros, np.ones(zeros.shape, dtype=bool))
    return zeros


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
    if isinstance(t, dict):  # an object of the user's class (see runtime.objects)
        return tangent_of_item(t.get(name), batch, item)
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
    if is_plain_object(container):  # an object of the user's class (runtime.objects)
        return {}
    return rebuild_like(container, [None] * len(container))


def append_tangent(t, items, value_t):
    """The tangent of ``items.append(value)`` (a new list)."""
    base = list(no_tangents(items)[:-1]) if t is None else list(t)
    return base + [value_t]


def replace_item_tangent(t, container, key, value_t):
    if isinstance(container, tuple):  # p._replace(a=v) on a namedtuple
        items = list(no_tangents(container) if t is None else t)
        items[_field_slot(container, key)] = value_t
        return rebuild_like(container, items)
    updated = (no_tangents(container) if t is None else t).copy()
    updated[key] = value_t
    return updated


def setitem_tangent(t, index, value_t, result, batch):
    """The tangent of ``result = array; result[index] = value`` (nothing from
    ``value`` when ``result`` holds integers or booleans, see ``written_adjoint``)."""
    if t is None:
        updated = zeros_bar(result, batch)
    else:  # (a real tangent of a complex result, x + 0j, takes a complex part: no imaginary part cut off)
        complex_part = np.iscomplexobj(value_t) if isinstance(value_t, np.ndarray) else False
        updated = np.array(t, dtype=np.result_type(t, float, complex) if complex_part else np.result_type(t, float))
    region = batched_getitem(updated, index)
    if value_t is None or holds_integers(result):
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
    if isinstance(ans, (tuple, list)):
        # several results (np.linalg.slogdet): the basis runs over all their
        # elements, each basis cotangent a tuple with one 1 in one result
        sizes = [int(np.size(a)) for a in ans]
        size = sum(sizes)
        ends = np.cumsum(sizes)
        basis = rebuild_like(ans, [np.eye(size)[:, end - n:end].reshape((size,) + np.shape(a))
                                   for a, n, end in zip(ans, sizes, ends)])
    else:
        size = int(np.size(ans))
        basis = np.eye(size).reshape((size,) + np.shape(ans))
    rows = call_vjp(maker, batched, basis, ans, *args, **kwargs)  # (size,) + x.shape
    rows = np.reshape(rows, (size, -1))
    flat = np.reshape(t, (t.shape[0], -1)) @ rows.T
    if isinstance(ans, (tuple, list)):
        return rebuild_like(ans, [flat[:, end - n:end].reshape((t.shape[0],) + np.shape(a))
                                  for a, n, end in zip(ans, sizes, ends)])
    return flat.reshape((t.shape[0],) + np.shape(ans))


def call_jvp(maker, t, ans, *args, **kwargs):
    """Apply a rule registered with ``adjoint.defjvp`` to each tangent row."""
    push = maker(ans, *args, **kwargs)
    return np.stack([np.broadcast_to(push(row), np.shape(ans)) for row in t])


zeros_tangent = zeros_bar


# ------------------------------------------------------------ tangents of the backward helpers
# Forward mode over generated backward code (a Hessian as jacfwd(jacrev(f))):
# an adjoint there has shape (B,) + x.shape and its tangent (T, B) + x.shape.

def merged(helper, t, *args, **kwargs):
    """``helper(g, *args)`` is linear in its batched first argument ``g``:
    apply it to a tangent ``(T, B) + shape`` of ``g`` by merging the two
    leading axes into one batch and splitting them again."""
    if t is None:
        return None
    if not isinstance(t, np.ndarray):
        return [merged(helper, item, *args, **kwargs) for item in t]
    outer, inner = t.shape[0], t.shape[1]
    result = helper(t.reshape((outer * inner,) + t.shape[2:]), *args, **kwargs)
    if result is None:
        return None
    if type(result) is np.ndarray:
        return result.reshape((outer, inner) + result.shape[1:])
    return np.reshape(result, (outer, inner) + np.shape(result)[1:])


def over_tangent(helper, position, t, *args, **kwargs):
    """The tangent through ``helper(*args)`` of the argument at ``position``,
    where ``helper`` is linear in that argument: ``helper`` applied with each
    tangent row ``t[i]`` in its place, stacked along a new leading axis.
    A list or tuple argument (``np.interp``'s ``fp=[1, 3, 2]``) has a list
    of item tangents: they are stacked into one ``(T,) + shape`` array
    first, so a row is the tangent of the whole argument, not of one item."""
    if not isinstance(t, np.ndarray):
        t = as_tangent(t, args[position])
    rows = []
    for row in t:
        replaced = list(args)
        replaced[position] = row
        rows.append(helper(*replaced, **kwargs))
    return np.stack(rows)


# ------------------------------------------------------------ tangents of the tangent helpers
# Forward mode over generated forward (or forward-over-reverse) code: third
# order through ``merged``, second order through the item updates of
# tangent code. Each helper here is linear in its first argument.

def apply_merged(t, merge, helper, *args, **kwargs):
    """``merge(helper, t, *args, **kwargs)`` with the tangent first: the
    tangent of a ``merged`` call is ``merged`` of this (one more leading axis)."""
    return merge(helper, t, *args, **kwargs)


def merge_axes(t, axis=0):
    """Axes ``axis`` and ``axis + 1`` of ``t`` merged into one."""
    shape = np.shape(t)
    return np.reshape(t, shape[:axis] + (shape[axis] * shape[axis + 1],) + shape[axis + 2:])


def split_axes(r, like, axis=0):
    """Axis ``axis`` of ``r`` split into the two leading axes of ``like``."""
    shape = np.shape(r)
    return np.reshape(r, shape[:axis] + np.shape(like)[:2] + shape[axis + 1:])


def setitem_cleared(t, index):
    """The part of ``setitem_tangent(t, index, value_t, ...)`` that comes
    from ``t``: ``t`` with the updated region zero."""
    updated = np.array(t, dtype=np.result_type(t, float))
    if _is_advanced(_batched_index(index)) and _separated_advanced_ndim(_batched_index(index)):
        for row in range(updated.shape[0]):
            updated[row][index] = 0
        return updated
    updated[(slice(None),) + (index if isinstance(index, tuple) else (index,))] = 0
    return updated


def setitem_into_zeros(value_t, index, result):
    """The part of ``setitem_tangent`` that comes from ``value_t``: zeros
    shaped like ``result`` with ``value_t`` in the updated region."""
    return setitem_tangent(None, index, value_t, result, value_t.shape[0])


def as_tangent(t, like, batch=None):
    """The tangent of the array_like ``like`` as one array of shape
    ``(B,) + np.shape(like)``: ``t`` itself when it is an array; for a list
    or tuple, its items' tangents stacked after the batch axis, zeros for
    constant items (None). ``batch`` is ``B`` when ``t`` may hold no array."""
    if type(t) is np.ndarray:
        return t
    if batch is None:
        batch = batch_size(t)
    if t is None:
        return np.zeros((batch,) + _shape(like))
    if isinstance(t, (list, tuple)):
        if not t:
            return np.zeros((batch,) + _shape(like))
        return np.stack([as_tangent(item_t, item, batch) for item_t, item in zip(t, like, strict=True)], axis=1)
    return t if isinstance(t, np.ndarray) else np.asarray(t)  # (a MaskedBar keeps its mask)
