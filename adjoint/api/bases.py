"""The identity bases the chunk passes run over, and the real part of a
Jacobian block: shared by reverse and forward mode, the sparse passes and
the executors' chunks."""
import numpy as np

from .. import errors
from .. import runtime as rt
from . import plain_passes, pytree


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


def push_basis(jvp, inputs, start, stop, args, kwargs, guard=None):
    """``jvp`` of the basis columns ``start:stop``: ``(result, out_dot)``.
    Where a zero tangent met an infinite slope (``np.sqrt(x ** 2)`` at 0,
    see rt.guarding_zero_tangents), the columns are pushed again with the
    seed's zeros marked, so that a zero computed by a zero slope gives
    ``0 * inf = NaN`` as in reverse mode, and the seed's zeros stay 0. A
    function that changes its arguments or objects (``guard``, a
    passes.Guard) is pushed again on the state it started from, and the
    state is left as the first push left it."""
    return push_seeds(jvp, stop - start, _input_basis(inputs, start, stop), args, kwargs, guard)


def push_seeds(jvp, rows, seeds, args, kwargs, guard=None):
    """``jvp((rows,) + seeds, *args, **kwargs)``, one tangent pytree per
    argument in ``seeds`` (the basis columns, jvp's own tangent, the sparse
    passes' compressed columns), pushed again as ``push_basis`` says with
    the zeros of ``seeds`` marked where a zero tangent met an infinite slope."""
    if plain_passes.plain(jvp):  # (its code cannot guard a zero: api/plain_passes.py)
        return jvp((rows,) + tuple(seeds), *args, **kwargs)
    snapshot = guard.snapshot(args, kwargs) if guard is not None else None
    pushed, guarded = rt.noting_guards(jvp, (rows,) + tuple(seeds), *args, **kwargs)
    if guarded:
        marked = (rows,) + _marked(seeds)
        with rt.guarding_zero_tangents(structural=True):
            if snapshot is None:
                return jvp(marked, *args, **kwargs)
            return guard.replay(snapshot, lambda args, kwargs: jvp(marked, *args, **kwargs))
    return pushed


def _marked(trees):
    """Each pytree of ``trees`` with its leaves as ``MaskedBar``s whose zeros
    are marked structural (see rt.guarding_zero_tangents)."""
    marked = []
    for tree in trees:
        leaves, treedef = pytree.flatten(tree)
        marked.append(pytree.unflatten(treedef, [rt.masked_array(leaf, np.equal(leaf, 0)) for leaf in leaves]))
    return tuple(marked)


def pull_back(backward, residuals, seed):
    """``backward(residuals, seed)``, reverse mode's mirror of
    ``push_basis``: where a zero cotangent met an infinite slope
    (``np.sqrt(x) ** 2`` at 0: the cotangent ``2 * sqrt(x) * g`` is 0 there),
    the seed is pulled back again with its zeros marked (``MaskedBar``), so
    that a zero computed by a zero slope gives ``0 * inf = NaN`` as in forward
    mode and autograd, and the seed's own zeros (the other rows of jacrev's
    identity, a zero entry of vjp's cotangent) stay 0. The backward pass only
    reads its residuals: running it twice is safe."""
    if plain_passes.plain(backward):  # (its code cannot guard a zero: api/plain_passes.py)
        return backward(residuals, seed)
    adjoints, guarded = rt.noting_guards(backward, residuals, seed)
    if not guarded:
        return adjoints
    marked, = _marked((seed,))
    with rt.guarding_zero_tangents(structural=True):
        return backward(residuals, marked)


def _input_basis(inputs, start, stop):
    """Columns ``start:stop`` of the identity over every selected input
    element: one tangent per argument, shaped like it with a leading axis."""
    rows = stop - start
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
