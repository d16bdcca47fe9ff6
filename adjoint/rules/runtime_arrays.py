"""Tangent rules of the runtime helpers that generated backward code calls
for shape manipulation and linear algebra, so that generated code can be
differentiated again.

In backward code an adjoint ``g`` has shape ``(B,) + x.shape`` and its
tangent ``(T, B) + x.shape``: a helper linear in ``g`` gets its tangent
through ``rt.merged`` (``rt.merged_tree`` when the adjoint or the result is a
list or tuple). Arguments read only for their shape, axes or ordering are
``constant``. The products are bilinear in ``g`` and the other operand; the
matrix functions' adjoints are nonlinear in the primal values they read, and
their tangents follow the product rule (``rt.<helper>_tangent``).
"""
from .. import runtime as rt
from . import TUPLE_RESULTS, batch_rule, dot, refuse_tangent, tangent_rule, vec

# ---------------------------------------------------------------- rearrangements


@tangent_rule(rt.transpose_adjoint, constant=("axes",))
def transpose_adjoint_tangent(z, g, axes=None):
    dot[z] = rt.merged(rt.transpose_adjoint, dot[g], axes=axes)


@batch_rule(rt.transpose_adjoint)
def transpose_adjoint_batched(z, g, axes=None):
    vec[z] = rt.vmerged_where_shared(batch, rt.transpose_adjoint, vec[g], (), (), axes=vec[axes])


@tangent_rule(rt.swapaxes_adjoint, constant=("axis1", "axis2"))
def swapaxes_adjoint_tangent(z, g, axis1, axis2):
    dot[z] = rt.merged(rt.swapaxes_adjoint, dot[g], axis1, axis2)


@batch_rule(rt.swapaxes_adjoint)
def swapaxes_adjoint_batched(z, g, axis1, axis2):
    vec[z] = rt.vmerged_where_shared(batch, rt.swapaxes_adjoint, vec[g], (vec[axis1], vec[axis2]), (True, True))


@tangent_rule(rt.moveaxis_adjoint, constant=("source", "destination"))
def moveaxis_adjoint_tangent(z, g, source, destination):
    dot[z] = rt.merged(rt.moveaxis_adjoint, dot[g], source, destination)


@batch_rule(rt.moveaxis_adjoint)
def moveaxis_adjoint_batched(z, g, source, destination):
    vec[z] = rt.vmerged_where_shared(batch, rt.moveaxis_adjoint, vec[g], (vec[source], vec[destination]), (True, True))


@tangent_rule(rt.rollaxis_adjoint, constant=("a", "axis", "start"))
def rollaxis_adjoint_tangent(z, g, a, axis, start=0):
    dot[z] = rt.merged(rt.rollaxis_adjoint, dot[g], a, axis, start=start)


@batch_rule(rt.rollaxis_adjoint)
def rollaxis_adjoint_batched(z, g, a, axis, start=0):
    vec[z] = rt.vmerged_where_shared(batch, rt.rollaxis_adjoint, vec[g], (vec[a], vec[axis]), (False, True),
                                     start=vec[start])


@tangent_rule(rt.flip_adjoint, constant=("axis",))
def flip_adjoint_tangent(z, g, axis=None):
    dot[z] = rt.merged(rt.flip_adjoint, dot[g], axis=axis)


@batch_rule(rt.flip_adjoint)
def flip_adjoint_batched(z, g, axis=None):
    vec[z] = rt.vmerged_where_shared(batch, rt.flip_adjoint, vec[g], (), (), axis=vec[axis])


@tangent_rule(rt.roll_adjoint, constant=("shift", "axis"))
def roll_adjoint_tangent(z, g, shift, axis=None):
    dot[z] = rt.merged(rt.roll_adjoint, dot[g], shift, axis=axis)


@batch_rule(rt.roll_adjoint)
def roll_adjoint_batched(z, g, shift, axis=None):
    vec[z] = rt.vmerged_where_shared(batch, rt.roll_adjoint, vec[g], (vec[shift],), (True,), axis=vec[axis])


@tangent_rule(rt.rot90_adjoint, constant=("k", "axes"))
def rot90_adjoint_tangent(z, g, k=1, axes=(0, 1)):
    dot[z] = rt.merged(rt.rot90_adjoint, dot[g], k=k, axes=axes)


@batch_rule(rt.rot90_adjoint)
def rot90_adjoint_batched(z, g, k=1, axes=(0, 1)):
    vec[z] = rt.vmerged_where_shared(batch, rt.rot90_adjoint, vec[g], (), (), k=vec[k], axes=vec[axes])


@tangent_rule(rt.tile_adjoint, constant=("A", "reps"))
def tile_adjoint_tangent(z, g, A, reps):  # noqa: N803 (NumPy's name)
    dot[z] = rt.merged(rt.tile_adjoint, dot[g], A, reps)


@batch_rule(rt.tile_adjoint)
def tile_adjoint_batched(z, g, A, reps):  # noqa: N803 (NumPy's name)
    vec[z] = rt.vmerged_where_shared(batch, rt.tile_adjoint, vec[g], (vec[A], vec[reps]), (False, True))


@tangent_rule(rt.repeat_adjoint, constant=("a", "repeats", "axis"))
def repeat_adjoint_tangent(z, g, a, repeats, axis=None):
    dot[z] = rt.merged(rt.repeat_adjoint, dot[g], a, repeats, axis=axis)


@batch_rule(rt.repeat_adjoint)
def repeat_adjoint_batched(z, g, a, repeats, axis=None):
    vec[z] = rt.vmerged_where_shared(batch, rt.repeat_adjoint, vec[g], (vec[a], vec[repeats]), (False, True),
                                     axis=vec[axis])


@tangent_rule(rt.take_adjoint, constant=("a", "indices", "axis", "mode"))
def take_adjoint_tangent(z, g, a, indices, axis=None, mode="raise"):
    dot[z] = rt.merged(rt.take_adjoint, dot[g], a, indices, axis=axis, mode=mode)


@batch_rule(rt.take_adjoint)
def take_adjoint_batched(z, g, a, indices, axis=None, mode="raise"):
    vec[z] = rt.vmerged_where_shared(batch, rt.take_adjoint, vec[g], (vec[a], vec[indices]), (False, True),
                                     axis=vec[axis], mode=vec[mode])


@tangent_rule(rt.take_along_axis_adjoint, constant=("arr", "indices", "axis"))
def take_along_axis_adjoint_tangent(z, g, arr, indices, axis=-1):
    dot[z] = rt.merged(rt.take_along_axis_adjoint, dot[g], arr, indices, axis=axis)


# indices the examples share are broadcast: each example scatters its own.
@batch_rule(rt.take_along_axis_adjoint)
def take_along_axis_adjoint_batched(z, g, arr, indices, axis=-1):
    vec[z] = rt.vtake_along_axis_adjoint(vec[g], vec[arr], vec[indices], axis)


# The order is piecewise constant in a: only the cotangent moves.
@tangent_rule(rt.sort_adjoint, constant=("a", "axis"))
def sort_adjoint_tangent(z, g, a, axis=-1):
    dot[z] = rt.merged(rt.sort_adjoint, dot[g], a, axis=axis)


# Each example's own order, from its values.
@batch_rule(rt.sort_adjoint)
def sort_adjoint_batched(z, g, a, axis=-1):
    vec[z] = rt.vsort_adjoint(vec[g], vec[a], axis)


@tangent_rule(rt.pad_adjoint, constant=("array", "pad_width", "mode"))
def pad_adjoint_tangent(z, g, array, pad_width, mode="constant"):
    dot[z] = rt.merged(rt.pad_adjoint, dot[g], array, pad_width, mode=mode)


@batch_rule(rt.pad_adjoint)
def pad_adjoint_batched(z, g, array, pad_width, mode="constant"):
    vec[z] = rt.vmerged_where_shared(batch, rt.pad_adjoint, vec[g], (vec[array], vec[pad_width]), (False, True),
                                     mode=vec[mode])


@tangent_rule(rt.diagonal_adjoint, constant=("a", "offset", "axis1", "axis2"))
def diagonal_adjoint_tangent(z, g, a, offset=0, axis1=0, axis2=1):
    dot[z] = rt.merged(rt.diagonal_adjoint, dot[g], a, offset=offset, axis1=axis1, axis2=axis2)


@batch_rule(rt.diagonal_adjoint)
def diagonal_adjoint_batched(z, g, a, offset=0, axis1=0, axis2=1):
    vec[z] = rt.vmerged_where_shared(batch, rt.diagonal_adjoint, vec[g], (vec[a],), (False,),
                                     offset=vec[offset], axis1=vec[axis1], axis2=vec[axis2])


@tangent_rule(rt.triangle_adjoint, constant=("m", "k", "upper"))
def triangle_adjoint_tangent(z, g, m, k=0, upper=False):
    dot[z] = rt.merged(rt.triangle_adjoint, dot[g], m, k=k, upper=upper)


@batch_rule(rt.triangle_adjoint)
def triangle_adjoint_batched(z, g, m, k=0, upper=False):
    vec[z] = rt.vmerged_where_shared(batch, rt.triangle_adjoint, vec[g], (vec[m],), (False,),
                                     k=vec[k], upper=vec[upper])


@tangent_rule(rt.diag_adjoint, constant=("v", "k"))
def diag_adjoint_tangent(z, g, v, k=0):
    dot[z] = rt.merged(rt.diag_adjoint, dot[g], v, k=k)


@tangent_rule(rt.diagflat_adjoint, constant=("v", "k"))
def diagflat_adjoint_tangent(z, g, v, k=0):
    dot[z] = rt.merged(rt.diagflat_adjoint, dot[g], v, k=k)


# diag's and diagflat's adjoints and tangents read v for its shape alone:
# under vmap the two leading axes merge and each runs once for the batch.
@batch_rule(rt.diag_adjoint)
def diag_adjoint_batched(z, g, v, k=0):
    vec[z] = rt.vmerged_where_shared(batch, rt.diag_adjoint, vec[g], (vec[v],), (False,), k=vec[k])


@batch_rule(rt.diagflat_adjoint)
def diagflat_adjoint_batched(z, g, v, k=0):
    vec[z] = rt.vmerged_where_shared(batch, rt.diagflat_adjoint, vec[g], (vec[v],), (False,), k=vec[k])


@batch_rule(rt.diag_tangent)
def diag_tangent_batched(z, t, v, k=0):
    vec[z] = rt.vmerged_where_shared(batch, rt.diag_tangent, vec[t], (vec[v],), (False,), k=vec[k])


@batch_rule(rt.diagflat_tangent)
def diagflat_tangent_batched(z, t, v, k=0):
    vec[z] = rt.vmerged_where_shared(batch, rt.diagflat_tangent, vec[t], (vec[v],), (False,), k=vec[k])


@tangent_rule(rt.append_adjoint, constant=("arr", "values", "axis", "wrt_values"))
def append_adjoint_tangent(z, g, arr, values, axis=None, wrt_values=False):
    dot[z] = rt.merged(rt.append_adjoint, dot[g], arr, values, axis=axis, wrt_values=wrt_values)


@batch_rule(rt.append_adjoint)
def append_adjoint_batched(z, g, arr, values, axis=None, wrt_values=False):
    vec[z] = rt.vmerged_where_shared(batch, rt.append_adjoint, vec[g], (vec[arr], vec[values]), (False, False),
                                     axis=vec[axis], wrt_values=vec[wrt_values])


@tangent_rule(rt.full_adjoint, constant=("fill_value", "dtype"))
def full_adjoint_tangent(z, g, fill_value, dtype=None):
    dot[z] = rt.merged(rt.full_adjoint, dot[g], fill_value, dtype=dtype)


@batch_rule(rt.full_adjoint)
def full_adjoint_batched(z, g, fill_value, dtype=None):
    vec[z] = rt.vmerged_where_shared(batch, rt.full_adjoint, vec[g], (vec[fill_value],), (False,), dtype=dtype)


@tangent_rule(rt.full_like_adjoint, constant=("a", "fill_value", "dtype"))
def full_like_adjoint_tangent(z, g, a, fill_value, dtype=None):
    dot[z] = rt.merged(rt.full_like_adjoint, dot[g], a, fill_value, dtype=dtype)


@tangent_rule(rt.linspace_adjoint, constant=("bound", "num", "endpoint", "dtype", "axis", "stop"))
def linspace_adjoint_tangent(z, g, bound, num, endpoint=True, dtype=None, axis=0, stop=False):
    dot[z] = rt.merged(rt.linspace_adjoint, dot[g], bound, num, endpoint=endpoint, dtype=dtype, axis=axis,
                       stop=stop)


@batch_rule(rt.linspace_adjoint)
def linspace_adjoint_batched(z, g, bound, num, endpoint=True, dtype=None, axis=0, stop=False):
    vec[z] = rt.vmerged_where_shared(batch, rt.linspace_adjoint, vec[g], (vec[bound], vec[num]), (False, True),
                                     endpoint=vec[endpoint], axis=vec[axis], stop=vec[stop], dtype=dtype)


# The helpers that return one adjoint per joined array (or take one per piece).

@tangent_rule(rt.concatenate_adjoint, constant=("arrays", "axis"))
def concatenate_adjoint_tangent(z, g, arrays, axis=0):
    dot[z] = rt.merged_tree(rt.concatenate_adjoint, dot[g], arrays, axis=axis)


@batch_rule(rt.concatenate_adjoint)
def concatenate_adjoint_batched(z, g, arrays, axis=0):
    vec[z] = rt.vmerged_where_shared(batch, rt.concatenate_adjoint, vec[g], (vec[arrays],), (False,), axis=vec[axis])


@tangent_rule(rt.stack_adjoint, constant=("arrays", "axis"))
def stack_adjoint_tangent(z, g, arrays, axis=0):
    dot[z] = rt.merged_tree(rt.stack_adjoint, dot[g], arrays, axis=axis)


@batch_rule(rt.stack_adjoint)
def stack_adjoint_batched(z, g, arrays, axis=0):
    vec[z] = rt.vmerged_where_shared(batch, rt.stack_adjoint, vec[g], (vec[arrays],), (False,), axis=vec[axis])


@tangent_rule(rt.hstack_adjoint, constant=("tup",))
def hstack_adjoint_tangent(z, g, tup):
    dot[z] = rt.merged_tree(rt.hstack_adjoint, dot[g], tup)


@batch_rule(rt.hstack_adjoint)
def hstack_adjoint_batched(z, g, tup):
    vec[z] = rt.vmerged_where_shared(batch, rt.hstack_adjoint, vec[g], (vec[tup],), (False,))


@tangent_rule(rt.vstack_adjoint, constant=("tup",))
def vstack_adjoint_tangent(z, g, tup):
    dot[z] = rt.merged_tree(rt.vstack_adjoint, dot[g], tup)


@batch_rule(rt.vstack_adjoint)
def vstack_adjoint_batched(z, g, tup):
    vec[z] = rt.vmerged_where_shared(batch, rt.vstack_adjoint, vec[g], (vec[tup],), (False,))


@tangent_rule(rt.column_stack_adjoint, constant=("tup",))
def column_stack_adjoint_tangent(z, g, tup):
    dot[z] = rt.merged_tree(rt.column_stack_adjoint, dot[g], tup)


@batch_rule(rt.column_stack_adjoint)
def column_stack_adjoint_batched(z, g, tup):
    vec[z] = rt.vmerged_where_shared(batch, rt.column_stack_adjoint, vec[g], (vec[tup],), (False,))


@tangent_rule(rt.dstack_adjoint, constant=("tup",))
def dstack_adjoint_tangent(z, g, tup):
    dot[z] = rt.merged_tree(rt.dstack_adjoint, dot[g], tup)


@batch_rule(rt.dstack_adjoint)
def dstack_adjoint_batched(z, g, tup):
    vec[z] = rt.vmerged_where_shared(batch, rt.dstack_adjoint, vec[g], (vec[tup],), (False,))


@tangent_rule(rt.split_adjoint, constant=("ary", "indices_or_sections", "axis"))
def split_adjoint_tangent(z, g, ary, indices_or_sections, axis=0):
    dot[z] = rt.merged_tree(rt.split_adjoint, dot[g], ary, indices_or_sections, axis=axis)


@batch_rule(rt.split_adjoint)
def split_adjoint_batched(z, g, ary, indices_or_sections, axis=0):
    vec[z] = rt.vmerged_where_shared(batch, rt.split_adjoint, vec[g], (vec[ary], vec[indices_or_sections]),
                                     (False, True),                                      axis=vec[axis])


@tangent_rule(rt.array_adjoint, constant=("a", "dtype"))
def array_adjoint_tangent(z, g, a, dtype=None):
    dot[z] = rt.merged_tree(rt.array_adjoint, dot[g], a, dtype=dtype)


@batch_rule(rt.array_adjoint)
def array_adjoint_batched(z, g, a, dtype=None):
    vec[z] = rt.vmerged_where_shared(batch, rt.array_adjoint, vec[g], (vec[a],), (False,), dtype=dtype)


# ---------------------------------------------------------------- products
# Bilinear: the adjoint of one operand is linear in g and in the other
# operand, and reads its own only for the shape.

@tangent_rule(rt.matmul_adjoint_left, constant=("x",))
def matmul_adjoint_left_tangent(z, g, x, y):
    dot[z] = rt.merged(rt.matmul_adjoint_left, dot[g], x, y)
    dot[z] = rt.matmul_adjoint_left_tangent(dot[y], g, x, y)


# Batched (vmap of backward code): g is (B, N) + z.shape, its own rows after the
# batch axis; the other operands (B,) + shape.
@batch_rule(rt.matmul_adjoint_left)
def matmul_adjoint_left_batched(z, g, x, y):
    vec[z] = rt.vmatmul_adjoint_left(vec[g], vec[x], vec[y])


@tangent_rule(rt.matmul_adjoint_right, constant=("y",))
def matmul_adjoint_right_tangent(z, g, x, y):
    dot[z] = rt.merged(rt.matmul_adjoint_right, dot[g], x, y)
    dot[z] = rt.matmul_adjoint_right_tangent(dot[x], g, x, y)


@batch_rule(rt.matmul_adjoint_right)
def matmul_adjoint_right_batched(z, g, x, y):
    vec[z] = rt.vmatmul_adjoint_right(vec[g], vec[x], vec[y])


@tangent_rule(rt.dot_adjoint_left, constant=("a",))
def dot_adjoint_left_tangent(z, g, a, b):
    dot[z] = rt.merged(rt.dot_adjoint_left, dot[g], a, b)
    dot[z] = rt.dot_adjoint_left_tangent(dot[b], g, a, b)


@batch_rule(rt.dot_adjoint_left)
def dot_adjoint_left_batched(z, g, a, b):
    vec[z] = rt.vdot_adjoint_left(vec[g], vec[a], vec[b])


@tangent_rule(rt.dot_adjoint_right, constant=("b",))
def dot_adjoint_right_tangent(z, g, a, b):
    dot[z] = rt.merged(rt.dot_adjoint_right, dot[g], a, b)
    dot[z] = rt.dot_adjoint_right_tangent(dot[a], g, a, b)


@batch_rule(rt.dot_adjoint_right)
def dot_adjoint_right_batched(z, g, a, b):
    vec[z] = rt.vdot_adjoint_right(vec[g], vec[a], vec[b])


@tangent_rule(rt.outer_adjoint_left, constant=("a",))
def outer_adjoint_left_tangent(z, g, a, b):
    dot[z] = rt.merged(rt.outer_adjoint_left, dot[g], a, b)
    dot[z] = rt.outer_adjoint_left_tangent(dot[b], g, a, b)


@batch_rule(rt.outer_adjoint_left)
def outer_adjoint_left_batched(z, g, a, b):
    vec[z] = rt.vouter_adjoint_left(vec[g], vec[a], vec[b])


@tangent_rule(rt.outer_adjoint_right, constant=("b",))
def outer_adjoint_right_tangent(z, g, a, b):
    dot[z] = rt.merged(rt.outer_adjoint_right, dot[g], a, b)
    dot[z] = rt.outer_adjoint_right_tangent(dot[a], g, a, b)


@batch_rule(rt.outer_adjoint_right)
def outer_adjoint_right_batched(z, g, a, b):
    vec[z] = rt.vouter_adjoint_right(vec[g], vec[a], vec[b])


@tangent_rule(rt.tensordot_adjoint_left, constant=("a", "axes"))
def tensordot_adjoint_left_tangent(z, g, a, b, axes=2):
    dot[z] = rt.merged(rt.tensordot_adjoint_left, dot[g], a, b, axes=axes)
    dot[z] = rt.tensordot_adjoint_left_tangent(dot[b], g, a, b, axes=axes)


@batch_rule(rt.tensordot_adjoint_left)
def tensordot_adjoint_left_batched(z, g, a, b, axes=2):
    vec[z] = rt.vtensordot_adjoint_left(vec[g], vec[a], vec[b], axes=axes)


@tangent_rule(rt.tensordot_adjoint_right, constant=("b", "axes"))
def tensordot_adjoint_right_tangent(z, g, a, b, axes=2):
    dot[z] = rt.merged(rt.tensordot_adjoint_right, dot[g], a, b, axes=axes)
    dot[z] = rt.tensordot_adjoint_right_tangent(dot[a], g, a, b, axes=axes)


@batch_rule(rt.tensordot_adjoint_right)
def tensordot_adjoint_right_batched(z, g, a, b, axes=2):
    vec[z] = rt.vtensordot_adjoint_right(vec[g], vec[a], vec[b], axes=axes)


@tangent_rule(rt.inner_adjoint, constant=("wrt_b",))
def inner_adjoint_tangent(z, g, a, b, wrt_b=False):
    dot[z] = rt.merged(rt.inner_adjoint, dot[g], a, b, wrt_b=wrt_b)
    dot[z] = rt.inner_adjoint_tangent(dot[a], g, a, b, wrt_b=wrt_b)
    dot[z] = rt.inner_adjoint_tangent(dot[b], g, a, b, wrt_b=wrt_b, of_b=True)


@tangent_rule(rt.vdot_adjoint, constant=("like",))
def vdot_adjoint_tangent(z, g, other, like):
    dot[z] = rt.merged(rt.vdot_adjoint, dot[g], other, like)
    dot[z] = rt.vdot_adjoint_tangent(dot[other], g, other, like)


@tangent_rule(rt.kron_adjoint_left, constant=("a",))
def kron_adjoint_left_tangent(z, g, a, b):
    dot[z] = rt.merged(rt.kron_adjoint_left, dot[g], a, b)
    dot[z] = rt.kron_adjoint_left_tangent(dot[b], g, a, b)


@tangent_rule(rt.kron_adjoint_right, constant=("b",))
def kron_adjoint_right_tangent(z, g, a, b):
    dot[z] = rt.merged(rt.kron_adjoint_right, dot[g], a, b)
    dot[z] = rt.kron_adjoint_right_tangent(dot[a], g, a, b)


@tangent_rule(rt.cross_adjoint, constant=("axisa", "axisb", "axisc", "axis", "wrt_b"))
def cross_adjoint_tangent(z, g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False):
    dot[z] = rt.merged(rt.cross_adjoint, dot[g], a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis,
                       wrt_b=wrt_b)
    dot[z] = rt.cross_adjoint_tangent(dot[a], g, a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis,
                                      wrt_b=wrt_b)
    dot[z] = rt.cross_adjoint_tangent(dot[b], g, a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis,
                                      wrt_b=wrt_b, of_b=True)


@batch_rule(rt.cross_adjoint)
def cross_adjoint_batched(z, g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False):
    vec[z] = rt.vcross_adjoint(vec[g], vec[a], vec[b], axisa=axisa, axisb=axisb, axisc=axisc, axis=axis,
                               wrt_b=wrt_b)


@tangent_rule(rt.multi_dot_adjoint)
def multi_dot_adjoint_tangent(z, g, arrays):
    dot[z] = rt.merged_tree(rt.multi_dot_adjoint, dot[g], arrays)
    dot[z] = rt.multi_dot_adjoint_tangent(dot[arrays], g, arrays)


# its result is a list (one adjoint per array): the two contributions add item
# by item (with +, the lists were joined end to end and the second one lost)
TUPLE_RESULTS.add(rt.multi_dot_adjoint)


@tangent_rule(rt.convolve_adjoint, constant=("mode", "wrt_v", "correlate"))
def convolve_adjoint_tangent(z, g, a, v, mode="full", wrt_v=False, correlate=False):
    dot[z] = rt.merged(rt.convolve_adjoint, dot[g], a, v, mode=mode, wrt_v=wrt_v, correlate=correlate)
    dot[z] = rt.convolve_adjoint_tangent(dot[a], g, a, v, mode=mode, wrt_v=wrt_v, correlate=correlate)
    dot[z] = rt.convolve_adjoint_tangent(dot[v], g, a, v, mode=mode, wrt_v=wrt_v, correlate=correlate,
                                         of_v=True)


@tangent_rule(rt.correlate_adjoint, constant=("mode", "wrt_v"))
def correlate_adjoint_tangent(z, g, a, v, mode="valid", wrt_v=False):
    dot[z] = rt.merged(rt.correlate_adjoint, dot[g], a, v, mode=mode, wrt_v=wrt_v)
    dot[z] = rt.correlate_adjoint_tangent(dot[a], g, a, v, mode=mode, wrt_v=wrt_v)
    dot[z] = rt.correlate_adjoint_tangent(dot[v], g, a, v, mode=mode, wrt_v=wrt_v, of_v=True)


@tangent_rule(rt.cov_adjoint, constant=("rowvar", "bias", "ddof"))
def cov_adjoint_tangent(z, g, m, rowvar=True, bias=False, ddof=None):
    dot[z] = rt.merged(rt.cov_adjoint, dot[g], m, rowvar=rowvar, bias=bias, ddof=ddof)
    dot[z] = rt.cov_adjoint_tangent(dot[m], g, m, rowvar=rowvar, bias=bias, ddof=ddof)


@tangent_rule(rt.corrcoef_adjoint, constant=("rowvar",))
def corrcoef_adjoint_tangent(z, g, x, rowvar=True):
    dot[z] = rt.merged(rt.corrcoef_adjoint, dot[g], x, rowvar=rowvar)
    dot[z] = rt.corrcoef_adjoint_tangent(dot[x], g, x, rowvar=rowvar)


# ---------------------------------------------------------------- matrix functions
# Nonlinear in the primal values they read (the result z, the matrix a):
# the product rule, with d inv(a) = -inv(a) da inv(a).

@tangent_rule(rt.inv_adjoint)
def inv_adjoint_tangent(out, g, z):
    dot[out] = rt.merged(rt.inv_adjoint, dot[g], z)
    dot[out] = rt.inv_adjoint_tangent(dot[z], g, z)


@batch_rule(rt.inv_adjoint)
def inv_adjoint_batched(out, g, z):
    vec[out] = rt.vinv_adjoint(vec[g], vec[z])


# solve_transposed(a, g, b) = inv(a)^T g broadcasts over any leading axes of g.
@tangent_rule(rt.solve_transposed, constant=("b",))
def solve_transposed_tangent(z, a, g, b):
    dot[z] = rt.solve_transposed(a, dot[g], b)
    dot[z] = rt.solve_transposed_tangent(dot[a], a, g, b)


@batch_rule(rt.solve_transposed)
def solve_transposed_batched(z, a, g, b):
    vec[z] = rt.vsolve_transposed(vec[a], vec[g], vec[b])


# np.linalg.solve's tangent (its rule inverts a once): one product per example.
@batch_rule(rt.solve_tangent)
def solve_tangent_batched(r, t, inverse, a, b, z, wrt_a=False):
    vec[r] = rt.vsolve_tangent(vec[t], vec[inverse], vec[a], vec[b], vec[z], wrt_a=wrt_a)


@tangent_rule(rt.solve_adjoint_matrix, constant=("a", "b"))
def solve_adjoint_matrix_tangent(out, b_bar, z, a, b):
    dot[out] = rt.merged(rt.solve_adjoint_matrix, dot[b_bar], z, a, b)
    dot[out] = rt.solve_adjoint_matrix_tangent(dot[z], b_bar, z, a, b)


@batch_rule(rt.solve_adjoint_matrix)
def solve_adjoint_matrix_batched(out, b_bar, z, a, b):
    vec[out] = rt.vsolve_adjoint_matrix(vec[b_bar], vec[z], vec[a], vec[b])


@tangent_rule(rt.det_adjoint)
def det_adjoint_tangent(out, g, z, a):
    dot[out] = rt.merged(rt.det_adjoint, dot[g], z, a)
    dot[out] = rt.det_adjoint_tangent(dot[z], g, z, a)
    dot[out] = rt.det_adjoint_tangent(dot[a], g, z, a, of_a=True)


@batch_rule(rt.det_adjoint)
def det_adjoint_batched(out, g, z, a):
    vec[out] = rt.vdet_adjoint(vec[g], vec[z], vec[a])


@tangent_rule(rt.slogdet_adjoint)
def slogdet_adjoint_tangent(z, g, a):
    dot[z] = rt.merged_tree(rt.slogdet_adjoint, dot[g], a)
    dot[z] = rt.slogdet_adjoint_tangent(dot[a], g, a)


@tangent_rule(rt.cholesky_adjoint, constant=("upper",))
def cholesky_adjoint_tangent(out, g, z, upper=False):
    dot[out] = rt.merged(rt.cholesky_adjoint, dot[g], z, upper=upper)
    dot[out] = rt.cholesky_adjoint_tangent(dot[z], g, z, upper=upper)


# (matrix products on the last two axes: the factor broadcasts over the rows of g)
@batch_rule(rt.cholesky_adjoint)
def cholesky_adjoint_batched(out, g, z, upper=False):
    vec[out] = rt.cholesky_adjoint(vec[g], rt.vprimal_matrices_like(vec[z], vec[g]), upper=upper)


@batch_rule(rt.cholesky_tangent)
def cholesky_tangent_batched(r, t, z, upper=False):
    vec[r] = rt.cholesky_tangent(vec[t], rt.vprimal_matrices_like(vec[z], vec[t]), upper=upper)


@tangent_rule(rt.eigh_adjoint, constant=("UPLO",))
def eigh_adjoint_tangent(out, g, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    dot[out] = rt.merged_tree(rt.eigh_adjoint, dot[g], z, UPLO=UPLO)
    dot[out] = rt.eigh_adjoint_tangent(dot[z], g, z, UPLO=UPLO)


@tangent_rule(rt.eigvalsh_adjoint, constant=("UPLO",))
def eigvalsh_adjoint_tangent(z, g, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    dot[z] = rt.merged(rt.eigvalsh_adjoint, dot[g], a, UPLO=UPLO)
    dot[z] = rt.eigvalsh_adjoint_tangent(dot[a], g, a, UPLO=UPLO)


@tangent_rule(rt.pinv_adjoint)
def pinv_adjoint_tangent(out, g, a, z):
    dot[out] = rt.merged(rt.pinv_adjoint, dot[g], a, z)
    dot[out] = rt.pinv_adjoint_tangent(dot[a], g, a, z)
    dot[out] = rt.pinv_adjoint_tangent(dot[z], g, a, z, of_z=True)


@tangent_rule(rt.matrix_power_adjoint, constant=("n",))
def matrix_power_adjoint_tangent(z, g, a, n):
    dot[z] = rt.merged(rt.matrix_power_adjoint, dot[g], a, n)
    dot[z] = rt.matrix_power_adjoint_tangent(dot[a], g, a, n)


@tangent_rule(rt.lstsq_adjoint, constant=("wrt_b",))
def lstsq_adjoint_tangent(z, g, a, b, wrt_b=False):
    dot[z] = rt.merged_tree(rt.lstsq_adjoint, dot[g], a, b, wrt_b=wrt_b)
    dot[z] = rt.lstsq_adjoint_tangent(dot[a], g, a, b, wrt_b=wrt_b)
    dot[z] = rt.lstsq_adjoint_tangent(dot[b], g, a, b, wrt_b=wrt_b, of_b=True)


# a is read for its shape only: the factors z carry the derivative.
@tangent_rule(rt.qr_adjoint, constant=("a", "mode"))
def qr_adjoint_tangent(out, g, a, z, mode="reduced"):
    dot[out] = rt.merged_tree(rt.qr_adjoint, dot[g], a, z, mode=mode)
    dot[out] = rt.qr_adjoint_tangent(dot[z], g, a, z, mode=mode)


@tangent_rule(rt.singular_values_adjoint, constant=("compute_uv",))
def singular_values_adjoint_tangent(z, g, a, compute_uv=True):
    dot[z] = rt.merged(rt.singular_values_adjoint, dot[g], a, compute_uv=compute_uv)
    dot[z] = rt.singular_values_adjoint_tangent(dot[a], g, a, compute_uv=compute_uv)


# np.r_[...] / np.c_[...]: one adjoint per item, linear in the cotangent.
@tangent_rule(rt.index_trick_adjoint, constant=("trick", "items"))
def index_trick_adjoint_tangent(z, g, trick, items):
    dot[z] = rt.merged_tree(rt.index_trick_adjoint, dot[g], trick, items)


# vmap of the SVD's derivative code: the factors broadcast against the rows
# of each example's cotangent or tangent (np.linalg.svd is the batched SVD).
@batch_rule(rt.svd_adjoint)
def svd_adjoint_batched(r, g, a, z, full_matrices=True, compute_uv=True):
    vec[r] = rt.vsvd_adjoint(vec[g], vec[a], vec[z], full_matrices=full_matrices, compute_uv=compute_uv)


@batch_rule(rt.svd_tangent)
def svd_tangent_batched(r, t, a, z, full_matrices=True, compute_uv=True):
    vec[r] = rt.vsvd_tangent(vec[t], vec[a], vec[z], full_matrices=full_matrices, compute_uv=compute_uv)


# With the factors, the adjoint reads z = (u, s, vh) (a only for its shape);
# with the singular values alone, it reads a (the other contribution is zero).
@tangent_rule(rt.svd_adjoint, constant=("full_matrices", "compute_uv"))
def svd_adjoint_tangent(out, g, a, z, full_matrices=True, compute_uv=True):
    dot[out] = rt.merged_tree(rt.svd_adjoint, dot[g], a, z, full_matrices=full_matrices, compute_uv=compute_uv)
    dot[out] = rt.svd_adjoint_tangent_a(dot[a], g, a, z, full_matrices=full_matrices, compute_uv=compute_uv)
    dot[out] = rt.svd_adjoint_tangent(dot[z], g, a, z, full_matrices=full_matrices, compute_uv=compute_uv)


# Third order through the factors: svd_adjoint_tangent is linear in the
# factors' tangent t and in the cotangents g; along the factors z its
# derivative is the complex step of svd_pullback's tangent written out
# (runtime/svd_higher.py); it reads a for its shape only (with the factors).
@tangent_rule(rt.svd_adjoint_tangent, constant=("full_matrices", "compute_uv", "wrt"))
def svd_adjoint_tangent_tangent(r, t, g, a, z, full_matrices=True, compute_uv=True, wrt="z"):
    dot[r] = rt.merged_tree(rt.svd_adjoint_tangent, dot[t], g, a, z, full_matrices=full_matrices,
                            compute_uv=compute_uv, wrt=wrt)
    dot[r] = rt.tangent_rows(rt.svd_adjoint_tangent, 1, dot[g], t, g, a, z, full_matrices=full_matrices,
                             compute_uv=compute_uv, wrt=wrt)
    dot[r] = rt.svd_adjoint_second_tangent(dot[z], t, g, a, z, full_matrices=full_matrices, compute_uv=compute_uv,
                                           wrt=wrt)
    dot[r] = rt.svd_adjoint_second_tangent_a(dot[a], t, g, a, z, full_matrices=full_matrices,
                                             compute_uv=compute_uv, wrt=wrt)


# its complex step is not differentiated again
refuse_tangent(rt.svd_adjoint_second_tangent,
               "a fourth derivative through the factors u, vh of np.linalg.svd is not supported (its third "
               "derivative is computed by a complex step, which is not differentiated again).",
               "Use the singular values alone (np.linalg.svdvals), or compute one order less with adjoint and "
               "take the last derivative by finite differences.")


# The triangle scipy.linalg.solve_triangular reads acts on the last two
# axes: tangents with leading axes go through it (and its adjoint) as they are.
@tangent_rule(rt.solved_triangle, constant=("lower", "trans"))
def solved_triangle_tangent(r, a, lower=False, trans=0):
    dot[r] = rt.solved_triangle(dot[a], lower=lower, trans=trans)


@batch_rule(rt.solved_triangle)
def solved_triangle_batched(r, a, lower=False, trans=0):
    vec[r] = rt.solved_triangle(vec[a], lower=lower, trans=trans)


@tangent_rule(rt.solved_triangle_adjoint, constant=("lower", "trans"))
def solved_triangle_adjoint_tangent(r, g, lower=False, trans=0):
    dot[r] = rt.solved_triangle_adjoint(dot[g], lower=lower, trans=trans)


@batch_rule(rt.solved_triangle_adjoint)
def solved_triangle_adjoint_batched(r, g, lower=False, trans=0):
    vec[r] = rt.solved_triangle_adjoint(vec[g], lower=lower, trans=trans)
