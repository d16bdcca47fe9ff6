"""Objects of the user's classes that hold differentiated values.

An object made in the differentiated function (``s = State(x)``), or one it
was given through a closure whose methods set attributes (``cell.step(x)``
storing ``self.h``), is followed like a dict whose keys are its attribute
names: the forward pass really sets the attributes (``store_attribute``
returns the object itself, so every version of it in the generated code is
the same Python object, exactly as in the user's program), and the adjoint
(and the tangent) of an object is a dict ``{attribute name: adjoint}`` with
only the attributes that received one.
"""

import numpy as np

from .in_place import InPlaceRefused, _overlaps
from .indexing import absent_bar, batch_size, computed_attribute_error, is_plain_object, zeros_bar
from .second_order_math import merged_items
from .tangents import attribute_tangent


def store_attribute(obj, name, value):
    """``obj.name = value``, done on ``obj`` itself, which is returned (the
    next version of it in the generated code)."""
    setattr(obj, name, value)
    return obj


def keep_attribute(obj, name, value):
    """``obj.name = value`` on an object used as a record (normalize_records):
    set as Python sets it, read back as ``value`` itself, so no derivative
    goes through the object."""
    setattr(obj, name, value)
    return obj


def keep_init_attribute(obj, name, value):
    """``keep_attribute`` of a field a dataclass's ``__init__`` sets (frozen ones too)."""
    object.__setattr__(obj, name, value)
    return obj


def init_attribute(obj, name, value):
    """A field set by a dataclass's ``__init__`` (frozen ones included, as
    the generated ``__init__`` does with ``object.__setattr__``)."""
    object.__setattr__(obj, name, value)
    return obj


def has_stored(obj, name):
    """Whether ``obj`` holds ``name`` itself (in its ``__dict__``): a
    ``functools.cached_property`` computed already, read as it was stored."""
    stored = getattr(obj, "__dict__", None)
    return stored is not None and name in stored


def without_attribute(g, name):
    """Adjoint of the object before ``obj.name = value``: the attribute that
    was replaced reaches nothing from here on."""
    if g is None:
        return None
    return {key: bar for key, bar in g.items() if key != name}


def attribute_of_bar(g, name):
    """The adjoint an object's adjoint ``g`` holds for its attribute ``name``, or None."""
    return None if g is None else g.get(name)


def attribute_bar(g, name, like, rows=None):
    """The adjoint of the value stored by ``obj.name = value`` (zeros, of
    ``rows`` rows, when no later read of the attribute received any)."""
    bar = attribute_of_bar(g, name)
    if bar is None:
        found = batch_size(g)
        return absent_bar(like, rows if found is None else found)
    return bar


def attribute_bar_tangent(t, name, like, bar, batch):
    """The tangent of ``bar = attribute_bar(g, name, like)`` from the tangent
    ``t`` of ``g``: zeros ``(batch,) + bar.shape`` where it holds none."""
    found = merged_items(attribute_of_bar, t, name)
    return zeros_bar(bar, batch) if found is None else found


def object_attribute_tangent(t, value, item, name, batch):
    """``attribute_tangent`` of ``value.name``, refused when ``value`` is an
    object of the user's class whose class computes ``name`` (its tangent
    would be lost, see ``computed_attribute_error``)."""
    if isinstance(t, dict) and is_plain_object(value):
        error = computed_attribute_error(value, name)
        if error is not None:
            raise error
    return attribute_tangent(t, item, name, batch)


def store_attribute_tangent(t, name, value_t):
    """The tangent of the object after ``obj.name = value``."""
    if t is not None and not isinstance(t, dict):
        # (the tangent code differentiated again, the object an item of a list: its tangents come
        # as one array per list, not one dict per object)
        raise TypeError(
            f"cannot differentiate the tangent of .{name} set on an object held by a list (or another "
            "container) in a derivative differentiated again in forward mode (jacfwd(jacfwd(f))): not "
            "supported yet. Use adjoint.hessian(f) or jacfwd(jacrev(f)), which follow it.")
    updated = {} if t is None else dict(t)
    updated[name] = value_t
    return updated


def _picked_attribute(t, name):
    if t is None:
        return None
    if isinstance(t, dict):  # an object of the user's class
        return t.get(name)
    if isinstance(t, tuple) and hasattr(t, "_fields"):  # a namedtuple's field
        return getattr(t, name)
    # (an object held by a list: its tangents come as one array per list;
    # store_attribute_tangent refuses that case clearly)
    return None


def attribute_tangent_tangent(tt, t, item, name, batch, outer=None):
    """Tangent of ``attribute_tangent(t, item, name, batch)`` (linear in
    ``t``): the attribute's entry of ``tt``, or zeros ``(S, batch) +
    item.shape`` where it has none (jacfwd(jacfwd(f)) of f reading an
    attribute of an object it made). ``S`` is ``outer`` (the number of
    tangents of this order) when ``tt`` holds no array to tell it."""
    from .second_order_math import _outer_zeros

    picked = _picked_attribute(tt, name)
    return _outer_zeros(tt, batch, item, outer) if picked is None else picked


def attribute_tangent_tangent_tangent(ttt, z, name, batch):
    """Tangent of ``z = attribute_tangent_tangent(tt, t, item, name, rows)``
    (linear in ``tt``) from the tangent ``ttt`` of ``tt``: the attribute's
    entry, or zeros ``(batch,) + z.shape`` where it has none (an attribute
    whose tangent of this order starts as a hole, ``self.total = 0.0`` then
    ``self.total += v`` in a loop, under a third derivative). Its own tangent
    is the same helper one order up."""
    picked = _picked_attribute(ttt, name)
    return zeros_bar(z, batch) if picked is None else picked


def attribute_tangent_adjoint(g, t, name):
    """Adjoint of ``attribute_tangent(t, item, name, batch)`` with respect
    to ``t``: ``g`` at the attribute, holes elsewhere."""
    if t is None:
        return None
    if isinstance(t, dict):
        holes = dict.fromkeys(t)
        holes[name] = g
        return holes
    from .indexing import rebuild_like

    return rebuild_like(t, [g if field == name else None for field in t._fields])


def vattribute_tangent(t, item, name, rows, batch):
    """``attribute_tangent`` on a batch (vmap of forward code): the
    attribute's entry of the batched tangent ``t``, or zeros ``(V, rows) +
    shape``."""
    from .batched_derivatives import vzeros_bar

    if isinstance(t, np.ndarray):
        raise TypeError(f"cannot differentiate the attribute .{name} of an array.")
    picked = _picked_attribute(t, name)
    return vzeros_bar(item, rows, batch) if picked is None else picked


def outside_list_entry(items):
    """The working copy of a list of the module (or a closure) whose items
    the function replaces: a new list, its array items copied, so the
    derivative code's values are not changed by what the function writes
    back into the module's list (``outside_item_back``)."""
    return [item.copy() if isinstance(item, np.ndarray) else item for item in items]


def outside_list_originals(items):
    """The items a list of the module holds when the function starts."""
    return tuple(items)


def outside_item_back(items, key, value, in_place, originals, others, message):
    """``items[key] = value`` made on the module's list itself, as Python
    makes it. ``in_place`` (``items[key] op= v``): an array that was in the
    list when the function started (one of ``originals``) is updated in
    place, as NumPy does, so whatever else holds it sees the new values;
    refused with ``message`` when it shares memory with one of ``others``
    (arrays of the module the function reads, whose values the derivative
    code may keep)."""
    old = items[key] if in_place and not isinstance(key, slice) else None
    if isinstance(old, np.ndarray) and any(old is o for o in originals) and np.shape(value) == old.shape:
        if any(isinstance(o, np.ndarray) and _overlaps(old, o) for o in others):
            raise InPlaceRefused(message)
        np.copyto(old, value, casting="same_kind")
        return
    items[key] = value


def check_held_objects(root, expected, message, others=()):
    """Raise ``InPlaceRefused(message)`` unless the object of the module
    ``root`` still holds, at each ``(path, class)`` of ``expected`` (paths
    ``"name.a.b"``, as frontend/held_objects made them when the function was
    transformed), an object of that class that nothing else holds: not
    another attribute of the objects under ``root`` (8 links deep),
    not ``root`` itself, not one of ``others`` (the other objects, lists and
    dicts of the module the function reads) nor their items or attributes.
    Changes through those paths are followed in the derivative code, which
    would miss them read under another name."""
    held = []
    for path, cls in expected:
        value = root
        for attribute in path.split(".")[1:]:
            value = getattr(value, "__dict__", {}).get(attribute, message)
        if value is message or type(value) is not cls:
            now = "holds nothing" if value is message else f"holds an object of class {type(value).__name__}"
            raise InPlaceRefused(message.replace("{other}", f"{path} now {now}, not the {cls.__name__} it held"))
        held.append((path, id(value)))
    counts = {}
    level, seen = [root], set()
    for _ in range(9):  # (frontend/held_objects.HELD_DEPTH links, and the root)
        inner = []
        for value in level:
            counts[id(value)] = counts.get(id(value), 0) + 1
            if id(value) in seen:
                continue
            seen.add(id(value))
            inner.extend(v for v in (getattr(value, "__dict__", None) or {}).values() if is_plain_object(v))
        level = inner
    for other in others:
        items = other.values() if isinstance(other, dict) else other if isinstance(other, (list, tuple)) else \
            [other] + list((getattr(other, "__dict__", None) or {}).values())
        for value in items:
            counts[id(value)] = counts.get(id(value), 0) + 1
    for path, identity in held:
        if counts.get(identity, 0) != 1:
            raise InPlaceRefused(message.replace("{other}", f"the object at {path} is now held under another "
                                                            "name too"))
