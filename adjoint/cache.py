"""The cache of compiled transforms.

Entries are kept per function (weakly, so a cached transform never keeps a
function alive) and per options: the transform, the differentiated argument
positions, and has_aux. Shapes and dtypes are not part of the key: the generated code is
shape-polymorphic. An entry is dropped and rebuilt when a function it calls
has been re-bound since (``CompiledVJP.is_current``).
"""
import weakref

from .transform import vjp_transform

_by_function = weakref.WeakKeyDictionary()
_unweakrefable = {}


def _entries(func):
    try:
        return _by_function.setdefault(func, {})
    except TypeError:
        return _unweakrefable.setdefault(func, {})


def get_vjp(func, wrt_positions, has_aux):
    entries = _entries(func)
    key = ("vjp", wrt_positions, has_aux)
    compiled = entries.get(key)
    if compiled is None or not compiled.is_current():
        compiled = vjp_transform(func, wrt_positions, has_aux)
        entries[key] = compiled
    return compiled


def clear():
    """Forget every compiled transform (after a new rule is registered)."""
    _by_function.clear()
    _unweakrefable.clear()
