"""vmap of the derivative helpers of np.linalg.eig and np.linalg.eigvals
(real spectra): once on the whole batch, where they ran once per example.

Takes batched arguments as vmap hands them (the vmap axis ``V`` first; a
cotangent ``(V, G) + shape``, a tangent ``(V, T) + shape``; ``z`` the
batched ``(w, v)``). The helpers of ``eig.py`` broadcast over leading
matrix axes, so the batched primal values get a size-1 axis for the
cotangent's (or tangent's) rows and the helper's formula runs on the
stack: ``(V, G) +`` the adjoint's shape, ``(V, T) +`` the tangent's, the
numbers of a loop over the examples (the same refusal of complex spectra).
"""
import numpy as np

from .batched import example, stack_examples
from .eig import _gaps_inverse, _real_eig, _real_eigenvalues, eig_adjoint
from .indexing import rebuild_like
from .linalg import _mT, _result_bars


def veig_adjoint(g, z):
    """``eig_adjoint`` on a batch: ``(V, G, n, n)``."""
    g_w, g_v = _result_bars(g, 2, "np.linalg.eig", ("eigenvalues", "w, v = np.linalg.eig(a)"))
    w, v = z
    if g_w is None and g_v is None:  # (no cotangent rows to size the zeros by: each example's)
        return stack_examples([eig_adjoint(example(g, i), example(z, i)) for i in range(np.shape(v)[0])])
    return eig_adjoint(g, rebuild_like(z, [np.asarray(w)[:, None], np.asarray(v)[:, None]]))


def veig_tangent(t, z):
    """``eig_tangent`` on a batch: ``t`` ``(V, T, n, n)``; ``(w_dot, v_dot)``
    of shapes ``(V, T, n)`` and ``(V, T, n, n)``."""
    w, v = z
    w = _real_eigenvalues(np.asarray(w), "np.linalg.eig")
    v = np.asarray(v)
    lifted = v[:, None]
    inner = np.linalg.inv(v)[:, None] @ t @ lifted
    w_dot = np.einsum("...ii->...i", inner).copy()
    moved = lifted @ (_gaps_inverse(w)[:, None] * inner)
    v_dot = moved - lifted * np.sum(lifted * moved, axis=-2)[..., None, :]
    return rebuild_like(z, [w_dot, v_dot])


def veigvals_adjoint(g, a):
    """``eigvals_adjoint`` on a batch: ``g`` ``(V, G, n)``; ``(V, G, n, n)``."""
    w, v = _real_eig(a, "np.linalg.eigvals")
    diagonal = np.asarray(g)[..., None, :] * np.eye(w.shape[-1])
    return _mT(np.linalg.inv(v))[:, None] @ diagonal @ _mT(v)[:, None]


def veigvals_tangent(t, a):
    """``eigvals_tangent`` on a batch: ``t`` ``(V, T, n, n)``; ``(V, T, n)``."""
    w, v = _real_eig(a, "np.linalg.eigvals")
    return np.einsum("vtij,vji->vti", np.linalg.inv(v)[:, None] @ t, v)
