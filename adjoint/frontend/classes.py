"""What a user's class does to its attributes, read from the class itself:
an attribute it computes (a property or another descriptor), the plain
function a name of it is, and whether a method sets attributes of ``self``.
Shared by ``normalize_objects`` (objects followed through a function) and
``normalize_held`` (objects held by other objects)."""
import inspect
import types

import gast

from .. import errors
from .gastutil import walk as walk_tree


def computed_by_class(cls, name):
    """Whether ``cls`` computes the attribute ``name`` (a property or
    another descriptor), so that reading it is no read of a stored value."""
    try:
        static = inspect.getattr_static(cls, name)
    except AttributeError:
        return False
    return not isinstance(static, (types.FunctionType, staticmethod, classmethod)) and hasattr(type(static), "__get__")


def method_of(cls, name):
    """The plain function ``cls.name`` defines (no staticmethod, classmethod
    or property), else None."""
    from .normalize_self_calls import note_lookup

    note_lookup(cls, name)  # (the transform being made depends on what the class holds: is_current)
    try:
        found = inspect.getattr_static(cls, name)
    except AttributeError:
        return None
    return found if isinstance(found, types.FunctionType) else None


def mutates_self(cls, function, seen=None):
    """Whether ``function`` (a method of ``cls``) sets an attribute of its
    first argument, itself or through another method called on it."""
    from .parse import parse_function

    seen = set() if seen is None else seen
    if function in seen:
        return False
    seen.add(function)
    try:
        node = parse_function(function).node
    except errors.AdjointError:
        return False
    if not node.args.args:
        return False
    first = node.args.args[0].id
    for child in walk_tree(node):
        if (isinstance(child, gast.Attribute) and isinstance(child.ctx, gast.Store)
                and isinstance(child.value, gast.Name) and child.value.id == first):
            return True
        if (isinstance(child, gast.Call) and isinstance(child.func, gast.Attribute)
                and isinstance(child.func.value, gast.Name) and child.func.value.id == first):
            other = method_of(cls, child.func.attr)
            if other is not None and mutates_self(cls, other, seen):
                return True
    return False


def _chain_root(node):
    """``(root name, first attribute)`` of an attribute chain ``a.b...``
    with at least two links, else None."""
    links = []
    while isinstance(node, gast.Attribute):
        links.append(node.attr)
        node = node.value
    if not isinstance(node, gast.Name) or not links:
        return None
    return node.id, links[-1]


def changes_held(cls, function, held, seen=None):
    """Whether ``function`` (a method of ``cls``) changes an object that its
    first argument holds in an attribute (``held``: attribute name ->
    class, of the objects an argument holds when the call is made): sets
    ``self.layer.h``, calls a method of ``self.layer`` that sets attributes
    (or ``self.layer(x)``), or calls a method of ``self`` that does."""
    from .parse import parse_function

    seen = set() if seen is None else seen
    if function in seen or not held:
        return False
    seen.add(function)
    try:
        node = parse_function(function).node
    except errors.AdjointError:
        return False
    if not node.args.args:
        return False
    return body_changes_held(node, node.args.args[0].id, cls, held, seen)


def body_changes_held(node, name, cls, held, seen=None):
    """``changes_held`` for the code ``node`` with the object under ``name``."""
    for child in walk_tree(node):
        if isinstance(child, gast.Attribute) and isinstance(child.ctx, gast.Store):
            root = _chain_root(child.value)
            if root is not None and root[0] == name and root[1] in held:
                return True  # self.layer.h = v
        if not isinstance(child, gast.Call):
            continue
        func = child.func
        target, method_name = (func.value, func.attr) if isinstance(func, gast.Attribute) else (func, "__call__")
        if isinstance(target, gast.Attribute) and isinstance(target.value, gast.Name) and target.value.id == name:
            inner = held.get(target.attr)  # self.layer.step(x), self.layer(x)
            method = method_of(inner, method_name) if inner is not None else None
            if method is not None and mutates_self(inner, method):
                return True
        elif isinstance(target, gast.Name) and target.id == name and isinstance(func, gast.Attribute):
            method = method_of(cls, func.attr)  # self.other(x): changes what self holds?
            if method is not None and changes_held(cls, method, held, seen):
                return True
    return False


def methods_called_on(node, name):
    """The names of the methods the code ``node`` calls on the object under
    ``name`` (``name.step(x)``; ``__call__`` for ``name(x)``); None when it
    uses ``name`` otherwise too, or calls what is not a method (a stored
    function, a static method)."""
    called, calls = set(), set()
    for child in walk_tree(node):
        if not isinstance(child, gast.Call):
            continue
        if isinstance(child.func, gast.Attribute) and isinstance(child.func.value, gast.Name) \
                and child.func.value.id == name:
            called.add(child.func.attr)
            calls.add(id(child.func.value))
        elif isinstance(child.func, gast.Name) and child.func.id == name:
            called.add("__call__")
            calls.add(id(child.func))
    return called or None
