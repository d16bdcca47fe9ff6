"""What the transforms made: the functions jacrev, jacfwd, grad and vmap
return, and what each computes. Kept here by identity, not as attributes,
which functools.wraps would copy to a function wrapping one of them (a
user's decorator, or the next transform). Imports nothing of adjoint, so
every layer may ask it."""
import weakref

_made = weakref.WeakKeyDictionary()
_vmap_chunks = weakref.WeakKeyDictionary()
_derived = weakref.WeakKeyDictionary()


def register(wrapper, func, kind, options, more, chunk_size=None):
    """Record that ``wrapper`` computes ``kind`` (jacrev, jacfwd, grad, vmap) of ``func``."""
    _made[wrapper] = (func, kind, options, more)
    if kind == "vmap":
        _vmap_chunks[wrapper] = chunk_size


def of(wrapper):
    """``(func, kind, argnums, has_aux)`` if ``wrapper`` was made by a
    transform (for vmap: ``(func, "vmap", in_dims, out_dims)``)."""
    try:
        return _made.get(wrapper)
    except TypeError:  # unhashable
        return None


def vmap_of(wrapper):
    """``(func, in_dims, out_dims, chunk_size)`` if ``wrapper`` was made by vmap."""
    made = of(wrapper)
    if made is None or made[1] != "vmap":
        return None
    return made[0], made[2], made[3], _vmap_chunks.get(wrapper)


def derived(function, wrapper):
    """Record that the generated derivative function ``function`` (``f_jacrev``)
    computes ``wrapper`` (what ``jacrev(f)`` returned): kept as its
    description, a string, so that nothing here keeps the wrapper alive."""
    _derived[function] = describe(wrapper)


def describe(func):
    """``func`` as the user wrote it: ``jacrev(jacrev(f))`` for a transform
    of a transform (a generated derivative function named by the transform
    it computes), else its name."""
    made = of(func)
    if made is not None:
        return f"{made[1]}({describe(made[0])})"
    try:
        described = _derived.get(func)
    except TypeError:  # unhashable
        described = None
    if described is not None:
        return described
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__
