"""What the transforms made: the functions jacrev, jacfwd, grad and vmap
return, and what each computes. Kept here by identity, not as attributes,
which functools.wraps would copy to a function wrapping one of them (a
user's decorator, or the next transform). Imports nothing of adjoint, so
every layer may ask it."""
import weakref

_made = weakref.WeakKeyDictionary()
_vmap_chunks = weakref.WeakKeyDictionary()


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
