"""vmap(jacrev(f)): the first products with the identity basis over the
output, each in one call (``backend/diagonal_rows.py`` writes these calls).

The backward pass of ``vmap(jacrev(f))`` starts from the identity basis
``(N,) + out`` (``output_basis``), shared by every example. Its product with
a factor per example ``F`` ``(B,) + out`` is written by batched code as three
calls: the rank of one example of the product, ``F`` lifted to it, the
product:

    r = result_rank((False, True), basis, F)
    t = vmultiply_shared(basis, vlift(F, r))

``vbasis_product(basis, F)`` is those three calls, and
``vbasis_rows_matmul(basis, F, M, y, batch)`` is that product followed by the
adjoint of a product with a matrix ``M`` shared by every example
(``vmatmul_adjoint_right(t, to_batched(M, batch), y)``, as in
``np.tanh(M @ x)``). Each computes the same values (a zero may differ in
sign), without the Python calls of the lift and, for the identity basis and a
factor of the output's shape, without the zeros of the diagonal matrices;
any other operand takes the original calls.

``vshared_matmul(x, M)`` is the forward product ``vmatmul(to_batched(M,
batch), x)`` of such code without the batched view of ``M``.
"""
import math

import numpy as np

from .batched import to_batched, vmultiply_shared
from .batched_linalg import vmatmul, vmatmul_adjoint_right
from .batched_reductions import result_rank, vlift
from .jacobians import _IDENTITIES


def vbasis_product(basis, factor):
    """``vmultiply_shared(basis, vlift(factor, result_rank((False, True),
    basis, factor)))`` (see the module's text). For the identity basis and a
    floating factor ``(B,) + out`` of its dtype with finite values, the batch
    of diagonal matrices written directly."""
    if type(factor) is np.ndarray and _IDENTITIES.get(id(basis)) is basis:
        shape = factor.shape
        if (len(shape) == basis.ndim and shape[1:] == basis.shape[1:] and factor.dtype == basis.dtype
                and basis.dtype.kind == "f"):
            size, batch = basis.shape[0], shape[0]
            flat = factor if len(shape) == 2 else factor.reshape(batch, size)
            if math.isfinite(np.vdot(flat, flat)):  # (as _diagonal_rows, inline: an overflow takes the product)
                result = np.zeros((batch,) + basis.shape, factor.dtype)
                result.reshape(batch, size * size)[:, ::size + 1] = flat
                return result
    return vmultiply_shared(basis, vlift(factor, result_rank((False, True), basis, factor)))


def vbasis_rows_matmul(basis, factor, matrix, y, batch):
    """``vmatmul_adjoint_right(vbasis_product(basis, factor),
    to_batched(matrix, batch), y)``, the rows of the basis times ``factor``
    times a matrix shared by every example (see the module's text). For the
    identity basis over a vector ``(N, N)``, a factor ``(B, N)`` of its dtype
    and a matrix ``(N, K)``, those rows are diagonal matrices, and their
    product with the matrix scales its rows: ``factor[b, n] * matrix[n, k]``.
    An infinite or NaN value in the factor or the matrix takes the product,
    whose zeros times it are NaN."""
    if (type(factor) is np.ndarray and type(matrix) is np.ndarray and type(y) is np.ndarray
            and _IDENTITIES.get(id(basis)) is basis and basis.ndim == 2 and factor.ndim == 2 and matrix.ndim == 2
            and y.ndim == 2 and factor.shape[1] == basis.shape[0] == matrix.shape[0] and matrix.shape[1] == y.shape[1]
            and factor.shape[0] == batch == y.shape[0] and batch > 0 and factor.dtype == basis.dtype
            and basis.dtype.kind == "f"):
        kind = matrix.dtype.kind
        if kind in "biu" or kind == "f" and math.isfinite(np.vdot(matrix, matrix)):
            if math.isfinite(np.vdot(factor, factor)):
                return factor[:, :, None] * matrix
    return vmatmul_adjoint_right(vbasis_product(basis, factor), to_batched(matrix, batch), y)


def vshared_matmul(x, matrix):
    """``vmatmul(to_batched(matrix, len(x)), x)``: a matrix shared by every
    example times each example of ``x`` (``W @ x`` in ``np.tanh(W @ x)``),
    without the batched view of the matrix. Linear in ``x``, which comes
    first so that its tangent is ``merged``."""
    if type(x) is np.ndarray and type(matrix) is np.ndarray and x.ndim == 2 and matrix.ndim == 2:
        return x @ matrix.T  # (what vmatmul computes from the view: one matrix product)
    x = np.asarray(x)
    return vmatmul(to_batched(matrix, x.shape[0]), x)
