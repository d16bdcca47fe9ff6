"""vmap of the derivative helpers of scipy.linalg.solve_sylvester
(``a x + x b = q``): ``sylvester_each`` with ``a`` and ``b`` that differ
between the examples (its rule batches only ``q``), and the factor terms
``sylvester_factor_bar`` / ``sylvester_factor_dot``, once on the batch.

Takes batched arguments (the vmap axis ``V`` first; ``q`` ``(V,) +`` any
stack of ``n x m`` matrices, ``a`` ``(V, n, n)``, ``b`` ``(V, m, m)``).
Gives what a loop over the examples gives: the systems of every example
solved as one stack in Kronecker form ``(a (x) I + I (x) b^T) vec(x) =
vec(q)`` (up to ``SYLVESTER_KRONECKER_SIZE`` unknowns per matrix, as
``vsolve_sylvester``); larger ones through SciPy once per example, announced.
"""
import numpy as np

from .batched import stack_examples, warn_per_example
from .batched_scipy import SYLVESTER_KRONECKER_SIZE
from .scipy_slopes import sylvester_each


def _vs_system(a, b):
    """The Kronecker matrices ``(V, n m, n m)`` of every example."""
    n, m = a.shape[-1], b.shape[-1]
    eye_n, eye_m = np.eye(n), np.eye(m)
    system = (a[:, :, None, :, None] * eye_m[None, None, :, None, :]
              + eye_n[None, :, None, :, None] * np.swapaxes(b, 1, 2)[:, None, :, None, :])
    return np.reshape(system, (a.shape[0], n * m, n * m))


def vsylvester_each(solve, a, b, q):
    """``sylvester_each(solve, a, b, q)`` of every example: ``(V,) + q``'s shape."""
    a, b, q = np.asarray(a), np.asarray(b), np.asarray(q)
    batch, n, m = q.shape[0], q.shape[-2], q.shape[-1]
    if (n * m > SYLVESTER_KRONECKER_SIZE or a.shape[1:] != (n, n) or b.shape[1:] != (m, m)
            or np.iscomplexobj(a) or np.iscomplexobj(b) or np.iscomplexobj(q)):
        warn_per_example("rt.sylvester_each")
        return stack_examples([sylvester_each(solve, a[i], b[i], q[i]) for i in range(batch)], announced=True)
    if not (np.isfinite(a).all() and np.isfinite(b).all() and np.isfinite(q).all()):
        raise ValueError("array must not contain infs or NaNs")
    columns = np.swapaxes(np.reshape(q, (batch, -1, n * m)), 1, 2)  # (V, n m, K)
    solved = np.linalg.solve(_vs_system(a, b), columns.astype(np.result_type(q, np.float64)))
    return np.reshape(np.swapaxes(solved, 1, 2), q.shape)


def vsylvester_factor_bar(y, z, wrt="a"):
    """``sylvester_factor_bar`` on a batch: ``y`` ``(V, C) + z.shape``; ``(V, C, n, n)`` (or ``m, m``)."""
    y, z = np.asarray(y), np.asarray(z)
    m, n = z.shape[-2:]
    yf = np.reshape(y, y.shape[:2] + (-1, m, n))
    zf = np.reshape(z, z.shape[:1] + (1, -1, m, n))
    if wrt == "a":
        return -np.sum(yf @ np.swapaxes(zf, -1, -2), axis=2)
    return -np.sum(np.swapaxes(zf, -1, -2) @ yf, axis=2)


def vsylvester_factor_dot(t, z, wrt="a"):
    """``sylvester_factor_dot`` on a batch: ``t`` ``(V, T) +`` the shape of
    ``a`` (or ``b``); ``(V, T) + z.shape``."""
    t, z = np.asarray(t), np.asarray(z)
    m, n = z.shape[-2:]
    zf = np.reshape(z, z.shape[:1] + (1, -1, m, n))
    t = np.expand_dims(t, 2)
    moved = -(t @ zf) if wrt == "a" else -(zf @ t)
    return np.reshape(moved, t.shape[:2] + z.shape[1:])
