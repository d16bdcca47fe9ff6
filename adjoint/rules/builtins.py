"""Rules of Python's own functions on numbers and lists: ``sum``, ``max`` and
``min`` over a list (or over several arguments), ``abs``, ``float`` and the
``math`` module's functions of one or two real numbers. The ``math``
functions share the templates (adjoint and tangent) of their NumPy twins."""
import builtins
import math

import numpy as np

from .. import runtime as rt
from . import (ADJOINT_RULES, ELEMENTWISE_TANGENTS, SEQUENCE_RULES, TANGENT_RULES, adjoint_rule, bar,
               batch_rule, dot, nondifferentiable, tangent_rule, vec)


@adjoint_rule(builtins.sum, sequences=True)
def sum_of_items_adjoint(z, iterable, start=0):
    bar[iterable] = rt.sum_of_items_adjoint(bar[z], iterable)
    bar[start] = rt.unbroadcast(bar[z], start)


@tangent_rule(builtins.sum)
def sum_of_items_tangent(z, iterable, start=0):
    dot[z] = rt.sum_of_items_tangent(dot[iterable], iterable, z, batch)
    dot[z] = rt.lift(dot[start], z)


# start the same for every example (else once per example).
@batch_rule(builtins.sum)
def sum_of_items_batched(z, iterable, start=0):
    vec[z] = rt.vsum_items(vec[iterable], start)


@adjoint_rule(builtins.max, builtins.min, sequences=True)
def extremum_of_items_adjoint(z, iterable):
    bar[iterable] = rt.extremum_of_items_adjoint(bar[z], iterable, z)


@tangent_rule(builtins.max, builtins.min)
def extremum_of_items_tangent(z, iterable):
    dot[z] = rt.extremum_of_items_tangent(dot[iterable], iterable, z, batch)


@batch_rule(builtins.max)
def max_of_items_batched(z, iterable):
    vec[z] = rt.vextremum_items(vec[iterable], True)


@batch_rule(builtins.min)
def min_of_items_batched(z, iterable):
    vec[z] = rt.vextremum_items(vec[iterable], False)


@adjoint_rule(list, tuple, sequences=True)
def sequence_adjoint(z, iterable):
    bar[iterable] = rt.sequence_adjoint(bar[z], iterable)


@tangent_rule(list, tuple)
def sequence_tangent(z, iterable):
    dot[z] = rt.sequence_tangent(dot[iterable], iterable, z)


@batch_rule(list)
def list_batched(z, iterable):
    vec[z] = rt.vsequence(vec[iterable], list)


@batch_rule(tuple)
def tuple_batched(z, iterable):
    vec[z] = rt.vsequence(vec[iterable], tuple)


@adjoint_rule(dict)
def mapping_adjoint(z, mapping):
    bar[mapping] = rt.mapping_adjoint(bar[z], mapping)


@tangent_rule(dict)
def mapping_tangent(z, mapping):
    dot[z] = rt.mapping_tangent(dot[mapping], mapping)


# A dict of batched values (or pairs of a key and a batched value) as it is.
@batch_rule(dict)
def mapping_batched(z, mapping):
    vec[z] = dict(vec[mapping])


# The helpers these tangent rules call are linear in their tangent argument
# (the items and the result are read for their shapes and for which item won),
# so forward code that calls them transforms again (jacfwd(jacfwd(f))).
@tangent_rule(rt.sum_of_items_tangent, constant=("items", "z", "rows"))
def sum_of_items_tangent_tangent(r, t, items, z, rows=None):
    dot[r] = rt.sum_of_items_tangent_tangent(dot[t], items, z, rows)


@batch_rule(rt.sum_of_items_tangent)
def sum_of_items_tangent_batched(z, t, items, result, rows=None):
    vec[z] = rt.vsum_of_items_tangent(batch, vec[t], vec[items], vec[result], rows)


@tangent_rule(rt.extremum_of_items_tangent, constant=("items", "z", "rows"))
def extremum_of_items_tangent_tangent(r, t, items, z, rows=None):
    dot[r] = rt.extremum_of_items_tangent_tangent(dot[t], items, z, rows)


@batch_rule(rt.extremum_of_items_tangent)
def extremum_of_items_tangent_batched(r, t, items, z, rows=None):
    vec[r] = rt.vextremum_of_items_tangent(vec[t], vec[items], vec[z], rows)


# Fourth order: their tangents, linear in the tangent of tangents too.
@tangent_rule(rt.sum_of_items_tangent_tangent, constant=("items", "z", "rows"))
def sum_of_items_tangent_tangent_tangent(r, tt, items, z, rows=None):
    dot[r] = rt.merged_items(rt.sum_of_items_tangent_tangent, dot[tt], items, z, rows)


@tangent_rule(rt.extremum_of_items_tangent_tangent, constant=("items", "z", "rows"))
def extremum_of_items_tangent_tangent_tangent(r, tt, items, z, rows=None):
    dot[r] = rt.merged_items(rt.extremum_of_items_tangent_tangent, dot[tt], items, z, rows)


@tangent_rule(rt.sequence_tangent, constant=("items", "z"))
def sequence_tangent_tangent(r, t, items, z):
    dot[r] = rt.merged_items(rt.sequence_tangent, dot[t], items, z)


@batch_rule(rt.sequence_tangent)
def sequence_tangent_batched(z, t, items, result):
    vec[z] = rt.vmerged_where_shared(batch, rt.sequence_tangent, vec[t], (vec[items], vec[result]), (False, False))


@tangent_rule(rt.mapping_tangent, constant=("mapping",))
def mapping_tangent_tangent(r, t, mapping):
    dot[r] = rt.merged_items(rt.mapping_tangent, dot[t], mapping)


# Their tangent argument is a list or tuple of tangents, taken item by item
# (not stacked into one array as for a list NumPy reads as an array).
SEQUENCE_RULES.update({rt.sum_of_items_tangent, rt.extremum_of_items_tangent, rt.sequence_tangent,
                       rt.sum_of_items_tangent_tangent, rt.extremum_of_items_tangent_tangent})


MATH_TWINS = {
    math.sin: np.sin, math.cos: np.cos, math.tan: np.tan, math.asin: np.arcsin,
    math.acos: np.arccos, math.atan: np.arctan, math.sinh: np.sinh, math.cosh: np.cosh,
    math.tanh: np.tanh, math.exp: np.exp, math.log: np.log, math.log2: np.log2,
    math.log10: np.log10, math.log1p: np.log1p, math.expm1: np.expm1, math.sqrt: np.sqrt,
    math.fabs: np.abs, math.pow: np.power, math.atan2: np.arctan2, math.hypot: np.hypot,
}
for math_function, numpy_function in MATH_TWINS.items():
    ADJOINT_RULES[math_function] = ADJOINT_RULES[numpy_function]
    TANGENT_RULES[math_function] = TANGENT_RULES[numpy_function]
    if numpy_function in ELEMENTWISE_TANGENTS:
        ELEMENTWISE_TANGENTS.add(math_function)

nondifferentiable(
    math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite, math.copysign,
)

# np.int64(x) and the other integer and bool scalar types: an integer value
# (an index, a count) has no derivative, as int(x) and x.astype(np.int64)
nondifferentiable(
    np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.intp, np.uintp,
    np.bool_,
)

# tests of a value's kind: a bool (array), no derivative
nondifferentiable(np.iscomplex, np.isreal, np.iscomplexobj, np.isrealobj)
