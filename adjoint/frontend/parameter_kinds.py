"""Which parameters' kinds (array or list) a transform was made for.

``[x, y] + a`` joins two lists when ``a`` is a list and is NumPy's sum when
``a`` is an array; the generated code must be one or the other. When ``a``
is a parameter of the function, the normalizer notes it here
(``note_sensitive``) and takes Python's join, refused when the code runs if
``a`` is an array. The API then adds the kinds of the noted parameters of
each call to the cache key (``argument_kinds``, under ``KINDS_KEY`` among
the call's ``objects``), and makes the transform again for the call that
revealed them: a transform made with ``a`` an array takes NumPy's sum, and
is found only for calls that pass an array there, so a call with a list
gets (or makes) the other transform. Nothing is decided for a parameter
whose kind the key does not carry (a function called by the function, the
derivative code of a composition): it keeps the join and its check.
"""
import inspect

import numpy as np

#: the entry of ``objects`` (see api/calling.object_arguments) that holds ((parameter, kind), ...)
KINDS_KEY = "<parameter kinds>"

#: code object -> names of its parameters whose kind decides what an operator means
_SENSITIVE = {}


def user_objects(objects):
    """``objects`` without the kinds entry: the objects of the user's classes a call passes, or None."""
    found = tuple(entry for entry in objects or () if entry[0] != KINDS_KEY)
    return found or None


def note_sensitive(function, name):
    """Record that ``function``'s transform depends on the kind of its parameter ``name``."""
    code = getattr(function, "__code__", None)
    if code is not None and name in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
        _SENSITIVE.setdefault(code, set()).add(name)


def sensitivity(function):
    """A token that changes when a parameter of ``function`` is noted."""
    return len(_SENSITIVE.get(getattr(function, "__code__", None), ()))


def kind_of(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return "array"
    if isinstance(value, (list, tuple)):
        return "sequence"
    return "other"


def argument_kinds(function, args, keywords=None):
    """``((parameter, kind), ...)`` for the noted parameters of ``function``
    in a call with ``args`` and ``keywords``; None when none is noted."""
    names = _SENSITIVE.get(getattr(function, "__code__", None))
    if not names:
        return None
    code = function.__code__
    positional = code.co_varnames[:code.co_argcount]
    found = []
    for name in sorted(names):
        if name in positional and positional.index(name) < len(args):
            found.append((name, kind_of(args[positional.index(name)])))
        elif keywords and name in keywords:
            found.append((name, kind_of(keywords[name])))
        else:
            default = inspect.signature(function).parameters.get(name)
            value = default.default if default is not None else None
            found.append((name, kind_of(value)))
    return tuple(found)
