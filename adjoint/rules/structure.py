"""Rules of the syntax that is not a call: indexing ``x[i]`` (arrays and
containers) and plain copies ``y = x``. Container literals and unpacking are
expanded by the transformer itself, element by element."""
from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, batched_by_index, dot, nondifferentiable, tangent_rule, vec


@adjoint_rule(rt.getitem)
def getitem_adjoint(z, value, index):
    bar[value] = rt.getitem_adjoint(bar[z], value, index)


@adjoint_rule(rt.attribute)
def attribute_adjoint(z, value, name):
    bar[value] = rt.attribute_adjoint(bar[z], value, name)


@adjoint_rule(rt.setitem)
def setitem_adjoint(z, array, index, value):
    bar[array] = rt.overwritten_adjoint(bar[z], index)
    # An element written twice keeps one write: only that one gets a derivative.
    # Written into integers or booleans, it is truncated: no derivative.
    bar[value] = rt.unbroadcast(rt.assigned_adjoint(rt.written_adjoint(bar[z], z), index), value)


# np.add.at(a, indices, b) on an array the function made (y = rt.add_at(y, ...)):
# b's elements are added at the indices, repeated ones once per occurrence.
@adjoint_rule(rt.add_at)
def add_at_adjoint(z, a, indices, b):
    bar[a] = bar[z]
    bar[b] = rt.add_at_adjoint(bar[z], indices, b)


@tangent_rule(rt.add_at)
def add_at_tangent(z, a, indices, b):
    dot[z] = dot[a]
    dot[z] = rt.scatter_added(dot[b], z, indices)


@batch_rule(rt.add_at)
def add_at_batched(z, a, indices, b):
    vec[z] = rt.vadd_at(vec[a], indices, vec[b])


# An index that differs between the examples: each example's offset into the flat batch (batched_scatter).
batched_by_index(rt.add_at, "vadd_at_indexed")


@tangent_rule(rt.add_at_adjoint, constant=("indices", "b"))
def add_at_adjoint_tangent(r, g, indices, b):
    dot[r] = rt.merged(rt.add_at_adjoint, dot[g], indices, b)


@tangent_rule(rt.scatter_added, constant=("like", "indices"))
def scatter_added_tangent(r, t, like, indices):
    dot[r] = rt.merged(rt.scatter_added, dot[t], like, indices)


# The functions derivatives.py writes call these to build Jacobians.

@adjoint_rule(rt.jacobian_from_rows, constant=("out", "x"))
def jacobian_from_rows_adjoint(z, bar_rows, out, x):
    bar[bar_rows] = rt.rows_from_jacobian(bar[z], out, x)


@tangent_rule(rt.jacobian_from_rows, constant=("out", "x"))
def jacobian_from_rows_tangent(z, bar_rows, out, x):
    dot[z] = rt.batched_reshape(dot[bar_rows], z)


@batch_rule(rt.jacobian_from_rows)
def jacobian_from_rows_batched(z, bar_rows, out, x):
    vec[z] = rt.vjacobian_from_rows(vec[bar_rows], vec[out], vec[x])


@adjoint_rule(rt.gradient_from_row, constant=("out", "x"))
def gradient_from_row_adjoint(z, bar_row, out, x):
    bar[bar_row] = rt.batched_reshape(bar[z], bar_row)


@tangent_rule(rt.gradient_from_row, constant=("out", "x"))
def gradient_from_row_tangent(z, bar_row, out, x):
    dot[z] = rt.batched_reshape(dot[bar_row], z)


@batch_rule(rt.gradient_from_row)
def gradient_from_row_batched(z, bar_row, out, x):
    vec[z] = rt.vgradient_from_row(vec[bar_row], vec[out], vec[x])


@adjoint_rule(rt.jacobian_from_columns, constant=("out", "x"))
def jacobian_from_columns_adjoint(z, out_dot, out, x, offset):
    bar[out_dot] = rt.columns_adjoint(bar[z], out_dot, out, x, offset)


@tangent_rule(rt.jacobian_from_columns, constant=("out", "x"))
def jacobian_from_columns_tangent(z, out_dot, out, x, offset):
    dot[z] = rt.jacobian_from_columns_tangent(dot[out_dot], out, x, offset)



@batch_rule(rt.jacobian_from_columns)
def jacobian_from_columns_batched(z, out_dot, out, x, offset):
    vec[z] = rt.vjacobian_from_columns(vec[out_dot], vec[out], vec[x], offset)


# vmap's batched forms of the three above: forward mode over batched
# derivative code (jacfwd(vmap(jacrev(f))); jacrev of it runs forward mode
# too, so they need no adjoint rule). Each is linear in its first argument
# and reads the others for their shapes.

@tangent_rule(rt.vjacobian_from_rows, constant=("out", "x"))
def vjacobian_from_rows_tangent(z, bar_rows, out, x):
    dot[z] = rt.batched_reshape(dot[bar_rows], z)


@tangent_rule(rt.vgradient_from_row, constant=("out", "x"))
def vgradient_from_row_tangent(z, bar_row, out, x):
    dot[z] = rt.batched_reshape(dot[bar_row], z)


@tangent_rule(rt.vjacobian_from_columns, constant=("out", "x"))
def vjacobian_from_columns_tangent(z, out_dot, out, x, offset):
    dot[z] = rt.merged(rt.vjacobian_from_columns, dot[out_dot], out, x, offset)


nondifferentiable(rt.set_attribute, rt.size_of, rt.output_basis, rt.scalar_seed, rt.input_basis)


@tangent_rule(rt.jacobian_blocks, constant=("out",))
def jacobian_blocks_tangent(z, blocks, out):
    dot[z] = rt.jacobian_blocks(dot[blocks], out)


# (a regrouping: batched blocks and a batched output have the same structure)
@batch_rule(rt.jacobian_blocks)
def jacobian_blocks_batched(z, blocks, out):
    vec[z] = rt.jacobian_blocks(vec[blocks], vec[out])


# How many times and over which keys a loop runs, and in which order sorted(), max() and min() put items: no derivative.
nondifferentiable(rt.loop_length, rt.mapping_keys, rt.loop_keys, rt.sort_order, rt.extremum_position,
                  rt.check_keys_unchanged)
# Checks made when generated code runs (an update in place that NumPy would show elsewhere): no derivative.
nondifferentiable(rt.check_unshared, rt.check_not_array, rt.check_basic_index, rt.check_bound, rt.check_not_container,
                  rt.check_namedtuple, rt.check_held_objects)
