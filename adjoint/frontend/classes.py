"""What a user's class does to its attributes, read from the class itself:
an attribute it computes (a property or another descriptor), the plain
function a name of it is, and whether a method sets attributes of ``self``.
Shared by ``normalize_objects`` (objects followed through a function) and
``normalize_held`` (objects held by other objects)."""
import inspect
import types

import gast

from .. import errors


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
    for child in gast.walk(node):
        if (isinstance(child, gast.Attribute) and isinstance(child.ctx, gast.Store)
                and isinstance(child.value, gast.Name) and child.value.id == first):
            return True
        if (isinstance(child, gast.Call) and isinstance(child.func, gast.Attribute)
                and isinstance(child.func.value, gast.Name) and child.func.value.id == first):
            other = method_of(cls, child.func.attr)
            if other is not None and mutates_self(cls, other, seen):
                return True
    return False
