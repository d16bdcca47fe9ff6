"""Batching rules (vmap) of the derivative helpers of np.convolve and
np.correlate: ``vmap(jacrev(f))``, ``vmap(jacfwd(f))``,
``vmap(hessian(f))`` run them once on the batch
(``runtime/batched_convolve.py``) instead of once per example. ``mode`` is
read as it is: the same in every example (else vmap loops, and warns).
"""
from .. import runtime as rt
from . import batch_rule, nondifferentiable, vec

# Window indices, lengths and paddings read from shapes (no derivative).
nondifferentiable(rt._vc_windows, rt._vc_lengths, rt._vc_pads, rt._convolve_start)
# (and scipy.signal.convolve's batched windows, gathered by an index read from shapes)
nondifferentiable(rt._window_index)


@batch_rule(rt.convolve_adjoint)
def convolve_adjoint_batched(r, g, a, v, mode="full", wrt_v=False, correlate=False):
    vec[r] = rt.vconvolve_adjoint(vec[g], vec[a], vec[v], mode=mode, wrt_v=wrt_v, correlate=correlate)


@batch_rule(rt.correlate_adjoint)
def correlate_adjoint_batched(r, g, a, v, mode="valid", wrt_v=False):
    vec[r] = rt.vcorrelate_adjoint(vec[g], vec[a], vec[v], mode=mode, wrt_v=wrt_v)


@batch_rule(rt.convolve_tangent)
def convolve_tangent_batched(r, t, a, v, z, mode="full", wrt_v=False, correlate=False):
    vec[r] = rt.vconvolve_tangent(vec[t], vec[a], vec[v], vec[z], mode=mode, wrt_v=wrt_v, correlate=correlate)


@batch_rule(rt.correlate_tangent)
def correlate_tangent_batched(r, t, a, v, z, mode="valid", wrt_v=False):
    vec[r] = rt.vcorrelate_tangent(vec[t], vec[a], vec[v], vec[z], mode=mode, wrt_v=wrt_v)


@batch_rule(rt.convolve_adjoint_tangent)
def convolve_adjoint_tangent_batched(r, t, g, a, v, mode="full", wrt_v=False, correlate=False, of_v=False):
    vec[r] = rt.vconvolve_adjoint_tangent(vec[t], vec[g], vec[a], vec[v], mode=mode, wrt_v=wrt_v,
                                          correlate=correlate, of_v=of_v)


@batch_rule(rt.correlate_adjoint_tangent)
def correlate_adjoint_tangent_batched(r, t, g, a, v, mode="valid", wrt_v=False, of_v=False):
    vec[r] = rt.vcorrelate_adjoint_tangent(vec[t], vec[g], vec[a], vec[v], mode=mode, wrt_v=wrt_v, of_v=of_v)

