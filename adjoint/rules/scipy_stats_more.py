"""More rules of scipy.stats, registered with rules/scipy_stats.py (which
imports this module):

- the survival functions ``sf`` and ``logsf`` of t (df), gamma (a) and beta
  (a, b) in x, loc and scale. With ``u = (x - loc) / scale``, ``sf = 1 -
  cdf``: its slopes in x, loc and scale are ``-pdf``, ``pdf`` and ``pdf *
  u``; logsf's are those over the sf, ``exp(logpdf - logsf)`` times the
  same signs. The slopes in the shape parameters would be derivatives of
  the regularized incomplete beta and gamma functions in their parameters,
  which scipy.special does not provide: a call that differentiates one is
  refused at the user's line, naming the parameter (as every rule refuses
  an argument it does not name);
- dirichlet's ``logpdf`` and ``pdf`` in x and alpha (below).

The slopes are written with scipy.stats' and scipy.special's functions,
whose rules are registered too, so the generated code can be
differentiated again."""
import numpy as np
from scipy import special, stats

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, tangent_rule, vec

t = stats.t
gamma = stats.gamma
beta = stats.beta
dirichlet = stats.dirichlet


# ----------------------------------------------------------------- sf and logsf

@adjoint_rule(t.sf)
def t_sf_adjoint(z, x, df, loc=0, scale=1):
    density = t.pdf(x, df, loc, scale)
    bar[x] = rt.unbroadcast(-bar[z] * density, x)
    bar[loc] = rt.unbroadcast(bar[z] * density, loc)
    bar[scale] = rt.unbroadcast(bar[z] * (density * ((x - loc) / scale)), scale)


@tangent_rule(t.sf, elementwise=True)
def t_sf_tangent(z, x, df, loc=0, scale=1):
    density = t.pdf(x, df, loc, scale)
    dot[z] = -dot[x] * density
    dot[z] = dot[loc] * density
    dot[z] = dot[scale] * (density * ((x - loc) / scale))


@adjoint_rule(t.logsf)
def t_logsf_adjoint(z, x, df, loc=0, scale=1):
    ratio = np.exp(t.logpdf(x, df, loc, scale) - z)
    bar[x] = rt.unbroadcast(-bar[z] * ratio, x)
    bar[loc] = rt.unbroadcast(bar[z] * ratio, loc)
    bar[scale] = rt.unbroadcast(bar[z] * (ratio * ((x - loc) / scale)), scale)


@tangent_rule(t.logsf, elementwise=True)
def t_logsf_tangent(z, x, df, loc=0, scale=1):
    ratio = np.exp(t.logpdf(x, df, loc, scale) - z)
    dot[z] = -dot[x] * ratio
    dot[z] = dot[loc] * ratio
    dot[z] = dot[scale] * (ratio * ((x - loc) / scale))


@adjoint_rule(gamma.sf)
def gamma_sf_adjoint(z, x, a, loc=0, scale=1):
    density = gamma.pdf(x, a, loc, scale)
    bar[x] = rt.unbroadcast(-bar[z] * density, x)
    bar[loc] = rt.unbroadcast(bar[z] * density, loc)
    bar[scale] = rt.unbroadcast(bar[z] * (density * ((x - loc) / scale)), scale)


@tangent_rule(gamma.sf, elementwise=True)
def gamma_sf_tangent(z, x, a, loc=0, scale=1):
    density = gamma.pdf(x, a, loc, scale)
    dot[z] = -dot[x] * density
    dot[z] = dot[loc] * density
    dot[z] = dot[scale] * (density * ((x - loc) / scale))


@adjoint_rule(gamma.logsf)
def gamma_logsf_adjoint(z, x, a, loc=0, scale=1):
    ratio = np.exp(gamma.logpdf(x, a, loc, scale) - z)
    bar[x] = rt.unbroadcast(-bar[z] * ratio, x)
    bar[loc] = rt.unbroadcast(bar[z] * ratio, loc)
    bar[scale] = rt.unbroadcast(bar[z] * (ratio * ((x - loc) / scale)), scale)


@tangent_rule(gamma.logsf, elementwise=True)
def gamma_logsf_tangent(z, x, a, loc=0, scale=1):
    ratio = np.exp(gamma.logpdf(x, a, loc, scale) - z)
    dot[z] = -dot[x] * ratio
    dot[z] = dot[loc] * ratio
    dot[z] = dot[scale] * (ratio * ((x - loc) / scale))


@adjoint_rule(beta.sf)
def beta_sf_adjoint(z, x, a, b, loc=0, scale=1):
    density = beta.pdf(x, a, b, loc, scale)
    bar[x] = rt.unbroadcast(-bar[z] * density, x)
    bar[loc] = rt.unbroadcast(bar[z] * density, loc)
    bar[scale] = rt.unbroadcast(bar[z] * (density * ((x - loc) / scale)), scale)


@tangent_rule(beta.sf, elementwise=True)
def beta_sf_tangent(z, x, a, b, loc=0, scale=1):
    density = beta.pdf(x, a, b, loc, scale)
    dot[z] = -dot[x] * density
    dot[z] = dot[loc] * density
    dot[z] = dot[scale] * (density * ((x - loc) / scale))


@adjoint_rule(beta.logsf)
def beta_logsf_adjoint(z, x, a, b, loc=0, scale=1):
    ratio = np.exp(beta.logpdf(x, a, b, loc, scale) - z)
    bar[x] = rt.unbroadcast(-bar[z] * ratio, x)
    bar[loc] = rt.unbroadcast(bar[z] * ratio, loc)
    bar[scale] = rt.unbroadcast(bar[z] * (ratio * ((x - loc) / scale)), scale)


@tangent_rule(beta.logsf, elementwise=True)
def beta_logsf_tangent(z, x, a, b, loc=0, scale=1):
    ratio = np.exp(beta.logpdf(x, a, b, loc, scale) - z)
    dot[z] = -dot[x] * ratio
    dot[z] = dot[loc] * ratio
    dot[z] = dot[scale] * (ratio * ((x - loc) / scale))


# ----------------------------------------------------------------- dirichlet
#
# logpdf(x, alpha) = sum_i (alpha_i - 1) log x_i - sum_i gammaln(alpha_i)
# + gammaln(sum_i alpha_i), the categories along x's first axis (x of shape
# (k,) or (k, n...), one density per trailing position). Its slope in x_i is
# (alpha_i - 1) / x_i, the partial derivative of that formula (SciPy accepts
# only points on the simplex, so a finite difference sees the slope along
# directions that sum to 0); its slope in alpha_i is log x_i - digamma(alpha_i)
# + digamma(sum alpha), summed over the trailing positions. pdf is exp(logpdf).
# rt.dirichlet_column gives alpha x's rank (and refuses the k - 1 form of x);
# rt.dirichlet_alpha_bar sums over the trailing positions.

@adjoint_rule(dirichlet.logpdf)
def dirichlet_logpdf_adjoint(z, x, alpha):
    column = rt.dirichlet_column(alpha, x)
    g = rt.unreduce(bar[z], x, axis=0)
    bar[x] = g * ((column - 1.0) / x)
    bar[alpha] = rt.dirichlet_alpha_bar(
        g * (np.log(x) - special.digamma(column) + special.digamma(np.sum(alpha))), alpha)


@tangent_rule(dirichlet.logpdf)
def dirichlet_logpdf_tangent(z, x, alpha):
    column = rt.dirichlet_column(alpha, x)
    dot[z] = np.sum(rt.lift(dot[x], x) * ((column - 1.0) / x), axis=1)
    dot[z] = np.sum(rt.dirichlet_column(dot[alpha], x)
                    * (np.log(x) - special.digamma(column) + special.digamma(np.sum(alpha))), axis=1)


@adjoint_rule(dirichlet.pdf)
def dirichlet_pdf_adjoint(z, x, alpha):
    column = rt.dirichlet_column(alpha, x)
    g = rt.unreduce(bar[z] * z, x, axis=0)
    bar[x] = g * ((column - 1.0) / x)
    bar[alpha] = rt.dirichlet_alpha_bar(
        g * (np.log(x) - special.digamma(column) + special.digamma(np.sum(alpha))), alpha)


@tangent_rule(dirichlet.pdf)
def dirichlet_pdf_tangent(z, x, alpha):
    column = rt.dirichlet_column(alpha, x)
    dot[z] = z * np.sum(rt.lift(dot[x], x) * ((column - 1.0) / x), axis=1)
    dot[z] = z * np.sum(rt.dirichlet_column(dot[alpha], x)
                        * (np.log(x) - special.digamma(column) + special.digamma(np.sum(alpha))), axis=1)


# Once per example (SciPy's categories axis does not take a batch axis first).
@batch_rule(dirichlet.logpdf)
def dirichlet_logpdf_batched(z, x, alpha):
    vec[z] = rt.vloop(batch, dirichlet.logpdf, vec[x], vec[alpha])


@batch_rule(dirichlet.pdf)
def dirichlet_pdf_batched(z, x, alpha):
    vec[z] = rt.vloop(batch, dirichlet.pdf, vec[x], vec[alpha])
