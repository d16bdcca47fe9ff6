"""Rules of the functions that move elements without arithmetic: reshape,
transpose, concatenate, stack, hstack, vstack, flip, roll, tile, repeat,
take, broadcast_to, moveaxis, sort, pad, copies; of the constructors whose
values come from arguments (full, linspace); and the shape queries that
carry no derivative."""
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


@adjoint_rule(np.hstack)
def hstack_adjoint(z, tup):
    bar[tup] = rt.hstack_adjoint(bar[z], tup)


@adjoint_rule(np.vstack)
def vstack_adjoint(z, tup):
    bar[tup] = rt.vstack_adjoint(bar[z], tup)


@adjoint_rule(np.flip)
def flip_adjoint(z, m, axis=None):
    bar[m] = rt.flip_adjoint(bar[z], axis=axis)


@adjoint_rule(np.roll)
def roll_adjoint(z, a, shift, axis=None):
    bar[a] = rt.roll_adjoint(bar[z], shift, axis=axis)


@adjoint_rule(np.tile)
def tile_adjoint(z, A, reps):
    bar[A] = rt.tile_adjoint(bar[z], A, reps)


@adjoint_rule(np.repeat)
def repeat_adjoint(z, a, repeats, axis=None):
    bar[a] = rt.repeat_adjoint(bar[z], a, repeats, axis=axis)


@adjoint_rule(np.take)
def take_adjoint(z, a, indices, axis=None, *, mode="raise"):
    bar[a] = rt.take_adjoint(bar[z], a, indices, axis=axis, mode=mode)


@adjoint_rule(np.broadcast_to)
def broadcast_to_adjoint(z, array, shape):
    bar[array] = rt.unbroadcast(bar[z], array)


@adjoint_rule(np.moveaxis)
def moveaxis_adjoint(z, a, source, destination):
    bar[a] = rt.moveaxis_adjoint(bar[z], source, destination)


@adjoint_rule(np.sort)
def sort_adjoint(z, a, axis=-1, kind=None):
    bar[a] = rt.sort_adjoint(bar[z], a, axis=axis)


@adjoint_rule(np.pad)
def pad_adjoint(z, array, pad_width, mode="constant", *, constant_values=0):
    bar[array] = rt.pad_adjoint(bar[z], array, pad_width, mode=mode)


@adjoint_rule(np.copy, np.asarray, np.array)
def array_adjoint(z, a):
    bar[a] = rt.array_adjoint(bar[z], a)


@adjoint_rule(np.full)
def full_adjoint(z, shape, fill_value, dtype=None, order="C"):
    bar[fill_value] = rt.full_adjoint(bar[z], fill_value, dtype=dtype)


# NumPy places dtype and axis after retstep, which is not accepted (its result
# is a pair), so they are keyword-only here.
@adjoint_rule(np.linspace)
def linspace_adjoint(z, start, stop, num=50, endpoint=True, *, dtype=None, axis=0):
    bar[start] = rt.linspace_adjoint(bar[z], start, num, endpoint=endpoint, dtype=dtype, axis=axis)
    bar[stop] = rt.linspace_adjoint(bar[z], stop, num, endpoint=endpoint, dtype=dtype, axis=axis, stop=True)


@adjoint_rule(rt.identity, rt.copy)
def identity_adjoint(z, value):
    bar[value] = bar[z]


nondifferentiable(
    np.shape, np.ndim, np.size, np.zeros_like, np.ones_like, np.empty_like,
    np.zeros, np.ones, np.empty, np.eye, np.identity, np.arange, np.result_type,
    len, range, isinstance, type, int, bool, print, round, id, str, repr,
)


@adjoint_rule(rt.astype)
def astype_adjoint(z, value, dtype):
    bar[value] = rt.cast_adjoint(bar[z], dtype)
