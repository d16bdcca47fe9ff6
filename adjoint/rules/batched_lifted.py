"""Batching rules (vmap) of the derivative helpers that broadcast over
leading axes: the second derivatives of np.cross, np.average, np.var /
np.std, np.prod, np.cumprod and the NaN-ignoring reductions (``vmap(hessian(f))``,
``vmap(jacfwd(f))``), np.quantile's adjoint (np.median, np.percentile),
and np.average's adjoint with weights that differ between the examples.
Each calls its form in ``runtime/batched_lifted.py``, which lifts the vmap
axis into the primal values and runs the helper once on the whole batch:
the numbers of a loop over the examples, without the loop.

Below them, the rules of the first derivatives of np.linalg.eig / eigvals
(``runtime/batched_eig.py``) and scipy.stats.multivariate_normal
(``runtime/batched_mvn.py``), which run their formulas on the stack.

An argument read here without ``vec`` (np.quantile's ``q``, the axes)
must be the same in every example; where it is not, vmap runs the helper
once per example (exact, and it warns).
"""
from .. import runtime as rt
from . import batch_rule, nondifferentiable, vec

# Axes, ranks and shapes read from the batched values (no derivative).
nondifferentiable(rt._vl_axes, rt._vl_ndim, rt._vl_scan_axis, rt._vl_cross_axes, rt._vl_average_lifts,
                   rt._vl_option)
# (_vl_batched_array is np.stack of the items: read as source)


@batch_rule(rt.var_adjoint_tangent)
def var_adjoint_tangent_batched(r, t, g, a, axis=None, ddof=0, keepdims=False):
    vec[r] = rt.vvar_adjoint_tangent(vec[t], vec[g], vec[a], axis=axis, ddof=ddof, keepdims=keepdims)


@batch_rule(rt.std_adjoint_tangent_z)
def std_adjoint_tangent_z_batched(r, t, g, a, z, axis=None, ddof=0, keepdims=False):
    vec[r] = rt.vstd_adjoint_tangent_z(vec[t], vec[g], vec[a], vec[z], axis=axis, ddof=ddof, keepdims=keepdims)


@batch_rule(rt.nanvar_adjoint_tangent)
def nanvar_adjoint_tangent_batched(r, t, g, a, axis=None, ddof=0, keepdims=False):
    vec[r] = rt.vnanvar_adjoint_tangent(vec[t], vec[g], vec[a], axis=axis, ddof=ddof, keepdims=keepdims)


@batch_rule(rt.nanstd_adjoint_tangent_z)
def nanstd_adjoint_tangent_z_batched(r, t, g, a, z, axis=None, ddof=0, keepdims=False):
    vec[r] = rt.vnanstd_adjoint_tangent_z(vec[t], vec[g], vec[a], vec[z], axis=axis, ddof=ddof, keepdims=keepdims)


@batch_rule(rt.nanprod_adjoint_tangent)
def nanprod_adjoint_tangent_batched(r, t, g, a, axis=None, keepdims=False):
    vec[r] = rt.vnanprod_adjoint_tangent(vec[t], vec[g], vec[a], axis=axis, keepdims=keepdims)


@batch_rule(rt.prod_others_tangent)
def prod_others_tangent_batched(r, t, x, axis=None):
    vec[r] = rt.vprod_others_tangent(vec[t], vec[x], axis=axis)


@batch_rule(rt.average_adjoint_tangent)
def average_adjoint_tangent_batched(r, t, g, a, z, axis=None, weights=None, keepdims=False, wrt_weights=False,
                                    wrt="a"):
    vec[r] = rt.vaverage_adjoint_tangent(vec[t], vec[g], vec[a], vec[z], axis=axis, weights=vec[weights],
                                         keepdims=keepdims, wrt_weights=wrt_weights, wrt=wrt)


@batch_rule(rt.average_tangent_weights)
def average_tangent_weights_batched(r, t, a, z, axis=None, weights=None, keepdims=False):
    vec[r] = rt.vaverage_tangent_weights(vec[t], vec[a], vec[z], axis=axis, weights=vec[weights], keepdims=keepdims)


@batch_rule(rt.cumprod_tangent)
def cumprod_tangent_batched(r, t, a, z, axis=None):
    vec[r] = rt.vcumprod_tangent(vec[t], vec[a], vec[z], axis=axis)


@batch_rule(rt.cumprod_adjoint_tangent)
def cumprod_adjoint_tangent_batched(r, t, g, a, axis=None):
    vec[r] = rt.vcumprod_adjoint_tangent(vec[t], vec[g], vec[a], axis=axis)


@batch_rule(rt.quantile_adjoint)
def quantile_adjoint_batched(r, g, a, q=0.5, axis=None, method="linear", keepdims=False, scale=1.0,
                             function="np.quantile"):
    vec[r] = rt.vquantile_adjoint(vec[g], vec[a], q=q, axis=axis, method=method, keepdims=keepdims, scale=scale,
                                  function=function)


@batch_rule(rt.cross_tangent)
def cross_tangent_batched(r, t, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False):
    vec[r] = rt.vcross_tangent(vec[t], vec[a], vec[b], axisa=axisa, axisb=axisb, axisc=axisc, axis=axis,
                               wrt_b=wrt_b)


@batch_rule(rt.cross_adjoint_tangent)
def cross_adjoint_tangent_batched(r, t, g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False,
                                  of_b=False):
    vec[r] = rt.vcross_adjoint_tangent(vec[t], vec[g], vec[a], vec[b], axisa=axisa, axisb=axisb, axisc=axisc,
                                       axis=axis, wrt_b=wrt_b, of_b=of_b)


# np.linalg.eig / eigvals (runtime/batched_eig.py): the batched primal
# values get a size-1 axis for the cotangent's or tangent's rows.
@batch_rule(rt.eig_adjoint)
def eig_adjoint_batched(r, g, z):
    vec[r] = rt.veig_adjoint(vec[g], vec[z])


@batch_rule(rt.eig_tangent)
def eig_tangent_batched(r, t, z):
    vec[r] = rt.veig_tangent(vec[t], vec[z])


@batch_rule(rt.eigvals_adjoint)
def eigvals_adjoint_batched(r, g, a):
    vec[r] = rt.veigvals_adjoint(vec[g], vec[a])


@batch_rule(rt.eigvals_tangent)
def eigvals_tangent_batched(r, t, a):
    vec[r] = rt.veigvals_tangent(vec[t], vec[a])


# scipy.stats.multivariate_normal.logpdf / pdf (runtime/batched_mvn.py): a
# covariance, mean and points per example, solved as one stack.
@batch_rule(rt.mvn_logpdf_adjoint)
def mvn_logpdf_adjoint_batched(r, g, x, mean, cov, wrt="x"):
    vec[r] = rt.vmvn_logpdf_adjoint(vec[g], vec[x], vec[mean], vec[cov], wrt=wrt)


@batch_rule(rt.mvn_logpdf_tangent)
def mvn_logpdf_tangent_batched(r, t, x, mean, cov, z, wrt="x"):
    vec[r] = rt.vmvn_logpdf_tangent(vec[t], vec[x], vec[mean], vec[cov], vec[z], wrt=wrt)
