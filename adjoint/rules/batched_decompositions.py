"""Batching rules (vmap) of the derivative helpers of ``np.linalg.eigh``,
``eigvalsh``, ``qr``, ``pinv``, ``lstsq``, ``matrix_power``, ``multi_dot``,
``svd`` without factors, ``np.cov``, ``np.corrcoef``, ``np.kron``,
``np.inner`` and ``np.vdot`` (the primitives' own batching rules are in
``linalg.py``): their adjoints (``vmap(jacrev(f))``), their tangents
(``vmap(jacfwd(f))``) and the tangents of their adjoints
(``vmap(hessian(f))``). Each calls its batched
form in ``runtime/batched_decompositions.py``: one NumPy computation on the
whole batch, the numbers of a loop over the examples.
"""
from .. import runtime as rt
from . import batch_rule, nondifferentiable, vec


# ---- adjoints

@batch_rule(rt.eigh_adjoint)
def eigh_adjoint_batched(r, g, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    vec[r] = rt.veigh_adjoint(vec[g], vec[z], UPLO=UPLO)


@batch_rule(rt.qr_adjoint)
def qr_adjoint_batched(r, g, a, z, mode="reduced"):
    vec[r] = rt.vqr_adjoint(vec[g], vec[a], vec[z], mode=mode)


@batch_rule(rt.pinv_adjoint)
def pinv_adjoint_batched(r, g, a, z):
    vec[r] = rt.vpinv_adjoint(vec[g], vec[a], vec[z])


@batch_rule(rt.lstsq_adjoint)
def lstsq_adjoint_batched(r, g, a, b, wrt_b=False):
    vec[r] = rt.vlstsq_adjoint(vec[g], vec[a], vec[b], wrt_b=wrt_b)


@batch_rule(rt.matrix_power_adjoint)
def matrix_power_adjoint_batched(r, g, a, n):
    vec[r] = rt.vmatrix_power_adjoint(vec[g], vec[a], n)


@batch_rule(rt.multi_dot_adjoint)
def multi_dot_adjoint_batched(r, g, arrays):
    vec[r] = rt.vmulti_dot_adjoint(vec[g], vec[arrays])


@batch_rule(rt.cov_adjoint)
def cov_adjoint_batched(r, g, m, rowvar=True, bias=False, ddof=None):
    vec[r] = rt.vcov_adjoint(vec[g], vec[m], rowvar=rowvar, bias=bias, ddof=ddof)


@batch_rule(rt.corrcoef_adjoint)
def corrcoef_adjoint_batched(r, g, x, rowvar=True):
    vec[r] = rt.vcorrcoef_adjoint(vec[g], vec[x], rowvar=rowvar)


@batch_rule(rt.kron_adjoint_left)
def kron_adjoint_left_batched(r, g, a, b):
    vec[r] = rt.vkron_adjoint_left(vec[g], vec[a], vec[b])


@batch_rule(rt.kron_adjoint_right)
def kron_adjoint_right_batched(r, g, a, b):
    vec[r] = rt.vkron_adjoint_right(vec[g], vec[a], vec[b])


# ---- tangents

@batch_rule(rt.eigh_tangent)
def eigh_tangent_batched(r, t, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    vec[r] = rt.veigh_tangent(vec[t], vec[z], UPLO=UPLO)


@batch_rule(rt.qr_tangent)
def qr_tangent_batched(r, t, a, z, mode="reduced"):
    vec[r] = rt.vqr_tangent(vec[t], vec[a], vec[z], mode=mode)


@batch_rule(rt.pinv_tangent)
def pinv_tangent_batched(r, t, a, z):
    vec[r] = rt.vpinv_tangent(vec[t], vec[a], vec[z])


@batch_rule(rt.lstsq_tangent)
def lstsq_tangent_batched(r, t, a, b, z, wrt_b=False):
    vec[r] = rt.vlstsq_tangent(vec[t], vec[a], vec[b], vec[z], wrt_b=wrt_b)


@batch_rule(rt.matrix_power_tangent)
def matrix_power_tangent_batched(r, t, a, n):
    vec[r] = rt.vmatrix_power_tangent(vec[t], vec[a], n)


@batch_rule(rt.multi_dot_tangent)
def multi_dot_tangent_batched(r, t, arrays, z):
    vec[r] = rt.vmulti_dot_tangent(vec[t], vec[arrays], vec[z])


@batch_rule(rt.cov_tangent)
def cov_tangent_batched(r, t, m, z, rowvar=True, bias=False, ddof=None):
    vec[r] = rt.vcov_tangent(vec[t], vec[m], vec[z], rowvar=rowvar, bias=bias, ddof=ddof)


@batch_rule(rt.corrcoef_tangent)
def corrcoef_tangent_batched(r, t, x, z, rowvar=True):
    vec[r] = rt.vcorrcoef_tangent(vec[t], vec[x], vec[z], rowvar=rowvar)


@batch_rule(rt.kron_tangent_left)
def kron_tangent_left_batched(r, t, a, b):
    vec[r] = rt.vkron_tangent_left(vec[t], vec[a], vec[b])


@batch_rule(rt.kron_tangent_right)
def kron_tangent_right_batched(r, t, a, b):
    vec[r] = rt.vkron_tangent_right(vec[t], vec[a], vec[b])


# ---- tangents of the adjoints

@batch_rule(rt.eigh_adjoint_tangent)
def eigh_adjoint_tangent_batched(r, t, g, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    vec[r] = rt.veigh_adjoint_tangent(vec[t], vec[g], vec[z], UPLO=UPLO)


@batch_rule(rt.qr_adjoint_tangent)
def qr_adjoint_tangent_batched(r, t, g, a, z, mode="reduced"):
    vec[r] = rt.vqr_adjoint_tangent(vec[t], vec[g], vec[a], vec[z], mode=mode)


@batch_rule(rt.pinv_adjoint_tangent)
def pinv_adjoint_tangent_batched(r, t, g, a, z, of_z=False):
    vec[r] = rt.vpinv_adjoint_tangent(vec[t], vec[g], vec[a], vec[z], of_z=of_z)


@batch_rule(rt.matrix_power_adjoint_tangent)
def matrix_power_adjoint_tangent_batched(r, t, g, a, n):
    vec[r] = rt.vmatrix_power_adjoint_tangent(vec[t], vec[g], vec[a], n)



@batch_rule(rt.kron_adjoint_left_tangent)
def kron_adjoint_left_tangent_batched(r, t, g, a, b):
    vec[r] = rt.vkron_adjoint_left_tangent(vec[t], vec[g], vec[a], vec[b])


@batch_rule(rt.kron_adjoint_right_tangent)
def kron_adjoint_right_tangent_batched(r, t, g, a, b):
    vec[r] = rt.vkron_adjoint_right_tangent(vec[t], vec[g], vec[a], vec[b])


@batch_rule(rt.cov_adjoint_tangent)
def cov_adjoint_tangent_batched(r, t, g, m, rowvar=True, bias=False, ddof=None):
    vec[r] = rt.vcov_adjoint_tangent(vec[t], vec[g], vec[m], rowvar=rowvar, bias=bias, ddof=ddof)


@batch_rule(rt.corrcoef_adjoint_tangent)
def corrcoef_adjoint_tangent_batched(r, t, g, x, rowvar=True):
    vec[r] = rt.vcorrcoef_adjoint_tangent(vec[t], vec[g], vec[x], rowvar=rowvar)


@batch_rule(rt.multi_dot_adjoint_tangent)
def multi_dot_adjoint_tangent_batched(r, t, g, arrays):
    vec[r] = rt.vmulti_dot_adjoint_tangent(vec[t], vec[g], vec[arrays])


@batch_rule(rt.lstsq_adjoint_tangent)
def lstsq_adjoint_tangent_batched(r, t, g, a, b, wrt_b=False, of_b=False):
    vec[r] = rt.vlstsq_adjoint_tangent(vec[t], vec[g], vec[a], vec[b], wrt_b=wrt_b, of_b=of_b)


# ---- np.linalg.eigvalsh, svdvals, np.inner, np.vdot

@batch_rule(rt.eigvalsh_adjoint)
def eigvalsh_adjoint_batched(r, g, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    vec[r] = rt.veigvalsh_adjoint(vec[g], vec[a], UPLO=UPLO)


@batch_rule(rt.eigvalsh_tangent)
def eigvalsh_tangent_batched(r, t, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    vec[r] = rt.veigvalsh_tangent(vec[t], vec[a], UPLO=UPLO)


@batch_rule(rt.singular_values_adjoint)
def singular_values_adjoint_batched(r, g, a, compute_uv=True):
    vec[r] = rt.vsingular_values_adjoint(vec[g], vec[a], compute_uv=compute_uv)


@batch_rule(rt.inner_adjoint)
def inner_adjoint_batched(r, g, a, b, wrt_b=False):
    vec[r] = rt.vinner_adjoint(vec[g], vec[a], vec[b], wrt_b=wrt_b)


@batch_rule(rt.inner_tangent)
def inner_tangent_batched(r, t, a, b, wrt_b=False):
    vec[r] = rt.vinner_tangent(vec[t], vec[a], vec[b], wrt_b=wrt_b)


@batch_rule(rt.vdot_adjoint)
def vdot_adjoint_batched(r, g, other, like):
    vec[r] = rt.vvdot_adjoint(vec[g], vec[other], vec[like])


@batch_rule(rt.vdot_tangent)
def vdot_tangent_batched(r, t, own, other):
    vec[r] = rt.vvdot_tangent(vec[t], vec[own], vec[other])


@batch_rule(rt.eigvalsh_adjoint_tangent)
def eigvalsh_adjoint_tangent_batched(r, t, g, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    vec[r] = rt.veigvalsh_adjoint_tangent(vec[t], vec[g], vec[a], UPLO=UPLO)


@batch_rule(rt.singular_values_adjoint_tangent)
def singular_values_adjoint_tangent_batched(r, t, g, a, compute_uv=True):
    vec[r] = rt.vsingular_values_adjoint_tangent(vec[t], vec[g], vec[a], compute_uv=compute_uv)


@batch_rule(rt.inner_adjoint_tangent)
def inner_adjoint_tangent_batched(r, t, g, a, b, wrt_b=False, of_b=False):
    vec[r] = rt.vinner_adjoint_tangent(vec[t], vec[g], vec[a], vec[b], wrt_b=wrt_b, of_b=of_b)


@batch_rule(rt.vdot_adjoint_tangent)
def vdot_adjoint_tangent_batched(r, t, g, other, like):
    vec[r] = rt.vvdot_adjoint_tangent(vec[t], vec[g], vec[other], vec[like])


# the per-example loop counter: no derivative, no batch
nondifferentiable(rt.count_per_example_loop)
