"""Batched (vmap) helpers of products and ``np.linalg`` and of their
backward helpers.
"""
import math
import warnings

import numpy as np

from .jacobians import _IDENTITIES
from .linalg import (
    COV_TRANSPOSES_ONE_ROW, _tensordot_axes, det_adjoint, dot_adjoint_left, dot_adjoint_right,
    inv_adjoint, matmul_adjoint_left, matmul_adjoint_right, outer_adjoint_left,
    outer_adjoint_right, solve_transposed, tensordot_adjoint_left, tensordot_adjoint_right,
)
from .indexing import rebuild_like
from .reductions import _convolve_mode
from .batched import stack_examples, vmultiply_shared


# ---- batching helpers: linalg
# Batched operands carry the batch on axis 0. One that is a stride-0
# broadcast (an unbatched value given a batch axis) is used as its first
# example, so that a constant matrix times a batch of vectors is one GEMM.
# The backward helpers' batched cotangent ``g`` is ``(B, N) + z.shape``.

_VLETTERS = "abcdefghijklmnopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXY"  # "z", "Z": batch and cotangent rows


def _vconst(x):
    """Whether batched ``x`` is the same for every example (a stride-0 broadcast)."""
    return isinstance(x, np.ndarray) and x.ndim > 0 and x.shape[0] > 0 and x.strides[0] == 0


def _vbroadcast(value, batch):
    """An unbatched result for every example (a stride-0 view)."""
    if isinstance(value, (tuple, list)):
        return rebuild_like(value, [_vbroadcast(v, batch) for v in value])
    value = np.asarray(value)
    return np.broadcast_to(value, (batch,) + value.shape)


def _vlead(x, ndim, lead=1):
    """``x`` with size-1 axes after its ``lead`` leading axes, up to ``ndim`` axes."""
    return np.reshape(x, x.shape[:lead] + (1,) * (ndim - x.ndim) + x.shape[lead:])


def _vlinalg_axis(axis, rank):
    """Axis ``axis`` of a ``rank``-d example as an axis of the batched array."""
    if not -rank <= axis < rank:
        raise np.exceptions.AxisError(axis, rank)
    return axis % rank + 1


def _vunbroadcast(value, shape, lead):
    """``value`` (``lead`` leading axes, then an example's broadcast shape)
    summed back to ``shape``."""
    extra = value.ndim - lead - len(shape)
    if extra > 0:
        value = value.sum(axis=tuple(range(lead, lead + extra)))
    axes = tuple(lead + i for i, n in enumerate(shape) if n == 1 and value.shape[lead + i] != 1)
    if axes:
        value = value.sum(axis=axes, keepdims=True)
    return value


def _vmatmul_general(a, b, ra, rb):
    if ra == 1:
        a = a[:, None, :]
    if rb == 1:
        b = b[..., None]
    ndim = max(a.ndim, b.ndim)
    z = np.matmul(_vlead(a, ndim), _vlead(b, ndim))
    if rb == 1:
        z = z[..., 0]
    if ra == 1:
        z = z[..., 0] if rb == 1 else z[..., 0, :]
    return z


def vmatmul(a, b):
    """``a @ b`` of every example, any ranks NumPy's matmul takes. A
    constant matrix against a batch is one matrix product (GEMM)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        a, b = np.asarray(a), np.asarray(b)
    a_const = a.strides[0] == 0 and a.shape[0] > 0
    b_const = b.strides[0] == 0 and b.shape[0] > 0
    if a_const and a.ndim == 3 and b.ndim == 2 and not b_const:  # the common case: matrix @ vectors
        return b @ a[0].T
    ra, rb = a.ndim - 1, b.ndim - 1
    if a_const and b_const:
        return _vbroadcast(np.matmul(a[0], b[0]), a.shape[0])
    if b_const and rb <= 2 and ra >= 1:
        m = b[0]
        flat = a.reshape(-1, a.shape[-1]) @ m
        return flat.reshape(a.shape[:-1] + m.shape[1:])
    if a_const and ra <= 2 and rb >= 1:
        m = a[0]
        right = m.T if ra == 2 else m
        if rb == 1:
            return b @ right
        bt = np.swapaxes(b, -1, -2)
        flat = bt.reshape(-1, bt.shape[-1]) @ right
        if ra == 2:
            return np.swapaxes(flat.reshape(bt.shape[:-1] + (m.shape[0],)), -1, -2)
        return flat.reshape(bt.shape[:-1])
    return _vmatmul_general(a, b, ra, rb)


def _vmultiply(a, b):
    """``a * b`` of every example (a 0-d operand of np.dot, np.inner)."""
    ndim = max(a.ndim, b.ndim)
    return _vlead(a, ndim) * _vlead(b, ndim)


def vnpdot(a, b):
    """``np.dot(a, b)`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    ra, rb = a.ndim - 1, b.ndim - 1
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.dot(a[0], b[0]), batch)
    if ra == 0 or rb == 0:
        return _vmultiply(a, b)
    if rb <= 2:
        return vmatmul(a, b)
    if _vconst(b):
        return np.dot(a, b[0])
    if _vconst(a):
        return np.moveaxis(np.dot(a[0], b), ra - 1, 0)
    left, stack = _VLETTERS[:ra - 1], _VLETTERS[ra - 1:ra + rb - 3]
    k, m = _VLETTERS[ra + rb - 3], _VLETTERS[ra + rb - 2]
    return np.einsum(f"Z{left}{k},Z{stack}{k}{m}->Z{left}{stack}{m}", a, b)


def vouter(a, b):
    """``np.outer(a, b)`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    fa = np.reshape(a[:1], (1, -1)) if _vconst(a) else np.reshape(a, (batch, -1))
    fb = np.reshape(b[:1], (1, -1)) if _vconst(b) else np.reshape(b, (batch, -1))
    z = fa[:, :, None] * fb[:, None, :]
    return z if z.shape[0] == batch else np.broadcast_to(z, (batch,) + z.shape[1:])


def vinner(a, b):
    """``np.inner(a, b)`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    ra, rb = a.ndim - 1, b.ndim - 1
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.inner(a[0], b[0]), batch)
    if ra == 0 or rb == 0:
        return _vmultiply(a, b)
    if _vconst(b):
        return np.inner(a, b[0])
    if _vconst(a):
        return np.moveaxis(np.inner(a[0], b), ra - 1, 0)
    left, right, k = _VLETTERS[:ra - 1], _VLETTERS[ra - 1:ra + rb - 2], _VLETTERS[ra + rb - 2]
    return np.einsum(f"Z{left}{k},Z{right}{k}->Z{left}{right}", a, b)


def vvdot(a, b):
    """``np.vdot(a, b)`` of every example (both flattened; ``a`` conjugated)."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.vdot(a[0], b[0]), batch)
    fa, fb = np.reshape(a, (batch, -1)), np.reshape(b, (batch, -1))
    if np.iscomplexobj(fa):
        fa = np.conj(fa)
    if _vconst(a):
        return fb @ fa[0]
    if _vconst(b):
        return fa @ fb[0]
    return np.einsum("Zi,Zi->Z", fa, fb)


def vtensordot(a, b, axes=2):
    """``np.tensordot(a, b, axes)`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    ra, rb = a.ndim - 1, b.ndim - 1
    a_axes, b_axes = _tensordot_axes(ra, rb, axes)
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.tensordot(a[0], b[0], axes=(a_axes, b_axes)), batch)
    if _vconst(b):
        return np.tensordot(a, b[0], axes=([i + 1 for i in a_axes], b_axes))
    if _vconst(a):
        z = np.tensordot(a[0], b, axes=(a_axes, [j + 1 for j in b_axes]))
        return np.moveaxis(z, ra - len(a_axes), 0)
    a_term = list(_VLETTERS[:ra])
    b_term = list(_VLETTERS[ra:ra + rb])
    for i, j in zip(a_axes, b_axes, strict=True):
        b_term[j] = a_term[i]
    out = [c for i, c in enumerate(a_term) if i not in a_axes] + [c for j, c in enumerate(b_term) if j not in b_axes]
    return np.einsum(f"Z{''.join(a_term)},Z{''.join(b_term)}->Z{''.join(out)}", a, b)


def _vnone(x):
    """An operand slot the user left out (None, given a batch axis)."""
    return x is None or (isinstance(x, np.ndarray) and x.dtype == object and x.size > 0 and x.flat[0] is None)


def vkron(a, b):
    """``np.kron(a, b)`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.kron(a[0], b[0]), batch)
    ndim = max(a.ndim, b.ndim)
    a, b = _vlead(a, ndim), _vlead(b, ndim)
    sa, sb = a.shape[1:], b.shape[1:]
    z = (np.reshape(a, a.shape[:1] + tuple(n for s in sa for n in (s, 1)))
         * np.reshape(b, b.shape[:1] + tuple(n for s in sb for n in (1, s))))
    return np.reshape(z, z.shape[:1] + tuple(p * q for p, q in zip(sa, sb, strict=True)))


def vcross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``np.cross`` of every example."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    if axis is not None:
        axisa = axisb = axisc = axis
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.cross(a[0], b[0], axisa=axisa, axisb=axisb, axisc=axisc), batch)
    a = np.moveaxis(a, _vlinalg_axis(axisa, a.ndim - 1), -1)
    b = np.moveaxis(b, _vlinalg_axis(axisb, b.ndim - 1), -1)
    ndim = max(a.ndim, b.ndim)
    a, b = _vlead(a, ndim), _vlead(b, ndim)
    return np.cross(a, b, axisc=_vlinalg_axis(axisc, ndim - 1))


def vdiag(v, k=0):
    """``np.diag(v, k)`` of every example."""
    v = np.asarray(v)
    if v.ndim == 3:
        return np.diagonal(v, offset=k, axis1=1, axis2=2)
    if v.ndim != 2:
        raise ValueError("Input must be 1- or 2-d.")
    size = v.shape[1] + abs(k)
    z = np.zeros((v.shape[0], size, size), dtype=v.dtype)
    positions = np.arange(v.shape[1])
    z[:, positions + max(-k, 0), positions + max(k, 0)] = v
    return z


def vdiagflat(v, k=0):
    """``np.diagflat(v, k)`` of every example."""
    v = np.asarray(v)
    return vdiag(np.reshape(v, (v.shape[0], -1)), k)


def vsolve(a, b):
    """``np.linalg.solve(a, b)`` of every example (NumPy 2: ``b`` 1-d is one
    vector, otherwise a stack of matrices). A constant 2-d ``a`` is factored
    once for the whole batch."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    ra, rb = a.ndim - 1, b.ndim - 1
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.linalg.solve(a[0], b[0]), batch)
    if _vconst(a) and ra == 2 and rb <= 2:
        if rb == 1:
            return np.linalg.solve(a[0], b.T).T
        n, k = b.shape[1:]
        z = np.linalg.solve(a[0], np.reshape(np.moveaxis(b, 0, 1), (n, batch * k)))
        return np.moveaxis(np.reshape(z, (n, batch, k)), 1, 0)
    if rb == 1:
        return np.linalg.solve(a, _vlead(b[..., None], a.ndim))[..., 0]
    ndim = max(a.ndim, b.ndim)
    return np.linalg.solve(_vlead(a, ndim), _vlead(b, ndim))


def vlstsq(a, b, rcond=None):
    """``np.linalg.lstsq(a, b, rcond)`` of every example: one call for a
    constant ``a`` (the examples' ``b`` as columns), else one batched SVD
    (``_vlstsq_by_svd``: NumPy's lstsq takes no stacks)."""
    a, b = np.asarray(a), np.asarray(b)
    batch = a.shape[0]
    if _vconst(a) and _vconst(b):
        return _vbroadcast(np.linalg.lstsq(a[0], b[0], rcond=rcond), batch)
    if _vconst(a):
        if b.ndim == 2:
            x, residuals, rank, s = np.linalg.lstsq(a[0], b.T, rcond=rcond)
            x, per_row = x.T, 1
        else:
            m, k = b.shape[1:]
            x, residuals, rank, s = np.linalg.lstsq(a[0], np.reshape(np.moveaxis(b, 0, 1), (m, batch * k)),
                                                    rcond=rcond)
            x, per_row = np.moveaxis(np.reshape(x, (x.shape[0], batch, k)), 1, 0), k
        residuals = (np.reshape(residuals, (batch, per_row)) if residuals.size
                     else np.zeros((batch, 0), dtype=residuals.dtype))
        return x, residuals, _vbroadcast(rank, batch), _vbroadcast(s, batch)
    return _vlstsq_by_svd(a, b, rcond)


def _vlstsq_by_svd(a, b, rcond):
    """``np.linalg.lstsq`` of every example through one SVD of the stack of
    matrices: LAPACK's gelsd, which lstsq calls, solves through the SVD too,
    treating singular values at most ``rcond * s_max`` as zero (``rcond``
    None: machine precision times ``max(m, n)``; negative: machine
    precision), so ``x = V diag(1/s) U^T b`` over the kept ones is the same
    minimum-norm solution, equal to rounding. (The normal equations
    ``a^T a x = a^T b`` would square the condition number: not used.) The
    residuals are those NumPy returns: the sums of squares of ``b - a x``
    when ``a`` has full column rank and more rows than columns, else none;
    examples that differ in that have residuals of different sizes, which
    cannot be stacked: refused."""
    if a.ndim != 3 or b.ndim not in (2, 3) or b.shape[1] != a.shape[1] or 0 in a.shape[1:]:
        # (NumPy's own error for shapes it refuses, or an empty matrix: per example)
        return stack_examples([np.linalg.lstsq(a[row], b[row], rcond=rcond) for row in range(a.shape[0])])
    m, n = a.shape[1:]
    column = b.ndim == 2
    rhs = b[:, :, None] if column else b
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    if rcond is None:
        rcond = np.finfo(s.dtype).eps * max(m, n)
    elif rcond < 0:
        rcond = np.finfo(s.dtype).eps
    keep = s > rcond * s[:, :1]
    inverse_s = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0).astype(s.dtype)
    x = np.swapaxes(vh, 1, 2) @ (inverse_s[:, :, None] * (np.swapaxes(u, 1, 2) @ rhs))
    if x.dtype != np.result_type(x.dtype, rhs.dtype):
        x = x.astype(np.result_type(x.dtype, rhs.dtype))
    rank = np.sum(keep, axis=1).astype(np.int32)
    full = rank == n
    if m > n and np.all(full):
        residuals = np.sum((rhs - a @ x) ** 2, axis=1)
    elif m > n and np.any(full):
        raise ValueError(
            "vmap of np.linalg.lstsq: some examples' matrices have full column rank and others do not, so "
            "their residuals (returned only at full rank) have different sizes and cannot be stacked. Use "
            "the solution x alone and compute the residuals from it: np.sum((a @ x - b) ** 2, axis=0).")
    else:
        residuals = np.zeros((a.shape[0], 0), dtype=x.dtype)
    return (x[:, :, 0] if column else x), residuals, rank, s


def vmulti_dot(arrays):
    """``np.linalg.multi_dot(arrays)`` of every example, left to right (a
    constant prefix is multiplied once)."""
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    z = arrays[0]
    for x in arrays[1:]:
        z = vmatmul(z, x)
    return z


def vcov(m, rowvar=True, bias=False, ddof=None):
    """``np.cov(m, ...)`` of every example (one array, no weights)."""
    m = np.asarray(m)
    batch = m.shape[0]
    if _vconst(m):
        return _vbroadcast(np.cov(m[0], rowvar=rowvar, bias=bias, ddof=ddof), batch)
    if m.ndim > 3:
        raise ValueError("m has more than 2 dimensions")
    x = np.array(m, dtype=np.result_type(m, np.float64))
    if x.ndim == 2:
        x = x[:, None, :]
    elif not rowvar and (x.shape[1] != 1 or COV_TRANSPOSES_ONE_ROW):
        x = np.swapaxes(x, 1, 2)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    fact = x.shape[2] - ddof
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    x = x - x.mean(axis=2, keepdims=True)
    c = x @ np.swapaxes(x, 1, 2).conj()
    c *= np.true_divide(1, fact)
    return c[:, 0, 0] if c.shape[1] == 1 else c


def vcorrcoef(x, rowvar=True):
    """``np.corrcoef(x, rowvar=...)`` of every example."""
    x = np.asarray(x)
    if _vconst(x):
        return _vbroadcast(np.corrcoef(x[0], rowvar=rowvar), x.shape[0])
    c = vcov(x, rowvar=rowvar)
    if c.ndim == 1:
        return c / c
    variances = np.diagonal(c, axis1=1, axis2=2)
    stddev = np.sqrt(np.real(variances))
    c = c / stddev[:, :, None] / stddev[:, None, :]
    # (NumPy clips in place, out=c.real; written as values so that a
    # derivative of a vmap can differentiate this code)
    if np.iscomplexobj(c):
        return np.clip(np.real(c), -1, 1) + 1j * np.clip(np.imag(c), -1, 1)
    return np.clip(c, -1, 1)


def _vcorrelate(a, w, mode, start_same):
    """``z[k] = sum_n a_padded[n + k] w[n]`` for the rows of ``a`` and ``w``
    (1-d examples), cut to ``mode`` as NumPy's convolve and correlate do."""
    batch = a.shape[0]
    a = a[:1] if _vconst(a) else a
    w = w[:1] if _vconst(w) else w
    size_a, size_w = a.shape[1], w.shape[1]
    if size_a == 0 or size_w == 0:
        raise ValueError("v cannot be empty" if size_w == 0 else "a cannot be empty")
    padded = np.zeros((a.shape[0], size_a + 2 * (size_w - 1)), dtype=np.result_type(a, w))
    padded[:, size_w - 1:size_w - 1 + size_a] = a
    windows = np.lib.stride_tricks.sliding_window_view(padded, size_w, axis=1)
    full = np.matmul(windows, w[:, :, None])[..., 0]
    short, long = min(size_a, size_w), max(size_a, size_w)
    if mode == "full":
        z = full
    elif mode == "valid":
        z = full[:, short - 1:long]
    elif mode == "same":
        z = full[:, start_same:start_same + long]
    else:
        raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})")
    return z if z.shape[0] == batch else np.broadcast_to(z, (batch,) + z.shape[1:])


def _vconvolve_operand(x):
    """A batched operand of np.convolve as ``(B, n)``: 0-d examples have one element."""
    x = np.asarray(x)
    return x[:, None] if x.ndim == 1 else x


def vconvolve(a, v, mode="full"):
    """``np.convolve(a, v, mode)`` of every example (1-d; a 0-d example is
    one element, and ``mode`` may be NumPy's 0, 1, 2, as np.convolve reads them)."""
    a, v, mode = _vconvolve_operand(a), _vconvolve_operand(v), _convolve_mode(mode)
    short = min(a.shape[1], v.shape[1])
    return _vcorrelate(a, v[:, ::-1], mode, short - 1 - short // 2)


def vcorrelate(a, v, mode="valid"):
    """``np.correlate(a, v, mode)`` of every example (1-d; see ``vconvolve``)."""
    a, v, mode = _vconvolve_operand(a), _vconvolve_operand(v), _convolve_mode(mode)
    if np.iscomplexobj(v):
        v = np.conj(v)
    short = min(a.shape[1], v.shape[1])
    start = short // 2 if a.shape[1] < v.shape[1] else short - 1 - short // 2
    return _vcorrelate(a, v, mode, start)


# The backward helpers of the products, batched: ``g`` is ``(B, N) + z.shape``.
# Where the other operand is the same for every example the batch and row
# axes merge into one, and the helper runs once on ``(B * N) + z.shape``.

def _vrows(helper, g, shape, *args, **kwargs):
    """``helper`` on ``g`` with its batch and row axes merged; ``shape``: the
    result's shape for one row of one example."""
    batch, rows = g.shape[:2]
    merged = helper(g.reshape((batch * rows,) + g.shape[2:]), *args, **kwargs)
    return merged.reshape((batch, rows) + tuple(shape))


def _vconst_result(helper, g, *args, **kwargs):
    """The helper once, when ``g`` and the operands are the same for every example."""
    return _vbroadcast(helper(g[0], *[a[0] for a in args], **kwargs), g.shape[0])


def vmatmul_adjoint_left(g, x, y):
    """``matmul_adjoint_left`` of every example."""
    g, x, y = np.asarray(g), np.asarray(x), np.asarray(y)
    if _vconst(g) and _vconst(y):
        return _vconst_result(matmul_adjoint_left, g, x, y)
    x_shape = x.shape[1:]
    if _vconst(y):
        return _vrows(matmul_adjoint_left, g, x_shape, x[0], y[0])
    x_nd, y_nd = len(x_shape), y.ndim - 1
    y = y[:, None]
    if y_nd == 1:
        y, g = y[..., None], g[..., None]
    if x_nd == 1:
        g = np.expand_dims(g, -2)
    ndim = max(g.ndim, y.ndim)
    x_bar = np.matmul(_vlead(g, ndim, 2), np.swapaxes(_vlead(y, ndim, 2), -1, -2))
    if x_nd == 1:
        x_bar = x_bar[..., 0, :]
    return _vunbroadcast(x_bar, x_shape, 2)


def vmatmul_adjoint_right(g, x, y):
    """``matmul_adjoint_right`` of every example."""
    if type(g) is not np.ndarray or type(x) is not np.ndarray or type(y) is not np.ndarray:
        g, x, y = np.asarray(g), np.asarray(x), np.asarray(y)
    if x.ndim == 3 and y.ndim == 2 and x.strides[0] == 0 and x.shape[0] > 0 and g.strides[0] != 0:
        # the common case: a constant matrix times vectors; rows of g times the matrix, one GEMM
        return (g.reshape(-1, g.shape[2]) @ x[0]).reshape(g.shape[:2] + y.shape[1:])
    if _vconst(g) and _vconst(x):
        return _vconst_result(matmul_adjoint_right, g, x, y)
    y_shape = y.shape[1:]
    if _vconst(x):
        return _vrows(matmul_adjoint_right, g, y_shape, x[0], y[0])
    x_nd, y_nd = x.ndim - 1, len(y_shape)
    x = x[:, None]
    if y_nd == 1:
        g = g[..., None]
    if x_nd == 1:
        x = x[..., None, :]
        g = np.expand_dims(g, -2)
    ndim = max(g.ndim, x.ndim)
    y_bar = np.matmul(np.swapaxes(_vlead(x, ndim, 2), -1, -2), _vlead(g, ndim, 2))
    if y_nd == 1:
        y_bar = y_bar[..., 0]
    return _vunbroadcast(y_bar, y_shape, 2)


def vdiagonal_matmul_adjoint_right(basis, factor, x, y):
    """``vmatmul_adjoint_right(vmultiply_shared(basis, factor), x, y)``: the
    rows of ``basis * factor`` times a matrix. For the identity basis over a
    vector output ``(N, N)`` (``output_basis``), a factor ``(B, 1, N)`` and a
    matrix ``x`` shared by every example, those rows are diagonal matrices,
    and their product with the matrix scales its rows: ``factor[b, 0, n] *
    x[n, :]`` (the same values, a zero may differ in sign), written directly
    instead of building the diagonals and multiplying their zeros. An
    infinite or NaN value in the factor or the matrix takes the product, whose
    zeros times it are NaN."""
    if (type(factor) is np.ndarray and type(x) is np.ndarray and type(y) is np.ndarray
            and _IDENTITIES.get(id(basis)) is basis and basis.ndim == 2 and factor.ndim == 3 and x.ndim == 3
            and y.ndim == 2 and factor.shape[1] == 1 and factor.shape[2] == basis.shape[0] == x.shape[1]
            and x.strides[0] == 0 and x.shape[0] == factor.shape[0] > 0 and factor.dtype == basis.dtype):
        matrix = x[0]
        if matrix.dtype.kind in "biu" or matrix.dtype.kind == "f" and math.isfinite(np.vdot(matrix, matrix)):
            if math.isfinite(np.vdot(factor, factor)):
                return factor.reshape(factor.shape[0], factor.shape[2], 1) * matrix
    return vmatmul_adjoint_right(vmultiply_shared(basis, factor), x, y)


def _vtensordot_adjoint(g, own, other, own_axes, other_axes, own_first):
    """The adjoint of ``own`` in a tensordot with ``other`` (both batched),
    ``g``: ``(B, N)`` then the result's axes (``own``'s free axes first
    when ``own_first``)."""
    r_own, r_other = own.ndim - 1, other.ndim - 1
    own_term = list(_VLETTERS[:r_own])
    other_term = list(_VLETTERS[r_own:r_own + r_other])
    for i, j in zip(own_axes, other_axes, strict=True):
        other_term[j] = own_term[i]
    own_free = [c for i, c in enumerate(own_term) if i not in own_axes]
    other_free = [c for j, c in enumerate(other_term) if j not in other_axes]
    g_term = own_free + other_free if own_first else other_free + own_free
    return np.einsum(f"Zz{''.join(g_term)},Z{''.join(other_term)}->Zz{''.join(own_term)}", g, other)


def vtensordot_adjoint_left(g, a, b, axes=2):
    """``tensordot_adjoint_left`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(b):
        return _vconst_result(tensordot_adjoint_left, g, a, b, axes=axes)
    if _vconst(b):
        return _vrows(tensordot_adjoint_left, g, a.shape[1:], a[0], b[0], axes=axes)
    a_axes, b_axes = _tensordot_axes(a.ndim - 1, b.ndim - 1, axes)
    return _vtensordot_adjoint(g, a, b, a_axes, b_axes, True)


def vtensordot_adjoint_right(g, a, b, axes=2):
    """``tensordot_adjoint_right`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(a):
        return _vconst_result(tensordot_adjoint_right, g, a, b, axes=axes)
    if _vconst(a):
        return _vrows(tensordot_adjoint_right, g, b.shape[1:], a[0], b[0], axes=axes)
    a_axes, b_axes = _tensordot_axes(a.ndim - 1, b.ndim - 1, axes)
    return _vtensordot_adjoint(g, b, a, b_axes, a_axes, False)


def _vdot_axes(a_nd, b_nd):
    """``np.dot`` of arrays of ranks >= 1 as a tensordot: its axes."""
    return [a_nd - 1], [max(b_nd - 2, 0)]


def vdot_adjoint_left(g, a, b):
    """``dot_adjoint_left`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(b):
        return _vconst_result(dot_adjoint_left, g, a, b)
    if _vconst(b):
        return _vrows(dot_adjoint_left, g, a.shape[1:], a[0], b[0])
    a_nd, b_nd = a.ndim - 1, b.ndim - 1
    if a_nd == 0 or b_nd == 0:  # a product: g times b, summed to a's shape
        b = b[:, None]
        product = _vlead(g, max(g.ndim, b.ndim), 2) * _vlead(b, max(g.ndim, b.ndim), 2)
        return _vunbroadcast(product, a.shape[1:], 2)
    return _vtensordot_adjoint(g, a, b, *_vdot_axes(a_nd, b_nd), True)


def vdot_adjoint_right(g, a, b):
    """``dot_adjoint_right`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(a):
        return _vconst_result(dot_adjoint_right, g, a, b)
    if _vconst(a):
        return _vrows(dot_adjoint_right, g, b.shape[1:], a[0], b[0])
    a_nd, b_nd = a.ndim - 1, b.ndim - 1
    if a_nd == 0 or b_nd == 0:
        a = a[:, None]
        product = _vlead(g, max(g.ndim, a.ndim), 2) * _vlead(a, max(g.ndim, a.ndim), 2)
        return _vunbroadcast(product, b.shape[1:], 2)
    a_axes, b_axes = _vdot_axes(a_nd, b_nd)
    return _vtensordot_adjoint(g, b, a, b_axes, a_axes, False)


def vouter_adjoint_left(g, a, b):
    """``outer_adjoint_left`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(b):
        return _vconst_result(outer_adjoint_left, g, a, b)
    if _vconst(b):
        return _vrows(outer_adjoint_left, g, a.shape[1:], a[0], b[0])
    batch, rows = g.shape[:2]
    flat = np.reshape(g, (batch, rows, a[0].size, b[0].size))
    return np.reshape(flat @ np.reshape(b, (batch, 1, -1, 1)), g.shape[:2] + a.shape[1:])


def vouter_adjoint_right(g, a, b):
    """``outer_adjoint_right`` of every example."""
    g, a, b = np.asarray(g), np.asarray(a), np.asarray(b)
    if _vconst(g) and _vconst(a):
        return _vconst_result(outer_adjoint_right, g, a, b)
    if _vconst(a):
        return _vrows(outer_adjoint_right, g, b.shape[1:], a[0], b[0])
    batch, rows = g.shape[:2]
    flat = np.reshape(g, (batch, rows, a[0].size, b[0].size))
    return np.reshape(np.reshape(a, (batch, 1, 1, -1)) @ flat, g.shape[:2] + b.shape[1:])


def vinv_adjoint(g, z):
    """``inv_adjoint`` of every example: ``-z^T g z^T`` per row of ``g``."""
    g, z = np.asarray(g), np.asarray(z)
    if _vconst(g) and _vconst(z):
        return _vconst_result(inv_adjoint, g, z)
    if _vconst(z):
        return _vrows(inv_adjoint, g, g.shape[2:], z[0])
    z_t = np.swapaxes(z, -1, -2)[:, None]
    return -(z_t @ g @ z_t)


def vsolve_transposed(a, g, b):
    """``solve_transposed`` of every example (``b`` is read for its rank)."""
    a, g, b = np.asarray(a), np.asarray(g), np.asarray(b)
    if _vconst(g) and _vconst(a):
        return _vbroadcast(solve_transposed(a[0], g[0], b[0]), g.shape[0])
    if _vconst(a):
        batch, rows = g.shape[:2]
        merged = solve_transposed(a[0], np.reshape(g, (batch * rows,) + g.shape[2:]), b[0])
        return np.reshape(merged, g.shape)
    inverse_t = np.swapaxes(np.linalg.inv(a), -1, -2)
    # g's leading axes: the vmap axis, then one (a cotangent's rows) or two
    # (the tangent of a cotangent, vmap of a Hessian's code): size-1 axes
    # after the vmap axis line the inverses up with g's matrices (or vectors)
    missing = g.ndim + (b.ndim == 2) - inverse_t.ndim
    inverse_t = np.reshape(inverse_t, inverse_t.shape[:1] + (1,) * missing + inverse_t.shape[1:])
    if b.ndim == 2:
        return (inverse_t @ g[..., None])[..., 0]
    return inverse_t @ g


def vsolve_adjoint_matrix(b_bar, z, a, b):
    """``solve_adjoint_matrix`` of every example: ``-b_bar z^T`` per row of
    ``b_bar``, summed to ``a``'s shape."""
    b_bar, z, a, b = np.asarray(b_bar), np.asarray(z), np.asarray(a), np.asarray(b)
    z = z[:, None]
    if b.ndim == 2:  # one vector per example
        part = -b_bar[..., :, None] * z[..., None, :]
    else:
        part = -(b_bar @ np.swapaxes(z, -1, -2))
    return _vunbroadcast(part, a.shape[1:], 2)


def vdet_adjoint(g, z, a):
    """``det_adjoint`` of every example: ``g z inv(a)^T`` per row of ``g``."""
    g, z, a = np.asarray(g), np.asarray(z), np.asarray(a)
    if _vconst(g) and _vconst(z) and _vconst(a):
        return _vconst_result(det_adjoint, g, z, a)
    inverse_t = np.swapaxes(np.linalg.inv(a[:1] if _vconst(a) else a), -1, -2)[:, None]
    return (g * z[:, None])[..., None, None] * inverse_t
