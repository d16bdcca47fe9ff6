"""Diagonal Jacobians from one pass over a seed of ones.

A transform whose generated code only scales its seed elementwise
(``x_bar = out_bar * factor``, ``out_dot = x_dot * factor``:
``compiled.scaled_seed``, see backend/scaled_seed.py) has, when the output
and the argument have the same shape, the diagonal Jacobian
``diag(factor)``. The short paths of ``jacrev`` and ``jacfwd`` then push
a seed of ones (one row, ``1 * factor``) instead of the identity basis
(``n`` rows, an ``n x n`` product), and write the diagonal into zeros, as a
derivative written by hand does with ``np.diag``. The values are the
same: the identity pass computes ``1 * factor`` on the diagonal and
``0 * factor`` elsewhere, which is 0 unless the factor is infinite or NaN;
such a factor is handed back to the identity pass (``0 * inf`` is NaN
there, and the zero-tangent guards decide what it becomes).
"""
import math

import numpy as np

#: the fewest elements for which the pass over ones pays: below, the
#: identity pass's ``n x n`` product costs less than the diagonal's few
#: NumPy calls (a finiteness check, zeros, a strided write)
SMALLEST = 64
#: read-only seeds of ones, ``(1,) + shape``, by shape and dtype
_ONES = {}


def ones_row(shape, dtype):
    """A read-only array of ones of shape ``(1,) + shape`` (the small ones
    built once and shared)."""
    key = (shape, dtype)
    seed = _ONES.get(key)
    if seed is None:
        seed = np.ones((1,) + tuple(shape), dtype=dtype)
        seed.flags.writeable = False
        if len(_ONES) < 64 and seed.size <= 1 << 16:
            _ONES[key] = seed
    return seed


def diagonal(pushed, shape, dtype):
    """The Jacobian ``shape + shape`` whose diagonal is ``pushed`` (a pass
    over ``ones_row(shape, dtype)``), or None when ``pushed`` is not a
    finite array of that shape and dtype (then the identity pass decides)."""
    if type(pushed) is not np.ndarray or pushed.dtype != dtype or pushed.shape != (1,) + shape:
        return None
    values = pushed.reshape(-1)
    if not math.isfinite(values @ values):  # (one pass; a sum of squares that overflows: the identity pass too)
        return None
    size = values.size
    result = np.zeros((size, size), dtype=dtype)
    result.reshape(-1)[::size + 1] = values
    return result.reshape(shape + shape)
