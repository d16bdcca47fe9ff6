"""Rules of scipy.special, registered when SciPy is imported
(``adjoint.rules.load_optional_rules``): gammaln, digamma, polygamma, erf,
erfc, ndtr, log_ndtr, ndtri, expit, logit, xlogy, xlog1py, entr, betaln
(elementwise), logsumexp, softmax and log_softmax (reductions along ``axis``); ``logsumexp(...,
return_sign=True)`` is written with logsumexp and two helpers without
derivative (frontend/normalize_scipy.py).

Each derivative is written with scipy.special's own functions, whose rules
are here too, so the generated code can be differentiated again."""
import numpy as np
from scipy import special

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, nondifferentiable, tangent_rule, vec

# ----------------------------------------------------------------- elementwise

# The slopes of gammaln, digamma, polygamma and betaln are infinite at the
# poles (0, -1, ...), logit's at 0 and 1, xlogy's where y is 0: there a zero
# tangent or cotangent contributes 0 (rt.times_tangent, as in rules/ufuncs.py).


@adjoint_rule(special.gammaln)
def gammaln_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], special.digamma(x))


@tangent_rule(special.gammaln, elementwise=True)
def gammaln_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], special.digamma(x))


@adjoint_rule(special.digamma, special.psi)
def digamma_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], special.polygamma(1, x))


@tangent_rule(special.digamma, special.psi, elementwise=True)
def digamma_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], special.polygamma(1, x))


# The order n is an integer: it carries no derivative.
@adjoint_rule(special.polygamma, constant=("n",))
def polygamma_adjoint(z, n, x):
    bar[x] = rt.unbroadcast(rt.times_tangent(bar[z], special.polygamma(n + 1, x)), x)


@tangent_rule(special.polygamma, elementwise=True, constant=("n",))
def polygamma_tangent(z, n, x):
    dot[z] = rt.times_tangent(dot[x], special.polygamma(n + 1, x))


@adjoint_rule(special.erf)
def erf_adjoint(z, x):
    bar[x] = bar[z] * (1.1283791670955126 * np.exp(-x * x))  # 2 / sqrt(pi)


@tangent_rule(special.erf, elementwise=True)
def erf_tangent(z, x):
    dot[z] = dot[x] * (1.1283791670955126 * np.exp(-x * x))


@adjoint_rule(special.erfc)
def erfc_adjoint(z, x):
    bar[x] = bar[z] * (-1.1283791670955126 * np.exp(-x * x))


@tangent_rule(special.erfc, elementwise=True)
def erfc_tangent(z, x):
    dot[z] = dot[x] * (-1.1283791670955126 * np.exp(-x * x))


# The standard normal CDF (Black-Scholes' N(d)), its log and its inverse:
# slopes phi(x) = exp(-x^2 / 2) / sqrt(2 pi), phi(x) / ndtr(x) (written
# exp(-x^2 / 2 - log_ndtr(x)), finite far in the left tail where both
# vanish) and 1 / phi(ndtri(p)) (infinite at p = 0 and 1).
@adjoint_rule(special.ndtr)
def ndtr_adjoint(z, x):
    bar[x] = bar[z] * (0.3989422804014327 * np.exp(-0.5 * x * x))  # 1 / sqrt(2 pi)


@tangent_rule(special.ndtr, elementwise=True)
def ndtr_tangent(z, x):
    dot[z] = dot[x] * (0.3989422804014327 * np.exp(-0.5 * x * x))


@adjoint_rule(special.log_ndtr)
def log_ndtr_adjoint(z, x):
    bar[x] = bar[z] * (0.3989422804014327 * np.exp(-0.5 * x * x - z))


@tangent_rule(special.log_ndtr, elementwise=True)
def log_ndtr_tangent(z, x):
    dot[z] = dot[x] * (0.3989422804014327 * np.exp(-0.5 * x * x - z))


@adjoint_rule(special.ndtri)
def ndtri_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], 2.5066282746310002 * np.exp(0.5 * z * z))  # sqrt(2 pi)


@tangent_rule(special.ndtri, elementwise=True)
def ndtri_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 2.5066282746310002 * np.exp(0.5 * z * z))


@adjoint_rule(special.expit)
def expit_adjoint(z, x):
    bar[x] = bar[z] * (z * (1.0 - z))


@tangent_rule(special.expit, elementwise=True)
def expit_tangent(z, x):
    dot[z] = dot[x] * (z * (1.0 - z))


@adjoint_rule(special.logit)
def logit_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], 1.0 / (x * (1.0 - x)))


@tangent_rule(special.logit, elementwise=True)
def logit_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 1.0 / (x * (1.0 - x)))


# x * log(y), 0 where x is 0: slopes log(y) and x / y (y > 0). Where x is 0
# the function is 0 for every y, so its slope in y is 0 there, y = 0
# included (x / y would be 0 / 0): y is replaced by 1 where x is 0.
@adjoint_rule(special.xlogy)
def xlogy_adjoint(z, x, y):
    bar[x] = rt.unbroadcast(rt.times_tangent(bar[z], np.log(y)), x)
    bar[y] = rt.unbroadcast(rt.times_tangent(bar[z], x / np.where(np.equal(x, 0), 1.0, y)), y)


@tangent_rule(special.xlogy, elementwise=True)
def xlogy_tangent(z, x, y):
    dot[z] = rt.times_tangent(dot[x], np.log(y))
    dot[z] = rt.times_tangent(dot[y], x / np.where(np.equal(x, 0), 1.0, y))


# x * log1p(y), 0 where x is 0: slopes log1p(y) and x / (1 + y) (y > -1),
# the slope in y 0 where x is 0 (y = -1 included), as for xlogy.
@adjoint_rule(special.xlog1py)
def xlog1py_adjoint(z, x, y):
    bar[x] = rt.unbroadcast(rt.times_tangent(bar[z], np.log1p(y)), x)
    bar[y] = rt.unbroadcast(rt.times_tangent(bar[z], x / np.where(np.equal(x, 0), 1.0, 1.0 + y)), y)


@tangent_rule(special.xlog1py, elementwise=True)
def xlog1py_tangent(z, x, y):
    dot[z] = rt.times_tangent(dot[x], np.log1p(y))
    dot[z] = rt.times_tangent(dot[y], x / np.where(np.equal(x, 0), 1.0, 1.0 + y))


# -x * log(x) for x > 0, 0 at 0, -inf below: slope -(log(x) + 1) (+inf at
# 0, where the function is continuous from the right only; nan below 0,
# where it is constant -inf).
@adjoint_rule(special.entr)
def entr_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], -1.0 - np.log(x))


@tangent_rule(special.entr, elementwise=True)
def entr_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], -1.0 - np.log(x))


@adjoint_rule(special.betaln)
def betaln_adjoint(z, a, b):
    bar[a] = rt.unbroadcast(rt.times_tangent(bar[z], special.digamma(a) - special.digamma(a + b)), a)
    bar[b] = rt.unbroadcast(rt.times_tangent(bar[z], special.digamma(b) - special.digamma(a + b)), b)


@tangent_rule(special.betaln, elementwise=True)
def betaln_tangent(z, a, b):
    dot[z] = rt.times_tangent(dot[a], special.digamma(a) - special.digamma(a + b))
    dot[z] = rt.times_tangent(dot[b], special.digamma(b) - special.digamma(a + b))


# ----------------------------------------------------------------- along an axis

# z = log(sum(b * exp(a))) along axis: the slope in a is b * exp(a - z) (the
# softmax of a without b), in b exp(a - z) (rt.logsumexp_slope, of the shape
# of a and b broadcast together). return_sign=True is rewritten before this
# rule is met (frontend/normalize_scipy.py); a return_sign that is not a
# literal fails when the derivative is taken, saying so.
@adjoint_rule(special.logsumexp, constant=("axis",))
def logsumexp_adjoint(z, a, axis=None, b=None, keepdims=False):
    slope = rt.logsumexp_slope(a, z, axis=axis, b=b, keepdims=keepdims)
    g = rt.unreduce(bar[z], slope, axis=axis, keepdims=keepdims)
    bar[a] = rt.unbroadcast(g * slope, a)
    bar[b] = rt.unbroadcast(g * rt.logsumexp_slope(a, z, axis=axis, keepdims=keepdims), b)


@tangent_rule(special.logsumexp, constant=("axis",))
def logsumexp_tangent(z, a, axis=None, b=None, keepdims=False):
    slope = rt.logsumexp_slope(a, z, axis=axis, b=b, keepdims=keepdims)
    dot[z] = np.sum(rt.lift(dot[a], slope) * slope, axis=rt.batch_axes(axis, slope), keepdims=keepdims)
    dot[z] = np.sum(rt.lift(dot[b], slope) * rt.logsumexp_slope(a, z, axis=axis, keepdims=keepdims),
                    axis=rt.batch_axes(axis, slope), keepdims=keepdims)


# a and b lifted to the rank of their broadcast example (which axis counts in)
@batch_rule(special.logsumexp)
def logsumexp_batched(z, a, axis=None, b=None, keepdims=False):
    vec[z] = special.logsumexp(rt.vlift(vec[a], rt.result_rank((True, True), vec[a], vec[b])),
                               axis=rt.vaxes(axis, rt.vlift(vec[a], rt.result_rank((True, True), vec[a], vec[b]))),
                               b=rt.vlift(vec[b], rt.result_rank((True, True), vec[a], vec[b])), keepdims=keepdims)


@batch_rule(rt.logsumexp_slope)
def logsumexp_slope_batched(z, a, s, axis=None, b=None, keepdims=False):
    vec[z] = rt.vlogsumexp_slope(vec[a], vec[s], axis=axis, b=vec[b], keepdims=keepdims)


# The Jacobian of softmax, diag(z) - z z^T along axis, is symmetric: the
# adjoint and the tangent are the same product. (axis is declared constant:
# in generated code differentiated again it can be a parameter of the
# function, never a differentiated value.)
@adjoint_rule(special.softmax, constant=("axis",))
def softmax_adjoint(z, x, axis=None):
    bar[x] = z * (bar[z] - np.sum(bar[z] * z, axis=rt.batch_axes(axis, x), keepdims=True))


@tangent_rule(special.softmax, constant=("axis",))
def softmax_tangent(z, x, axis=None):
    dot[z] = z * (dot[x] - np.sum(dot[x] * z, axis=rt.batch_axes(axis, x), keepdims=True))


@batch_rule(special.softmax)
def softmax_batched(z, x, axis=None):
    vec[z] = special.softmax(vec[x], axis=rt.vaxes(axis, vec[x]))


@adjoint_rule(special.log_softmax, constant=("axis",))
def log_softmax_adjoint(z, x, axis=None):
    bar[x] = bar[z] - np.exp(z) * np.sum(bar[z], axis=rt.batch_axes(axis, x), keepdims=True)


@tangent_rule(special.log_softmax, constant=("axis",))
def log_softmax_tangent(z, x, axis=None):
    dot[z] = dot[x] - np.sum(np.exp(z) * dot[x], axis=rt.batch_axes(axis, x), keepdims=True)


@batch_rule(special.log_softmax)
def log_softmax_batched(z, x, axis=None):
    vec[z] = special.log_softmax(vec[x], axis=rt.vaxes(axis, vec[x]))


# logsumexp(..., return_sign=True) is written with these two (frontend/normalize_scipy.py):
# the sign of the weighted sum (reduced axes kept), and it shaped as logsumexp's result.
nondifferentiable(rt.logsumexp_sign, rt.logsumexp_sign_shaped)


@batch_rule(rt.logsumexp_sign)
def logsumexp_sign_batched(z, a, axis=None, b=None):
    vec[z] = rt.logsumexp_sign(rt.vlift(vec[a], rt.result_rank((True, True), vec[a], vec[b])),
                               axis=rt.vaxes(axis, rt.vlift(vec[a], rt.result_rank((True, True), vec[a], vec[b]))),
                               b=rt.vlift(vec[b], rt.result_rank((True, True), vec[a], vec[b])))


@batch_rule(rt.logsumexp_sign_shaped)
def logsumexp_sign_shaped_batched(z, sign, axis=None, keepdims=False):
    vec[z] = rt.logsumexp_sign_shaped(vec[sign], axis=rt.vaxes(axis, vec[sign]), keepdims=keepdims)
