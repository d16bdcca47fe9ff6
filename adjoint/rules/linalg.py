"""Rules of the products: dot, matmul (``@``), outer, for every combination
of ranks NumPy accepts; einsum, tensordot, kron, cross, diag, diagflat, inner,
vdot, multi_dot; the 1-d convolve and correlate; cov and corrcoef of one
array; and the matrix functions np.linalg.inv, solve, det, slogdet,
cholesky, eigh, eigvalsh, pinv, matrix_power, svd (singular values only),
svdvals, qr (reduced) and lstsq (the solution only), stacks of matrices too
where NumPy takes them."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar


@adjoint_rule(np.matmul)
def matmul_adjoint(z, x1, x2):
    bar[x1] = rt.matmul_adjoint_left(bar[z], x1, x2)
    bar[x2] = rt.matmul_adjoint_right(bar[z], x1, x2)


@adjoint_rule(np.dot)
def dot_adjoint(z, a, b):
    bar[a] = rt.dot_adjoint_left(bar[z], a, b)
    bar[b] = rt.dot_adjoint_right(bar[z], a, b)


@adjoint_rule(np.outer)
def outer_adjoint(z, a, b):
    bar[a] = rt.outer_adjoint_left(bar[z], a, b)
    bar[b] = rt.outer_adjoint_right(bar[z], a, b)


@adjoint_rule(np.einsum)
def einsum_adjoint(z, subscripts, operand0, operand1=None, operand2=None, operand3=None,
                   operand4=None, operand5=None, *, optimize=False):
    # NumPy's signature is einsum(subscripts, *operands): six operands are named here.
    operands = rt.einsum_operands(operand0, operand1=operand1, operand2=operand2, operand3=operand3,
                                  operand4=operand4, operand5=operand5)
    bar[operand0] = rt.einsum_adjoint(bar[z], subscripts, operands, 0)
    bar[operand1] = rt.einsum_adjoint(bar[z], subscripts, operands, 1)
    bar[operand2] = rt.einsum_adjoint(bar[z], subscripts, operands, 2)
    bar[operand3] = rt.einsum_adjoint(bar[z], subscripts, operands, 3)
    bar[operand4] = rt.einsum_adjoint(bar[z], subscripts, operands, 4)
    bar[operand5] = rt.einsum_adjoint(bar[z], subscripts, operands, 5)


@adjoint_rule(np.tensordot)
def tensordot_adjoint(z, a, b, axes=2):
    bar[a] = rt.tensordot_adjoint_left(bar[z], a, b, axes=axes)
    bar[b] = rt.tensordot_adjoint_right(bar[z], a, b, axes=axes)


# 3-vectors only (NumPy 2 deprecates 2-vectors); the vectors lie along axisa,
# axisb and axisc, or all along axis.
@adjoint_rule(np.cross)
def cross_adjoint(z, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    bar[a] = rt.cross_adjoint(bar[z], a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)
    bar[b] = rt.cross_adjoint(bar[z], a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis, wrt_b=True)


@adjoint_rule(np.kron)
def kron_adjoint(z, a, b):
    bar[a] = rt.kron_adjoint_left(bar[z], a, b)
    bar[b] = rt.kron_adjoint_right(bar[z], a, b)


@adjoint_rule(np.diag)
def diag_adjoint(z, v, k=0):
    bar[v] = rt.diag_adjoint(bar[z], v, k=k)


@adjoint_rule(np.linalg.inv)
def inv_adjoint(z, a):
    bar[a] = rt.inv_adjoint(bar[z], z)


@adjoint_rule(np.linalg.solve)
def solve_adjoint(z, a, b):
    b_bar = rt.solve_transposed(a, bar[z], b)
    bar[a] = rt.solve_adjoint_matrix(b_bar, z, a, b)
    bar[b] = rt.unbroadcast(b_bar, b)


@adjoint_rule(np.linalg.det)
def det_adjoint(z, a):
    bar[a] = rt.det_adjoint(bar[z], z, a)


@adjoint_rule(np.linalg.slogdet, tuple_result=True)
def slogdet_adjoint(z, a):
    # z is the pair (sign, logabsdet); only logabsdet has a derivative.
    bar[a] = rt.slogdet_adjoint(bar[z], a)


@adjoint_rule(np.linalg.cholesky)
def cholesky_adjoint(z, a, *, upper=False):
    bar[a] = rt.cholesky_adjoint(bar[z], z, upper=upper)


@adjoint_rule(np.linalg.eigh, tuple_result=True)
def eigh_adjoint(z, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    # z is the pair (eigenvalues, eigenvectors); repeated eigenvalues make the
    # eigenvectors' derivative infinite (see rt.eigh_adjoint).
    bar[a] = rt.eigh_adjoint(bar[z], z, UPLO=UPLO)


# hermitian=True computes through eigh, which reads one triangle: not accepted.
# rcond and rtol only decide the rank, which the derivative assumes constant.
@adjoint_rule(np.linalg.pinv)
def pinv_adjoint(z, a, rcond=None, *, rtol=None):
    bar[a] = rt.pinv_adjoint(bar[z], a, z)


@adjoint_rule(np.linalg.multi_dot)
def multi_dot_adjoint(z, arrays):
    bar[arrays] = rt.multi_dot_adjoint(bar[z], arrays)


@adjoint_rule(np.linalg.matrix_power)
def matrix_power_adjoint(z, a, n):
    bar[a] = rt.matrix_power_adjoint(bar[z], a, n)


@adjoint_rule(np.convolve)
def convolve_adjoint(z, a, v, mode="full"):
    bar[a] = rt.convolve_adjoint(bar[z], a, v, mode=mode)
    bar[v] = rt.convolve_adjoint(bar[z], a, v, mode=mode, wrt_v=True)


# Real arrays (np.correlate conjugates a complex v).
@adjoint_rule(np.correlate)
def correlate_adjoint(z, a, v, mode="valid"):
    bar[a] = rt.correlate_adjoint(bar[z], a, v, mode=mode)
    bar[v] = rt.correlate_adjoint(bar[z], a, v, mode=mode, wrt_v=True)


@adjoint_rule(np.inner)
def inner_adjoint(z, a, b):
    bar[a] = rt.inner_adjoint(bar[z], a, b)
    bar[b] = rt.inner_adjoint(bar[z], a, b, wrt_b=True)


# Real arrays (np.vdot conjugates a complex a).
@adjoint_rule(np.vdot)
def vdot_adjoint(z, a, b):
    bar[a] = rt.vdot_adjoint(bar[z], b, a)
    bar[b] = rt.vdot_adjoint(bar[z], a, b)


@adjoint_rule(np.diagflat)
def diagflat_adjoint(z, v, k=0):
    bar[v] = rt.diagflat_adjoint(bar[z], v, k=k)


@adjoint_rule(np.linalg.eigvalsh)
def eigvalsh_adjoint(z, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    bar[a] = rt.eigvalsh_adjoint(bar[z], a, UPLO=UPLO)


# The singular values only: compute_uv=True (the default) fails when the
# derivative is taken. hermitian=True (through eigh) is not accepted.
@adjoint_rule(np.linalg.svd, tuple_result=True)
def svd_adjoint(z, a, full_matrices=True, compute_uv=True):
    bar[a] = rt.singular_values_adjoint(bar[z], a, compute_uv=compute_uv)


if hasattr(np.linalg, "svdvals"):  # NumPy >= 2.0
    @adjoint_rule(np.linalg.svdvals)
    def svdvals_adjoint(z, x):
        bar[x] = rt.singular_values_adjoint(bar[z], x, compute_uv=False)


# One array (not y, fweights, aweights); the rest by keyword.
@adjoint_rule(np.cov)
def cov_adjoint(z, m, *, rowvar=True, bias=False, ddof=None):
    bar[m] = rt.cov_adjoint(bar[z], m, rowvar=rowvar, bias=bias, ddof=ddof)


@adjoint_rule(np.corrcoef)
def corrcoef_adjoint(z, x, *, rowvar=True):
    bar[x] = rt.corrcoef_adjoint(bar[z], x, rowvar=rowvar)


# The solution x alone, for a of full rank; rcond only decides the rank.
@adjoint_rule(np.linalg.lstsq, tuple_result=True)
def lstsq_adjoint(z, a, b, rcond=None):
    bar[a] = rt.lstsq_adjoint(bar[z], a, b)
    bar[b] = rt.lstsq_adjoint(bar[z], a, b, wrt_b=True)


# mode='reduced', square or tall matrices of full column rank (stacks too).
@adjoint_rule(np.linalg.qr, tuple_result=True)
def qr_adjoint(z, a, mode="reduced"):
    bar[a] = rt.qr_adjoint(bar[z], a, z, mode=mode)
