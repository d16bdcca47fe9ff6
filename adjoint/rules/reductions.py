"""Rules of the reductions: sum, mean, prod, max, min, var, std, average,
trace and np.linalg.norm (``axis`` int, tuple, negative or None;
``keepdims``); of the scans cumsum, cumprod and diff; of np.gradient; of the integral
trapezoid and of np.interp; of the order statistics median, quantile and
percentile; of the NaN-ignoring reductions (nansum, nanmean, nanprod, nanmax,
nanmin, nanvar, nanstd); of ptp and ediff1d. Parameters follow NumPy's positional
order; ``out`` is not accepted (a rule never writes into the user's arrays),
so a parameter NumPy places after ``out`` is keyword-only here."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, nondifferentiable, tangent_rule, vec


@adjoint_rule(np.sum)
def sum_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.unreduce(bar[z], a, axis=axis, keepdims=keepdims)


@tangent_rule(np.sum)
def sum_tangent(z, a, axis=None, dtype=None, *, keepdims=False):
    dot[z] = np.sum(dot[a], axis=rt.tangent_axes(axis, a), keepdims=keepdims)


@batch_rule(np.sum)
def sum_batched(z, a, axis=None, dtype=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.sum(t, axis=rt.vaxes(axis, t), dtype=dtype, keepdims=keepdims)


@adjoint_rule(np.mean)
def mean_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.unreduce(bar[z], a, axis=axis, keepdims=keepdims) / rt.reduced_count(a, axis=axis)


@tangent_rule(np.mean)
def mean_tangent(z, a, axis=None, dtype=None, *, keepdims=False):
    dot[z] = np.mean(dot[a], axis=rt.tangent_axes(axis, a), keepdims=keepdims)


@batch_rule(np.mean)
def mean_batched(z, a, axis=None, dtype=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.mean(t, axis=rt.vaxes(axis, t), dtype=dtype, keepdims=keepdims)


@adjoint_rule(np.prod)
def prod_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.unreduce(bar[z], a, axis=axis, keepdims=keepdims) * rt.prod_others(a, axis=axis)


@tangent_rule(np.prod)
def prod_tangent(z, a, axis=None, dtype=None, *, keepdims=False):
    w = rt.prod_others(a, axis=axis)
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis), dot[a], w), z)


@batch_rule(np.prod)
def prod_batched(z, a, axis=None, dtype=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.prod(t, axis=rt.vaxes(axis, t), dtype=dtype, keepdims=keepdims)


@adjoint_rule(np.max, np.amax, np.min, np.amin)
def max_adjoint(z, a, axis=None, *, keepdims=False):
    bar[a] = rt.extremum_adjoint(bar[z], a, z, axis=axis, keepdims=keepdims)


@tangent_rule(np.max, np.amax, np.min, np.amin)
def max_tangent(z, a, axis=None, *, keepdims=False):
    w = rt.extremum_adjoint(rt.unit_cotangent(z), a, z, axis=axis, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis), dot[a], w), z)


@batch_rule(np.max, np.amax)
def max_batched(z, a, axis=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.max(t, axis=rt.vaxes(axis, t), keepdims=keepdims)


@batch_rule(np.min, np.amin)
def min_batched(z, a, axis=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.min(t, axis=rt.vaxes(axis, t), keepdims=keepdims)


@adjoint_rule(np.var)
def var_adjoint(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    bar[a] = rt.var_adjoint(bar[z], a, axis=axis, ddof=ddof, keepdims=keepdims)


@tangent_rule(np.var)
def var_tangent(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    w = rt.var_adjoint(rt.unit_cotangent(z), a, axis=axis, ddof=ddof, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis), dot[a], w), z)


@batch_rule(np.var)
def var_batched(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.var(t, axis=rt.vaxes(axis, t), dtype=dtype, ddof=ddof, keepdims=keepdims)


@adjoint_rule(np.std)
def std_adjoint(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    bar[a] = rt.std_adjoint(bar[z], a, z, axis=axis, ddof=ddof, keepdims=keepdims)


@tangent_rule(np.std)
def std_tangent(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    w = rt.std_adjoint(rt.unit_cotangent(z), a, z, axis=axis, ddof=ddof, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis), dot[a], w), z)


@batch_rule(np.std)
def std_batched(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.std(t, axis=rt.vaxes(axis, t), dtype=dtype, ddof=ddof, keepdims=keepdims)


# returned=True makes a pair (average, sum of weights): not accepted.
@adjoint_rule(np.average)
def average_adjoint(z, a, axis=None, weights=None, *, keepdims=False):
    bar[a] = rt.average_adjoint(bar[z], a, z, axis=axis, weights=weights, keepdims=keepdims)
    bar[weights] = rt.average_adjoint(bar[z], a, z, axis=axis, weights=weights, keepdims=keepdims, wrt_weights=True)


@tangent_rule(np.average)
def average_tangent(z, a, axis=None, weights=None, *, keepdims=False):
    w = rt.average_adjoint(rt.unit_cotangent(z), a, z, axis=axis, weights=weights, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis), dot[a], w), z)
    dot[z] = rt.average_tangent_weights(dot[weights], a, z, axis=axis, weights=weights, keepdims=keepdims)


@batch_rule(np.average)
def average_batched(z, a, axis=None, weights=None, *, keepdims=False):
    vec[z] = rt.vaverage(vec[a], axis=axis, weights=vec[weights], keepdims=keepdims)


if hasattr(np, "trapezoid"):  # NumPy >= 2.0: rules only for what the installed NumPy has
    @adjoint_rule(np.trapezoid)
    def trapezoid_adjoint(z, y, x=None, dx=1.0, axis=-1):
        bar[y] = rt.trapezoid_adjoint(bar[z], y, x=x, dx=dx, axis=axis)
        bar[x] = rt.trapezoid_adjoint_x(bar[z], y, x, axis=axis)
        bar[dx] = rt.trapezoid_adjoint_dx(bar[z], y, dx, axis=axis)


    @tangent_rule(np.trapezoid)
    def trapezoid_tangent(z, y, x=None, dx=1.0, axis=-1):
        dot[z] = np.trapezoid(dot[y], x=x, dx=dx, axis=rt.negative_axis(axis, y))
        dot[z] = rt.trapezoid_tangent_x(dot[x], y, x, axis=axis)
        dot[z] = rt.lift(dot[dx], z) * rt.trapezoid_heights(y, axis=axis)


    @batch_rule(np.trapezoid)
    def trapezoid_batched(z, y, x=None, dx=1.0, axis=-1):
        vec[z] = rt.vtrapezoid(vec[y], vec[x], vec[dx], axis=axis)


# The knots xp: runtime/interp_knots.py. No derivative in left and right: a
# call that differentiates them is refused. period= is not accepted.
@adjoint_rule(np.interp)
def interp_adjoint(z, x, xp, fp, left=None, right=None):
    bar[x] = rt.interp_adjoint_x(bar[z], x, xp, fp)
    bar[xp] = rt.interp_adjoint_xp(bar[z], x, xp, fp, left=left, right=right)
    bar[fp] = rt.interp_adjoint_fp(bar[z], x, xp, fp, left=left, right=right)


@tangent_rule(np.interp)
def interp_tangent(z, x, xp, fp, left=None, right=None):
    dot[z] = dot[x] * rt.interp_slope(x, xp, fp)
    dot[z] = rt.interp_tangent_xp(dot[xp], x, xp, fp, left=left, right=right)
    dot[z] = rt.interp_tangent_fp(dot[fp], x, xp, fp, left=left, right=right)


# xp, fp, left and right the same for every example (else once per example).
@batch_rule(np.interp)
def interp_batched(z, x, xp, fp, left=None, right=None, period=None):
    vec[z] = np.interp(vec[x], xp, fp, left=left, right=right, period=period)


# The slope of tangent code (vmap(jacfwd(f))): xp and fp as for np.interp.
@batch_rule(rt.interp_slope)
def interp_slope_batched(z, x, xp, fp):
    vec[z] = rt.vinterp_slope(batch, vec[x], vec[xp], vec[fp])


@adjoint_rule(np.trace)
def trace_adjoint(z, a, offset=0, axis1=0, axis2=1, dtype=None):
    bar[a] = rt.trace_adjoint(bar[z], a, offset=offset, axis1=axis1, axis2=axis2)


@tangent_rule(np.trace)
def trace_tangent(z, a, offset=0, axis1=0, axis2=1, dtype=None):
    dot[z] = np.trace(dot[a], offset=offset, axis1=rt.batch_axis(axis1), axis2=rt.batch_axis(axis2))


@batch_rule(np.trace)
def trace_batched(z, a, offset=0, axis1=0, axis2=1, dtype=None):
    vec[z] = np.trace(vec[a], offset=offset, axis1=rt.vaxes(axis1, vec[a]), axis2=rt.vaxes(axis2, vec[a]),
                      dtype=dtype)


@adjoint_rule(np.linalg.norm)
def norm_adjoint(z, x, ord=None, axis=None, keepdims=False):
    bar[x] = rt.norm_adjoint(bar[z], x, z, ord=ord, axis=axis, keepdims=keepdims)


@tangent_rule(np.linalg.norm)
def norm_tangent(z, x, ord=None, axis=None, keepdims=False):
    w = rt.norm_adjoint(rt.unit_cotangent(z), x, z, ord=ord, axis=axis, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(x, w, axis=axis), dot[x], w), z)


@batch_rule(np.linalg.norm)
def norm_batched(z, x, ord=None, axis=None, keepdims=False):
    vec[z] = rt.vnorm(vec[x], ord=ord, axis=axis, keepdims=keepdims)


@adjoint_rule(np.cumsum)
def cumsum_adjoint(z, a, axis=None, dtype=None):
    bar[a] = rt.reshape_adjoint(rt.reverse_cumsum(bar[z], axis=axis), a)


@tangent_rule(np.cumsum)
def cumsum_tangent(z, a, axis=None, dtype=None):
    dot[z] = np.cumsum(rt.batched_reshape(dot[a], z), axis=rt.scan_tangent_axis(axis))


@batch_rule(np.cumsum)
def cumsum_batched(z, a, axis=None, dtype=None):
    vec[z] = rt.vscan(np.cumsum, vec[a], axis=axis, dtype=dtype)


@adjoint_rule(np.cumprod)
def cumprod_adjoint(z, a, axis=None, dtype=None):
    bar[a] = rt.cumprod_adjoint(bar[z], a, axis=axis)


@tangent_rule(np.cumprod)
def cumprod_tangent(z, a, axis=None, dtype=None):
    dot[z] = rt.cumprod_tangent(dot[a], a, z, axis=axis)


@batch_rule(np.cumprod)
def cumprod_batched(z, a, axis=None, dtype=None):
    vec[z] = rt.vscan(np.cumprod, vec[a], axis=axis, dtype=dtype)


@adjoint_rule(np.diff)
def diff_adjoint(z, a, n=1, axis=-1):
    bar[a] = rt.diff_adjoint(bar[z], n=n, axis=axis)


@tangent_rule(np.diff)
def diff_tangent(z, a, n=1, axis=-1):
    dot[z] = np.diff(dot[a], n=n, axis=rt.batch_axis(axis))


@batch_rule(np.diff)
def diff_batched(z, a, n=1, axis=-1):
    t = rt.vasarray(vec[a])
    vec[z] = np.diff(t, n=n, axis=rt.vaxes(axis, t))


# np.gradient(f, *varargs, axis, edge_order) reaches the rules as
# rt.numpy_gradient(f, varargs, axis=axis, edge_order=edge_order) (the
# normalizer names its *varargs, which a template cannot); it is linear in f.
# The spacings (scalars or coordinates) have no derivative here.
@adjoint_rule(rt.numpy_gradient, tuple_result=True)  # a tuple when it differentiates along several axes
def numpy_gradient_adjoint(z, f, varargs=(), axis=None, edge_order=1):
    bar[f] = rt.numpy_gradient_adjoint(bar[z], f, varargs, axis=axis, edge_order=edge_order)


@tangent_rule(rt.numpy_gradient)
def numpy_gradient_tangent(z, f, varargs=(), axis=None, edge_order=1):
    dot[z] = rt.numpy_gradient(dot[f], varargs, axis=rt.vaxes(axis, dot[f]), edge_order=edge_order)


@batch_rule(rt.numpy_gradient)
def numpy_gradient_batched(z, f, varargs=(), axis=None, edge_order=1):
    vec[z] = rt.numpy_gradient(vec[f], varargs, axis=rt.vaxes(axis, vec[f]), edge_order=edge_order)



# Order statistics, linear interpolation only (another method= fails when the
# derivative is taken); not overwrite_input (it reorders the user's array).
@adjoint_rule(np.median)
def median_adjoint(z, a, axis=None, *, keepdims=False):
    bar[a] = rt.quantile_adjoint(bar[z], a, axis=axis, keepdims=keepdims, function="np.median")


@tangent_rule(np.median)
def median_tangent(z, a, axis=None, *, keepdims=False):
    w = rt.quantile_adjoint(rt.quantile_basis(z), a, axis=axis, keepdims=keepdims, function="np.median")
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis), dot[a], w), z)


@batch_rule(np.median)
def median_batched(z, a, axis=None, *, keepdims=False):
    vec[z] = rt.vquantile(np.median, vec[a], None, axis=axis, keepdims=keepdims)


# No derivative in q: a call that differentiates it is refused.
@adjoint_rule(np.quantile)
def quantile_adjoint(z, a, q, axis=None, *, method="linear", keepdims=False):
    bar[a] = rt.quantile_adjoint(bar[z], a, q, axis=axis, method=method, keepdims=keepdims)


@tangent_rule(np.quantile)
def quantile_tangent(z, a, q, axis=None, *, method="linear", keepdims=False):
    w = rt.quantile_adjoint(rt.quantile_basis(z, q), a, q, axis=axis, method=method, keepdims=keepdims)
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis), dot[a], w), z)


@batch_rule(np.quantile)
def quantile_batched(z, a, q, axis=None, *, method="linear", keepdims=False):
    vec[z] = rt.vquantile(np.quantile, vec[a], q, axis=axis, method=method, keepdims=keepdims)


@adjoint_rule(np.percentile)
def percentile_adjoint(z, a, q, axis=None, *, method="linear", keepdims=False):
    bar[a] = rt.quantile_adjoint(bar[z], a, q, axis=axis, method=method, keepdims=keepdims, scale=100.0,
                                 function="np.percentile")


@tangent_rule(np.percentile)
def percentile_tangent(z, a, q, axis=None, *, method="linear", keepdims=False):
    w = rt.quantile_adjoint(rt.quantile_basis(z, q), a, q, axis=axis, method=method, keepdims=keepdims, scale=100.0,
                            function="np.percentile")
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis), dot[a], w), z)


@batch_rule(np.percentile)
def percentile_batched(z, a, q, axis=None, *, method="linear", keepdims=False):
    vec[z] = rt.vquantile(np.percentile, vec[a], q, axis=axis, method=method, keepdims=keepdims)


# NaN-ignoring reductions: NaN positions get no derivative. Their tangents
# are zeroed there before the sum (the rule before often has a NaN slope at a
# NaN, 0 * nan = nan), and their cotangents are marked none there
# (rt.nan_reduced and the others return a MaskedBar), for the same reason.
@adjoint_rule(np.nansum)
def nansum_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.nan_reduced(bar[z], a, axis=axis, keepdims=keepdims)


@tangent_rule(np.nansum)
def nansum_tangent(z, a, axis=None, dtype=None, *, keepdims=False):
    w = rt.nan_reduced(rt.unit_cotangent(z), a, axis=axis, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis),
                                                 np.where(np.isnan(a), 0.0, dot[a]), w), z)


@batch_rule(np.nansum)
def nansum_batched(z, a, axis=None, dtype=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.nansum(t, axis=rt.vaxes(axis, t), dtype=dtype, keepdims=keepdims)


@adjoint_rule(np.nanmean)
def nanmean_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.nanmean_adjoint(bar[z], a, axis=axis, keepdims=keepdims)


@tangent_rule(np.nanmean)
def nanmean_tangent(z, a, axis=None, dtype=None, *, keepdims=False):
    w = rt.nanmean_adjoint(rt.unit_cotangent(z), a, axis=axis, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis),
                                                 np.where(np.isnan(a), 0.0, dot[a]), w), z)


@batch_rule(np.nanmean)
def nanmean_batched(z, a, axis=None, dtype=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.nanmean(t, axis=rt.vaxes(axis, t), dtype=dtype, keepdims=keepdims)


@adjoint_rule(np.nanprod)
def nanprod_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.nanprod_adjoint(bar[z], a, axis=axis, keepdims=keepdims)


@tangent_rule(np.nanprod)
def nanprod_tangent(z, a, axis=None, dtype=None, *, keepdims=False):
    w = rt.nanprod_adjoint(rt.unit_cotangent(z), a, axis=axis, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis),
                                                 np.where(np.isnan(a), 0.0, dot[a]), w), z)


@batch_rule(np.nanprod)
def nanprod_batched(z, a, axis=None, dtype=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.nanprod(t, axis=rt.vaxes(axis, t), dtype=dtype, keepdims=keepdims)


@adjoint_rule(np.nanmax, np.nanmin)
def nanmax_adjoint(z, a, axis=None, *, keepdims=False):
    bar[a] = rt.nan_extremum_adjoint(bar[z], a, z, axis=axis, keepdims=keepdims)


@tangent_rule(np.nanmax, np.nanmin)
def nanmax_tangent(z, a, axis=None, *, keepdims=False):
    w = rt.nan_extremum_adjoint(rt.unit_cotangent(z), a, z, axis=axis, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis),
                                                 np.where(np.isnan(a), 0.0, dot[a]), w), z)


@batch_rule(np.nanmax)
def nanmax_batched(z, a, axis=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.nanmax(t, axis=rt.vaxes(axis, t), keepdims=keepdims)


@batch_rule(np.nanmin)
def nanmin_batched(z, a, axis=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.nanmin(t, axis=rt.vaxes(axis, t), keepdims=keepdims)


@adjoint_rule(np.nanvar)
def nanvar_adjoint(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    bar[a] = rt.nanvar_adjoint(bar[z], a, axis=axis, ddof=ddof, keepdims=keepdims)


@tangent_rule(np.nanvar)
def nanvar_tangent(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    w = rt.nanvar_adjoint(rt.unit_cotangent(z), a, axis=axis, ddof=ddof, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis),
                                                 np.where(np.isnan(a), 0.0, dot[a]), w), z)


@batch_rule(np.nanvar)
def nanvar_batched(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.nanvar(t, axis=rt.vaxes(axis, t), dtype=dtype, ddof=ddof, keepdims=keepdims)


@adjoint_rule(np.nanstd)
def nanstd_adjoint(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    bar[a] = rt.nanstd_adjoint(bar[z], a, z, axis=axis, ddof=ddof, keepdims=keepdims)


@tangent_rule(np.nanstd)
def nanstd_tangent(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    w = rt.nanstd_adjoint(rt.unit_cotangent(z), a, z, axis=axis, ddof=ddof, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis),
                                                 np.where(np.isnan(a), 0.0, dot[a]), w), z)


@batch_rule(np.nanstd)
def nanstd_batched(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.nanstd(t, axis=rt.vaxes(axis, t), dtype=dtype, ddof=ddof, keepdims=keepdims)


@adjoint_rule(np.ptp)
def ptp_adjoint(z, a, axis=None, *, keepdims=False):
    bar[a] = rt.ptp_adjoint(bar[z], a, axis=axis, keepdims=keepdims)


@tangent_rule(np.ptp)
def ptp_tangent(z, a, axis=None, *, keepdims=False):
    w = rt.ptp_adjoint(rt.unit_cotangent(z), a, axis=axis, keepdims=keepdims)[0]
    dot[z] = rt.batched_reshape(np.einsum(rt.reduction_subscripts(a, w, axis=axis), dot[a], w), z)


@batch_rule(np.ptp)
def ptp_batched(z, a, axis=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.ptp(t, axis=rt.vaxes(axis, t), keepdims=keepdims)


# to_end and to_begin are constants: a call that differentiates them is refused.
@adjoint_rule(np.ediff1d)
def ediff1d_adjoint(z, ary, to_end=None, to_begin=None):
    bar[ary] = rt.ediff1d_adjoint(bar[z], ary, to_begin=to_begin)


@tangent_rule(np.ediff1d)
def ediff1d_tangent(z, ary, to_end=None, to_begin=None):
    dot[z] = rt.ediff1d_tangent(dot[ary], to_end=to_end, to_begin=to_begin)


@batch_rule(np.ediff1d)
def ediff1d_batched(z, ary, to_end=None, to_begin=None):
    vec[z] = rt.vediff1d(vec[ary], to_end=to_end, to_begin=to_begin)


# Without derivatives, but batched: indices, counts and truth values of every example.
@batch_rule(np.argmax)
def argmax_batched(z, a, axis=None, *, keepdims=False):
    vec[z] = rt.varg(np.argmax, vec[a], axis=axis, keepdims=keepdims)


@batch_rule(np.argmin)
def argmin_batched(z, a, axis=None, *, keepdims=False):
    vec[z] = rt.varg(np.argmin, vec[a], axis=axis, keepdims=keepdims)


@batch_rule(np.argsort)
def argsort_batched(z, a, axis=-1, kind=None, order=None, *, stable=None):
    vec[z] = rt.vargsort(vec[a], axis=axis, kind=kind, order=order, stable=stable)


@batch_rule(np.count_nonzero)
def count_nonzero_batched(z, a, axis=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.count_nonzero(t, axis=rt.vaxes(axis, t), keepdims=keepdims)


@batch_rule(np.any)
def any_batched(z, a, axis=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.any(t, axis=rt.vaxes(axis, t), keepdims=keepdims)


@batch_rule(np.all)
def all_batched(z, a, axis=None, *, keepdims=False):
    t = rt.vasarray(vec[a])
    vec[z] = np.all(t, axis=rt.vaxes(axis, t), keepdims=keepdims)


nondifferentiable(
    np.argmax, np.argmin, np.argsort, np.count_nonzero, np.any, np.all,
    rt.tangent_axes, rt.negative_axis, rt.unit_cotangent, rt.reduction_subscripts, rt.quantile_basis,
    rt.scan_tangent_axis,
)


# np.sqrt(np.sum(x ** 2, axis)) written in one expression (fused by the front
# end into rt.root_sum_squares): the slope x / z, and 0 where the sum is 0
# (z's zeros divide as inf), as np.linalg.norm's.
@adjoint_rule(rt.root_sum_squares, constant=("axis",))
def root_sum_squares_adjoint(z, x, axis=None, keepdims=False):
    bar[x] = rt.unreduce(bar[z] / np.where(np.equal(z, 0), np.inf, z), x, axis=axis, keepdims=keepdims) * x


@tangent_rule(rt.root_sum_squares, constant=("axis",))
def root_sum_squares_tangent(z, x, axis=None, keepdims=False):
    dot[z] = np.sum(dot[x] * x, axis=rt.batch_axes(axis, x), keepdims=keepdims) / np.where(np.equal(z, 0), np.inf, z)


@batch_rule(rt.root_sum_squares)
def root_sum_squares_batched(z, x, axis=None, keepdims=False):
    vec[z] = rt.root_sum_squares(vec[x], axis=rt.vaxes(axis, vec[x]), keepdims=keepdims)
