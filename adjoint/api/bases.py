"""The identity bases the chunk passes run over, and the real part of a
Jacobian block: shared by reverse and forward mode, the sparse passes and
the executors' chunks."""
import numpy as np

from .. import errors
from .. import runtime as rt
from . import pytree


def _real(bar):
    """``bar``, refused if a complex value reached it (casting would drop
    the imaginary part silently)."""
    if np.iscomplexobj(bar):
        raise errors.complex_derivative_error()
    return bar


def _basis_chunk(out_leaves, out_treedef, start, stop):
    """Rows ``start:stop`` of the identity over all output elements, one
    array per output leaf, shaped ``(rows,) + leaf.shape``."""
    rows = stop - start
    if len(out_leaves) == 1 and rows == out_leaves[0].size:
        leaf = out_leaves[0]
        return pytree.unflatten(out_treedef, [np.eye(rows, dtype=leaf.dtype).reshape((rows,) + leaf.shape)])
    seeds = []
    offset = 0
    for leaf in out_leaves:
        size = leaf.size
        seed = np.zeros((rows, size), dtype=leaf.dtype)
        first, last = max(start, offset), min(stop, offset + size)
        if first < last:
            picked = np.arange(first, last)
            seed[picked - start, picked - offset] = 1
        seeds.append(seed.reshape((rows,) + leaf.shape))
        offset += size
    return pytree.unflatten(out_treedef, seeds)


def push_basis(jvp, inputs, start, stop, args, kwargs, retry=True):
    """``jvp`` of the basis columns ``start:stop``: ``(result, out_dot)``.
    Where a zero tangent met an infinite slope (``np.sqrt(x ** 2)`` at 0,
    see rt.guarding_zero_tangents), the columns are pushed again (unless
    ``retry`` is False: a function that changes its arguments) with the
    seed's zeros marked, so that a zero computed by a zero slope gives
    ``0 * inf = NaN`` as in reverse mode, and the seed's zeros stay 0."""
    rows = stop - start
    with rt.guarding_zero_tangents() as guarded:
        pushed = jvp((rows,) + _input_basis(inputs, start, stop), *args, **kwargs)
    if guarded and retry:
        with rt.guarding_zero_tangents(structural=True):
            pushed = jvp((rows,) + _input_basis(inputs, start, stop, masked=True), *args, **kwargs)
    return pushed


def _input_basis(inputs, start, stop, masked=False):
    """Columns ``start:stop`` of the identity over every selected input
    element: one tangent per argument, shaped like it with a leading axis.
    ``masked``: each seed a ``MaskedBar`` whose zeros are marked structural
    (see rt.guarding_zero_tangents)."""
    rows = stop - start
    if masked:
        seeds = _input_basis(inputs, start, stop)
        return tuple(pytree.unflatten(treedef, [rt.masked_array(leaf, np.equal(leaf, 0))
                                                for leaf in pytree.flatten(seed)[0]])
                     for seed, treedef in zip(seeds, inputs.treedefs, strict=True))
    if len(inputs.leaves) == 1 and len(inputs.leaves[0]) == 1 and start == 0:
        leaf = inputs.leaves[0][0]
        if rows == np.size(leaf):  # the common case, one array, all columns: the identity (the caller's own)
            seed = np.eye(rows, dtype=np.result_type(leaf)).reshape((rows,) + np.shape(leaf))
            return (pytree.unflatten(inputs.treedefs[0], [seed]),)
    tangents = []
    offset = 0
    for treedef, leaves in zip(inputs.treedefs, inputs.leaves, strict=True):
        leaf_tangents = []
        for leaf in leaves:
            size = np.size(leaf)
            seed = np.zeros((rows, size), dtype=np.result_type(leaf))
            first, last = max(start, offset), min(stop, offset + size)
            if first < last:
                picked = np.arange(first, last)
                seed[picked - start, picked - offset] = 1
            leaf_tangents.append(seed.reshape((rows,) + np.shape(leaf)))
            offset += size
        tangents.append(pytree.unflatten(treedef, leaf_tangents))
    return tuple(tangents)
