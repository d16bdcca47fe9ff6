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
from . import SEQUENCE_RULES, TUPLE_RESULTS, dot, tangent_rule


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
