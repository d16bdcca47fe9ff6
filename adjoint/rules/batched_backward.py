"""Tangent rules of the helpers that vmap's batched backward code calls
(``rt.vadd_bar``, ``rt.vscatter_add``, ``rt.vgetitem_adjoint``), so that
the batched code of ``vmap(jacrev(f))`` is differentiated again
(``jacfwd(vmap(jacrev(f)))``, and ``jacrev`` of it, which differentiates
backward code in forward mode too). A batched adjoint there is
``(V, B) + x.shape``; its tangent ``(T, V, B) + x.shape``. Each helper is
linear in its adjoints and reads the primal ``x`` for its shape only (the
index is the same for every example), so the tangent axis joins the vmap
axis (``rt.merged_items``) and the helper runs once.
"""
from .. import runtime as rt
from . import SEQUENCE_RULES, TUPLE_RESULTS, batch_rule, dot, tangent_rule, vec


@tangent_rule(rt.vadd_bar)
def vadd_bar_tangent(r, a, b):
    dot[r] = rt.vadd_bar_tangent(dot[a], a, b)
    dot[r] = rt.vadd_bar_tangent(dot[b], b, a)


@tangent_rule(rt.vgetitem_adjoint, constant=("x", "index"))
def vgetitem_adjoint_tangent(r, g, x, index):
    dot[r] = rt.merged_items(rt.vgetitem_adjoint, dot[g], x, index)


@tangent_rule(rt.vscatter_add, constant=("x", "index"))
def vscatter_add_tangent(r, x_bar, g, x, index):
    dot[r] = dot[x_bar]
    dot[r] = rt.merged_items(rt.vgetitem_adjoint, dot[g], x, index)


# Adjoints that may be containers keep their structure in their tangents.
SEQUENCE_RULES.update({rt.vadd_bar, rt.vscatter_add, rt.vgetitem_adjoint})
TUPLE_RESULTS.update({rt.vadd_bar, rt.vscatter_add})


# vmap's @ of every example differentiated in forward mode (jacrev of a
# vmapped derivative runs forward mode over it: vmap(jacrev(vmap(jacrev(f))))),
# and that tangent batched again: the two vmap axes merge (examples are independent).
@tangent_rule(rt.vmatmul)
def vmatmul_tangent(z, a, b):
    dot[z] = rt.tangent_of_vmatmul(dot[a], a, b)
    dot[z] = rt.tangent_of_vmatmul(dot[b], a, b, wrt_b=True)


@batch_rule(rt.tangent_of_vmatmul)
def tangent_of_vmatmul_batched(r, t, a, b, wrt_b=False):
    vec[r] = rt.vtangent_of_vmatmul(vec[t], vec[a], vec[b], wrt_b=wrt_b)


# The adjoints of @ of every example (vmap's backward code) are linear in the
# cotangent and in the other operand; the operand itself is read for its shape.
@tangent_rule(rt.vmatmul_adjoint_left, constant=("x",))
def vmatmul_adjoint_left_tangent(r, g, x, y):
    dot[r] = rt.over_examples(rt.vmatmul_adjoint_left, 0, dot[g], (g, x, y))
    dot[r] = rt.over_examples(rt.vmatmul_adjoint_left, 2, dot[y], (g, x, y))


@tangent_rule(rt.vmatmul_adjoint_right, constant=("y",))
def vmatmul_adjoint_right_tangent(r, g, x, y):
    dot[r] = rt.over_examples(rt.vmatmul_adjoint_right, 0, dot[g], (g, x, y))
    dot[r] = rt.over_examples(rt.vmatmul_adjoint_right, 1, dot[x], (g, x, y))


# (its source, differentiated, gave a tangent of the wrong shape when ``x``
# is a scalar per example: cholesky(a @ a.T + eye) under vmap(jacrev(vmap(jacrev(f)))))
@tangent_rule(rt.vunbroadcast, constant=("x",))
def vunbroadcast_tangent(r, g, x):
    dot[r] = rt.over_examples(rt.vunbroadcast, 0, dot[g], (g, x))


@tangent_rule(rt.vunreduce, constant=("x", "axis", "keepdims"))
def vunreduce_tangent(r, g, x, axis=None, keepdims=False):
    dot[r] = rt.over_examples(rt.vunreduce, 0, dot[g], (g, x), {"axis": axis, "keepdims": keepdims})


@batch_rule(rt.over_examples)
def over_examples_batched(r, helper, position, t, args, options=None):
    vec[r] = rt.vover_examples(helper, position, vec[t], vec[args], options)


# vmap of vmap's own code (vmap(jacrev(vmap(jacrev(f))))): its helpers treat
# the leading axis as independent examples, so the two vmap axes merge.
@batch_rule(rt.vmatmul)
def vmatmul_batched(r, a, b):
    vec[r] = rt.vv_call(rt.vmatmul, (vec[a], vec[b]))


@batch_rule(rt.vshared_matmul)
def vshared_matmul_batched(r, x, matrix):
    # (a matrix every example of both vmaps shares; one batched by the outer vmap loops)
    vec[r] = rt.vv_call(rt.vshared_matmul, (vec[x],), matrix)


@batch_rule(rt.vmatmul_adjoint_left)
def vmatmul_adjoint_left_batched(r, g, x, y):
    vec[r] = rt.vv_call(rt.vmatmul_adjoint_left, (vec[g], vec[x], vec[y]))


@batch_rule(rt.vmatmul_adjoint_right)
def vmatmul_adjoint_right_batched(r, g, x, y):
    vec[r] = rt.vv_call(rt.vmatmul_adjoint_right, (vec[g], vec[x], vec[y]))


@batch_rule(rt.vlift)
def vlift_batched(r, value, rank):
    vec[r] = rt.vv_call(rt.vlift, (vec[value],), rank)


@batch_rule(rt.vjacobian_from_rows)
def vjacobian_from_rows_batched(r, bar, out, x):
    vec[r] = rt.vv_call(rt.vjacobian_from_rows, (vec[bar], vec[out], vec[x]))


# (without it vmap batched vunbroadcast's source, which read the outer vmap
# axis as the inner one: a cotangent of the wrong shape)
@batch_rule(rt.vunbroadcast)
def vunbroadcast_batched(r, g, x):
    vec[r] = rt.vv_call(rt.vunbroadcast, (vec[g], vec[x]))


@batch_rule(rt.vunreduce)
def vunreduce_batched(r, g, x, axis=None, keepdims=False):
    vec[r] = rt.vv_call(rt.vunreduce, (vec[g], vec[x]), axis=axis, keepdims=keepdims)


@batch_rule(rt.vasarray)
def vasarray_batched(r, b):
    vec[r] = rt.vvasarray(vec[b])


@batch_rule(rt.first_example)
def first_example_batched(r, value):
    vec[r] = rt.vfirst_example(vec[value])
