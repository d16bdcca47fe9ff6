"""Tangent helpers of ufuncs and builtins (forward mode).
"""
import numpy as np

from .indexing import batch_size, extremum_winner, rebuild_like, zeros_bar
from .tangents import lift


# ---- tangent helpers: ufuncs and builtins

def _item_tangents(t, items):
    """The tangents of the items of a sequence, from the sequence's tangent
    ``t``: a list or tuple of them (None for an item without one), or an
    array whose items follow the batch axis (a sequence that is an array)."""
    if isinstance(t, np.ndarray):
        return [t[:, i] for i in range(len(items))]
    return list(t)


def _no_item_tangent(z):
    """Refuse a sum/max/min over a sequence whose items all lost their
    derivatives (items replaced by constants): forward mode cannot size a zero
    tangent for it."""
    raise ValueError(
        "sum(), max() or min() of a sequence none of whose items carries a derivative any more "
        f"(result of shape {np.shape(z)}): forward mode cannot size its zero tangent. Use jacrev, "
        "or wrap the call in adjoint.stop_gradient(...).")


def sum_of_items_tangent(t, items, z, rows=None):
    """Tangent of Python's ``sum(items)`` (``z``): the items' tangents added,
    each broadcast to ``z``'s shape; items without a tangent add nothing.
    ``rows``, the tangents' batch size, sizes the zero tangent when no item
    has one (``sum(lst[1:])`` where only ``lst[0]`` carries a derivative)."""
    if isinstance(t, np.ndarray):  # an array summed along its first axis
        total = np.sum(t, axis=1) if len(items) else np.zeros((t.shape[0],) + np.shape(z), t.dtype)
        return lift(total, z)
    total = None
    for item_t in t:
        if item_t is not None:
            total = lift(item_t, z) if total is None else total + lift(item_t, z)
    if total is None:
        if rows is None:
            _no_item_tangent(z)
        return zeros_bar(z, rows)
    return total


def extremum_of_items_tangent(t, items, z, rows=None):
    """Tangent of Python's ``max(items)`` / ``min(items)`` (``z``): the tangent
    of the first item equal to the result, as the adjoint rule chooses
    (``rows``: the tangents' batch size, for a zero tangent)."""
    winner = extremum_winner(items, z)
    tangents = _item_tangents(t, items)
    if tangents[winner] is not None:
        # (an object's tangent, the winner of min(q1, q2) by __lt__, is its attributes': as it is)
        return lift(tangents[winner], z) if isinstance(tangents[winner], np.ndarray) else tangents[winner]
    batch = batch_size(tangents)
    if batch is None:
        batch = rows
    if batch is None:
        _no_item_tangent(z)
    return zeros_bar(z, batch)


def sequence_tangent(t, items, z):
    """Tangent of ``z = list(items)`` / ``tuple(items)``: the items' tangents
    in ``z``'s container (an array's items are its rows after the batch axis)."""
    return rebuild_like(z, _item_tangents(t, items))


def mapping_tangent(t, mapping):
    """Tangent of ``dict(mapping)``, a copy of a dict: the same entries."""
    if not isinstance(mapping, dict):
        raise TypeError("dict(...) is differentiated only as the copy of a dict: dict(d).")
    return {key: t.get(key) for key in mapping}
