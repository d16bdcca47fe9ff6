"""Tangent rules of the runtime helpers that generated backward code calls for elementwise functions, reductions and containers, so that generated code can be differentiated again.

Forward mode over backward code (``jacfwd(jacrev(f))``): there an adjoint
``g`` has shape ``(B,) + x.shape`` and its tangent ``(T, B) + x.shape``,
while a residual ``x`` has the tangent ``(T,) + x.shape``. Every helper
here is linear in its adjoint argument, whose contribution is the helper
applied to the tangent with ``T`` and ``B`` merged (``rt.merged``, or
``rt.merged_items`` when the adjoint may be a list, tuple or dict). Primal
arguments read for their shape, or for a piecewise-constant choice (which
element is the max, which segment ``x`` falls in, where the NaNs are), are
``constant``; the others get their own contribution. Helpers that only
compute masks, counts and shapes carry no derivative at all.
"""
from .. import runtime as rt
from . import (SEQUENCE_RULES, TUPLE_RESULTS, batch_rule, batched_by_flags, batched_by_index, dot, elementwise_helpers,
               nondifferentiable, tangent_rule, vec)

# ----------------------------------------------------------- broadcasting and reductions


@tangent_rule(rt.unbroadcast, constant=("x",))
def unbroadcast_tangent(r, g, x):
    dot[r] = rt.merged(rt.unbroadcast, dot[g], x)


# vmap of backward code: g is (B, G) + shape (the vmap batch, then the
# cotangent's own), and x is read for its example shape only.
@batch_rule(rt.unbroadcast)
def unbroadcast_batched(r, g, x):
    vec[r] = rt.vunbroadcast(vec[g], vec[x])


@tangent_rule(rt.unreduce, constant=("x", "axis", "keepdims"))
def unreduce_tangent(r, g, x, axis=None, keepdims=False):
    dot[r] = rt.merged(rt.unreduce, dot[g], x, axis=axis, keepdims=keepdims)


@batch_rule(rt.unreduce)
def unreduce_batched(r, g, x, axis=None, keepdims=False):
    vec[r] = rt.vunreduce(vec[g], vec[x], axis=axis, keepdims=keepdims)


@tangent_rule(rt.reshape_adjoint, constant=("x",))
def reshape_adjoint_tangent(r, g, x):
    dot[r] = rt.merged(rt.reshape_adjoint, dot[g], x)


@batch_rule(rt.reshape_adjoint)
def reshape_adjoint_batched(r, g, x):
    vec[r] = rt.vreshape_adjoint(vec[g], vec[x])


@tangent_rule(rt.cast_adjoint, constant=("dtype",))
def cast_adjoint_tangent(r, g, dtype):
    dot[r] = rt.merged(rt.cast_adjoint, dot[g], dtype)


@tangent_rule(rt.extremum_adjoint, constant=("x", "z", "axis", "keepdims"))
def extremum_adjoint_tangent(r, g, x, z, axis=None, keepdims=False):
    dot[r] = rt.merged(rt.extremum_adjoint, dot[g], x, z, axis=axis, keepdims=keepdims)


@batch_rule(rt.extremum_adjoint)
def extremum_adjoint_batched(r, g, x, z, axis=None, keepdims=False):
    vec[r] = rt.vextremum_adjoint(vec[g], vec[x], vec[z], axis=axis, keepdims=keepdims)


@tangent_rule(rt.prod_others, constant=("axis", "keepdims"))
def prod_others_tangent(r, x, axis=None, keepdims=False):
    dot[r] = rt.prod_others_tangent(dot[x], x, axis=axis)


@batch_rule(rt.prod_others)
def prod_others_batched(r, x, axis=None, keepdims=False):
    vec[r] = rt.vprod_others(vec[x], axis=axis, keepdims=keepdims)


@batch_rule(rt.reduced_count)
def reduced_count_batched(r, x, axis=None):
    vec[r] = rt.vreduced_count(vec[x], batch, axis=axis)


@tangent_rule(rt.var_adjoint, constant=("axis", "ddof", "keepdims"))
def var_adjoint_tangent(r, g, a, axis=None, ddof=0, keepdims=False):
    dot[r] = rt.merged(rt.var_adjoint, dot[g], a, axis=axis, ddof=ddof, keepdims=keepdims)
    dot[r] = rt.var_adjoint_tangent(dot[a], g, a, axis=axis, ddof=ddof, keepdims=keepdims)


@batch_rule(rt.var_adjoint)
def var_adjoint_batched(r, g, a, axis=None, ddof=0, keepdims=False):
    vec[r] = rt.vvar_adjoint(vec[g], vec[a], axis=axis, ddof=ddof, keepdims=keepdims)


@tangent_rule(rt.std_adjoint, constant=("axis", "ddof", "keepdims"))
def std_adjoint_tangent(r, g, a, z, axis=None, ddof=0, keepdims=False):
    dot[r] = rt.merged(rt.std_adjoint, dot[g], a, z, axis=axis, ddof=ddof, keepdims=keepdims)
    # z's zeros divide as inf (rt.std_divisor): there every deviation is 0, and so is the slope
    dot[r] = rt.var_adjoint_tangent(dot[a], g / (2.0 * np.where(np.equal(z, 0), np.inf, z)), a, axis=axis,
                                    ddof=ddof, keepdims=keepdims)
    dot[r] = rt.std_adjoint_tangent_z(dot[z], g, a, z, axis=axis, ddof=ddof, keepdims=keepdims)


@batch_rule(rt.std_adjoint)
def std_adjoint_batched(r, g, a, z, axis=None, ddof=0, keepdims=False):
    vec[r] = rt.vstd_adjoint(vec[g], vec[a], vec[z], axis=axis, ddof=ddof, keepdims=keepdims)


@tangent_rule(rt.average_adjoint, constant=("axis", "keepdims", "wrt_weights"))
def average_adjoint_tangent(r, g, a, z, axis=None, weights=None, keepdims=False, wrt_weights=False):
    dot[r] = rt.merged(rt.average_adjoint, dot[g], a, z, axis=axis, weights=weights, keepdims=keepdims,
                       wrt_weights=wrt_weights)
    dot[r] = rt.average_adjoint_tangent(dot[a], g, a, z, axis=axis, weights=weights, keepdims=keepdims,
                                        wrt_weights=wrt_weights)
    dot[r] = rt.average_adjoint_tangent(dot[z], g, a, z, axis=axis, weights=weights, keepdims=keepdims,
                                        wrt_weights=wrt_weights, wrt="z")
    dot[r] = rt.average_adjoint_tangent(dot[weights], g, a, z, axis=axis, weights=weights, keepdims=keepdims,
                                        wrt_weights=wrt_weights, wrt="weights")


@batch_rule(rt.average_adjoint)
def average_adjoint_batched(r, g, a, z, axis=None, weights=None, keepdims=False, wrt_weights=False):
    vec[r] = rt.vaverage_adjoint(batch, vec[g], vec[a], vec[z], axis=vec[axis], weights=vec[weights],
                                 keepdims=vec[keepdims], wrt_weights=wrt_weights)


# (the weights' part of that tangent, differentiated again at third order:
# linear in g, w read for its shape)
@tangent_rule(rt._unbroadcast_reshaped, constant=("w", "shape"))
def unbroadcast_reshaped_tangent(r, g, w, shape):
    dot[r] = rt.merged(rt._unbroadcast_reshaped, dot[g], w, shape)


@tangent_rule(rt.trace_adjoint, constant=("a", "offset", "axis1", "axis2"))
def trace_adjoint_tangent(r, g, a, offset=0, axis1=0, axis2=1):
    dot[r] = rt.merged(rt.trace_adjoint, dot[g], a, offset=offset, axis1=axis1, axis2=axis2)


@batch_rule(rt.trace_adjoint)
def trace_adjoint_batched(r, g, a, offset=0, axis1=0, axis2=1):
    vec[r] = rt.vmerged(rt.trace_adjoint, vec[g], rt.example_shape(vec[a]), offset=offset, axis1=axis1,
                        axis2=axis2)


@tangent_rule(rt.norm_adjoint, constant=("ord", "axis", "keepdims"))
def norm_adjoint_tangent(r, g, x, z, ord=None, axis=None, keepdims=False):  # noqa: A002 (NumPy's name)
    dot[r] = rt.merged(rt.norm_adjoint, dot[g], x, z, ord=ord, axis=axis, keepdims=keepdims)
    dot[r] = rt.norm_adjoint_tangent(dot[x], g, x, z, ord=ord, axis=axis, keepdims=keepdims)
    dot[r] = rt.norm_adjoint_tangent(dot[z], g, x, z, ord=ord, axis=axis, keepdims=keepdims, wrt="z")


@batch_rule(rt.norm_adjoint)
def norm_adjoint_batched(r, g, x, z, ord=None, axis=None, keepdims=False):  # noqa: A002 (NumPy's name)
    vec[r] = rt.vnorm_adjoint(vec[g], vec[x], vec[z], ord=ord, axis=axis, keepdims=keepdims)


# vmap of a Hessian's code (its tangents of x and of z).
@batch_rule(rt.norm_adjoint_tangent)
def norm_adjoint_tangent_batched(r, t, g, x, z, ord=None, axis=None, keepdims=False, wrt="x"):  # noqa: A002
    vec[r] = rt.vnorm_adjoint_tangent(vec[t], vec[g], vec[x], vec[z], ord=ord, axis=axis, keepdims=keepdims,
                                      wrt=wrt)


# ----------------------------------------------------------- scans, integrals, interpolation


@tangent_rule(rt.reverse_cumsum, constant=("axis",))
def reverse_cumsum_tangent(r, g, axis=None):
    dot[r] = rt.merged(rt.reverse_cumsum, dot[g], axis=axis)


@batch_rule(rt.reverse_cumsum)
def reverse_cumsum_batched(r, g, axis=None):
    vec[r] = rt.vreverse_cumsum(vec[g], axis=axis)


@tangent_rule(rt.cumprod_adjoint, constant=("axis",))
def cumprod_adjoint_tangent(r, g, a, axis=None):
    dot[r] = rt.merged(rt.cumprod_adjoint, dot[g], a, axis=axis)
    dot[r] = rt.cumprod_adjoint_tangent(dot[a], g, a, axis=axis)


@batch_rule(rt.cumprod_adjoint)
def cumprod_adjoint_batched(r, g, a, axis=None):
    vec[r] = rt.vcumprod_adjoint(vec[g], vec[a], axis=axis)


@tangent_rule(rt.diff_adjoint, constant=("n", "axis"))
def diff_adjoint_tangent(r, g, n=1, axis=-1):
    dot[r] = rt.merged(rt.diff_adjoint, dot[g], n=n, axis=axis)


@batch_rule(rt.diff_adjoint)
def diff_adjoint_batched(r, g, n=1, axis=-1):
    vec[r] = rt.vmerged(rt.diff_adjoint, vec[g], n=n, axis=axis)


# np.nan_to_num's pullback: linear in its cotangent, with or without batch
# axes in front, and its tangent keeps the elements without cotangent none.
@tangent_rule(rt.masked_bar, constant=("keep",))
def masked_bar_tangent(r, g, keep):
    dot[r] = rt.masked_bar(dot[g], keep)


@batch_rule(rt.masked_bar)
def masked_bar_batched(r, g, keep):
    vec[r] = rt.vmasked_bar(vec[g], vec[keep])


# np.gradient's adjoint is linear in its cotangent (a tuple with None holes
# when np.gradient returned one derivative per axis); f is read for its shape.
@tangent_rule(rt.numpy_gradient_adjoint, constant=("f", "varargs", "axis", "edge_order"))
def numpy_gradient_adjoint_tangent(r, g, f, varargs=(), axis=None, edge_order=1):
    dot[r] = rt.merged_items(rt.numpy_gradient_adjoint, dot[g], f, varargs, axis=axis, edge_order=edge_order)


# The spacings come saved from the forward pass (the same for every example
# but when they are batched data).
@batch_rule(rt.numpy_gradient_adjoint)
def numpy_gradient_adjoint_batched(z, g, f, varargs=(), axis=None, edge_order=1):
    vec[z] = rt.vmerged_where_shared(batch, rt.numpy_gradient_adjoint, vec[g], (vec[f], vec[varargs]), (False, True),
                                     axis=vec[axis], edge_order=vec[edge_order])


@tangent_rule(rt.ediff1d_adjoint, constant=("ary", "to_begin"))
def ediff1d_adjoint_tangent(r, g, ary, to_begin=None):
    dot[r] = rt.merged(rt.ediff1d_adjoint, dot[g], ary, to_begin=to_begin)


@batch_rule(rt.ediff1d_adjoint)
def ediff1d_adjoint_batched(r, g, ary, to_begin=None):
    vec[r] = rt.vmerged(rt.ediff1d_adjoint, vec[g], rt.example_shape(vec[ary]), to_begin=to_begin)


# trapezoid's adjoints are linear in the sample points (through the widths),
# in dx and in y: each tangent row goes through the helper in their place.
@tangent_rule(rt.trapezoid_adjoint, constant=("y", "axis"))
def trapezoid_adjoint_tangent(r, g, y, x=None, dx=1.0, axis=-1):
    dot[r] = rt.merged(rt.trapezoid_adjoint, dot[g], y, x=x, dx=dx, axis=axis)
    dot[r] = rt.over_tangent(rt.trapezoid_adjoint, 2, dot[x], g, y, x, dx, axis=axis)
    dot[r] = rt.over_tangent(rt.trapezoid_adjoint, 3, dot[dx], g, y, x, dx, axis=axis)


# y is read for its shape, x and dx for their values (constants of the user's
# code, most often the same in every example: one call for the batch)
@batch_rule(rt.trapezoid_adjoint)
def trapezoid_adjoint_batched(r, g, y, x=None, dx=1.0, axis=-1):
    vec[r] = rt.vmerged_where_shared(batch, rt.trapezoid_adjoint, vec[g], (vec[y],), (False,), x=vec[x],
                                     dx=vec[dx], axis=vec[axis])


@tangent_rule(rt.trapezoid_adjoint_x, constant=("x", "axis"))
def trapezoid_adjoint_x_tangent(r, g, y, x, axis=-1):
    dot[r] = rt.merged(rt.trapezoid_adjoint_x, dot[g], y, x, axis=axis)
    dot[r] = rt.over_tangent(rt.trapezoid_adjoint_x, 1, dot[y], g, y, x, axis=axis)


@tangent_rule(rt.trapezoid_adjoint_dx, constant=("dx", "axis"))
def trapezoid_adjoint_dx_tangent(r, g, y, dx, axis=-1):
    dot[r] = rt.merged(rt.trapezoid_adjoint_dx, dot[g], y, dx, axis=axis)
    dot[r] = rt.over_tangent(rt.trapezoid_adjoint_dx, 1, dot[y], g, y, dx, axis=axis)


# The segment x falls in is a piecewise-constant choice; the slope is linear in fp.
@tangent_rule(rt.interp_adjoint_x, constant=("x", "left", "right"))
def interp_adjoint_x_tangent(r, g, x, xp, fp, left=None, right=None):
    dot[r] = rt.merged(rt.interp_adjoint_x, dot[g], x, xp, fp, left=left, right=right)
    dot[r] = rt.interp_adjoint_x_tangent_xp(dot[xp], g, x, xp, fp, left=left, right=right)
    dot[r] = rt.interp_adjoint_x_tangent_fp(dot[fp], g, x, xp, fp, left=left, right=right)


@batch_rule(rt.interp_adjoint_x_tangent_fp)
def interp_adjoint_x_tangent_fp_batched(r, t, g, x, xp, fp, left=None, right=None):
    vec[r] = rt.vinterp_adjoint_x_tangent_fp(vec[t], vec[g], vec[x], vec[xp], vec[fp], left=left, right=right)


# xp and fp come saved from the forward pass: the same for every example
# (else once per example).
@batch_rule(rt.interp_adjoint_x)
def interp_adjoint_x_batched(z, g, x, xp, fp, left=None, right=None):
    vec[z] = rt.vinterp_adjoint(batch, rt.vinterp_adjoint_x, rt.interp_adjoint_x, vec[g], vec[x], vec[xp], vec[fp],
                                left=left, right=right)


@tangent_rule(rt.interp_adjoint_fp, constant=("fp", "left", "right"))
def interp_adjoint_fp_tangent(r, g, x, xp, fp, left=None, right=None):
    dot[r] = rt.merged(rt.interp_adjoint_fp, dot[g], x, xp, fp, left=left, right=right)
    dot[r] = rt.interp_adjoint_fp_tangent_x(dot[x], g, x, xp, fp, left=left, right=right)
    dot[r] = rt.interp_adjoint_fp_tangent_xp(dot[xp], g, x, xp, fp, left=left, right=right)


@batch_rule(rt.interp_adjoint_x_tangent_xp)
def interp_adjoint_x_tangent_xp_batched(r, t, g, x, xp, fp, left=None, right=None):
    vec[r] = rt.vinterp_tangent_xp(rt.interp_adjoint_x_tangent_xp, vec[t], vec[g], vec[x], vec[xp], vec[fp],
                                   left=left, right=right)


@batch_rule(rt.interp_adjoint_fp_tangent_xp)
def interp_adjoint_fp_tangent_xp_batched(r, t, g, x, xp, fp, left=None, right=None):
    vec[r] = rt.vinterp_tangent_xp(rt.interp_adjoint_fp_tangent_xp, vec[t], vec[g], vec[x], vec[xp], vec[fp],
                                   left=left, right=right)


@batch_rule(rt.interp_adjoint_fp)
def interp_adjoint_fp_batched(z, g, x, xp, fp, left=None, right=None):
    vec[z] = rt.vinterp_adjoint(batch, rt.vinterp_adjoint_fp, rt.interp_adjoint_fp, vec[g], vec[x], vec[xp], vec[fp],
                                left=left, right=right)


# ----------------------------------------------------------- order statistics, NaN-ignoring reductions


@tangent_rule(rt.quantile_adjoint, constant=("a", "q", "axis", "method", "keepdims", "scale", "function"))
def quantile_adjoint_tangent(r, g, a, q=0.5, axis=None, method="linear", keepdims=False, scale=1.0,
                             function="np.quantile"):
    dot[r] = rt.merged(rt.quantile_adjoint, dot[g], a, q, axis=axis, method=method, keepdims=keepdims,
                       scale=scale, function=function)


@tangent_rule(rt.ptp_adjoint, constant=("a", "axis", "keepdims"))
def ptp_adjoint_tangent(r, g, a, axis=None, keepdims=False):
    dot[r] = rt.merged(rt.ptp_adjoint, dot[g], a, axis=axis, keepdims=keepdims)


@batch_rule(rt.ptp_adjoint)
def ptp_adjoint_batched(r, g, a, axis=None, keepdims=False):
    vec[r] = rt.vptp_adjoint(vec[g], vec[a], axis=axis, keepdims=keepdims)


@tangent_rule(rt.nan_reduced, constant=("a", "axis", "keepdims"))
def nan_reduced_tangent(r, g, a, axis=None, keepdims=False):
    dot[r] = rt.merged(rt.nan_reduced, dot[g], a, axis=axis, keepdims=keepdims)


@batch_rule(rt.nan_reduced)
def nan_reduced_batched(r, g, a, axis=None, keepdims=False):
    vec[r] = rt.vnan_reduced(vec[g], vec[a], axis=axis, keepdims=keepdims)


@tangent_rule(rt.nanmean_adjoint, constant=("a", "axis", "keepdims"))
def nanmean_adjoint_tangent(r, g, a, axis=None, keepdims=False):
    dot[r] = rt.merged(rt.nanmean_adjoint, dot[g], a, axis=axis, keepdims=keepdims)


@batch_rule(rt.nanmean_adjoint)
def nanmean_adjoint_batched(r, g, a, axis=None, keepdims=False):
    vec[r] = rt.vnanmean_adjoint(vec[g], vec[a], axis=axis, keepdims=keepdims)


@tangent_rule(rt.nan_extremum_adjoint, constant=("a", "z", "axis", "keepdims"))
def nan_extremum_adjoint_tangent(r, g, a, z, axis=None, keepdims=False):
    dot[r] = rt.merged(rt.nan_extremum_adjoint, dot[g], a, z, axis=axis, keepdims=keepdims)


@batch_rule(rt.nan_extremum_adjoint)
def nan_extremum_adjoint_batched(r, g, a, z, axis=None, keepdims=False):
    vec[r] = rt.vnan_extremum_adjoint(vec[g], vec[a], vec[z], axis=axis, keepdims=keepdims)


@tangent_rule(rt.nanprod_adjoint, constant=("axis", "keepdims"))
def nanprod_adjoint_tangent(r, g, a, axis=None, keepdims=False):
    dot[r] = rt.merged(rt.nanprod_adjoint, dot[g], a, axis=axis, keepdims=keepdims)
    dot[r] = rt.nanprod_adjoint_tangent(dot[a], g, a, axis=axis, keepdims=keepdims)


@tangent_rule(rt.nanvar_adjoint, constant=("axis", "ddof", "keepdims"))
def nanvar_adjoint_tangent(r, g, a, axis=None, ddof=0, keepdims=False):
    dot[r] = rt.merged(rt.nanvar_adjoint, dot[g], a, axis=axis, ddof=ddof, keepdims=keepdims)
    dot[r] = rt.nanvar_adjoint_tangent(dot[a], g, a, axis=axis, ddof=ddof, keepdims=keepdims)


@tangent_rule(rt.nanstd_adjoint, constant=("axis", "ddof", "keepdims"))
def nanstd_adjoint_tangent(r, g, a, z, axis=None, ddof=0, keepdims=False):
    dot[r] = rt.merged(rt.nanstd_adjoint, dot[g], a, z, axis=axis, ddof=ddof, keepdims=keepdims)
    dot[r] = rt.nanvar_adjoint_tangent(dot[a], g / (2.0 * np.where(np.equal(z, 0), np.inf, z)), a,
                                       axis=axis, ddof=ddof, keepdims=keepdims)
    dot[r] = rt.nanstd_adjoint_tangent_z(dot[z], g, a, z, axis=axis, ddof=ddof, keepdims=keepdims)


@batch_rule(rt.nanprod_adjoint)
def nanprod_adjoint_batched(r, g, a, axis=None, keepdims=False):
    vec[r] = rt.vnanprod_adjoint(vec[g], vec[a], axis=axis, keepdims=keepdims)


@batch_rule(rt.nanvar_adjoint)
def nanvar_adjoint_batched(r, g, a, axis=None, ddof=0, keepdims=False):
    vec[r] = rt.vnanvar_adjoint(vec[g], vec[a], axis=axis, ddof=ddof, keepdims=keepdims)


@batch_rule(rt.nanstd_adjoint)
def nanstd_adjoint_batched(r, g, a, z, axis=None, ddof=0, keepdims=False):
    vec[r] = rt.vnanstd_adjoint(vec[g], vec[a], vec[z], axis=axis, ddof=ddof, keepdims=keepdims)


# ----------------------------------------------------------- elementwise


@tangent_rule(rt.log_base, elementwise=True)
def log_base_tangent(r, x):
    dot[r] = dot[x] * rt.log_base_slope(x)


@tangent_rule(rt.sinc_derivative, elementwise=True)
def sinc_derivative_tangent(r, x, z):
    dot[r] = dot[x] * rt.sinc_derivative_slope_x(x, z)
    dot[r] = dot[z] * rt.sinc_derivative_slope_z(x)


# ----------------------------------------------------------- Python's sum, max, min, list, tuple, dict


@tangent_rule(rt.sum_of_items_adjoint, constant=("items",))
def sum_of_items_adjoint_tangent(r, g, items):
    dot[r] = rt.merged_items(rt.sum_of_items_adjoint, dot[g], items)


@batch_rule(rt.sum_of_items_adjoint)
def sum_of_items_adjoint_batched(z, g, items):
    vec[z] = rt.vmerged_where_shared(batch, rt.sum_of_items_adjoint, vec[g], (vec[items],), (False,))


@tangent_rule(rt.extremum_of_items_adjoint, constant=("items", "z"))
def extremum_of_items_adjoint_tangent(r, g, items, z):
    dot[r] = rt.merged_items(rt.extremum_of_items_adjoint, dot[g], items, z)


# Which item won is read from each example's values.
@batch_rule(rt.extremum_of_items_adjoint)
def extremum_of_items_adjoint_batched(z, g, items, result):
    vec[z] = rt.vextremum_of_items_adjoint(vec[g], vec[items], vec[result])


@tangent_rule(rt.sequence_adjoint, constant=("items",))
def sequence_adjoint_tangent(r, g, items):
    dot[r] = rt.merged_items(rt.sequence_adjoint, dot[g], items)


@batch_rule(rt.sequence_adjoint)
def sequence_adjoint_batched(z, g, items):
    vec[z] = rt.vmerged_where_shared(batch, rt.sequence_adjoint, vec[g], (vec[items],), (False,))


@tangent_rule(rt.mapping_adjoint, constant=("mapping",))
def mapping_adjoint_tangent(r, g, mapping):
    dot[r] = rt.merged_items(rt.mapping_adjoint, dot[g], mapping)


# ----------------------------------------------------------- what the reverse transformer writes itself


@tangent_rule(rt.add_bar)
def add_bar_tangent(r, a, b):
    dot[r] = rt.add_bar_tangent(dot[a], a, b)
    dot[r] = rt.add_bar_tangent(dot[b], b, a)


# ``rows`` (element_bar's own ``batch``) is named apart from ``batch``, the
# number of tangents in a tangent template.
@tangent_rule(rt.element_bar, constant=("key", "like", "rows"))
def element_bar_tangent(r, container_bar, key, like, rows=None):
    dot[r] = rt.element_bar_tangent(dot[container_bar], key, like, r, batch)


batched_by_flags(rt.element_bar_tangent, "velement_bar_tangent")


# Third order: add_bar_tangent is linear in t (value and other give the structure only)
@tangent_rule(rt.add_bar_tangent, constant=("value", "other"))
def add_bar_tangent_tangent(r, t, value, other):
    dot[r] = rt.merged_items(rt.add_bar_tangent, dot[t], value, other)


# Third order: that tangent is linear in the container's tangent t (bar is read for its shape)
@tangent_rule(rt.element_bar_tangent, constant=("key", "like", "bar", "rows"))
def element_bar_tangent_tangent(r, t, key, like, bar, rows):
    dot[r] = rt.element_bar_tangent_tangent(dot[t], key, like, r, batch)


@tangent_rule(rt.unpack_bar, constant=("value",))
def unpack_bar_tangent(r, value, bars):
    dot[r] = rt.unpack_bar_tangent(dot[bars], value)


# (the helper unpack_bar_tangent applies, differentiated again at fourth
# order: linear in the adjoints, ``value`` read for its structure only)
@tangent_rule(rt._unpack_bar_of, constant=("value",))
def unpack_bar_of_tangent(r, bars, value):
    dot[r] = rt.merged_items(rt._unpack_bar_of, dot[bars], value)


@tangent_rule(rt.list_head, constant=("length",))
def list_head_tangent(r, g, length):
    dot[r] = rt.merged_items(rt.list_head, dot[g], length)


@tangent_rule(rt.without_item, constant=("key", "container"))
def without_item_tangent(r, g, key, container):
    dot[r] = rt.merged_items(rt.without_item, dot[g], key, container)


@tangent_rule(rt.concat_items_adjoint, constant=("a", "b", "which"))
def concat_items_adjoint_tangent(r, g, a, b, which):
    dot[r] = rt.merged_items(rt.concat_items_adjoint, dot[g], a, b, which)


@tangent_rule(rt.repeat_items_adjoint, constant=("items", "count"))
def repeat_items_adjoint_tangent(r, g, items, count):
    dot[r] = rt.merged_items(rt.repeat_items_adjoint, dot[g], items, count)


@tangent_rule(rt.getitem_adjoint, constant=("x", "index"))
def getitem_adjoint_tangent(r, g, x, index):
    dot[r] = rt.merged_items(rt.getitem_adjoint, dot[g], x, index)


@tangent_rule(rt.scatter_add, constant=("x", "index"))
def scatter_add_tangent(r, x_bar, g, x, index):
    dot[r] = dot[x_bar]
    dot[r] = rt.merged_items(rt.getitem_adjoint, dot[g], x, index)


@tangent_rule(rt.attribute_adjoint, constant=("value", "name"))
def attribute_adjoint_tangent(r, g, value, name):
    dot[r] = rt.merged_items(rt.attribute_adjoint, dot[g], value, name)


# in_place is left out: the tangent of g may be read again.
@tangent_rule(rt.overwritten_adjoint, constant=("index", "in_place"))
def overwritten_adjoint_tangent(r, g, index, in_place=False):
    dot[r] = rt.merged(rt.overwritten_adjoint, dot[g], index)


@tangent_rule(rt.assigned_adjoint, constant=("index", "copy"))
def assigned_adjoint_tangent(r, g, index, copy=False):
    dot[r] = rt.merged(rt.assigned_adjoint, dot[g], index, copy=copy)


@tangent_rule(rt.sequence_adjoint_of, constant=("x",))
def sequence_adjoint_of_tangent(r, bar, x):
    dot[r] = rt.merged_items(rt.sequence_adjoint_of, dot[bar], x)


@batch_rule(rt.sequence_adjoint_of)
def sequence_adjoint_of_batched(z, bar, x):
    vec[z] = rt.vmerged_where_shared(batch, rt.sequence_adjoint_of, vec[bar], (vec[x],), (False,))


# vmap of backward code (vmap(jacrev(f))): an adjoint there is (V, B) + x.shape.

@batch_rule(rt.add_bar)
def add_bar_batched(r, a, b):
    vec[r] = rt.vadd_bar(vec[a], vec[b])


@batch_rule(rt.add_bar_tangent)
def add_bar_tangent_batched(r, t, value, other):
    vec[r] = rt.vadd_bar_tangent(vec[t], vec[value], vec[other])


@batch_rule(rt.element_bar)
def element_bar_batched(r, container_bar, key, like, rows=None):
    vec[r] = rt.velement_bar(vec[container_bar], key, vec[like], rows, batch)


@batch_rule(rt.unpack_bar)
def unpack_bar_batched(r, value, bars):
    vec[r] = rt.vunpack_bar(vec[value], vec[bars])


@batch_rule(rt.getitem_adjoint)
def getitem_adjoint_batched(r, g, x, index):
    vec[r] = rt.vgetitem_adjoint(vec[g], vec[x], index)


@batch_rule(rt.scatter_add)
def scatter_add_batched(r, x_bar, g, x, index):
    vec[r] = rt.vscatter_add(vec[x_bar], vec[g], vec[x], index)


# a loop counter kept on the tape (the same in every example), else once per example
batched_by_index(rt.scatter_add, "vscatter_add_indexed")


@batch_rule(rt.zeros_bar)
def zeros_bar_batched(r, like, rows):
    vec[r] = rt.vzeros_bar(vec[like], rows, batch)


@batch_rule(rt.list_head)
def list_head_batched(r, g, length):
    vec[r] = rt.vlist_head(vec[g], length)


@batch_rule(rt.absent_bar)
def absent_bar_batched(r, like, rows):
    vec[r] = rt.vabsent_bar(vec[like], rows, batch)


@batch_rule(rt.overwritten_adjoint)
def overwritten_adjoint_batched(r, g, index, in_place=False):
    vec[r] = rt.vmerged(rt.overwritten_adjoint, vec[g], index, in_place=in_place)


@batch_rule(rt.assigned_adjoint)
def assigned_adjoint_batched(r, g, index, copy=False):
    vec[r] = rt.vmerged(rt.assigned_adjoint, vec[g], index, copy=copy)


elementwise_helpers(rt.balanced_eq)
# the slopes of copysign, fmod and fmax/fmin: elementwise in all their arrays (vmap aligns them)
elementwise_helpers(rt.copysign_factor, rt.fmod_quotient, rt.fmax_factor)


# Masks, counts, shapes and constants: no derivative. clip_wrt_*, fmax_factor,
# copysign_factor and fmod_quotient are piecewise constant (ties shared, +-1,
# an integer quotient); zeros_bar and absent_bar are zeros whatever their arguments.
nondifferentiable(
    rt.balanced_eq, rt.reduced_count, rt.shape_of, rt.batch_size, rt.zeros_bar, rt.absent_bar,
    rt.clip_wrt_a, rt.clip_wrt_min, rt.clip_wrt_max, rt.fmax_factor, rt.copysign_factor, rt.fmod_quotient,
    rt.item_position,
)

# Adjoints that may be lists, tuples or dicts keep their structure in their
# tangents (not stacked into one array); the two contributions of add_bar and
# scatter_add add item by item.
SEQUENCE_RULES.update({
    rt.add_bar, rt.scatter_add, rt.element_bar, rt.unpack_bar, rt.list_head, rt.without_item,
    rt.concat_items_adjoint, rt.repeat_items_adjoint, rt.getitem_adjoint, rt.attribute_adjoint,
    rt.sum_of_items_adjoint, rt.extremum_of_items_adjoint, rt.sequence_adjoint, rt.mapping_adjoint,
    rt.sequence_adjoint_of,
})
TUPLE_RESULTS.update({rt.add_bar, rt.scatter_add})


# A value written into integers or booleans: its part of the cotangent, or nothing.
@tangent_rule(rt.written_adjoint, constant=("array",))
def written_adjoint_tangent(r, g, array):
    dot[r] = rt.merged(rt.written_adjoint, dot[g], array)


@batch_rule(rt.written_adjoint)
def written_adjoint_batched(r, g, array):
    vec[r] = rt.written_adjoint(vec[g], vec[array])


nondifferentiable(rt.holds_integers)
# np.sinc's second derivative: the slopes of rt.sinc_derivative in x and z
# are elementwise (vmap(hessian(f)) batches them as such)
elementwise_helpers(rt.sinc_derivative_slope_x, rt.sinc_derivative_slope_z)
