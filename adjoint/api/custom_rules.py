"""``defvjp`` and ``defjvp``: derivatives registered by the user for a
function, which adjoint then treats as a primitive (its rule wins over its
source)."""


from ..backend import cache
from .. import rules
from .hints import F, Maker


def defvjp(fn: F, *vjp_makers: Maker, batched: bool = False) -> F:
    """Register the reverse-mode derivative of ``fn``, which adjoint then treats
    as a primitive (its rule wins over its source).

    Args:
        fn: The function (one without Python source, or one to keep opaque).
        *vjp_makers: One per positional argument of ``fn`` (``None`` for an
            argument without derivative), each called as ``maker(ans, *args,
            **kwargs)`` with ``fn``'s result and arguments, returning
            ``g -> contribution``.
        batched: With ``False``, ``g`` is one cotangent shaped like ``ans``
            (called once per row of a chunk); with ``True`` it has a leading
            batch axis, and so must the contribution (one call per chunk).

    Returns:
        ``fn`` itself.

    Raises:
        TypeError: ``fn`` or a maker is not callable.

    Examples:
        >>> import numpy as np, adjoint
        >>> def softplus(x):
        ...     return np.log1p(np.exp(x))
        >>> _ = adjoint.defvjp(softplus, lambda ans, x: lambda g: g / (1.0 + np.exp(-x)))
        >>> adjoint.grad(lambda x: np.sum(softplus(x)))(np.array([0.0]))
        array([0.5])
    """
    if not callable(fn):
        raise TypeError(f"defvjp needs a function, got {type(fn).__name__}.")
    for position, maker in enumerate(vjp_makers):
        if maker is not None and not callable(maker):
            raise TypeError(f"defvjp: maker {position} of {getattr(fn, '__name__', fn)} is not callable.")
    rules.CUSTOM_VJPS[fn] = rules.CustomVJP(fn, vjp_makers, bool(batched))
    cache.clear()
    return fn


def defjvp(fn: F, *jvp_makers: Maker) -> F:
    """Register the forward-mode derivative of ``fn``.

    Args:
        fn: The function.
        *jvp_makers: One per positional argument (``None`` for an argument
            without derivative), each called as ``maker(ans, *args, **kwargs)``,
            returning ``t -> contribution`` for one tangent ``t`` shaped like that
            argument (adjoint calls it per tangent row).

    Returns:
        ``fn`` itself.

    Raises:
        TypeError: ``fn`` or a maker is not callable.

    Examples:
        >>> import numpy as np, adjoint
        >>> def cube(x):
        ...     return x ** 3
        >>> _ = adjoint.defjvp(cube, lambda ans, x: lambda t: 3.0 * x ** 2 * t)
        >>> adjoint.jacfwd(lambda x: cube(x) + x)(np.array([2.0]))
        array([[13.]])
    """
    if not callable(fn):
        raise TypeError(f"defjvp needs a function, got {type(fn).__name__}.")
    for position, maker in enumerate(jvp_makers):
        if maker is not None and not callable(maker):
            raise TypeError(f"defjvp: maker {position} of {getattr(fn, '__name__', fn)} is not callable.")
    rules.CUSTOM_JVPS[fn] = rules.CustomJVP(fn, jvp_makers)
    cache.clear()
    return fn
