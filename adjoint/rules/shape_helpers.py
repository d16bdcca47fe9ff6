"""Rules that complete the shape family (rules/shape.py): the identities
and copies the normalizer writes (``rt.identity``, ``rt.copy``,
``rt.entry_value``), the effects that carry no derivative (``rt.write_back``,
a list of the module changed), the shape and search queries that carry no
derivative (``np.shape``, ``np.zeros_like``, ``np.searchsorted``, ``len``,
...) and vmap of the ``*_like`` constructors, ``x.astype`` (``rt.astype``)
and ``np.r_`` / ``np.c_`` (``rt.index_trick``)."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, nondifferentiable, tangent_rule, vec


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
