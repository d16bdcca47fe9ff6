"""Helpers for vmap's own helpers differentiated again
(``vmap(jacrev(vmap(jacrev(f))))``; rules in ``rules/nested_vmap.py``).
"""
import numpy as np

from .batched_shape import vitems


def vjoin_tangent(join, t, b):
    """The tangent of ``join(b)``, a join of every example (``vvstack``,
    ``vcolumn_stack``, ``vdstack``: linear in the items), along ``t``:
    the items' tangents ``(T, V) + item shape`` (None for an item without
    one; an array ``(T,) + b.shape`` when ``b`` is one array). The tangent
    rows join as examples of their own: ``T * V`` of them, in one call."""
    items = vitems(b)
    if isinstance(t, (list, tuple)):
        leaf = next(np.asarray(tangent) for tangent in t if tangent is not None)
        count = leaf.shape[0]
        tangents = [np.zeros((count,) + np.shape(item), dtype=np.result_type(leaf, item)) if tangent is None
                    else np.broadcast_to(tangent, (count,) + np.shape(item))
                    for tangent, item in zip(t, items, strict=True)]
    else:
        t = np.asarray(t)
        count = t.shape[0]
        tangents = [t[:, :, i] for i in range(t.shape[2])]
    merged = [np.reshape(tangent, (-1,) + np.shape(tangent)[2:]) for tangent in tangents]
    joined = join(merged)
    return np.reshape(joined, (count, -1) + np.shape(joined)[1:])
