"""Rules of scipy.stats.norm's logpdf, pdf and cdf, registered when SciPy is
imported (``adjoint.rules.load_optional_rules``), in x, loc and scale (by
position or keyword; the distribution's other methods have no rule). With
``u = (x - loc) / scale``: ``logpdf = -u^2 / 2 - log(scale) - log(2 pi) / 2``,
``pdf = exp(logpdf)``, ``cdf = Phi(u)``. The slopes are written with these
functions, whose rules are here too."""
from scipy import stats

from .. import runtime as rt
from . import adjoint_rule, bar, dot, tangent_rule

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
