"""Rules of the reductions: sum, mean, prod, max, min (``axis`` int, tuple,
negative or None; ``keepdims``). Parameters follow NumPy's positional order;
``out`` is not accepted (a rule never writes into the user's arrays)."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, nondifferentiable


@adjoint_rule(np.sum)
def sum_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.unreduce(bar[z], a, axis=axis, keepdims=keepdims)


@adjoint_rule(np.mean)
def mean_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.unreduce(bar[z], a, axis=axis, keepdims=keepdims) / rt.reduced_count(a, axis=axis)


@adjoint_rule(np.prod)
def prod_adjoint(z, a, axis=None, dtype=None, *, keepdims=False):
    bar[a] = rt.unreduce(bar[z], a, axis=axis, keepdims=keepdims) * rt.prod_others(a, axis=axis)


@adjoint_rule(np.max, np.amax, np.min, np.amin)
def max_adjoint(z, a, axis=None, *, keepdims=False):
    bar[a] = rt.extremum_adjoint(bar[z], a, z, axis=axis, keepdims=keepdims)


nondifferentiable(
    np.argmax, np.argmin, np.argsort, np.count_nonzero, np.any, np.all,
)
