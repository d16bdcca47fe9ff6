"""Rules of the runtime helpers that generated tangent code calls, so that
forward-mode code can be differentiated again (``jacfwd(jacfwd(f))``,
``jacrev(jacfwd(f))``). In tangent code a tangent ``t`` has shape
``(B,) + x.shape``; the next transform adds its own leading axis."""
from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, batched_by_flags, dot, nondifferentiable, tangent_rule, vec


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


@tangent_rule(rt.to_batched)
def to_batched_tangent(z, value, batch):
    dot[z] = rt.merged(rt.to_batched, dot[value], batch)


@adjoint_rule(rt.vmap_getitem)
def vmap_getitem_adjoint(z, value, index):
    bar[value] = rt.vmap_getitem_adjoint(bar[z], value, index)


@tangent_rule(rt.vmap_getitem)
def vmap_getitem_tangent(z, value, index):
    dot[z] = rt.vmap_getitem_tangent(dot[value], index)


nondifferentiable(rt.result_rank, rt.vmap_attribute, rt.first_example)
nondifferentiable(rt.size_along)


@adjoint_rule(rt.vasarray)
def vasarray_adjoint(z, b):
    bar[b] = rt.vasarray_adjoint(bar[z], b)


@tangent_rule(rt.vasarray)
def vasarray_tangent(z, b):
    dot[z] = rt.vasarray_tangent(dot[b])
nondifferentiable(rt.vaxes, rt.example_shape)


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
