"""Rules of scipy.stats' distributions, registered when SciPy is imported
(``adjoint.rules.load_optional_rules``), by position or keyword:

- norm's logpdf, pdf, cdf, logcdf, sf and logsf in x, loc and scale;
- t (df), gamma (a), beta (a, b) and chi2 (df): logpdf and pdf in x, the
  shape parameters, loc and scale; cdf (and logcdf, but chi2's) in x, loc
  and scale;
- poisson's logpmf, pmf and cdf in mu (the counts k carry no derivative).

t, gamma and beta's sf and logsf, and dirichlet, are in scipy_stats_more.py
(imported at the end). A method or argument without a rule (the shape
parameters of a cdf or sf) is refused when it is differentiated. With
``u = (x - loc) / scale``: ``logpdf = f(u) - log(scale)``, ``pdf =
exp(logpdf)``, and the cdf's slope in x is the pdf. The slopes are written
with these functions and scipy.special's, whose rules are registered too,
so the generated code can be differentiated again. All of them are
elementwise: vmap batches them by broadcasting."""
import numpy as np
from scipy import special, stats

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, tangent_rule, vec

norm = stats.norm


@adjoint_rule(norm.logpdf)
def norm_logpdf_adjoint(z, x, loc=0, scale=1):
    bar[x] = rt.unbroadcast(bar[z] * ((loc - x) / (scale * scale)), x)
    bar[loc] = rt.unbroadcast(bar[z] * ((x - loc) / (scale * scale)), loc)
    bar[scale] = rt.unbroadcast(bar[z] * (((x - loc) / scale) ** 2 - 1.0) / scale, scale)


@tangent_rule(norm.logpdf, elementwise=True)
def norm_logpdf_tangent(z, x, loc=0, scale=1):
    dot[z] = dot[x] * ((loc - x) / (scale * scale))
    dot[z] = dot[loc] * ((x - loc) / (scale * scale))
    dot[z] = dot[scale] * ((((x - loc) / scale) ** 2 - 1.0) / scale)


@adjoint_rule(norm.pdf)
def norm_pdf_adjoint(z, x, loc=0, scale=1):
    bar[x] = rt.unbroadcast(bar[z] * (z * (loc - x) / (scale * scale)), x)
    bar[loc] = rt.unbroadcast(bar[z] * (z * (x - loc) / (scale * scale)), loc)
    bar[scale] = rt.unbroadcast(bar[z] * (z * (((x - loc) / scale) ** 2 - 1.0) / scale), scale)


@tangent_rule(norm.pdf, elementwise=True)
def norm_pdf_tangent(z, x, loc=0, scale=1):
    dot[z] = dot[x] * (z * (loc - x) / (scale * scale))
    dot[z] = dot[loc] * (z * (x - loc) / (scale * scale))
    dot[z] = dot[scale] * (z * (((x - loc) / scale) ** 2 - 1.0) / scale)


@adjoint_rule(norm.cdf)
def norm_cdf_adjoint(z, x, loc=0, scale=1):
    bar[x] = rt.unbroadcast(bar[z] * norm.pdf(x, loc, scale), x)
    bar[loc] = rt.unbroadcast(-bar[z] * norm.pdf(x, loc, scale), loc)
    bar[scale] = rt.unbroadcast(-bar[z] * (norm.pdf(x, loc, scale) * ((x - loc) / scale)), scale)


@tangent_rule(norm.cdf, elementwise=True)
def norm_cdf_tangent(z, x, loc=0, scale=1):
    dot[z] = dot[x] * norm.pdf(x, loc, scale)
    dot[z] = -dot[loc] * norm.pdf(x, loc, scale)
    dot[z] = -dot[scale] * (norm.pdf(x, loc, scale) * ((x - loc) / scale))


# norm.logcdf: the slope of log Phi(u) is the ratio pdf / cdf, exp(logpdf - logcdf).
@adjoint_rule(norm.logcdf)
def norm_logcdf_adjoint(z, x, loc=0, scale=1):
    ratio = np.exp(norm.logpdf(x, loc, scale) - z)
    bar[x] = rt.unbroadcast(bar[z] * ratio, x)
    bar[loc] = rt.unbroadcast(-bar[z] * ratio, loc)
    bar[scale] = rt.unbroadcast(-bar[z] * (ratio * ((x - loc) / scale)), scale)


@tangent_rule(norm.logcdf, elementwise=True)
def norm_logcdf_tangent(z, x, loc=0, scale=1):
    ratio = np.exp(norm.logpdf(x, loc, scale) - z)
    dot[z] = dot[x] * ratio
    dot[z] = -dot[loc] * ratio
    dot[z] = -dot[scale] * (ratio * ((x - loc) / scale))


# norm.sf = 1 - cdf: slopes minus the cdf's; logsf's are those over sf.
@adjoint_rule(norm.sf)
def norm_sf_adjoint(z, x, loc=0, scale=1):
    bar[x] = rt.unbroadcast(-bar[z] * norm.pdf(x, loc, scale), x)
    bar[loc] = rt.unbroadcast(bar[z] * norm.pdf(x, loc, scale), loc)
    bar[scale] = rt.unbroadcast(bar[z] * (norm.pdf(x, loc, scale) * ((x - loc) / scale)), scale)


@tangent_rule(norm.sf, elementwise=True)
def norm_sf_tangent(z, x, loc=0, scale=1):
    dot[z] = -dot[x] * norm.pdf(x, loc, scale)
    dot[z] = dot[loc] * norm.pdf(x, loc, scale)
    dot[z] = dot[scale] * (norm.pdf(x, loc, scale) * ((x - loc) / scale))


@adjoint_rule(norm.logsf)
def norm_logsf_adjoint(z, x, loc=0, scale=1):
    ratio = np.exp(norm.logpdf(x, loc, scale) - z)
    bar[x] = rt.unbroadcast(-bar[z] * ratio, x)
    bar[loc] = rt.unbroadcast(bar[z] * ratio, loc)
    bar[scale] = rt.unbroadcast(bar[z] * (ratio * ((x - loc) / scale)), scale)


@tangent_rule(norm.logsf, elementwise=True)
def norm_logsf_tangent(z, x, loc=0, scale=1):
    ratio = np.exp(norm.logpdf(x, loc, scale) - z)
    dot[z] = -dot[x] * ratio
    dot[z] = dot[loc] * ratio
    dot[z] = dot[scale] * (ratio * ((x - loc) / scale))


# ----------------------------------------------------------------- location-scale families
#
# t (df), gamma (a) and beta (a, b) with loc and scale: with u = (x - loc) / scale,
# logpdf = f(u) - log(scale), so the slope in loc is minus the slope in x,
# d_x, and the slope in scale is -(1 + (x - loc) * d_x) / scale. pdf is
# exp(logpdf): its slopes are the pdf times those. cdf's slopes in x, loc
# and scale are pdf, -pdf and -pdf * u; logcdf's are those over the cdf.
# The cdfs have no derivative in the shape parameters (df, a, b): a call that
# differentiates one is refused, as every rule refuses an argument it does not
# name.

t = stats.t
gamma = stats.gamma
beta = stats.beta
poisson = stats.poisson


@adjoint_rule(t.logpdf)
def t_logpdf_adjoint(z, x, df, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = -(df + 1.0) * u / (scale * (df + u * u))
    bar[x] = rt.unbroadcast(bar[z] * d_x, x)
    bar[loc] = rt.unbroadcast(-bar[z] * d_x, loc)
    bar[scale] = rt.unbroadcast(bar[z] * (-(1.0 + (x - loc) * d_x) / scale), scale)
    bar[df] = rt.unbroadcast(bar[z] * (0.5 * (special.digamma(0.5 * (df + 1.0)) - special.digamma(0.5 * df) - 1.0 / df
                                              - np.log1p(u * u / df) + (df + 1.0) * u * u / (df * (df + u * u)))), df)


@tangent_rule(t.logpdf, elementwise=True)
def t_logpdf_tangent(z, x, df, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = -(df + 1.0) * u / (scale * (df + u * u))
    dot[z] = dot[x] * d_x
    dot[z] = -dot[loc] * d_x
    dot[z] = dot[scale] * (-(1.0 + (x - loc) * d_x) / scale)
    dot[z] = dot[df] * (0.5 * (special.digamma(0.5 * (df + 1.0)) - special.digamma(0.5 * df) - 1.0 / df
                               - np.log1p(u * u / df) + (df + 1.0) * u * u / (df * (df + u * u))))


@adjoint_rule(t.pdf)
def t_pdf_adjoint(z, x, df, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = -(df + 1.0) * u / (scale * (df + u * u))
    bar[x] = rt.unbroadcast(bar[z] * (z * d_x), x)
    bar[loc] = rt.unbroadcast(-bar[z] * (z * d_x), loc)
    bar[scale] = rt.unbroadcast(bar[z] * (z * (-(1.0 + (x - loc) * d_x) / scale)), scale)
    bar[df] = rt.unbroadcast(bar[z] * (z * (0.5 * (special.digamma(0.5 * (df + 1.0)) - special.digamma(0.5 * df)
                                                   - 1.0 / df - np.log1p(u * u / df)
                                                   + (df + 1.0) * u * u / (df * (df + u * u))))), df)


@tangent_rule(t.pdf, elementwise=True)
def t_pdf_tangent(z, x, df, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = -(df + 1.0) * u / (scale * (df + u * u))
    dot[z] = dot[x] * (z * d_x)
    dot[z] = -dot[loc] * (z * d_x)
    dot[z] = dot[scale] * (z * (-(1.0 + (x - loc) * d_x) / scale))
    dot[z] = dot[df] * (z * (0.5 * (special.digamma(0.5 * (df + 1.0)) - special.digamma(0.5 * df) - 1.0 / df
                                    - np.log1p(u * u / df) + (df + 1.0) * u * u / (df * (df + u * u)))))


@adjoint_rule(t.cdf)
def t_cdf_adjoint(z, x, df, loc=0, scale=1):
    density = t.pdf(x, df, loc, scale)
    bar[x] = rt.unbroadcast(bar[z] * density, x)
    bar[loc] = rt.unbroadcast(-bar[z] * density, loc)
    bar[scale] = rt.unbroadcast(-bar[z] * (density * ((x - loc) / scale)), scale)


@tangent_rule(t.cdf, elementwise=True)
def t_cdf_tangent(z, x, df, loc=0, scale=1):
    density = t.pdf(x, df, loc, scale)
    dot[z] = dot[x] * density
    dot[z] = -dot[loc] * density
    dot[z] = -dot[scale] * (density * ((x - loc) / scale))


@adjoint_rule(t.logcdf)
def t_logcdf_adjoint(z, x, df, loc=0, scale=1):
    ratio = np.exp(t.logpdf(x, df, loc, scale) - z)
    bar[x] = rt.unbroadcast(bar[z] * ratio, x)
    bar[loc] = rt.unbroadcast(-bar[z] * ratio, loc)
    bar[scale] = rt.unbroadcast(-bar[z] * (ratio * ((x - loc) / scale)), scale)


@tangent_rule(t.logcdf, elementwise=True)
def t_logcdf_tangent(z, x, df, loc=0, scale=1):
    ratio = np.exp(t.logpdf(x, df, loc, scale) - z)
    dot[z] = dot[x] * ratio
    dot[z] = -dot[loc] * ratio
    dot[z] = -dot[scale] * (ratio * ((x - loc) / scale))


# gamma: f(u) = (a - 1) log u - u - gammaln(a), u > 0.
@adjoint_rule(gamma.logpdf)
def gamma_logpdf_adjoint(z, x, a, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((a - 1.0) / u - 1.0) / scale
    bar[x] = rt.unbroadcast(bar[z] * d_x, x)
    bar[loc] = rt.unbroadcast(-bar[z] * d_x, loc)
    bar[scale] = rt.unbroadcast(bar[z] * ((u - a) / scale), scale)
    bar[a] = rt.unbroadcast(bar[z] * (np.log(u) - special.digamma(a)), a)


@tangent_rule(gamma.logpdf, elementwise=True)
def gamma_logpdf_tangent(z, x, a, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((a - 1.0) / u - 1.0) / scale
    dot[z] = dot[x] * d_x
    dot[z] = -dot[loc] * d_x
    dot[z] = dot[scale] * ((u - a) / scale)
    dot[z] = dot[a] * (np.log(u) - special.digamma(a))


@adjoint_rule(gamma.pdf)
def gamma_pdf_adjoint(z, x, a, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((a - 1.0) / u - 1.0) / scale
    bar[x] = rt.unbroadcast(bar[z] * (z * d_x), x)
    bar[loc] = rt.unbroadcast(-bar[z] * (z * d_x), loc)
    bar[scale] = rt.unbroadcast(bar[z] * (z * ((u - a) / scale)), scale)
    bar[a] = rt.unbroadcast(bar[z] * (z * (np.log(u) - special.digamma(a))), a)


@tangent_rule(gamma.pdf, elementwise=True)
def gamma_pdf_tangent(z, x, a, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((a - 1.0) / u - 1.0) / scale
    dot[z] = dot[x] * (z * d_x)
    dot[z] = -dot[loc] * (z * d_x)
    dot[z] = dot[scale] * (z * ((u - a) / scale))
    dot[z] = dot[a] * (z * (np.log(u) - special.digamma(a)))


@adjoint_rule(gamma.cdf)
def gamma_cdf_adjoint(z, x, a, loc=0, scale=1):
    density = gamma.pdf(x, a, loc, scale)
    bar[x] = rt.unbroadcast(bar[z] * density, x)
    bar[loc] = rt.unbroadcast(-bar[z] * density, loc)
    bar[scale] = rt.unbroadcast(-bar[z] * (density * ((x - loc) / scale)), scale)


@tangent_rule(gamma.cdf, elementwise=True)
def gamma_cdf_tangent(z, x, a, loc=0, scale=1):
    density = gamma.pdf(x, a, loc, scale)
    dot[z] = dot[x] * density
    dot[z] = -dot[loc] * density
    dot[z] = -dot[scale] * (density * ((x - loc) / scale))


@adjoint_rule(gamma.logcdf)
def gamma_logcdf_adjoint(z, x, a, loc=0, scale=1):
    ratio = np.exp(gamma.logpdf(x, a, loc, scale) - z)
    bar[x] = rt.unbroadcast(bar[z] * ratio, x)
    bar[loc] = rt.unbroadcast(-bar[z] * ratio, loc)
    bar[scale] = rt.unbroadcast(-bar[z] * (ratio * ((x - loc) / scale)), scale)


@tangent_rule(gamma.logcdf, elementwise=True)
def gamma_logcdf_tangent(z, x, a, loc=0, scale=1):
    ratio = np.exp(gamma.logpdf(x, a, loc, scale) - z)
    dot[z] = dot[x] * ratio
    dot[z] = -dot[loc] * ratio
    dot[z] = -dot[scale] * (ratio * ((x - loc) / scale))


# beta: f(u) = (a - 1) log u + (b - 1) log(1 - u) - betaln(a, b), 0 < u < 1.
@adjoint_rule(beta.logpdf)
def beta_logpdf_adjoint(z, x, a, b, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((a - 1.0) / u - (b - 1.0) / (1.0 - u)) / scale
    bar[x] = rt.unbroadcast(bar[z] * d_x, x)
    bar[loc] = rt.unbroadcast(-bar[z] * d_x, loc)
    bar[scale] = rt.unbroadcast(bar[z] * (-(1.0 + (x - loc) * d_x) / scale), scale)
    bar[a] = rt.unbroadcast(bar[z] * (np.log(u) - special.digamma(a) + special.digamma(a + b)), a)
    bar[b] = rt.unbroadcast(bar[z] * (np.log1p(-u) - special.digamma(b) + special.digamma(a + b)), b)


@tangent_rule(beta.logpdf, elementwise=True)
def beta_logpdf_tangent(z, x, a, b, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((a - 1.0) / u - (b - 1.0) / (1.0 - u)) / scale
    dot[z] = dot[x] * d_x
    dot[z] = -dot[loc] * d_x
    dot[z] = dot[scale] * (-(1.0 + (x - loc) * d_x) / scale)
    dot[z] = dot[a] * (np.log(u) - special.digamma(a) + special.digamma(a + b))
    dot[z] = dot[b] * (np.log1p(-u) - special.digamma(b) + special.digamma(a + b))


@adjoint_rule(beta.pdf)
def beta_pdf_adjoint(z, x, a, b, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((a - 1.0) / u - (b - 1.0) / (1.0 - u)) / scale
    bar[x] = rt.unbroadcast(bar[z] * (z * d_x), x)
    bar[loc] = rt.unbroadcast(-bar[z] * (z * d_x), loc)
    bar[scale] = rt.unbroadcast(bar[z] * (z * (-(1.0 + (x - loc) * d_x) / scale)), scale)
    bar[a] = rt.unbroadcast(bar[z] * (z * (np.log(u) - special.digamma(a) + special.digamma(a + b))), a)
    bar[b] = rt.unbroadcast(bar[z] * (z * (np.log1p(-u) - special.digamma(b) + special.digamma(a + b))), b)


@tangent_rule(beta.pdf, elementwise=True)
def beta_pdf_tangent(z, x, a, b, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((a - 1.0) / u - (b - 1.0) / (1.0 - u)) / scale
    dot[z] = dot[x] * (z * d_x)
    dot[z] = -dot[loc] * (z * d_x)
    dot[z] = dot[scale] * (z * (-(1.0 + (x - loc) * d_x) / scale))
    dot[z] = dot[a] * (z * (np.log(u) - special.digamma(a) + special.digamma(a + b)))
    dot[z] = dot[b] * (z * (np.log1p(-u) - special.digamma(b) + special.digamma(a + b)))


@adjoint_rule(beta.cdf)
def beta_cdf_adjoint(z, x, a, b, loc=0, scale=1):
    density = beta.pdf(x, a, b, loc, scale)
    bar[x] = rt.unbroadcast(bar[z] * density, x)
    bar[loc] = rt.unbroadcast(-bar[z] * density, loc)
    bar[scale] = rt.unbroadcast(-bar[z] * (density * ((x - loc) / scale)), scale)


@tangent_rule(beta.cdf, elementwise=True)
def beta_cdf_tangent(z, x, a, b, loc=0, scale=1):
    density = beta.pdf(x, a, b, loc, scale)
    dot[z] = dot[x] * density
    dot[z] = -dot[loc] * density
    dot[z] = -dot[scale] * (density * ((x - loc) / scale))


@adjoint_rule(beta.logcdf)
def beta_logcdf_adjoint(z, x, a, b, loc=0, scale=1):
    ratio = np.exp(beta.logpdf(x, a, b, loc, scale) - z)
    bar[x] = rt.unbroadcast(bar[z] * ratio, x)
    bar[loc] = rt.unbroadcast(-bar[z] * ratio, loc)
    bar[scale] = rt.unbroadcast(-bar[z] * (ratio * ((x - loc) / scale)), scale)


@tangent_rule(beta.logcdf, elementwise=True)
def beta_logcdf_tangent(z, x, a, b, loc=0, scale=1):
    ratio = np.exp(beta.logpdf(x, a, b, loc, scale) - z)
    dot[z] = dot[x] * ratio
    dot[z] = -dot[loc] * ratio
    dot[z] = -dot[scale] * (ratio * ((x - loc) / scale))


# chi2 (df): f(u) = (df / 2 - 1) log u - u / 2 - (df / 2) log 2 - gammaln(df / 2), u > 0.
chi2 = stats.chi2


@adjoint_rule(chi2.logpdf)
def chi2_logpdf_adjoint(z, x, df, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((0.5 * df - 1.0) / u - 0.5) / scale
    bar[x] = rt.unbroadcast(bar[z] * d_x, x)
    bar[loc] = rt.unbroadcast(-bar[z] * d_x, loc)
    bar[scale] = rt.unbroadcast(bar[z] * (-(1.0 + (x - loc) * d_x) / scale), scale)
    bar[df] = rt.unbroadcast(bar[z] * (0.5 * (np.log(0.5 * u) - special.digamma(0.5 * df))), df)


@tangent_rule(chi2.logpdf, elementwise=True)
def chi2_logpdf_tangent(z, x, df, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((0.5 * df - 1.0) / u - 0.5) / scale
    dot[z] = dot[x] * d_x
    dot[z] = -dot[loc] * d_x
    dot[z] = dot[scale] * (-(1.0 + (x - loc) * d_x) / scale)
    dot[z] = dot[df] * (0.5 * (np.log(0.5 * u) - special.digamma(0.5 * df)))


@adjoint_rule(chi2.pdf)
def chi2_pdf_adjoint(z, x, df, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((0.5 * df - 1.0) / u - 0.5) / scale
    bar[x] = rt.unbroadcast(bar[z] * (z * d_x), x)
    bar[loc] = rt.unbroadcast(-bar[z] * (z * d_x), loc)
    bar[scale] = rt.unbroadcast(bar[z] * (z * (-(1.0 + (x - loc) * d_x) / scale)), scale)
    bar[df] = rt.unbroadcast(bar[z] * (z * (0.5 * (np.log(0.5 * u) - special.digamma(0.5 * df)))), df)


@tangent_rule(chi2.pdf, elementwise=True)
def chi2_pdf_tangent(z, x, df, loc=0, scale=1):
    u = (x - loc) / scale
    d_x = ((0.5 * df - 1.0) / u - 0.5) / scale
    dot[z] = dot[x] * (z * d_x)
    dot[z] = -dot[loc] * (z * d_x)
    dot[z] = dot[scale] * (z * (-(1.0 + (x - loc) * d_x) / scale))
    dot[z] = dot[df] * (z * (0.5 * (np.log(0.5 * u) - special.digamma(0.5 * df))))


@adjoint_rule(chi2.cdf)
def chi2_cdf_adjoint(z, x, df, loc=0, scale=1):
    density = chi2.pdf(x, df, loc, scale)
    bar[x] = rt.unbroadcast(bar[z] * density, x)
    bar[loc] = rt.unbroadcast(-bar[z] * density, loc)
    bar[scale] = rt.unbroadcast(-bar[z] * (density * ((x - loc) / scale)), scale)


@tangent_rule(chi2.cdf, elementwise=True)
def chi2_cdf_tangent(z, x, df, loc=0, scale=1):
    density = chi2.pdf(x, df, loc, scale)
    dot[z] = dot[x] * density
    dot[z] = -dot[loc] * density
    dot[z] = -dot[scale] * (density * ((x - loc) / scale))


# ----------------------------------------------------------------- poisson
#
# The counts k are integers: no derivative in k (a call that differentiates
# them is refused) nor in loc. logpmf = k log mu - mu - gammaln(k + 1): its
# slope in mu is k / mu - 1 (-1 where k is 0, mu = 0 included); pmf's is the
# pmf times that; cdf(k) = Q(floor(k) + 1, mu) has slope -pmf(floor(k), mu).

@adjoint_rule(poisson.logpmf)
def poisson_logpmf_adjoint(z, k, mu, loc=0):
    bar[mu] = rt.unbroadcast(bar[z] * (rt.times_tangent(k, 1.0 / mu) - 1.0), mu)


@tangent_rule(poisson.logpmf, elementwise=True)
def poisson_logpmf_tangent(z, k, mu, loc=0):
    dot[z] = dot[mu] * (rt.times_tangent(k, 1.0 / mu) - 1.0)


@adjoint_rule(poisson.pmf)
def poisson_pmf_adjoint(z, k, mu, loc=0):
    bar[mu] = rt.unbroadcast(bar[z] * (z * (rt.times_tangent(k, 1.0 / mu) - 1.0)), mu)


@tangent_rule(poisson.pmf, elementwise=True)
def poisson_pmf_tangent(z, k, mu, loc=0):
    dot[z] = dot[mu] * (z * (rt.times_tangent(k, 1.0 / mu) - 1.0))


@adjoint_rule(poisson.cdf)
def poisson_cdf_adjoint(z, k, mu, loc=0):
    bar[mu] = rt.unbroadcast(-bar[z] * poisson.pmf(np.floor(k), mu, loc), mu)


@tangent_rule(poisson.cdf, elementwise=True)
def poisson_cdf_tangent(z, k, mu, loc=0):
    dot[z] = -dot[mu] * poisson.pmf(np.floor(k), mu, loc)


# ----------------------------------------------------------------- multivariate_normal
#
# logpdf(x, mean, cov) = -(d log 2 pi + log det cov + r . cov^-1 r) / 2 with
# r = x - mean, point by point along x's last axis; pdf is its exp. cov is
# one d x d matrix (d >= 2): other forms are refused when the derivative is
# taken (rt.mvn_solved). SciPy reads cov's lower triangle and mirrors it
# (rt.mvn_covariance): so do the derivatives, and the upper triangle gets none.

multivariate_normal = stats.multivariate_normal


@adjoint_rule(multivariate_normal.logpdf, constant=("allow_singular",))
def multivariate_normal_logpdf_adjoint(z, x, mean=None, cov=1, allow_singular=False):
    bar[x] = rt.mvn_logpdf_adjoint(bar[z], x, mean, cov, wrt="x")
    bar[mean] = rt.mvn_logpdf_adjoint(bar[z], x, mean, cov, wrt="mean")
    bar[cov] = rt.mvn_logpdf_adjoint(bar[z], x, mean, cov, wrt="cov")


@tangent_rule(multivariate_normal.logpdf, constant=("allow_singular",))
def multivariate_normal_logpdf_tangent(z, x, mean=None, cov=1, allow_singular=False):
    dot[z] = rt.mvn_logpdf_tangent(dot[x], x, mean, cov, z, wrt="x")
    dot[z] = rt.mvn_logpdf_tangent(dot[mean], x, mean, cov, z, wrt="mean")
    dot[z] = rt.mvn_logpdf_tangent(dot[cov], x, mean, cov, z, wrt="cov")


@adjoint_rule(multivariate_normal.pdf, constant=("allow_singular",))
def multivariate_normal_pdf_adjoint(z, x, mean=None, cov=1, allow_singular=False):
    bar[x] = rt.mvn_logpdf_adjoint(bar[z] * z, x, mean, cov, wrt="x")
    bar[mean] = rt.mvn_logpdf_adjoint(bar[z] * z, x, mean, cov, wrt="mean")
    bar[cov] = rt.mvn_logpdf_adjoint(bar[z] * z, x, mean, cov, wrt="cov")


@tangent_rule(multivariate_normal.pdf, constant=("allow_singular",))
def multivariate_normal_pdf_tangent(z, x, mean=None, cov=1, allow_singular=False):
    dot[z] = z * rt.mvn_logpdf_tangent(dot[x], x, mean, cov, z, wrt="x")
    dot[z] = z * rt.mvn_logpdf_tangent(dot[mean], x, mean, cov, z, wrt="mean")
    dot[z] = z * rt.mvn_logpdf_tangent(dot[cov], x, mean, cov, z, wrt="cov")


# SciPy's points and covariance do not carry a batch axis: its method on the stack
# (rt.vmvn_logpdf; other covariance forms once per example, announced).
@batch_rule(multivariate_normal.logpdf)
def multivariate_normal_logpdf_batched(z, x, mean=None, cov=1, allow_singular=False):
    vec[z] = rt.vmvn_logpdf(vec[x], vec[mean], vec[cov], allow_singular=allow_singular,
                            function=multivariate_normal.logpdf)


@batch_rule(multivariate_normal.pdf)
def multivariate_normal_pdf_batched(z, x, mean=None, cov=1, allow_singular=False):
    vec[z] = rt.vmvn_pdf(vec[x], vec[mean], vec[cov], allow_singular=allow_singular,
                         function=multivariate_normal.pdf)


# sf and logsf of t, gamma and beta, and dirichlet: in their own module
from . import scipy_stats_more  # noqa: E402,F401
