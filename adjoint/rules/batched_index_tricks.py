"""Batching rules (vmap) of ``np.r_`` / ``np.c_`` (``rt.index_trick``)
and of the derivative helpers of ``np.r_`` / ``np.c_`` and ``np.add.at``:
one NumPy call on the whole batch where the examples share the index (the
usual case: constants of the user's code, which the forward pass saves),
once per example otherwise (see ``runtime/batched_index_tricks.py``).
The tangent helper's own tangent rule is here too: it is linear in the
tangents, and reads the items for their shapes only.
"""
from .. import runtime as rt
from . import batch_rule, tangent_rule, dot, vec


# jacfwd(jacfwd(f)) through np.r_ / np.c_ differentiates the tangent helper:
# linear in the items' tangents (the items and z give the places and dtype).
@tangent_rule(rt.index_trick_tangent, constant=("trick", "items", "z"))
def index_trick_tangent_tangent(r, t, trick, items, z):
    dot[r] = rt.merged_items(rt.index_trick_tangent, dot[t], trick, items, z)


@batch_rule(rt.index_trick)
def index_trick_batched(z, trick, items):
    vec[z] = rt.vindex_trick(batch, trick, vec[items])


@batch_rule(rt.index_trick_adjoint)
def index_trick_adjoint_batched(z, g, trick, items):
    vec[z] = rt.vindex_trick_adjoint(batch, vec[g], trick, vec[items])


@batch_rule(rt.index_trick_tangent)
def index_trick_tangent_batched(r, t, trick, items, z):
    vec[r] = rt.vindex_trick_tangent(batch, vec[t], trick, vec[items], vec[z])


# np.add.at: b's adjoint gathers the cotangent at the indices (b read for its
# shape); the tangent of the result scatters b's tangent into zeros like the
# result. Indices that differ between the examples are offset into the flat
# batch (runtime/batched_scatter.py).
@batch_rule(rt.add_at_adjoint)
def add_at_adjoint_batched(r, g, indices, b):
    vec[r] = rt.vadd_at_adjoint_rows(batch, vec[g], vec[indices], vec[b])


@batch_rule(rt.scatter_added)
def scatter_added_batched(r, t, like, indices):
    vec[r] = rt.vscatter_added_rows(batch, vec[t], vec[like], vec[indices])
