"""Rules of the arithmetic operators (``+ - * / ** @``, unary ``-``) and the
comparisons, which carry no derivative. Operators map to the NumPy ufuncs
they call (``a * b`` is ``np.multiply(a, b)``)."""
import operator

import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, dot, elementwise_helpers, nondifferentiable, tangent_rule


@adjoint_rule(np.add)
def add_adjoint(z, x1, x2):
    bar[x1] = rt.unbroadcast(bar[z], x1)
    bar[x2] = rt.unbroadcast(bar[z], x2)


@tangent_rule(np.add, elementwise=True)
def add_tangent(z, x1, x2):
    dot[z] = dot[x1]
    dot[z] = dot[x2]


@adjoint_rule(np.subtract)
def subtract_adjoint(z, x1, x2):
    bar[x1] = rt.unbroadcast(bar[z], x1)
    bar[x2] = rt.unbroadcast(-bar[z], x2)


@tangent_rule(np.subtract, elementwise=True)
def subtract_tangent(z, x1, x2):
    dot[z] = dot[x1]
    dot[z] = -dot[x2]


# (rt.vmultiply_shared is np.multiply as batched code writes a shared value
# times a batched one: batched code differentiated again, vmap(jacrev(f))
# transformed once more, has the same rules)
@adjoint_rule(np.multiply, rt.vmultiply_shared)
def multiply_adjoint(z, x1, x2):
    bar[x1] = rt.unbroadcast(bar[z] * x2, x1)
    bar[x2] = rt.unbroadcast(bar[z] * x1, x2)


@tangent_rule(np.multiply, rt.vmultiply_shared, elementwise=True)
def multiply_tangent(z, x1, x2):
    dot[z] = dot[x1] * x2
    dot[z] = x1 * dot[x2]


elementwise_helpers(rt.vmultiply_shared)


@adjoint_rule(np.divide)
def divide_adjoint(z, x1, x2):
    # Guarded where x2 is 0 (1 / x at 0): a zero cotangent gives 0 there.
    bar[x1] = rt.unbroadcast(rt.times_tangent(bar[z], 1.0 / x2), x1)
    bar[x2] = rt.unbroadcast(rt.times_tangent(bar[z], -z / x2), x2)


@tangent_rule(np.divide, elementwise=True)
def divide_tangent(z, x1, x2):
    dot[z] = rt.times_tangent(dot[x1], 1.0 / x2)
    dot[z] = rt.times_tangent(dot[x2], -z / x2)


@adjoint_rule(np.negative)
def negative_adjoint(z, x):
    bar[x] = -bar[z]


@tangent_rule(np.negative, elementwise=True)
def negative_tangent(z, x):
    dot[z] = -dot[x]


@adjoint_rule(np.positive)
def positive_adjoint(z, x):
    bar[x] = bar[z]


@tangent_rule(np.positive, elementwise=True)
def positive_tangent(z, x):
    dot[z] = dot[x]


# x ** 0 is 1 for every x, 0 included: its slope is 0, not 0 * 0 ** -1 (nan).
# The slope x2 * x1 ** (x2 - 1) is written with x2 as a guarded factor: 0
# where x2 is 0, whatever x1 ** -1 is, and its derivative in x2 there is still
# x1 ** -1 (the mixed second derivative of x1 ** x2 at x2 = 0; an np.where
# picking the exponent 1 there lost it). For a literal x2 the optimizer folds
# the exponent and drops the guards of a polynomial: x ** 3 still gives 3 * x ** 2.
@adjoint_rule(np.power)
def power_adjoint(z, x1, x2):
    # x2 guards the partial x1 ** (x2 - 1) itself (the slope is 0 where x2 is 0),
    # not the cotangent: a cotangent that is 0 because a slope before it is 0
    # (np.sqrt(x) ** 2 at 0, where the one after is infinite) still meets the
    # infinite slope, 0 * inf = NaN, as in forward mode. A whole power folds
    # to g * (2 * x), which the backward pass fuses with the scalings around it.
    bar[x1] = rt.unbroadcast(rt.times_tangent(bar[z], rt.times_tangent(x2, x1 ** (x2 - 1))), x1)
    bar[x2] = rt.unbroadcast(rt.times_tangent(bar[z], z * rt.log_base(x1)), x2)


@tangent_rule(np.power, elementwise=True)
def power_tangent(z, x1, x2):
    # A zero tangent contributes 0 even where the partial is inf or nan (0 ** -0.5,
    # log of a negative base at an integer exponent): in forward mode over generated
    # reverse code an exponent saved as a residual has a zero tangent, and 0 * nan
    # would otherwise poison a whole Hessian row.
    dot[z] = rt.times_tangent(dot[x1], rt.times_tangent(x2, x1 ** (x2 - 1)))
    dot[z] = rt.times_tangent(dot[x2], (z * rt.log_base(x1)))


@adjoint_rule(np.mod)
def mod_adjoint(z, x1, x2):
    bar[x1] = rt.unbroadcast(bar[z], x1)
    bar[x2] = rt.unbroadcast(-bar[z] * np.floor_divide(x1, x2), x2)


@tangent_rule(np.mod, elementwise=True)
def mod_tangent(z, x1, x2):
    dot[z] = dot[x1]
    dot[z] = -dot[x2] * np.floor_divide(x1, x2)


nondifferentiable(
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.floor_divide, np.invert, np.bitwise_and, np.bitwise_or, np.bitwise_xor,
    operator.not_, operator.contains,
)
