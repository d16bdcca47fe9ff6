"""vmap of ``np.r_`` / ``np.c_`` (``rt.index_trick``) and of the
derivative helpers of ``np.r_`` / ``np.c_`` and ``np.add.at``, so that
``vmap(f)``, ``vmap(jacrev(f))`` and ``vmap(hessian(f))`` of a function
that joins values with them run one NumPy call on the whole batch.

Where each element of ``trick[items]`` comes from depends on the items'
shapes and on the slices and directive strings among them, not on the data:
one example tells (``_index_trick_places``). The batched result gathers the
data items' elements of every example at those places. A slice or a
directive that differs between examples (made from batched values) runs
once per example, which is exact.
"""
import numpy as np

from .batched import example, first_example, stack_examples
from .batched_derivatives import MERGE_BATCHED, shape_only
from .batched_shape import vmerged_g
from .indexing import add_at_adjoint, scatter_added
from .shape import _index_trick_places, _trick_item, index_trick, index_trick_adjoint
from .tangent_shape import index_trick_tangent

_DIFFERENT = object()


def _same_in_every_example(item, one):
    """Whether the batched ``item`` (a slice or directive as a 0-d object
    or string array given the batch axis) is ``one`` in every example."""
    if not isinstance(item, np.ndarray) or item.ndim == 0 or item.strides[0] == 0:
        return True
    return all(item[v] == one for v in range(1, item.shape[0]))


def _example_items(items):
    """One example of the batched items of ``trick[items]``, or
    ``_DIFFERENT`` when a slice or directive differs between examples."""
    one = [first_example(item) if isinstance(item, (np.ndarray, list, tuple)) else item for item in items]
    for item, found in zip(items, one, strict=True):
        if not _trick_item(found) and not _same_in_every_example(item, found):
            return _DIFFERENT
    return one


def _trick_per_example(batch, helper, g, trick, items, *rest):
    return stack_examples([helper(example(g, v), trick, example(items, v), *[example(r, v) for r in rest])
                           for v in range(batch)])


def vindex_trick(batch, trick, items):
    """``trick[items]`` of every example: the data items' elements of every
    example gathered where one example's result has them; the numbers that
    slices make are the same in every example."""
    one = _example_items(items)
    if one is _DIFFERENT:
        return stack_examples([index_trick(trick, example(items, v)) for v in range(batch)])
    template = np.asarray(index_trick(trick, one))
    places = _index_trick_places(trick, one)
    data = [np.reshape(np.broadcast_to(item, (batch,) + np.shape(found)), (batch, -1))
            for item, found in zip(items, one, strict=True) if _trick_item(found)]
    out = np.empty((batch, template.size), dtype=template.dtype)
    out[...] = template.ravel()
    landed = places >= 0
    if data and landed.any():
        joined = np.concatenate(data, axis=1)
        out[:, landed] = joined[:, places[landed]]
    return np.reshape(out, (batch,) + template.shape)


def vindex_trick_adjoint(batch, g, trick, items):
    """``index_trick_adjoint`` of every example: the items' places are one
    example's, so the vmap axis joins the cotangent's rows."""
    one = _example_items(items)
    if one is _DIFFERENT:
        return _trick_per_example(batch, index_trick_adjoint, g, trick, items)
    return vmerged_g(index_trick_adjoint, g, trick, one)


def vindex_trick_tangent(batch, t, trick, items, z):
    """``index_trick_tangent`` of every example (the vmap axis joins the tangent's rows)."""
    one = _example_items(items)
    if one is _DIFFERENT:
        return _trick_per_example(batch, index_trick_tangent, t, trick, items, z)
    return vmerged_g(index_trick_tangent, t, trick, one, first_example(z))


def _index_trick_adjoint_rows(g, trick, items):
    return vindex_trick_adjoint(np.shape(g)[0], g, trick, items)


# rt.merged(rt.index_trick_adjoint, ...) on a batch (a Hessian's code): the
# items differ between examples, their places do not
MERGE_BATCHED[index_trick_adjoint] = _index_trick_adjoint_rows
# np.add.at's adjoint reads b for its shape only, and its tangent the result
# (the indices are read by value)
shape_only(add_at_adjoint, 1)
shape_only(scatter_added, 0)
# the tangent of np.r_ / np.c_ reads its items for their places (shapes, and
# slices that are constants of the code) and z for its shape: merged on a
# batch (vmap(jacfwd(jacfwd(f))), rt.merged_items of it), one example tells
shape_only(index_trick_tangent, 1, 2)
