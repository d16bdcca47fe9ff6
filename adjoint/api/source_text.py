"""``source``: the generated derivative code of a function as text, at any
level of composition (and the transform the CLI exports)."""
import inspect
import re
import types


from ..backend import cache
from . import derivatives
from .. import made
from .hints import ArgNums, Function, Mode
from .calling import _callable_parts, _check_argnums, _check_function, _differentiable, _user_errors


# ------------------------------------------------------------------ source

@_user_errors
def source(func: Function, argnums: ArgNums = 0, *, mode: Mode = "vjp", has_aux: bool = False) -> str:
    """The generated derivative code of ``func`` as Python source text.

    A derivative made by ``jacrev``, ``jacfwd`` or ``grad`` shows the function
    written over its generated code first. The code of your functions that it
    calls follows.

    Args:
        func: A function (or a derivative made by a transform).
        argnums: The arguments differentiated (or batched, for ``mode="vmap"``).
        mode: ``"vjp"`` the reverse-mode forward and backward functions,
            ``"jvp"`` the forward-mode (tangent) function, ``"vmap"`` the batched
            function (arguments batched along their first axis).
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        The source text (a str).

    Raises:
        ValueError: An unknown ``mode``.
        adjoint.TransformError: ``func`` cannot be transformed.

    Examples:
        >>> import numpy as np, adjoint
        >>> def f(x):
        ...     return np.sin(x) * x
        >>> print(adjoint.source(f).split("def f_backward")[1])  # doctest: +ELLIPSIS
        (residuals, out_bar):
            # backward pass: adjoints of x
        ...
    """
    _check_function(func, "source")
    if mode not in ("vjp", "jvp", "vmap"):
        raise ValueError(f"mode={mode!r}: expected 'vjp' (reverse mode), 'jvp' (forward mode) "
                         "or 'vmap' (batched).")
    compiled = compiled_for_source(func, argnums, has_aux, mode)
    # The code of the user's functions it calls follows, as they are called.
    from ..backend.compile import transforms_reached

    if isinstance(compiled, derivatives.JacobianVJP):
        # reverse mode of a derivative (source(grad(f))): the function written
        # over the generated code of f, then that code (its reverse transform
        # is forward mode over that function, see derivatives.JacobianVJP)
        function = compiled.function
        text = inspect.getsource(function).rstrip("\n")
        derivative = function.__adjoint_derivative__
        # (the passes of f written into f_jacrev (api/inlined.py) are not shown again after it)
        inlined = getattr(function, "__adjoint_owner__", None) is not None
        parts = [text] + [t.source for t in transforms_reached(derivative)
                          if not (inlined and t is derivative and not _called_in(t.source, text))]
        return "\n\n".join(parts)
    return "\n\n".join(transform.source for transform in transforms_reached(compiled))


def _called_in(source, text):
    """Whether ``text`` calls a function ``source`` defines: the passes of
    f that ``f_jacrev`` holds written into it (api/inlined.py) are not
    shown again after it; the callees it calls are."""
    defined = re.findall(r"^def (\w+)\(", source, re.M)
    body = text.split("\n", 1)[-1]
    return any(re.search(rf"\b{re.escape(name)}\(", body) for name in defined)


def compiled_for_source(func, argnums, has_aux, mode="vjp"):
    """The transform ``source`` prints and the CLI exports: of the Python
    function that runs, with argnums counted as the caller passes them (a
    bound method's or partial's fixed arguments come first)."""
    def get(function, positions):
        # (the code the API runs for real arguments: docs/complex.md)
        if mode == "jvp":
            return cache.get_jvp(function, positions, has_aux, real_params=True)
        if mode == "vmap":
            return cache.get_vmap(function, positions)
        return cache.get_vjp(function, positions, has_aux, real_params=True)

    if made.of(func) is not None:
        count = _positional_count(_innermost(func))
        func = derivatives.derivative_function(func, count)
    function, leading, _ = _callable_parts(func)
    if leading and isinstance(function, types.FunctionType):
        count = _positional_count(function) - len(leading)
        positions = tuple(p + len(leading) for p in _check_argnums(argnums, count))
        return get(function, positions)
    func = _differentiable(func, _positional_count(func))
    return get(func, _check_argnums(argnums, _positional_count(func)))


def _innermost(func):
    """The user's function under derivatives and vmaps of it (whose own
    signature is ``*args``)."""
    record = made.of(func)
    while record is not None:
        func = record[0]
        record = made.of(func)
    return func


def _positional_count(func):
    code = getattr(func, "__code__", None)
    if code is None:
        nin = getattr(func, "nin", None)
        return nin or 1
    return code.co_argcount
