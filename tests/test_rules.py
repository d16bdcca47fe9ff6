"""Every built-in adjoint rule, checked by a table of cases.

A row names the registered primitive it exercises, a function that reaches
it (by a call, an operator, a method or plain syntax), the shapes of the
function's arguments and the interval their values are drawn from. Each row
is checked with the adjoint identity and against a finite-difference
Jacobian (``checker``), and against autograd where autograd has the
operation. ``test_every_rule_has_a_row`` keeps the table covering the
registry, and ``test_row_reaches_its_primitive`` keeps each row honest about
the primitive it claims.

Functions are lambdas, one per line, or closures made by the factories
below: adjoint reads their source.
"""
import inspect
import types
import zlib
import builtins
import math
from collections import namedtuple
from dataclasses import dataclass

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from adjoint import runtime as rt
from adjoint.rules import ADJOINT_RULES, TANGENT_RULES
from checker import check_jacobian, check_vjp

WIDE = (-2.0, 2.0)
POSITIVE = (0.2, 3.0)
UNIT = (-0.9, 0.9)
AWAY_FROM_ZERO = (0.5, 2.0)


@dataclass
class Row:
    prim: object  # the registry key this row exercises
    label: str
    func: object
    shapes: tuple  # one shape per argument; every argument is differentiated
    domain: object = WIDE  # (low, high) for every argument, or one pair per argument
    autograd: bool = True  # autograd has this operation with the same meaning
    values: tuple = None  # explicit arguments instead of random ones
    skip: str = None  # why the installed NumPy cannot run this row (numpy_before)

    def __post_init__(self):
        if isinstance(self.prim, NotInThisNumPy):
            self.skip = f"{self.prim.name} is not in NumPy {np.__version__} (added in NumPy {self.prim.since})"

    @property
    def id(self):
        if self.values is not None:
            return self.label
        shapes = "-".join("x".join(map(str, shape)) or "0d" for shape in self.shapes)
        return f"{self.label}-{shapes}"

    def arguments(self):
        if self.values is not None:
            return [np.asarray(v, dtype=np.float64) for v in self.values]
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))  # fixed per row, independent of order
        domains = self.domain if isinstance(self.domain[0], tuple) else [self.domain] * len(self.shapes)
        return [rng.uniform(low, high, shape) for shape, (low, high) in zip(self.shapes, domains, strict=True)]


class NotInThisNumPy:
    """Stands for a NumPy function the installed NumPy does not have (no
    rule is registered for it): the rows naming it are skipped."""

    def __init__(self, name, since):
        self.name = name
        self.since = since

    def __repr__(self):
        return f"{self.name} (not in NumPy {np.__version__}; added in NumPy {self.since})"


def numpy_function(name, since):
    """``np.<name>`` if the installed NumPy has it, else a placeholder."""
    found = np
    for part in name.split("."):
        found = getattr(found, part, None)
        if found is None:
            return NotInThisNumPy(f"np.{name}", since)
    return found


def numpy_before(version, what):
    """A skip reason if the installed NumPy is older than ``version``, else None."""
    if np.lib.NumpyVersion(np.__version__) < version:
        return f"{what} needs NumPy {version}; this is NumPy {np.__version__}"
    return None


NUMPY_2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
TRAPEZOID = numpy_function("trapezoid", "2.0")
SVDVALS = numpy_function("linalg.svdvals", "2.0")


def each(prim, label, func, shape_list, **options):
    """One row per entry of ``shape_list`` (tuples of argument shapes)."""
    return [Row(prim, label, func, shapes, **options) for shapes in shape_list]


# ----------------------------------------------------------------- operators

#: every broadcast NumPy allows between two operands, 0-d included.
BROADCASTS = [
    ((3, 4), (3, 4)), ((3, 4), ()), ((), (3, 4)), ((3, 1), (1, 4)),
    ((4,), (3, 4)), ((2, 3, 4), (3, 1)), ((), ()),
]
ONE = [((3, 4),), ((),)]

OPERATOR_ROWS = [
    *each(np.add, "x+y", lambda x, y: x + y, BROADCASTS),
    *each(np.add, "x+float", lambda x: x + 2.5, ONE),
    *each(np.add, "float+x", lambda x: 2.5 + x, ONE),
    *each(np.add, "np.add", lambda x, y: np.add(x, y), BROADCASTS[3:5]),
    *each(np.add, "x+x", lambda x: x + x, ONE),
    *each(np.subtract, "x-y", lambda x, y: x - y, BROADCASTS),
    *each(np.subtract, "x-float", lambda x: x - 2.5, ONE),
    *each(np.subtract, "float-x", lambda x: 2.5 - x, ONE),
    *each(np.subtract, "np.subtract", lambda x, y: np.subtract(x, y), BROADCASTS[3:5]),
    *each(np.multiply, "x*y", lambda x, y: x * y, BROADCASTS),
    *each(np.multiply, "x*float", lambda x: x * 2.5, ONE),
    *each(np.multiply, "float*x", lambda x: 2.5 * x, ONE),
    *each(np.multiply, "np.multiply", lambda x, y: np.multiply(x, y), BROADCASTS[3:5]),
    *each(np.multiply, "x*x", lambda x: x * x, ONE),
    *each(np.divide, "x/y", lambda x, y: x / y, BROADCASTS, domain=(WIDE, AWAY_FROM_ZERO)),
    *each(np.divide, "x/float", lambda x: x / 2.5, ONE),
    *each(np.divide, "float/x", lambda x: 2.5 / x, ONE, domain=AWAY_FROM_ZERO),
    *each(np.divide, "np.divide", lambda x, y: np.divide(x, y), BROADCASTS[3:5], domain=(WIDE, AWAY_FROM_ZERO)),
    *each(np.divide, "x/x", lambda x: x / x, ONE, domain=AWAY_FROM_ZERO),
    *each(np.power, "x**y", lambda x, y: x ** y, BROADCASTS, domain=POSITIVE),
    *each(np.power, "x**float", lambda x: x ** 3.0, ONE),
    *each(np.power, "x**int", lambda x: x ** 2, ONE),
    *each(np.power, "x**half", lambda x: x ** 0.5, ONE, domain=POSITIVE),
    *each(np.power, "float**x", lambda x: 2.0 ** x, ONE),
    *each(np.power, "np.power", lambda x, y: np.power(x, y), BROADCASTS[3:5], domain=POSITIVE),
    *each(np.power, "x**x", lambda x: x ** x, ONE, domain=POSITIVE),
    # x ** 0 is 1 everywhere, 0 included: slope 0 there, not 0 * 0 ** -1 (nan).
    Row(np.power, "x**0-at-zero", lambda x: x ** 0, None, values=([0.0, 1.5, -2.0],)),
    Row(np.power, "np.power(x,0.0)-at-zero", lambda x: np.power(x, 0.0), None, values=([[0.0, 0.7], [-1.2, 0.0]],)),
    Row(np.power, "x**exponents-with-zeros", lambda x: x ** EXPONENTS_WITH_ZEROS, None, values=([0.0, 0.0, -1.5, 0.0],)),
    # one base broadcast over the exponents: a nan at one exponent would reach every row.
    Row(np.power, "x**exponents-broadcast-base", lambda x: x ** EXPONENTS_WITH_ZEROS, None, values=([0.0],)),
    *each(np.negative, "-x", lambda x: -x, ONE),
    *each(np.negative, "np.negative", lambda x: np.negative(x), ONE),
    *each(np.negative, "-(x*y)", lambda x, y: -(x * y), BROADCASTS[3:4]),
    # autograd has no unary + on its boxes and no rule for np.positive.
    *each(np.positive, "+x", lambda x: +x, ONE, autograd=False),
    *each(np.positive, "np.positive", lambda x: np.positive(x), ONE, autograd=False),
    # x / y stays inside (1, 2), away from the jumps of floor(x / y).
    *each(np.mod, "x%y", lambda x, y: x % y, [((3, 4), (3, 4)), ((3, 1), (1, 4))], domain=((2.2, 2.6), (1.5, 2.0))),
    *each(np.mod, "x%float", lambda x: x % 1.0, ONE, domain=(0.1, 0.9)),
    *each(np.mod, "np.mod", lambda x, y: np.mod(x, y), [((3, 4), ())], domain=((2.2, 2.6), (1.5, 2.0))),
]
EXPONENTS_WITH_ZEROS = np.array([0.0, 2.0, 0.0, 3.0])

# ----------------------------------------------------------------- elementwise

UNARY_UFUNC_ROWS = [
    *each(np.sin, "np.sin", lambda x: np.sin(x), ONE),
    *each(np.cos, "np.cos", lambda x: np.cos(x), ONE),
    *each(np.tan, "np.tan", lambda x: np.tan(x), ONE, domain=(-1.2, 1.2)),
    *each(np.arcsin, "np.arcsin", lambda x: np.arcsin(x), ONE, domain=UNIT),
    *each(np.arccos, "np.arccos", lambda x: np.arccos(x), ONE, domain=UNIT),
    *each(np.arctan, "np.arctan", lambda x: np.arctan(x), ONE),
    *each(np.sinh, "np.sinh", lambda x: np.sinh(x), ONE),
    *each(np.cosh, "np.cosh", lambda x: np.cosh(x), ONE),
    *each(np.tanh, "np.tanh", lambda x: np.tanh(x), ONE),
    *each(np.exp, "np.exp", lambda x: np.exp(x), ONE),
    *each(np.exp2, "np.exp2", lambda x: np.exp2(x), ONE),
    *each(np.log, "np.log", lambda x: np.log(x), ONE, domain=POSITIVE),
    *each(np.log2, "np.log2", lambda x: np.log2(x), ONE, domain=POSITIVE),
    *each(np.log10, "np.log10", lambda x: np.log10(x), ONE, domain=POSITIVE),
    *each(np.log1p, "np.log1p", lambda x: np.log1p(x), ONE, domain=(-0.5, 3.0)),
    *each(np.expm1, "np.expm1", lambda x: np.expm1(x), ONE),
    *each(np.sqrt, "np.sqrt", lambda x: np.sqrt(x), ONE, domain=POSITIVE),
    *each(np.square, "np.square", lambda x: np.square(x), ONE),
    *each(np.reciprocal, "np.reciprocal", lambda x: np.reciprocal(x), ONE, domain=AWAY_FROM_ZERO),
    *each(np.abs, "np.abs", lambda x: np.abs(x), ONE),
    *each(np.fabs, "np.fabs", lambda x: np.fabs(x), ONE),
    # of real values: the value itself
    *each(np.real, "np.real", lambda x: np.real(x), ONE),
    *each(np.real_if_close, "np.real_if_close", lambda x: np.real_if_close(x), ONE),
    *each(np.absolute, "np.absolute", lambda x: np.absolute(x), ONE),
    *each(abs, "abs", lambda x: abs(x), ONE),
    *each(np.sin, "np.sin(np.cos)", lambda x: np.sin(np.cos(x)) * np.exp(x), ONE),
]

BINARY_UFUNC_ROWS = [
    *each(np.arctan2, "np.arctan2", lambda x, y: np.arctan2(x, y), BROADCASTS[:5]),
    *each(np.maximum, "np.maximum", lambda x, y: np.maximum(x, y), BROADCASTS),
    *each(np.maximum, "np.maximum-float", lambda x: np.maximum(x, 0.0), ONE),
    *each(np.minimum, "np.minimum", lambda x, y: np.minimum(x, y), BROADCASTS),
    *each(np.minimum, "np.minimum-float", lambda x: np.minimum(0.5, x), ONE),
    *each(np.clip, "np.clip", lambda x: np.clip(x, -0.5, 0.7), ONE),
    *each(np.clip, "np.clip-no-max", lambda x: np.clip(x, -0.5, None), ONE),
    *each(np.clip, "np.clip-no-min", lambda x: np.clip(x, None, 0.7), ONE),
    *each(np.clip, "x.clip", lambda x: x.clip(-0.5, 0.7), ONE),
    # NumPy 2.1 names the bounds min and max (ndarray.clip always did); autograd does not.
    *each(np.clip, "np.clip(min=,max=)", lambda x: np.clip(x, min=-0.5, max=0.7), ONE, autograd=False,
          skip=numpy_before("2.1.0", "np.clip(min=, max=)")),
    *each(np.clip, "x.clip(max=)", lambda x: x.clip(max=0.7), ONE, autograd=False),
    # Differentiated bounds (autograd differentiates clip in its first argument only).
    *each(np.clip, "np.clip(x,lo,float)", lambda x, lo: np.clip(x, lo, 0.9), [((3, 4), ()), ((3, 4), (4,)), ((), ())],
          domain=(WIDE, (-1.0, 0.0)), autograd=False),
    *each(np.clip, "np.clip(x,float,hi)", lambda x, hi: np.clip(x, -0.9, hi), [((3, 4), (3, 1))],
          domain=(WIDE, (0.0, 1.0)), autograd=False),
    *each(np.clip, "np.clip(x,lo,hi)", lambda x, lo, hi: np.clip(x, lo, hi), [((3, 4), (4,), ()), ((), (3, 1), (4,))],
          domain=(WIDE, (-1.0, 0.0), (0.0, 1.0)), autograd=False),
    # a_min above a_max: NumPy gives a_max everywhere.
    *each(np.clip, "np.clip(x,lo>hi)", lambda x, lo, hi: np.clip(x, lo, hi), [((3, 4), (), (4,))],
          domain=(WIDE, (0.5, 1.0), (-1.0, 0.0)), autograd=False),
    *each(np.clip, "np.clip(x,None,hi)", lambda x, hi: np.clip(x, None, hi), [((3, 4), ())], domain=(WIDE, (0.0, 1.0)),
          autograd=False),
    *each(np.clip, "x.clip(min=lo,max=hi)", lambda x, lo, hi: x.clip(min=lo, max=hi), [((3, 4), (), (3, 4))],
          domain=(WIDE, (-1.0, 0.0), (0.0, 1.0)), autograd=False),
    *each(np.where, "np.where", lambda x, y: np.where(x > 0.0, x, y), [((3, 4), (3, 4)), ((), ())]),
    # autograd's np.where rule does not sum broadcast cotangents back.
    *each(np.where, "np.where-broadcast", lambda x, y: np.where(x > 0.0, x, y), BROADCASTS[1:6], autograd=False),
    *each(np.where, "np.where-float", lambda x: np.where(x > 0.0, x * x, 0.0), ONE),
    *each(np.where, "np.where-const-condition", lambda x, y: np.where(WHERE_CONDITION, x, y), [((3, 4), (4,))], autograd=False),
]
WHERE_CONDITION = np.array([[True, False, True, False]] * 3)

# ----------------------------------------------------------------- reductions


def reducer(reduce, axis, keepdims):
    def reduction(x):
        return reduce(x, axis=axis, keepdims=keepdims)

    return reduction


AXES = [None, 0, 1, -1, (0, 2), (2, -3), (0, 1, 2), ()]
REDUCTIONS = [
    (np.sum, WIDE), (np.mean, WIDE), (np.prod, (-1.5, 1.5)),
    (np.max, WIDE), (np.amax, WIDE), (np.min, WIDE), (np.amin, WIDE),
]
REDUCTION_ROWS = [
    Row(reduce, f"np.{reduce.__name__}-axis={axis}-keepdims={keepdims}", reducer(reduce, axis, keepdims), ((2, 3, 4),), domain)
    for reduce, domain in REDUCTIONS
    for axis in AXES
    for keepdims in (False, True)
] + [
    *each(np.sum, "np.sum", lambda x: np.sum(x), [((5,),), ((),)]),
    *each(np.sum, "np.sum(x,0)", lambda x: np.sum(x, 0), [((3, 4),)]),
    *each(np.max, "np.max-0d", lambda x: np.max(x), [((),)]),
    *each(np.prod, "np.prod-0d", lambda x: np.prod(x), [((),)]),
    *each(np.sum, "x.sum(axis=0)", lambda x: x.sum(axis=0), [((3, 4),)]),
    *each(np.sum, "x.sum()", lambda x: x.sum(), [((3, 4),)]),
    *each(np.mean, "x.mean(axis=-1)", lambda x: x.mean(axis=-1), [((3, 4),)]),
    *each(np.prod, "x.prod(axis=1)", lambda x: x.prod(axis=1), [((3, 4),)]),
    *each(np.max, "x.max(axis=1)", lambda x: x.max(axis=1), [((3, 4),)]),
    *each(np.max, "x.max(1)", lambda x: x.max(1), [((3, 4),)]),
    *each(np.min, "x.min(keepdims)", lambda x: x.min(keepdims=True), [((3, 4),)]),
    # autograd divides by x in its np.prod rule: nan at zeros.
    # dtype is the third positional parameter of sum, mean and prod (autograd reads it as keepdims).
    *each(np.sum, "np.sum(x,0,dtype)", lambda x: np.sum(x, 0, np.float64), [((2, 3),)], autograd=False),
    *each(np.sum, "x.sum(1,dtype)", lambda x: x.sum(1, np.float64), [((2, 3),)], autograd=False),
    *each(np.mean, "np.mean(x,1,dtype)", lambda x: np.mean(x, 1, np.float64), [((2, 3),)], autograd=False),
    *each(np.prod, "np.prod(x,0,dtype)", lambda x: np.prod(x, 0, np.float64), [((2, 3),)], autograd=False),
    Row(np.prod, "np.prod-one-zero", lambda x: np.prod(x), None, values=([1.5, 0.0, -2.0, 0.7],), autograd=False),
    Row(np.prod, "np.prod-two-zeros", lambda x: np.prod(x), None, values=([1.5, 0.0, -2.0, 0.0],), autograd=False),
    Row(np.prod, "np.prod-zero-axis=1", lambda x: np.prod(x, axis=1), None, values=([[1.5, 0.0, -2.0], [0.7, 1.2, 0.9]],), autograd=False),
    Row(np.prod, "np.prod-zeros-axis=0", lambda x: np.prod(x, axis=0), None, values=([[0.0, 0.0, -2.0], [0.7, 0.0, 0.9]],), autograd=False),
    # Empty arrays and empty reduced axes: a product of nothing is 1, with derivative nothing.
    *each(np.prod, "np.prod(axis=0)-empty", lambda x: np.prod(x, axis=0), [((0, 3),), ((2, 0),)], autograd=False),
    *each(np.prod, "np.prod-empty", lambda x: np.prod(x), [((0,),), ((2, 0),)], autograd=False),
    *each(np.prod, "np.prod(axis=1,keepdims)-empty", lambda x: np.prod(x, axis=1, keepdims=True), [((2, 0),)], autograd=False),
    # NumPy lets a 0-d array be reduced (or scanned) along axis 0 or -1.
    *each(np.sum, "np.sum(axis=0)-0d", lambda x: np.sum(x, axis=0), [((),)], autograd=False),
    *each(np.sum, "np.sum(axis=-1,keepdims)-0d", lambda x: np.sum(x, axis=-1, keepdims=True), [((),)], autograd=False),
    *each(np.min, "np.min(x,-1)-0d", lambda x: np.min(x, -1), [((),)], autograd=False),
    *each(np.max, "x.max(axis=0)-0d", lambda x: x.max(axis=0), [((),)], autograd=False),
    *each(np.prod, "x.prod(-1)-0d", lambda x: x.prod(-1), [((),)], autograd=False),
]

# ----------------------------------------------------------------- products

MATMUL_SHAPES = [
    ((4,), (4,)), ((4,), (4, 3)), ((3, 4), (4,)), ((3, 4), (4, 2)),
    ((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 2)), ((2, 1, 3, 4), (3, 4, 2)),
]
DOT_SHAPES = [
    ((), ()), ((), (3, 4)), ((3, 4), ()), ((4,), ()), ((4,), (4,)), ((4,), (4, 3)),
    ((3, 4), (4,)), ((3, 4), (4, 2)), ((2, 3, 4), (4,)), ((4,), (2, 4, 3)),
    ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (5, 4, 2)),
]
OUTER_SHAPES = [((3,), (4,)), ((2, 3), (4,)), ((), (3,)), ((3,), ()), ((2, 2), (3, 2))]

PRODUCT_ROWS = [
    *each(np.matmul, "x@y", lambda x, y: x @ y, MATMUL_SHAPES),
    *each(np.matmul, "np.matmul", lambda x, y: np.matmul(x, y), MATMUL_SHAPES[:4]),
    *each(np.matmul, "x@x", lambda x: x @ x, [((3, 3),)]),
    # a 0-d product inside a vector output: several batch rows reach it
    *each(np.matmul, "x*(x@x)", lambda x: x * (x @ x), [((3,),)]),
    *each(np.matmul, "y*(x@y)", lambda x, y: y * (x @ y), [((3,), (3,))]),
    *each(np.matmul, "x@x.T", lambda x: x @ x.T, [((3, 4),)]),
    # forward mode: the tangent's batch axis stays in front of the stack axes
    *each(np.matmul, "x@y-stacks", lambda x, y: x @ y, [((4,), (2, 2, 4, 3)), ((2, 2, 3, 4), (4,)), ((3, 4), (2, 1, 4, 2))]),
    *each(np.dot, "np.dot", lambda x, y: np.dot(x, y), DOT_SHAPES),
    # autograd's boxes have no .dot method.
    *each(np.dot, "x.dot(y)", lambda x, y: x.dot(y), [((3, 4), (4, 2)), ((4,), (4,))], autograd=False),
    *each(np.dot, "np.dot(x,x)", lambda x: np.dot(x, x), [((3, 3),), ((4,),)]),
    *each(np.outer, "np.outer", lambda x, y: np.outer(x, y), OUTER_SHAPES[:4:2]),
    # autograd's np.outer rule does not flatten inputs of other ranks.
    *each(np.outer, "np.outer-flattens", lambda x, y: np.outer(x, y), OUTER_SHAPES[1::2] + OUTER_SHAPES[4:], autograd=False),
    *each(np.outer, "np.outer(x,x)", lambda x: np.outer(x, x), [((3,),)]),
]

# ----------------------------------------------------------------- shapes

SHAPE_ROWS = [
    *each(np.reshape, "np.reshape", lambda x: np.reshape(x, (3, 4)), [((2, 6),), ((12,),)]),
    *each(np.reshape, "np.reshape(-1)", lambda x: np.reshape(x, -1), [((2, 3, 2),)]),
    *each(np.reshape, "np.reshape(shape=)", lambda x: np.reshape(x, shape=(3, 2)), [((2, 3),)],
          skip=numpy_before("2.1.0", "np.reshape(shape=)")),
    *each(np.reshape, "x.reshape(-1)", lambda x: x.reshape(-1), [((2, 3),)]),
    *each(np.reshape, "x.reshape(3,4)", lambda x: x.reshape(3, 4), [((4, 3),)]),
    *each(np.reshape, "x.reshape((2,-1))", lambda x: x.reshape((2, -1)), [((12,),)]),
    *each(np.reshape, "x.reshape(shape)", lambda x, y: x.reshape(y.shape) * y, [((12,), (3, 4))]),
    *each(np.ravel, "np.ravel", lambda x: np.ravel(x), [((3, 4),), ((2, 3, 2),)]),
    *each(np.ravel, "x.ravel", lambda x: x.ravel(), [((3, 4),)]),
    *each(np.ravel, "x.flatten", lambda x: x.flatten(), [((3, 4),)]),
    *each(np.atleast_1d, "np.atleast_1d", lambda x: np.atleast_1d(x), [((),), ((3,),)]),
    *each(np.atleast_2d, "np.atleast_2d", lambda x: np.atleast_2d(x), [((),), ((3,),), ((2, 3),)]),
    *each(float, "float", lambda x, y: float(x) * y, [((), (3,))], autograd=False),
    *each(np.float64, "np.float64", lambda x, y: np.float64(x) * y, [((), (3,)), ((3,), (3,))], autograd=False),
    *each(np.squeeze, "np.squeeze", lambda x: np.squeeze(x), [((1, 3, 1, 4),)]),
    *each(np.squeeze, "np.squeeze(axis=2)", lambda x: np.squeeze(x, axis=2), [((1, 3, 1, 4),)]),
    *each(np.squeeze, "np.squeeze(axis=(0,2))", lambda x: np.squeeze(x, axis=(0, 2)), [((1, 3, 1, 2),)]),
    *each(np.squeeze, "x.squeeze", lambda x: x.squeeze(), [((3, 1),)]),
    *each(np.expand_dims, "np.expand_dims(0)", lambda x: np.expand_dims(x, 0), [((3, 4),)]),
    *each(np.expand_dims, "np.expand_dims(-1)", lambda x: np.expand_dims(x, axis=-1), [((3, 4),)]),
    *each(np.expand_dims, "np.expand_dims((0,2))", lambda x: np.expand_dims(x, (0, 2)), [((3, 4),)]),
    *each(np.transpose, "np.transpose", lambda x: np.transpose(x), [((3, 4),), ((2, 3, 4),), ((4,),)]),
    *each(np.transpose, "np.transpose(1,0,2)", lambda x: np.transpose(x, (1, 0, 2)), [((2, 3, 4),)]),
    *each(np.transpose, "np.transpose([1,0,2])", lambda x: np.transpose(x, [1, 0, 2]), [((2, 3, 4),)]),
    *each(np.transpose, "np.transpose(2,0,1)", lambda x: np.transpose(x, axes=(2, 0, 1)), [((2, 3, 4),)]),
    # autograd inverts negative axes wrongly, and its boxes take no .transpose(*axes).
    *each(np.transpose, "np.transpose(-1,0,1)", lambda x: np.transpose(x, (-1, 0, 1)), [((2, 3, 4),)], autograd=False),
    *each(np.transpose, "x.transpose(2,0,1)", lambda x: x.transpose(2, 0, 1), [((2, 3, 4),)], autograd=False),
    *each(np.transpose, "x.transpose((1,0))", lambda x: x.transpose((1, 0)), [((2, 3),)]),
    *each(np.transpose, "x.transpose()", lambda x: x.transpose(), [((2, 3, 4),)]),
    *each(rt.transpose_attribute, "x.T", lambda x: x.T, [((3, 4),), ((2, 3, 4),), ((4,),)]),
    *each(rt.transpose_attribute, "x.T*y", lambda x, y: x.T * y, [((3, 4), (4, 3))]),
    *each(np.swapaxes, "np.swapaxes(0,2)", lambda x: np.swapaxes(x, 0, 2), [((2, 3, 4),)]),
    *each(np.swapaxes, "np.swapaxes(-1,0)", lambda x: np.swapaxes(x, -1, 0), [((2, 3, 4),)]),
    *each(np.swapaxes, "np.swapaxes(axis1=,axis2=)", lambda x: np.swapaxes(x, axis1=0, axis2=1), [((2, 3),)]),
    *each(np.swapaxes, "x.swapaxes(0,1)", lambda x: x.swapaxes(0, 1), [((3, 4),)]),
    *each(np.concatenate, "np.concatenate", lambda x, y: np.concatenate([x, y]), [((2, 3), (4, 3)), ((2,), (3,))]),
    *each(np.concatenate, "np.concatenate(x,y,-2)", lambda x, y: np.concatenate([x, y], -2), [((2, 3), (1, 3))]),
    *each(np.concatenate, "np.concatenate(axis=1)", lambda x, y: np.concatenate([x, y], axis=1), [((2, 3), (2, 1))]),
    *each(np.concatenate, "np.concatenate(axis=-1)", lambda x, y: np.concatenate((x, y), axis=-1), [((2, 3, 2), (2, 3, 1))]),
    # autograd's np.concatenate rule needs an integer axis.
    *each(np.concatenate, "np.concatenate(axis=None)", lambda x, y: np.concatenate([x, y], axis=None), [((2, 3), (4,))], autograd=False),
    *each(np.concatenate, "np.concatenate(3)", lambda x, y, z: np.concatenate([x, y, z], 1), [((2, 1), (2, 3), (2, 2))]),
    *each(np.concatenate, "np.concatenate(x,x)", lambda x: np.concatenate([x, x * 2.0]), [((2, 3),)]),
    *each(np.concatenate, "np.concatenate(x,const)", lambda x: np.concatenate([x, CONSTANT_ROW]), [((2, 3),)]),
    *each(np.stack, "np.stack", lambda x, y: np.stack([x, y]), [((2, 3), (2, 3))]),
    *each(np.stack, "np.stack(axis=1)", lambda x, y: np.stack((x, y), axis=1), [((2, 3), (2, 3))]),
    *each(np.stack, "np.stack(axis=-1)", lambda x, y, z: np.stack([x, y, z], axis=-1), [((4,), (4,), (4,))]),
    *each(np.stack, "np.stack(axis=-2)", lambda x, y: np.stack([x, y], axis=-2), [((2, 3), (2, 3))]),
    *each(np.stack, "np.stack(x,x)", lambda x: np.stack([x, x]), [((3,),)]),
    # autograd has no rule for np.copy or np.asarray, and no .copy method.
    *each(np.copy, "np.copy", lambda x: np.copy(x) * x, [((3, 4),)], autograd=False),
    *each(rt.copy, "x.copy", lambda x: x.copy(), [((3, 4),)], autograd=False),
    *each(np.asarray, "np.asarray", lambda x: np.asarray(x), [((3, 4),)], autograd=False),
    *each(np.array, "np.array", lambda x: np.array(x), [((3, 4),)]),
    *each(np.array, "np.array([x,y])", lambda x, y: np.array([x, y]), [((3,), (3,)), ((), ())]),
    *each(np.array, "np.array([[x,y],[y,x]])", lambda x, y: np.array([[x, y], [y, x]]), [((), ())]),
    *each(np.asarray, "np.asarray([x,y])", lambda x, y: np.asarray([x, y]), [((2,), (2,))], autograd=False),
    # autograd treats np.full and np.linspace as constants.
    *each(np.full, "np.full", lambda v: np.full((2, 3), v), [((),), ((3,),), ((2, 1),)], autograd=False),
    *each(np.full, "np.full(x.shape,v)*x", lambda x, v: np.full(x.shape, v) * x, [((3, 4), ())], autograd=False),
    *each(np.full, "np.full(dtype=float)", lambda v: np.full(3, v, dtype=np.float64), [((),)], autograd=False),
    *each(np.full, "np.full(fill_value=)", lambda v: np.full(shape=(2,), fill_value=v), [((),)], autograd=False),
    Row(np.full, "np.full(dtype=int)", lambda v: np.full(3, v, dtype=int) * v, None, values=(1.5,), autograd=False),
    *each(np.linspace, "np.linspace", lambda a, b: np.linspace(a, b, 5), [((), ()), ((2,), (2,)), ((2, 1), (3,))],
          autograd=False),
    *each(np.linspace, "np.linspace-num-50", lambda a, b: np.linspace(a, b), [((), ())], autograd=False),
    *each(np.linspace, "np.linspace(endpoint=False)", lambda a, b: np.linspace(a, b, 4, endpoint=False),
          [((), ()), ((3,), ())], autograd=False),
    *each(np.linspace, "np.linspace(num=1)", lambda a, b: np.linspace(a, b, num=1), [((), ())], autograd=False),
    *each(np.linspace, "np.linspace(axis=1)", lambda a, b: np.linspace(a, b, 3, axis=1), [((2,), (2,))], autograd=False),
    *each(np.linspace, "np.linspace(axis=-1)", lambda a, b: np.linspace(a, b, 3, axis=-1), [((2, 1), (3,))], autograd=False),
    *each(np.linspace, "np.linspace(x,const)", lambda a: np.linspace(a, 2.0, 3) * a, [((),)], autograd=False),
    Row(np.linspace, "np.linspace(dtype=int)", lambda a, b: np.linspace(a, b, 4, dtype=int) * a, None,
        values=(0.3, 3.6), autograd=False),
]
CONSTANT_ROW = np.array([[1.0, 2.0, 3.0]])

# ----------------------------------------------------------------- syntax


def alias(x):
    y = x
    return y


def alias_then_use(x, y):
    z = x
    z = z * y
    w = z
    return w + z


def item_of_tuple(x, y):
    pair = (x, y)
    return pair[0] * pair[1]


def item_of_list(x, y):
    items = [x, y, x]
    return items[0] + items[-1] * items[1]


def item_of_dict(x, y):
    named = {"a": x, "b": y}
    return named["a"] - named["b"]


Pair = namedtuple("Pair", ["first", "second"])


def field_of_namedtuple(x, y):
    pair = Pair(x, second=y)
    return pair.first * pair.second - pair.first


INDEX = np.array([0, 2, 2, 1])
INDEX_ROWS = np.array([0, 1, 1])
INDEX_COLUMNS = np.array([4, 0, 4])
INDEX_2D = np.array([[0, 1], [3, 3]])
A_SLICE = slice(1, 4)
MASK = np.array([[True, False, True, False, True]] * 4)
MASK_COLUMNS = np.array([True, False, True, True, False])

SYNTAX_ROWS = [
    *each(rt.identity, "y=x", alias, [((3, 4),), ((),)]),
    *each(rt.identity, "y=x-reassigned", alias_then_use, [((3,), (3,))]),
    *each(rt.getitem, "x[1]", lambda x: x[1], [((4, 5),)]),
    *each(rt.getitem, "x[-1]", lambda x: x[-1], [((4, 5),)]),
    *each(rt.getitem, "x[1:3]", lambda x: x[1:3], [((4, 5),)]),
    *each(rt.getitem, "x[::2]", lambda x: x[::2], [((5,),)]),
    *each(rt.getitem, "x[::-1]", lambda x: x[::-1], [((4, 5),)]),
    *each(rt.getitem, "x[-3:-1]", lambda x: x[-3:-1], [((5,),)]),
    *each(rt.getitem, "x[4:0:-2]", lambda x: x[4:0:-2], [((5,),)]),
    *each(rt.getitem, "x[1,2]", lambda x: x[1, 2], [((4, 5),)]),
    *each(rt.getitem, "x[:,1]", lambda x: x[:, 1], [((4, 5),)]),
    *each(rt.getitem, "x[1:,::-2]", lambda x: x[1:, ::-2], [((4, 5),)]),
    *each(rt.getitem, "x[None]", lambda x: x[None], [((4, 5),)]),
    *each(rt.getitem, "x[:,None,::2]", lambda x: x[:, None, ::2], [((4, 5),)]),
    *each(rt.getitem, "x[None]", lambda x: x[None], [((),)]),
    *each(rt.getitem, "x[()]", lambda x: x[()], [((),)]),
    *each(rt.getitem, "x[...,None]", lambda x: x[..., None], [((2, 4),)]),
    *each(rt.getitem, "x[1,...,::2]", lambda x: x[1, ..., ::2], [((2, 3, 4),)]),
    *each(rt.getitem, "x[slice-variable]", lambda x: x[A_SLICE], [((5,),)]),
    *each(rt.getitem, "x[...,1]", lambda x: x[..., 1], [((2, 4, 5),)]),
    *each(rt.getitem, "x[1,...]", lambda x: x[1, ...], [((2, 4, 5),)]),
    *each(rt.getitem, "x[int-array]", lambda x: x[INDEX], [((4, 5),), ((4,),)]),
    *each(rt.getitem, "x[list]", lambda x: x[[0, 0, 1]], [((4, 5),)]),
    *each(rt.getitem, "x[negative-list]", lambda x: x[[-1, 0, -1]], [((4,),)]),
    *each(rt.getitem, "x[[]]", lambda x: x[[]], [((3,),), ((2, 3),)], autograd=False),
    *each(rt.getitem, "concatenate(x[[]],x)", lambda x: np.concatenate([x[[]], x * 2.0]), [((3,),)], autograd=False),
    *each(rt.getitem, "x[rows,cols]", lambda x: x[INDEX_ROWS, INDEX_COLUMNS], [((4, 5),)]),
    *each(rt.getitem, "x[2d-int-array]", lambda x: x[INDEX_2D], [((4, 5),)]),
    *each(rt.getitem, "x[list,1:]", lambda x: x[[0, 2], 1:], [((4, 5),)]),
    *each(rt.getitem, "x[:,rows,cols]", lambda x: x[:, INDEX_ROWS, INDEX_ROWS], [((2, 3, 4),)]),
    # Advanced indices apart (split by a slice or None): NumPy puts their axis first.
    *each(rt.getitem, "x[rows,:,cols]", lambda x: x[INDEX_ROWS, :, INDEX_ROWS], [((2, 3, 4),)]),
    *each(rt.getitem, "x[0,:,rows]", lambda x: x[0, :, INDEX_ROWS], [((2, 3, 4),)]),
    *each(rt.getitem, "x[rows,None,cols]", lambda x: x[INDEX_ROWS, None, INDEX_ROWS], [((2, 3, 4),)]),
    *each(rt.getitem, "x[rows,...,cols]", lambda x: x[INDEX_ROWS, ..., INDEX_ROWS], [((3, 4),), ((2, 3, 4),)]),
    *each(rt.getitem, "x[mask,:,0]", lambda x: x[MASK_COLUMNS[:3], :, 0], [((3, 2, 4),)]),
    *each(rt.getitem, "x[1:,list]", lambda x: x[1:, [0, 2, 0]], [((4, 5),)]),
    *each(rt.getitem, "x[mask]", lambda x: x[MASK], [((4, 5),)]),
    *each(rt.getitem, "x[x>0]", lambda x: x[x > 0.0], [((4, 5),)]),
    *each(rt.getitem, "x[:,mask]", lambda x: x[:, MASK_COLUMNS], [((4, 5),)]),
    *each(rt.getitem, "x[i]*x[j]", lambda x: x[0] * x[1] + x[0], [((3, 2),)]),
    *each(rt.getitem, "tuple[i]", item_of_tuple, [((3,), (3,))]),
    *each(rt.getitem, "list[i]", item_of_list, [((3,), (3,))]),
    *each(rt.getitem, "dict[key]", item_of_dict, [((3,), (3,))]),
    *each(rt.attribute, "namedtuple.field", field_of_namedtuple, [((3,), (3,))]),
]

def set_row(x, y):
    out = x * 1.0
    out[1] = y[0] * 2.0
    return out


def add_to_column(x, y):
    out = x + 0.0
    out[:, 0] += y
    return out


def set_masked(x):
    out = x * 3.0
    out[out > 0.0] = 0.5
    return out


def set_fancy(x, y):
    out = np.zeros((2, 3, 4))
    out[INDEX_ROWS[:2], :, INDEX_ROWS[:2]] = y
    return out + x


def set_repeated(x):
    y = np.zeros(2)
    y[[0, 0]] = x
    return y


def add_repeated(x, y):
    out = y * 1.0
    out[[0, 0]] += x
    return out


def set_negative_alias(x):
    y = np.zeros(4)
    y[np.array([3, -1])] = x
    return y


def set_repeated_2d(x):
    y = np.zeros((2, 3))
    y[[0, 0, 1], [1, 1, 2]] = x[:3]
    return y


def set_repeated_rows_broadcast(x):
    y = np.ones((2, 3))
    y[[0, 0], :] = x[None] * np.array([[1.0], [2.0]])
    return y


def set_repeated_scalar(x):
    y = np.zeros(4)
    y[[1, 1, 2]] = x
    return y * 2.0


def set_repeated_columns(x):
    y = np.zeros((2, 3))
    y[:, [2, 0, 2]] = x
    return y


def set_empty(x):
    y = x * 2.0
    y[[]] = x[:0]
    return y


def appended(x, y):
    items = []
    items.append(x)
    items.append(np.sin(y))
    items.append(x * y)
    return np.stack(items)


def cast_twice(x):
    return x.astype(np.float64) * 2.0 + x.astype(int)


IN_PLACE_ROWS = [
    # NumPy keeps one write (the last) where an index names an element twice.
    *each(rt.setitem, "y[[0,0]]=v", set_repeated, [((2,),)], autograd=False),
    *each(rt.setitem, "y[[0,0]]+=v", add_repeated, [((2,), (2,))], autograd=False),
    *each(rt.setitem, "y[[3,-1]]=v", set_negative_alias, [((2,),)], autograd=False),
    *each(rt.setitem, "y[rows,cols]=v-repeated", set_repeated_2d, [((4,),)], autograd=False),
    *each(rt.setitem, "y[[0,0],:]=broadcast", set_repeated_rows_broadcast, [((3,),)], autograd=False),
    *each(rt.setitem, "y[[1,1,2]]=scalar", set_repeated_scalar, [((),)], autograd=False),
    *each(rt.setitem, "y[:,[2,0,2]]=v", set_repeated_columns, [((2, 3),)], autograd=False),
    *each(rt.setitem, "y[[]]=v", set_empty, [((3,),)], autograd=False),
    *each(rt.astype, "x.astype(float)+x.astype(int)", cast_twice, [((3,),)], autograd=False),
    *each(rt.setitem, "out[1]=v", set_row, [((3, 4), (4,))], autograd=False),
    *each(rt.setitem, "out[:,0]+=v", add_to_column, [((3, 4), (3,))], autograd=False),
    *each(rt.setitem, "out[mask]=c", set_masked, [((3, 4),)], autograd=False),
    *each(rt.setitem, "out[rows,:,rows]=v", set_fancy, [((2, 3, 4), (2, 3))], autograd=False),
    *each(rt.append, "list.append", appended, [((3,), (3,))]),
]


def python_sum(x, y):
    return sum([x, y * 2.0, x * y])


def python_max(x, y):
    return max(x * 2.0, y) + min(x, y * 3.0, 0.5)


def python_max_of_list(x):
    return max([np.sum(x), np.sum(x ** 2)])


def python_sum_with_start(x, y):
    return sum([x, 2.0 * x, 1.0], y)


def python_max_with_constant(x):
    return max(x * 1.0, 0.5) + min([0.25, x * 2.0, 3.0])


def math_functions(x):
    a = float(x)
    return math.sin(a) * math.exp(a) + math.sqrt(a + 2.0) + math.log(a + 3.0) + math.tanh(a)


def math_two_arguments(x, y):
    return math.pow(float(x) + 2.0, float(y)) + math.atan2(float(x), float(y) + 2.0)


def math_inverse(x):
    a = float(x) * 0.5
    return (math.asin(a) + math.acos(a) + math.atan(a) + math.sinh(a) + math.cosh(a)
            + math.tan(a) + math.log2(a + 1.0) + math.log10(a + 1.0) + math.log1p(a + 1.0)
            + math.expm1(a) + math.fabs(a) + math.cos(a))


def copies_sequences(x, y):
    pair = list((x, y * 2.0))
    rows = tuple(np.stack([x, y]))
    return pair[0] * pair[1] + rows[1] + np.sum(list((x, y)), axis=0)


def copies_and_updates_a_dict(x, y):
    params = {"w": x, "b": y}
    scaled = dict(params)
    scaled["w"] = scaled["w"] * y  # an item replaced
    scaled["extra"] = np.sin(x)  # an item added
    return scaled["w"] + scaled["b"] * scaled["extra"]


def replaces_list_items(x, y):
    rows = [x, y, x * y]
    rows[1] = np.sin(rows[1])
    copied = list(rows)
    for i in range(3):
        copied[i] = copied[i] * (i + 1.0)
    built = {}
    built["first"] = copied[0]
    return np.stack(copied) + built["first"]


BUILTIN_ROWS = [
    *each(dict, "dict(d)+d[k]=v", copies_and_updates_a_dict, [((3,), (3,))], autograd=False),
    *each(list, "list[i]=v", replaces_list_items, [((3,), (3,))], autograd=False),
    *each(list, "list(seq)", copies_sequences, [((3,), (3,))], autograd=False),
    *each(tuple, "tuple(array)", copies_sequences, [((3,), (3,))], autograd=False),
    *each(builtins.sum, "sum([x,y])", python_sum, [((3,), (3,)), ((), ())]),
    *each(builtins.max, "max(a,b)+min(a,b,c)", python_max, [((), ())], autograd=False),
    *each(builtins.min, "min(a,b,c)", python_max, [((), ())], autograd=False),
    *each(builtins.max, "max([s1,s2])", python_max_of_list, [((3,),)], autograd=False),
    # A differentiated start (broadcast against the items), a constant item that wins.
    *each(builtins.sum, "sum([x,2x],start)", python_sum_with_start, [((2, 3), (3,)), ((), (3,))], autograd=False),
    Row(builtins.max, "max(x,const)-const-wins", python_max_with_constant, None, values=(0.1,), autograd=False),
    *each(float, "float(x)", math_functions, [((),)], autograd=False),
    *each(math.sin, "math.sin", math_functions, [((),)], autograd=False),
    *each(math.exp, "math.exp", math_functions, [((),)], autograd=False),
    *each(math.sqrt, "math.sqrt", math_functions, [((),)], autograd=False),
    *each(math.log, "math.log", math_functions, [((),)], autograd=False),
    *each(math.tanh, "math.tanh", math_functions, [((),)], autograd=False),
    *each(math.pow, "math.pow", math_two_arguments, [((), ())], autograd=False),
    *each(math.atan2, "math.atan2", math_two_arguments, [((), ())], autograd=False),
    *each(math.hypot, "math.hypot", lambda x, y: math.hypot(float(x), float(y) + 1.0), [((), ())],
          autograd=False),
    *[row for fn in (math.asin, math.acos, math.atan, math.sinh, math.cosh, math.tan, math.log2,
                     math.log10, math.log1p, math.expm1, math.fabs, math.cos)
      for row in each(fn, f"math.{fn.__name__}", math_inverse, [((),)], autograd=False)],
]

# ----------------------------------------------------------------- statistics and scans

STATISTICS = [np.var, np.std]
STATISTICS_ROWS = [
    Row(reduce, f"np.{reduce.__name__}-axis={axis}-keepdims={keepdims}", reducer(reduce, axis, keepdims), ((2, 3, 4),))
    for reduce in STATISTICS
    for axis in (None, 0, -1, (0, 2))
    for keepdims in (False, True)
] + [
    *each(np.var, "np.var", lambda x: np.var(x), [((5,),), ((),)]),
    *each(np.var, "np.var(ddof=1)", lambda x: np.var(x, ddof=1), [((5,),)]),
    *each(np.var, "np.var(x,1,ddof=1,keepdims)", lambda x: np.var(x, 1, ddof=1, keepdims=True), [((3, 4),)]),
    *each(np.std, "np.std", lambda x: np.std(x), [((5,),)]),
    *each(np.std, "np.std(ddof=1)", lambda x: np.std(x, axis=0, ddof=1), [((4, 3),)]),
    *each(np.std, "np.std(axis=(0,1),ddof=2)", lambda x: np.std(x, axis=(0, 1), ddof=2), [((2, 3, 2),)]),
]

SCAN_ROWS = [
    *each(np.cumsum, "np.cumsum", lambda x: np.cumsum(x), [((5,),), ((2, 3),), ((),)]),
    *each(np.cumsum, "np.cumsum(axis=0)", lambda x: np.cumsum(x, axis=0), [((3, 4),)]),
    *each(np.cumsum, "np.cumsum(x,-1)", lambda x: np.cumsum(x, -1), [((2, 3, 4),)]),
    *each(np.cumsum, "np.cumsum(axis=1)", lambda x: np.cumsum(x, axis=1), [((2, 3, 4),)]),
    # autograd has no rule for np.cumprod. Ours is exact at zeros (no division).
    *each(np.cumprod, "np.cumprod", lambda x: np.cumprod(x), [((5,),), ((2, 3),)], autograd=False),
    *each(np.cumprod, "np.cumprod(axis=0)", lambda x: np.cumprod(x, axis=0), [((3, 4),)], autograd=False),
    *each(np.cumprod, "np.cumprod(axis=-1)", lambda x: np.cumprod(x, axis=-1), [((2, 3, 4),)], autograd=False),
    Row(np.cumprod, "np.cumprod-one-zero", lambda x: np.cumprod(x), None, values=([1.5, 0.0, -2.0, 0.7],), autograd=False),
    Row(np.cumprod, "np.cumprod-two-zeros", lambda x: np.cumprod(x), None, values=([0.0, 1.5, 0.0, -2.0],), autograd=False),
    Row(np.cumprod, "np.cumprod-zeros-axis=1", lambda x: np.cumprod(x, axis=1), None,
        values=([[1.5, 0.0, -2.0], [0.0, 0.0, 0.9]],), autograd=False),
    *each(np.cumprod, "np.cumprod(axis=0)-0d", lambda x: np.cumprod(x, axis=0), [((),)], autograd=False),
    *each(np.cumsum, "np.cumsum(axis=-1)-0d", lambda x: np.cumsum(x, axis=-1), [((),)], autograd=False),
    *each(np.diff, "np.diff", lambda x: np.diff(x), [((5,),), ((3, 4),)]),
    *each(np.diff, "np.diff(axis=0)", lambda x: np.diff(x, axis=0), [((3, 4),)]),
    *each(np.diff, "np.diff(x,2)", lambda x: np.diff(x, 2), [((5,),), ((2, 5),)]),
    *each(np.diff, "np.diff(n=3,axis=1)", lambda x: np.diff(x, n=3, axis=1), [((2, 5, 3),)]),
    *each(np.diff, "np.diff(n=0)", lambda x: np.diff(x, n=0) * 1.0, [((4,),)]),
    # np.gradient reaches its rules as rt.numpy_gradient (its *varargs named)
    *each(rt.numpy_gradient, "np.gradient", lambda x: np.gradient(x), [((5,),)]),
    # (autograd's np.gradient adjoint fails on several axes of different lengths)
    *each(rt.numpy_gradient, "np.gradient(all axes)", lambda x: np.stack(np.gradient(x ** 2)), [((3, 4),)],
          autograd=False),
    *each(rt.numpy_gradient, "np.gradient(axis=0)", lambda x: np.gradient(x, axis=0), [((3, 4),)], autograd=False),
    *each(rt.numpy_gradient, "np.gradient(dx,dy,edge_order=2)", lambda x: np.gradient(x, 0.5, 2.0, edge_order=2)[1],
          [((3, 4),)], autograd=False),
    *each(rt.numpy_gradient, "np.gradient(coordinates)", lambda x: np.gradient(x, np.array([0.0, 0.3, 1.0, 1.2])),
          [((4,),)], autograd=False),
]

# ----------------------------------------------------------------- matrices

#: added to a random matrix, keeps it far from singular.
SHIFT = 4.0 * np.eye(3)

LINALG_ROWS = [
    *each(np.trace, "np.trace", lambda x: np.trace(x), [((3, 3),), ((3, 4),)]),
    *each(np.trace, "np.trace(offset=1)", lambda x: np.trace(x, offset=1), [((3, 4),)]),
    *each(np.trace, "np.trace(x,-1)", lambda x: np.trace(x, -1), [((4, 3),)]),
    # autograd's np.trace takes no axis1 and axis2.
    *each(np.trace, "np.trace(axis1=1,axis2=2)", lambda x: np.trace(x, axis1=1, axis2=2), [((2, 3, 3),)], autograd=False),
    *each(np.trace, "np.trace(axis1=-1,axis2=0)", lambda x: np.trace(x, axis1=-1, axis2=0), [((3, 2, 3),)], autograd=False),
    *each(np.linalg.norm, "norm", lambda x: np.linalg.norm(x), [((5,),), ((3, 4),), ((2, 3, 4),)]),
    *each(np.linalg.norm, "norm(ord=2)", lambda x: np.linalg.norm(x, ord=2), [((5,),)]),
    # autograd has no derivative for ord=1 and -inf, and gives nan for ord=inf.
    *each(np.linalg.norm, "norm(ord=1)", lambda x: np.linalg.norm(x, ord=1), [((5,),)], autograd=False),
    *each(np.linalg.norm, "norm(ord=inf)", lambda x: np.linalg.norm(x, ord=np.inf), [((5,),)], autograd=False),
    *each(np.linalg.norm, "norm(ord=-inf)", lambda x: np.linalg.norm(x, -np.inf), [((5,),)], autograd=False),
    *each(np.linalg.norm, "norm(ord=3)", lambda x: np.linalg.norm(x, 3), [((5,),)]),
    *each(np.linalg.norm, "norm(ord=fro)", lambda x: np.linalg.norm(x, "fro"), [((3, 4),)]),
    *each(np.linalg.norm, "norm(axis=1)", lambda x: np.linalg.norm(x, axis=1), [((3, 4),)]),
    *each(np.linalg.norm, "norm(ord=1,axis=0)", lambda x: np.linalg.norm(x, ord=1, axis=0), [((3, 4),)], autograd=False),
    *each(np.linalg.norm, "norm(ord=inf,axis=-1,keepdims)", lambda x: np.linalg.norm(x, np.inf, -1, True), [((3, 4),)],
          autograd=False),
    *each(np.linalg.norm, "norm(axis=(0,2))", lambda x: np.linalg.norm(x, axis=(0, 2)), [((2, 3, 4),)]),
    *each(np.linalg.norm, "norm(fro,axis=(2,0),keepdims)", lambda x: np.linalg.norm(x, "fro", (2, 0), keepdims=True),
          [((2, 3, 4),)]),
    *each(np.linalg.norm, "norm(keepdims)", lambda x: np.linalg.norm(x, keepdims=True), [((3, 4),)]),
    Row(np.linalg.norm, "norm-zero-vector", lambda x: np.linalg.norm(x, axis=1), None,
        values=([[0.0, 0.0], [3.0, 4.0]],), autograd=False),
    *each(np.linalg.inv, "inv", lambda x: np.linalg.inv(x + SHIFT), [((3, 3),), ((2, 3, 3),)]),
    *each(np.linalg.inv, "inv(x)@x", lambda x: np.linalg.inv(x + SHIFT) @ x, [((3, 3),)]),
    # a list read as a matrix: its tangent is a list of the items' tangents
    *each(np.linalg.inv, "inv-of-a-list", lambda x: np.linalg.inv([[x[0] + 2.0, x[1]], [1.0, x[2] + 2.0]]), [((3,),)],
          autograd=False),
    *each(np.linalg.solve, "solve", lambda a, b: np.linalg.solve(a + SHIFT, b), [((3, 3), (3,)), ((3, 3), (3, 2))]),
    # NumPy 2 reads a 1-d b as one vector for a stack of matrices and broadcasts a 2-d a
    # over a stack of b; autograd follows NumPy 1, which reads a b with one dimension
    # fewer than a as a stack of vectors.
    *each(np.linalg.solve, "solve-broadcast", lambda a, b: np.linalg.solve(a + SHIFT, b),
          [((2, 3, 3), (2, 3, 2)), ((3, 3), (2, 3, 2))], autograd=False),
    *each(np.linalg.solve, "solve-broadcast", lambda a, b: np.linalg.solve(a + SHIFT, b),
          [((2, 3, 3), (3,)), ((2, 3, 3), (3, 1))], autograd=False,
          skip=numpy_before("2.0.0", "np.linalg.solve reading b of one dimension as one vector")),
    *each(np.linalg.solve, "solve-stack-of-vectors", lambda a, b: np.linalg.solve(a + SHIFT, b),
          [((2, 3, 3), (2, 3))], skip="NumPy 2 reads b of shape (2, 3) as a 2x3 matrix" if NUMPY_2 else None),
    *each(np.linalg.solve, "solve(x,x)", lambda a: np.linalg.solve(a + SHIFT, a), [((3, 3),)]),
    *each(np.linalg.det, "det", lambda x: np.linalg.det(x + SHIFT), [((3, 3),), ((2, 3, 3),)]),
    *each(np.linalg.det, "det-1x1", lambda x: np.linalg.det(x), [((1, 1),)]),
]

# ----------------------------------------------------------------- contractions

CONTRACTION_ROWS = [
    *each(np.einsum, "einsum(ij,jk->ik)", lambda x, y: np.einsum("ij,jk->ik", x, y), [((2, 3), (3, 4))]),
    *each(np.einsum, "einsum(ij,ij->)", lambda x, y: np.einsum("ij,ij->", x, y), [((2, 3), (2, 3))]),
    *each(np.einsum, "einsum(i,j->ij)", lambda x, y: np.einsum("i,j->ij", x, y), [((2,), (3,))]),
    *each(np.einsum, "einsum(bij,bjk->bik)", lambda x, y: np.einsum("bij,bjk->bik", x, y), [((2, 2, 3), (2, 3, 2))]),
    *each(np.einsum, "einsum(ij,jk->ki)", lambda x, y: np.einsum("ij,jk->ki", x, y), [((2, 3), (3, 4))]),
    *each(np.einsum, "einsum(ij,jk,kl->il)", lambda x, y, z: np.einsum("ij,jk,kl->il", x, y, z),
          [((2, 3), (3, 4), (4, 2))]),
    *each(np.einsum, "einsum(i,i,i->)", lambda x, y, z: np.einsum("i,i,i->", x, y, z), [((3,), (3,), (3,))]),
    *each(np.einsum, "einsum(ij,jk) implicit", lambda x, y: np.einsum("ij,jk", x, y), [((2, 3), (3, 4))]),
    *each(np.einsum, "einsum(Ba,aC) implicit", lambda x, y: np.einsum("Ba,aC", x, y), [((2, 3), (3, 4))]),
    *each(np.einsum, "einsum(ba,ca) implicit", lambda x, y: np.einsum("ba,ca", x, y), [((2, 3), (4, 3))]),
    *each(np.einsum, "einsum(ij->i)", lambda x: np.einsum("ij->i", x), [((2, 3),)]),
    *each(np.einsum, "einsum(ij->ji)", lambda x: np.einsum("ij->ji", x), [((2, 3),)]),
    # autograd's rule fails on a letter repeated within one operand (a diagonal).
    *each(np.einsum, "einsum(ii->i)", lambda x: np.einsum("ii->i", x), [((3, 3),)], autograd=False),
    *each(np.einsum, "einsum(ii)", lambda x: np.einsum("ii", x), [((3, 3),)], autograd=False),
    *each(np.einsum, "einsum(iij,j->i)", lambda x, y: np.einsum("iij,j->i", x, y), [((3, 3, 2), (2,))], autograd=False),
    *each(np.einsum, "einsum(ij,jk->k)", lambda x, y: np.einsum("ij,jk->k", x, y), [((2, 3), (3, 4))]),
    *each(np.einsum, "einsum(i j, j k -> i k)", lambda x, y: np.einsum("i j, j k -> i k", x, y), [((2, 3), (3, 4))]),
    *each(np.einsum, "einsum(...ij,...jk->...ik)", lambda x, y: np.einsum("...ij,...jk->...ik", x, y),
          [((2, 3, 4), (4, 2)), ((3, 4), (2, 4, 2)), ((2, 2, 3), (2, 3, 2))]),
    *each(np.einsum, "einsum(...i,...i)", lambda x, y: np.einsum("...i,...i", x, y), [((2, 3), (3,))]),
    *each(np.einsum, "einsum(i...->...)", lambda x: np.einsum("i...->...", x), [((2, 3, 4),)]),
    *each(np.einsum, "einsum(ij,jk->ik,optimize)", lambda x, y, z: np.einsum("ij,jk,k->i", x, y, z, optimize=True),
          [((2, 3), (3, 4), (4,))]),
    *each(np.einsum, "einsum(x,x)", lambda x: np.einsum("ij,jk->ik", x, x), [((3, 3),)]),
    *each(np.einsum, "einsum(x,const)", lambda x: np.einsum("ij,j->i", x, CONSTANT_VECTOR), [((2, 3),)]),
    # NumPy broadcasts a size-1 axis against its letter; autograd does not sum it back.
    *each(np.einsum, "einsum-size-1", lambda x, y: np.einsum("ij,jk->ik", x, y), [((2, 1), (3, 4))], autograd=False),
    *each(np.einsum, "einsum(...,size-1)", lambda x, y: np.einsum("...i,...i->...", x, y), [((2, 1, 3), (4, 3))],
          autograd=False),
    *each(np.tensordot, "np.tensordot", lambda x, y: np.tensordot(x, y), [((2, 3, 4), (3, 4, 2)), ((3, 4), (3, 4))]),
    *each(np.tensordot, "np.tensordot(axes=1)", lambda x, y: np.tensordot(x, y, axes=1), [((2, 3), (3, 4)), ((2, 3, 4), (4,))]),
    *each(np.tensordot, "np.tensordot(x,y,0)", lambda x, y: np.tensordot(x, y, 0), [((2, 3), (2,))]),
    *each(np.tensordot, "np.tensordot(axes=([1,0],[0,1]))", lambda x, y: np.tensordot(x, y, axes=([1, 0], [0, 1])),
          [((2, 3, 4), (3, 2))]),
    *each(np.tensordot, "np.tensordot(axes=([2,0],[1,0]))", lambda x, y: np.tensordot(x, y, axes=([2, 0], [1, 0])),
          [((2, 3, 4), (2, 4, 3))]),
    *each(np.tensordot, "np.tensordot(axes=(1,0))", lambda x, y: np.tensordot(x, y, axes=(1, 0)), [((2, 3), (3, 4))]),
    # autograd's rule reads negative axes as positions counted from the front.
    *each(np.tensordot, "np.tensordot(axes=([-1],[-2]))", lambda x, y: np.tensordot(x, y, axes=([-1], [-2])),
          [((2, 3), (2, 3, 4))], autograd=False),
    *each(np.kron, "np.kron", lambda x, y: np.kron(x, y), [((2, 3), (3, 2)), ((3,), (2,)), ((2,), (2, 3)), ((2, 1, 2), (2, 3))]),
    *each(np.kron, "np.kron(x,x)", lambda x: np.kron(x, x), [((2, 2),)]),
    *each(np.diag, "np.diag", lambda x: np.diag(x), [((3,),), ((3, 3),)]),
    *each(np.diag, "np.diag(k=1)", lambda x: np.diag(x, k=1), [((3,),)]),
    *each(np.diag, "np.diag(x,-2)", lambda x: np.diag(x, -2), [((3,),)]),
    # autograd's rule for the diagonal of a matrix assumes a square one.
    *each(np.diag, "np.diag-rectangle", lambda x: np.diag(x), [((3, 4),)], autograd=False),
    *each(np.diag, "np.diag(k=1)-rectangle", lambda x: np.diag(x, k=1), [((3, 4),)], autograd=False),
    *each(np.diag, "np.diag(x,-2)-rectangle", lambda x: np.diag(x, -2), [((4, 3),)], autograd=False),
]
CONSTANT_VECTOR = np.array([0.5, -1.0, 2.0])

# ----------------------------------------------------------------- rearrangements

PAD_MODES = ("edge", "reflect", "symmetric", "wrap")


def pad_in_mode(mode):
    def padded(x):
        return np.pad(x, (2, 1), mode=mode)

    return padded

REARRANGE_ROWS = [
    *each(np.hstack, "np.hstack", lambda x, y: np.hstack([x, y]), [((2,), (3,)), ((2, 3), (2, 1)), ((2, 1, 2), (2, 3, 2))]),
    *each(np.hstack, "np.hstack-0d", lambda x, y, z: np.hstack((x, y, z)), [((), (2,), ())]),
    *each(np.hstack, "np.hstack(x,x)", lambda x: np.hstack([x, x * 2.0]), [((2, 3),)]),
    *each(np.vstack, "np.vstack", lambda x, y: np.vstack([x, y]), [((3,), (3,)), ((2, 3), (1, 3)), ((3,), (2, 3)),
                                                                    ((2, 2, 3), (1, 2, 3))]),
    *each(np.vstack, "np.vstack-0d", lambda x, y: np.vstack((x, y)), [((), ())]),
    # autograd has no rule for np.flip.
    *each(np.flip, "np.flip", lambda x: np.flip(x), [((4,),), ((2, 3),)], autograd=False),
    *each(np.flip, "np.flip(axis=0)", lambda x: np.flip(x, axis=0), [((2, 3),)], autograd=False),
    *each(np.flip, "np.flip(x,-1)", lambda x: np.flip(x, -1), [((2, 3, 4),)], autograd=False),
    *each(np.flip, "np.flip(axis=(0,2))", lambda x: np.flip(x, axis=(0, 2)), [((2, 3, 4),)], autograd=False),
    *each(np.roll, "np.roll", lambda x: np.roll(x, 2), [((5,),), ((2, 3),)]),
    *each(np.roll, "np.roll(axis=1)", lambda x: np.roll(x, -1, axis=1), [((2, 3),)]),
    # autograd's rule negates the shift with unary minus, which a tuple does not have.
    *each(np.roll, "np.roll((1,2),(0,-1))", lambda x: np.roll(x, (1, 2), (0, -1)), [((2, 3, 4),)], autograd=False),
    *each(np.roll, "np.roll(2,(0,1))", lambda x: np.roll(x, 2, axis=(0, 1)), [((2, 3),)]),
    *each(np.tile, "np.tile", lambda x: np.tile(x, 2), [((3,),), ((),)]),
    *each(np.tile, "np.tile((2,1))", lambda x: np.tile(x, (2, 1)), [((2, 3),)]),
    *each(np.tile, "np.tile(reps=(2,1,3))", lambda x: np.tile(x, reps=(2, 1, 3)), [((2, 3),)]),
    # autograd's rule sums the wrong axes when reps has fewer entries than x has axes.
    *each(np.tile, "np.tile-short-reps", lambda x: np.tile(x, 2), [((2, 3),)], autograd=False),
    *each(np.tile, "np.tile((2,))", lambda x: np.tile(x, (2,)), [((2, 3),)], autograd=False),
    *each(np.repeat, "np.repeat", lambda x: np.repeat(x, 2), [((3,),), ((2, 3),)]),
    *each(np.repeat, "np.repeat(axis=0)", lambda x: np.repeat(x, 3, axis=0), [((2, 3),)]),
    # autograd's rule fails on a 0-d array and sums the wrong axis for a negative one;
    # it takes an integer repeats only.
    *each(np.repeat, "np.repeat-0d", lambda x: np.repeat(x, 2), [((),)], autograd=False),
    *each(np.repeat, "np.repeat(x,2,-1)", lambda x: np.repeat(x, 2, -1), [((2, 3, 2),)], autograd=False),
    *each(np.repeat, "np.repeat([1,0,2],axis=1)", lambda x: np.repeat(x, [1, 0, 2], axis=1), [((2, 3),)], autograd=False),
    *each(np.repeat, "np.repeat([2,1,1,0])", lambda x: np.repeat(x, [2, 1, 1, 0]), [((2, 2),)], autograd=False),
    # autograd has no rule for np.take.
    *each(np.take, "np.take", lambda x: np.take(x, [0, 2, 2, -1]), [((5,),), ((2, 3),)], autograd=False),
    *each(np.take, "np.take(axis=1)", lambda x: np.take(x, INDEX_ROWS, axis=1), [((2, 3),), ((2, 3, 4),)], autograd=False),
    *each(np.take, "np.take(2d,axis=0)", lambda x: np.take(x, INDEX_2D, axis=0), [((4, 3),)], autograd=False),
    *each(np.take, "np.take(int)", lambda x: np.take(x, 1, axis=-1), [((2, 3),)], autograd=False),
    *each(np.take, "np.take(x,1)", lambda x: np.take(x, 1), [((2, 3),)], autograd=False),
    *each(np.take, "np.take(mode=wrap)", lambda x: np.take(x, [5, -7, 1], mode="wrap"), [((3,),)], autograd=False),
    *each(np.take, "np.take(mode=clip)", lambda x: np.take(x, [5, -7, 1], axis=0, mode="clip"), [((3, 2),)], autograd=False),
    # An empty index list: NumPy reads it as integers (np.asarray([]) is float).
    *each(np.take, "np.take(x,[])", lambda x: np.take(x, []), [((3,),)], autograd=False),
    *each(np.take, "np.take(x,[],axis=1)+x", lambda x: np.take(x, [], axis=1).sum(axis=1) + x[:, 0], [((2, 3),)], autograd=False),
    *each(np.take, "np.take(x,0,axis=0)-0d", lambda x: np.take(x, 0, axis=0), [((),)], autograd=False),
    *each(np.broadcast_to, "np.broadcast_to", lambda x: np.broadcast_to(x, (2, 3)), [((1, 3),)]),
    # autograd's rule fails when broadcasting adds leading axes, and on shape= by keyword.
    *each(np.broadcast_to, "np.broadcast_to-new-axes", lambda x: np.broadcast_to(x, (2, 3)), [((3,),), ((),)], autograd=False),
    *each(np.broadcast_to, "np.broadcast_to(shape=)", lambda x: np.broadcast_to(x, shape=(2, 3, 4)), [((3, 1),)], autograd=False),
    *each(np.broadcast_to, "np.broadcast_to(x,y.shape)", lambda x, y: np.broadcast_to(x, y.shape) * y, [((4,), (3, 4))],
          autograd=False),
    *each(np.moveaxis, "np.moveaxis(0,-1)", lambda x: np.moveaxis(x, 0, -1), [((2, 3, 4),)]),
    *each(np.moveaxis, "np.moveaxis(-1,0)", lambda x: np.moveaxis(x, -1, 0), [((2, 3, 4),)]),
    *each(np.moveaxis, "np.moveaxis([0,1],[-1,-2])", lambda x: np.moveaxis(x, [0, 1], [-1, -2]), [((2, 3, 4),)]),
    *each(np.moveaxis, "np.moveaxis(source=,destination=)", lambda x: np.moveaxis(x, source=1, destination=0), [((2, 3),)]),
    *each(np.sort, "np.sort", lambda x: np.sort(x), [((5,),)]),
    # autograd sorts only 1-d arrays.
    *each(np.sort, "np.sort-2d", lambda x: np.sort(x), [((3, 4),)], autograd=False),
    *each(np.sort, "np.sort(axis=0)", lambda x: np.sort(x, axis=0), [((3, 4),)], autograd=False),
    *each(np.sort, "np.sort(x,1)", lambda x: np.sort(x, 1), [((2, 3, 4),)], autograd=False),
    *each(np.sort, "np.sort(axis=None)", lambda x: np.sort(x, axis=None), [((3, 4),)], autograd=False),
    *each(np.partition, "np.partition", lambda x: np.partition(x, 2), [((6,),)]),
    *each(np.partition, "np.partition-2d", lambda x: np.partition(x, 1), [((3, 4),)], autograd=False),
    *each(np.partition, "np.partition(kth=list,axis=0)", lambda x: np.partition(x, [0, 2], axis=0), [((4, 3),)],
          autograd=False),
    *each(np.partition, "np.partition(axis=None)", lambda x: np.partition(x, 5, axis=None), [((3, 4),)],
          autograd=False),
    *each(np.fft.fftshift, "np.fft.fftshift", lambda x: np.fft.fftshift(x), [((5,),), ((3, 4),)]),
    *each(np.fft.fftshift, "np.fft.fftshift(axes=1)", lambda x: np.fft.fftshift(x, axes=1), [((3, 5),)]),
    *each(np.fft.ifftshift, "np.fft.ifftshift", lambda x: np.fft.ifftshift(x), [((5,),), ((3, 4),)]),
    *each(np.fft.ifftshift, "np.fft.ifftshift(axes=(0,))", lambda x: np.fft.ifftshift(x, axes=(0,)), [((3, 5),)]),
    *each(np.sort, "np.sort(kind=stable)", lambda x: np.sort(x, kind="stable"), [((5,),)], autograd=False),
    # autograd's rule needs mode passed by position.
    *each(np.pad, "np.pad", lambda x: np.pad(x, 1), [((3,),), ((2, 3),)], autograd=False),
    *each(np.pad, "np.pad(((1,2),(0,3)))", lambda x: np.pad(x, ((1, 2), (0, 3)), "constant"), [((2, 3),)]),
    *each(np.pad, "np.pad((2,1))", lambda x: np.pad(x, (2, 1), "constant"), [((2, 3),)]),
    *each(np.pad, "np.pad(constant_values=)", lambda x: np.pad(x, 1, "constant", constant_values=1.5), [((2, 3),)]),
    # autograd pads in constant mode only.
    *[row for mode in PAD_MODES
      for row in each(np.pad, f"np.pad(mode={mode})", pad_in_mode(mode), [((4,),), ((2, 3),)], autograd=False)],
]

# ----------------------------------------------------------------- array_like lists

# NumPy takes a list or tuple of arrays wherever it takes an array. autograd
# does not (it wants anp.array), so these rows rest on finite differences.
LIST_SHAPES = [((3,), (3,)), ((2,), (2,))]
LIST_ROWS = [
    *each(np.sum, "np.sum([x,y],axis=0)", lambda x, y: np.sum([x, y], axis=0), LIST_SHAPES, autograd=False),
    *each(np.sum, "np.sum([x,y])", lambda x, y: np.sum([x, y]), LIST_SHAPES[:1], autograd=False),
    *each(np.mean, "np.mean((x,y),axis=0)", lambda x, y: np.mean((x, y), axis=0), LIST_SHAPES[:1], autograd=False),
    *each(np.max, "np.max([x,y],axis=0)", lambda x, y: np.max([x, y], axis=0), LIST_SHAPES[:1], autograd=False),
    *each(np.sin, "np.sin([x,y])", lambda x, y: np.sin([x, y]), LIST_SHAPES[:1], autograd=False),
    *each(np.multiply, "np.multiply([x,y],y)", lambda x, y: np.multiply([x, y], y), LIST_SHAPES[:1], autograd=False),
    *each(np.maximum, "np.maximum([x,y],0.5)", lambda x, y: np.maximum([x, y], 0.5), LIST_SHAPES[:1], autograd=False),
    *each(np.clip, "np.clip([x,y])", lambda x, y: np.clip([x, y], 0.2, 0.8), LIST_SHAPES[:1], autograd=False),
    *each(np.where, "np.where(c,[x,y],0)", lambda x, y: np.where(WHERE_CONDITION[:2, :3], [x, y], 0.0), LIST_SHAPES[:1], autograd=False),
    *each(np.dot, "np.dot([x,y],y)", lambda x, y: np.dot([x, y], y), LIST_SHAPES[:1], autograd=False),
    *each(np.reshape, "np.reshape([x,y],-1)", lambda x, y: np.reshape([x, y], -1), LIST_SHAPES[:1], autograd=False),
    *each(np.transpose, "np.transpose([x,y])", lambda x, y: np.transpose([x, y]), LIST_SHAPES[:1], autograd=False),
    *each(np.concatenate, "np.concatenate([[x],[y]])", lambda x, y: np.concatenate([[x], [y]]), LIST_SHAPES[:1], autograd=False),
]

# ----------------------------------------------------------------- more elementwise

MORE_UFUNC_ROWS = [
    *each(np.arcsinh, "np.arcsinh", lambda x: np.arcsinh(x), ONE),
    *each(np.arccosh, "np.arccosh", lambda x: np.arccosh(x), ONE, domain=(1.2, 3.0)),
    *each(np.arctanh, "np.arctanh", lambda x: np.arctanh(x), ONE, domain=UNIT),
    *each(np.deg2rad, "np.deg2rad", lambda x: np.deg2rad(x), ONE),
    *each(np.radians, "np.radians", lambda x: np.radians(x), ONE),
    *each(np.rad2deg, "np.rad2deg", lambda x: np.rad2deg(x), ONE),
    *each(np.degrees, "np.degrees", lambda x: np.degrees(x), ONE),
    # autograd has no rule for np.cbrt.
    *each(np.cbrt, "np.cbrt", lambda x: np.cbrt(x), ONE, domain=AWAY_FROM_ZERO, autograd=False),
    *each(np.cbrt, "np.cbrt-negative", lambda x: np.cbrt(x), [((3, 4),)], domain=(-2.0, -0.5), autograd=False),
    *each(np.sinc, "np.sinc", lambda x: np.sinc(x), ONE),
    # sinc is flat at 0 and its slope is computed from a series near 0.
    Row(np.sinc, "np.sinc-near-zero", lambda x: np.sinc(x), None, values=([0.0, 1e-9, -3e-3, 9.9e-3, 0.0101, 1.0],),
        autograd=False),
    *each(np.logaddexp, "np.logaddexp", lambda x, y: np.logaddexp(x, y), BROADCASTS),
    Row(np.logaddexp, "np.logaddexp-large", lambda x, y: np.logaddexp(x, y), None,
        values=([800.0, -800.0, 3.0], [799.0, -801.0, 3.0]), autograd=False),
    *each(np.logaddexp2, "np.logaddexp2", lambda x, y: np.logaddexp2(x, y), BROADCASTS),
    *each(np.hypot, "np.hypot", lambda x, y: np.hypot(x, y), BROADCASTS, domain=AWAY_FROM_ZERO),
    *each(np.hypot, "np.hypot-signs", lambda x, y: np.hypot(x, y), BROADCASTS[3:5]),
    # autograd has no rule for np.copysign; its slope in x2 is 0.
    *each(np.copysign, "np.copysign", lambda x, y: np.copysign(x, y), BROADCASTS, autograd=False),
    *each(np.copysign, "np.copysign(x,-1)", lambda x: np.copysign(x, -1.0), ONE, autograd=False),
    *each(np.copysign, "np.copysign(1,x)*x", lambda x: np.copysign(1.0, x) * x, ONE, autograd=False),
    # x / y stays inside (1, 2) or (-2, -1): away from the jumps. autograd has no np.fmod.
    *each(np.fmod, "np.fmod", lambda x, y: np.fmod(x, y), [((3, 4), (3, 4)), ((3, 1), (1, 4))],
          domain=((2.2, 2.6), (1.5, 2.0)), autograd=False),
    *each(np.fmod, "np.fmod-negative", lambda x, y: np.fmod(x, y), [((3, 4), ())],
          domain=((-2.6, -2.2), (1.5, 2.0)), autograd=False),
    *each(np.fmod, "np.fmod(x,float)", lambda x: np.fmod(x, 1.0), ONE, domain=(0.1, 0.9), autograd=False),
    # autograd has no rule for np.float_power.
    *each(np.float_power, "np.float_power", lambda x, y: np.float_power(x, y), BROADCASTS, domain=POSITIVE,
          autograd=False),
    *each(np.float_power, "np.float_power(x,3)", lambda x: np.float_power(x, 3), ONE, autograd=False),
    Row(np.float_power, "np.float_power(x,0)-at-zero", lambda x: np.float_power(x, 0.0), None,
        values=([0.0, 1.5, -2.0],), autograd=False),
]

# ----------------------------------------------------------------- more matrices


def symmetric(x):
    return x @ x.T + 3.0 * np.eye(3)


def symmetric_stack(x):
    return x @ np.swapaxes(x, -1, -2) + 3.0 * np.eye(3)


def logdet(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return logabsdet


def logdet_of_reversed_rows(a):
    sign, logabsdet = np.linalg.slogdet(a[::-1] + SHIFT[::-1])  # a negative determinant
    return logabsdet + sign


def logdet_of_symmetric(x):
    sign, logabsdet = np.linalg.slogdet(symmetric(x))
    return logabsdet * sign


def logdet_item(a):
    return np.linalg.slogdet(a + SHIFT)[1]


def slogdet_two_ways(a):
    result = np.linalg.slogdet(a + SHIFT)
    return result.logabsdet * result[0] + result[1]


def logdet_field(a):
    return np.linalg.slogdet(a + SHIFT).logabsdet * 2.0


def sign_times_x(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return sign * a


def eigenvalues(x):
    w, v = np.linalg.eigh(symmetric(x))
    return w


def eigenvalues_item(x):
    return np.linalg.eigh(symmetric_stack(x))[0]


def eigenvectors(x):
    # Each column times its first entry: independent of the eigenvector's sign.
    w, v = np.linalg.eigh(symmetric(x))
    return v * v[0] + w[:, None]


def eigenvectors_upper(x):
    w, v = np.linalg.eigh(x, UPLO="U")
    return v * v[0] + w


def eigenvectors_raw(a):
    # NumPy reads the lower triangle of a: the upper one gets no derivative.
    w, v = np.linalg.eigh(a)
    return v * v[-1]


def eigenvalues_field(x):
    return np.linalg.eigh(symmetric(x)).eigenvalues * 2.0


SYMMETRIC = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.7], [0.5, -0.7, 2.0]])

MORE_LINALG_ROWS = [
    *each(np.linalg.slogdet, "slogdet", logdet, [((3, 3),)], domain=(-0.5, 0.5)),
    *each(np.linalg.slogdet, "slogdet-negative-det", logdet_of_reversed_rows, [((3, 3),)], domain=(-0.5, 0.5)),
    *each(np.linalg.slogdet, "slogdet-of-symmetric", logdet_of_symmetric, [((3, 3),), ((3, 2),)]),
    *each(np.linalg.slogdet, "slogdet[1]", logdet_item, [((3, 3),), ((2, 3, 3),)]),
    *each(np.linalg.slogdet, "slogdet.logabsdet", logdet_field, [((3, 3),)], autograd=False),
    *each(np.linalg.slogdet, "sign*x", sign_times_x, [((3, 3),)]),
    # A tuple result reached two ways: its adjoints add item by item.
    *each(np.linalg.slogdet, "slogdet-item-and-field", slogdet_two_ways, [((3, 3),)], autograd=False),
    # autograd symmetrizes the cotangent of cholesky and eigh: it agrees on symmetric inputs.
    *each(np.linalg.cholesky, "cholesky-of-symmetric", lambda x: np.linalg.cholesky(symmetric(x)), [((3, 3),), ((3, 2),)]),
    *each(np.linalg.cholesky, "cholesky-stack", lambda x: np.linalg.cholesky(symmetric_stack(x)), [((2, 3, 3),)]),
    # NumPy reads the lower triangle only (the upper one with upper=True).
    Row(np.linalg.cholesky, "cholesky-reads-lower", lambda a: np.linalg.cholesky(a), None, values=(SYMMETRIC,),
        autograd=False),
    Row(np.linalg.cholesky, "cholesky(upper=True)", lambda a: np.linalg.cholesky(a, upper=True), None,
        values=(SYMMETRIC,), autograd=False, skip=numpy_before("2.0.0", "np.linalg.cholesky(upper=True)")),
    *each(np.linalg.cholesky, "cholesky(upper=True)-of-symmetric",
          lambda x: np.linalg.cholesky(symmetric(x), upper=True), [((3, 3),)], autograd=False,
          skip=numpy_before("2.0.0", "np.linalg.cholesky(upper=True)")),
    *each(np.linalg.eigh, "eigh-eigenvalues", eigenvalues, [((3, 3),), ((3, 2),)]),
    *each(np.linalg.eigh, "eigh[0]-stack", eigenvalues_item, [((2, 3, 3),)]),
    *each(np.linalg.eigh, "eigh-eigenvectors", eigenvectors, [((3, 3),)]),
    *each(np.linalg.eigh, "eigh.eigenvalues", eigenvalues_field, [((3, 3),)], autograd=False),
    Row(np.linalg.eigh, "eigh-reads-lower", eigenvectors_raw, None, values=(SYMMETRIC,), autograd=False),
    Row(np.linalg.eigh, "eigh(UPLO=U)", eigenvectors_upper, None, values=(SYMMETRIC,), autograd=False),
    *each(np.linalg.pinv, "pinv", lambda x: np.linalg.pinv(x), [((3, 2),), ((2, 4),), ((3, 3),)]),
    # autograd's pinv rule assumes one matrix.
    *each(np.linalg.pinv, "pinv-stack", lambda x: np.linalg.pinv(x), [((2, 4, 3),)], autograd=False),
    *each(np.linalg.pinv, "pinv(rcond=)", lambda x: np.linalg.pinv(x, rcond=1e-10), [((3, 2),)], autograd=False),
    # autograd does not trace np.linalg.multi_dot and matrix_power.
    *each(np.linalg.multi_dot, "multi_dot", lambda x, y, z: np.linalg.multi_dot([x, y, z]),
          [((2, 4), (4, 3), (3, 5)), ((4,), (4, 3), (3,)), ((4,), (4, 3), (3, 2)), ((2, 4), (4, 3), (3,))],
          autograd=False),
    *each(np.linalg.multi_dot, "multi_dot-4", lambda w, x, y, z: np.linalg.multi_dot([w, x, y, z]),
          [((2, 3), (3, 4), (4, 2), (2, 3))], autograd=False),
    *each(np.linalg.multi_dot, "multi_dot(x,const,x)", lambda x: np.linalg.multi_dot((x, SHIFT, x.T)), [((2, 3),)],
          autograd=False),
    *each(np.linalg.matrix_power, "matrix_power", lambda x: np.linalg.matrix_power(x, 3), [((3, 3),), ((2, 3, 3),)],
          autograd=False),
    *each(np.linalg.matrix_power, "matrix_power(x,1)", lambda x: np.linalg.matrix_power(x, 1), [((3, 3),)],
          autograd=False),
    *each(np.linalg.matrix_power, "matrix_power(x,0)*x", lambda x: np.linalg.matrix_power(x, 0) * x, [((3, 3),)],
          autograd=False),
    *each(np.linalg.matrix_power, "matrix_power(x,-2)", lambda x: np.linalg.matrix_power(x + SHIFT, -2),
          [((3, 3),), ((2, 3, 3),)], autograd=False),
    *each(np.cross, "np.cross", lambda x, y: np.cross(x, y), [((3,), (3,)), ((4, 3), (4, 3))]),
    # autograd's rule does not sum broadcast cotangents back.
    *each(np.cross, "np.cross-broadcast", lambda x, y: np.cross(x, y), [((4, 3), (3,)), ((2, 1, 3), (4, 3))],
          autograd=False),
    # autograd's rule reads axisc wrongly.
    *each(np.cross, "np.cross(axis=0)", lambda x, y: np.cross(x, y, axis=0), [((3, 4), (3, 4)), ((3, 4), (3, 1))],
          autograd=False),
    *each(np.cross, "np.cross(axisa=0,axisc=0)", lambda x, y: np.cross(x, y, axisa=0, axisb=-1, axisc=0),
          [((3, 2), (2, 3))], autograd=False),
    *each(np.cross, "np.cross(x,const)", lambda x: np.cross(x, CONSTANT_VECTOR), [((2, 3),)]),
]

# ----------------------------------------------------------------- more shapes


def halves(x):
    first, second = np.split(x, 2)
    return first * second


def split_columns(x):
    parts = np.split(x, [1, 3], axis=1)
    return parts[0] * parts[2] + parts[1].sum(axis=1, keepdims=True)


def split_one_piece(x):
    return np.split(x, 3, axis=-1)[1]


def split_out_of_order(x):
    parts = np.split(x, [3, 1])
    return np.concatenate([parts[0], parts[2] * 2.0])


def array_split_uneven(x):
    parts = np.array_split(x, 3)
    return parts[0].sum() + parts[1] * parts[2].sum()


def split_stacked(x):
    return np.stack(np.split(x, 2, axis=0)) * 2.0


def split_loop(x):
    total = 0.0
    parts = np.array_split(x, 2)
    for part in parts:
        total = total + np.sum(part * part)
    return total


def average_weighted(a, w):
    return np.average(a, axis=1, weights=w)


TAKE_INDICES = np.array([[0, 2, 2], [1, 0, 1]])
ARGSORT_COLUMNS = np.array([[2, 0, 1, 3], [0, 1, 3, 2], [3, 3, 0, 1]])
KNOTS = np.array([0.0, 0.5, 1.5, 2.0, 3.0])
SAMPLES = np.array([-0.5, 0.25, 0.5, 1.0, 2.5, 3.0, 3.5])

MORE_SHAPE_ROWS = [
    *each(np.diagonal, "np.diagonal(axis1=-1,axis2=-2)", lambda x: np.diagonal(x, axis1=-1, axis2=-2), [((3, 3),)]),
    # autograd's np.diagonal takes only axis1=-1, axis2=-2 and offset 0, and its boxes no .diagonal method.
    *each(np.diagonal, "np.diagonal", lambda x: np.diagonal(x), [((3, 3),), ((3, 4),), ((2, 3, 4),)], autograd=False),
    *each(np.diagonal, "np.diagonal(offset=1)", lambda x: np.diagonal(x, offset=1), [((3, 4),)], autograd=False),
    *each(np.diagonal, "np.diagonal(x,-1)", lambda x: np.diagonal(x, -1), [((4, 3),)], autograd=False),
    *each(np.diagonal, "np.diagonal(axis1=1,axis2=2)", lambda x: np.diagonal(x, axis1=1, axis2=2), [((2, 3, 4),)],
          autograd=False),
    *each(np.diagonal, "np.diagonal(0,-1,0)", lambda x: np.diagonal(x, 0, -1, 0), [((3, 2, 3),)], autograd=False),
    *each(np.diagonal, "x.diagonal()", lambda x: x.diagonal(), [((3, 3),)], autograd=False),
    *each(np.diagonal, "x.diagonal(1,1,2)", lambda x: x.diagonal(1, 1, 2), [((2, 3, 4),)], autograd=False),
    *each(np.tril, "np.tril", lambda x: np.tril(x), [((3, 3),), ((3, 4),), ((2, 3, 4),)]),
    *each(np.tril, "np.tril(k=-1)", lambda x: np.tril(x, k=-1), [((4, 3),)]),
    *each(np.tril, "np.tril(x,1)", lambda x: np.tril(x, 1), [((3, 4),)]),
    *each(np.triu, "np.triu", lambda x: np.triu(x), [((3, 3),), ((3, 4),), ((2, 3, 4),)]),
    *each(np.triu, "np.triu(k=1)", lambda x: np.triu(x, k=1), [((4, 3),)]),
    # A 1-d input is repeated as the rows of a square matrix; autograd's rule does not sum them back.
    *each(np.tril, "np.tril-1d", lambda x: np.tril(x), [((4,),)], autograd=False),
    *each(np.triu, "np.triu(x,-1)-1d", lambda x: np.triu(x, -1), [((4,),)], autograd=False),
    # autograd has no rule for column_stack and dstack (nor np.append).
    *each(np.column_stack, "np.column_stack", lambda x, y: np.column_stack([x, y]), [((3,), (3,)), ((3,), (3, 2)),
                                                                                   ((3, 2), (3, 1))], autograd=False),
    *each(np.column_stack, "np.column_stack(x,x)", lambda x: np.column_stack((x, x * 2.0)), [((4,),)], autograd=False),
    *each(np.dstack, "np.dstack", lambda x, y: np.dstack([x, y]), [((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (2, 3, 2))],
          autograd=False),
    *each(np.dstack, "np.dstack-0d", lambda x, y: np.dstack((x, y)), [((), ())], autograd=False),
    *each(np.append, "np.append", lambda x, y: np.append(x, y), [((3,), (2,)), ((2, 3), (4,)), ((2, 2), ())],
          autograd=False),
    *each(np.append, "np.append(axis=0)", lambda x, y: np.append(x, y, axis=0), [((2, 3), (1, 3))], autograd=False),
    *each(np.append, "np.append(x,y,-1)", lambda x, y: np.append(x, y, -1), [((2, 3), (2, 2))], autograd=False),
    *each(np.append, "np.append(x,const)", lambda x: np.append(x, [1.0, 2.0]), [((3,),)], autograd=False),
    *each(np.append, "np.append(const,x)", lambda x: np.append(CONSTANT_VECTOR, x), [((2,),)], autograd=False),
    # autograd has no rule for np.take_along_axis.
    *each(np.take_along_axis, "np.take_along_axis(axis=1)", lambda x: np.take_along_axis(x, TAKE_INDICES, axis=1),
          [((2, 3),), ((2, 4),)], autograd=False),
    *each(np.take_along_axis, "np.take_along_axis(axis=0)", lambda x: np.take_along_axis(x, ARGSORT_COLUMNS, 0),
          [((4, 4),)], autograd=False),
    *each(np.take_along_axis, "np.take_along_axis-broadcast", lambda x: np.take_along_axis(x, TAKE_INDICES[:1], axis=-1),
          [((2, 3),)], autograd=False),
    *each(np.take_along_axis, "np.take_along_axis(argsort)", lambda x: np.take_along_axis(x, np.argsort(x, axis=0), 0),
          [((3, 4),)], autograd=False),
    *each(np.take_along_axis, "np.take_along_axis(axis=None)", lambda x: np.take_along_axis(x, INDEX, axis=None),
          [((2, 3),)], autograd=False),
    *each(np.take_along_axis, "np.take_along_axis-3d", lambda x: np.take_along_axis(x, np.zeros((2, 1, 3), int) + 1, 1),
          [((2, 4, 3),)], autograd=False),
    # autograd's np.split rule does not take a list of unused pieces.
    *each(np.split, "a,b=np.split(x,2)", halves, [((4,),), ((4, 3),)], autograd=False),
    *each(np.split, "np.split(x,[1,3],axis=1)", split_columns, [((2, 5),)], autograd=False),
    *each(np.split, "np.split(x,3,axis=-1)[1]", split_one_piece, [((2, 6),)], autograd=False),
    *each(np.split, "np.split-out-of-order", split_out_of_order, [((5,),)], autograd=False),
    *each(np.split, "np.stack(np.split)", split_stacked, [((4, 2),)], autograd=False),
    *each(np.array_split, "np.array_split", array_split_uneven, [((7,),)], autograd=False),
    *each(np.array_split, "for p in np.array_split", split_loop, [((5,),)], autograd=False),
    # autograd treats np.full_like as a constant.
    *each(np.full_like, "np.full_like", lambda x, v: np.full_like(x, v) * x, [((3, 4), ()), ((3, 4), (4,))],
          autograd=False),
    *each(np.full_like, "np.full_like(x,const)", lambda x: np.full_like(x, 2.0) + x, [((3,),)], autograd=False),
    *each(np.full_like, "np.full_like(shape=)", lambda x, v: np.full_like(x, v, shape=(2, 3)), [((4,), (3,))],
          autograd=False),
    Row(np.full_like, "np.full_like(int)", lambda v: np.full_like(INDEX, v) * v, None, values=(1.5,), autograd=False),
    # autograd has no rule for np.average.
    *each(np.average, "np.average", lambda x: np.average(x), [((5,),), ((3, 4),)], autograd=False),
    *each(np.average, "np.average(axis=1)", lambda x: np.average(x, axis=1), [((3, 4),)], autograd=False),
    *each(np.average, "np.average(weights=)", lambda x, w: np.average(x, weights=w), [((5,), (5,)), ((3, 4), (3, 4))],
          domain=(WIDE, POSITIVE), autograd=False),
    *each(np.average, "np.average(axis=1,weights=)", average_weighted, [((3, 4), (4,)), ((3, 4), (3, 4))],
          domain=(WIDE, POSITIVE), autograd=False),
    *each(np.average, "np.average(axis=(0,2),weights=,keepdims)",
          lambda x, w: np.average(x, axis=(0, 2), weights=w, keepdims=True), [((2, 3, 4), (2, 3, 4))],
          domain=(WIDE, POSITIVE), autograd=False),
    *each(np.average, "np.average(x,0,const)", lambda x: np.average(x, 0, CONSTANT_VECTOR[:2] + 2.0), [((2, 3),)],
          autograd=False),
    # autograd has no np.trapezoid.
    *each(TRAPEZOID, "np.trapezoid", lambda y: np.trapezoid(y), [((5,),), ((3, 4),)], autograd=False),
    *each(TRAPEZOID, "np.trapezoid(dx=)", lambda y: np.trapezoid(y, dx=0.5), [((5,),)], autograd=False),
    *each(TRAPEZOID, "np.trapezoid(y,dx=d)", lambda y, d: np.trapezoid(y, dx=d), [((5,), ()), ((2, 4), ())],
          autograd=False),
    *each(TRAPEZOID, "np.trapezoid(y,x)", lambda y, x: np.trapezoid(y, x), [((5,), (5,)), ((3, 4), (4,))],
          autograd=False),
    *each(TRAPEZOID, "np.trapezoid(y,x,axis=0)", lambda y, x: np.trapezoid(y, x, axis=0),
          [((4, 3), (4,)), ((4, 3), (4, 3)), ((4, 3), (4, 1))], autograd=False),
    *each(TRAPEZOID, "np.trapezoid(y,const-x)", lambda y: np.trapezoid(y, KNOTS), [((5,),)], autograd=False),
    *each(TRAPEZOID, "np.trapezoid(y,x,axis=1)", lambda y, x: np.trapezoid(y, x=x, axis=1), [((2, 3, 2), (3,))],
          autograd=False),
    # np.polyval in the coefficients and the points (rules/polynomials.py); a constant polynomial too
    *each(np.polyval, "np.polyval", lambda p, x: np.polyval(p, x), [((4,), (2, 3)), ((3,), ())], autograd=False),
    *each(np.polyval, "np.polyval(p,const)", lambda p: np.polyval(p, np.array([0.0, 0.5, -2.0])), [((1,),)],
          autograd=False),
    # autograd has no rule for np.interp. The samples stay off the knots (kinks).
    *each(np.interp, "np.interp(x,xp,fp)", lambda x, fp: np.interp(x, KNOTS, fp), [((7,), (5,)), ((2, 3), (5,)), ((), (5,))],
          domain=((-0.7, 3.7), WIDE), autograd=False),
    *each(np.interp, "np.interp(x,xp,const)", lambda x: np.interp(x, KNOTS, KNOTS ** 2), [((6,),)], domain=(-0.5, 3.5),
          autograd=False),
    *each(np.interp, "np.interp(const,xp,fp)", lambda fp: np.interp(SAMPLES, KNOTS, fp), [((5,),)], autograd=False),
    *each(np.interp, "np.interp(left=,right=)", lambda x, fp: np.interp(x, KNOTS, fp, left=0.0, right=-1.0),
          [((7,), (5,))], domain=((-0.7, 3.7), WIDE), autograd=False),
    # the knots moved (by at most 0.18: they stay in order, the samples off them), with x and fp
    *each(np.interp, "np.interp(x,xp,fp,left=)", lambda x, d, fp: np.interp(x, KNOTS + 0.2 * d, fp, left=-2.0),
          [((2, 3), (5,), (5,))], domain=((-0.7, 3.7), UNIT, WIDE), autograd=False),
]

# ----------------------------------------------------------------- convolutions

CONVOLVE_SHAPES = [((5,), (3,)), ((3,), (5,)), ((4,), (4,)), ((1,), (3,)), ((2,), (5,)), ((4,), (6,)), ((6,), (4,)),
                   ((5,), (2,))]


def convolution(function, mode):
    def convolved(a, v):
        return function(a, v, mode=mode)

    return convolved


# autograd has no rule for np.convolve and np.correlate.
CONVOLUTION_ROWS = [
    *[row for function in (np.convolve, np.correlate) for mode in ("full", "same", "valid")
      for row in each(function, f"np.{function.__name__}(mode={mode})", convolution(function, mode), CONVOLVE_SHAPES,
                      autograd=False)],
    *each(np.convolve, "np.convolve", lambda a, v: np.convolve(a, v), [((4,), (3,)), ((), (3,))], autograd=False),
    *each(np.convolve, "np.convolve(a,v,1)", lambda a, v: np.convolve(a, v, 1), [((4,), (3,))], autograd=False),
    *each(np.convolve, "np.convolve(x,const)", lambda a: np.convolve(a, CONSTANT_VECTOR, "same"), [((5,),)], autograd=False),
    *each(np.convolve, "np.convolve(x,x)", lambda a: np.convolve(a, a[::-1] * 2.0), [((4,),)], autograd=False),
    *each(np.correlate, "np.correlate", lambda a, v: np.correlate(a, v), [((5,), (3,)), ((3,), (5,))], autograd=False),
    *each(np.correlate, "np.correlate(a,v,'full')", lambda a, v: np.correlate(a, v, "full"), [((2,), (3,))],
          autograd=False),
    *each(np.correlate, "np.correlate(const,x)", lambda v: np.correlate(CONSTANT_VECTOR, v, mode="same"), [((4,),)],
          autograd=False),
]

# ----------------------------------------------------------------- order statistics


def quantile_of(function, q, axis, keepdims):
    def statistic(x):
        return function(x, q, axis=axis, keepdims=keepdims)

    return statistic


PERCENTS = np.array([[0.0, 25.0], [62.5, 100.0]])

# autograd has no rule for np.median, np.percentile and np.quantile. The
# random values have no ties, where the derivative does not exist.
ORDER_ROWS = [
    *[Row(np.median, f"np.median-axis={axis}-keepdims={keepdims}", reducer(np.median, axis, keepdims), ((2, 3, 4),),
          autograd=False)
      for axis in (None, 0, 1, -1, (0, 2), (2, -3)) for keepdims in (False, True)],
    *each(np.median, "np.median", lambda x: np.median(x), [((5,),), ((4,),), ((1,),), ((),)], autograd=False),
    *each(np.median, "np.median(x,0)", lambda x: np.median(x, 0), [((4, 3),), ((3, 2),)], autograd=False),
    *[Row(function, f"np.{function.__name__}(q={q!r})-axis={axis}-keepdims={keepdims}",
          quantile_of(function, q, axis, keepdims), ((3, 4, 5),), autograd=False)
      for function, qs in ((np.percentile, (30.0, 100.0, [10.0, 50.0, 95.0], PERCENTS)),
                           (np.quantile, (0.3, 0.0, [0.25, 0.5], PERCENTS / 100.0)))
      for q in qs for axis, keepdims in ((None, False), (1, False), (-1, True), ((0, 2), False), ((0, 2), True))],
    *each(np.percentile, "np.percentile(x,40)", lambda x: np.percentile(x, 40), [((6,),), ((2, 5),)], autograd=False),
    *each(np.quantile, "np.quantile(x,q,0,method=linear)", lambda x: np.quantile(x, 0.7, 0, method="linear"),
          [((5, 2),)], autograd=False),
]

# ----------------------------------------------------------------- NaN-ignoring reductions

NAN_REDUCTIONS = [np.nansum, np.nanmean, np.nanprod, np.nanmax, np.nanmin, np.nanvar, np.nanstd]
WITH_NANS = np.array([[0.3, np.nan, -1.2, 0.8], [np.nan, 1.1, 0.5, 1.5], [2.0, -0.7, np.nan, 0.4]])

# autograd has none of them. NaN positions get no derivative (finite differences see none).
NAN_ROWS = [
    *[Row(reduce, f"np.{reduce.__name__}-axis={axis}-keepdims={keepdims}", reducer(reduce, axis, keepdims),
          ((2, 3, 4),), (-1.5, 1.5), autograd=False)
      for reduce in NAN_REDUCTIONS for axis in (None, 0, -1, (0, 2)) for keepdims in (False, True)],
    *[Row(reduce, f"np.{reduce.__name__}-nans-axis={axis}", reducer(reduce, axis, False), None, values=(WITH_NANS,),
          autograd=False)
      for reduce in NAN_REDUCTIONS for axis in (None, 0, 1)],
    *each(np.nansum, "np.nansum", lambda x: np.nansum(x), [((5,),), ((),)], autograd=False),
    *each(np.nanmean, "np.nanmean(x,1)", lambda x: np.nanmean(x, 1), [((2, 3),)], autograd=False),
    *each(np.nanvar, "np.nanvar(ddof=1)", lambda x: np.nanvar(x, ddof=1), [((5,),)], autograd=False),
    *each(np.nanstd, "np.nanstd(x,0,ddof=1,keepdims)", lambda x: np.nanstd(x, 0, ddof=1, keepdims=True), [((4, 3),)],
          autograd=False),
    Row(np.nanvar, "np.nanvar(ddof=1)-nans", lambda x: np.nanvar(x, axis=1, ddof=1), None, values=(WITH_NANS,),
        autograd=False),
    Row(np.nanstd, "np.nanstd(ddof=1)-nans", lambda x: np.nanstd(x, axis=1, ddof=1), None, values=(WITH_NANS[[0, 2]],),
        autograd=False),
    Row(np.nanprod, "np.nanprod-zero-and-nan", lambda x: np.nanprod(x, axis=1), None,
        values=([[0.0, np.nan, 2.0], [0.0, 0.0, np.nan]],), autograd=False),
]

# ----------------------------------------------------------------- more rearrangements and products

ROT90_AXES = [(0, 1), (1, 2), (2, 0), (-1, 0)]

MORE_REARRANGE_ROWS = [
    *each(np.fliplr, "np.fliplr", lambda x: np.fliplr(x), [((3, 4),), ((2, 3, 4),)]),
    *each(np.flipud, "np.flipud", lambda x: np.flipud(x), [((4,),), ((3, 4),), ((2, 3, 4),)]),
    *each(np.rot90, "np.rot90", lambda x: np.rot90(x), [((3, 4),), ((2, 3, 4),)]),
    *[row for k in (0, 1, 2, 3, -1, 5) for axes in ROT90_AXES
      for row in each(np.rot90, f"np.rot90(k={k},axes={axes})", (lambda k, axes: lambda x: np.rot90(x, k, axes))(k, axes),
                      [((2, 3, 4),)], autograd=False)],
    *each(np.rot90, "np.rot90(x,2)", lambda x: np.rot90(x, 2), [((3, 4),)]),
    *each(np.rollaxis, "np.rollaxis(x,2)", lambda x: np.rollaxis(x, 2), [((2, 3, 4),)]),
    *each(np.rollaxis, "np.rollaxis(x,0,3)", lambda x: np.rollaxis(x, 0, 3), [((2, 3, 4),)]),
    *each(np.rollaxis, "np.rollaxis(x,1,start=3)", lambda x: np.rollaxis(x, 1, start=3), [((2, 3, 4, 5),)]),
    # autograd's rule reads a negative axis or start wrongly.
    *each(np.rollaxis, "np.rollaxis(x,-1,1)", lambda x: np.rollaxis(x, -1, 1), [((2, 3, 4),)], autograd=False),
    *each(np.rollaxis, "np.rollaxis(x,0,-1)", lambda x: np.rollaxis(x, 0, -1), [((2, 3, 4),)], autograd=False),
    *each(np.rollaxis, "np.rollaxis(x,1,1)", lambda x: np.rollaxis(x, 1, 1), [((2, 3, 4),)], autograd=False),
    *each(np.rollaxis, "np.rollaxis(x,2,2)", lambda x: np.rollaxis(x, 2, 2), [((2, 3, 4),)], autograd=False),
    *each(np.atleast_3d, "np.atleast_3d", lambda x: np.atleast_3d(x), [((),), ((3,),), ((2, 3),), ((2, 3, 4),)]),
    *each(np.diagflat, "np.diagflat", lambda x: np.diagflat(x), [((3,),), ((2, 2),), ((),)], autograd=False),
    *each(np.diagflat, "np.diagflat(k=1)", lambda x: np.diagflat(x, k=1), [((3,),)], autograd=False),
    *each(np.diagflat, "np.diagflat(x,-2)", lambda x: np.diagflat(x, -2), [((2, 2),)], autograd=False),
    *each(np.ediff1d, "np.ediff1d", lambda x: np.ediff1d(x), [((5,),), ((2, 3),), ((1,),)], autograd=False),
    *each(np.ediff1d, "np.ediff1d(to_begin=,to_end=)", lambda x: np.ediff1d(x, to_begin=[1.0, 2.0], to_end=3.0),
          [((4,),), ((2, 2),), ((1,),)], autograd=False),
    *each(np.ediff1d, "np.ediff1d(x,[0.5,0.5])", lambda x: np.ediff1d(x, [0.5, 0.5]), [((3,),)], autograd=False),
    *each(np.ediff1d, "np.ediff1d(to_begin=0.0)", lambda x: np.ediff1d(x, to_begin=0.0), [((3,),)], autograd=False),
    *[Row(np.ptp, f"np.ptp-axis={axis}-keepdims={keepdims}", reducer(np.ptp, axis, keepdims), ((2, 3, 4),),
          autograd=False)
      for axis in (None, 0, -1, (0, 2)) for keepdims in (False, True)],
    *each(np.ptp, "np.ptp", lambda x: np.ptp(x), [((5,),), ((),)], autograd=False),
    Row(np.ptp, "np.ptp-ties", lambda x: np.ptp(x, axis=1), None, values=([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]],),
        autograd=False),
    *each(np.inner, "np.inner", lambda x, y: np.inner(x, y),
          [((4,), (4,)), ((3, 4), (4,)), ((4,), (2, 4)), ((3, 4), (2, 4)), ((2, 3, 4), (5, 4)), ((), (3,)), ((3, 2), ())]),
    *each(np.inner, "np.inner(x,x)", lambda x: np.inner(x, x), [((3, 4),)]),
    # autograd has no rule for np.vdot.
    *each(np.vdot, "np.vdot", lambda x, y: np.vdot(x, y), [((4,), (4,)), ((2, 3), (6,)), ((2, 3), (3, 2)), ((), ())],
          autograd=False),
    *each(np.vdot, "np.vdot(x,x)", lambda x: np.vdot(x, x), [((2, 3),)], autograd=False),
    *each(np.fmax, "np.fmax", lambda x, y: np.fmax(x, y), BROADCASTS),
    *each(np.fmin, "np.fmin", lambda x, y: np.fmin(x, y), BROADCASTS),
    *each(np.fmax, "np.fmax(x,float)", lambda x: np.fmax(x, 0.0), ONE),
    # One input NaN: the other is the result.
    Row(np.fmax, "np.fmax-nans", lambda x, y: np.fmax(x, y), None,
        values=([1.0, np.nan, 2.0, np.nan], [np.nan, 0.5, 3.0, -1.0]), autograd=False),
    Row(np.fmin, "np.fmin-nans", lambda x, y: np.fmin(x, y), None,
        values=([1.0, np.nan, 2.0, 0.7], [np.nan, 0.5, 3.0, 0.7]), autograd=False),
    *each(np.nan_to_num, "np.nan_to_num", lambda x: np.nan_to_num(x), ONE),
    Row(np.nan_to_num, "np.nan_to_num-replaced", lambda x: np.nan_to_num(x, nan=1.0, posinf=5.0, neginf=-5.0) * 2.0,
        None, values=([0.5, np.nan, np.inf, -np.inf, -1.5],), autograd=False),
    Row(np.nan_to_num, "np.nan_to_num-defaults", lambda x: np.nan_to_num(x), None,
        values=([[0.5, np.nan], [np.inf, -2.0]],), autograd=False),
]

# ----------------------------------------------------------------- statistics of matrices, decompositions


def eigvalsh_of_symmetric(x):
    return np.linalg.eigvalsh(symmetric(x))


def eigvalsh_of_stack(x):
    return np.linalg.eigvalsh(symmetric_stack(x))


def qr_of(a):
    # q's columns and r's rows have the signs Householder gives: smooth nearby.
    q, r = np.linalg.qr(a)
    return q * 2.0 + np.sum(r, axis=-2, keepdims=True)


def qr_r_only(a):
    return np.linalg.qr(a)[1]


def qr_q_only(a):
    result = np.linalg.qr(a)
    return result.Q


def lstsq_solution(a, b):
    x, residuals, rank, sv = np.linalg.lstsq(a, b)
    return x


def lstsq_item(a, b):
    return np.linalg.lstsq(a, b, rcond=None)[0]


def lstsq_const_rhs(a):
    x, _, _, _ = np.linalg.lstsq(a, CONSTANT_VECTOR)
    return x


SEPARATED = np.diag([1.0, 2.5, 4.0])  # real eigenvalues well apart, kept so by small perturbations
SEPARATED_2 = np.diag([1.0, 3.0])


def eig_values_and_vectors(x):
    w, v = np.linalg.eig(SEPARATED_2 + 0.1 * x + 0.2 * np.triu(x))
    return np.concatenate([w ** 2, np.ravel(v * np.sign(v[0]))])  # the sign LAPACK picks fixed for the differences


def eig_of_stack(x):
    return np.linalg.eig(SEPARATED + 0.1 * x)[0]


def eigvals_nonsymmetric(x):
    return np.linalg.eigvals(SEPARATED + 0.1 * x + 0.2 * np.tril(x))


# autograd has none of these but svd.
DECOMPOSITION_ROWS = [
    *each(np.linalg.eig, "np.linalg.eig", eig_values_and_vectors, [((2, 2),)], autograd=False),
    *each(np.linalg.eig, "np.linalg.eig-stack", eig_of_stack, [((2, 3, 3),)], autograd=False),
    *each(np.linalg.eigvals, "np.linalg.eigvals", eigvals_nonsymmetric, [((3, 3),)], autograd=False),
    *each(np.cov, "np.cov", lambda x: np.cov(x), [((3, 5),), ((5,),), ((1, 4),), ((2, 2),)], autograd=False),
    *each(np.cov, "np.cov(rowvar=False)", lambda x: np.cov(x, rowvar=False), [((5, 3),), ((4,),), ((4, 1),)],
          autograd=False),
    *each(np.cov, "np.cov(bias=True)", lambda x: np.cov(x, bias=True), [((3, 4),)], autograd=False),
    *each(np.cov, "np.cov(ddof=2,rowvar=False)", lambda x: np.cov(x, ddof=2, rowvar=False), [((5, 2),)], autograd=False),
    *each(np.cov, "np.cov(x*x)", lambda x: np.cov(x * x)[0, 1] * x, [((2, 4),)], autograd=False),
    *each(np.corrcoef, "np.corrcoef", lambda x: np.corrcoef(x), [((3, 5),), ((2, 4),), ((1, 4),), ((5,),)],
          autograd=False),
    *each(np.corrcoef, "np.corrcoef(rowvar=False)", lambda x: np.corrcoef(x, rowvar=False), [((6, 3),)],
          autograd=False),
    *each(np.linalg.eigvalsh, "eigvalsh", eigvalsh_of_symmetric, [((3, 3),), ((3, 2),)], autograd=False),
    *each(np.linalg.eigvalsh, "eigvalsh-stack", eigvalsh_of_stack, [((2, 3, 3),)], autograd=False),
    # NumPy reads the lower triangle only (the upper one with UPLO='U').
    Row(np.linalg.eigvalsh, "eigvalsh-reads-lower", lambda a: np.linalg.eigvalsh(a), None, values=(SYMMETRIC,),
        autograd=False),
    Row(np.linalg.eigvalsh, "eigvalsh(UPLO=U)", lambda a: np.linalg.eigvalsh(a, UPLO="U"), None, values=(SYMMETRIC,),
        autograd=False),
    *each(np.linalg.svd, "svd(compute_uv=False)", lambda a: np.linalg.svd(a, compute_uv=False),
          [((3, 2),), ((2, 4),), ((3, 3),), ((2, 3, 2),)]),
    *each(np.linalg.svd, "svd(a,False,False)", lambda a: np.linalg.svd(a, False, False), [((3, 2),)]),
    *each(SVDVALS, "svdvals", lambda a: np.linalg.svdvals(a), [((3, 2),), ((2, 2, 3),)], autograd=False),
    *each(np.linalg.qr, "qr", qr_of, [((3, 3),), ((4, 2),), ((2, 4, 3),)], autograd=False),
    *each(np.linalg.qr, "qr[1]", qr_r_only, [((4, 3),)], autograd=False),
    *each(np.linalg.qr, "qr.Q", qr_q_only, [((4, 3),)], autograd=False),
    *each(np.linalg.qr, "qr(mode=r)", lambda a: np.linalg.qr(a, mode="r"), [((4, 3),)], autograd=False),
    *each(np.linalg.qr, "qr(mode=reduced)", lambda a: np.linalg.qr(a, mode="reduced")[0], [((3, 2),)], autograd=False),
    *each(np.linalg.lstsq, "lstsq", lstsq_solution, [((4, 2), (4,)), ((4, 2), (4, 3)), ((3, 3), (3,)), ((2, 4), (2,)),
                                                    ((2, 3), (2, 2))], autograd=False),
    *each(np.linalg.lstsq, "lstsq[0]", lstsq_item, [((5, 3), (5,))], autograd=False),
    *each(np.linalg.lstsq, "lstsq(x,const)", lstsq_const_rhs, [((3, 2),)], autograd=False),
]

# ----------------------------------------------------------------- more NumPy forms real programs use

ADD_AT_INDEX = np.array([0, 2, 2, 1, 2])


def add_at_repeated(x, v):
    out = x * 1.0
    np.add.at(out, ADD_AT_INDEX, v)
    return out


def add_at_scalar(x):
    out = np.zeros(3)
    np.add.at(out, ADD_AT_INDEX, x)  # one value added at every index
    return out


def add_at_rows(x, v):
    out = x.copy()
    np.add.at(out, (ADD_AT_INDEX[:3], slice(None)), v)  # v broadcast over the rows picked
    return out * out


def add_at_separated(x, v):
    out = x.copy()
    np.add.at(out, (ADD_AT_INDEX[:2], slice(None), ADD_AT_INDEX[:2]), v)
    return out


def hsplit_pieces(x):
    left, right = np.hsplit(x, 2)
    return left * right


def vsplit_at(x):
    top, bottom = np.vsplit(x, [1])
    return np.sum(top) * bottom


def dsplit_middle(x):
    return np.dsplit(x, [1, 3])[1] ** 2


def cast_to_float_and_int(x):
    return np.asarray(x, dtype=float) ** 2 + np.asarray(x, dtype=int) * x


MATRIX_NORM_SHAPES = [((3, 4),), ((4, 3),), ((3, 3),)]


def svd_factors(a):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return u * s[0] + np.sum(vt ** 3)


def svd_u_only(a):
    return np.linalg.svd(a, full_matrices=False)[0] ** 3


def svd_vt_only(a):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return vt


def svd_values_of_factors(a):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return s * 2.0


def svd_rebuilt(a):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return (u * s ** 2) @ vt


def svd_square_full(a):
    u, s, vt = np.linalg.svd(a)  # full_matrices=True of a square matrix: the reduced factors
    return u[:, 0] * vt[1]


SVD_SHAPES = [((4, 3),), ((3, 4),), ((3, 3),)]

FORM_ROWS = [
    # np.linalg.svd's factors, where the singular values are distinct.
    *each(np.linalg.svd, "svd-factors", svd_factors, SVD_SHAPES),
    *each(np.linalg.svd, "svd-u", svd_u_only, SVD_SHAPES[:2]),
    *each(np.linalg.svd, "svd-vt", svd_vt_only, SVD_SHAPES[:2] + [((2, 4, 3),)]),
    *each(np.linalg.svd, "svd-s-of-factors", svd_values_of_factors, SVD_SHAPES[:1]),
    *each(np.linalg.svd, "svd-rebuilt", svd_rebuilt, SVD_SHAPES[:2]),
    *each(np.linalg.svd, "svd-full-square", svd_square_full, [((3, 3),)], autograd=False),  # autograd refuses it
    # Matrix norms of 2-d arrays: singular values (2, -2, 'nuc'), column sums (1, -1), row sums (inf, -inf).
    *each(np.linalg.norm, "norm(ord=2)-matrix", lambda x: np.linalg.norm(x, 2), MATRIX_NORM_SHAPES, autograd=False),
    *each(np.linalg.norm, "norm(ord=-2)-matrix", lambda x: np.linalg.norm(x, -2), MATRIX_NORM_SHAPES,
          autograd=False),
    *each(np.linalg.norm, "norm(ord=nuc)", lambda x: np.linalg.norm(x, "nuc"), MATRIX_NORM_SHAPES),
    *each(np.linalg.norm, "norm(ord=1)-matrix", lambda x: np.linalg.norm(x, 1), MATRIX_NORM_SHAPES[:2],
          autograd=False),
    *each(np.linalg.norm, "norm(ord=-1)-matrix", lambda x: np.linalg.norm(x, ord=-1), MATRIX_NORM_SHAPES[:1],
          autograd=False),
    *each(np.linalg.norm, "norm(ord=inf)-matrix", lambda x: np.linalg.norm(x, np.inf), MATRIX_NORM_SHAPES[:2],
          autograd=False),
    *each(np.linalg.norm, "norm(ord=-inf)-matrix", lambda x: np.linalg.norm(x, -np.inf), MATRIX_NORM_SHAPES[:1],
          autograd=False),
    *each(np.linalg.norm, "norm(ord=2,axis=(1,0))", lambda x: np.linalg.norm(x, 2, axis=(1, 0)),
          MATRIX_NORM_SHAPES[:1], autograd=False),
    *each(np.linalg.norm, "norm(ord=1,axis=(1,0),keepdims)", lambda x: np.linalg.norm(x, 1, (1, 0), True),
          MATRIX_NORM_SHAPES[:1], autograd=False),
    *each(np.linalg.norm, "norm(ord=nuc)*x", lambda x: np.linalg.norm(x, "nuc") * x, MATRIX_NORM_SHAPES[:1]),
    # Ties between columns (sums 3 and 3) share the slope.
    Row(np.linalg.norm, "norm(ord=1)-tied-columns", lambda x: np.linalg.norm(x, 1), None,
        values=([[1.0, -2.0, 0.5], [2.0, 1.0, 0.25]],), autograd=False),
    # einsum's operand / sublist form, read as the subscripts string it stands for.
    *each(np.einsum, "einsum(x,[0,1],y,[1,2],[0,2])", lambda x, y: np.einsum(x, [0, 1], y, [1, 2], [0, 2]),
          [((2, 3), (3, 4))], autograd=False),
    *each(np.einsum, "einsum(x,[0,1],y,[1,2]) implicit", lambda x, y: np.einsum(x, [0, 1], y, [1, 2]),
          [((2, 3), (3, 4))], autograd=False),
    *each(np.einsum, "einsum(x,[...,0,0])", lambda x: np.einsum(x, [..., 0, 0]), [((2, 3, 3),)], autograd=False),
    *each(np.einsum, "einsum(x,[0,1],[1])", lambda x: np.einsum(x, (0, 1), [1]), [((2, 3),)], autograd=False),
    # ufunc methods with the meaning of a reduction: their axis defaults to 0.
    *each(np.sum, "np.add.reduce", lambda x: np.add.reduce(x), [((3, 4),), ((4,),)], autograd=False),
    *each(np.sum, "np.add.reduce(axis=1)", lambda x: np.add.reduce(x, axis=1), [((3, 4),)], autograd=False),
    *each(np.sum, "np.add.reduce(axis=None)", lambda x: np.add.reduce(x, axis=None), [((3, 4),)],
          autograd=False),
    *each(np.prod, "np.multiply.reduce", lambda x: np.multiply.reduce(x, 1), [((3, 4),)], autograd=False),
    *each(np.max, "np.maximum.reduce", lambda x: np.maximum.reduce(x), [((3, 4),)], autograd=False),
    *each(np.min, "np.minimum.reduce(axis=-1)", lambda x: np.minimum.reduce(x, axis=-1), [((3, 4),)],
          autograd=False),
    *each(np.cumsum, "np.add.accumulate", lambda x: np.add.accumulate(x), [((3, 4),), ((4,),)], autograd=False),
    *each(np.cumsum, "np.add.accumulate(axis=1)", lambda x: np.add.accumulate(x, axis=1), [((3, 4),)],
          autograd=False),
    *each(np.cumprod, "np.multiply.accumulate", lambda x: np.multiply.accumulate(x), [((3, 4),)],
          autograd=False),
    # the running extrema read the element holding them (normalize_numpy_more.py)
    *each(np.take_along_axis, "np.maximum.accumulate", lambda x: np.maximum.accumulate(x), [((3, 4),)],
          autograd=False),
    # np.add.at on an array the function made: repeated indices add up.
    *each(rt.add_at, "np.add.at", add_at_repeated, [((3,), (5,)), ((3,), ())], autograd=False),
    *each(rt.add_at, "np.add.at-scalar", add_at_scalar, [((),)], autograd=False),
    *each(rt.add_at, "np.add.at-rows", add_at_rows, [((3, 4), (4,)), ((3, 4), (3, 4))], autograd=False),
    *each(rt.add_at, "np.add.at-separated", add_at_separated, [((3, 2, 3), (2,))], autograd=False),
    *each(np.conjugate, "np.conj", lambda x: np.conj(x) * x, ONE),
    *each(np.conjugate, "np.conjugate", lambda x: np.conjugate(x), ONE),
    *each(np.conjugate, "x.conj()", lambda x: x.conj() + x.conjugate(), ONE, autograd=False),
    *each(np.hsplit, "np.hsplit", hsplit_pieces, [((3, 4),), ((4,),), ((2, 4, 3),)], autograd=False),
    *each(np.vsplit, "np.vsplit", vsplit_at, [((3, 4),), ((3, 2, 2),)], autograd=False),
    *each(np.dsplit, "np.dsplit", dsplit_middle, [((2, 2, 4),)], autograd=False),
    *each(np.asarray, "np.asarray(dtype=float)", lambda x: np.asarray(x, dtype=float) * x, [((3, 4),), ((),)],
          autograd=False),
    *each(np.asarray, "np.asarray(float,int)", cast_to_float_and_int, [((3,),)], autograd=False),
    *each(np.array, "np.array(dtype=np.float64)", lambda x: np.array(x, dtype=np.float64) ** 2, [((3,),)],
          autograd=False),
    *each(np.array, "np.array([x,y],dtype=float)", lambda x, y: np.array([x, y], dtype=float), [((2,), (2,))],
          autograd=False),
]

# np.select is written as the chain of np.where it stands for, np.sqrt(np.sum(x ** 2)) in one
# expression as rt.root_sum_squares (frontend/normalize_functional.py)
SELECT_ROWS = [
    *each(rt.root_sum_squares, "sqrt(sum(x**2))", lambda x: np.sqrt(np.sum(x ** 2)), [((3,),)]),
    *each(rt.root_sum_squares, "sqrt(sum(x*x,axis=1))", lambda x: np.sqrt(np.sum(x * x, axis=1)), [((2, 3),)]),
    Row(rt.root_sum_squares, "sqrt(sum(x**2,0,keepdims))-zero-column",
        lambda x: np.sqrt(np.sum(x ** 2, axis=0, keepdims=True)), ((2, 2),), values=([[0.0, 1.0], [0.0, -2.0]],),
        autograd=False),
    *each(np.where, "np.select", lambda x: np.select([x > 0.5, x < -0.5], [x ** 2, np.sin(x)], default=2.0 * x),
          [((3, 4),)]),
    *each(np.where, "np.select(default=0)", lambda x, y: np.select([x > 0.0], [x * y]), [((3,), (3,))]),
]

# ----------------------------------------------------------------- SciPy (optional)

try:
    from scipy import linalg as scipy_linalg, signal, special, stats
except ImportError:  # SciPy is optional: its rows are left out and test_scipy_is_installed says so
    SCIPY_MISSING = "SciPy is not installed (pip install adjoint[scipy]); its rules are registered only with it"
    SCIPY_ROWS = []
else:
    SCIPY_MISSING = None
    adjoint.rules.load_optional_rules()
    SPD = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.7], [0.5, -0.7, 2.0]])

    def scipy_cholesky_of_spd(x):
        return scipy_linalg.cholesky(SPD + x @ x.T)

    def scipy_cholesky_lower(x):
        return scipy_linalg.cholesky(SPD + x @ x.T, lower=True)

    def expm_of_scaled(x):
        return scipy_linalg.expm(0.5 * x)

    def cho_factor_of_spd(x):
        return scipy_linalg.cho_factor(SPD + x @ x.T)[0]

    def cho_factor_lower(x):
        c, lower = scipy_linalg.cho_factor(SPD + x @ x.T, lower=True)
        return c * 1.0

    def cho_solve_of_spd(x, b):
        return scipy_linalg.cho_solve(scipy_linalg.cho_factor(SPD + x @ x.T), b)

    def cho_solve_lower_pair(x, b):
        c, lower = scipy_linalg.cho_factor(SPD + x @ x.T, lower=True)
        return scipy_linalg.cho_solve((c, lower), b)

    def triangular_system(a, b):
        return scipy_linalg.solve_triangular(a + SHIFT, b, lower=True)

    def triangular_system_upper_transposed(a, b):
        return scipy_linalg.solve_triangular(a + SHIFT, b, trans="T")

    BAND = np.array([[0.0, 0.5, -0.3, 0.2], [4.0, 3.5, 5.0, 4.2], [0.3, -0.4, 0.6, 0.0]])  # (l, u) = (1, 1)

    def banded_system(ab, b):
        return scipy_linalg.solve_banded((1, 1), BAND + 0.2 * ab, b)

    def lower_banded_system(ab, b):
        return scipy_linalg.solve_banded((2, 0), np.vstack([BAND[1:], BAND[:1]]) + 0.2 * ab, b)

    def sylvester_system(a, b, q):
        return scipy_linalg.solve_sylvester(a + 3.0 * np.eye(3), b + 2.0 * np.eye(2), q)

    # scipy.linalg's solve, inv, det and norm are written as NumPy's (frontend/normalize_scipy_calls.py):
    # two rows, solve's summing the forms (assume_a, lower, transposed) the rewrite tells apart (inv's
    # and eigh's, against autograd and under vmap: tests/test_funcs3.py)
    def scipy_solve_forms(a, b):
        m = a + SHIFT
        return (scipy_linalg.solve(m, b) + scipy_linalg.solve(m, b, assume_a="sym", lower=True, check_finite=False)
                + scipy_linalg.solve(SPD + 0.2 * a, b, assume_a="pos")
                + scipy_linalg.solve(m, b, assume_a="upper triangular", transposed=True))

    def scipy_eigh_forms(a):  # sign-free functions of v: SciPy's signs can flip between nearby matrices
        w, v = scipy_linalg.eigh(a + EIGH_SPREAD)
        return w + scipy_linalg.eigh(a + EIGH_SPREAD, lower=False, eigvals_only=True) + (v * v) @ EIGH_SPREAD[2]

    EIGH_SPREAD = np.diag([0.0, 3.0, 6.0])

    def logsumexp_with_sign(x, b):  # the weighted sums negative: log|s| and its sign
        value, sign = special.logsumexp(x, axis=1, b=-b, return_sign=True)
        return value * sign

    SCIPY_ROWS = [
        *each(special.gammaln, "special.gammaln", lambda x: special.gammaln(x), ONE, domain=POSITIVE, autograd=False),
        *each(special.digamma, "special.digamma", lambda x: special.digamma(x), ONE, domain=POSITIVE,
              autograd=False),
        *each(special.psi, "special.psi", lambda x: special.psi(x), [((3,),)], domain=POSITIVE, autograd=False),
        *each(special.polygamma, "special.polygamma", lambda x: special.polygamma(2, x), ONE, domain=POSITIVE,
              autograd=False),
        *each(special.erf, "special.erf", lambda x: special.erf(x), ONE, autograd=False),
        *each(special.erfc, "special.erfc", lambda x: special.erfc(x), ONE, autograd=False),
        *each(special.ndtr, "special.ndtr", lambda x: special.ndtr(x), ONE, autograd=False),
        *each(special.log_ndtr, "special.log_ndtr", lambda x: special.log_ndtr(x), ONE, autograd=False),
        *each(special.ndtri, "special.ndtri", lambda x: special.ndtri(x), ONE, domain=(0.1, 0.9), autograd=False),
        *each(special.expit, "special.expit", lambda x: special.expit(x), ONE, autograd=False),
        *each(special.logit, "special.logit", lambda x: special.logit(x), ONE, domain=(0.1, 0.9), autograd=False),
        *each(special.xlogy, "special.xlogy", lambda x, y: special.xlogy(x, y), BROADCASTS[:4],
              domain=(WIDE, POSITIVE), autograd=False),
        *each(special.betaln, "special.betaln", lambda a, b: special.betaln(a, b), BROADCASTS[:4], domain=POSITIVE,
              autograd=False),
        *each(special.logsumexp, "special.logsumexp", lambda x: special.logsumexp(x), [((3, 4),), ((),)],
              autograd=False),
        *each(special.logsumexp, "special.logsumexp(axis=1)", lambda x: special.logsumexp(x, axis=1), [((3, 4),)],
              autograd=False),
        *each(special.logsumexp, "special.logsumexp(axis=0,keepdims)",
              lambda x: special.logsumexp(x, axis=0, keepdims=True), [((3, 4),)], autograd=False),
        *each(special.logsumexp, "special.logsumexp(b)", lambda x, b: special.logsumexp(x, b=b), [((3,), (3,))],
              domain=(WIDE, POSITIVE), autograd=False),
        *each(special.logsumexp, "special.logsumexp(axis=1,b)", lambda x, b: special.logsumexp(x, axis=1, b=b),
              [((2, 3), (3,))], domain=(WIDE, POSITIVE), autograd=False),
        # return_sign=True (frontend/normalize_scipy.py)
        *each(special.logsumexp, "special.logsumexp(return_sign)", logsumexp_with_sign, [((2, 3), (3,))],
              domain=(WIDE, POSITIVE), autograd=False),
        Row(special.xlogy, "special.xlogy(0,y)-y-zero", lambda y: special.xlogy(np.zeros(2), y), ((2,),),
            values=([0.0, 2.0],), autograd=False),
        *each(signal.convolve, "signal.convolve", lambda a, v: signal.convolve(a, v), [((5,), (3,))],
              autograd=False),
        *each(signal.convolve, "signal.convolve(same)", lambda a, v: signal.convolve(a, v, mode="same"),
              [((3, 4), (2, 3))], autograd=False),
        *each(signal.convolve, "signal.convolve(valid,direct)",
              lambda a, v: signal.convolve(a, v, mode="valid", method="direct"), [((3,), (4,))], autograd=False),
        *each(signal.correlate, "signal.correlate", lambda a, v: signal.correlate(a, v), [((2, 3), (2, 2))],
              autograd=False),
        *each(signal.correlate, "signal.correlate(same)", lambda a, v: signal.correlate(a, v, mode="same"),
              [((4,), (3,))], autograd=False),
        *each(signal.correlate, "signal.correlate(valid)", lambda a, v: signal.correlate(a, v, mode="valid"),
              [((5,), (2,))], autograd=False),
        *each(special.softmax, "special.softmax", lambda x: special.softmax(x), [((3, 4),)], autograd=False),
        *each(special.softmax, "special.softmax(axis=-1)", lambda x: special.softmax(x, axis=-1), [((3, 4),)],
              autograd=False),
        *each(special.log_softmax, "special.log_softmax", lambda x: special.log_softmax(x), [((3, 4),)],
              autograd=False),
        *each(special.log_softmax, "special.log_softmax(axis=0)", lambda x: special.log_softmax(x, axis=0),
              [((3, 4),)], autograd=False),
        *each(stats.norm.logpdf, "norm.logpdf", lambda x: stats.norm.logpdf(x), ONE, autograd=False),
        *each(stats.norm.logpdf, "norm.logpdf(x,loc,scale)", lambda x, m, s: stats.norm.logpdf(x, m, s),
              [((3, 4), (4,), ())], domain=(WIDE, WIDE, POSITIVE), autograd=False),
        *each(stats.norm.pdf, "norm.pdf", lambda x, m, s: stats.norm.pdf(x, loc=m, scale=s),
              [((3, 4), (), (3, 1))], domain=(WIDE, WIDE, POSITIVE), autograd=False),
        *each(stats.norm.cdf, "norm.cdf", lambda x, m, s: stats.norm.cdf(x, m, scale=s),
              [((3, 4), (), ())], domain=(WIDE, WIDE, POSITIVE), autograd=False),
        *each(stats.norm.logcdf, "norm.logcdf", lambda x, m, s: stats.norm.logcdf(x, m, s), [((2,), (), ())],
              domain=(WIDE, WIDE, POSITIVE), autograd=False),
        *each(stats.norm.sf, "norm.sf", lambda x, s: stats.norm.sf(x, scale=s), [((2,), ())], domain=(WIDE, POSITIVE),
              autograd=False),
        *each(stats.norm.logsf, "norm.logsf", lambda x, m: stats.norm.logsf(x, m), [((2,), ())], autograd=False),
        *each(stats.chi2.logpdf, "chi2.logpdf", lambda x, df, s: stats.chi2.logpdf(x, df, scale=s), [((2,), (), ())],
              domain=((0.5, 3.0), (1.0, 4.0), (0.5, 2.0)), autograd=False),
        *each(stats.chi2.pdf, "chi2.pdf", lambda x, df, m: stats.chi2.pdf(x, df, m), [((2,), (2,), ())],
              domain=((1.0, 3.0), (1.0, 4.0), (-0.4, 0.4)), autograd=False),
        *each(stats.chi2.cdf, "chi2.cdf", lambda x: stats.chi2.cdf(x, 3.0), [((2,),)], domain=(0.5, 3.0),
              autograd=False),
        *each(stats.t.logpdf, "t.logpdf", lambda x, df, m, s: stats.t.logpdf(x, df, m, s), [((2,), (), (), ())],
              domain=(WIDE, POSITIVE, WIDE, POSITIVE), autograd=False),
        *each(stats.t.pdf, "t.pdf", lambda x, df: stats.t.pdf(x, df, loc=0.5, scale=2.0), [((2,), (2,))],
              domain=(WIDE, POSITIVE), autograd=False),
        *each(stats.t.cdf, "t.cdf", lambda x, m, s: stats.t.cdf(x, 2.5, m, s), [((2,), (), ())],
              domain=(WIDE, WIDE, POSITIVE), autograd=False),
        *each(stats.t.logcdf, "t.logcdf", lambda x, s: stats.t.logcdf(x, df=4.0, scale=s), [((2,), ())],
              domain=(WIDE, POSITIVE), autograd=False),
        *each(stats.gamma.logpdf, "gamma.logpdf", lambda x, a, m, s: stats.gamma.logpdf(x, a, m, s),
              [((2,), (), (), ())], domain=((1.0, 3.0), POSITIVE, (-0.4, 0.4), (0.5, 2.0)), autograd=False),
        *each(stats.gamma.pdf, "gamma.pdf", lambda x, a: stats.gamma.pdf(x, a, scale=1.5), [((2,), (2,))],
              domain=((0.5, 3.0), (0.5, 3.0)), autograd=False),
        *each(stats.gamma.cdf, "gamma.cdf", lambda x, s: stats.gamma.cdf(x, 2.0, scale=s), [((2,), ())],
              domain=((0.5, 3.0), (0.5, 2.0)), autograd=False),
        *each(stats.gamma.logcdf, "gamma.logcdf", lambda x, m: stats.gamma.logcdf(x, 1.5, loc=m), [((2,), ())],
              domain=((1.0, 3.0), (-0.4, 0.4)), autograd=False),
        *each(stats.beta.logpdf, "beta.logpdf", lambda x, a, b: stats.beta.logpdf(x, a, b), [((2,), (), (2,))],
              domain=((0.2, 0.8), POSITIVE, POSITIVE), autograd=False),
        *each(stats.beta.pdf, "beta.pdf(loc,scale)", lambda x, a, m, s: stats.beta.pdf(x, a, 2.0, m, s),
              [((2,), (), (), ())], domain=((0.3, 0.6), POSITIVE, (-0.2, 0.1), (1.0, 1.5)), autograd=False),
        *each(stats.beta.cdf, "beta.cdf", lambda x, m, s: stats.beta.cdf(x, 2.0, 3.0, m, s), [((2,), (), ())],
              domain=((0.3, 0.6), (-0.2, 0.1), (1.0, 1.5)), autograd=False),
        *each(stats.beta.logcdf, "beta.logcdf", lambda x: stats.beta.logcdf(x, 0.5, 3.0), [((2,),)],
              domain=(0.2, 0.8), autograd=False),
        # the survival functions of rules/scipy_stats_more.py (one row each: x with loc or scale)
        *each(stats.t.sf, "t.sf", lambda x, s: stats.t.sf(x, 2.5, scale=s), [((2,), ())], domain=(WIDE, POSITIVE),
              autograd=False),
        *each(stats.t.logsf, "t.logsf", lambda x, m: stats.t.logsf(x, 4.0, m), [((2,), ())], autograd=False),
        *each(stats.gamma.sf, "gamma.sf", lambda x, m: stats.gamma.sf(x, 1.5, loc=m), [((2,), ())],
              domain=((1.0, 3.0), (-0.4, 0.4)), autograd=False),
        *each(stats.gamma.logsf, "gamma.logsf", lambda x, s: stats.gamma.logsf(x, 2.0, scale=s), [((2,), ())],
              domain=((0.5, 3.0), (0.5, 2.0)), autograd=False),
        *each(stats.beta.sf, "beta.sf", lambda x, m, s: stats.beta.sf(x, 2.0, 3.0, m, s), [((2,), (), ())],
              domain=((0.3, 0.6), (-0.2, 0.1), (1.0, 1.5)), autograd=False),
        *each(stats.beta.logsf, "beta.logsf", lambda x: stats.beta.logsf(x, 0.5, 3.0), [((2,),)],
              domain=(0.2, 0.8), autograd=False),
        # dirichlet on the simplex (SciPy refuses other points): y holds all but the last category
        *each(stats.dirichlet.logpdf, "dirichlet.logpdf",
              lambda y, a: stats.dirichlet.logpdf(np.concatenate([y, 1.0 - np.sum(y, keepdims=True)]), a),
              [((2,), (3,))], domain=((0.2, 0.4), (0.8, 3.0)), autograd=False),
        *each(stats.dirichlet.pdf, "dirichlet.pdf(columns)",
              lambda y, a: stats.dirichlet.pdf(np.concatenate([y, 1.0 - np.sum(y, axis=0, keepdims=True)]), a),
              [((1, 2), (2,))], domain=((0.2, 0.7), (0.8, 3.0)), autograd=False),
        *each(stats.poisson.logpmf, "poisson.logpmf", lambda mu: stats.poisson.logpmf(np.array([0.0, 4.0]), mu),
              [((2,),)], domain=POSITIVE, autograd=False),
        *each(stats.poisson.pmf, "poisson.pmf", lambda mu: stats.poisson.pmf(np.array([0, 2, 3]), mu),
              [((),)], domain=POSITIVE, autograd=False),
        *each(stats.poisson.cdf, "poisson.cdf", lambda mu: stats.poisson.cdf(np.array([0.0, 1.5]), mu),
              [((2,),)], domain=POSITIVE, autograd=False),
        *each(stats.multivariate_normal.logpdf, "multivariate_normal.logpdf",
              lambda x, m, a: stats.multivariate_normal.logpdf(x, m, SPD + a @ a.T), [((2, 3), (3,), (3, 1))],
              autograd=False),
        *each(stats.multivariate_normal.pdf, "multivariate_normal.pdf",
              lambda x, m: stats.multivariate_normal.pdf(x, mean=m, cov=SPD), [((3,), (3,))], autograd=False),
        *each(special.xlog1py, "special.xlog1py", lambda x, y: special.xlog1py(x, y), [((3,), (2, 1))],
              domain=(WIDE, (-0.8, 2.0)), autograd=False),
        *each(special.entr, "special.entr", lambda x: special.entr(x), [((3,),)], domain=POSITIVE, autograd=False),
        *each(np.linalg.solve, "scipy.linalg.solve(forms)", scipy_solve_forms, [((3, 3), (3,))], domain=UNIT,
              autograd=False),
        *each(np.linalg.det, "scipy.linalg.det,norm",
              lambda a: scipy_linalg.det(a) * scipy_linalg.norm(a) + scipy_linalg.norm(a, 1, axis=0),
              [((3, 3),)], domain=AWAY_FROM_ZERO, autograd=False),
        *each(scipy_linalg.eigh, "scipy.linalg.eigh", scipy_eigh_forms, [((3, 3),)], domain=UNIT, autograd=False),
        *each(signal.convolve, "signal.convolve2d(same)",
              lambda a, v: signal.convolve2d(a, v, mode="same", boundary="fill", fillvalue=0), [((3, 4), (2, 2))],
              autograd=False),
        *each(scipy_linalg.solve_triangular, "linalg.solve_triangular(lower)", triangular_system,
              [((3, 3), (3,)), ((3, 3), (3, 2))], autograd=False),
        *each(scipy_linalg.solve_triangular, "linalg.solve_triangular(trans=T)", triangular_system_upper_transposed,
              [((3, 3), (3, 2))], autograd=False),
        *each(scipy_linalg.solve_banded, "linalg.solve_banded", banded_system, [((3, 4), (4,)), ((3, 4), (4, 2))],
              autograd=False),
        *each(scipy_linalg.solve_banded, "linalg.solve_banded(2,0)", lower_banded_system, [((3, 4), (4,))],
              autograd=False),
        *each(scipy_linalg.solve_sylvester, "linalg.solve_sylvester", sylvester_system, [((3, 3), (2, 2), (3, 2))],
              domain=UNIT, autograd=False),
        *each(scipy_linalg.cholesky, "linalg.cholesky", scipy_cholesky_of_spd, [((3, 3),)], autograd=False),
        *each(scipy_linalg.cholesky, "linalg.cholesky(lower)", scipy_cholesky_lower, [((3, 3),)], autograd=False),
        *each(scipy_linalg.expm, "linalg.expm", expm_of_scaled, [((3, 3),), ((2, 2, 2),)], autograd=False),
        *each(scipy_linalg.cho_factor, "linalg.cho_factor", cho_factor_of_spd, [((3, 3),)], autograd=False),
        *each(scipy_linalg.cho_factor, "linalg.cho_factor(lower)", cho_factor_lower, [((3, 3),)], autograd=False),
        *each(scipy_linalg.cho_solve, "linalg.cho_solve", cho_solve_of_spd, [((3, 3), (3,)), ((3, 3), (3, 2))],
              autograd=False),
        *each(scipy_linalg.cho_solve, "linalg.cho_solve((c,lower))", cho_solve_lower_pair, [((3, 3), (3, 2))],
              autograd=False),
    ]

# np.fft and complex values inside a function (rules/fft.py, docs/complex.md): real in, real out
FFT_ROWS = [
    Row(np.fft.fft, "np.fft.fft(n,axis,norm)", lambda x: np.concatenate([np.real(np.fft.fft(x, n=5, axis=0, norm="ortho")), np.imag(np.fft.fft(x, n=5, axis=0, norm="ortho"))]), ((4, 3),)),
    Row(np.fft.ifft, "np.fft.ifft(n)", lambda x: np.concatenate([np.real(np.fft.ifft(x, 3)), np.imag(np.fft.ifft(x, 3))]), ((5,),)),
    Row(np.fft.rfft, "np.fft.rfft(n-odd)", lambda x: np.concatenate([np.real(np.fft.rfft(x, n=7)), np.imag(np.fft.rfft(x, n=7))]), ((6,),), autograd=False),  # (autograd scales a padded rfft's slopes by len(x) / n)
    Row(np.fft.irfft, "np.fft.irfft-nyquist", lambda x: np.fft.irfft(x[:4] + 1j * x[2:], n=6), ((6,),)),
    Row(np.fft.irfft, "np.fft.irfft(n-odd,norm)", lambda x: np.fft.irfft(x[:4] + 1j * x[2:], n=5, norm="forward"), ((6,),), autograd=False),
    Row(np.fft.fft2, "np.fft.fft2(s)", lambda x: np.concatenate([np.real(np.fft.fft2(x, s=(2, 5))), np.imag(np.fft.fft2(x, s=(2, 5)))]), ((3, 4),)),
    Row(np.fft.ifft2, "np.fft.ifft2(norm)", lambda x: np.concatenate([np.real(np.fft.ifft2(x, norm="ortho")), np.imag(np.fft.ifft2(x, norm="ortho"))]), ((3, 4),)),
    Row(np.fft.rfft2, "np.fft.rfft2", lambda x: np.concatenate([np.real(np.fft.rfft2(x)), np.imag(np.fft.rfft2(x))]), ((3, 4),)),
    Row(np.fft.irfft2, "np.fft.irfft2", lambda x: np.fft.irfft2(x + 1j * x[::-1]), ((3, 4),)),
    Row(np.fft.fftn, "np.fft.fftn(axes)", lambda x: np.concatenate([np.real(np.fft.fftn(x, axes=(0,))), np.imag(np.fft.fftn(x, axes=(0,)))]), ((3, 4),)),
    Row(np.fft.ifftn, "np.fft.ifftn", lambda x: np.concatenate([np.real(np.fft.ifftn(x)), np.imag(np.fft.ifftn(x))]), ((2, 3),)),
    Row(np.fft.rfftn, "np.fft.rfftn(s,axes)", lambda x: np.concatenate([np.real(np.fft.rfftn(x, s=(4, 3), axes=(0, 1))), np.imag(np.fft.rfftn(x, s=(4, 3), axes=(0, 1)))]), ((3, 4),), autograd=False),
    Row(np.fft.irfftn, "np.fft.irfftn(s,axes)", lambda x: np.fft.irfftn(x * (1 - 2j), s=(3, 6), axes=(0, 1)), ((3, 4),)),
    Row(np.fft.hfft, "np.fft.hfft(n,norm)", lambda x: np.fft.hfft(x[:4] + 1j * x[2:], n=5, norm="ortho"), ((6,),), autograd=False),
    Row(np.fft.ihfft, "np.fft.ihfft(n)", lambda x: np.concatenate([np.real(np.fft.ihfft(x, n=7)), np.imag(np.fft.ihfft(x, n=7))]), ((6,),), autograd=False),
    Row(np.imag, "np.imag(complex)", lambda x: np.imag(np.exp(1j * x) * x), ((3, 4),)),
    Row(np.angle, "np.angle(complex,deg)", lambda x: np.angle(x + 1j * (x * x - 0.5), deg=True), ((3, 4),), autograd=False),
]

ROWS = (IN_PLACE_ROWS + BUILTIN_ROWS + OPERATOR_ROWS + UNARY_UFUNC_ROWS + BINARY_UFUNC_ROWS + REDUCTION_ROWS
        + PRODUCT_ROWS + SHAPE_ROWS + SYNTAX_ROWS + LIST_ROWS + STATISTICS_ROWS + SCAN_ROWS + LINALG_ROWS
        + CONTRACTION_ROWS + REARRANGE_ROWS + MORE_UFUNC_ROWS + MORE_LINALG_ROWS + MORE_SHAPE_ROWS
        + CONVOLUTION_ROWS + ORDER_ROWS + NAN_ROWS + MORE_REARRANGE_ROWS + DECOMPOSITION_ROWS + FORM_ROWS
        + SELECT_ROWS + SCIPY_ROWS + FFT_ROWS)
ROWS_BY_ID = {row.id: row for row in ROWS}


def row_params(rows):
    """One pytest param per row; rows of a function this NumPy lacks are skipped."""
    return [
        pytest.param(row, id=row.id, marks=pytest.mark.skip(reason=row.skip)) if row.skip
        else pytest.param(row, id=row.id)
        for row in rows
    ]


def as_autograd(func):
    """``func`` running on autograd.numpy: its global ``np`` and any NumPy
    function it closes over are swapped for autograd's."""
    cells = None
    if func.__closure__:
        cells = tuple(
            types.CellType(getattr(anp, cell.cell_contents.__name__))
            if getattr(cell.cell_contents, "__module__", "").startswith("numpy") else cell
            for cell in func.__closure__
        )
    namespace = dict(func.__globals__, np=anp)
    return types.FunctionType(func.__code__, namespace, func.__name__, func.__defaults__, cells)


def fresh_copy(func):
    """A new function object with ``func``'s code: adjoint transforms it anew."""
    return types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__)


def test_row_ids_are_unique():
    assert len(ROWS_BY_ID) == len(ROWS)


#: row id -> the primitives whose rules were looked up while a test of the
#: row transformed its function (recorded by ``record_lookups``)
LOOKED_UP = {}


@pytest.fixture(autouse=True)
def record_lookups(request, monkeypatch):
    """Record, under the row's id, each rule looked up while a test of the
    rule table runs: the first test to transform the row's function sees
    every lookup its transform makes (later ones hit the cache)."""
    row = getattr(request.node, "callspec", None) and request.node.callspec.params.get("row")
    if not isinstance(row, Row):
        return
    looked_up = LOOKED_UP.setdefault(row.id, [])
    real_lookup = adjoint.rules.lookup

    def recording_lookup(primitive):
        looked_up.append(primitive)
        return real_lookup(primitive)

    monkeypatch.setattr(adjoint.rules, "lookup", recording_lookup)


def check_row_reaches_its_primitive(row, args):
    """The row's transform looks up the rule of the primitive the row is
    about (a row whose lambda never reaches it would test nothing). Read
    from what ``record_lookups`` saw; if this function was transformed
    before any test of the row ran (another module's test), a copy of it is
    transformed afresh."""
    looked_up = LOOKED_UP.get(row.id) or []
    if not any(_same_primitive(prim, row.prim) for prim in looked_up):
        adjoint.source(fresh_copy(row.func), argnums=tuple(range(len(args))))
    assert any(_same_primitive(prim, row.prim) for prim in LOOKED_UP.get(row.id, ())), (
        f"{row.id} never reaches {row.prim!r}")


@pytest.mark.parametrize("row", row_params(ROWS))
def test_rule(row):
    args = row.arguments()
    argnums = tuple(range(len(args)))
    check_vjp(row.func, args)
    check_row_reaches_its_primitive(row, args)
    blocks = check_jacobian(row.func, args, argnums)
    if row.autograd:
        expected = [autograd.jacobian(as_autograd(row.func), i)(*args) for i in argnums]
        for block, reference, argnum in zip(blocks, expected, argnums, strict=True):
            np.testing.assert_allclose(block, reference, rtol=1e-9, atol=1e-12, err_msg=f"argument {argnum} vs autograd")


@pytest.mark.parametrize("row", row_params(ROWS))
def test_tangent_rule(row):
    """Forward mode against reverse mode (checked against finite differences
    above): the Jacobians agree, with every chunk size, and the tangent and
    adjoint rules are each other's transpose, <J u, v> == <u, J^T v>."""
    args = row.arguments()
    argnums = tuple(range(len(args)))
    expected = adjoint.jacrev(row.func, argnums=argnums)(*args)
    for chunk_size in (None, 1):
        got = adjoint.jacfwd(row.func, argnums=argnums, chunk_size=chunk_size)(*args)
        for got_leaf, expected_leaf in zip(_flat(got), _flat(expected), strict=True):
            np.testing.assert_allclose(got_leaf, expected_leaf, rtol=1e-9, atol=1e-12,
                                       err_msg=f"jacfwd (chunk_size={chunk_size}) vs jacrev")
    rng = np.random.default_rng(7)
    directions = tuple(rng.standard_normal(np.shape(a)) for a in args)
    output, pushed = adjoint.jvp(row.func, tuple(args), directions)
    weights = [rng.standard_normal(np.shape(leaf)) for leaf in _flat(output)]
    _, pull = adjoint.vjp(row.func, *args)
    cotangent = _unflat_like(output, weights)
    pulled = pull(cotangent)
    left = sum(float(np.sum(p * w)) for p, w in zip(_flat(pushed), weights, strict=True))
    right = sum(float(np.sum(p * d)) for p, d in zip(_flat(pulled), directions, strict=True))
    assert np.isclose(left, right, rtol=1e-9, atol=1e-10), (left, right)


#: rows placed on purpose where the derivative is discontinuous
AT_A_KINK = {"norm-zero-vector", "sqrt(sum(x**2,0,keepdims))-zero-column", "np.ptp-ties", "np.fmin-nans", "norm(ord=1)-tied-columns"}


@pytest.mark.parametrize("row", row_params(ROWS))
def test_second_derivative(row):
    """Forward mode over the generated reverse code (the Hessian as
    jacfwd(jacrev(f)), over every argument at once) against central
    differences of jacrev along a random direction: this runs the tangent
    rules of every helper the backward pass of this row calls. The whole
    second derivative contracted with a random direction u (one part per
    argument) must equal the difference quotient of jacrev along u; a wrong
    entry anywhere changes that contraction for almost every u, and it
    costs two calls of jacrev, not two per element. The transforms are the
    ones test_rule made (jacrev over every argument) and one more."""
    if row.id == "solve-stack-of-vectors-2x3x3-2x3":
        pytest.skip("the tangent rules of solve's backward helpers read b as NumPy 2 does (a stack of "
                    "vectors under NumPy 1 is not followed there yet)")
    if row.id in AT_A_KINK:
        pytest.skip("the row is evaluated where the first derivative jumps (a tie, a NaN, a zero "
                    "vector): differences of jacrev are not a reference there")
    args = row.arguments()
    argnums = tuple(range(len(args)))
    step = 1e-5
    rng = np.random.default_rng(11)
    first = adjoint.jacrev(row.func, argnums=argnums)
    second = _flat(adjoint.jacfwd(first, argnums=argnums)(*args))
    points = [np.asarray(a, dtype=np.float64) for a in args]
    directions = [rng.standard_normal(x.shape) for x in points]
    up = [np.asarray(x + step * d) for x, d in zip(points, directions, strict=True)]
    down = [np.asarray(x - step * d) for x, d in zip(points, directions, strict=True)]
    differences = [(np.asarray(a) - np.asarray(b)) / (2 * step)
                   for a, b in zip(_flat(first(*up)), _flat(first(*down)), strict=True)]
    # each leaf of jacrev's result has one block per argument in the second derivative
    assert len(second) == len(differences) * len(args)
    for leaf_index, expected in enumerate(differences):
        blocks = second[leaf_index * len(args):(leaf_index + 1) * len(args)]
        along = sum(np.tensordot(block, d, axes=d.ndim) if d.ndim else block * d
                    for block, d in zip(blocks, directions, strict=True))
        expected = expected.reshape(np.shape(along))
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        np.testing.assert_allclose(along, expected, rtol=1e-5, atol=1e-6 * scale,
                                   err_msg=f"second derivative along a random direction, leaf {leaf_index}")


def _flat(tree):
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _flat(item)]
    return [np.asarray(tree)]


def _unflat_like(tree, leaves):
    leaves = list(leaves)

    def build(node):
        if isinstance(node, dict):
            return {k: build(v) for k, v in node.items()}
        if isinstance(node, (tuple, list)):
            items = [build(v) for v in node]
            return type(node)(*items) if hasattr(type(node), "_fields") else type(node)(items)
        return leaves.pop(0).reshape(np.shape(node))

    return build(tree)


def test_every_adjoint_rule_has_a_tangent_rule():
    from adjoint.transforms.forward import BUILT_IN_TANGENTS

    missing = [prim for prim in ADJOINT_RULES if prim not in TANGENT_RULES and prim not in BUILT_IN_TANGENTS]
    # (runtime helpers of generated code may have a tangent rule alone: forward
    # mode over generated reverse code needs it, reverse mode over it does not)
    extra = [prim for prim in TANGENT_RULES if prim not in ADJOINT_RULES
             and not getattr(prim, "__module__", "").startswith("adjoint.runtime")]
    assert not missing, f"adjoint rules without a tangent rule: {missing}"
    assert not extra, f"tangent rules without an adjoint rule: {extra}"


def _same_primitive(a, b):
    """The same registry key: one object, or one bound method (stats.norm.pdf
    is a new bound method object at each access, equal to the others)."""
    return a is b or (isinstance(a, types.MethodType) and isinstance(b, types.MethodType) and a == b)


def test_every_rule_has_a_row():
    # (the runtime helpers of generated code are checked through the second
    # derivatives of the rows whose generated code calls them)
    missing = [prim for prim in ADJOINT_RULES if not any(_same_primitive(prim, row.prim) for row in ROWS)
               and not getattr(prim, "__module__", "").startswith("adjoint.runtime")]
    assert not missing, f"registered rules without a row in tests/test_rules.py: {missing}"


def _same_default(a, b):
    return type(a) is type(b) and a == b


def test_rule_defaults_are_the_primitive_and_helper_defaults():
    # A keyword the user leaves out is left out of the generated call too
    # (rt.helper(g, x, axis=axis) becomes rt.helper(g, x)), so the helper's
    # default applies: it must be the template's, and the template's must be
    # the NumPy function's, or the derivative is of another call.
    import gast
    from adjoint.transforms.templates import template_for

    problems = []
    for prim, fn in ADJOINT_RULES.items():
        template = template_for(fn)
        try:
            own = inspect.signature(prim).parameters
        except (TypeError, ValueError):
            own = {}
        # A parameter the template never reads (pinv's rcond, which only
        # decides the rank) may default differently (NumPy 1 and 2 do).
        read = {n.id for stmt in template.body for n in gast.walk(stmt) if isinstance(n, gast.Name)}
        for name, default in template.defaults.items():
            if name not in read:
                continue
            theirs = own[name].default if name in own else inspect.Parameter.empty
            if theirs not in (inspect.Parameter.empty, np._NoValue) and not _same_default(theirs, default):
                problems.append(f"{prim}: {fn.__name__} has {name}={default!r}, the function {theirs!r}")
        for node in (n for stmt in template.body for n in gast.walk(stmt)):
            if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                    and isinstance(node.func.value, gast.Name) and node.func.value.id == "rt"):
                continue
            helper = inspect.signature(getattr(rt, node.func.attr)).parameters
            for keyword in node.keywords:
                if (isinstance(keyword.value, gast.Name) and keyword.value.id == keyword.arg
                        and keyword.arg in template.defaults):
                    default = helper[keyword.arg].default if keyword.arg in helper else None
                    if not _same_default(default, template.defaults[keyword.arg]):
                        problems.append(f"{fn.__name__}: rt.{node.func.attr} has {keyword.arg}={default!r}, "
                                        f"the template {template.defaults[keyword.arg]!r}")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------- special cases

TIES = np.array([1.0, 3.0, 3.0, 2.0])
TIES_2D = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 2.0]])


def test_max_shares_the_cotangent_equally_among_ties():
    np.testing.assert_array_equal(adjoint.jacrev(np.max)(TIES), [0.0, 0.5, 0.5, 0.0])
    np.testing.assert_array_equal(adjoint.jacrev(max_of_rows)(TIES_2D),
                                  [[[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.5, 0.0, 0.5]]])


def test_min_shares_the_cotangent_equally_among_ties():
    np.testing.assert_array_equal(adjoint.jacrev(min_of_all)(-TIES), [0.0, 0.5, 0.5, 0.0])


def test_maximum_and_minimum_share_ties_equally():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 2.5, 2.0])
    jac_x, jac_y = adjoint.jacrev(elementwise_max, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(np.diag(jac_x), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(np.diag(jac_y), [0.5, 1.0, 0.0])
    jac_x, jac_y = adjoint.jacrev(elementwise_min, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(np.diag(jac_x), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(np.diag(jac_y), [0.5, 0.0, 1.0])


def test_clip_shares_ties_as_maximum_and_minimum_do():
    # np.clip(x, lo, hi) is np.minimum(np.maximum(x, lo), hi); at a tie each side gets half.
    x = np.array([0.2, 0.5, 0.8, 1.0, -1.0, 0.5])
    lo = np.array([0.2, 0.2, 0.2, 0.2, 0.2, 0.9])  # the last lower bound is above the upper one
    hi = np.array([0.8, 0.8, 0.8, 0.8, 0.8, 0.8])
    jac_x, jac_lo, jac_hi = adjoint.jacrev(clipped, argnums=(0, 1, 2))(x, lo, hi)
    np.testing.assert_array_equal(np.diag(jac_x), [0.5, 1.0, 0.5, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(np.diag(jac_lo), [0.5, 0.0, 0.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(np.diag(jac_hi), [0.0, 0.0, 0.5, 1.0, 0.0, 1.0])


def clipped(x, lo, hi):
    return np.clip(x, lo, hi)


def max_of_rows(x):
    return np.max(x, axis=1)


def min_of_all(x):
    return x.min()


def elementwise_max(x, y):
    return np.maximum(x, y)


def elementwise_min(x, y):
    return np.minimum(x, y)


def test_repeated_indices_accumulate():
    x = np.arange(4.0)
    np.testing.assert_array_equal(adjoint.grad(sum_of_repeated_items)(x), [2.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(adjoint.jacrev(repeated_items)(x), [[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]])


def test_numpy_keeps_the_last_of_repeated_writes():
    # What the derivative of an assignment through a repeated index rests on.
    y = np.zeros(2)
    y[[0, 0]] = np.array([1.0, 2.0])
    np.testing.assert_array_equal(y, [2.0, 0.0])
    y = np.zeros((2, 3))
    y[[0, 0, 1], [1, 1, 2]] = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(y, [[0.0, 2.0, 0.0], [0.0, 0.0, 3.0]])


def test_repeated_writes_derive_from_the_last():
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(adjoint.jacrev(set_repeated)(x), [[0.0, 1.0], [0.0, 0.0]])
    jac_x, jac_y = adjoint.jacrev(add_repeated, argnums=(0, 1))(x, np.array([5.0, 7.0]))
    np.testing.assert_array_equal(jac_x, [[0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(jac_y, np.eye(2))
    np.testing.assert_array_equal(adjoint.jacrev(set_negative_alias)(x), [[0, 0], [0, 0], [0, 0], [0, 1]])
    np.testing.assert_array_equal(adjoint.grad(sum_of_scalar_writes)(np.array(0.5)), 4.0)


def sum_of_scalar_writes(x):
    return np.sum(set_repeated_scalar(x))


def test_empty_index_has_an_empty_jacobian():
    x = np.array([0.5, 1.0, 2.0])
    np.testing.assert_array_equal(adjoint.jacrev(empty_items)(x), np.zeros((0, 3)))
    np.testing.assert_array_equal(adjoint.jacrev(empty_take)(x), np.zeros((0, 3)))
    _, vjp_fn = adjoint.vjp(empty_items, x)
    np.testing.assert_array_equal(vjp_fn(np.zeros(0))[0], np.zeros(3))


def empty_items(x):
    return x[[]]


def empty_take(x):
    return np.take(x, [])


def sum_of_repeated_items(x):
    return np.sum(x[[0, 0, 1, 3]])


def repeated_items(x):
    return x[np.array([0, 0, 1])]


# ----------------------------------------------------------------- unimplemented options

# A rule leaves out what it does not differentiate: the transform then
# refuses the call (NoRuleError). Options only known from their values fail
# with ValueError when the derivative is taken.
SUBLIST_01 = [0, 1]
REJECTED = [
    ("np.var(where=)", lambda x: np.var(x, where=x > 0.0), (4,), adjoint.NoRuleError),
    ("np.std(correction=)", lambda x: np.std(x, correction=1), (4,), adjoint.NoRuleError),
    ("np.diff(prepend=)", lambda x: np.diff(x, prepend=0.0), (4,), adjoint.NoRuleError),
    ("np.sort(order=)", lambda x: np.sort(x, order=None), (4,), adjoint.NoRuleError),
    ("np.einsum-sublists-not-literal", lambda x: np.einsum(x, SUBLIST_01, x, [1, 2]), (3, 3), adjoint.NoRuleError),
    ("np.einsum-7-operands", lambda x: np.einsum("i,i,i,i,i,i,i->", x, x, x, x, x, x, x), (3,), adjoint.NoRuleError),
    ("np.pad(constant_values=x)", lambda x: np.pad(x, 1, constant_values=x[0]), (3,), adjoint.NoRuleError),
    ("np.pad(reflect_type=)", lambda x: np.pad(x, 1, "reflect", reflect_type="odd"), (3,), adjoint.NoRuleError),
    ("np.pad(mode=mean)", lambda x: np.pad(x, 1, mode="mean"), (3,), ValueError),
    ("np.linspace(retstep=)", lambda x: np.linspace(x[0], x[1], 3, retstep=True)[0], (2,), adjoint.NoRuleError),
    ("np.linspace(retstep)-positional", lambda x: np.linspace(x[0], x[1], 3, True, True)[0], (2,), adjoint.NoRuleError),
    ("norm(ord=3)-matrix", lambda x: np.linalg.norm(x, 3, axis=(0, 1)), (3, 3), ValueError),
    ("norm(ord=0)", lambda x: np.linalg.norm(x, 0), (3,), ValueError),
    ("np.interp(left=x)", lambda x: np.interp(x, KNOTS, KNOTS, left=x[0]), (3,), adjoint.NoRuleError),
    ("np.interp(period=)", lambda x: np.interp(x, KNOTS, KNOTS, period=2.0), (3,), adjoint.NoRuleError),
    ("np.average(returned=True)", lambda x: np.average(x, returned=True)[0], (3,), adjoint.NoRuleError),
    ("pinv(hermitian=True)", lambda x: np.linalg.pinv(x, hermitian=True), (3, 3), adjoint.NoRuleError),
    ("np.cross-2-vectors", lambda x: np.cross(x, x[::-1]), (2,), ValueError),
    ("np.median(overwrite_input=)", lambda x: np.median(x, overwrite_input=True), (4,), adjoint.NoRuleError),
    ("np.percentile(method=nearest)", lambda x: np.percentile(x, 30.0, method="nearest"), (4,), ValueError),
    ("np.quantile(q=x)", lambda x: np.quantile(x, x[0] / 2.0), (4,), adjoint.NoRuleError),
    ("np.ediff1d(to_end=x)", lambda x: np.ediff1d(x, to_end=x[0]), (4,), adjoint.NoRuleError),
    ("np.nan_to_num(copy=False)", lambda x: np.nan_to_num(x * 1.0, copy=False), (4,), adjoint.NoRuleError),
    ("svd-factors", lambda x: np.linalg.svd(x)[1], (3, 2), ValueError),
    ("svd(hermitian=True)", lambda x: np.linalg.svd(x, compute_uv=False, hermitian=True), (2, 2), adjoint.NoRuleError),
    ("qr-wide", lambda x: np.linalg.qr(x)[1], (2, 3), ValueError),
    ("qr(mode=complete)", lambda x: np.linalg.qr(x, mode="complete")[1], (3, 2), ValueError),
    ("lstsq-residuals", lambda x: np.linalg.lstsq(x, x[:, 0] + 1.0)[1], (3, 2), ValueError),
    ("np.cov(x,y)", lambda x: np.cov(x, x * 2.0), (4,), adjoint.NoRuleError),
    ("np.full_like(x,y,order=)", lambda x: np.full_like(x, 1.0, order="C", device="cpu"), (3,), adjoint.NoRuleError),
]


@pytest.mark.parametrize("label, func, shape, error", REJECTED, ids=[row[0] for row in REJECTED])
@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")
def test_unimplemented_options_fail_loudly(label, func, shape, error):
    with pytest.raises(error):
        adjoint.jacrev(func)(np.linspace(0.5, 1.5, math.prod(shape)).reshape(shape))


def test_cumprod_is_exact_at_zeros():
    x = np.array([2.0, 0.0, 3.0, 0.5])
    expected = [[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 6.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]]
    np.testing.assert_array_equal(adjoint.jacrev(cumulative_product)(x), expected)


def cumulative_product(x):
    return np.cumprod(x)


def test_sort_sends_each_cotangent_to_the_element_sorted_there():
    x = np.array([[3.0, 1.0, 2.0], [0.5, 0.7, 0.1]])
    jacobian = adjoint.jacrev(sorted_rows)(x)
    for row in range(2):
        for position, source in enumerate(np.argsort(x[row])):
            expected = np.zeros_like(x)
            expected[row, source] = 1.0
            np.testing.assert_array_equal(jacobian[row, position], expected)


def sorted_rows(x):
    return np.sort(x)


# ----------------------------------------------------------------- no derivative

VECTOR = np.array([-1.3, 0.4, 2.6, -0.2, 1.1])

NONDIFFERENTIABLE_ROWS = [
    ("sign", lambda x: x * np.sign(x), lambda x: np.diag(np.sign(x))),
    ("floor", lambda x: x * np.floor(x), lambda x: np.diag(np.floor(x))),
    ("ceil", lambda x: np.ceil(x) * x, lambda x: np.diag(np.ceil(x))),
    ("round", lambda x: x * np.round(x), lambda x: np.diag(np.round(x))),
    ("rint", lambda x: x * np.rint(x), lambda x: np.diag(np.rint(x))),
    ("trunc", lambda x: x * np.trunc(x), lambda x: np.diag(np.trunc(x))),
    ("x>0", lambda x: x * (x > 0.0), lambda x: np.diag((x > 0.0) * 1.0)),
    ("x<=y", lambda x: np.where(x <= 0.5, x, 2.0 * x), lambda x: np.diag(np.where(x <= 0.5, 1.0, 2.0))),
    ("x==x", lambda x: x * (x == x), lambda x: np.eye(x.size)),
    ("argmax", lambda x: x * np.argmax(x), lambda x: np.argmax(x) * np.eye(x.size)),
    ("x.argmin", lambda x: x * x.argmin(), lambda x: np.argmin(x) * np.eye(x.size)),
    ("x[argmax]", lambda x: x[np.argmax(x)] * 2.0, lambda x: 2.0 * (np.arange(x.size) == np.argmax(x))),
    ("x.shape", lambda x: x * x.shape[0], lambda x: x.size * np.eye(x.size)),
    ("np.shape", lambda x: x * np.shape(x)[0], lambda x: x.size * np.eye(x.size)),
    ("len", lambda x: x * len(x), lambda x: x.size * np.eye(x.size)),
    ("x.size", lambda x: x / x.size, lambda x: np.eye(x.size) / x.size),
    ("ones_like", lambda x: np.ones_like(x) * x, lambda x: np.eye(x.size)),
    ("zeros_like", lambda x: np.zeros_like(x) + x, lambda x: np.eye(x.size)),
    ("sign-only", lambda x: np.sign(x) * 1.0, lambda x: np.zeros((x.size, x.size))),
    ("searchsorted", lambda x: x * np.searchsorted(KNOTS, x), lambda x: np.diag(np.searchsorted(KNOTS, x) * 1.0)),
    ("x[searchsorted]", lambda x: x[np.searchsorted(KNOTS, x[0])], lambda x: np.eye(x.size)[np.searchsorted(KNOTS, x[0])]),
    ("digitize", lambda x: x * np.digitize(x, KNOTS), lambda x: np.diag(np.digitize(x, KNOTS) * 1.0)),
    ("isclose", lambda x: np.where(np.isclose(x, 0.4), 0.0, x), lambda x: np.diag(1.0 - np.isclose(x, 0.4))),
    ("allclose", lambda x: x * np.allclose(x, x[::-1]), lambda x: np.zeros((x.size, x.size))),
    ("heaviside", lambda x: x * np.heaviside(x, 0.5), lambda x: np.diag(np.heaviside(x, 0.5))),
    ("heaviside-only", lambda x: np.heaviside(x, 0.5) * 2.0, lambda x: np.zeros((x.size, x.size))),
    ("count_nonzero", lambda x: x * np.count_nonzero(x > 0.0), lambda x: np.count_nonzero(x > 0.0) * np.eye(x.size)),
    ("isnan", lambda x: np.where(np.isnan(x), 0.0, x), lambda x: np.eye(x.size)),
    ("isfinite", lambda x: x * np.isfinite(x), lambda x: np.eye(x.size)),
    ("argmax-only", lambda x: np.argmax(x) * 1.0, lambda x: np.zeros(x.size)),
]


@pytest.mark.parametrize("label, func, expected", NONDIFFERENTIABLE_ROWS, ids=[row[0] for row in NONDIFFERENTIABLE_ROWS])
def test_nondifferentiable_values_contribute_no_derivative(label, func, expected):
    jacobian = adjoint.jacrev(func)(VECTOR)
    np.testing.assert_allclose(jacobian, expected(VECTOR), rtol=0, atol=1e-15)
    check_jacobian(func, [VECTOR])


def test_stop_gradient_contributes_no_derivative():
    np.testing.assert_array_equal(adjoint.jacrev(stopped_square)(VECTOR), np.diag(VECTOR))


def stopped_square(x):
    return adjoint.stop_gradient(x) * x


# ----------------------------------------------------------------- eigh, degenerate


def eigenvalues_only(a):
    w, v = np.linalg.eigh(a)
    return w


def eigenvectors_only(a):
    w, v = np.linalg.eigh(a)
    return v[0] * v[0]


def test_eigh_eigenvalues_are_differentiable_where_they_repeat():
    # The identity: every eigenvalue is 1, yet d w_i / d a is still defined
    # (for a perturbation that keeps the eigenvectors): a one at the diagonal.
    jacobian = adjoint.jacrev(eigenvalues_only)(np.eye(3))
    assert np.all(np.isfinite(jacobian))
    np.testing.assert_allclose(np.sum(jacobian, axis=0), np.eye(3), atol=1e-12)


def test_eigh_eigenvectors_have_no_derivative_where_eigenvalues_repeat():
    # A repeated eigenvalue has no unique eigenvectors: their derivative is
    # infinite, so it shows as inf or nan rather than as a finite number.
    with np.errstate(invalid="ignore"):  # inf * 0: NumPy would warn
        jacobian = adjoint.jacrev(eigenvectors_only)(np.diag([1.0, 1.0, 2.0]))
    assert not np.all(np.isfinite(jacobian))


def test_slogdet_sign_carries_no_derivative():
    a = np.array([[0.0, 2.0], [1.0, 0.5]])  # a negative determinant
    jac = adjoint.jacrev(sign_only)(a)
    np.testing.assert_array_equal(jac, np.zeros((2, 2)))


def sign_only(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return sign * 3.0


def test_split_pieces_without_cotangent_get_zeros():
    x = np.arange(6.0)
    np.testing.assert_array_equal(adjoint.grad(sum_of_middle_piece)(x), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0])


def sum_of_middle_piece(x):
    return np.sum(np.split(x, 3)[1])


# ----------------------------------------------------------------- order statistics, special cases
# At ties and NaNs the derivative does not exist (random directions give
# different slopes), so these are checked value by value.

TIED = np.array([1.0, 3.0, 3.0, 2.0, 0.5, 3.0])


def median_of(x):
    return np.median(x)


def percentiles_of(x):
    return np.percentile(x, [0.0, 30.0, 90.0])


def median_of_columns(x):
    return np.median(x, axis=0)


def test_median_shares_the_derivative_among_ties():
    # sorted: 0.5 1 2 3 3 3; the median is halfway from the 2 to a 3, any of three.
    np.testing.assert_allclose(adjoint.jacrev(median_of)(TIED), [0, 1 / 6, 1 / 6, 0.5, 0, 1 / 6], rtol=1e-15)
    np.testing.assert_allclose(adjoint.jacrev(median_of)(np.array([1.0, 3.0, 3.0, 2.0, 3.0])), [0, 1 / 3, 1 / 3, 0, 1 / 3],
                               rtol=1e-15)


def test_percentile_derivative_goes_to_the_elements_interpolated():
    expected = [[0, 0, 0, 0, 1, 0], [0.5, 0, 0, 0.5, 0, 0], [0, 1 / 3, 1 / 3, 0, 0, 1 / 3]]
    np.testing.assert_allclose(adjoint.jacrev(percentiles_of)(TIED), expected, rtol=1e-15)


def test_median_of_a_slice_with_nan_goes_to_the_nan():
    x = np.array([[1.0, np.nan], [2.0, 5.0], [np.nan, 4.0], [0.5, 3.0]])
    jacobian = adjoint.jacrev(median_of_columns)(x)
    np.testing.assert_array_equal(jacobian[0], np.where(np.isnan(x), [1.0, 0.0], 0.0))
    np.testing.assert_array_equal(jacobian[1], np.where(np.isnan(x), [0.0, 1.0], 0.0))


def both_nan_fmax(x, y):
    return np.fmax(x, y) + np.fmin(y, x)


def test_fmax_of_two_nans_derives_from_the_first():
    x, y = np.array([np.nan, 1.0]), np.array([np.nan, 1.0])
    jx, jy = adjoint.jacrev(both_nan_fmax, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(jx, [[1.0, 0.0], [0.0, 1.0]])  # fmax's first argument; a tie with fmin's
    np.testing.assert_array_equal(jy, [[1.0, 0.0], [0.0, 1.0]])


def row_maxima_ignoring_nans(x):
    return np.nanmax(x, axis=1)


def test_nanmax_shares_ties_and_skips_nans():
    x = np.array([[1.0, np.nan, 3.0, 3.0], [2.0, 2.0, 2.0, np.nan], [np.nan, np.nan, np.nan, np.nan]])
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):  # NumPy warns of the all-NaN row
        jacobian = adjoint.jacrev(row_maxima_ignoring_nans)(x)
    expected = np.zeros((3,) + x.shape)
    expected[0, 0, 2:] = 0.5
    expected[1, 1, :3] = 1 / 3
    np.testing.assert_array_equal(jacobian, expected)


def qr_fields_together(a):
    factors = np.linalg.qr(a)
    return factors.R[0] + factors.Q[1]


def lstsq_items_together(a, b):
    result = np.linalg.lstsq(a, b, rcond=None)
    return result[0] * 2.0 + np.linalg.lstsq(a, b, rcond=None)[0]


def split_pieces_together(x):
    pieces = np.split(x, 2)
    return pieces[0] * pieces[1] + pieces[1]


def test_results_that_are_tuples_read_in_several_ways():
    # The adjoints of a tuple result's items add up item by item (they were
    # joined as tuples: a crash).
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=4)
    check_jacobian(qr_fields_together, (a,), 0)
    for argnum in (0, 1):
        check_jacobian(lstsq_items_together, (a, b), argnum)
    check_jacobian(split_pieces_together, (rng.normal(size=6),), 0)


def _stack_rows_axis1(x):
    return np.stack(x, axis=1) * 2.0


def _concatenate_rows(x):
    return np.concatenate(x) ** 2


def _vstack_rows(x):
    return np.vstack(x) * 3.0


def _hstack_rows(x):
    return np.sin(np.hstack(x))


def _column_stack_rows(x):
    return np.column_stack(x) * x[0, 0]


@pytest.mark.parametrize("func", [_stack_rows_axis1, _concatenate_rows, _vstack_rows, _hstack_rows,
                                  _column_stack_rows])
def test_one_array_read_as_a_sequence_of_its_rows(func):
    """np.stack(x) and friends given one array (NumPy reads its rows as the
    sequence): the Jacobian against finite differences (its entries landed in
    the wrong places when the rows' adjoints were joined item first)."""
    x = np.arange(6.0).reshape(2, 3) / 5.0 + 0.5
    check_jacobian(func, [x], (0,))
    np.testing.assert_allclose(adjoint.jacfwd(func)(x), adjoint.jacrev(func)(x), rtol=1e-12)


def _python_sum_of_array(x):
    return sum(x ** 2)


def _python_max_of_array(x):
    return max(x * 3.0)


def _python_sum_of_rows(x):
    return sum(x * 2.0)


@pytest.mark.parametrize("func, shape", [(_python_sum_of_array, (4,)), (_python_max_of_array, (4,)),
                                         (_python_sum_of_rows, (2, 3))])
def test_python_sum_and_max_over_an_array(func, shape):
    """Python's sum and max iterate over an array's rows: the rows' adjoints
    form one array (jacrev raised, reshaping a list of rows)."""
    x = np.array([0.5, -1.0, 2.0, 0.1, 0.7, -0.3])[:int(np.prod(shape))].reshape(shape)
    check_jacobian(func, [x], (0,))
