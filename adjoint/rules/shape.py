"""Rules of the functions that move elements without arithmetic: reshape,
transpose, concatenate, stack, copies, and the shape queries that carry no
derivative."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, nondifferentiable


@adjoint_rule(np.reshape)
def reshape_adjoint(z, a, shape=None):
    bar[a] = rt.reshape_adjoint(bar[z], a)


@adjoint_rule(np.ravel, np.atleast_1d, np.atleast_2d, float)
def ravel_adjoint(z, a):
    bar[a] = rt.reshape_adjoint(bar[z], a)


@adjoint_rule(np.squeeze)
def squeeze_adjoint(z, a, axis=None):
    bar[a] = rt.reshape_adjoint(bar[z], a)


@adjoint_rule(np.expand_dims)
def expand_dims_adjoint(z, a, axis):
    bar[a] = rt.reshape_adjoint(bar[z], a)


@adjoint_rule(np.transpose)
def transpose_adjoint(z, a, axes=None):
    bar[a] = rt.transpose_adjoint(bar[z], axes=axes)


@adjoint_rule(rt.transpose_attribute)
def transpose_attribute_adjoint(z, value):
    bar[value] = rt.transpose_adjoint(bar[z])


@adjoint_rule(np.swapaxes)
def swapaxes_adjoint(z, a, axis1, axis2):
    bar[a] = rt.swapaxes_adjoint(bar[z], axis1, axis2)


@adjoint_rule(np.concatenate)
def concatenate_adjoint(z, arrays, axis=0):
    bar[arrays] = rt.concatenate_adjoint(bar[z], arrays, axis=axis)


@adjoint_rule(np.stack)
def stack_adjoint(z, arrays, axis=0):
    bar[arrays] = rt.stack_adjoint(bar[z], arrays, axis=axis)


@adjoint_rule(np.copy, np.asarray, np.array)
def array_adjoint(z, a):
    bar[a] = rt.array_adjoint(bar[z], a)


@adjoint_rule(rt.identity)
def identity_adjoint(z, value):
    bar[value] = bar[z]


nondifferentiable(
    np.shape, np.ndim, np.size, np.zeros_like, np.ones_like, np.empty_like,
    np.zeros, np.ones, np.empty, np.full, np.eye, np.identity, np.arange,
    np.linspace, np.result_type,
    len, range, isinstance, type, int, bool, print, round, id, str, repr,
)
