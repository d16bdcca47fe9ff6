"""Objects of the module or closure whose methods call other methods of
their ``self`` (``OSC.energy(x)`` where ``energy`` calls ``self.accel(x)``).

Called as a plain function, such a method's own transform knows its
``self`` only when the code runs, so ``self.accel(x)`` is transformed then
(``rt.method_forward``): enough for a first derivative, not for a derivative
of a derivative, whose transform reads the first one's code. The object's
class is known when the calling function is transformed, so the object is
followed there instead (normalize_objects, as for an object whose methods
set its attributes): the methods called on it, and those they call on
``self``, are read in place of the calls, and every derivative order goes
through them.

The transform then depends on the object's class and on the methods the
class holds, so it records (``class_lookups``: class, name, what the class
held) the methods it read; ``is_current`` compares them on every call
(backend/freshness.py), and the object's name is among ``followed_globals``,
so a name re-bound to an object of another class (or an object whose
``__class__`` was set) makes it stale too.
"""
import contextvars
import types

import gast

from .classes import method_of, methods_called_on
from .gastutil import walk as walk_tree
from .resolve import UNRESOLVED

#: the list the methods read by class while a function is normalized are noted in (classes.method_of)
LOOKUPS = contextvars.ContextVar("class_lookups", default=None)

_MISSING = object()


def static_lookup(cls, name):
    """What ``cls`` holds under ``name`` (the first class of its MRO that
    holds it; no descriptor run), or a marker. (Checked on every call of a
    derivative: a plain loop, cheaper than inspect.getattr_static.)"""
    for klass in cls.__mro__:
        held = klass.__dict__
        if name in held:
            return held[name]
    return _MISSING


def note_lookup(cls, name):
    """Note that the transform being made read ``cls.name``."""
    found = LOOKUPS.get()
    if found is not None and isinstance(cls, type):
        found.add((cls, name, static_lookup(cls, name)))


def lookups_current(lookups):
    """Whether every class still holds what the transform read from it."""
    for cls, name, held in lookups:
        if static_lookup(cls, name) is not held:
            return False
    return True


def _self_calls(function, cls, inlinable):
    """The names of the methods ``function`` calls on its first parameter
    (``self.accel(x)``; ``__call__`` for ``self(x)``); None where it cannot
    tell, or where it reads an attribute of ``self`` that the class computes
    in a way not read in place (a descriptor, a property whose getter
    ``inlinable`` refuses, ``self.__dict__``)."""
    from .. import errors
    from .parse import parse_function

    try:
        node = parse_function(function).node
    except errors.AdjointError:
        return None
    if not node.args.args:
        return set()
    first = node.args.args[0].id
    for child in walk_tree(node):
        if isinstance(child, gast.Attribute) and isinstance(child.value, gast.Name) and child.value.id == first:
            if child.attr == "__dict__":
                return None
            static = static_lookup(cls, child.attr)
            if static is _MISSING or isinstance(static, (types.FunctionType, staticmethod, classmethod)):
                continue
            if isinstance(static, property):
                if static.fget is None or not inlinable(static.fget):
                    return None
            elif hasattr(type(static), "__get__"):
                return None
    return methods_called_on(node, first) or set()


def _methods_reached(cls, names, inlinable, instance):
    """The methods of ``cls`` that calling ``names`` on an object of it
    reaches through calls on ``self``, with whether any calls a method on
    ``self``; None if one cannot be read in place (a static or class method,
    a callable the instance holds itself, one ``inlinable`` refuses)."""
    seen, pending, calls_self = set(), list(names), False
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        method = method_of(cls, name)
        if method is None or name in getattr(instance, "__dict__", {}) or not inlinable(method):
            return None
        called = _self_calls(method, cls, inlinable)
        if called is None:
            return None
        calls_self = calls_self or bool(called)
        pending.extend(called)
    return seen, calls_self


def objects_calling_own_methods(function_node, value_of, local, inlinable, user_instance, taken):
    """``{name: object}``: the objects of the module or closure (not local
    names, not in ``taken``) on which the function body calls a method that
    calls another method of its ``self``, all of them readable in place."""
    found, refused = {}, set()
    for child in walk_tree(function_node):
        if not (isinstance(child, gast.Call) and isinstance(child.func, gast.Attribute)
                and isinstance(child.func.value, gast.Name)):
            continue
        name = child.func.value.id
        if local(name) or name in taken or name in found or name in refused:
            continue
        value = value_of(gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None))
        if value is UNRESOLVED or not user_instance(value):
            refused.add(name)
            continue
        called = methods_called_on(function_node, name)
        reached = _methods_reached(type(value), called, inlinable, value) if called else None
        if reached is None or not reached[1]:
            refused.add(name)
            continue
        found[name] = value
    return found



def class_checks(normalized, namespace):
    """``attribute_callees`` entries for the objects of the module the
    transform followed (name -> class, ``followed_globals``): (name,
    ("__class__",), class), so that an object whose class was set to another
    in place makes it stale as one re-bound does, and (name, (method,), the
    bound method) for each method read from its class, so that a callable
    the object itself comes to hold under that name does too."""
    checks = []
    lookups = getattr(normalized, "class_lookups", ())
    for name, cls in sorted(getattr(normalized, "followed_globals", {}).items(), key=lambda item: item[0]):
        if name not in namespace or not isinstance(cls, type) or cls is list:
            continue
        checks.append((name, ("__class__",), cls))
        value = namespace[name]
        for looked, method, held in sorted(lookups, key=lambda item: item[1]):
            if looked is cls and isinstance(held, types.FunctionType) and type(value) is cls:
                bound = getattr(value, method, None)
                if bound is not None:
                    checks.append((name, (method,), bound))
    return checks
