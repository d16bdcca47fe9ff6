"""``x.tolist()`` of a differentiated array, and its inverse for adjoints.

``array_to_list(a, like, skip)`` makes nested lists over the trailing
``np.ndim(like) - skip`` axes of ``a`` (the shape ``x.tolist()`` gives ``x``):
each leaf is ``a[..., i, j]``, an array of ``a``'s leading axes (a batch of
tangents, cotangents or vmap examples), or, with no leading axes, the
number itself. ``list_to_array(g, like, skip)`` is its inverse: nested lists
of leaves with one leading shape (holes, None, are zeros) become one array of
that leading shape + ``np.shape(like)[skip:]``. Both are linear in their
first argument, so each is the other's adjoint (rules/nested_lists.py).

``x.tolist()`` itself is ``array_to_list(x, x)``: a float array gives
``np.float64`` numbers (a subclass of float, as exact as tolist's floats),
any other dtype gives exactly what ``tolist`` gives.
"""
import itertools

import numpy as np

from .indexing import batch_size
from .scipy_stats_helpers import ValueRefused


def array_to_list(a, like, skip=0):
    """Nested lists over the trailing ``np.ndim(like) - skip`` axes of ``a``."""
    if a is None:
        return None
    a = np.asarray(a)
    depth = np.ndim(like) - skip
    if depth == 0:  # x.tolist() of a 0-d array: a number
        raise ValueRefused(
            "x.tolist() of a 0-d array gives a number, not a list, but adjoint follows tolist's result as a "
            "list (its + joins and its * repeats). Write x.item() or float(x) for the number.")
    lead = a.ndim - depth
    if lead == 0 and not np.issubdtype(a.dtype, np.floating):
        return a.tolist()  # integers, booleans: no derivative, exactly tolist's values

    def leaf(index):
        if lead == 0:
            return np.float64(a[index])
        return a[(Ellipsis,) + index]

    def build(prefix):
        if len(prefix) == depth:
            return leaf(prefix)
        return [build(prefix + (i,)) for i in range(a.shape[lead + len(prefix)])]

    return build(())


def list_to_array(g, like, skip=0):
    """The array whose ``array_to_list`` is ``g``: leaves' leading shape +
    ``np.shape(like)[skip:]``; None (no leaf at all) when ``g`` holds no array."""
    if g is None or isinstance(g, np.ndarray):
        return g  # no adjoint, or one NumPy read as an array already
    shape = np.shape(like)[skip:]
    leaves = {}

    def collect(items, prefix):
        if len(prefix) == len(shape):
            if items is not None:
                leaves[prefix] = np.asarray(items)
            return
        if items is None:
            return
        for i, item in enumerate(items):
            collect(item, prefix + (i,))

    collect(g, ())
    if not leaves:
        rows = batch_size(g)
        return None if rows is None else np.zeros((rows,) + tuple(shape))
    first = next(iter(leaves.values()))
    dtype = np.result_type(*leaves.values(), np.float64) if first.dtype.kind != "f" else first.dtype
    result = np.zeros(first.shape + tuple(shape), dtype=dtype)
    for index in itertools.product(*(range(n) for n in shape)):
        if index in leaves:
            result[(Ellipsis,) + index] = leaves[index]
    return result
