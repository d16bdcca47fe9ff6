"""Derivatives of vmap's Jacobian assembly: the adjoints of
``vjacobian_from_rows``, ``vgradient_from_row`` and ``vjacobian_from_columns``
(``batched``), so that the batched code of a derivative can be
differentiated again (``jacrev(vmap(jacrev(f)))``, ``jacfwd(vmap(jacrev(f)))``).

In batched code a primal value has the vmap axis first, ``(V,) + shape``;
the rows (or columns) a Jacobian is assembled from have ``(V, N) + x.shape``.
An adjoint or tangent of either adds its own leading axis ``B``.
"""
import numpy as np

from .jacobians import columns_adjoint
from .tangents import merged


def vrows_from_jacobian(g, bar, out, x):
    """Adjoint of ``vjacobian_from_rows(bar, out, x)`` with respect to ``bar``:
    ``g`` of shape ``(B, V) + out.shape[1:] + x.shape[1:]`` back to the rows
    ``(B, V, N) + x.shape[1:]`` (leaf by leaf for a container ``x``; an
    absent row, None, stays None)."""
    if isinstance(x, (dict, list, tuple)):
        keys = list(x) if isinstance(x, dict) else range(len(x))
        holes = bar if bar is not None else ({k: None for k in x} if isinstance(x, dict) else [None] * len(x))
        leaves = [None if holes[k] is None or g[k] is None else vrows_from_jacobian(g[k], holes[k], out, x[k])
                  for k in keys]
        if isinstance(x, dict):
            return dict(zip(keys, leaves))
        return tuple(leaves) if type(x) is tuple else list(leaves)
    count = int(np.prod(np.shape(out)[1:], dtype=int))
    return np.reshape(g, np.shape(g)[:2] + (count,) + np.shape(x)[1:])


def _first(tree):
    if isinstance(tree, dict):
        return {k: _first(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_first(v) for v in tree) if type(tree) in (list, tuple) else [_first(v) for v in tree]
    return tree[0]


def vcolumns_adjoint(g, out_dot, out, x, offset):
    """Adjoint of ``vjacobian_from_columns(out_dot, out, x, offset)`` with
    respect to the batched tangents ``out_dot`` (``(V, total) + out.shape[1:]``):
    ``g`` is ``(B, V) + out.shape[1:] + x.shape[1:]``, the result
    ``(B,) + out_dot.shape``, zero outside ``x``'s columns."""
    return merged(columns_adjoint, g, out_dot[0], _first(out), _first(x), offset)
