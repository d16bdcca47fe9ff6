"""``merge_axes`` / ``split_axes`` over lists and tuples of tangents.

Third order through a helper whose adjoint or result is a list or tuple of
adjoints (``rt.merged_tree``: ``multi_dot_adjoint``, ``lstsq_adjoint``,
``svd_adjoint`` ...): forward mode over forward-over-reverse code merges the
two leading axes ``(T, B)`` of every array leaf of a tangent, applies the
helper's own tangent rule, and splits the axes of every leaf of the result
again. None (a hole: no contribution) stays None; leaves with fewer than two
leading axes (zero tangents of holes) become holes, as ``merged_tree`` has
them.
"""
import numpy as np

from .indexing import element_bar, rebuild_like, zeros_bar
from .second_order_math import merged_items
from .tangents import apply_merged


def _ta_leading(tree, start):
    """The two axes ``start, start + 1`` of the first array leaf of ``tree``
    with that many axes (None when it has none)."""
    if tree is None:
        return None
    if isinstance(tree, (list, tuple)):
        for item in tree:
            lead = _ta_leading(item, start)
            if lead is not None:
                return lead
        return None
    shape = np.shape(tree)
    return shape[start:start + 2] if len(shape) >= start + 2 else None


def _ta_map(function, tree, least):
    if tree is None:
        return None
    if isinstance(tree, (list, tuple)):
        return rebuild_like(tree, [_ta_map(function, item, least) for item in tree])
    tree = np.asarray(tree)
    return function(tree) if tree.ndim >= least else None


def merge_axes_tree(t, axis=0):
    """``merge_axes(leaf, axis)`` of every array leaf of ``t``."""
    def merge(a):
        shape = a.shape
        return np.reshape(a, shape[:axis] + (shape[axis] * shape[axis + 1],) + shape[axis + 2:])
    return _ta_map(merge, t, axis + 2)


def split_axes_tree(r, like, axis=0):
    """Axis ``axis`` of every array leaf of ``r`` split into the two leading
    axes of ``like`` (an array, or a tree whose first leaf gives them)."""
    lead = _ta_leading(like, 0)
    if lead is None:
        return None

    def split(a):
        shape = a.shape
        return np.reshape(a, shape[:axis] + tuple(lead) + shape[axis + 1:])
    return _ta_map(split, r, axis + 1)


def vmerge_axes_tree(t, axis=0):
    """``merge_axes_tree`` of every example: the vmap axis first."""
    return merge_axes_tree(t, axis + 1)


def vsplit_axes_tree(r, like, axis=0):
    """``split_axes_tree`` of every example: axis ``axis`` of each example of
    every leaf of ``r`` split into the two leading axes of an example of ``like``."""
    lead = _ta_leading(like, 1)
    if lead is None:
        return None

    def split(a):
        shape = a.shape
        return np.reshape(a, shape[:axis + 1] + tuple(lead) + shape[axis + 2:])
    return _ta_map(split, r, axis + 2)


def element_bar_tangent_tangent(tt, key, like, r, batch):
    """The tangent of ``r = element_bar_tangent(t, key, like, bar, rows)``
    from the tangent ``tt`` of ``t`` (third order through an item of a
    container's adjoint: a namedtuple's field, a tuple's item): linear in
    ``t``, so ``tt``'s leaves with their two leading axes merged; zeros
    ``(batch,) + r.shape`` where the item has no tangent (a hole)."""
    found = merged_items(apply_merged, tt, merged_items, element_bar, key, like)
    return zeros_bar(r, batch) if found is None else found
