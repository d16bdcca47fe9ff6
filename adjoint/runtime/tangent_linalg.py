"""Tangent helpers of products and ``np.linalg`` (forward mode).
"""
import math

import numpy as np

from .broadcasting import _shape
from .reductions import _convolve_mode
from .linalg import (
    _cov_rows, _mT, _solve_reads_vectors, _svd_factors_check, _svd_gaps,
    _tensordot_axes, singular_values_adjoint,
)
from .indexing import add_bar, batch_size, rebuild_like, zeros_bar
from .tangent_shape import as_tangent


# ---- tangent helpers: linalg
# Tangents ``t`` carry a leading batch axis, ``(B,) + x.shape``; each helper
# returns the contribution ``(B,) + z.shape`` of one input to the tangent of
# ``z``. The products are bilinear, so their tangents are the product with
# the batched tangent in place of the input, its batch axis kept in front.

def _lead(t, ndim):
    """``t`` (batch axis first) with size-1 axes after the batch axis so that
    it has ``ndim`` axes besides the batch axis: the batch axis then stays in
    front when the primal shapes broadcast against other operands."""
    missing = ndim - (t.ndim - 1)
    if missing <= 0:
        return t
    return np.reshape(t, t.shape[:1] + (1,) * missing + t.shape[1:])


def _scaled_tangent(t, own, other):
    """``own * other`` along ``t``, the tangent of ``own``, when one of them is
    0-d (np.dot and np.inner multiply then)."""
    return _lead(t, np.ndim(other) + np.ndim(own)) * other if np.ndim(own) == 0 else t * other


def matmul_tangent_left(t, x1, x2):
    """Tangent of ``x1 @ x2`` along ``t``, the tangent of ``x1``: ``t @ x2`` per
    batch row, for every rank NumPy's matmul takes (a 1-d ``x1`` is a row, a
    1-d ``x2`` a column, stacks broadcast)."""
    t = as_tangent(t, x1)
    x2 = np.asarray(x2)
    x1_nd, x2_nd = np.ndim(x1), x2.ndim
    if x1_nd == 1:
        if x2_nd <= 2:  # (B, k) @ (k,) or (B, k) @ (k, m): one product
            return t @ x2
        row = np.reshape(t, t.shape[:1] + (1,) * (x2_nd - 1) + t.shape[-1:])
        return (row @ x2)[..., 0, :]
    if x2_nd == 1:  # (B, ..., n, k) @ (k,)
        return t @ x2
    if x2_nd == 2:  # every row of every matrix times x2: one product
        rows = np.reshape(t, (math.prod(t.shape[:-1]), t.shape[-1]))
        return np.reshape(rows @ x2, t.shape[:-1] + x2.shape[-1:])
    return _lead(t, x2_nd) @ x2


def matmul_tangent_right(t, x1, x2):
    """Tangent of ``x1 @ x2`` along ``t``, the tangent of ``x2``: ``x1 @ t`` per
    batch row, for every rank NumPy's matmul takes."""
    t = as_tangent(t, x2)
    x1 = np.asarray(x1)
    x1_nd, x2_nd = x1.ndim, np.ndim(x2)
    if x2_nd == 1:
        if x1_nd == 1:
            return t @ x1
        if x1_nd == 2:
            return t @ x1.T
        return np.tensordot(t, x1, axes=([1], [x1_nd - 1]))  # (B, ..., n)
    if x1_nd == 1:  # (k,) @ (B, ..., k, m)
        return x1 @ t
    return x1 @ _lead(t, x1_nd)


def dot_tangent_left(t, a, b):
    """Tangent of ``np.dot(a, b)`` along ``t``, the tangent of ``a``."""
    t = as_tangent(t, a)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _scaled_tangent(t, a, b)
    return np.dot(t, b)


def dot_tangent_right(t, a, b):
    """Tangent of ``np.dot(a, b)`` along ``t``, the tangent of ``b``."""
    t = as_tangent(t, b)
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return _scaled_tangent(t, b, a)
    if b_nd == 1:
        return t @ a if a_nd == 1 else np.tensordot(t, a, axes=([1], [a_nd - 1]))
    if a_nd <= 2 and b_nd == 2:  # np.dot is matmul here
        return np.asarray(a) @ t
    # np.dot(a, t): a's leading axes, then the batch axis and b's other axes
    return np.moveaxis(np.dot(a, t), a_nd - 1, 0)


def outer_tangent_left(t, a, b):
    """Tangent of ``np.outer(a, b)`` along ``t``, the tangent of ``a``."""
    t = as_tangent(t, a)
    return np.reshape(t, (t.shape[0], np.size(a), 1)) * np.ravel(b)


def outer_tangent_right(t, a, b):
    """Tangent of ``np.outer(a, b)`` along ``t``, the tangent of ``b``."""
    t = as_tangent(t, b)
    return np.ravel(a)[:, None] * np.reshape(t, (t.shape[0], 1, np.size(b)))


def inner_tangent(t, a, b, wrt_b=False):
    """Tangent of ``np.inner(a, b)`` along ``t``, the tangent of ``a`` (or of
    ``b``): the product over the last axes (a 0-d argument multiplies)."""
    t = as_tangent(t, b if wrt_b else a)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _scaled_tangent(t, b, a) if wrt_b else _scaled_tangent(t, a, b)
    if wrt_b:
        return np.moveaxis(np.inner(a, t), np.ndim(a) - 1, 0)
    return np.inner(t, b)


def vdot_tangent(t, own, other):
    """Tangent of ``np.vdot(a, b)`` (real arrays) along ``t``, the tangent of
    ``own``, one argument: the flattened tangent times the other argument."""
    t = as_tangent(t, own)
    return np.reshape(t, (t.shape[0], np.size(other))) @ np.ravel(other)


def tensordot_tangent_left(t, a, b, axes=2):
    """Tangent of ``np.tensordot(a, b, axes)`` along ``t``, the tangent of ``a``."""
    t = as_tangent(t, a)
    a_axes, b_axes = _tensordot_axes(np.ndim(a), np.ndim(b), axes)
    return np.tensordot(t, b, axes=([i + 1 for i in a_axes], b_axes))


def tensordot_tangent_right(t, a, b, axes=2):
    """Tangent of ``np.tensordot(a, b, axes)`` along ``t``, the tangent of ``b``."""
    t = as_tangent(t, b)
    a_axes, b_axes = _tensordot_axes(np.ndim(a), np.ndim(b), axes)
    part = np.tensordot(a, t, axes=(a_axes, [j + 1 for j in b_axes]))
    return np.moveaxis(part, np.ndim(a) - len(a_axes), 0)


def _kron_tangent(t, a, b, wrt_b):
    t = as_tangent(t, b if wrt_b else a)
    a_shape, b_shape = _shape(a), _shape(b)
    ndim = max(len(a_shape), len(b_shape))
    a_full = (1,) * (ndim - len(a_shape)) + a_shape
    b_full = (1,) * (ndim - len(b_shape)) + b_shape
    # every axis split in two, a's index then b's: (B, a0, b0, a1, b1, ...)
    a_split = tuple(n for size in a_full for n in (size, 1))
    b_split = tuple(n for size in b_full for n in (1, size))
    if wrt_b:
        product = np.reshape(a, a_split) * np.reshape(t, t.shape[:1] + b_split)
    else:
        product = np.reshape(t, t.shape[:1] + a_split) * np.reshape(b, b_split)
    return np.reshape(product, t.shape[:1] + tuple(p * q for p, q in zip(a_full, b_full, strict=True)))


def kron_tangent_left(t, a, b):
    """Tangent of ``np.kron(a, b)`` along ``t``, the tangent of ``a``."""
    return _kron_tangent(t, a, b, wrt_b=False)


def kron_tangent_right(t, a, b):
    """Tangent of ``np.kron(a, b)`` along ``t``, the tangent of ``b``."""
    return _kron_tangent(t, a, b, wrt_b=True)


def cross_tangent(t, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False):
    """Tangent of ``np.cross(a, b, ...)`` along ``t``, the tangent of ``a`` (or
    ``b``): the cross product with the batched tangent, whose axes (and the
    result's) are shifted past the batch axis."""
    if axis is not None:
        axisa = axisb = axisc = axis
    own, other = (b, a) if wrt_b else (a, b)
    t = as_tangent(t, own)
    pad = max(np.ndim(other) - np.ndim(own), 0)
    t = _lead(t, np.ndim(own) + pad)
    shifted = 1 + pad
    axisc = axisc + 1 if axisc >= 0 else axisc
    if wrt_b:
        return np.cross(a, t, axisa=axisa, axisb=axisb + shifted if axisb >= 0 else axisb, axisc=axisc)
    return np.cross(t, b, axisa=axisa + shifted if axisa >= 0 else axisa, axisb=axisb, axisc=axisc)


def diag_tangent(t, v, k=0):
    """Tangent of ``np.diag(v, k)`` along ``t``: a 1-d ``v`` puts the tangent on
    the ``k``-th diagonal; a 2-d ``v`` gives its ``k``-th diagonal."""
    t = as_tangent(t, v)
    if np.ndim(v) == 2:
        return np.diagonal(t, offset=k, axis1=1, axis2=2)
    count = t.shape[1]
    size = count + abs(k)
    result = np.zeros((t.shape[0], size, size), dtype=np.result_type(t, np.float64))
    positions = np.arange(count)
    result[:, positions + max(-k, 0), positions + max(k, 0)] = t
    return result


def diagflat_tangent(t, v, k=0):
    """Tangent of ``np.diagflat(v, k)``: the flattened tangent on the diagonal."""
    t = as_tangent(t, v)
    return diag_tangent(np.reshape(t, (t.shape[0], np.size(v))), np.ravel(v), k=k)


def _convolve_start(n, m, mode, correlate):
    """Where a convolution's ``mode`` cuts its output from the full one
    (see ``_convolve_full_cotangent``)."""
    mode = _convolve_mode(mode)
    if mode == "full":
        return 0
    short = min(n, m)
    if mode == "valid":
        return short - 1
    if correlate and n < m:
        return short // 2
    return (short - 1) // 2


def convolve_tangent(t, a, v, z, mode="full", wrt_v=False, correlate=False):
    """Tangent of ``z = np.convolve(a, v, mode)`` (``correlate=True``:
    ``np.correlate``, the convolution with ``v`` reversed) along ``t``, the
    tangent of ``a`` (or ``v``): the full convolution of each tangent row
    with the other argument, cut as the mode cuts ``z``."""
    a_flat, v_flat = np.ravel(a), np.ravel(v)
    n, m = a_flat.shape[0], v_flat.shape[0]
    rows = np.reshape(as_tangent(t, v if wrt_v else a), (batch_size(t), m if wrt_v else n))
    if wrt_v:
        rows, fixed = (rows[:, ::-1] if correlate else rows), a_flat
    else:
        fixed = v_flat[::-1] if correlate else v_flat
    width = fixed.shape[0]
    padded = np.pad(rows, ((0, 0), (width - 1, width - 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)
    full = windows @ fixed[::-1]  # full[:, k] = sum_i rows[:, i] fixed[k - i]
    start = _convolve_start(n, m, mode, correlate)
    return full[:, start:start + np.shape(z)[0]]


def correlate_tangent(t, a, v, z, mode="valid", wrt_v=False):
    """Tangent of ``np.correlate(a, v, mode)`` (real arrays), along the
    tangent of ``a`` (or ``v``); see ``convolve_tangent``."""
    return convolve_tangent(t, a, v, z, mode, wrt_v=wrt_v, correlate=True)


def inv_tangent(t, z):
    """Tangent of ``z = np.linalg.inv(a)``: ``-z t z`` per matrix."""
    t = as_tangent(t, z)
    return -(z @ t @ z)


def det_tangent(t, z, a):
    """Tangent of ``z = np.linalg.det(a)``: ``z tr(inv(a) t)`` (``a`` must be
    invertible, as for ``det_adjoint``)."""
    t = as_tangent(t, a)
    return z * np.einsum("...ji,b...ij->b...", np.linalg.inv(a), t)


def slogdet_tangent(t, z, a):
    """Tangent of ``np.linalg.slogdet(a)``: the sign is piecewise constant
    (None: no tangent); ``logabsdet`` moves by ``tr(inv(a) t)``."""
    t = as_tangent(t, a)
    return rebuild_like(z, [None, np.einsum("...ji,b...ij->b...", np.linalg.inv(a), t)])


def solve_tangent(t, inverse, a, b, z, wrt_a=False):
    """Tangent of ``z = np.linalg.solve(a, b)`` along ``t``, the tangent of
    ``b`` (or, ``wrt_a=True``, of ``a``): ``inverse @ t`` (or
    ``-inverse @ t @ z``) with ``inverse = inv(a)``, per batch row; ``b``
    read as vectors or as columns as the installed NumPy reads it."""
    t = as_tangent(t, a if wrt_a else b)
    if _solve_reads_vectors(a, b):
        column = (t @ z[..., None])[..., 0] if wrt_a else _lead(t, np.ndim(z))
        if inverse.ndim == 2:
            part = column @ inverse.T
        else:
            part = (inverse @ column[..., None])[..., 0]
    else:
        part = inverse @ (_lead(t, np.ndim(z)) @ z if wrt_a else _lead(t, np.ndim(z)))
    return -part if wrt_a else part


def _symmetric_read(t, upper=False):
    """The symmetric matrices that a function reading one triangle of its
    input (LAPACK's cholesky, eigh) sees, from the tangent of that input."""
    if upper:
        return np.triu(t) + _mT(np.triu(t, 1))
    return np.tril(t) + _mT(np.tril(t, -1))


def cholesky_tangent(t, z, upper=False):
    """Tangent of ``z = np.linalg.cholesky(a)`` (``a = L L^T``; ``z = L^T`` with
    ``upper=True``): ``L Phi(L^-1 dA L^-T)``, ``Phi`` the lower triangle with
    its diagonal halved, ``dA`` the symmetric matrix of the triangle NumPy
    reads (as ``cholesky_adjoint``)."""
    t = as_tangent(t, z)
    lower = _mT(z) if upper else z
    inverse = np.linalg.inv(lower)
    inner = inverse @ _symmetric_read(t, upper=upper) @ _mT(inverse)
    phi = np.tril(inner) - 0.5 * np.einsum("...ii->...i", inner)[..., None] * np.eye(z.shape[-1])
    part = lower @ phi
    return _mT(part) if upper else part


def eigh_tangent(t, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Tangent of ``w, v = np.linalg.eigh(a)`` for a real symmetric ``a``:
    ``dw = diag(v^T dA v)``, ``dv = v (F * (v^T dA v))`` with ``F[i, j] = 1 /
    (w[j] - w[i])`` off the diagonal, 0 on it (so repeated eigenvalues give
    inf or nan in ``dv`` only), ``dA`` read from NumPy's triangle."""
    w, v = z
    t = as_tangent(t, v)
    inner = _mT(v) @ _symmetric_read(t, upper=UPLO.upper() == "U") @ v
    w_dot = np.einsum("...ii->...i", inner).copy()
    gaps = w[..., None, :] - w[..., :, None]
    off = ~np.eye(w.shape[-1], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
        v_dot = v @ (f * inner)
    return rebuild_like(z, [w_dot, v_dot])


def eigvalsh_tangent(t, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Tangent of ``np.linalg.eigvalsh(a, UPLO)``: ``diag(v^T dA v)``."""
    _, v = np.linalg.eigh(a, UPLO=UPLO)
    return np.sum((_symmetric_read(t, upper=UPLO.upper() == "U") @ v) * v, axis=-2)


def pinv_tangent(t, a, z):
    """Tangent of ``z = np.linalg.pinv(a)`` where the rank of ``a`` does not
    change nearby: ``-z t z + z z^T t^T (1 - a z) + (1 - z a) t^T z^T z``
    (Golub and Pereyra)."""
    t = as_tangent(t, a)
    t_t = _mT(t)
    z_t = _mT(z)
    left = np.eye(np.shape(a)[-2], dtype=z.dtype) - a @ z
    right = np.eye(np.shape(a)[-1], dtype=z.dtype) - z @ a
    return -(z @ t @ z) + (z @ z_t) @ t_t @ left + right @ t_t @ (z_t @ z)


def multi_dot_tangent(t, arrays, z):
    """Tangent of ``z = np.linalg.multi_dot(arrays)`` along ``t``, the tangents
    of the arrays (None for a constant): ``left t_i right`` for each, with
    ``left`` and ``right`` the products before and after (a 1-d first array
    is a row, a 1-d last array a column)."""
    matrices = [np.asarray(x) for x in arrays]
    batch = batch_size(t)
    if isinstance(t, np.ndarray):  # the list was read as one array
        t = [t[:, i] for i in range(len(matrices))]
    if len(t) != len(matrices):
        raise ValueError("multi_dot_tangent: one tangent per array is needed.")
    # indexed loops (not zip): this helper is differentiated again at third order
    t = [None if t[i] is None else as_tangent(t[i], arrays[i], batch) for i in range(len(matrices))]
    if matrices[0].ndim == 1:
        matrices[0] = matrices[0][None, :]
    if matrices[-1].ndim == 1:
        matrices[-1] = matrices[-1][:, None]
    count = len(matrices)
    before = [None] * count  # before[i]: the product of matrices[:i]
    after = [None] * count  # after[i]: the product of matrices[i + 1:]
    for i in range(1, count):
        before[i] = matrices[0] if i == 1 else before[i - 1] @ matrices[i - 1]
    for i in range(count - 2, -1, -1):
        after[i] = matrices[-1] if i == count - 2 else matrices[i + 1] @ after[i + 1]
    total = None
    for i in range(count):  # (by index: higher orders differentiate this code)
        if t[i] is None:
            continue
        part = np.reshape(t[i], (batch,) + matrices[i].shape)
        if after[i] is not None:
            part = part @ after[i]
        if before[i] is not None:
            part = before[i] @ part
        total = part if total is None else total + part
    if total is None:
        return zeros_bar(z, batch)
    return np.reshape(total, (batch,) + np.shape(z))


def matrix_power_tangent(t, a, n):
    """Tangent of ``np.linalg.matrix_power(a, n)`` (stacks too):
    ``d(b^(j+1)) = d(b^j) b + b^j db`` from ``b = a`` (or, ``n < 0``,
    ``b = inv(a)``, ``db = -b t b``); 0 for ``n = 0``."""
    t = as_tangent(t, a)
    if n == 0:
        return np.zeros(t.shape, dtype=np.result_type(t, np.float64))
    base = np.asarray(a)
    step = t
    if n < 0:
        base = np.linalg.inv(base)
        step = -(base @ t @ base)
    power, tangent = base, step
    for _ in range(abs(n) - 1):
        tangent = tangent @ base + power @ step
        power = power @ base
    return tangent


def singular_values_tangent(t, a, compute_uv=True):
    """Tangent of ``s = np.linalg.svd(a, compute_uv=False)``: ``ds_k = u_k^T
    dA v_k`` with the reduced factors (see ``singular_values_adjoint``)."""
    t = as_tangent(t, a)
    if compute_uv:
        singular_values_adjoint(None, None, compute_uv=True)  # raises, with the message
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum((_mT(u) @ t) * vh, axis=-1)


def svd_tangent(t, a, z, full_matrices=True, compute_uv=True):
    """Tangent of ``np.linalg.svd(a, full_matrices, compute_uv)``: of the
    singular values alone (``singular_values_tangent``), or of the factors
    (distinct nonzero singular values): with ``dP = u^T dA v`` and
    ``F[i, j] = 1 / (s_j^2 - s_i^2)``, ``ds = diag(dP)``,
    ``du = u (F * (dP S + S dP^T)) + (1 - u u^T) dA v S^-1`` and
    ``dv = v (F * (S dP + dP^T S)) + (1 - v v^T) dA^T u S^-1``."""
    if not compute_uv:
        return singular_values_tangent(t, a, compute_uv=False)
    _svd_factors_check(np.shape(a), full_matrices)  # the shape: no differentiated value
    t = as_tangent(t, a)
    u, s, vh = z
    v = _mT(vh)
    f = _svd_gaps(s)
    d_p = _mT(u) @ t @ v
    s_row, s_col = s[..., None, :], s[..., :, None]
    d_s = np.diagonal(d_p, axis1=-2, axis2=-1)
    d_u = u @ (f * (d_p * s_row + s_col * _mT(d_p))) + (t @ v - u @ d_p) / s_row
    d_v = v @ (f * (s_col * d_p + _mT(d_p) * s_row)) + (_mT(t) @ u - v @ _mT(d_p)) / s_row
    return rebuild_like(z, [d_u, d_s, _mT(d_v)])


def frechet_block(a, e):
    """``[[a, e], [0, a]]`` on the last two axes (``a`` broadcast to the
    leading axes of ``e``): the exponential of this block has the Frechet
    derivative of the exponential at ``a`` along ``e`` in its upper right
    block (``frechet_corner``)."""
    a = np.broadcast_to(a, np.shape(e))
    n = a.shape[-1]
    block = np.zeros(a.shape[:-2] + (2 * n, 2 * n), dtype=np.result_type(a, e))
    block[..., :n, :n] = a
    block[..., n:, n:] = a
    block[..., :n, n:] = e
    return block


def frechet_corner(block):
    """The upper right quarter of ``block`` (see ``frechet_block``)."""
    n = block.shape[-1] // 2
    return block[..., :n, n:]


def cov_tangent(t, m, z, rowvar=True, bias=False, ddof=None):
    """Tangent of ``C = np.cov(m, rowvar=rowvar, bias=bias, ddof=ddof)`` for
    one array: with ``X`` the centred observations (a variable per row),
    ``dC = S + S^T``, ``S = dM X^T / f`` (the mean's tangent drops out: the
    rows of ``X`` sum to zero)."""
    t = as_tangent(t, m)
    x, transposed = _cov_rows(m, rowvar)
    if ddof is None:
        ddof = 0 if bias else 1
    centred = x - np.mean(x, axis=1, keepdims=True)
    rows = np.reshape(t, t.shape[:1] + (x.shape[::-1] if transposed else x.shape))
    if transposed:
        rows = np.swapaxes(rows, 1, 2)
    s = (rows @ centred.T) / (x.shape[1] - ddof)
    return np.reshape(s + np.swapaxes(s, 1, 2), t.shape[:1] + np.shape(z))


def corrcoef_tangent(t, x, z, rowvar=True):
    """Tangent of ``R = np.corrcoef(x, rowvar=rowvar)`` for one array: with
    ``C`` the covariance and ``s = sqrt(diag(C))``,
    ``dR = dC / (s s^T) - R (d_i + d_j)``, ``d_i = dC_ii / (2 s_i^2)``."""
    t = as_tangent(t, x)
    c = np.atleast_2d(np.cov(x, rowvar=rowvar))
    s = np.sqrt(np.diagonal(c))
    outer = s[:, None] * s[None, :]
    c_dot = cov_tangent(t, x, c, rowvar=rowvar)
    d = np.diagonal(c_dot, axis1=1, axis2=2) / (2.0 * s * s)
    r_dot = c_dot / outer - (c / outer) * (d[:, :, None] + d[:, None, :])
    return np.reshape(r_dot, t.shape[:1] + np.shape(z))


class ItemwiseTangent(tuple):
    """One input's contribution to the tangent of a tuple result (lstsq with
    both arguments differentiated). The transformer adds contributions with
    ``+``: two contributions of the same call add item by item (None is
    zero); with anything else ``+`` joins tuples, as for a plain tuple."""

    def __add__(self, other):
        call = getattr(self, "call", None)
        if (type(other) is ItemwiseTangent and other is not self and call is not None
                and getattr(other, "call", None) is call and len(other) == len(self)):
            return rebuild_like(call, [add_bar(x, y) for x, y in zip(self, other, strict=True)])
        return tuple.__add__(self, other)


def _itemwise(items, result):
    tangent = ItemwiseTangent(items)
    tangent.call = result
    return tangent


def lstsq_tangent(t, a, b, z, wrt_b=False):
    """Tangent of ``x, residuals, rank, sv = np.linalg.lstsq(a, b)`` along
    ``t``, the tangent of ``a`` (or ``b``), ``a`` of full rank: ``x = P b``
    with ``P = pinv(a)``, so ``dx = P db``, or ``dP b`` (Golub and Pereyra)
    for ``da``; the residuals ``sum(r^2)``, ``r = b - a x``, move by
    ``2 sum(r (db - da x))`` (``a^T r = 0``); ``sv`` by ``u_k^T da v_k``;
    the rank has no tangent."""
    x, residuals, _, _ = z
    t = as_tangent(t, b if wrt_b else a)
    a = np.asarray(a)
    b = np.asarray(b)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    inverse = _mT(vh) @ (_mT(u) / s[:, None])
    column = b.ndim == 1
    xs = x[:, None] if column else x
    r = (b[:, None] if column else b) - a @ xs
    if wrt_b:
        db = t[..., None] if column else t
        x_dot = inverse @ db
        change = db
        sv_dot = None
    else:
        t_t = _mT(t)
        change = -(t @ xs)
        x_dot = (inverse @ change + (inverse @ inverse.T) @ (t_t @ r)
                 + (np.eye(a.shape[1]) - inverse @ a) @ (t_t @ (inverse.T @ xs)))
        sv_dot = np.sum((u.T @ t) * vh, axis=-1)
    if np.size(residuals):
        residuals_dot = np.reshape(2.0 * np.sum(r * change, axis=-2), t.shape[:1] + np.shape(residuals))
    else:
        residuals_dot = np.zeros(t.shape[:1] + np.shape(residuals))
    # a plain tuple (np.linalg.lstsq is a TUPLE_RESULT: the transformer adds the two
    # contributions item by item), so that forward mode can differentiate this code again
    return (np.reshape(x_dot, t.shape[:1] + x.shape), residuals_dot, None, sv_dot)


def qr_tangent(t, a, z, mode="reduced"):
    """Tangent of ``q, r = np.linalg.qr(a)`` (reduced, ``a`` square or tall of
    full column rank, stacks too): with ``C = q^T dA r^-1`` and ``W`` its
    strictly lower part, ``dr = (C - W + W^T) r`` and
    ``dq = dA r^-1 - q (C - W + W^T)``."""
    t = as_tangent(t, a)
    if mode not in ("reduced", "r"):
        raise ValueError(f"the derivative of np.linalg.qr is implemented for mode='reduced' and "
                         f"mode='r' only, not {mode!r}.")
    if np.shape(a)[-2] < np.shape(a)[-1]:
        raise ValueError(
            "the derivative of np.linalg.qr is implemented for square or tall matrices "
            f"(rows >= columns); this one is {np.shape(a)[-2]}x{np.shape(a)[-1]}.")
    q, r = np.linalg.qr(a) if mode == "r" else z  # (mode='r': R alone, the reduced mode's R)
    moved = t @ np.linalg.inv(r)
    c = _mT(q) @ moved
    lower = np.tril(c, -1)
    upper = c - lower + _mT(lower)
    if mode == "r":
        return upper @ r
    return rebuild_like(z, [moved - q @ upper, upper @ r])
