"""Batched (vmap) tangent helpers of forward code (vmap of jvp / jacfwd).
"""
import numpy as np

from .indexing import batch_size, rebuild_like, zeros_bar
from .tangent_linalg import matmul_tangent_left, matmul_tangent_right
from .batched_linalg import _vconst, _vconst_result, _vlead


# Tangent helpers of forward code (vmap of jvp / jacfwd): ``t`` is ``(B, T) + x.shape``.

def _vmatmul_lead2(a, b, ra, rb):
    """``a @ b`` where both carry two leading axes (batch, tangent rows; either may be 1)."""
    if ra == 1:
        a = np.expand_dims(a, -2)
    if rb == 1:
        b = b[..., None]
    ndim = max(a.ndim, b.ndim)
    z = np.matmul(_vlead(a, ndim, 2), _vlead(b, ndim, 2))
    if rb == 1:
        z = z[..., 0]
    if ra == 1:
        z = z[..., 0] if rb == 1 else z[..., 0, :]
    return z


def _vrows_merged(helper, g, *args, **kwargs):
    """``helper`` on ``g`` with its batch and row axes merged into one."""
    batch, rows = g.shape[:2]
    merged = helper(g.reshape((batch * rows,) + g.shape[2:]), *args, **kwargs)
    return merged.reshape((batch, rows) + merged.shape[1:])


def vmatmul_tangent_left(t, x1, x2):
    """``matmul_tangent_left`` of every example: ``t @ x2`` per tangent row."""
    t, x1, x2 = np.asarray(t), np.asarray(x1), np.asarray(x2)
    if _vconst(t) and _vconst(x2):
        return _vconst_result(matmul_tangent_left, t, x1, x2)
    if _vconst(x2):
        return _vrows_merged(matmul_tangent_left, t, x1[0], x2[0])
    return _vmatmul_lead2(t, x2[:, None], x1.ndim - 1, x2.ndim - 1)


def vmatmul_tangent_right(t, x1, x2):
    """``matmul_tangent_right`` of every example: ``x1 @ t`` per tangent row."""
    t, x1, x2 = np.asarray(t), np.asarray(x1), np.asarray(x2)
    if _vconst(t) and _vconst(x1):
        return _vconst_result(matmul_tangent_right, t, x1, x2)
    if _vconst(x1):
        return _vrows_merged(matmul_tangent_right, t, x1[0], x2[0])
    return _vmatmul_lead2(x1[:, None], t, x1.ndim - 1, x2.ndim - 1)


def as_tangent_tangent(tt, t, like):
    """Tangent of ``as_tangent(t, like)``: an array's tangent as it is; a
    list's items' tangents stacked after both leading axes."""
    if isinstance(t, np.ndarray):
        return tt
    outer = batch_size(tt)
    items = [as_tangent_tangent(item_tt, item_t, item_like) if item_tt is not None
             else np.zeros((outer or 1, batch_size(t) or 1) + np.shape(item_like))
             for item_tt, item_t, item_like in zip(tt, t, like, strict=True)]
    return np.stack(items, axis=2)


def as_tangent_adjoint(g, t):
    """Adjoint of ``as_tangent`` with respect to ``t``."""
    if isinstance(t, np.ndarray):
        return g
    return rebuild_like(t, [g[:, :, i] for i in range(len(t))])


def vsum_of_items_tangent(batch, t, items, z, rows=None):
    """``sum_of_items_tangent`` on a batch: ``t`` holds ``(V, T) + shape``
    per item (None for an item without a tangent, or one array of them all);
    zeros ``(V, rows) + shape`` when no item has a tangent."""
    from .batched_shape import _merge, vmerged_where_shared
    from .tangent_elementwise import sum_of_items_tangent

    if _merge(t)[1] is None and rows is not None:
        return np.stack([zeros_bar(one, rows) for one in np.asarray(z)])
    return vmerged_where_shared(batch, sum_of_items_tangent, t, (items, z), (False, False))
