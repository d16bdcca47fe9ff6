"""Rules that let vmap's helpers be differentiated and batched again, as
``vmap(jacrev(vmap(jacrev(f))))`` does (per-example Hessians by nested
vmap): the outer ``jacrev`` reads the batched code of the inner ``vmap``,
and the outer ``vmap`` batches what it wrote.

Most helpers of ``runtime/batched*.py`` are NumPy code the transforms read
as source; what they need is said here: which of their helpers compute
axes, shapes or orders (no derivative), and rules for the few whose source
cannot be read (joins of a list of batched items, calls of scipy's
factorizations, per-example loops).
"""
from .. import runtime as rt
from . import LINEAR_HELPERS, adjoint_rule, bar, batch_rule, dot, nondifferentiable, refuse_tangent, tangent_rule, vec
from .vmap_loop import register_per_example

# Axes and orders read from the batched values' shapes and order (piecewise
# constant): vmap's reductions (np.nanmean, np.ptp), np.sort and np.partition.
nondifferentiable(rt._vreduced_axes, rt.vpartition_order)

# Linear in their first argument (a cotangent or tangent, ``(V, G) +
# shape``); the others only choose where its elements go (an order, the
# item that wins), piecewise constant: forward mode applies the helper to
# each tangent row (rt.tangent_rows).
LINEAR_HELPERS[rt.vsort_adjoint] = 0
LINEAR_HELPERS[rt.vsort_tangent] = 0
LINEAR_HELPERS[rt.vextremum_of_items_adjoint] = 0

# The batch size of the per-example fallback of vmap's second-order helpers
# (np.linalg.slogdet), read from shapes.
nondifferentiable(rt._example_count)

# A loop over the examples differentiated again (jacrev(vmap(vmap(f))))
# reads rt.stack_examples, which keeps the marks of cotangents marked none
# element by element (runtime/masked_bars.py): the marks are a boolean
# mask (no derivative), and the marked array has its values' derivative.
nondifferentiable(rt._absent_of)


@adjoint_rule(rt.masked_array)
def masked_array_adjoint(z, values, absent):
    bar[values] = bar[z]


@tangent_rule(rt.masked_array)
def masked_array_tangent(z, values, absent):
    dot[z] = dot[values]


@batch_rule(rt.masked_array)
def masked_array_batched(z, values, absent):
    vec[z] = rt.masked_array(vec[values], vec[absent])

# vmap's SVD adjoint, differentiated again: example by example, the Jacobian
# of svd_adjoint (singular values alone; through the factors a third
# derivative is refused, as without vmap).
register_per_example(rt.vsvd_adjoint, rt.svd_adjoint)


def _interp_adjoint_layout(args):
    """``rt.vinterp_adjoint(batch, batched_helper, helper, g, x, xp, fp)``:
    ``helper`` (interp_adjoint_x or interp_adjoint_fp) of every example, its
    four arrays batched."""
    batch, _, helper, *call = args
    return batch, helper, (True,) * len(call), {}, tuple(call)


def _interp_slope_layout(args):
    """``rt.vinterp_slope(batch, x, xp, fp)``: interp_slope of every example."""
    batch, *call = args
    return batch, rt.interp_slope, (True,) * len(call), {}, tuple(call)


# np.interp's derivative helpers under vmap, differentiated again: example by
# example, the Jacobian of the helper (its rules), contracted.
register_per_example(rt.vinterp_adjoint, layout=_interp_adjoint_layout, leading=3)
register_per_example(rt.vinterp_slope, layout=_interp_slope_layout, leading=1)
register_per_example(rt.vinterp_adjoint_x_tangent_fp, rt.interp_adjoint_x_tangent_fp)


# Joins of vmap's code (np.vstack, np.column_stack, np.dstack of every
# example), linear in their items: the tangent rows join as more examples.
@tangent_rule(rt.vvstack)
def vvstack_tangent(z, b):
    dot[z] = rt.vjoin_tangent(rt.vvstack, dot[b], b)


@tangent_rule(rt.vcolumn_stack)
def vcolumn_stack_tangent(z, b):
    dot[z] = rt.vjoin_tangent(rt.vcolumn_stack, dot[b], b)


@tangent_rule(rt.vdstack)
def vdstack_tangent(z, b):
    dot[z] = rt.vjoin_tangent(rt.vdstack, dot[b], b)


# scipy.linalg.cho_factor / cho_solve under vmap, differentiated again: their
# batched helpers and derivative helpers pass the pair (c, lower) along, which
# neither their sources nor the per-example rules differentiate.
_CHO_FIX = ("For per-example Hessians write adjoint.vmap(adjoint.hessian(f)) (it supports them), or "
            "factor with np.linalg.cholesky and solve with np.linalg.solve, which "
            "vmap(jacrev(vmap(jacrev(f)))) differentiates.")
refuse_tangent(rt.vcho_factor, "the derivative of vmap's scipy.linalg.cho_factor of every example (as in "
               "vmap(jacrev(vmap(jacrev(f))))) is not supported.", _CHO_FIX)
refuse_tangent(rt.vcho_solve, "the derivative of vmap's scipy.linalg.cho_solve of every example (as in "
               "vmap(jacrev(vmap(jacrev(f))))) is not supported.", _CHO_FIX)
