"""Rules of the functions that move elements without arithmetic: reshape,
transpose, concatenate, stack, hstack, vstack, column_stack, dstack, append,
split, array_split, flip, fliplr, flipud, rot90, rollaxis, atleast_3d, roll, tile, repeat, take, take_along_axis,
diagonal, tril, triu, broadcast_to, moveaxis, sort, pad, copies; of the
constructors whose values come from arguments (full, full_like, linspace);
and the shape and search queries that carry no derivative.

Each tangent rule sits below its adjoint rule. These functions are linear, so
a tangent is mostly the function itself applied to the batched tangent, its
axes shifted past the batch axis (``rt.batch_axis``), which keeps tangent
code differentiable again; ``rt.*_tangent`` helpers do what needs more
(``axis=None`` flattening, joining the items of a sequence argument)."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, nondifferentiable, tangent_rule, vec


@adjoint_rule(np.reshape)
def reshape_adjoint(z, a, shape=None):
    bar[a] = rt.reshape_adjoint(bar[z], a)


@tangent_rule(np.reshape)
def reshape_tangent(z, a, shape=None):
    dot[z] = rt.batched_reshape(dot[a], z)


@batch_rule(np.reshape)
def reshape_batched(z, a, shape=None, order="C"):
    vec[z] = rt.vreshape(vec[a], shape, order=order)


@adjoint_rule(np.ravel, np.atleast_1d, np.atleast_2d, float, np.float64)
def ravel_adjoint(z, a):
    bar[a] = rt.reshape_adjoint(bar[z], a)


@tangent_rule(np.ravel, np.atleast_1d, np.atleast_2d, float, np.float64)
def ravel_tangent(z, a):
    dot[z] = rt.batched_reshape(dot[a], z)


@batch_rule(np.ravel)
def ravel_batched(z, a):
    vec[z] = rt.vravel(vec[a])


@batch_rule(np.atleast_1d)
def atleast_1d_batched(z, a):
    vec[z] = rt.vatleast(vec[a], 1)


@batch_rule(np.atleast_2d)
def atleast_2d_batched(z, a):
    vec[z] = rt.vatleast(vec[a], 2)


@batch_rule(float)
def float_batched(z, a):
    vec[z] = rt.vfloat(vec[a])


@batch_rule(np.float64)
def float64_batched(z, a):
    vec[z] = np.asarray(rt.vasarray(vec[a]), dtype=np.float64)


@adjoint_rule(np.squeeze)
def squeeze_adjoint(z, a, axis=None):
    bar[a] = rt.reshape_adjoint(bar[z], a)


@tangent_rule(np.squeeze)
def squeeze_tangent(z, a, axis=None):
    dot[z] = rt.batched_reshape(dot[a], z)


@batch_rule(np.squeeze)
def squeeze_batched(z, a, axis=None):
    vec[z] = np.squeeze(vec[a], axis=rt.vsqueeze_axes(axis, vec[a]))


@adjoint_rule(np.expand_dims)
def expand_dims_adjoint(z, a, axis):
    bar[a] = rt.reshape_adjoint(bar[z], a)


@tangent_rule(np.expand_dims)
def expand_dims_tangent(z, a, axis):
    dot[z] = rt.batched_reshape(dot[a], z)


@batch_rule(np.expand_dims)
def expand_dims_batched(z, a, axis):
    vec[z] = np.expand_dims(vec[a], rt.vexpand_axes(axis, vec[a]))


@adjoint_rule(np.transpose)
def transpose_adjoint(z, a, axes=None):
    bar[a] = rt.transpose_adjoint(bar[z], axes=axes)


@tangent_rule(np.transpose)
def transpose_tangent(z, a, axes=None):
    dot[z] = np.transpose(dot[a], rt.batch_permutation(axes, a))


@batch_rule(np.transpose)
def transpose_batched(z, a, axes=None):
    vec[z] = np.transpose(vec[a], rt.vpermutation(axes, vec[a]))


@adjoint_rule(rt.transpose_attribute)
def transpose_attribute_adjoint(z, value):
    bar[value] = rt.transpose_adjoint(bar[z])


@tangent_rule(rt.transpose_attribute)
def transpose_attribute_tangent(z, value):
    dot[z] = np.transpose(dot[value], rt.batch_permutation(None, value))


@batch_rule(rt.transpose_attribute)
def transpose_attribute_batched(z, value):
    vec[z] = np.transpose(vec[value], rt.vpermutation(None, vec[value]))


@adjoint_rule(np.swapaxes)
def swapaxes_adjoint(z, a, axis1, axis2):
    bar[a] = rt.swapaxes_adjoint(bar[z], axis1, axis2)


@tangent_rule(np.swapaxes)
def swapaxes_tangent(z, a, axis1, axis2):
    dot[z] = np.swapaxes(dot[a], rt.batch_axis(axis1), rt.batch_axis(axis2))


@batch_rule(np.swapaxes)
def swapaxes_batched(z, a, axis1, axis2):
    vec[z] = np.swapaxes(vec[a], rt.vaxes(axis1, vec[a]), rt.vaxes(axis2, vec[a]))


@adjoint_rule(np.concatenate, sequences=True)
def concatenate_adjoint(z, arrays, axis=0):
    bar[arrays] = rt.concatenate_adjoint(bar[z], arrays, axis=axis)


@tangent_rule(np.concatenate)
def concatenate_tangent(z, arrays, axis=0):
    dot[z] = rt.concatenate_tangent(dot[arrays], arrays, axis=axis)


# Items the examples share are broadcast to the batch (rt.to_batched).
@batch_rule(np.concatenate)
def concatenate_batched(z, arrays, axis=0):
    vec[z] = rt.vconcatenate(vec[arrays], axis=axis)


@adjoint_rule(np.stack, sequences=True)
def stack_adjoint(z, arrays, axis=0):
    bar[arrays] = rt.stack_adjoint(bar[z], arrays, axis=axis)


@tangent_rule(np.stack)
def stack_tangent(z, arrays, axis=0):
    dot[z] = np.stack(rt.tangent_items(dot[arrays], arrays), axis=rt.batch_axis(axis))


@batch_rule(np.stack)
def stack_batched(z, arrays, axis=0):
    vec[z] = rt.vstack_items(vec[arrays], axis=axis)


@adjoint_rule(np.hstack, sequences=True)
def hstack_adjoint(z, tup):
    bar[tup] = rt.hstack_adjoint(bar[z], tup)


@tangent_rule(np.hstack)
def hstack_tangent(z, tup):
    dot[z] = rt.hstack_tangent(dot[tup], tup)


@batch_rule(np.hstack)
def hstack_batched(z, tup):
    vec[z] = rt.vhstack(vec[tup])


@adjoint_rule(np.vstack, sequences=True)
def vstack_adjoint(z, tup):
    bar[tup] = rt.vstack_adjoint(bar[z], tup)


@tangent_rule(np.vstack)
def vstack_tangent(z, tup):
    dot[z] = rt.vstack_tangent(dot[tup], tup)


@batch_rule(np.vstack)
def vstack_batched(z, tup):
    vec[z] = rt.vvstack(vec[tup])


@adjoint_rule(np.column_stack, sequences=True)
def column_stack_adjoint(z, tup):
    bar[tup] = rt.column_stack_adjoint(bar[z], tup)


@tangent_rule(np.column_stack)
def column_stack_tangent(z, tup):
    dot[z] = rt.column_stack_tangent(dot[tup], tup)


@batch_rule(np.column_stack)
def column_stack_batched(z, tup):
    vec[z] = rt.vcolumn_stack(vec[tup])


@adjoint_rule(np.dstack, sequences=True)
def dstack_adjoint(z, tup):
    bar[tup] = rt.dstack_adjoint(bar[z], tup)


@tangent_rule(np.dstack)
def dstack_tangent(z, tup):
    dot[z] = rt.dstack_tangent(dot[tup], tup)


@batch_rule(np.dstack)
def dstack_batched(z, tup):
    vec[z] = rt.vdstack(vec[tup])


@adjoint_rule(np.append)
def append_adjoint(z, arr, values, axis=None):
    bar[arr] = rt.append_adjoint(bar[z], arr, values, axis=axis)
    bar[values] = rt.append_adjoint(bar[z], arr, values, axis=axis, wrt_values=True)


@tangent_rule(np.append)
def append_tangent(z, arr, values, axis=None):
    dot[z] = rt.append_arrays_tangent(dot[arr], z, arr, values, axis=axis)
    dot[z] = rt.append_arrays_tangent(dot[values], z, arr, values, axis=axis, wrt_values=True)


@batch_rule(np.append)
def append_batched(z, arr, values, axis=None):
    vec[z] = rt.vappend(vec[arr], vec[values], axis=axis)


@adjoint_rule(np.split, np.array_split, tuple_result=True)
def split_adjoint(z, ary, indices_or_sections, axis=0):
    # z is a list of pieces; those the function did not use have no cotangent.
    bar[ary] = rt.split_adjoint(bar[z], ary, indices_or_sections, axis=axis)


@tangent_rule(np.split, np.array_split)
def split_tangent(z, ary, indices_or_sections, axis=0):
    dot[z] = np.array_split(dot[ary], indices_or_sections, axis=rt.batch_axis(axis))


@batch_rule(np.split)
def split_batched(z, ary, indices_or_sections, axis=0):
    vec[z] = rt.vsplit_pieces(np.split, vec[ary], indices_or_sections, axis=axis)


@batch_rule(np.array_split)
def array_split_batched(z, ary, indices_or_sections, axis=0):
    vec[z] = rt.vsplit_pieces(np.array_split, vec[ary], indices_or_sections, axis=axis)


# hsplit cuts along axis 1 (axis 0 of a 1-d array), vsplit along 0, dsplit along 2.
@adjoint_rule(np.hsplit, tuple_result=True)
def hsplit_adjoint(z, ary, indices_or_sections):
    bar[ary] = rt.split_adjoint(bar[z], ary, indices_or_sections, axis=rt.hsplit_axis(ary))


@tangent_rule(np.hsplit)
def hsplit_tangent(z, ary, indices_or_sections):
    dot[z] = np.array_split(dot[ary], indices_or_sections, axis=rt.batch_axis(rt.hsplit_axis(ary)))


@batch_rule(np.hsplit)
def hsplit_batched(z, ary, indices_or_sections):
    vec[z] = np.split(vec[ary], indices_or_sections, axis=rt.vhsplit_axis(vec[ary]))


@adjoint_rule(np.vsplit, tuple_result=True)
def vsplit_adjoint(z, ary, indices_or_sections):
    bar[ary] = rt.split_adjoint(bar[z], ary, indices_or_sections, axis=0)


@tangent_rule(np.vsplit)
def vsplit_tangent(z, ary, indices_or_sections):
    dot[z] = np.array_split(dot[ary], indices_or_sections, axis=1)


@batch_rule(np.vsplit)
def vsplit_batched(z, ary, indices_or_sections):
    vec[z] = rt.vsplit_pieces(np.split, vec[ary], indices_or_sections, axis=0)


@adjoint_rule(np.dsplit, tuple_result=True)
def dsplit_adjoint(z, ary, indices_or_sections):
    bar[ary] = rt.split_adjoint(bar[z], ary, indices_or_sections, axis=2)


@tangent_rule(np.dsplit)
def dsplit_tangent(z, ary, indices_or_sections):
    dot[z] = np.array_split(dot[ary], indices_or_sections, axis=3)


@batch_rule(np.dsplit)
def dsplit_batched(z, ary, indices_or_sections):
    vec[z] = rt.vsplit_pieces(np.split, vec[ary], indices_or_sections, axis=2)


@adjoint_rule(np.diagonal)
def diagonal_adjoint(z, a, offset=0, axis1=0, axis2=1):
    bar[a] = rt.diagonal_adjoint(bar[z], a, offset=offset, axis1=axis1, axis2=axis2)


@tangent_rule(np.diagonal)
def diagonal_tangent(z, a, offset=0, axis1=0, axis2=1):
    dot[z] = np.diagonal(dot[a], offset, rt.batch_axis(axis1), rt.batch_axis(axis2))


@batch_rule(np.diagonal)
def diagonal_batched(z, a, offset=0, axis1=0, axis2=1):
    vec[z] = np.diagonal(vec[a], offset, rt.vaxes(axis1, vec[a]), rt.vaxes(axis2, vec[a]))


@adjoint_rule(np.tril)
def tril_adjoint(z, m, k=0):
    bar[m] = rt.triangle_adjoint(bar[z], m, k=k)


@tangent_rule(np.tril)
def tril_tangent(z, m, k=0):
    dot[z] = np.tril(rt.lift(dot[m], z), k)


@batch_rule(np.tril)
def tril_batched(z, m, k=0):
    vec[z] = rt.vtriangle(np.tril, vec[m], k)


@adjoint_rule(np.triu)
def triu_adjoint(z, m, k=0):
    bar[m] = rt.triangle_adjoint(bar[z], m, k=k, upper=True)


@tangent_rule(np.triu)
def triu_tangent(z, m, k=0):
    dot[z] = np.triu(rt.lift(dot[m], z), k)


@batch_rule(np.triu)
def triu_batched(z, m, k=0):
    vec[z] = rt.vtriangle(np.triu, vec[m], k)


@adjoint_rule(np.take_along_axis)
def take_along_axis_adjoint(z, arr, indices, axis=-1):
    bar[arr] = rt.take_along_axis_adjoint(bar[z], arr, indices, axis=axis)


@tangent_rule(np.take_along_axis)
def take_along_axis_tangent(z, arr, indices, axis=-1):
    dot[z] = rt.take_along_axis_tangent(dot[arr], indices, axis=axis)


# indices the examples share are broadcast to the batch.
@batch_rule(np.take_along_axis)
def take_along_axis_batched(z, arr, indices, axis=-1):
    vec[z] = rt.vtake_along_axis(vec[arr], vec[indices], axis)


@adjoint_rule(np.flip)
def flip_adjoint(z, m, axis=None):
    bar[m] = rt.flip_adjoint(bar[z], axis=axis)


@tangent_rule(np.flip)
def flip_tangent(z, m, axis=None):
    dot[z] = np.flip(dot[m], rt.batch_axes(axis, m))


@batch_rule(np.flip)
def flip_batched(z, m, axis=None):
    vec[z] = np.flip(vec[m], rt.vaxes(axis, vec[m]))



@adjoint_rule(np.fliplr)
def fliplr_adjoint(z, m):
    bar[m] = rt.flip_adjoint(bar[z], axis=1)


@tangent_rule(np.fliplr)
def fliplr_tangent(z, m):
    dot[z] = np.flip(dot[m], 2)


@batch_rule(np.fliplr)
def fliplr_batched(z, m):
    vec[z] = np.flip(vec[m], rt.vaxes(1, vec[m]))


@adjoint_rule(np.flipud)
def flipud_adjoint(z, m):
    bar[m] = rt.flip_adjoint(bar[z], axis=0)


@tangent_rule(np.flipud)
def flipud_tangent(z, m):
    dot[z] = np.flip(dot[m], 1)


@batch_rule(np.flipud)
def flipud_batched(z, m):
    vec[z] = np.flip(vec[m], rt.vaxes(0, vec[m]))


@adjoint_rule(np.rot90)
def rot90_adjoint(z, m, k=1, axes=(0, 1)):
    bar[m] = rt.rot90_adjoint(bar[z], k=k, axes=axes)


@tangent_rule(np.rot90)
def rot90_tangent(z, m, k=1, axes=(0, 1)):
    dot[z] = np.rot90(dot[m], k, rt.batch_axes(axes, m))


@batch_rule(np.rot90)
def rot90_batched(z, m, k=1, axes=(0, 1)):
    vec[z] = np.rot90(vec[m], k, rt.vaxes(axes, vec[m]))


@adjoint_rule(np.rollaxis)
def rollaxis_adjoint(z, a, axis, start=0):
    bar[a] = rt.rollaxis_adjoint(bar[z], a, axis, start=start)


@tangent_rule(np.rollaxis)
def rollaxis_tangent(z, a, axis, start=0):
    dot[z] = np.rollaxis(dot[a], rt.batch_axis(axis), rt.batch_axis(start))


@batch_rule(np.rollaxis)
def rollaxis_batched(z, a, axis, start=0):
    vec[z] = np.rollaxis(vec[a], rt.vaxes(axis, vec[a]), rt.vrollaxis_start(start, vec[a]))


# One array (several return a list of them: not accepted).
@adjoint_rule(np.atleast_3d)
def atleast_3d_adjoint(z, arys):
    bar[arys] = rt.reshape_adjoint(bar[z], arys)


@tangent_rule(np.atleast_3d)
def atleast_3d_tangent(z, arys):
    dot[z] = rt.batched_reshape(dot[arys], z)


@batch_rule(np.atleast_3d)
def atleast_3d_batched(z, arys):
    vec[z] = rt.vatleast(vec[arys], 3)


@adjoint_rule(np.roll)
def roll_adjoint(z, a, shift, axis=None):
    bar[a] = rt.roll_adjoint(bar[z], shift, axis=axis)


@tangent_rule(np.roll)
def roll_tangent(z, a, shift, axis=None):
    dot[z] = rt.roll_tangent(dot[a], shift, axis=axis)


@batch_rule(np.roll)
def roll_batched(z, a, shift, axis=None):
    vec[z] = rt.vroll(vec[a], shift, axis=axis)


@adjoint_rule(np.tile)
def tile_adjoint(z, A, reps):
    bar[A] = rt.tile_adjoint(bar[z], A, reps)


@tangent_rule(np.tile)
def tile_tangent(z, A, reps):
    dot[z] = rt.tile_tangent(dot[A], reps)


@batch_rule(np.tile)
def tile_batched(z, A, reps):  # noqa: N803 (NumPy's name)
    vec[z] = rt.vtile(vec[A], reps)


@adjoint_rule(np.repeat)
def repeat_adjoint(z, a, repeats, axis=None):
    bar[a] = rt.repeat_adjoint(bar[z], a, repeats, axis=axis)


@tangent_rule(np.repeat)
def repeat_tangent(z, a, repeats, axis=None):
    dot[z] = rt.repeat_tangent(dot[a], repeats, axis=axis)


@batch_rule(np.repeat)
def repeat_batched(z, a, repeats, axis=None):
    vec[z] = rt.vrepeat(vec[a], repeats, axis=axis)


@adjoint_rule(np.take)
def take_adjoint(z, a, indices, axis=None, *, mode="raise"):
    bar[a] = rt.take_adjoint(bar[z], a, indices, axis=axis, mode=mode)


@tangent_rule(np.take)
def take_tangent(z, a, indices, axis=None, *, mode="raise"):
    dot[z] = rt.take_tangent(dot[a], indices, axis=axis, mode=mode)


# indices the same for every example (else once per example).
@batch_rule(np.take)
def take_batched(z, a, indices, axis=None, *, mode="raise"):
    vec[z] = rt.vtake(vec[a], indices, axis=axis, mode=mode)


@adjoint_rule(np.broadcast_to)
def broadcast_to_adjoint(z, array, shape):
    bar[array] = rt.unbroadcast(bar[z], array)


@tangent_rule(np.broadcast_to)
def broadcast_to_tangent(z, array, shape):
    dot[z] = rt.lift(dot[array], z)


@batch_rule(np.broadcast_to)
def broadcast_to_batched(z, array, shape):
    vec[z] = rt.vbroadcast_to(vec[array], shape)


@adjoint_rule(np.moveaxis)
def moveaxis_adjoint(z, a, source, destination):
    bar[a] = rt.moveaxis_adjoint(bar[z], source, destination)


@tangent_rule(np.moveaxis)
def moveaxis_tangent(z, a, source, destination):
    dot[z] = np.moveaxis(dot[a], rt.batch_axes(source, a), rt.batch_axes(destination, a))


@batch_rule(np.moveaxis)
def moveaxis_batched(z, a, source, destination):
    vec[z] = np.moveaxis(vec[a], rt.vaxes(source, vec[a]), rt.vaxes(destination, vec[a]))


@adjoint_rule(np.sort)
def sort_adjoint(z, a, axis=-1, kind=None):
    bar[a] = rt.sort_adjoint(bar[z], a, axis=axis)


@tangent_rule(np.sort)
def sort_tangent(z, a, axis=-1, kind=None):
    dot[z] = rt.sort_tangent(dot[a], a, axis=axis)


@batch_rule(np.sort)
def sort_batched(z, a, axis=-1, kind=None):
    vec[z] = rt.vsort(vec[a], axis=axis, kind=kind)


# np.partition is the elements of a taken in an order that depends on a
# (piecewise constant): take_along_axis with that order.
@adjoint_rule(np.partition)
def partition_adjoint(z, a, kth, axis=-1, kind="introselect", order=None):
    bar[a] = rt.take_along_axis_adjoint(bar[z], a, rt.partition_order(a, z, axis), axis=axis)


@tangent_rule(np.partition)
def partition_tangent(z, a, kth, axis=-1, kind="introselect", order=None):
    dot[z] = rt.take_along_axis_tangent(dot[a], rt.partition_order(a, z, axis), axis=axis)


@batch_rule(np.partition)
def partition_batched(z, a, kth, axis=-1, kind="introselect", order=None):
    vec[z] = rt.vpartition(vec[a], kth, axis=axis, kind=kind, order=order)


nondifferentiable(rt.partition_order)


@batch_rule(rt.partition_order)
def partition_order_batched(r, a, z, axis=-1):
    vec[r] = rt.vpartition_order(vec[a], vec[z], axis)


# np.fft.fftshift and ifftshift roll each axis by half its length: each is
# the other's transpose.
@adjoint_rule(np.fft.fftshift)
def fftshift_adjoint(z, x, axes=None):
    bar[x] = np.fft.ifftshift(bar[z], axes=rt.batch_axes(axes, x))


@tangent_rule(np.fft.fftshift)
def fftshift_tangent(z, x, axes=None):
    dot[z] = np.fft.fftshift(dot[x], axes=rt.batch_axes(axes, x))


@batch_rule(np.fft.fftshift)
def fftshift_batched(z, x, axes=None):
    vec[z] = np.fft.fftshift(vec[x], axes=rt.vaxes(axes, vec[x]))


@adjoint_rule(np.fft.ifftshift)
def ifftshift_adjoint(z, x, axes=None):
    bar[x] = np.fft.fftshift(bar[z], axes=rt.batch_axes(axes, x))


@tangent_rule(np.fft.ifftshift)
def ifftshift_tangent(z, x, axes=None):
    dot[z] = np.fft.ifftshift(dot[x], axes=rt.batch_axes(axes, x))


@batch_rule(np.fft.ifftshift)
def ifftshift_batched(z, x, axes=None):
    vec[z] = np.fft.ifftshift(vec[x], axes=rt.vaxes(axes, vec[x]))


@adjoint_rule(np.pad)
def pad_adjoint(z, array, pad_width, mode="constant", *, constant_values=0):
    bar[array] = rt.pad_adjoint(bar[z], array, pad_width, mode=mode)


@tangent_rule(np.pad)
def pad_tangent(z, array, pad_width, mode="constant", *, constant_values=0):
    dot[z] = rt.pad_tangent(dot[array], pad_width, mode=mode)


# Per-axis widths and options get a (0, 0) entry for the batch axis.
@batch_rule(np.pad)
def pad_batched(z, array, pad_width, mode="constant", *, constant_values=0):
    vec[z] = rt.vpad(vec[array], pad_width, mode, constant_values=constant_values)


@adjoint_rule(np.copy, sequences=True)
def copy_adjoint(z, a):
    bar[a] = rt.array_adjoint(bar[z], a)


@tangent_rule(np.copy)
def copy_tangent(z, a):
    dot[z] = rt.as_tangent(dot[a], a)


@batch_rule(np.copy)
def copy_batched(z, a):
    vec[z] = np.copy(rt.vasarray(vec[a]))


# dtype: a cast to a floating type passes the derivative on, a cast to
# integers or booleans none (as x.astype(dtype)). copy= decides whether the
# result may share memory with a (normalize tracks that), not its values.
@adjoint_rule(np.asarray, np.array, sequences=True)
def array_adjoint(z, a, dtype=None, *, copy=None):
    bar[a] = rt.array_adjoint(bar[z], a, dtype=dtype)


@tangent_rule(np.asarray, np.array)
def array_tangent(z, a, dtype=None, *, copy=None):
    dot[z] = rt.cast_tangent(rt.as_tangent(dot[a], a), dtype)


# A list of batched items is stacked after the batch axis (rt.vasarray).
@batch_rule(np.asarray)
def asarray_batched(z, a, dtype=None, *, copy=None):
    vec[z] = np.asarray(rt.vasarray(vec[a]), dtype=dtype, copy=copy)


@batch_rule(np.array)
def array_batched(z, a, dtype=None, *, copy=True):
    vec[z] = np.array(rt.vasarray(vec[a]), dtype=dtype, copy=copy)


@adjoint_rule(np.full)
def full_adjoint(z, shape, fill_value, dtype=None, order="C"):
    bar[fill_value] = rt.full_adjoint(bar[z], fill_value, dtype=dtype)


@tangent_rule(np.full)
def full_tangent(z, shape, fill_value, dtype=None, order="C"):
    dot[z] = rt.full_tangent(dot[fill_value], z)


@batch_rule(np.full)
def full_batched(z, shape, fill_value, dtype=None, order="C"):
    vec[z] = rt.vfull(shape, vec[fill_value], dtype=dtype)


# The derivative is in fill_value only: a gives the shape and the dtype.
@adjoint_rule(np.full_like)
def full_like_adjoint(z, a, fill_value, dtype=None, order="K", subok=True, shape=None):
    bar[a] = rt.zeros_bar(a, rt.batch_size(bar[z]))
    bar[fill_value] = rt.full_like_adjoint(bar[z], a, fill_value, dtype=dtype)


@tangent_rule(np.full_like, constant=("a",))
def full_like_tangent(z, a, fill_value, dtype=None, order="K", subok=True, shape=None):
    dot[z] = rt.full_tangent(dot[fill_value], z)


# NumPy places dtype and axis after retstep, which is not accepted (its result
# is a pair), so they are keyword-only here.
@adjoint_rule(np.linspace)
def linspace_adjoint(z, start, stop, num=50, endpoint=True, *, dtype=None, axis=0):
    bar[start] = rt.linspace_adjoint(bar[z], start, num, endpoint=endpoint, dtype=dtype, axis=axis)
    bar[stop] = rt.linspace_adjoint(bar[z], stop, num, endpoint=endpoint, dtype=dtype, axis=axis, stop=True)


@tangent_rule(np.linspace)
def linspace_tangent(z, start, stop, num=50, endpoint=True, *, dtype=None, axis=0):
    dot[z] = rt.linspace_tangent(dot[start], z, num, endpoint=endpoint, dtype=dtype, axis=axis)
    dot[z] = rt.linspace_tangent(dot[stop], z, num, endpoint=endpoint, dtype=dtype, axis=axis, stop=True)


@batch_rule(np.linspace)
def linspace_batched(z, start, stop, num=50, endpoint=True, *, dtype=None, axis=0):
    vec[z] = rt.vlinspace(vec[start], vec[stop], num, endpoint=endpoint, dtype=dtype, axis=axis)


@adjoint_rule(rt.identity, rt.copy, rt.entry_value)
def identity_adjoint(z, value):
    bar[value] = bar[z]


@tangent_rule(rt.identity, rt.copy, rt.entry_value)
def identity_tangent(z, value):
    dot[z] = dot[value]


nondifferentiable(rt.write_back)  # (the caller's array made to hold a value: an effect)
# a list of the module changed by the function (frontend/normalize_module_lists): effects, and its items at entry
nondifferentiable(rt.outside_item_back, rt.outside_list_entry, rt.outside_list_originals)


nondifferentiable(
    np.shape, np.ndim, np.size, np.zeros_like, np.ones_like, np.empty_like,
    np.zeros, np.ones, np.empty, np.eye, np.identity, np.arange, np.result_type,
    np.searchsorted, np.digitize, rt.hsplit_axis, rt.floating_type, rt.diagonal_index,
    len, range, isinstance, type, int, bool, print, round, id, str, repr,
)

# Axes of batched tangents, computed from shapes.
nondifferentiable(rt.batch_permutation, rt.vlike)
# vmap's axes and shapes of the batch, read from shapes (jacrev(vmap(f)) reads
# the batched code's helpers as source).
nondifferentiable(rt.vshape, rt.vexample_order, rt.vreversed_shape, rt.vsqueeze_axes, rt.vexpand_axes, rt.vpermutation,
                  rt.vrollaxis_start, rt.vhsplit_axis)


@batch_rule(np.zeros_like)
def zeros_like_batched(z, a, dtype=None, order="K", subok=True, shape=None):
    vec[z] = rt.vlike(np.zeros_like, vec[a], batch, dtype=dtype, order=order, subok=subok, shape=shape)


@batch_rule(np.ones_like)
def ones_like_batched(z, a, dtype=None, order="K", subok=True, shape=None):
    vec[z] = rt.vlike(np.ones_like, vec[a], batch, dtype=dtype, order=order, subok=subok, shape=shape)


@batch_rule(np.empty_like)
def empty_like_batched(z, prototype, dtype=None, order="K", subok=True, shape=None):
    vec[z] = rt.vlike(np.empty_like, vec[prototype], batch, dtype=dtype, order=order, subok=subok, shape=shape)


@batch_rule(np.full_like)
def full_like_batched(z, a, fill_value, dtype=None, order="K", subok=True, shape=None):
    vec[z] = rt.vlike(np.full_like, vec[a], batch, fill_value=fill_value, dtype=dtype, order=order, subok=subok,
                      shape=shape)


@adjoint_rule(rt.astype)
def astype_adjoint(z, value, dtype):
    bar[value] = rt.real_for(rt.cast_adjoint(bar[z], dtype), value)


@tangent_rule(rt.astype)
def astype_tangent(z, value, dtype):
    dot[z] = rt.cast_tangent(dot[value], dtype)


@batch_rule(rt.astype)
def astype_batched(z, value, dtype):
    vec[z] = rt.astype(vec[value], dtype)


# np.r_[...] and np.c_[...]: the items joined (normalize writes them as
# rt.index_trick(np.r_, (a, b, np.s_[1:10]))); each item's derivative is its part.
@adjoint_rule(rt.index_trick, sequences=True)
def index_trick_adjoint(z, trick, items):
    bar[items] = rt.index_trick_adjoint(bar[z], trick, items)


@tangent_rule(rt.index_trick)
def index_trick_tangent(z, trick, items):
    dot[z] = rt.index_trick_tangent(dot[items], trick, items, z)
