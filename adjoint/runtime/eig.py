"""Helpers of the rules of ``np.linalg.eig`` and ``np.linalg.eigvals`` on
real matrices whose eigenvalues are real (rules/linalg.py).

With ``a = v diag(w) v^-1``, a perturbation ``da`` gives ``P = v^-1 da v``,
``dw = diag(P)`` and ``dv = v (F * P)`` with ``F[i, j] = 1 / (w[j] - w[i])``
off the diagonal and 0 on it, then each column's component along itself
removed (NumPy returns unit eigenvectors). Repeated eigenvalues make the
eigenvectors' derivative infinite, as for eigh. Complex eigenvalues are
refused: complex values have no derivative here (SPEC.md).

NumPy 2.5 returns eig's results as complex arrays even where every
eigenvalue is real; NumPy 1 returned real arrays then. Differentiated code
calls ``eig_real_spectrum`` and ``eigvals_real_spectrum`` in their place
(frontend/normalize_calls.py), which give NumPy 1's real arrays when every
imaginary part is exactly 0, and NumPy's complex result otherwise (refused
when the derivative is taken)."""
import numpy as np

from .indexing import batch_size, rebuild_like, zeros_bar
from .linalg import _mT, _result_bars
from .tangent_shape import as_tangent


class ComplexEigenvalues(ValueError):
    """np.linalg.eig of a matrix whose eigenvalues are not all real."""


def _real_part_if_real(array):
    """``array`` as a real array when it is complex with every imaginary
    part exactly 0 (else as it is)."""
    if np.iscomplexobj(array) and not np.any(np.imag(array)):
        return np.ascontiguousarray(np.real(array))
    return array


def eig_real_spectrum(a):
    """``np.linalg.eig(a)`` with NumPy 1's meaning: real eigenvalues and
    eigenvectors where every eigenvalue is real (NumPy 2.5 returns them as
    complex arrays with zero imaginary parts), else NumPy's result."""
    result = np.linalg.eig(a)
    w, v = result
    if np.iscomplexobj(w) and not np.any(np.imag(w)) and not np.any(np.imag(v)):
        real = (_real_part_if_real(w), _real_part_if_real(v))
        return type(result)(*real) if hasattr(type(result), "_fields") else real
    return result


def eigvals_real_spectrum(a):
    """``np.linalg.eigvals(a)`` with NumPy 1's meaning (see ``eig_real_spectrum``)."""
    return _real_part_if_real(np.linalg.eigvals(a))


def _real_eig(a, function):
    """``(w, v)`` of ``a`` as real arrays, refused when the spectrum is complex."""
    w, v = eig_real_spectrum(a)
    return _real_eigenvalues(w, function), v


def _real_eigenvalues(w, function):
    """``w``, refused when complex."""
    if np.iscomplexobj(w):
        raise ComplexEigenvalues(
            f"{function}: the eigenvalues of this matrix are complex, and complex values have no "
            "derivative in adjoint. Use np.linalg.eigh for a symmetric matrix (its eigenvalues are real), "
            "or make sure the matrix has real eigenvalues.")
    return w


def _gaps_inverse(w):
    gaps = w[..., None, :] - w[..., :, None]  # w[j] - w[i]
    off = ~np.eye(w.shape[-1], dtype=bool)
    with np.errstate(divide="ignore"):
        return np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)


def eig_adjoint(g, z):
    """Adjoint of ``w, v = np.linalg.eig(a)``: ``v^-T (diag(wbar) + F * (v^T
    vbar')) v^T``, with ``vbar'`` the eigenvectors' cotangent less each
    column's component along its own eigenvector (the unit norm)."""
    g_w, g_v = _result_bars(g, 2, "np.linalg.eig", ("eigenvalues", "w, v = np.linalg.eig(a)"))
    w, v = z
    w = _real_eigenvalues(w, "np.linalg.eig")
    if g_w is None and g_v is None:
        return zeros_bar(v, batch_size(g))
    inner = 0.0
    if g_w is not None:
        inner = g_w[..., None, :] * np.eye(w.shape[-1])
    if g_v is not None:
        along = np.sum(v * g_v, axis=-2)
        inner = inner + _gaps_inverse(w) * (_mT(v) @ (g_v - v * along[..., None, :]))
    return _mT(np.linalg.inv(v)) @ inner @ _mT(v)


def eig_tangent(t, z):
    """Tangent of ``w, v = np.linalg.eig(a)`` along the batched tangent ``t`` of ``a``."""
    w, v = z
    w = _real_eigenvalues(w, "np.linalg.eig")
    t = as_tangent(t, v)
    inner = np.linalg.inv(v) @ t @ v
    w_dot = np.einsum("...ii->...i", inner).copy()
    moved = v @ (_gaps_inverse(w) * inner)
    v_dot = moved - v * np.sum(v * moved, axis=-2)[..., None, :]
    return rebuild_like(z, [w_dot, v_dot])


def eigvals_adjoint(g, a):
    """Adjoint of ``w = np.linalg.eigvals(a)``: ``v^-T diag(wbar) v^T``."""
    w, v = _real_eig(a, "np.linalg.eigvals")
    return _mT(np.linalg.inv(v)) @ (g[..., None, :] * np.eye(w.shape[-1])) @ _mT(v)


def eigvals_tangent(t, a):
    """Tangent of ``w = np.linalg.eigvals(a)``: ``diag(v^-1 da v)``."""
    w, v = _real_eig(a, "np.linalg.eigvals")
    t = as_tangent(t, a)
    return np.einsum("...ij,...ji->...i", np.linalg.inv(v) @ t, v)
