"""Rules of the elementwise NumPy functions."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, dot, elementwise_helpers, nondifferentiable, tangent_rule


@adjoint_rule(np.sin)
def sin_adjoint(z, x):
    bar[x] = bar[z] * np.cos(x)


@tangent_rule(np.sin, elementwise=True)
def sin_tangent(z, x):
    dot[z] = dot[x] * np.cos(x)


@adjoint_rule(np.cos)
def cos_adjoint(z, x):
    bar[x] = -bar[z] * np.sin(x)


@tangent_rule(np.cos, elementwise=True)
def cos_tangent(z, x):
    dot[z] = dot[x] * -np.sin(x)


@adjoint_rule(np.tan)
def tan_adjoint(z, x):
    bar[x] = bar[z] * (1.0 + z * z)


@tangent_rule(np.tan, elementwise=True)
def tan_tangent(z, x):
    dot[z] = dot[x] * (1.0 + z * z)


@adjoint_rule(np.arcsin)
def arcsin_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], 1.0 / np.sqrt(1.0 - x * x))


# Rules whose slope can be infinite (arcsin and arccos at +-1, the logarithms
# at 0, sqrt and cbrt at 0, ...) guard their product: a tangent that is an exact
# zero there gives an exact zero (an element of x that the direction does not
# move, as in the other columns of jacfwd's identity basis), where 0 * inf would
# be NaN; a nonzero tangent still meets the infinite slope. This is the forward
# counterpart of reverse mode's masked cotangents (runtime/masked_bars.py), and
# as np.power's rule does. Rules whose slope is finite wherever the function is
# (sin, exp, ...) stay plain products: the guard costs two passes over the
# batched tangent.
@tangent_rule(np.arcsin, elementwise=True)
def arcsin_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 1.0 / (np.sqrt(1.0 - x * x)))


@adjoint_rule(np.arccos)
def arccos_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], -1.0 / np.sqrt(1.0 - x * x))


@tangent_rule(np.arccos, elementwise=True)
def arccos_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], (-1.0 / np.sqrt(1.0 - x * x)))


@adjoint_rule(np.arctan)
def arctan_adjoint(z, x):
    bar[x] = bar[z] / (1.0 + x * x)


@tangent_rule(np.arctan, elementwise=True)
def arctan_tangent(z, x):
    dot[z] = dot[x] / (1.0 + x * x)


@adjoint_rule(np.arctan2)
def arctan2_adjoint(z, x1, x2):
    # Undefined (0 / 0) at the origin.
    bar[x1] = rt.unbroadcast(rt.times_tangent(bar[z], x2 / (x1 * x1 + x2 * x2)), x1)
    bar[x2] = rt.unbroadcast(rt.times_tangent(bar[z], -x1 / (x1 * x1 + x2 * x2)), x2)


@tangent_rule(np.arctan2, elementwise=True)
def arctan2_tangent(z, x1, x2):
    r2 = x1 * x1 + x2 * x2
    dot[z] = rt.times_tangent(dot[x1], (x2 / r2))
    dot[z] = rt.times_tangent(dot[x2], (-x1 / r2))


@adjoint_rule(np.sinh)
def sinh_adjoint(z, x):
    bar[x] = bar[z] * np.cosh(x)


@tangent_rule(np.sinh, elementwise=True)
def sinh_tangent(z, x):
    dot[z] = dot[x] * np.cosh(x)


@adjoint_rule(np.cosh)
def cosh_adjoint(z, x):
    bar[x] = bar[z] * np.sinh(x)


@tangent_rule(np.cosh, elementwise=True)
def cosh_tangent(z, x):
    dot[z] = dot[x] * np.sinh(x)


@adjoint_rule(np.tanh)
def tanh_adjoint(z, x):
    bar[x] = bar[z] * (1.0 - z * z)


@tangent_rule(np.tanh, elementwise=True)
def tanh_tangent(z, x):
    dot[z] = dot[x] * (1.0 - z * z)


@adjoint_rule(np.exp)
def exp_adjoint(z, x):
    bar[x] = bar[z] * z


@tangent_rule(np.exp, elementwise=True)
def exp_tangent(z, x):
    dot[z] = dot[x] * z


@adjoint_rule(np.exp2)
def exp2_adjoint(z, x):
    bar[x] = bar[z] * z * np.log(2.0)


@tangent_rule(np.exp2, elementwise=True)
def exp2_tangent(z, x):
    dot[z] = dot[x] * (z * np.log(2.0))


@adjoint_rule(np.log)
def log_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], 1.0 / x)


@tangent_rule(np.log, elementwise=True)
def log_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 1.0 / (x))


@adjoint_rule(np.log2)
def log2_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], 1.0 / (x * np.log(2.0)))


@tangent_rule(np.log2, elementwise=True)
def log2_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 1.0 / ((x * np.log(2.0))))


@adjoint_rule(np.log10)
def log10_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], 1.0 / (x * np.log(10.0)))


@tangent_rule(np.log10, elementwise=True)
def log10_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 1.0 / ((x * np.log(10.0))))


@adjoint_rule(np.log1p)
def log1p_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], 1.0 / (1.0 + x))


@tangent_rule(np.log1p, elementwise=True)
def log1p_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 1.0 / ((1.0 + x)))


@adjoint_rule(np.expm1)
def expm1_adjoint(z, x):
    bar[x] = bar[z] * (z + 1.0)


@tangent_rule(np.expm1, elementwise=True)
def expm1_tangent(z, x):
    dot[z] = dot[x] * (z + 1.0)


@adjoint_rule(np.sqrt)
def sqrt_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], 1.0 / (2.0 * z))


@tangent_rule(np.sqrt, elementwise=True)
def sqrt_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 1.0 / ((2.0 * z)))


@adjoint_rule(np.square)
def square_adjoint(z, x):
    bar[x] = bar[z] * (2.0 * x)


@tangent_rule(np.square, elementwise=True)
def square_tangent(z, x):
    dot[z] = dot[x] * (2.0 * x)


# The slope -z * z, written -1 / (x * x): the optimizer drops the guard of a
# polynomial partial (finite where its inputs are), and z is inf at x = 0.
@adjoint_rule(np.reciprocal)
def reciprocal_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], -1.0 / (x * x))


@tangent_rule(np.reciprocal, elementwise=True)
def reciprocal_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], -1.0 / (x * x))


# np.abs (abs, np.fabs): its rules are with those of complex values (rules/fft.py).


@adjoint_rule(np.arcsinh)
def arcsinh_adjoint(z, x):
    bar[x] = bar[z] / np.sqrt(x * x + 1.0)


@tangent_rule(np.arcsinh, elementwise=True)
def arcsinh_tangent(z, x):
    dot[z] = dot[x] / np.sqrt(x * x + 1.0)


@adjoint_rule(np.arccosh)
def arccosh_adjoint(z, x):
    # Defined for x >= 1; infinite at x = 1, as the function's slope is.
    bar[x] = rt.times_tangent(bar[z], 1.0 / np.sqrt(x * x - 1.0))


@tangent_rule(np.arccosh, elementwise=True)
def arccosh_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 1.0 / (np.sqrt(x * x - 1.0)))


@adjoint_rule(np.arctanh)
def arctanh_adjoint(z, x):
    bar[x] = rt.times_tangent(bar[z], 1.0 / (1.0 - x * x))


@tangent_rule(np.arctanh, elementwise=True)
def arctanh_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 1.0 / ((1.0 - x * x)))


@adjoint_rule(np.deg2rad, np.radians)
def deg2rad_adjoint(z, x):
    bar[x] = bar[z] * (np.pi / 180.0)


@tangent_rule(np.deg2rad, np.radians, elementwise=True)
def deg2rad_tangent(z, x):
    dot[z] = dot[x] * (np.pi / 180.0)


@adjoint_rule(np.rad2deg, np.degrees)
def rad2deg_adjoint(z, x):
    bar[x] = bar[z] * (180.0 / np.pi)


@tangent_rule(np.rad2deg, np.degrees, elementwise=True)
def rad2deg_tangent(z, x):
    dot[z] = dot[x] * (180.0 / np.pi)


@adjoint_rule(np.cbrt)
def cbrt_adjoint(z, x):
    # Infinite at x = 0, where the cube root is vertical.
    bar[x] = rt.times_tangent(bar[z], 1.0 / (3.0 * z * z))


@tangent_rule(np.cbrt, elementwise=True)
def cbrt_tangent(z, x):
    dot[z] = rt.times_tangent(dot[x], 1.0 / ((3.0 * z * z)))


@adjoint_rule(np.sinc)
def sinc_adjoint(z, x):
    # sinc(x) = sin(pi x) / (pi x), 1 at 0 with slope 0 there (a series near 0).
    bar[x] = bar[z] * rt.sinc_derivative(x, z)


@tangent_rule(np.sinc, elementwise=True)
def sinc_tangent(z, x):
    dot[z] = dot[x] * rt.sinc_derivative(x, z)


@adjoint_rule(np.logaddexp)
def logaddexp_adjoint(z, x1, x2):
    # z = log(exp(x1) + exp(x2)): the slopes exp(x1 - z) and exp(x2 - z) are the
    # softmax weights of the two inputs, never overflowing.
    bar[x1] = rt.unbroadcast(bar[z] * np.exp(x1 - z), x1)
    bar[x2] = rt.unbroadcast(bar[z] * np.exp(x2 - z), x2)


@tangent_rule(np.logaddexp, elementwise=True)
def logaddexp_tangent(z, x1, x2):
    dot[z] = dot[x1] * np.exp(x1 - z)
    dot[z] = dot[x2] * np.exp(x2 - z)


@adjoint_rule(np.logaddexp2)
def logaddexp2_adjoint(z, x1, x2):
    # z = log2(2 ** x1 + 2 ** x2): the slopes are 2 ** (x1 - z) and 2 ** (x2 - z).
    bar[x1] = rt.unbroadcast(bar[z] * np.exp2(x1 - z), x1)
    bar[x2] = rt.unbroadcast(bar[z] * np.exp2(x2 - z), x2)


@tangent_rule(np.logaddexp2, elementwise=True)
def logaddexp2_tangent(z, x1, x2):
    dot[z] = dot[x1] * np.exp2(x1 - z)
    dot[z] = dot[x2] * np.exp2(x2 - z)


@adjoint_rule(np.hypot)
def hypot_adjoint(z, x1, x2):
    # Undefined (nan) where both inputs are 0, the tip of the cone.
    bar[x1] = rt.unbroadcast(rt.times_tangent(bar[z], x1 / z), x1)
    bar[x2] = rt.unbroadcast(rt.times_tangent(bar[z], x2 / z), x2)


@tangent_rule(np.hypot, elementwise=True)
def hypot_tangent(z, x1, x2):
    dot[z] = rt.times_tangent(dot[x1], (x1 / z))
    dot[z] = rt.times_tangent(dot[x2], (x2 / z))


@adjoint_rule(np.copysign)
def copysign_adjoint(z, x1, x2):
    # |x1| with x2's sign: slope +1 or -1 in x1 (one-sided at x1 = 0, where the
    # sign bit of 0.0 or -0.0 decides), and 0 in x2 wherever it is defined.
    bar[x1] = rt.unbroadcast(bar[z] * rt.copysign_factor(x1, x2), x1)
    bar[x2] = rt.zeros_bar(x2, rt.batch_size(bar[z]))


# x2 only chooses the sign: its tangent contributes nothing.
@tangent_rule(np.copysign, elementwise=True, constant=("x2",))
def copysign_tangent(z, x1, x2):
    dot[z] = dot[x1] * rt.copysign_factor(x1, x2)


@adjoint_rule(np.fmod)
def fmod_adjoint(z, x1, x2):
    # fmod(x1, x2) = x1 - x2 * trunc(x1 / x2): like %, with the quotient
    # rounded toward zero; the jumps where x1 / x2 is an integer have no slope.
    bar[x1] = rt.unbroadcast(bar[z], x1)
    bar[x2] = rt.unbroadcast(-bar[z] * rt.fmod_quotient(x1, x2, z), x2)


@tangent_rule(np.fmod, elementwise=True)
def fmod_tangent(z, x1, x2):
    dot[z] = dot[x1]
    dot[z] = dot[x2] * -rt.fmod_quotient(x1, x2, z)


@adjoint_rule(np.float_power)
def float_power_adjoint(z, x1, x2):
    # As np.power (x ** 0 has slope 0 at x = 0), in float64.
    bar[x1] = rt.unbroadcast(rt.times_tangent(bar[z], rt.times_tangent(x2, np.float_power(x1, x2 - 1))), x1)
    bar[x2] = rt.unbroadcast(rt.times_tangent(bar[z], z * rt.log_base(x1)), x2)


@tangent_rule(np.float_power, elementwise=True)
def float_power_tangent(z, x1, x2):
    # As np.power: a zero tangent contributes 0 even where the partial is inf or nan.
    dot[z] = rt.times_tangent(dot[x1], rt.times_tangent(x2, np.float_power(x1, x2 - 1)))
    dot[z] = rt.times_tangent(dot[x2], (z * rt.log_base(x1)))


@adjoint_rule(np.maximum)
def maximum_adjoint(z, x1, x2):
    bar[x1] = rt.unbroadcast(bar[z] * rt.balanced_eq(x1, z, x2), x1)
    bar[x2] = rt.unbroadcast(bar[z] * rt.balanced_eq(x2, z, x1), x2)


@tangent_rule(np.maximum, elementwise=True)
def maximum_tangent(z, x1, x2):
    dot[z] = dot[x1] * rt.balanced_eq(x1, z, x2)
    dot[z] = dot[x2] * rt.balanced_eq(x2, z, x1)


@adjoint_rule(np.minimum)
def minimum_adjoint(z, x1, x2):
    bar[x1] = rt.unbroadcast(bar[z] * rt.balanced_eq(x1, z, x2), x1)
    bar[x2] = rt.unbroadcast(bar[z] * rt.balanced_eq(x2, z, x1), x2)


@tangent_rule(np.minimum, elementwise=True)
def minimum_tangent(z, x1, x2):
    dot[z] = dot[x1] * rt.balanced_eq(x1, z, x2)
    dot[z] = dot[x2] * rt.balanced_eq(x2, z, x1)


# NaN-ignoring: where one input is NaN the other is the result and gets the
# derivative; where both are, NumPy returns the first.
@adjoint_rule(np.fmax, np.fmin)
def fmax_adjoint(z, x1, x2):
    bar[x1] = rt.unbroadcast(bar[z] * rt.fmax_factor(x1, z, x2, first=True), x1)
    bar[x2] = rt.unbroadcast(bar[z] * rt.fmax_factor(x2, z, x1), x2)


@tangent_rule(np.fmax, np.fmin, elementwise=True)
def fmax_tangent(z, x1, x2):
    dot[z] = dot[x1] * rt.fmax_factor(x1, z, x2, first=True)
    dot[z] = dot[x2] * rt.fmax_factor(x2, z, x1)


# Slope 1 where x is finite, 0 where NumPy replaced it; the replacements are
# constants. copy=False (which writes into x) is not accepted. Selected with
# np.where, not scaled by the boolean mask: a boolean factor does not survive
# the arithmetic generated code does on factors (-mask raises, mask + mask is
# logical or). Where NumPy replaced x there is no cotangent (rt.masked_bar):
# the rule before, often of infinite slope there (np.log at 0), pulls it back
# to 0, not 0 * inf = NaN, as forward mode's tangent, masked last, is 0.
@adjoint_rule(np.nan_to_num)
def nan_to_num_adjoint(z, x, *, nan=0.0, posinf=None, neginf=None):
    bar[x] = rt.masked_bar(bar[z], np.isfinite(x))


@tangent_rule(np.nan_to_num, elementwise=True)
def nan_to_num_tangent(z, x, *, nan=0.0, posinf=None, neginf=None):
    dot[z] = np.where(np.isfinite(x), dot[x], 0.0)


@adjoint_rule(np.clip)
def clip_adjoint(z, a, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 (NumPy's names)
    # np.clip is np.minimum(np.maximum(a, a_min), a_max): ties share as those do.
    bar[a] = rt.unbroadcast(bar[z] * rt.clip_wrt_a(a, z, a_min, a_max, min=min, max=max), a)
    bar[a_min] = rt.unbroadcast(bar[z] * rt.clip_wrt_min(a, z, a_min, a_max, min=min, max=max), a_min)
    bar[a_max] = rt.unbroadcast(bar[z] * rt.clip_wrt_max(a, z, a_min, a_max, min=min, max=max), a_max)
    bar[min] = rt.unbroadcast(bar[z] * rt.clip_wrt_min(a, z, a_min, a_max, min=min, max=max), min)
    bar[max] = rt.unbroadcast(bar[z] * rt.clip_wrt_max(a, z, a_min, a_max, min=min, max=max), max)


# The slopes of np.clip are elementwise in all their arrays: vmap aligns them (one call for the batch).
elementwise_helpers(rt.clip_wrt_a, rt.clip_wrt_min, rt.clip_wrt_max)


@tangent_rule(np.clip, elementwise=True)
def clip_tangent(z, a, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 (NumPy's names)
    dot[z] = dot[a] * rt.clip_wrt_a(a, z, a_min, a_max, min=min, max=max)
    dot[z] = dot[a_min] * rt.clip_wrt_min(a, z, a_min, a_max, min=min, max=max)
    dot[z] = dot[a_max] * rt.clip_wrt_max(a, z, a_min, a_max, min=min, max=max)
    dot[z] = dot[min] * rt.clip_wrt_min(a, z, a_min, a_max, min=min, max=max)
    dot[z] = dot[max] * rt.clip_wrt_max(a, z, a_min, a_max, min=min, max=max)


# The condition (a mask, or any array read for its truth) is piecewise constant.
@adjoint_rule(np.where, constant=("condition",))
def where_adjoint(z, condition, x, y):
    bar[x] = rt.unbroadcast(np.where(condition, bar[z], 0.0), x)
    bar[y] = rt.unbroadcast(np.where(condition, 0.0, bar[z]), y)


@tangent_rule(np.where, elementwise=True, constant=("condition",))
def where_tangent(z, condition, x, y):
    dot[z] = np.where(condition, dot[x], 0.0)
    dot[z] = np.where(condition, 0.0, dot[y])


# np.conjugate (np.conj, x.conj()): a real array is its own conjugate.
@adjoint_rule(np.conjugate)
def conjugate_adjoint(z, x):
    bar[x] = np.conjugate(bar[z])


@tangent_rule(np.conjugate, elementwise=True)
def conjugate_tangent(z, x):
    dot[z] = np.conjugate(dot[x])


nondifferentiable(
    np.sign, np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix,
    np.isnan, np.isinf, np.isfinite, np.signbit,
    # A step function: slope 0 everywhere but at 0, where it has none.
    np.heaviside, np.isclose, np.allclose,
)

# np.real, np.imag and np.angle: their rules are with those of complex values (rules/fft.py).


@adjoint_rule(np.real_if_close)
def real_if_close_adjoint(z, a, tol=100):
    bar[a] = bar[z]


# (a complex value with a negligible imaginary part comes out real: its real part)
@tangent_rule(np.real_if_close, elementwise=True)
def real_if_close_tangent(z, a, tol=100):
    dot[z] = rt.real_for(dot[a], z)


# A tangent times a partial, exactly 0 where the tangent is 0 (the guard of the
# rules above where a slope can be infinite): its derivatives keep the
# convention and are exact elsewhere. Along ``t`` the partial where ``t`` is 0
# too (the slope of a tangent that happens to be 0 is not lost: a second
# derivative of sqrt(x * x + 1) at 0); along ``partial``, 0 where ``t`` is 0.
@adjoint_rule(rt.times_tangent)
def times_tangent_adjoint(z, t, partial):
    bar[t] = rt.unbroadcast(rt.times_tangent(bar[z], partial), t)
    bar[partial] = rt.unbroadcast(rt.times_tangent(t, bar[z]), partial)


@tangent_rule(rt.times_tangent, elementwise=True)
def times_tangent_tangent(z, t, partial):
    dot[z] = rt.times_tangent(dot[t], partial)
    dot[z] = rt.times_tangent(t, dot[partial])


elementwise_helpers(rt.times_tangent)
