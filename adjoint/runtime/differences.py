"""np.gradient as a helper with explicit arguments, and its adjoint.

``np.gradient(f, *varargs, axis=None, edge_order=1)`` takes its spacings as
``*varargs``, which a rule template cannot name: the normalizer rewrites the
call to ``numpy_gradient(f, varargs, axis=axis, edge_order=edge_order)``
(``adjoint.frontend.normalize_call_forms.CALLS_AS_HELPERS``), which runs NumPy's
function and has the rules. np.gradient is linear in ``f``: its tangent is
np.gradient of the tangent along the same axes shifted past the batch axis,
and its adjoint applies, along each axis, the transpose of the matrix of
central (and one-sided edge) differences NumPy uses on that axis."""
import numpy as np

from .indexing import batch_size


def numpy_gradient(f, varargs=(), axis=None, edge_order=1):
    """``np.gradient(f, *varargs, axis=axis, edge_order=edge_order)``."""
    return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)


def _gradient_axes(ndim, axis):
    """The axes np.gradient differentiates along, as non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(int(a) % ndim for a in axis)
    return (int(axis) % ndim,)


def _gradient_spacings(spacing, count):
    """One spacing per differentiated axis, as np.gradient reads ``*varargs``:
    none (1.0), one scalar for all axes, or one per axis (scalar or coordinates)."""
    spacing = tuple(spacing)
    if not spacing:
        return (1.0,) * count
    if len(spacing) == 1 and np.ndim(spacing[0]) == 0:
        return spacing * count
    return spacing


def gradient_matrix(n, spacing=1.0, edge_order=1):
    """The ``n x n`` matrix ``G`` with ``np.gradient(v, spacing) = G @ v`` for
    every vector ``v`` of length ``n`` (np.gradient is linear in ``v``: its
    columns are np.gradient of the unit vectors)."""
    return np.gradient(np.eye(n), spacing, axis=0, edge_order=edge_order)


def numpy_gradient_adjoint(g, f, varargs=(), axis=None, edge_order=1):
    """Adjoint of ``numpy_gradient(f, varargs, axis, edge_order)`` with respect
    to ``f``: along each differentiated axis ``k``, the cotangent of that
    axis's derivative times ``G_k`` (``sum_i G_k[i, j] g_k[..., i, ...]``).
    ``g`` is one array when np.gradient returned one array (one axis), else
    a tuple or list with None for the derivatives that got no cotangent (or
    one array holding them all, when the user read them as one array)."""
    shape = np.shape(f)
    axes = _gradient_axes(len(shape), axis)
    spacings = _gradient_spacings(varargs, len(axes))
    if len(axes) == 1:
        parts = [g]
    elif isinstance(g, np.ndarray):  # np.array(np.gradient(f)): the parts read as one array
        parts = [g[:, i] for i in range(len(axes))]
    else:
        parts = list(g)
    batch = batch_size(g)
    dtype = np.result_type(np.asarray(f).dtype, float)
    total = np.zeros((batch,) + shape, dtype=dtype)
    for part, k, h in zip(parts, axes, spacings, strict=True):
        if part is None:
            continue
        matrix = gradient_matrix(shape[k], h, edge_order)
        moved = np.moveaxis(part, k + 1, -1) @ matrix
        total = total + np.moveaxis(moved, -1, k + 1)
    return total
