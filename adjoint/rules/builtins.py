"""Rules of Python's own functions on numbers and lists: ``sum``, ``max`` and
``min`` over a list (or over several arguments), ``abs``, ``float`` and the
``math`` module's functions of one or two real numbers. The ``math``
functions share the templates of their NumPy twins."""
import builtins
import math

import numpy as np

from .. import runtime as rt
from . import ADJOINT_RULES, adjoint_rule, bar, nondifferentiable


@adjoint_rule(builtins.sum, sequences=True)
def sum_of_items_adjoint(z, iterable, start=0):
    bar[iterable] = rt.sum_of_items_adjoint(bar[z], iterable)
    bar[start] = rt.unbroadcast(bar[z], start)


@adjoint_rule(builtins.max, builtins.min, sequences=True)
def extremum_of_items_adjoint(z, iterable):
    bar[iterable] = rt.extremum_of_items_adjoint(bar[z], iterable, z)


@adjoint_rule(list, tuple, sequences=True)
def sequence_adjoint(z, iterable):
    bar[iterable] = rt.sequence_adjoint(bar[z], iterable)


@adjoint_rule(dict)
def mapping_adjoint(z, mapping):
    bar[mapping] = rt.mapping_adjoint(bar[z], mapping)


MATH_TWINS = {
    math.sin: np.sin, math.cos: np.cos, math.tan: np.tan, math.asin: np.arcsin,
    math.acos: np.arccos, math.atan: np.arctan, math.sinh: np.sinh, math.cosh: np.cosh,
    math.tanh: np.tanh, math.exp: np.exp, math.log: np.log, math.log2: np.log2,
    math.log10: np.log10, math.log1p: np.log1p, math.expm1: np.expm1, math.sqrt: np.sqrt,
    math.fabs: np.abs, math.pow: np.power, math.atan2: np.arctan2, math.hypot: np.hypot,
}
for math_function, numpy_function in MATH_TWINS.items():
    ADJOINT_RULES[math_function] = ADJOINT_RULES[numpy_function]

nondifferentiable(
    math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite, math.copysign,
)
