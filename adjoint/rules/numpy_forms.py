"""Rules of ``x.item()`` (``rt.item``), and the integer helpers that the
normalizer's rewrites of ``np.insert`` and ``np.bincount(x, weights=w)``
read (frontend/normalize_numpy_forms): those two functions are computed by
concatenation, fancy indexing and ``np.add.at``, whose rules are the
derivatives, so they need none of their own here."""
from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, nondifferentiable, tangent_rule, vec


@adjoint_rule(rt.item)
def item_adjoint(z, a):
    bar[a] = rt.reshape_adjoint(bar[z], a)


@tangent_rule(rt.item)
def item_tangent(z, a):
    dot[z] = rt.batched_reshape(dot[a], z)


@batch_rule(rt.item)
def item_batched(z, a):
    vec[z] = rt.vitem(vec[a])


nondifferentiable(rt.insert_order, rt.bincount_length, rt.result_dtype, rt.zip_length)


@batch_rule(rt.cast_adjoint)
def cast_adjoint_batched(z, g, dtype):
    # (the cotangent itself or zeros whatever its axes: the batch's dtype is one, rt.result_dtype)
    vec[z] = rt.cast_adjoint(vec[g], dtype)
