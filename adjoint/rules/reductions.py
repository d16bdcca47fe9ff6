"""Rules of the reductions: sum, mean, prod, max, min, var, std, average,
trace and np.linalg.norm (``axis`` int, tuple, negative or None;
``keepdims``); of the scans cumsum, cumprod and diff; of the integral
trapezoid and of np.interp; of the order statistics median, quantile and
percentile; of the NaN-ignoring reductions (nansum, nanmean, nanprod, nanmax,
nanmin, nanvar, nanstd); of ptp and ediff1d. Parameters follow NumPy's positional
order; ``out`` is not accepted (a rule never writes into the user's arrays),
so a parameter NumPy places after ``out`` is keyword-only here."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, nondifferentiable


@adjoint_rule(np.sum)
def sum_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.unreduce(bar[z], a, axis=axis, keepdims=keepdims)


@adjoint_rule(np.mean)
def mean_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.unreduce(bar[z], a, axis=axis, keepdims=keepdims) / rt.reduced_count(a, axis=axis)


@adjoint_rule(np.prod)
def prod_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.unreduce(bar[z], a, axis=axis, keepdims=keepdims) * rt.prod_others(a, axis=axis)


@adjoint_rule(np.max, np.amax, np.min, np.amin)
def max_adjoint(z, a, axis=None, *, keepdims=False):
    bar[a] = rt.extremum_adjoint(bar[z], a, z, axis=axis, keepdims=keepdims)


@adjoint_rule(np.var)
def var_adjoint(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    bar[a] = rt.var_adjoint(bar[z], a, axis=axis, ddof=ddof, keepdims=keepdims)


@adjoint_rule(np.std)
def std_adjoint(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    bar[a] = rt.std_adjoint(bar[z], a, z, axis=axis, ddof=ddof, keepdims=keepdims)


# returned=True makes a pair (average, sum of weights): not accepted.
@adjoint_rule(np.average)
def average_adjoint(z, a, axis=None, weights=None, *, keepdims=False):
    bar[a] = rt.average_adjoint(bar[z], a, z, axis=axis, weights=weights, keepdims=keepdims)
    bar[weights] = rt.average_adjoint(bar[z], a, z, axis=axis, weights=weights, keepdims=keepdims, wrt_weights=True)


if hasattr(np, "trapezoid"):  # NumPy >= 2.0: a rule only for what the installed NumPy has
    @adjoint_rule(np.trapezoid)
    def trapezoid_adjoint(z, y, x=None, dx=1.0, axis=-1):
        bar[y] = rt.trapezoid_adjoint(bar[z], y, x=x, dx=dx, axis=axis)
        bar[x] = rt.trapezoid_adjoint_x(bar[z], y, x, axis=axis)
        bar[dx] = rt.trapezoid_adjoint_dx(bar[z], y, dx, axis=axis)


# No derivative in xp (the knots) nor in left and right: a call that
# differentiates them is refused. period= is not accepted.
@adjoint_rule(np.interp)
def interp_adjoint(z, x, xp, fp, left=None, right=None):
    bar[x] = rt.interp_adjoint_x(bar[z], x, xp, fp)
    bar[fp] = rt.interp_adjoint_fp(bar[z], x, xp, fp, left=left, right=right)


@adjoint_rule(np.trace)
def trace_adjoint(z, a, offset=0, axis1=0, axis2=1, dtype=None):
    bar[a] = rt.trace_adjoint(bar[z], a, offset=offset, axis1=axis1, axis2=axis2)


@adjoint_rule(np.linalg.norm)
def norm_adjoint(z, x, ord=None, axis=None, keepdims=False):
    bar[x] = rt.norm_adjoint(bar[z], x, z, ord=ord, axis=axis, keepdims=keepdims)


@adjoint_rule(np.cumsum)
def cumsum_adjoint(z, a, axis=None, dtype=None):
    bar[a] = rt.reshape_adjoint(rt.reverse_cumsum(bar[z], axis=axis), a)


@adjoint_rule(np.cumprod)
def cumprod_adjoint(z, a, axis=None, dtype=None):
    bar[a] = rt.cumprod_adjoint(bar[z], a, axis=axis)


@adjoint_rule(np.diff)
def diff_adjoint(z, a, n=1, axis=-1):
    bar[a] = rt.diff_adjoint(bar[z], n=n, axis=axis)



# Order statistics, linear interpolation only (another method= fails when the
# derivative is taken); not overwrite_input (it reorders the user's array).
@adjoint_rule(np.median)
def median_adjoint(z, a, axis=None, *, keepdims=False):
    bar[a] = rt.quantile_adjoint(bar[z], a, axis=axis, keepdims=keepdims, function="np.median")


# No derivative in q: a call that differentiates it is refused.
@adjoint_rule(np.quantile)
def quantile_adjoint(z, a, q, axis=None, *, method="linear", keepdims=False):
    bar[a] = rt.quantile_adjoint(bar[z], a, q, axis=axis, method=method, keepdims=keepdims)


@adjoint_rule(np.percentile)
def percentile_adjoint(z, a, q, axis=None, *, method="linear", keepdims=False):
    bar[a] = rt.quantile_adjoint(bar[z], a, q, axis=axis, method=method, keepdims=keepdims, scale=100.0,
                                 function="np.percentile")


# NaN-ignoring reductions: NaN positions get no derivative.
@adjoint_rule(np.nansum)
def nansum_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.nan_reduced(bar[z], a, axis=axis, keepdims=keepdims)


@adjoint_rule(np.nanmean)
def nanmean_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.nanmean_adjoint(bar[z], a, axis=axis, keepdims=keepdims)


@adjoint_rule(np.nanprod)
def nanprod_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.nanprod_adjoint(bar[z], a, axis=axis, keepdims=keepdims)


@adjoint_rule(np.nanmax, np.nanmin)
def nanmax_adjoint(z, a, axis=None, *, keepdims=False):
    bar[a] = rt.nan_extremum_adjoint(bar[z], a, z, axis=axis, keepdims=keepdims)


@adjoint_rule(np.nanvar)
def nanvar_adjoint(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    bar[a] = rt.nanvar_adjoint(bar[z], a, axis=axis, ddof=ddof, keepdims=keepdims)


@adjoint_rule(np.nanstd)
def nanstd_adjoint(z, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    bar[a] = rt.nanstd_adjoint(bar[z], a, z, axis=axis, ddof=ddof, keepdims=keepdims)


@adjoint_rule(np.ptp)
def ptp_adjoint(z, a, axis=None, *, keepdims=False):
    bar[a] = rt.ptp_adjoint(bar[z], a, axis=axis, keepdims=keepdims)


# to_end and to_begin are constants: a call that differentiates them is refused.
@adjoint_rule(np.ediff1d)
def ediff1d_adjoint(z, ary, to_end=None, to_begin=None):
    bar[ary] = rt.ediff1d_adjoint(bar[z], ary, to_begin=to_begin)


nondifferentiable(
    np.argmax, np.argmin, np.argsort, np.count_nonzero, np.any, np.all,
)
