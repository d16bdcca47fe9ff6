"""The Jacobian of a vmapped function, ``jacfwd(vmap(g))`` and
``jacrev(vmap(g))``, as the Jacobians of its examples on the diagonal.

Contract: for ``h = vmap(g)``, ``g`` a derivative made by a transform
(``hessian(f)``, ``jacrev(f)``, ...), with ``in_dims=0`` and ``out_dims=0``, every
differentiated argument an array mapped over its first axis, example ``v``
of ``h(X)`` depends on example ``v`` of ``X`` alone, so
``jac(h)(X)[v, ..., w, ...]`` is ``jac(g)(X[v])`` where ``w == v`` and zero
elsewhere. ``block_diagonal`` computes it so: ``vmap(jac(g, argnums))`` (the
batched code of g's derivative, once on the whole batch) placed on the
diagonal; exact, and the derivative of g is made by transforming g's source,
not the batched code (whose batched helpers, such as those of NumPy's
matrix functions, have no derivative rules of their own:
``jacfwd(vmap(hessian(f)))`` through np.linalg raised inside the library).
Other calls (a vmapped function of the user's, whose batched code is
plain NumPy code; has_aux, keyword arguments, containers, dims other than
0, a vmapped function called inside another) go the general way.
"""
import numpy as np

from .. import made
from .vmap import _plain_batch


def block_diagonal(func, transform, argnums, chunk_size, args, kwargs):
    """``transform(func, argnums)(*args)`` for a plain vmapped ``func``
    (``transform`` is ``jacfwd`` or ``jacrev``), or None when the call is not
    of that kind."""
    inner = made.vmap_of(func)
    if inner is None or kwargs or not args:
        return None
    g, in_dims, out_dims, vmap_chunk = inner
    if made.of(g) is None or made.vmap_of(g) is not None:
        return None  # (a function of the user's: its batched code is differentiated as it is)
    if not (type(in_dims) is int and in_dims == 0 and type(out_dims) is int and out_dims == 0):
        return None
    batch = _plain_batch(args)
    if not batch:
        return None
    several = isinstance(argnums, tuple)
    positions = argnums if several else (argnums,)
    if not positions or any(type(p) is not int or not -len(args) <= p < len(args) for p in positions):
        return None  # (the general way reports it)
    from .vmap import vmap

    per_example = vmap(transform(g, argnums=argnums, chunk_size=chunk_size), chunk_size=vmap_chunk)(*args)
    blocks = per_example if several else (per_example,)
    if not isinstance(blocks, tuple) or len(blocks) != len(positions) or any(
            type(b) is not np.ndarray for b in blocks):
        return None  # (an output container: the general way)
    placed = tuple(_on_diagonal(block, args[p].ndim - 1, batch) for block, p in zip(blocks, positions, strict=True))
    return placed if several else placed[0]


def _on_diagonal(block, in_ndim, batch):
    """``block`` ``(V,) + out + in``, the Jacobians of the examples, as the
    Jacobian ``(V,) + out + (V,) + in`` of the batch (zero off the diagonal)."""
    out_shape = block.shape[1:block.ndim - in_ndim]
    in_shape = block.shape[block.ndim - in_ndim:]
    rows, columns = int(np.prod(out_shape, dtype=int)), int(np.prod(in_shape, dtype=int))
    full = np.zeros((batch, rows, batch, columns), dtype=block.dtype)
    examples = np.arange(batch)
    full[examples, :, examples, :] = np.reshape(block, (batch, rows, columns))
    return np.reshape(full, (batch,) + out_shape + (batch,) + in_shape)
