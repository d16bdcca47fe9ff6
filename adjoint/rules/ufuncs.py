"""Rules of the elementwise NumPy functions."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, nondifferentiable


@adjoint_rule(np.sin)
def sin_adjoint(z, x):
    bar[x] = bar[z] * np.cos(x)


@adjoint_rule(np.cos)
def cos_adjoint(z, x):
    bar[x] = -bar[z] * np.sin(x)


@adjoint_rule(np.tan)
def tan_adjoint(z, x):
    bar[x] = bar[z] * (1.0 + z * z)


@adjoint_rule(np.arcsin)
def arcsin_adjoint(z, x):
    bar[x] = bar[z] / np.sqrt(1.0 - x * x)


@adjoint_rule(np.arccos)
def arccos_adjoint(z, x):
    bar[x] = -bar[z] / np.sqrt(1.0 - x * x)


@adjoint_rule(np.arctan)
def arctan_adjoint(z, x):
    bar[x] = bar[z] / (1.0 + x * x)


@adjoint_rule(np.arctan2)
def arctan2_adjoint(z, x1, x2):
    bar[x1] = rt.unbroadcast(bar[z] * x2 / (x1 * x1 + x2 * x2), x1)
    bar[x2] = rt.unbroadcast(-bar[z] * x1 / (x1 * x1 + x2 * x2), x2)


@adjoint_rule(np.sinh)
def sinh_adjoint(z, x):
    bar[x] = bar[z] * np.cosh(x)


@adjoint_rule(np.cosh)
def cosh_adjoint(z, x):
    bar[x] = bar[z] * np.sinh(x)


@adjoint_rule(np.tanh)
def tanh_adjoint(z, x):
    bar[x] = bar[z] * (1.0 - z * z)


@adjoint_rule(np.exp)
def exp_adjoint(z, x):
    bar[x] = bar[z] * z


@adjoint_rule(np.exp2)
def exp2_adjoint(z, x):
    bar[x] = bar[z] * z * np.log(2.0)


@adjoint_rule(np.log)
def log_adjoint(z, x):
    bar[x] = bar[z] / x


@adjoint_rule(np.log2)
def log2_adjoint(z, x):
    bar[x] = bar[z] / (x * np.log(2.0))


@adjoint_rule(np.log10)
def log10_adjoint(z, x):
    bar[x] = bar[z] / (x * np.log(10.0))


@adjoint_rule(np.log1p)
def log1p_adjoint(z, x):
    bar[x] = bar[z] / (1.0 + x)


@adjoint_rule(np.expm1)
def expm1_adjoint(z, x):
    bar[x] = bar[z] * (z + 1.0)


@adjoint_rule(np.sqrt)
def sqrt_adjoint(z, x):
    bar[x] = bar[z] / (2.0 * z)


@adjoint_rule(np.square)
def square_adjoint(z, x):
    bar[x] = bar[z] * (2.0 * x)


@adjoint_rule(np.reciprocal)
def reciprocal_adjoint(z, x):
    bar[x] = -bar[z] * (z * z)


@adjoint_rule(np.abs, abs)
def abs_adjoint(z, x):
    bar[x] = bar[z] * np.sign(x)


@adjoint_rule(np.maximum)
def maximum_adjoint(z, x1, x2):
    bar[x1] = rt.unbroadcast(bar[z] * rt.balanced_eq(x1, z, x2), x1)
    bar[x2] = rt.unbroadcast(bar[z] * rt.balanced_eq(x2, z, x1), x2)


@adjoint_rule(np.minimum)
def minimum_adjoint(z, x1, x2):
    bar[x1] = rt.unbroadcast(bar[z] * rt.balanced_eq(x1, z, x2), x1)
    bar[x2] = rt.unbroadcast(bar[z] * rt.balanced_eq(x2, z, x1), x2)


@adjoint_rule(np.clip)
def clip_adjoint(z, a, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 (NumPy's names)
    # np.clip is np.minimum(np.maximum(a, a_min), a_max): ties share as those do.
    bar[a] = rt.unbroadcast(bar[z] * rt.clip_wrt_a(a, z, a_min, a_max, min=min, max=max), a)
    bar[a_min] = rt.unbroadcast(bar[z] * rt.clip_wrt_min(a, z, a_min, a_max, min=min, max=max), a_min)
    bar[a_max] = rt.unbroadcast(bar[z] * rt.clip_wrt_max(a, z, a_min, a_max, min=min, max=max), a_max)
    bar[min] = rt.unbroadcast(bar[z] * rt.clip_wrt_min(a, z, a_min, a_max, min=min, max=max), min)
    bar[max] = rt.unbroadcast(bar[z] * rt.clip_wrt_max(a, z, a_min, a_max, min=min, max=max), max)


@adjoint_rule(np.where)
def where_adjoint(z, condition, x, y):
    bar[x] = rt.unbroadcast(np.where(condition, bar[z], 0.0), x)
    bar[y] = rt.unbroadcast(np.where(condition, 0.0, bar[z]), y)


nondifferentiable(
    np.sign, np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix,
    np.isnan, np.isinf, np.isfinite, np.signbit,
)
