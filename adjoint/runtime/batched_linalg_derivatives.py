"""vmap of the derivative helpers of the linear solvers and the SVD:
np.linalg.solve's tangent, scipy.linalg.cho_factor / cho_solve's adjoints
and tangents, np.linalg.svd's adjoint and tangent, and the tangent of
np.linalg.norm's adjoint (a Hessian's code), so
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
from .broadcasting import normalize_axes
from .batched_reductions import vunreduce
from .indexing import rebuild_like
from .second_order_math import norm_adjoint_tangent
from .reductions import MATRIX_NORMS
from .batched_shape import _DIFFERS, _common
from .cholesky_solve import (
    _solve_columns, cho_factor_adjoint, cho_factor_rest, cho_factor_tangent, cho_factor_triangle, cho_solve_adjoint,
    cho_solve_factor_adjoint, cho_solve_factor_tangent, cho_solve_tangent,
)
from .linalg import _mT, _result_bars, _solve_reads_vectors, _svd_factors_check, cholesky_adjoint, svd_adjoint, svd_pullback
from .tangent_linalg import cholesky_tangent, solve_tangent, svd_tangent


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
    return rebuild_like(z, [dc, None])


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
    return rebuild_like(c_and_lower, [c_bar, None])


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


def vsvd_adjoint(g, a, z, full_matrices=True, compute_uv=True):
    """``svd_adjoint`` of every example: ``g`` the cotangent of the singular
    values ``(V, B, k)``, or of the factors ``(u, s, vh)`` (None for a factor
    that got none), ``a`` and ``z`` batched."""
    a = np.asarray(a)
    if not compute_uv:
        if type(g) is not np.ndarray:
            return _solver_per_example(svd_adjoint, (g, a, z), {"full_matrices": False, "compute_uv": False})
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        return (u[:, None] * g[..., None, :]) @ vh[:, None]
    _svd_factors_check(np.shape(a)[1:], full_matrices)
    bars = _result_bars(g, 3, "np.linalg.svd", ("S", "u, s, vh = np.linalg.svd(a)")) if type(g) is not np.ndarray \
        else None
    found = [bar for bar in (bars or []) if type(bar) is np.ndarray]
    if not found:  # an array cotangent of the three factors, or none at all
        return _solver_per_example(svd_adjoint, (g, a, z), {"full_matrices": full_matrices, "compute_uv": True})
    u_bar, s_bar, vh_bar = bars
    u, s, vh = (np.asarray(item)[:, None] for item in z)
    lead = found[0].shape[:2]
    if u_bar is None and vh_bar is None:
        return (u * s_bar[..., None, :]) @ vh
    u_bar = np.zeros(lead + u.shape[2:]) if u_bar is None else u_bar
    s_bar = np.zeros(lead + s.shape[2:]) if s_bar is None else s_bar
    v_bar = np.zeros(lead + _mT(vh).shape[2:]) if vh_bar is None else _mT(vh_bar)
    return svd_pullback(u, s, _mT(vh), u_bar, s_bar, v_bar)


def vsvd_tangent(t, a, z, full_matrices=True, compute_uv=True):
    """``svd_tangent`` of every example: ``t`` is ``(V, T) + a``'s example shape."""
    if type(t) is not np.ndarray:
        return _solver_per_example(svd_tangent, (t, a, z),
                                   {"full_matrices": full_matrices, "compute_uv": compute_uv})
    a = np.asarray(a)
    if not compute_uv:
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        return np.sum((_mT(u)[:, None] @ t) * vh[:, None], axis=-1)
    _svd_factors_check(a[0], full_matrices)
    factors = rebuild_like(z, [np.asarray(item)[:, None] for item in z])  # (NumPy 2: an SVDResult)
    return svd_tangent(t, a, factors, full_matrices=False, compute_uv=True)


def vnorm_adjoint_tangent(t, g, x, z, ord=None, axis=None, keepdims=False, wrt="x"):  # noqa: A002 (NumPy's name)
    """``norm_adjoint_tangent`` of every example: ``t`` is ``(V, T)`` + the
    example shape of ``x`` (or of ``z``, ``wrt="z"``), ``g`` ``(V, B)`` + that
    of ``z``; the result ``(V, T, B)`` + that of ``x``. Vector norms (and
    the Frobenius norm) at once; the other matrix norms once per example."""
    x = np.asarray(x)
    ndim = x.ndim - 1
    axes = tuple(range(ndim)) if axis is None else normalize_axes(axis, ndim)
    matrix = len(axes) == 2 and ord not in (None, "fro")
    if (matrix and type(t) is np.ndarray and type(g) is np.ndarray
            and (wrt == "z" or MATRIX_NORMS.get(ord, (None,))[0] is not None)):  # piecewise constant slopes
        return np.broadcast_to(np.zeros((), dtype=np.result_type(t, g, np.float64)),
                               t.shape[:2] + g.shape[1:2] + x.shape[1:])
    if type(t) is not np.ndarray or type(g) is not np.ndarray or matrix:
        return _solver_per_example(norm_adjoint_tangent, (t, g, x, z),
                                   {"ord": ord, "axis": axis, "keepdims": keepdims, "wrt": wrt})
    zeros_shape = t.shape[:2] + g.shape[1:2] + x.shape[1:]
    if ord == 1 or (ord is not None and not isinstance(ord, str) and np.isinf(ord)):  # piecewise constant
        return np.broadcast_to(np.zeros((), dtype=np.result_type(t, g, np.float64)), zeros_shape)
    kept = x.shape[:1] + tuple(1 if i in axes else n for i, n in enumerate(x.shape[1:]))
    z_kept = np.asarray(z) if keepdims else np.reshape(z, kept)
    if wrt == "z" and not keepdims:
        t = np.reshape(t, t.shape[:2] + kept[1:])
    zero = np.equal(z_kept, 0)[:, None]
    safe = np.where(zero, 1.0, z_kept[:, None])
    x_rows = x[:, None]
    g_full = vunreduce(g, x, axes, keepdims)  # (V, B) + x's example shape
    if ord in (None, 2, "fro"):
        d = t / safe if wrt == "x" else np.where(zero, 0.0, -t * x_rows / (safe * safe))
    else:
        ratio = np.abs(x_rows) / safe
        if wrt == "x":
            d = t * ((ord - 1) * ratio ** (ord - 2) / safe)
        else:
            d = np.where(zero, 0.0, -t * ((ord - 1) * np.sign(x_rows) * ratio ** (ord - 1) / safe))
    return g_full[:, None] * d[:, :, None]
