"""vmap of the derivative helpers of the linear solvers: np.linalg.solve's
tangent and scipy.linalg.cho_factor / cho_solve's adjoints and tangents, so
that ``vmap(jacrev(f))``, ``vmap(jacfwd(f))`` and ``vmap(hessian(f))`` of a
function that solves call NumPy once on the whole batch.

In batched derivative code an adjoint or tangent has the vmap axis first and
its own batch axis second, ``(V, B) + x.shape``; a primal value has
``(V,) + x.shape``. The helpers act on the last two axes (matrix products,
inverses, triangles), so a primal matrix given an axis after the vmap axis,
``(V, 1) + shape``, broadcasts against the rows of its example's adjoint.
Each example's result is the one the unbatched helper computes. Where the
examples disagree on something the helper needs to be the same (a list
tangent, ``lower`` differing between examples), it runs once per example.
"""
import numpy as np

from .batched import example, stack_examples
from .batched_shape import _DIFFERS, _common
from .cholesky_solve import (
    _solve_columns, cho_factor_adjoint, cho_factor_rest, cho_factor_tangent, cho_factor_triangle, cho_solve_adjoint,
    cho_solve_factor_adjoint, cho_solve_factor_tangent, cho_solve_tangent,
)
from .linalg import _mT, _solve_reads_vectors, cholesky_adjoint
from .tangent_linalg import cholesky_tangent, solve_tangent


def _solver_per_example(helper, args, kwargs=None):
    count = next(np.shape(a)[0] for a in args if isinstance(a, np.ndarray))
    return stack_examples([helper(*[example(a, v) for a in args], **(kwargs or {})) for v in range(count)])


def _lead_after_two(t, ndim):
    """``t`` (``(V, B) + shape``) with size-1 axes after its two leading axes
    so that it has ``ndim`` axes besides them (``_lead`` of every example)."""
    missing = ndim - (t.ndim - 2)
    if missing <= 0:
        return t
    return np.reshape(t, t.shape[:2] + (1,) * missing + t.shape[2:])


def vsolve_tangent(t, inverse, a, b, z, wrt_a=False):
    """``solve_tangent`` of every example: ``t`` is ``(V, T) + shape``,
    ``inverse``, ``a``, ``b`` and ``z`` batched primal values."""
    if type(t) is not np.ndarray:
        return _solver_per_example(solve_tangent, (t, inverse, a, b, z), {"wrt_a": wrt_a})
    inverse, z = np.asarray(inverse), np.asarray(z)
    one_z = z[0]
    if _solve_reads_vectors(np.asarray(a)[0], np.asarray(b)[0]):
        column = (t @ z[:, None, ..., None])[..., 0] if wrt_a else _lead_after_two(t, one_z.ndim)
        if inverse.ndim == 3:  # one matrix per example
            part = column @ np.swapaxes(inverse, -1, -2)
        else:
            part = (inverse[:, None] @ column[..., None])[..., 0]
    else:
        moved = _lead_after_two(t, one_z.ndim) @ z[:, None] if wrt_a else _lead_after_two(t, one_z.ndim)
        part = inverse[:, None] @ moved
    return -part if wrt_a else part


def _shared_lower(c_and_lower):
    """The ``lower`` flag every example shares, or ``_DIFFERS``."""
    return _common(c_and_lower[1])


def _cho_matrices(c, lower):
    """``cho_matrix`` of every example, an axis after the vmap axis."""
    factor = cho_factor_triangle(c, lower)
    return (factor @ _mT(factor) if lower else _mT(factor) @ factor)[:, None]


def vcho_factor_adjoint(g, z, lower=False):
    """``cho_factor_adjoint`` of every example: ``g`` the adjoint of the
    pair ``(c, lower)``, ``(V, B) + c.shape`` for ``c``."""
    c = np.asarray(z[0])
    g_c = g[0] if isinstance(g, (tuple, list)) else g
    if type(g_c) is not np.ndarray:
        return _solver_per_example(cho_factor_adjoint, (g, z), {"lower": lower})
    factor = cho_factor_triangle(c, lower)[:, None]
    inner = cholesky_adjoint(cho_factor_triangle(g_c, lower), factor, upper=not lower)
    return inner + cho_factor_rest(g_c, lower)


def vcho_factor_tangent(t, a, z, lower=False):
    """``cho_factor_tangent`` of every example: ``(dc, None)``."""
    if type(t) is not np.ndarray:
        return _solver_per_example(cho_factor_tangent, (t, a, z), {"lower": lower})
    factor = cho_factor_triangle(np.asarray(z[0]), lower)[:, None]
    dc = cholesky_tangent(t, factor, upper=not lower) + cho_factor_rest(t, lower)
    return type(z)([dc, None]) if type(z) in (tuple, list) else (dc, None)


def vcho_solve_adjoint(g, c_and_lower, b):
    """``cho_solve_adjoint`` of every example: ``A^-1 g``."""
    lower = _shared_lower(c_and_lower)
    if lower is _DIFFERS or type(g) is not np.ndarray:
        return _solver_per_example(cho_solve_adjoint, (g, c_and_lower, b))
    return _solve_columns(_cho_matrices(np.asarray(c_and_lower[0]), bool(lower)), g, np.ndim(b) == 2)


def vcho_solve_factor_adjoint(b_bar, z, c_and_lower):
    """``cho_solve_factor_adjoint`` of every example: ``(c_bar, None)``."""
    lower = _shared_lower(c_and_lower)
    if lower is _DIFFERS or type(b_bar) is not np.ndarray:
        return _solver_per_example(cho_solve_factor_adjoint, (b_bar, z, c_and_lower))
    lower = bool(lower)
    z = np.asarray(z)
    if z.ndim == 2:  # one vector per example
        a_bar = -(b_bar[..., :, None] * z[:, None, None, :])
    else:
        a_bar = -(b_bar @ _mT(z)[:, None])
    both = a_bar + _mT(a_bar)
    factor = cho_factor_triangle(np.asarray(c_and_lower[0]), lower)[:, None]
    c_bar = cho_factor_triangle(both @ factor if lower else factor @ both, lower)
    return type(c_and_lower)([c_bar, None]) if type(c_and_lower) in (tuple, list) else (c_bar, None)


def vcho_solve_tangent(t, c_and_lower, b):
    """``cho_solve_tangent`` of every example: ``A^-1 t``."""
    lower = _shared_lower(c_and_lower)
    if lower is _DIFFERS or type(t) is not np.ndarray:
        return _solver_per_example(cho_solve_tangent, (t, c_and_lower, b))
    return _solve_columns(_cho_matrices(np.asarray(c_and_lower[0]), bool(lower)), t, np.ndim(b) == 2)


def vcho_solve_factor_tangent(t, c_and_lower, z):
    """``cho_solve_factor_tangent`` of every example: ``-A^-1 dA z``."""
    dc = t[0] if isinstance(t, (tuple, list)) else t
    if dc is None:
        return None
    lower = _shared_lower(c_and_lower)
    if lower is _DIFFERS or type(dc) is not np.ndarray:
        return _solver_per_example(cho_solve_factor_tangent, (t, c_and_lower, z))
    lower = bool(lower)
    c, z = np.asarray(c_and_lower[0]), np.asarray(z)
    factor = cho_factor_triangle(c, lower)[:, None]
    d_factor = cho_factor_triangle(dc, lower)
    if lower:
        d_matrix = d_factor @ _mT(factor) + factor @ _mT(d_factor)
    else:
        d_matrix = _mT(d_factor) @ factor + _mT(factor) @ d_factor
    if z.ndim == 2:
        moved = (d_matrix @ z[:, None, :, None])[..., 0]
    else:
        moved = d_matrix @ z[:, None]
    return -_solve_columns(_cho_matrices(c, lower), moved, z.ndim == 2)
