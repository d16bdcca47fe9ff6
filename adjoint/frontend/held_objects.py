"""The objects of the user's classes that an object holds in its attributes
(``model.layer``, ``model.block.layer``), as the transforms follow them:
for an argument (api/calling.object_arguments, per call) and for an object
of the function's module whose held objects the function changes
(``MODEL.layer.W = v``, normalize_objects, checked again each time the code
runs by ``rt.check_held_objects``).

``held_objects`` takes the object and the other values that may hold the
same objects, and guarantees: each path it returns reaches, from the
object, an object that no other path, no other value given and none of
their attributes holds (a change through one name would reach the other
without its derivative), at most ``HELD_DEPTH`` links deep.
"""
from .normalize_objects import user_instance

#: how many links of objects held by objects a chain may have
#: (``model.deep.net.block.layer``): deeper chains stay refused.
HELD_DEPTH = 8

#: types that are never objects of the user's classes (checked first: the common case)
PLAIN_TYPES = frozenset({float, int, bool, complex, tuple, list, dict, type(None), str})


def held_objects(name, obj, others=(), depth=HELD_DEPTH):
    """``((f"{name}.{attribute}", class), ...)``: the objects of the user's
    classes that ``obj`` holds in its attributes (``model.layer``), and
    those they hold in turn, up to ``depth`` links (``model.block.layer``),
    so that a change through them (``model.layer.h = v``) is followed. An
    object held twice (under two attributes, by one of ``others``, one of
    their attributes or items, or ``obj`` itself) is left out, and what it holds
    with it: it stays refused."""
    def held_by(value):
        attributes = getattr(value, "__dict__", None) or {}
        return [(attribute, item) for attribute, item in attributes.items()
                if type(item) not in PLAIN_TYPES and user_instance(item)]

    found, level, expanded = [], [(name, obj)], set()
    for _ in range(depth):
        # (an object met again, by a cycle or a second path, is held twice: left out below, and not
        # looked into again, so a cycle ends)
        inner = []
        for path, value in level:
            if id(value) not in expanded:
                expanded.add(id(value))
                inner.extend((f"{path}.{attribute}", item) for attribute, item in held_by(value))
        level = inner
        found.extend(level)
        if not level:
            break
    if not found:
        return ()
    counts = {}
    for value in [v for other in others for v in _held_by_other(other)] + [obj]:
        counts[id(value)] = counts.get(id(value), 0) + 1
    for _, value in found:
        counts[id(value)] = counts.get(id(value), 0) + 1
    kept = []
    for path, value in found:
        parent = path.rsplit(".", 1)[0]
        if counts[id(value)] == 1 and (parent == name or any(p == parent for p, _ in kept)):
            kept.append((path, value))
    return tuple((path, type(value)) for path, value in kept)


def _held_by_other(other):
    """``other`` and what it holds directly: a list's or tuple's items, a dict's values, an object's attributes."""
    if isinstance(other, dict):
        return [other] + list(other.values())
    if isinstance(other, (list, tuple)):
        return [other] + list(other)
    return [other] + list((getattr(other, "__dict__", None) or {}).values())
