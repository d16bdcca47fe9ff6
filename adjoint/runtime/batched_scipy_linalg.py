"""vmap of SciPy's linear algebra (``scipy.linalg.cholesky``, ``expm``,
``eigh``, ``solve_triangular``, ``cho_factor``, ``cho_solve``): one call on
the whole stack of matrices where the installed SciPy takes stacks (SciPy
>= 1.15), else once per example.

The SciPy function comes as an argument (the generated code hands it in):
these helpers import nothing but NumPy.
"""
import numpy as np

from .batched import to_batched
from .batched_shape import _DIFFERS, _common


def _scipy_batches():
    """Whether the imported SciPy's linalg functions may take stacks of
    matrices (SciPy >= 1.15; a function that still wants one matrix raises
    ValueError and is called once per example); older ones are called once
    per example."""
    import sys

    try:
        return np.lib.NumpyVersion(sys.modules["scipy"].__version__) >= "1.15.0"
    except (KeyError, AttributeError, ValueError):
        return False


def vmatrix_function(function, a, **kwargs):
    """``function(a, **kwargs)`` (scipy.linalg.cholesky, expm) of every example."""
    if _scipy_batches():
        try:
            return function(a, **kwargs)
        except ValueError:  # (this function of this SciPy takes one matrix: once per example)
            pass
    return np.stack([function(a[v], **kwargs) for v in range(np.shape(a)[0])])


def vmatrix_pair(function, a, **kwargs):
    """``function(a, **kwargs)`` (scipy.linalg.eigh: a pair of arrays) of
    every example, as ``vmatrix_function``."""
    if _scipy_batches():
        try:
            return function(a, **kwargs)
        except ValueError:  # (this function of this SciPy takes one matrix: once per example)
            pass
    pairs = [function(a[v], **kwargs) for v in range(np.shape(a)[0])]
    return tuple(np.stack(items) for items in zip(*pairs))


def _solve_stack(function, first, b, batched_first, **kwargs):
    """``function(first, b, **kwargs)`` of every example, a right-hand side
    that is a vector in each example made a one-column matrix."""
    vector = np.ndim(b) == 2 and (np.ndim(first) == 3 if batched_first else True)
    rhs = np.asarray(b)[..., None] if vector else b
    z = None
    if _scipy_batches():
        try:
            z = function(first, rhs, **kwargs)
        except ValueError:  # (this function of this SciPy takes one matrix: once per example)
            z = None
    if z is None:
        z = np.stack([function(first[v] if batched_first else first, rhs[v], **kwargs)
                      for v in range(np.shape(rhs)[0])])
    return z[..., 0] if vector else z


def vsolve_triangular(function, a, b, trans=0, lower=False):
    """``scipy.linalg.solve_triangular(a, b, trans, lower)`` of every example."""
    return _solve_stack(function, a, b, True, trans=trans, lower=lower)


def vcho_factor(function, a, lower=False, check_finite=True):
    """``scipy.linalg.cho_factor(a, lower)`` of every example: the factors,
    and ``lower`` for every example."""
    factor = vmatrix_function(lambda m, **kw: function(m, **kw)[0], a, lower=lower, check_finite=check_finite)
    return factor, to_batched(lower, np.shape(a)[0])


def vcho_solve(function, c_and_lower, b, check_finite=True):
    """``scipy.linalg.cho_solve((c, lower), b)`` of every example (``lower``
    the same for every example, else once per example)."""
    from .batched import example, stack_examples

    c, lower = c_and_lower
    shared = _common(lower)
    if shared is _DIFFERS:
        return stack_examples([function((c[v], bool(example(lower, v))), b[v], check_finite=check_finite)
                               for v in range(np.shape(b)[0])])
    return _solve_stack(lambda factor, rhs, **kw: function((factor, bool(shared)), rhs, **kw), c, b, True,
                        check_finite=check_finite)
