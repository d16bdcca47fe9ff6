"""Rules of the runtime helpers that generated tangent code calls, so that
forward-mode code can be differentiated again (``jacfwd(jacfwd(f))``,
``jacrev(jacfwd(f))``). In tangent code a tangent ``t`` has shape
``(B,) + x.shape``; the next transform adds its own leading axis."""
from .. import runtime as rt
from . import (TUPLE_RESULTS, adjoint_rule, bar, batch_rule, batched_by_flags, dot, nondifferentiable, tangent_rule,
               vec)


@adjoint_rule(rt.lift, constant=("like",))
def lift_adjoint(z, t, like):
    bar[t] = rt.unlift(bar[z], t)


@tangent_rule(rt.lift, constant=("like",))
def lift_tangent(z, t, like):
    dot[z] = rt.merged(rt.lift, dot[t], like)


@adjoint_rule(rt.batched_getitem)
def batched_getitem_adjoint(z, g, index):
    bar[g] = rt.batched_getitem_adjoint(bar[z], g, index)


@tangent_rule(rt.batched_getitem)
def batched_getitem_tangent(z, g, index):
    dot[z] = rt.merged(rt.batched_getitem, dot[g], index)


@adjoint_rule(rt.batched_reshape, constant=("like",))
def batched_reshape_adjoint(z, t, like):
    bar[t] = rt.batched_reshape(bar[z], t)


@tangent_rule(rt.batched_reshape, constant=("like",))
def batched_reshape_tangent(z, t, like):
    dot[z] = rt.merged(rt.batched_reshape, dot[t], like)


@adjoint_rule(rt.jacobian_from_columns_tangent, constant=("out", "x"))
def jacobian_from_columns_tangent_adjoint(z, t, out, x, offset):
    bar[t] = rt.merged(rt.columns_adjoint, bar[z], t[0], out, x, offset)


@tangent_rule(rt.jacobian_from_columns_tangent, constant=("out", "x"))
def jacobian_from_columns_tangent_tangent(z, t, out, x, offset):
    dot[z] = rt.merged(rt.jacobian_from_columns_tangent, dot[t], out, x, offset)


@adjoint_rule(rt.rows_from_jacobian, constant=("out", "x"))
def rows_from_jacobian_adjoint(z, g, out, x):
    bar[g] = rt.batched_reshape(bar[z], g)


@tangent_rule(rt.rows_from_jacobian, constant=("out", "x"))
def rows_from_jacobian_tangent(z, g, out, x):
    dot[z] = rt.merged(rt.rows_from_jacobian, dot[g], out, x)


@adjoint_rule(rt.columns_adjoint, constant=("out_dot", "out", "x"))
def columns_adjoint_adjoint(z, g, out_dot, out, x, offset):
    bar[g] = rt.jacobian_from_columns_tangent(bar[z], out, x, offset)


@tangent_rule(rt.columns_adjoint, constant=("out_dot", "out", "x"))
def columns_adjoint_tangent(z, g, out_dot, out, x, offset):
    dot[z] = rt.merged(rt.columns_adjoint, dot[g], out_dot, out, x, offset)


nondifferentiable(rt.batch_axes, rt.batch_axis, rt.batch_count)


@adjoint_rule(rt.item_tangent, constant=("item",))
def item_tangent_adjoint(z, t, item, key, batch):
    bar[t] = rt.item_tangent_adjoint(bar[z], t, key)


@tangent_rule(rt.item_tangent, constant=("item",))
def item_tangent_tangent(z, t, item, key, batch):
    dot[z] = rt.item_tangent_tangent(dot[t], t, item, key, batch)


@tangent_rule(rt.unpack_tangent, constant=("value",))
def unpack_tangent_tangent(z, t, value, count, batch):
    dot[z] = rt.unpack_tangent_tangent(dot[t], t, value, count, batch)


# Batched (vmap) code differentiated again: jacrev(vmap(f)).

@adjoint_rule(rt.vlift)
def vlift_adjoint(z, value, rank):
    bar[value] = rt.vunlift(bar[z], value)


@tangent_rule(rt.vlift)
def vlift_tangent(z, value, rank):
    dot[z] = rt.merged(rt.vlift, dot[value], rank)


@adjoint_rule(rt.to_batched)
def to_batched_adjoint(z, value, batch):
    bar[value] = rt.to_batched_adjoint(bar[z], value)


# (a tangent has its own leading axis before the batch one: (T, batch) + shape)
@tangent_rule(rt.to_batched)
def to_batched_tangent(z, value, batch):
    dot[z] = rt.to_batched_tangent(dot[value], batch)


@tangent_rule(rt.to_batched_tangent)
def to_batched_tangent_tangent(z, t, batch, axis=1):
    dot[z] = rt.to_batched_tangent(dot[t], batch, axis + 1)


@adjoint_rule(rt.to_batched_tangent)
def to_batched_tangent_adjoint(z, t, batch, axis=1):
    bar[t] = np.sum(bar[z], axis=axis + 1)


# (``count``: to_batched's own batch size, named apart from vmap's ``batch``)
@batch_rule(rt.to_batched_tangent)
def to_batched_tangent_batched(z, t, count, axis=1):
    vec[z] = rt.to_batched_tangent(vec[t], count, axis + 1)


@adjoint_rule(rt.vmap_getitem)
def vmap_getitem_adjoint(z, value, index):
    bar[value] = rt.vmap_getitem_adjoint(bar[z], value, index)


@tangent_rule(rt.vmap_getitem)
def vmap_getitem_tangent(z, value, index):
    dot[z] = rt.vmap_getitem_tangent(dot[value], index, z, batch)


# (the products with the output basis of vmap(jacrev(f)), runtime/batched_basis.py:
# linear in the factor and in the shared matrix; their fast paths write into
# a new array, which a transform of their source would refuse)
@tangent_rule(rt.vbasis_product, constant=("basis",))
def vbasis_product_tangent(z, basis, factor):
    dot[z] = rt.over_tangent(rt.vbasis_product, 1, dot[factor], basis, factor)


@tangent_rule(rt.vbasis_rows_matmul, constant=("basis", "y", "count"))
def vbasis_rows_matmul_tangent(z, basis, factor, matrix, y, count):
    dot[z] = rt.over_tangent(rt.vbasis_rows_matmul, 1, dot[factor], basis, factor, matrix, y, count)
    dot[z] = rt.over_tangent(rt.vbasis_rows_matmul, 2, dot[matrix], basis, factor, matrix, y, count)


@tangent_rule(rt.vshared_matmul)
def vshared_matmul_tangent(z, x, matrix):
    dot[z] = rt.merged(rt.vshared_matmul, dot[x], matrix)
    dot[z] = rt.over_tangent(rt.vshared_matmul, 1, dot[matrix], x, matrix)


nondifferentiable(rt.result_rank, rt.vmap_attribute, rt.first_example)
nondifferentiable(rt.first_rows)  # (backend/one_example.py: a value read only through one example)


@batch_rule(rt.first_rows)
def first_rows_batched(z, value):
    vec[z] = rt.vfirst_rows(vec[value])


nondifferentiable(rt.size_along)


@adjoint_rule(rt.vasarray)
def vasarray_adjoint(z, b):
    bar[b] = rt.vasarray_adjoint(bar[z], b)


@tangent_rule(rt.vasarray)
def vasarray_tangent(z, b):
    dot[z] = rt.vasarray_tangent(dot[b], b, batch)
nondifferentiable(rt.vaxes, rt.example_shape)
# The shape helper that runtime helpers call: a shape, no derivative (the
# helpers' own source is differentiated for third order).
nondifferentiable(rt._shape)


# Batched (vmap of tangent code): t is (B, T) + x.shape, its own rows after the
# batch axis. With a constant other operand the batch and rows merge: one GEMM.
@batch_rule(rt.matmul_tangent_left)
def matmul_tangent_left_batched(z, t, x1, x2):
    vec[z] = rt.vmatmul_tangent_left(vec[t], vec[x1], vec[x2])


@batch_rule(rt.matmul_tangent_right)
def matmul_tangent_right_batched(z, t, x1, x2):
    vec[z] = rt.vmatmul_tangent_right(vec[t], vec[x1], vec[x2])


@adjoint_rule(rt.as_tangent, constant=("like",))
def as_tangent_adjoint(z, t, like, batch=None):
    bar[t] = rt.as_tangent_adjoint(bar[z], t)


@tangent_rule(rt.as_tangent, constant=("like",))
def as_tangent_tangent(z, t, like, batch=None):
    dot[z] = rt.as_tangent_tangent(dot[t], t, like)


# vmap of forward code (vmap(jacfwd(f)), vmap(hessian(f))): a tangent there
# is (V, T) + x.shape, the vmap axis first; primal values are (V,) + x.shape
# and are read for their shapes.

@batch_rule(rt.lift)
def lift_batched(r, t, like):
    vec[r] = rt.vtangent_lift(vec[t], vec[like])


@batch_rule(rt.batched_reshape)
def batched_reshape_batched(r, t, like):
    vec[r] = rt.vbatched_reshape(vec[t], vec[like])


@batch_rule(rt.item_tangent)
def item_tangent_batched(r, t, item, key, rows):
    vec[r] = rt.vitem_tangent(vec[t], vec[item], key, rows, batch)


@batch_rule(rt.unpack_tangent)
def unpack_tangent_batched(r, t, value, count, rows):
    vec[r] = rt.vunpack_tangent(vec[t], vec[value], count, rows, batch)


@batch_rule(rt.as_tangent)
def as_tangent_batched(r, t, like, rows=None):
    vec[r] = rt.vas_tangent(vec[t], vec[like], rows, batch)


@batch_rule(rt.setitem_tangent)
def setitem_tangent_batched(r, t, index, value_t, result, rows):
    vec[r] = rt.vsetitem_tangent(vec[t], index, vec[value_t], vec[result], rows)


@batch_rule(rt.append_tangent)
def append_tangent_batched(r, t, items, value_t):
    vec[r] = rt.append_tangent(vec[t], vec[items], vec[value_t])


# rt.merged(helper, t, *args) applies a helper to a tangent of a cotangent;
# batched, the vmap axis joins the tangent's where the arguments allow.
batched_by_flags(rt.merged, "vmerged_merged")
batched_by_flags(rt.merged_items, "vmerged_items")


# vmap of the forward code of the shape family (vmap(jacfwd(f))): a tangent
# is (V, T) + x.shape; the primal values, read for their shapes, (V,) + x.shape.
@batch_rule(rt.hstack_tangent)
def hstack_tangent_batched(z, t, tup):
    vec[z] = rt.vmerged_where_shared(batch, rt.hstack_tangent, vec[t], (vec[tup],), (False,))


@batch_rule(rt.vstack_tangent)
def vstack_tangent_batched(z, t, tup):
    vec[z] = rt.vmerged_where_shared(batch, rt.vstack_tangent, vec[t], (vec[tup],), (False,))


@batch_rule(rt.column_stack_tangent)
def column_stack_tangent_batched(z, t, tup):
    vec[z] = rt.vmerged_where_shared(batch, rt.column_stack_tangent, vec[t], (vec[tup],), (False,))


@batch_rule(rt.dstack_tangent)
def dstack_tangent_batched(z, t, tup):
    vec[z] = rt.vmerged_where_shared(batch, rt.dstack_tangent, vec[t], (vec[tup],), (False,))


@batch_rule(rt.append_arrays_tangent)
def append_arrays_tangent_batched(r, t, z, arr, values, axis=None, wrt_values=False):
    vec[r] = rt.vmerged_where_shared(batch, rt.append_arrays_tangent, vec[t], (vec[z], vec[arr], vec[values]),
                                     (False, False, False), axis=vec[axis], wrt_values=vec[wrt_values])


# These two read values: each example's own order, its own indices.
@batch_rule(rt.sort_tangent)
def sort_tangent_batched(z, t, a, axis=-1):
    vec[z] = rt.vsort_tangent(vec[t], vec[a], axis)


@batch_rule(rt.take_along_axis_tangent)
def take_along_axis_tangent_batched(z, t, indices, axis=-1):
    vec[z] = rt.vtake_along_axis_tangent(vec[t], vec[indices], axis)


@batch_rule(rt.full_tangent)
def full_tangent_batched(z, t, result):
    vec[z] = rt.vmerged_where_shared(batch, rt.full_tangent, vec[t], (vec[result],), (False,))


@batch_rule(rt.linspace_tangent)
def linspace_tangent_batched(z, t, result, num, endpoint=True, dtype=None, axis=0, stop=False):
    vec[z] = rt.vmerged_where_shared(batch, rt.linspace_tangent, vec[t], (vec[result], vec[num]), (False, True),
                                     endpoint=vec[endpoint], axis=vec[axis], stop=vec[stop], dtype=dtype)


@batch_rule(rt.cast_tangent)
def cast_tangent_batched(z, t, dtype):
    vec[z] = rt.cast_tangent(vec[t], dtype)


@batch_rule(rt.roll_tangent)
def roll_tangent_batched(z, t, shift, axis=None):
    vec[z] = rt.vmerged_where_shared(batch, rt.roll_tangent, vec[t], (vec[shift],), (True,), axis=vec[axis])


@batch_rule(rt.tile_tangent)
def tile_tangent_batched(z, t, reps):
    vec[z] = rt.vmerged_where_shared(batch, rt.tile_tangent, vec[t], (vec[reps],), (True,))


@batch_rule(rt.repeat_tangent)
def repeat_tangent_batched(z, t, repeats, axis=None):
    vec[z] = rt.vmerged_where_shared(batch, rt.repeat_tangent, vec[t], (vec[repeats],), (True,), axis=vec[axis])


@batch_rule(rt.take_tangent)
def take_tangent_batched(z, t, indices, axis=None, mode="raise"):
    vec[z] = rt.vmerged_where_shared(batch, rt.take_tangent, vec[t], (vec[indices],), (True,),
                                     axis=vec[axis], mode=vec[mode])


@batch_rule(rt.pad_tangent)
def pad_tangent_batched(z, t, pad_width, mode="constant"):
    vec[z] = rt.vmerged_where_shared(batch, rt.pad_tangent, vec[t], (vec[pad_width],), (True,), mode=vec[mode])


# rt.merged_tree (a helper whose adjoint or result is a list of adjoints,
# under forward mode) batched as rt.merged is.
batched_by_flags(rt.merged_tree, "vmerged_tree")


# Tangent code differentiated again (jacfwd(jacfwd(f)), jacrev(jacfwd(f))):
# the helpers that join tangents and update their items are linear in the
# tangents they take; their other arguments are read for shapes and slots.
# (Helpers without a rule here are differentiated through their own source,
# see rules.helper_by_source.)

@tangent_rule(rt.concatenate_tangent, constant=("arrays", "axis"))
def concatenate_tangent_tangent(z, t, arrays, axis=0):
    dot[z] = rt.merged_items(rt.concatenate_tangent, dot[t], arrays, axis=axis)


@batch_rule(rt.concatenate_tangent)
def concatenate_tangent_batched(z, t, arrays, axis=0):
    vec[z] = rt.vmerged_where_shared(batch, rt.concatenate_tangent, vec[t], (vec[arrays],), (False,), axis=vec[axis])


@tangent_rule(rt.tangent_items, constant=("items",))
def tangent_items_tangent(z, t, items):
    dot[z] = rt.merged_items(rt.tangent_items, dot[t], items)


@batch_rule(rt.tangent_items)
def tangent_items_batched(z, t, items):
    vec[z] = rt.vmerged_where_shared(batch, rt.tangent_items, vec[t], (vec[items],), (False,))


@tangent_rule(rt.setitem_tangent, constant=("index", "result", "batch"))
def setitem_tangent_tangent(z, t, index, value_t, result, batch):
    dot[z] = rt.merged(rt.setitem_cleared, dot[t], index)
    dot[z] = rt.merged(rt.setitem_into_zeros, dot[value_t], index, result)


@tangent_rule(rt.setitem_cleared, constant=("index",))
def setitem_cleared_tangent(z, t, index):
    dot[z] = rt.merged(rt.setitem_cleared, dot[t], index)


@tangent_rule(rt.setitem_into_zeros, constant=("index", "result"))
def setitem_into_zeros_tangent(z, value_t, index, result):
    dot[z] = rt.merged(rt.setitem_into_zeros, dot[value_t], index, result)


@tangent_rule(rt.append_tangent, constant=("items",))
def append_tangent_tangent(z, t, items, value_t):
    dot[z] = rt.merged_items(rt.append_tangent, dot[t], items, None)
    dot[z] = rt.append_tangent(None, items, dot[value_t])


@tangent_rule(rt.replace_item_tangent, constant=("container", "key"))
def replace_item_tangent_tangent(z, t, container, key, value_t):
    dot[z] = rt.merged_items(rt.replace_item_tangent, dot[t], container, key, None)
    dot[z] = rt.replace_item_tangent(None, container, key, dot[value_t])


# (their two contributions are lists and dicts of tangents: added item by item)
TUPLE_RESULTS.update((rt.append_tangent, rt.replace_item_tangent))
nondifferentiable(rt.no_tangents)


@tangent_rule(rt.merge_axes, constant=("axis",))
def merge_axes_tangent(z, t, axis=0):
    dot[z] = rt.merge_axes(dot[t], axis + 1)


@tangent_rule(rt.split_axes, constant=("like", "axis"))
def split_axes_tangent(z, r, like, axis=0):
    dot[z] = rt.split_axes(dot[r], like, axis + 1)


# Reverse mode over a derivative (derivatives.JacobianVJP) differentiated
# again: contract_blocks is linear in the cotangents and in the blocks.
@tangent_rule(rt.contract_blocks, constant=("output", "position"))
def contract_blocks_tangent(z, g, blocks, output, position):
    dot[z] = rt.merged_items(rt.contract_blocks, dot[g], blocks, output, position)
    dot[z] = rt.contract_blocks_tangent(dot[blocks], g, output, position)


TUPLE_RESULTS.add(rt.contract_blocks)  # (a contribution may be None: they add as adjoints)


# Fourth order: the tangents of the tangents of items, linear in ``tt``.
@tangent_rule(rt.item_tangent_tangent, constant=("t", "item", "key", "batch"))
def item_tangent_tangent_tangent(z, tt, t, item, key, batch):
    dot[z] = rt.merged_items(rt.item_tangent_tangent, dot[tt], t, item, key, batch)


@tangent_rule(rt.unpack_tangent_tangent, constant=("t", "value", "count", "batch"))
def unpack_tangent_tangent_tangent(z, tt, t, value, count, batch):
    dot[z] = rt.merged_items(rt.unpack_tangent_tangent, dot[tt], t, value, count, batch)


@tangent_rule(rt.as_tangent_tangent, constant=("t", "like"))
def as_tangent_tangent_tangent(z, tt, t, like):
    dot[z] = rt.merged_items(rt.as_tangent_tangent, dot[tt], t, like)


# A container rebuilt like another (a namedtuple result of np.linalg.eigh,
# slogdet): its tangent is the items' tangents rebuilt the same way.
@tangent_rule(rt.rebuild_like, constant=("container",))
def rebuild_like_tangent(r, container, items):
    dot[r] = rt.rebuild_like(container, dot[items])


# third derivatives under vmap: forward mode over the helpers of forward code
# merges a tangent's two leading axes and splits them again (shapes only)
@batch_rule(rt.merge_axes)
def merge_axes_batched(r, t, axis=0):
    vec[r] = rt.vmerge_axes(vec[t], axis=axis)


@batch_rule(rt.split_axes)
def split_axes_batched(r, t, like, axis=0):
    vec[r] = rt.vsplit_axes(vec[t], vec[like], axis=axis)


# np.linalg.lstsq's tangent (runtime/tangent_linalg.lstsq_tangent) differentiated
# again: the items of its tuple tangent are linear in the values given for them.
@adjoint_rule(rt.lstsq_items_tangent, tuple_result=True, constant=("result",))
def lstsq_items_tangent_adjoint(z, x_dot, residuals_dot, sv_dot, result):
    bar[x_dot] = rt.lstsq_item_bar(bar[z], 0, x_dot)
    bar[residuals_dot] = rt.lstsq_item_bar(bar[z], 1, residuals_dot)
    bar[sv_dot] = rt.lstsq_item_bar(bar[z], 3, sv_dot)


@tangent_rule(rt.lstsq_items_tangent, constant=("result",))
def lstsq_items_tangent_tangent(z, x_dot, residuals_dot, sv_dot, result):
    dot[z] = rt.lstsq_items_tangent(dot[x_dot], None, None, result)
    dot[z] = rt.lstsq_items_tangent(None, dot[residuals_dot], None, result)
    dot[z] = rt.lstsq_items_tangent(None, None, dot[sv_dot], result)


TUPLE_RESULTS.add(rt.lstsq_items_tangent)  # (its contributions add item by item)
