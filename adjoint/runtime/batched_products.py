"""Products of batched code differentiated and batched again.

``vmap(jacrev(vmap(jacrev(f))))`` differentiates the code that vmap
generated (which calls ``vmatmul``, the ``@`` of every example), then
batches that derivative code once more; ``vmap(jacfwd(hessian(f)))``
batches the third-order code of ``np.outer``. The helpers here are the
tangent of ``vmatmul`` (in tangent code: a tangent ``(T, V) + shape`` of a
batched operand ``(V,) + shape``) and the batched forms (a new vmap axis
``W`` in front) of it and of the outer product's tangent helpers, each one
NumPy call on the whole batch instead of a loop over the examples.
"""
import warnings

import numpy as np

from .batched import example, stack_examples
from .batched_derivatives import MERGE_BATCHED
from .batched_linalg import vmatmul, vouter_adjoint_left, vouter_adjoint_right
from .linalg import outer_adjoint_left, outer_adjoint_right
from .broadcasting import _shape, unbroadcast
from .indexing import rebuild_like
from .masked_bars import masked_array
from .tangent_linalg import outer_tangent_left, outer_tangent_right
from .tangent_shape import as_tangent


def tangent_of_vmatmul(t, a, b, wrt_b=False):
    """The tangent of ``vmatmul(a, b)`` along ``t``, the tangent ``(T, V) +
    shape`` of ``a`` (of ``b`` with ``wrt_b``): ``vmatmul`` is linear in each
    operand, so each tangent row takes that operand's place. Operands of at
    least two axes per example broadcast as one ``matmul`` (the other
    operand padded to the same rank after its vmap axis); vectors go row by
    row."""
    a, b = np.asarray(a), np.asarray(b)
    t = as_tangent(t, b if wrt_b else a)
    absent = getattr(t, "absent", None)
    t = np.asarray(t)
    if absent is not None:
        # a tangent whose zeros are the seed's (api/bases.py): an element of the product is one where
        # every term is, as masked_bars' products have it
        result = tangent_of_vmatmul(t, a, b, wrt_b)
        counts = tangent_of_vmatmul(np.logical_not(absent).astype(np.float64), np.ones(a.shape), np.ones(b.shape),
                                    wrt_b)
        return masked_array(np.where(counts != 0, result, 0.0), counts == 0)
    ra, rb = a.ndim - 1, b.ndim - 1
    if ra >= 2 and rb >= 2:
        rank = max(ra, rb)

        def pad(x, lead, own):  # size-1 axes after the leading ones, up to `rank` axes per example
            return np.reshape(x, x.shape[:lead] + (1,) * (rank - own) + x.shape[lead:])
        if wrt_b:
            return np.matmul(pad(a, 1, ra), pad(t, 2, rb))
        return np.matmul(pad(t, 2, ra), pad(b, 1, rb))
    if wrt_b:
        return np.stack([vmatmul(a, row) for row in t])
    return np.stack([vmatmul(row, b) for row in t])


def _pm_merge(x):
    """``(W, V) + shape`` as ``(W * V,) + shape``."""
    return np.reshape(x, (x.shape[0] * x.shape[1],) + x.shape[2:])


def vtangent_of_vmatmul(t, a, b, wrt_b=False):
    """``tangent_of_vmatmul`` of every example: ``t`` is ``(W, T, V) + shape``,
    ``a`` and ``b`` ``(W, V) + shape``. The examples of ``vmatmul`` are
    independent, so the two vmap axes ``W, V`` merge into one."""
    t, a, b = np.asarray(t), np.asarray(a), np.asarray(b)
    w, rows, v = t.shape[:3]
    merged_t = np.reshape(np.swapaxes(t, 0, 1), (rows, w * v) + t.shape[3:])
    r = tangent_of_vmatmul(merged_t, _pm_merge(a), _pm_merge(b), wrt_b=wrt_b)
    return np.swapaxes(np.reshape(r, (rows, w, v) + r.shape[2:]), 0, 1)


def vouter_tangent_left(t, a, b):
    """``outer_tangent_left`` of every example: ``t`` ``(W, T) + a.shape``."""
    if not isinstance(t, np.ndarray):  # item tangents of a list operand: example by example
        return stack_examples([outer_tangent_left(example(t, w), example(a, w), example(b, w))
                               for w in range(np.shape(b if isinstance(a, (list, tuple)) else a)[0])])
    a, b = np.asarray(a), np.asarray(b)
    w, rows = t.shape[:2]
    return np.reshape(t, (w, rows, -1, 1)) * np.reshape(b, (w, 1, 1, -1))


def vouter_tangent_right(t, a, b):
    """``outer_tangent_right`` of every example: ``t`` ``(W, T) + b.shape``."""
    if not isinstance(t, np.ndarray):  # item tangents of a list operand: example by example
        return stack_examples([outer_tangent_right(example(t, w), example(a, w), example(b, w))
                               for w in range(np.shape(b if isinstance(a, (list, tuple)) else a)[0])])
    a, b = np.asarray(a), np.asarray(b)
    w, rows = t.shape[:2]
    return np.reshape(a, (w, 1, -1, 1)) * np.reshape(t, (w, rows, 1, -1))


def vouter_adjoint_left_tangent(t, g, a, b):
    """``outer_adjoint_left_tangent`` of every example: ``t`` ``(W, T) +
    b.shape``, ``g`` ``(W, B) + (a.size, b.size)``-shaped adjoints."""
    t, g, a, b = np.asarray(t), np.asarray(g), np.asarray(a), np.asarray(b)
    w, rows, batch = t.shape[0], t.shape[1], g.shape[1]
    flat = np.reshape(g, (w, batch, a[0].size, b[0].size))
    part = np.einsum("wbij,wtj->wtbi", flat, np.reshape(t, (w, rows, b[0].size)))
    return np.reshape(part, (w, rows, batch) + _shape(a[0]))


def vouter_adjoint_right_tangent(t, g, a, b):
    """``outer_adjoint_right_tangent`` of every example (``t`` the tangent of ``a``)."""
    t, g, a, b = np.asarray(t), np.asarray(g), np.asarray(a), np.asarray(b)
    w, rows, batch = t.shape[0], t.shape[1], g.shape[1]
    flat = np.reshape(g, (w, batch, a[0].size, b[0].size))
    part = np.einsum("wbij,wti->wtbj", flat, np.reshape(t, (w, rows, a[0].size)))
    return np.reshape(part, (w, rows, batch) + _shape(b[0]))


def _pm_repeat(x, rows):
    """A batched ``(V,) + shape`` argument repeated for each of ``rows``
    tangent rows, example-major: ``(V * rows,) + shape`` (a stride-0
    broadcast, the same for every example, stays one)."""
    x = np.asarray(x)
    if x.ndim and x.shape[0] and x.strides[0] == 0:
        return np.broadcast_to(x[:1], (x.shape[0] * rows,) + x.shape[1:])
    return np.repeat(x, rows, axis=0)


def over_examples(helper, position, t, args, options=None):
    """The tangent of ``helper(*args, **options)`` along ``t``, the tangent
    ``(T, V) + shape`` of ``args[position]``, for a helper of vmap's code
    (every argument in ``args`` has the vmap axis ``V`` first, and the
    examples are independent) that is linear in that argument: the ``T``
    tangent rows become examples of their own (the other arguments repeated
    for each), one call, then the rows are split off again."""
    t = np.asarray(t)
    rows, v = t.shape[:2]
    if any(i != position and np.ndim(arg) and np.shape(arg)[0] != v for i, arg in enumerate(args)):
        # the arguments' leading axis is not the tangent's second: row by row (exact, the helper is linear)
        return tangent_rows(helper, position, t, *args, **(options or {}))
    merged = np.reshape(np.swapaxes(t, 0, 1), (v * rows,) + t.shape[2:])
    replaced = [merged if i == position else _pm_repeat(arg, rows) for i, arg in enumerate(args)]
    r = np.asarray(helper(*replaced, **(options or {})))
    return np.swapaxes(np.reshape(r, (v, rows) + r.shape[1:]), 0, 1)


def vover_examples(helper, position, t, args, options=None):
    """``over_examples`` of every example: ``t`` is ``(W, T, V) + shape``,
    the arguments ``(W, V) + shape``; the two vmap axes ``W, V`` merge."""
    t = np.asarray(t)
    w, rows, v = t.shape[:3]
    merged_t = np.reshape(np.swapaxes(t, 0, 1), (rows, w * v) + t.shape[3:])
    r = over_examples(helper, position, merged_t, tuple(_pm_merge(np.asarray(a)) for a in args), options)
    return np.swapaxes(np.reshape(r, (rows, w, v) + r.shape[2:]), 0, 1)


def _pm_split(tree, lead):
    if tree is None:
        return None
    if isinstance(tree, (list, tuple)):
        return rebuild_like(tree, [_pm_split(item, lead) for item in tree])  # (a list: differentiated again)
    tree = np.asarray(tree)
    return np.reshape(tree, tuple(lead) + tree.shape[1:])


def vv_call(helper, batched, *rest, **options):
    """A helper of vmap's code (its arguments ``batched`` with the vmap axis
    ``V`` first, its examples independent) batched again: every argument
    of ``batched`` is ``(W, V) + shape``; the two vmap axes merge into one,
    the helper runs once, and its result's leading axis is split again.
    ``rest`` and ``options`` are the same for every example."""
    if any(isinstance(arg, (dict, list, tuple)) for arg in batched):  # containers: example by example
        warnings.warn(f"vmap of vmap's own code: {getattr(helper, '__name__', helper)} of containers runs once "
                      "per example (a Python loop over the batch).", RuntimeWarning, stacklevel=2)
        count = vasarray_of_tree(list(batched)).shape[0]
        return stack_examples([helper(*[example(arg, w) for arg in batched], *rest, **options)
                               for w in range(count)])
    lead = None
    merged = []
    for arg in batched:
        if arg is None:
            merged.append(None)
            continue
        arg = np.asarray(arg)
        lead = arg.shape[:2] if lead is None else lead
        merged.append(_pm_merge(arg))
    return _pm_split(helper(*merged, *rest, **options), lead)


def vasarray_of_tree(tree):
    """The first array leaf of ``tree`` (its leading axis is the batch)."""
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (list, tuple)):
        for item in tree:
            found = vasarray_of_tree(item)
            if found is not None:
                return found
        return None
    return None if tree is None else np.asarray(tree)


def vvasarray(b):
    """``vasarray`` of every example: a list's items ``(W, V) + shape`` are
    stacked after both vmap axes."""
    if isinstance(b, np.ndarray):
        return b
    if isinstance(b, (list, tuple)):
        return np.stack([vvasarray(item) for item in b], axis=2)
    return np.asarray(b)


def vfirst_example(value):
    """``first_example`` of every example: ``value`` is ``(W, V) + shape``
    (or a container of such), the result ``(W,) + shape``."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: vfirst_example(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return rebuild_like(value, [vfirst_example(v) for v in value])
    if isinstance(value, (str, bytes, slice)):
        return value
    return np.asarray(value)[:, 0]


def vra_over(t, ndim):
    """``_ra_over`` (second_order_arrays) of every example: ``t`` is ``(W, T) + shape``."""
    t = np.asarray(t)
    missing = max(ndim - (t.ndim - 2), 0)
    return np.reshape(t, t.shape[:2] + (1,) * (1 + missing) + t.shape[2:])


def vra_unbroadcast(r, x):
    """``_ra_unbroadcast`` of every example: ``r`` ``(W, T, B) + shape``
    summed down to an example of ``x`` (read for its shape)."""
    r = np.asarray(r)
    shape = np.shape(x)[1:]
    return np.reshape(unbroadcast(np.reshape(r, (-1,) + r.shape[3:]), np.empty(shape)), r.shape[:3] + shape)


# rt.merged(outer_adjoint_left / _right, t, a, b) on a batch (third order
# under vmap: vmap(jacfwd(hessian(f))) through np.outer): the operand read by
# value differs between examples, so the tangent rows of every example go in
# as its cotangent rows, in one call, rather than once per example
MERGE_BATCHED[outer_adjoint_left] = vouter_adjoint_left
MERGE_BATCHED[outer_adjoint_right] = vouter_adjoint_right


def _pm_leaf(tree):
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (list, tuple)):
        for item in tree:
            found = _pm_leaf(item)
            if found is not None:
                return found
        return None
    return tree


def _pm_row(tree, i):
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: _pm_row(v, i) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return rebuild_like(tree, [_pm_row(v, i) for v in tree])
    return np.asarray(tree)[i]


def _pm_stack(results):
    first = results[0]
    if first is None:
        return None
    if isinstance(first, dict):
        return {k: _pm_stack([r[k] for r in results]) for k in first}
    if isinstance(first, (list, tuple)):
        return rebuild_like(first, [_pm_stack([r[j] for r in results]) for j in range(len(first))])
    return np.stack([np.asarray(r) for r in results])


def tangent_rows(helper, position, t, *args, **kwargs):
    """The tangent of ``helper(*args, **kwargs)``, linear in ``args[position]``,
    along its tangent ``t``: the helper applied to each tangent row in that
    argument's place, the results stacked along a new leading axis. A
    tangent that is a container (the item adjoints of a split, with None
    holes) gives each row its items' rows, in the same structure."""
    leaf = _pm_leaf(t)
    if leaf is None:
        return None
    rows = []
    for i in range(np.shape(leaf)[0]):
        replaced = list(args)
        replaced[position] = _pm_row(t, i)
        rows.append(helper(*replaced, **kwargs))
    return _pm_stack(rows)


def vprimal_matrices_like(z, like):
    """``vprimal_matrices`` for the batching rules of the matrix helpers: the
    batched primal ``z`` ``(V,) + shape`` given size-1 axes after the vmap
    axis until it has as many axes as ``like`` (a cotangent or tangent ``(V,
    G) + shape``), so that the two broadcast. Batched again (the matrices of
    ``vmap(jacrev(vmap(jacrev(f))))``, ``z`` already ``(W, V, 1) + shape``
    and ``like`` ``(W, V, G) + shape``) nothing is inserted, and the vmap
    axes line up instead of the outer one facing the inner one."""
    z = np.asarray(z)
    missing = np.ndim(like) - z.ndim
    return np.reshape(z, z.shape[:1] + (1,) * missing + z.shape[1:])
