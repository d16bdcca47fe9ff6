"""Batching rules (vmap) of the linear-algebra helpers that Hessian code
calls: forward mode's tangents of ``np.linalg.inv`` / ``det`` /
``slogdet``, ``slogdet``'s adjoint, and the tangents of the backward helpers
of ``inv``, ``det``, ``slogdet``, ``solve``, ``cholesky``, ``svd`` and
``@`` (``vmap(hessian(f))``, ``vmap(jacfwd(jacrev(f)))``). Each calls its
batched form in ``runtime/batched_second_order.py``: one NumPy call per
helper on the whole batch, the numbers of a loop over the examples.
"""
from .. import runtime as rt
from . import batch_rule, vec


@batch_rule(rt.inv_tangent)
def inv_tangent_batched(r, t, z):
    vec[r] = rt.vinv_tangent(vec[t], vec[z])


@batch_rule(rt.det_tangent)
def det_tangent_batched(r, t, z, a):
    vec[r] = rt.vdet_tangent(vec[t], vec[z], vec[a])


@batch_rule(rt.slogdet_tangent)
def slogdet_tangent_batched(r, t, z, a):
    vec[r] = rt.vslogdet_tangent(vec[t], vec[z], vec[a])


@batch_rule(rt.slogdet_adjoint)
def slogdet_adjoint_batched(r, g, a):
    vec[r] = rt.vslogdet_adjoint(vec[g], vec[a])


@batch_rule(rt.inv_adjoint_tangent)
def inv_adjoint_tangent_batched(r, t, g, z):
    vec[r] = rt.vinv_adjoint_tangent(vec[t], vec[g], vec[z])


@batch_rule(rt.det_adjoint_tangent)
def det_adjoint_tangent_batched(r, t, g, z, a, of_a=False):
    vec[r] = rt.vdet_adjoint_tangent(vec[t], vec[g], vec[z], vec[a], of_a=of_a)


@batch_rule(rt.slogdet_adjoint_tangent)
def slogdet_adjoint_tangent_batched(r, t, g, a):
    vec[r] = rt.vslogdet_adjoint_tangent(vec[t], vec[g], vec[a])


@batch_rule(rt.solve_transposed_tangent)
def solve_transposed_tangent_batched(r, t, a, g, b):
    vec[r] = rt.vsolve_transposed_tangent(vec[t], vec[a], vec[g], vec[b])


@batch_rule(rt.solve_adjoint_matrix_tangent)
def solve_adjoint_matrix_tangent_batched(r, t, b_bar, z, a, b):
    vec[r] = rt.vsolve_adjoint_matrix_tangent(vec[t], vec[b_bar], vec[z], vec[a], vec[b])


@batch_rule(rt.cholesky_adjoint_tangent)
def cholesky_adjoint_tangent_batched(r, t, g, z, upper=False):
    vec[r] = rt.vcholesky_adjoint_tangent(vec[t], vec[g], vec[z], upper=upper)


@batch_rule(rt.svd_adjoint_tangent)
def svd_adjoint_tangent_batched(r, t, g, a, z, full_matrices=True, compute_uv=True, wrt="z"):
    vec[r] = rt.vsvd_adjoint_tangent(vec[t], vec[g], vec[a], vec[z], full_matrices=full_matrices,
                                     compute_uv=compute_uv, wrt=wrt)


@batch_rule(rt.svd_adjoint_tangent_a)
def svd_adjoint_tangent_a_batched(r, t, g, a, z, full_matrices=True, compute_uv=True):
    vec[r] = rt.vsvd_adjoint_tangent(vec[t], vec[g], vec[a], vec[z], full_matrices=full_matrices,
                                     compute_uv=compute_uv, wrt="a")


@batch_rule(rt.matmul_adjoint_left_tangent)
def matmul_adjoint_left_tangent_batched(r, t, g, x, y):
    vec[r] = rt.vmatmul_adjoint_left_tangent(vec[t], vec[g], vec[x], vec[y])


@batch_rule(rt.matmul_adjoint_right_tangent)
def matmul_adjoint_right_tangent_batched(r, t, g, x, y):
    vec[r] = rt.vmatmul_adjoint_right_tangent(vec[t], vec[g], vec[x], vec[y])


@batch_rule(rt.unpack_bar_tangent)
def unpack_bar_tangent_batched(r, t, value):
    vec[r] = rt.vunpack_bar_tangent(vec[t], vec[value])


# jacfwd of a jacfwd: the columns of the inner Jacobian's tangent (shapes only)
@batch_rule(rt.jacobian_from_columns_tangent)
def jacobian_from_columns_tangent_batched(r, t, out, x, offset):
    vec[r] = rt.vjacobian_from_columns_tangent(vec[t], vec[out], vec[x], offset)


# Helpers that the derivative helpers' own code calls, met when that code is
# differentiated again and batched (vmap(jacfwd(jacfwd(f)))): the last two
# axes, size-1 axes after the leading ones, a container rebuilt around items.
@batch_rule(rt._mT)
def transposed_matrices_batched(r, x):
    vec[r] = rt._mT(vec[x])


@batch_rule(rt._lead)
def lead_batched(r, t, ndim):
    vec[r] = rt._lead_after_two(vec[t], ndim)


@batch_rule(rt.rebuild_like)
def rebuild_like_batched(r, container, items):
    vec[r] = rt.rebuild_like(vec[container], vec[items])


@batch_rule(rt.as_tangent_tangent)
def as_tangent_tangent_batched(r, tt, t, like):
    vec[r] = rt.vas_tangent_tangent(vec[tt], vec[t], vec[like])


@batch_rule(rt.item_tangent_tangent)
def item_tangent_tangent_batched(r, tt, t, item, key, batch):
    vec[r] = rt.vitem_tangent_tangent(vec[tt], vec[t], vec[item], key, batch)


@batch_rule(rt.unpack_tangent_tangent)
def unpack_tangent_tangent_batched(r, tt, t, value, count, batch):
    vec[r] = rt.vunpack_tangent_tangent(vec[tt], vec[t], vec[value], count, batch)


@batch_rule(rt._svd_gaps)
def svd_gaps_batched(r, s):
    vec[r] = rt._svd_gaps(vec[s])


@batch_rule(rt._symmetric_read)
def symmetric_read_batched(r, t, upper=False):
    vec[r] = rt._symmetric_read(vec[t], upper=upper)


@batch_rule(rt.singular_values_tangent)
def singular_values_tangent_batched(r, t, a, compute_uv=True):
    vec[r] = rt.vsingular_values_tangent(vec[t], vec[a], compute_uv=compute_uv)


@batch_rule(rt.tensordot_tangent_right)
def tensordot_tangent_right_batched(r, t, a, b, axes=2):
    vec[r] = rt.vtensordot_tangent_right(vec[t], vec[a], vec[b], axes=axes)


# np.outer's tangents and its adjoints' tangents (third order: vmap(jacfwd(hessian(f))))
@batch_rule(rt.outer_tangent_left)
def outer_tangent_left_batched(r, t, a, b):
    vec[r] = rt.vouter_tangent_left(vec[t], vec[a], vec[b])


@batch_rule(rt.outer_tangent_right)
def outer_tangent_right_batched(r, t, a, b):
    vec[r] = rt.vouter_tangent_right(vec[t], vec[a], vec[b])


@batch_rule(rt.outer_adjoint_left_tangent)
def outer_adjoint_left_tangent_batched(r, t, g, a, b):
    vec[r] = rt.vouter_adjoint_left_tangent(vec[t], vec[g], vec[a], vec[b])


@batch_rule(rt.outer_adjoint_right_tangent)
def outer_adjoint_right_tangent_batched(r, t, g, a, b):
    vec[r] = rt.vouter_adjoint_right_tangent(vec[t], vec[g], vec[a], vec[b])


# the helpers of pinv_adjoint_tangent's own source, differentiated again and batched
@batch_rule(rt._ra_pinv_parts)
def ra_pinv_parts_batched(r, g, a, z):
    vec[r] = rt._ra_pinv_parts(vec[g], vec[a], vec[z])  # (matrix products and transposes of stacks)


@batch_rule(rt._ra_over)
def ra_over_batched(r, t, ndim):
    vec[r] = rt.vra_over(vec[t], ndim)


@batch_rule(rt._ra_unbroadcast)
def ra_unbroadcast_batched(r, s, x):
    vec[r] = rt.vra_unbroadcast(vec[s], vec[x])
