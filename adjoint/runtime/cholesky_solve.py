"""Derivatives of scipy.linalg.cho_factor and cho_solve (real matrices).

``c, lower = cho_factor(a, lower)`` holds the Cholesky factor in one
triangle of ``c`` (upper by default: ``a = U^T U``; ``lower=True``:
``a = L L^T``), read from that triangle of ``a``. SciPy before 1.18 leaves
the entries of the other triangle as they were in ``a`` (a copy: slope 1);
SciPy 1.18 clears them (zeros: slope 0). Which one is found once, by
factoring a 2x2 matrix. ``cho_solve((c, lower), b)`` solves ``A z = b`` with ``A`` the
matrix of the factor in ``c``'s triangle; it never reads the other
triangle, which gets no adjoint. Adjoints carry a leading batch axis,
tangents too; ``b`` is a vector or a matrix of columns."""
import numpy as np

from .indexing import batch_size, rebuild_like, zeros_bar
from .linalg import _mT, cholesky_adjoint
from .tangent_linalg import cholesky_tangent
from .tangent_shape import as_tangent


def cho_factor_triangle(c, lower=False):
    """The triangle of ``c`` that holds the factor (the other entries zero)."""
    return np.tril(c) if lower else np.triu(c)


def cho_factor_rest(c, lower=False):
    """What ``cho_factor`` passes from ``c`` (an adjoint or a tangent of
    ``a``) to the other triangle of its result: the entries outside the
    factor's triangle where SciPy copies ``a`` there, else nothing (zeros)."""
    if not _rest_copied():
        return np.zeros_like(c)
    return np.triu(c, 1) if lower else np.tril(c, -1)


_REST_COPIED = []


def _rest_copied():
    """Whether this SciPy's cho_factor copies the other triangle of ``a``
    into its result (before 1.18) or clears it (1.18)."""
    if not _REST_COPIED:
        from scipy.linalg import cho_factor
        c, _ = cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]]))
        _REST_COPIED.append(bool(c[1, 0] == 2.0))
    return _REST_COPIED[0]


def cho_matrix(c_and_lower):
    """The matrix ``A`` whose factor ``cho_solve`` reads from ``(c, lower)``."""
    c, lower = c_and_lower[0], c_and_lower[1]
    factor = cho_factor_triangle(c, lower)
    return factor @ _mT(factor) if lower else _mT(factor) @ factor


def _solve_columns(matrix, rhs, vectors):
    """``matrix^-1 rhs`` for right-hand sides with a leading batch axis:
    ``(B, n)`` vectors when ``vectors``, else ``(B, n, k)`` columns. The
    matrix is inverted once and each row multiplied on its own, so a row's
    result does not depend on how many rows the batch has (a solve with
    many right-hand sides rounds differently from one with one)."""
    inverse = np.linalg.inv(matrix)
    if vectors:
        return (inverse @ rhs[..., None])[..., 0]
    return inverse @ rhs


def cho_factor_adjoint(g, z, lower=False):
    """Adjoint of ``z = cho_factor(a, lower)`` with respect to ``a``: the
    factor's triangle through the adjoint of the Cholesky factorization of
    that triangle of ``a``, the other triangle passed through as it is."""
    c = z[0]
    g_c = g[0] if isinstance(g, (tuple, list)) else g
    if g_c is None:
        return zeros_bar(c, batch_size(g))
    factor = cho_factor_triangle(c, lower)
    inner = cholesky_adjoint(cho_factor_triangle(g_c, lower), factor, upper=not lower)
    return inner + cho_factor_rest(g_c, lower)


def cho_factor_tangent(t, a, z, lower=False):
    """Tangent of ``z = cho_factor(a, lower)`` along ``t``, the tangent of
    ``a``: ``(dc, None)`` (``lower`` has none)."""
    c = z[0]
    t = as_tangent(t, a)
    factor = cho_factor_triangle(c, lower)
    dc = cholesky_tangent(t, factor, upper=not lower) + cho_factor_rest(t, lower)
    return rebuild_like(z, [dc, None])


def cho_solve_adjoint(g, c_and_lower, b):
    """Adjoint of ``z = cho_solve(c_and_lower, b)`` with respect to ``b``:
    ``A^-1 g`` (``A`` is symmetric)."""
    return _solve_columns(cho_matrix(c_and_lower), g, np.ndim(b) == 1)


def cho_solve_factor_adjoint(b_bar, z, c_and_lower):
    """Adjoint of ``z = cho_solve((c, lower), b)`` with respect to
    ``(c, lower)``, given ``b_bar = A^-1 g``: ``A_bar = -b_bar z^T``, and
    through ``A = U^T U`` (``L L^T``) the factor's triangle gets
    ``U (A_bar + A_bar^T)`` (``(A_bar + A_bar^T) L``). ``(c_bar, None)``."""
    c, lower = c_and_lower[0], c_and_lower[1]
    if np.ndim(z) == 1:
        a_bar = -(b_bar[..., :, None] * z[..., None, :])
    else:
        a_bar = -(b_bar @ _mT(z))
    both = a_bar + _mT(a_bar)
    factor = cho_factor_triangle(c, lower)
    c_bar = cho_factor_triangle(both @ factor if lower else factor @ both, lower)
    return rebuild_like(c_and_lower, [c_bar, None])


def cho_solve_tangent(t, c_and_lower, b):
    """Tangent of ``z = cho_solve(c_and_lower, b)`` along ``t``, the tangent
    of ``b``: ``A^-1 t``."""
    t = as_tangent(t, b)
    return _solve_columns(cho_matrix(c_and_lower), t, np.ndim(b) == 1)


def cho_solve_factor_tangent(t, c_and_lower, z):
    """Tangent of ``z = cho_solve((c, lower), b)`` along ``t``, the tangent
    of ``(c, lower)`` (``(dc, None)``): ``-A^-1 dA z`` with ``dA = dU^T U +
    U^T dU`` (``dL L^T + L dL^T``), ``dU`` the tangent of the factor's triangle."""
    c, lower = c_and_lower[0], c_and_lower[1]
    dc = t[0] if isinstance(t, (tuple, list)) else t
    if dc is None:
        return None
    factor = cho_factor_triangle(c, lower)
    d_factor = cho_factor_triangle(dc, lower)
    if lower:
        d_matrix = d_factor @ _mT(factor) + factor @ _mT(d_factor)
    else:
        d_matrix = _mT(d_factor) @ factor + _mT(factor) @ d_factor
    if np.ndim(z) == 1:
        moved = (d_matrix @ z[:, None])[..., 0]
    else:
        moved = d_matrix @ z
    return -_solve_columns(cho_matrix(c_and_lower), moved, np.ndim(z) == 1)


def scipy_uplo(lower=True):
    """NumPy's ``UPLO`` for scipy.linalg's ``lower`` (the triangle of ``a``
    that ``scipy.linalg.eigh`` reads): ``"L"`` or ``"U"``."""
    return "L" if lower else "U"
