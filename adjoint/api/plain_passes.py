"""Whether a generated pass can note a guarded zero tangent, decided once
per generated function.

``bases.pull_back`` and ``bases.push_seeds`` run a pass under
``rt.noting_guards``, to run it again with the seed's zeros marked when
``rt.times_tangent`` guarded a zero (co)tangent meanwhile. Noting costs a
context variable set and reset around every pass, a tenth of a small
Jacobian's time. ``rt.times_tangent`` is called only by generated code
(its text names it); a pass whose code calls nothing but NumPy and
runtime helpers that compute with NumPy alone (``PLAIN_HELPERS``: they
call no generated code, no user function and no ``times_tangent``) cannot
note one, and runs bare: the same values, since nothing could be noted.

``plain(function)`` reads the function's code object: every global name
it reads must be NumPy or the runtime module, and every other name (an
attribute) a helper of ``PLAIN_HELPERS`` or a NumPy (or array) attribute
that the runtime does not also define; a function with nested code (a
lambda, a comprehension) or anything else is not plain. Anything that is
not a function of generated code (a lambda of api/calling.py, a partial)
is not plain either.
"""
import types

import numpy as np

from .. import runtime

#: runtime helpers that compute with NumPy alone (no generated code, no user function, no times_tangent)
PLAIN_HELPERS = frozenset({
    "unbroadcast", "unreduce", "matmul_adjoint_left", "matmul_adjoint_right", "getitem_adjoint",
    "scatter_add", "transpose_adjoint", "extremum_adjoint", "batch_size", "batch_count",
})

def plain(function):
    """Whether the generated pass ``function`` can never call ``rt.times_tangent``
    (kept on the function: decided at its first pass)."""
    try:
        return function._adjoint_plain
    except AttributeError:
        found = _plain(function)
        try:
            function._adjoint_plain = found
        except (AttributeError, TypeError):  # (a bound method takes no attribute: decided again)
            pass
        return found


def _plain(function):
    if type(function) is not types.FunctionType or not function.__name__.endswith(("_backward", "_jvp")):
        return False
    code = function.__code__
    if code.co_freevars or any(isinstance(c, types.CodeType) for c in code.co_consts):
        return False
    namespace = function.__globals__
    for name in code.co_names:
        if name in namespace:
            if namespace[name] is not np and namespace[name] is not runtime:
                return False
        elif name not in PLAIN_HELPERS and (hasattr(runtime, name)
                                            or not (hasattr(np, name) or hasattr(np.ndarray, name))):
            return False
    return True
