"""Rules of the products: dot, matmul (``@``), outer, for every combination
of ranks NumPy accepts; einsum, tensordot, kron, cross, diag, diagflat, inner,
vdot, multi_dot; the 1-d convolve and correlate; cov and corrcoef of one
array; and the matrix functions np.linalg.inv, solve, det, slogdet,
cholesky, eigh, eigvalsh, pinv, matrix_power, svd (reduced factors, or the singular values),
svdvals, qr (reduced) and lstsq (the solution only), stacks of matrices too
where NumPy takes them."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, nondifferentiable, tangent_rule, vec


# rt.real_for in the products' adjoints: a real operand of a product with a
# complex one takes the real part of its cotangent (docs/complex.md); the
# derivative code of real values keeps the helper's call alone.
@adjoint_rule(np.matmul)
def matmul_adjoint(z, x1, x2):
    bar[x1] = rt.real_for(rt.matmul_adjoint_left(bar[z], x1, x2), x1)
    bar[x2] = rt.real_for(rt.matmul_adjoint_right(bar[z], x1, x2), x2)


@tangent_rule(np.matmul)
def matmul_tangent(z, x1, x2):
    dot[z] = rt.matmul_tangent_left(dot[x1], x1, x2)
    dot[z] = rt.matmul_tangent_right(dot[x2], x1, x2)


@batch_rule(np.matmul)
def matmul_batched(z, x1, x2):
    vec[z] = rt.vmatmul(vec[x1], vec[x2])


@adjoint_rule(np.dot)
def dot_adjoint(z, a, b):
    bar[a] = rt.real_for(rt.dot_adjoint_left(bar[z], a, b), a)
    bar[b] = rt.real_for(rt.dot_adjoint_right(bar[z], a, b), b)


@tangent_rule(np.dot)
def dot_tangent(z, a, b):
    dot[z] = rt.dot_tangent_left(dot[a], a, b)
    dot[z] = rt.dot_tangent_right(dot[b], a, b)


@batch_rule(np.dot)
def dot_batched(z, a, b):
    vec[z] = rt.vnpdot(vec[a], vec[b])


@adjoint_rule(np.outer)
def outer_adjoint(z, a, b):
    bar[a] = rt.real_for(rt.outer_adjoint_left(bar[z], a, b), a)
    bar[b] = rt.real_for(rt.outer_adjoint_right(bar[z], a, b), b)


@tangent_rule(np.outer)
def outer_tangent(z, a, b):
    dot[z] = rt.outer_tangent_left(dot[a], a, b)
    dot[z] = rt.outer_tangent_right(dot[b], a, b)


@batch_rule(np.outer)
def outer_batched(z, a, b):
    vec[z] = rt.vouter(vec[a], vec[b])


# NumPy's signature is einsum(subscripts, *operands): six operands are named
# here. Every derivative is an einsum again (runtime/einsums.py): the adjoint
# contracts the cotangent with the other operands; the tangent along one
# operand is rt.einsum_with, the same contraction spelled out with a batch
# letter on that operand and on the output.
@adjoint_rule(np.einsum)
def einsum_adjoint(z, subscripts, operand0, operand1=None, operand2=None, operand3=None,
                   operand4=None, operand5=None, *, optimize=False):
    bar[operand0] = rt.real_for(rt.einsum_adjoint(bar[z], subscripts, 0, operand0, operand1, operand2, operand3,
                                                    operand4, operand5), operand0)
    bar[operand1] = rt.real_for(rt.einsum_adjoint(bar[z], subscripts, 1, operand1, operand0, operand2, operand3,
                                                    operand4, operand5), operand1)
    bar[operand2] = rt.real_for(rt.einsum_adjoint(bar[z], subscripts, 2, operand2, operand0, operand1, operand3,
                                                    operand4, operand5), operand2)
    bar[operand3] = rt.real_for(rt.einsum_adjoint(bar[z], subscripts, 3, operand3, operand0, operand1, operand2,
                                                    operand4, operand5), operand3)
    bar[operand4] = rt.real_for(rt.einsum_adjoint(bar[z], subscripts, 4, operand4, operand0, operand1, operand2,
                                                    operand3, operand5), operand4)
    bar[operand5] = rt.real_for(rt.einsum_adjoint(bar[z], subscripts, 5, operand5, operand0, operand1, operand2,
                                                    operand3, operand4), operand5)


@tangent_rule(np.einsum)
def einsum_tangent(z, subscripts, operand0, operand1=None, operand2=None, operand3=None,
                   operand4=None, operand5=None, *, optimize=False):
    # (optimize only chooses the order of the primal's contraction)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(subscripts, 0, operand0, operand1, operand2, operand3,
                                                 operand4, operand5),
                            dot[operand0], operand1, operand2, operand3, operand4, operand5, lead=1)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(subscripts, 1, operand0, operand1, operand2, operand3,
                                                 operand4, operand5),
                            operand0, dot[operand1], operand2, operand3, operand4, operand5, lead=1)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(subscripts, 2, operand0, operand1, operand2, operand3,
                                                 operand4, operand5),
                            operand0, operand1, dot[operand2], operand3, operand4, operand5, lead=1)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(subscripts, 3, operand0, operand1, operand2, operand3,
                                                 operand4, operand5),
                            operand0, operand1, operand2, dot[operand3], operand4, operand5, lead=1)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(subscripts, 4, operand0, operand1, operand2, operand3,
                                                 operand4, operand5),
                            operand0, operand1, operand2, operand3, dot[operand4], operand5, lead=1)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(subscripts, 5, operand0, operand1, operand2, operand3,
                                                 operand4, operand5),
                            operand0, operand1, operand2, operand3, operand4, dot[operand5], lead=1)


# Each batched operand's term and the output get a batch letter (operands
# the user did not pass arrive as None given a batch axis, which rt.veinsum drops).
@batch_rule(np.einsum)
def einsum_batched(z, subscripts, operand0, operand1=None, operand2=None, operand3=None,
                   operand4=None, operand5=None, *, optimize=False):
    vec[z] = rt.veinsum(subscripts, vec[operand0], vec[operand1], vec[operand2], vec[operand3], vec[operand4],
                        vec[operand5], optimize=optimize)


# rt.einsum_with(spec, a0, ..., a5): an einsum with its subscripts spelled
# out, which the derivatives of einsums are made of. Its tangent adds one
# more batch letter (one more leading batch axis: lead + 1), so derivatives
# of any order stay einsums; its batched form is rt.veinsum.
@tangent_rule(rt.einsum_with, constant=("spec", "lead", "optimize"))
def einsum_with_tangent(z, spec, a0, a1=None, a2=None, a3=None, a4=None, a5=None, lead=0, optimize=None):
    dot[z] = rt.einsum_with(rt.einsum_spec_along(spec, 0, a0, a1, a2, a3, a4, a5), dot[a0], a1, a2, a3, a4, a5,
                            lead=lead + 1, optimize=optimize)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(spec, 1, a0, a1, a2, a3, a4, a5), a0, dot[a1], a2, a3, a4, a5,
                            lead=lead + 1, optimize=optimize)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(spec, 2, a0, a1, a2, a3, a4, a5), a0, a1, dot[a2], a3, a4, a5,
                            lead=lead + 1, optimize=optimize)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(spec, 3, a0, a1, a2, a3, a4, a5), a0, a1, a2, dot[a3], a4, a5,
                            lead=lead + 1, optimize=optimize)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(spec, 4, a0, a1, a2, a3, a4, a5), a0, a1, a2, a3, dot[a4], a5,
                            lead=lead + 1, optimize=optimize)
    dot[z] = rt.einsum_with(rt.einsum_spec_along(spec, 5, a0, a1, a2, a3, a4, a5), a0, a1, a2, a3, a4, dot[a5],
                            lead=lead + 1, optimize=optimize)


@batch_rule(rt.einsum_with)
def einsum_with_batched(z, spec, a0, a1=None, a2=None, a3=None, a4=None, a5=None, lead=0, optimize=None):
    vec[z] = rt.veinsum_with(spec, vec[a0], vec[a1], vec[a2], vec[a3], vec[a4], vec[a5], lead=lead,
                             optimize=optimize)


@batch_rule(rt.einsum_adjoint)
def einsum_adjoint_batched(z, g, subscripts, position, own, other0=None, other1=None, other2=None, other3=None,
                           other4=None):
    vec[z] = rt.veinsum_adjoint(vec[g], subscripts, position, vec[own], vec[other0], vec[other1], vec[other2],
                                vec[other3], vec[other4])


# what the einsum helpers read from shapes (vmap reads them from the first example)
nondifferentiable(rt.einsum_spec_along, rt.einsum_adjoint_plan, rt.veinsum_plan, rt.veinsum_adjoint_plan,
                  rt.einsum_path_for, rt.einsum_operand_count)


@adjoint_rule(np.tensordot)
def tensordot_adjoint(z, a, b, axes=2):
    bar[a] = rt.real_for(rt.tensordot_adjoint_left(bar[z], a, b, axes=axes), a)
    bar[b] = rt.real_for(rt.tensordot_adjoint_right(bar[z], a, b, axes=axes), b)


@tangent_rule(np.tensordot)
def tensordot_tangent(z, a, b, axes=2):
    dot[z] = rt.tensordot_tangent_left(dot[a], a, b, axes=axes)
    dot[z] = rt.tensordot_tangent_right(dot[b], a, b, axes=axes)


@batch_rule(np.tensordot)
def tensordot_batched(z, a, b, axes=2):
    vec[z] = rt.vtensordot(vec[a], vec[b], axes=axes)


# 3-vectors only (NumPy 2 deprecates 2-vectors); the vectors lie along axisa,
# axisb and axisc, or all along axis.
@adjoint_rule(np.cross)
def cross_adjoint(z, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    bar[a] = rt.cross_adjoint(bar[z], a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)
    bar[b] = rt.cross_adjoint(bar[z], a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis, wrt_b=True)


@tangent_rule(np.cross)
def cross_tangent(z, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    dot[z] = rt.cross_tangent(dot[a], a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)
    dot[z] = rt.cross_tangent(dot[b], a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis, wrt_b=True)


@batch_rule(np.cross)
def cross_batched(z, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    vec[z] = rt.vcross(vec[a], vec[b], axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


@adjoint_rule(np.kron)
def kron_adjoint(z, a, b):
    bar[a] = rt.real_for(rt.kron_adjoint_left(bar[z], a, b), a)
    bar[b] = rt.real_for(rt.kron_adjoint_right(bar[z], a, b), b)


# the subscripts the kron helpers' own tangents build (differentiated again at third order)
nondifferentiable(rt._ra_kron_subscripts)


@tangent_rule(np.kron)
def kron_tangent(z, a, b):
    dot[z] = rt.kron_tangent_left(dot[a], a, b)
    dot[z] = rt.kron_tangent_right(dot[b], a, b)


@batch_rule(np.kron)
def kron_batched(z, a, b):
    vec[z] = rt.vkron(vec[a], vec[b])


@adjoint_rule(np.diag)
def diag_adjoint(z, v, k=0):
    bar[v] = rt.diag_adjoint(bar[z], v, k=k)


@tangent_rule(np.diag)
def diag_tangent(z, v, k=0):
    dot[z] = rt.diag_tangent(dot[v], v, k=k)


@batch_rule(np.diag)
def diag_batched(z, v, k=0):
    vec[z] = rt.vdiag(vec[v], k=k)


@adjoint_rule(np.linalg.inv)
def inv_adjoint(z, a):
    bar[a] = rt.inv_adjoint(bar[z], z)


@tangent_rule(np.linalg.inv)
def inv_tangent(z, a):
    dot[z] = rt.inv_tangent(dot[a], z)


@batch_rule(np.linalg.inv)
def inv_batched(z, a):
    vec[z] = np.linalg.inv(vec[a])


@adjoint_rule(np.linalg.solve)
def solve_adjoint(z, a, b):
    b_bar = rt.solve_transposed(a, bar[z], b)
    bar[a] = rt.real_for(rt.solve_adjoint_matrix(b_bar, z, a, b), a)
    bar[b] = rt.unbroadcast(b_bar, b)


@tangent_rule(np.linalg.solve)
def solve_tangent(z, a, b):
    # inv(a) once, applied to each row: a row's tangent does not depend on the batch size.
    inverse = np.linalg.inv(a)
    dot[z] = rt.solve_tangent(dot[a], inverse, a, b, z, wrt_a=True)
    dot[z] = rt.solve_tangent(dot[b], inverse, a, b, z)


@batch_rule(np.linalg.solve)
def solve_batched(z, a, b):
    vec[z] = rt.vsolve(vec[a], vec[b])


@adjoint_rule(np.linalg.det)
def det_adjoint(z, a):
    bar[a] = rt.det_adjoint(bar[z], z, a)


@tangent_rule(np.linalg.det)
def det_tangent(z, a):
    dot[z] = rt.det_tangent(dot[a], z, a)


@batch_rule(np.linalg.det)
def det_batched(z, a):
    vec[z] = np.linalg.det(vec[a])


@adjoint_rule(np.linalg.slogdet, tuple_result=True)
def slogdet_adjoint(z, a):
    # z is the pair (sign, logabsdet); only logabsdet has a derivative.
    bar[a] = rt.slogdet_adjoint(bar[z], a)


@tangent_rule(np.linalg.slogdet)
def slogdet_tangent(z, a):
    dot[z] = rt.slogdet_tangent(dot[a], z, a)


@batch_rule(np.linalg.slogdet)
def slogdet_batched(z, a):
    vec[z] = np.linalg.slogdet(vec[a])


@adjoint_rule(np.linalg.cholesky)
def cholesky_adjoint(z, a, *, upper=False):
    bar[a] = rt.cholesky_adjoint(bar[z], z, upper=upper)


@tangent_rule(np.linalg.cholesky)
def cholesky_tangent(z, a, *, upper=False):
    dot[z] = rt.cholesky_tangent(dot[a], z, upper=upper)


@batch_rule(np.linalg.cholesky)
def cholesky_batched(z, a, *, upper=False):
    vec[z] = np.linalg.cholesky(vec[a], upper=upper)


@adjoint_rule(np.linalg.eigh, tuple_result=True)
def eigh_adjoint(z, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    # z is the pair (eigenvalues, eigenvectors); repeated eigenvalues make the
    # eigenvectors' derivative infinite (see rt.eigh_adjoint).
    bar[a] = rt.eigh_adjoint(bar[z], z, UPLO=UPLO)


@tangent_rule(np.linalg.eigh)
def eigh_tangent(z, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    dot[z] = rt.eigh_tangent(dot[a], z, UPLO=UPLO)


@batch_rule(np.linalg.eigh)
def eigh_batched(z, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    vec[z] = np.linalg.eigh(vec[a], UPLO=UPLO)


# eig and eigvals of real matrices with real eigenvalues (complex ones are
# refused when the derivative is taken: see rt.eig_adjoint). Differentiated
# code computes them with rt.eig_real_spectrum and rt.eigvals_real_spectrum
# (NumPy 1's real arrays for a real spectrum, under NumPy 2.5 too), which
# have the same rules.
@adjoint_rule(np.linalg.eig, rt.eig_real_spectrum, tuple_result=True)
def eig_adjoint(z, a):
    bar[a] = rt.eig_adjoint(bar[z], z)


@tangent_rule(np.linalg.eig, rt.eig_real_spectrum)
def eig_tangent(z, a):
    dot[z] = rt.eig_tangent(dot[a], z)


@batch_rule(np.linalg.eig, rt.eig_real_spectrum)
def eig_batched(z, a):
    vec[z] = rt.eig_real_spectrum(vec[a])


@adjoint_rule(np.linalg.eigvals, rt.eigvals_real_spectrum)
def eigvals_adjoint(z, a):
    bar[a] = rt.eigvals_adjoint(bar[z], a)


@tangent_rule(np.linalg.eigvals, rt.eigvals_real_spectrum)
def eigvals_tangent(z, a):
    dot[z] = rt.eigvals_tangent(dot[a], a)


@batch_rule(np.linalg.eigvals, rt.eigvals_real_spectrum)
def eigvals_batched(z, a):
    vec[z] = rt.eigvals_real_spectrum(vec[a])


# hermitian=True computes through eigh, which reads one triangle: not accepted.
# rcond and rtol only decide the rank, which the derivative assumes constant.
@adjoint_rule(np.linalg.pinv)
def pinv_adjoint(z, a, rcond=None, *, rtol=None):
    bar[a] = rt.pinv_adjoint(bar[z], a, z)


@tangent_rule(np.linalg.pinv)
def pinv_tangent(z, a, rcond=None, *, rtol=None):
    dot[z] = rt.pinv_tangent(dot[a], a, z)


@batch_rule(np.linalg.pinv)
def pinv_batched(z, a, rcond=None, hermitian=False, *, rtol=None):
    vec[z] = np.linalg.pinv(vec[a], rcond=rcond, hermitian=hermitian, rtol=rtol)


@adjoint_rule(np.linalg.multi_dot, sequences=True)  # the arrays' adjoints (tangents) item by item
def multi_dot_adjoint(z, arrays):
    bar[arrays] = rt.multi_dot_adjoint(bar[z], arrays)


@tangent_rule(np.linalg.multi_dot)
def multi_dot_tangent(z, arrays):
    dot[z] = rt.multi_dot_tangent(dot[arrays], arrays, z)


@batch_rule(np.linalg.multi_dot)
def multi_dot_batched(z, arrays):
    vec[z] = rt.vmulti_dot(vec[arrays])


@adjoint_rule(np.linalg.matrix_power)
def matrix_power_adjoint(z, a, n):
    bar[a] = rt.matrix_power_adjoint(bar[z], a, n)


@tangent_rule(np.linalg.matrix_power)
def matrix_power_tangent(z, a, n):
    dot[z] = rt.matrix_power_tangent(dot[a], a, n)


@batch_rule(np.linalg.matrix_power)
def matrix_power_batched(z, a, n):
    vec[z] = np.linalg.matrix_power(vec[a], n)


@adjoint_rule(np.convolve)
def convolve_adjoint(z, a, v, mode="full"):
    bar[a] = rt.real_for(rt.convolve_adjoint(bar[z], a, v, mode=mode), a)
    bar[v] = rt.real_for(rt.convolve_adjoint(bar[z], a, v, mode=mode, wrt_v=True), v)


@tangent_rule(np.convolve)
def convolve_tangent(z, a, v, mode="full"):
    dot[z] = rt.convolve_tangent(dot[a], a, v, z, mode=mode)
    dot[z] = rt.convolve_tangent(dot[v], a, v, z, mode=mode, wrt_v=True)


@batch_rule(np.convolve)
def convolve_batched(z, a, v, mode="full"):
    vec[z] = rt.vconvolve(vec[a], vec[v], mode=mode)


# Real arrays (np.correlate conjugates a complex v).
@adjoint_rule(np.correlate)
def correlate_adjoint(z, a, v, mode="valid"):
    bar[a] = rt.correlate_adjoint(bar[z], a, v, mode=mode)
    bar[v] = rt.correlate_adjoint(bar[z], a, v, mode=mode, wrt_v=True)


@tangent_rule(np.correlate)
def correlate_tangent(z, a, v, mode="valid"):
    dot[z] = rt.correlate_tangent(dot[a], a, v, z, mode=mode)
    dot[z] = rt.correlate_tangent(dot[v], a, v, z, mode=mode, wrt_v=True)


@batch_rule(np.correlate)
def correlate_batched(z, a, v, mode="valid"):
    vec[z] = rt.vcorrelate(vec[a], vec[v], mode=mode)


@adjoint_rule(np.inner)
def inner_adjoint(z, a, b):
    bar[a] = rt.real_for(rt.inner_adjoint(bar[z], a, b), a)
    bar[b] = rt.real_for(rt.inner_adjoint(bar[z], a, b, wrt_b=True), b)


@tangent_rule(np.inner)
def inner_tangent(z, a, b):
    dot[z] = rt.inner_tangent(dot[a], a, b)
    dot[z] = rt.inner_tangent(dot[b], a, b, wrt_b=True)


@batch_rule(np.inner)
def inner_batched(z, a, b):
    vec[z] = rt.vinner(vec[a], vec[b])


# np.vdot(a, b) = sum(conj(a) * b): a complex a is conjugated (the
# conjugate of a real array is itself).
@adjoint_rule(np.vdot)
def vdot_adjoint(z, a, b):
    bar[a] = rt.real_for(rt.vdot_adjoint(np.conjugate(bar[z]), np.conjugate(b), a), a)
    bar[b] = rt.real_for(rt.vdot_adjoint(bar[z], np.conjugate(a), b), b)


@tangent_rule(np.vdot)
def vdot_tangent(z, a, b):
    dot[z] = rt.vdot_tangent(np.conjugate(dot[a]), a, b)
    dot[z] = rt.vdot_tangent(dot[b], b, np.conjugate(a))


@batch_rule(np.vdot)
def vdot_batched(z, a, b):
    vec[z] = rt.vvdot(vec[a], vec[b])


@adjoint_rule(np.diagflat)
def diagflat_adjoint(z, v, k=0):
    bar[v] = rt.diagflat_adjoint(bar[z], v, k=k)


@tangent_rule(np.diagflat)
def diagflat_tangent(z, v, k=0):
    dot[z] = rt.diagflat_tangent(dot[v], v, k=k)


@batch_rule(np.diagflat)
def diagflat_batched(z, v, k=0):
    vec[z] = rt.vdiagflat(vec[v], k=k)


@adjoint_rule(np.linalg.eigvalsh)
def eigvalsh_adjoint(z, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    bar[a] = rt.eigvalsh_adjoint(bar[z], a, UPLO=UPLO)


@tangent_rule(np.linalg.eigvalsh)
def eigvalsh_tangent(z, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    dot[z] = rt.eigvalsh_tangent(dot[a], a, UPLO=UPLO)


@batch_rule(np.linalg.eigvalsh)
def eigvalsh_batched(z, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    vec[z] = np.linalg.eigvalsh(vec[a], UPLO=UPLO)


# The factors u, s, vh where the singular values are distinct and nonzero
# (full_matrices=False, or a square matrix), or the singular values alone
# (compute_uv=False). hermitian=True (through eigh) is not accepted.
@adjoint_rule(np.linalg.svd, tuple_result=True)
def svd_adjoint(z, a, full_matrices=True, compute_uv=True):
    bar[a] = rt.svd_adjoint(bar[z], a, z, full_matrices=full_matrices, compute_uv=compute_uv)


@tangent_rule(np.linalg.svd)
def svd_tangent(z, a, full_matrices=True, compute_uv=True):
    dot[z] = rt.svd_tangent(dot[a], a, z, full_matrices=full_matrices, compute_uv=compute_uv)


@batch_rule(np.linalg.svd)
def svd_batched(z, a, full_matrices=True, compute_uv=True, hermitian=False):
    vec[z] = np.linalg.svd(vec[a], full_matrices=full_matrices, compute_uv=compute_uv, hermitian=hermitian)


if hasattr(np.linalg, "svdvals"):  # NumPy >= 2.0
    @adjoint_rule(np.linalg.svdvals)
    def svdvals_adjoint(z, x):
        bar[x] = rt.singular_values_adjoint(bar[z], x, compute_uv=False)


    @tangent_rule(np.linalg.svdvals)
    def svdvals_tangent(z, x):
        dot[z] = rt.singular_values_tangent(dot[x], x, compute_uv=False)


    @batch_rule(np.linalg.svdvals)
    def svdvals_batched(z, x):
        vec[z] = np.linalg.svdvals(vec[x])


# One array (not y, fweights, aweights); the rest by keyword.
@adjoint_rule(np.cov)
def cov_adjoint(z, m, *, rowvar=True, bias=False, ddof=None):
    bar[m] = rt.cov_adjoint(bar[z], m, rowvar=rowvar, bias=bias, ddof=ddof)


@tangent_rule(np.cov)
def cov_tangent(z, m, *, rowvar=True, bias=False, ddof=None):
    dot[z] = rt.cov_tangent(dot[m], m, z, rowvar=rowvar, bias=bias, ddof=ddof)


@batch_rule(np.cov)
def cov_batched(z, m, *, rowvar=True, bias=False, ddof=None):
    vec[z] = rt.vcov(vec[m], rowvar=rowvar, bias=bias, ddof=ddof)


@adjoint_rule(np.corrcoef)
def corrcoef_adjoint(z, x, *, rowvar=True):
    bar[x] = rt.corrcoef_adjoint(bar[z], x, rowvar=rowvar)


@tangent_rule(np.corrcoef)
def corrcoef_tangent(z, x, *, rowvar=True):
    dot[z] = rt.corrcoef_tangent(dot[x], x, z, rowvar=rowvar)


@batch_rule(np.corrcoef)
def corrcoef_batched(z, x, *, rowvar=True):
    vec[z] = rt.vcorrcoef(vec[x], rowvar=rowvar)


# The solution x alone, for a of full rank; rcond only decides the rank.
@adjoint_rule(np.linalg.lstsq, tuple_result=True)
def lstsq_adjoint(z, a, b, rcond=None):
    bar[a] = rt.lstsq_adjoint(bar[z], a, b)
    bar[b] = rt.lstsq_adjoint(bar[z], a, b, wrt_b=True)


@tangent_rule(np.linalg.lstsq)
def lstsq_tangent(z, a, b, rcond=None):
    # The tangents of x, the residuals and sv (the rank has none).
    dot[z] = rt.lstsq_tangent(dot[a], a, b, z)
    dot[z] = rt.lstsq_tangent(dot[b], a, b, z, wrt_b=True)


# One lstsq for a constant a (the examples' b as columns), else one per example.
@batch_rule(np.linalg.lstsq)
def lstsq_batched(z, a, b, rcond=None):
    vec[z] = rt.vlstsq(vec[a], vec[b], rcond=rcond)


# mode='reduced' (and mode='r', R alone), square or tall matrices of full column rank (stacks too).
@adjoint_rule(np.linalg.qr, tuple_result=True)
def qr_adjoint(z, a, mode="reduced"):
    bar[a] = rt.qr_adjoint(bar[z], a, z, mode=mode)


@tangent_rule(np.linalg.qr)
def qr_tangent(z, a, mode="reduced"):
    dot[z] = rt.qr_tangent(dot[a], a, z, mode=mode)


@batch_rule(np.linalg.qr)
def qr_batched(z, a, mode="reduced"):
    vec[z] = np.linalg.qr(vec[a], mode=mode)
