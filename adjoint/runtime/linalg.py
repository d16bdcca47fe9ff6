"""Adjoint helpers of products and ``np.linalg``: matmul, einsum, solve,
inverse, determinants, decompositions, least squares.
"""
import math

import numpy as np

from .broadcasting import _shape, unbroadcast
from .indexing import batch_size, zeros_bar
from .jacobians import _IDENTITIES


# ----------------------------------------------------------- linear algebra

def matmul_adjoint_left(g, x, y):
    """Adjoint of ``x`` in ``x @ y`` (any NumPy matmul ranks, batched ``g``)."""
    if type(x) is np.ndarray and type(y) is np.ndarray:  # (np.ndim costs more than the attribute)
        x_nd, y_nd = x.ndim, y.ndim
    else:
        x_nd, y_nd = np.ndim(x), np.ndim(y)
    if x_nd == 2 and y_nd == 1:  # matrix @ vector, the common case: an outer product
        return np.einsum("bi,k->bik", g, y)  # einsum writes it twice as fast as broadcasting
    if x_nd == 2 and y_nd == 2:
        return g @ y.T
    if y_nd == 1:
        y = y[:, None]
        g = g[..., None]
    if x_nd == 1:
        g = np.expand_dims(g, -2)
    x_bar = np.matmul(g, np.swapaxes(y, -1, -2))
    if x_nd == 1:
        x_bar = x_bar[..., 0, :]
    return unbroadcast(x_bar, x)


def matmul_adjoint_right(g, x, y):
    """Adjoint of ``y`` in ``x @ y`` (any NumPy matmul ranks, batched ``g``)."""
    if type(x) is np.ndarray and type(y) is np.ndarray:  # (np.ndim costs more than the attribute)
        x_nd, y_nd = x.ndim, y.ndim
    else:
        x_nd, y_nd = np.ndim(x), np.ndim(y)
    if x_nd == 2 and y_nd == 1:  # matrix @ vector: rows of g times the matrix
        if _IDENTITIES.get(id(g)) is g and g.shape == (x.shape[0], x.shape[0]) and g.dtype == x.dtype:
            # the identity basis over the output (jacrev's rows): its product with the matrix
            # is the matrix, copied (the caller's array), when every value is finite (the sum
            # of squares is, one BLAS call: else 0 * inf makes NaN off the diagonal, which the
            # product keeps; a sum that overflows takes the product too)
            flat = x.ravel()
            if math.isfinite(flat @ flat):
                return x.copy()
        return g @ x
    if x_nd == 2 and y_nd == 2:
        return x.T @ g
    if y_nd == 1:  # first: g gets y's missing column axis, then x's missing row axis
        g = g[..., None]
    if x_nd == 1:
        x = x[None, :]
        g = np.expand_dims(g, -2)
    y_bar = np.matmul(np.swapaxes(x, -1, -2), g)
    if y_nd == 1:
        y_bar = y_bar[..., 0]
    return unbroadcast(y_bar, y)


def dot_adjoint_left(g, a, b):
    """Adjoint of ``a`` in ``np.dot(a, b)`` for every rank NumPy allows."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * b, a)
    a_pre = a_nd - 1
    # g axes: batch, a's leading axes, then b's axes without the contracted one.
    b_rest = [i for i in range(b_nd) if i != max(b_nd - 2, 0)]
    g_axes = list(range(1 + a_pre, g.ndim))
    return np.tensordot(g, b, axes=(g_axes, b_rest))


def dot_adjoint_right(g, a, b):
    """Adjoint of ``b`` in ``np.dot(a, b)`` for every rank NumPy allows."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * a, b)
    a_pre = a_nd - 1
    # result axes: batch, then b's axes without the contracted one, then k.
    b_bar = np.tensordot(g, a, axes=(list(range(1, 1 + a_pre)), list(range(a_pre))))
    if b_nd >= 2:
        b_bar = np.moveaxis(b_bar, -1, -2)
    return b_bar


def outer_adjoint_left(g, a, b):
    flat = np.reshape(g, g.shape[:1] + (np.size(a), np.size(b)))
    return np.reshape(flat @ np.ravel(b), g.shape[:1] + np.shape(a))


def outer_adjoint_right(g, a, b):
    flat = np.reshape(g, g.shape[:1] + (np.size(a), np.size(b)))
    return np.reshape(np.ravel(a) @ flat, g.shape[:1] + np.shape(b))


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum_explicit(subscripts, shapes):
    """``np.einsum`` subscripts with ``...`` spelled out in letters and the
    output made explicit: ``(input terms, output term, a free letter)``.

    Ellipses broadcast right-aligned as in NumPy; the implicit output is
    the ellipsis then the letters used once, in alphabetical order.
    """
    if not isinstance(subscripts, str):
        raise TypeError("the derivative of np.einsum takes its subscripts as a string "
                        "(not the interleaved operand, sublist form).")
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"np.einsum subscripts {subscripts!r} name {len(terms)} operands, got {len(shapes)}.")
    free = [c for c in _EINSUM_LETTERS if c not in subscripts]
    ranks = [len(shape) - len(term.replace("...", "")) for term, shape in zip(terms, shapes, strict=True)]
    width = max([r for r, term in zip(ranks, terms, strict=True) if "..." in term], default=0)
    if len(free) <= width:
        raise ValueError(f"np.einsum subscripts {subscripts!r} leave too few letters free for the derivative.")
    ellipsis = "".join(free[:width])
    spelled = [term.replace("...", ellipsis[width - rank:]) for term, rank in zip(terms, ranks, strict=True)]
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        letters = inputs.replace(",", "").replace(".", "")
        output = ellipsis + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return spelled, output, free[width]


def _tensordot_axes(a_ndim, b_ndim, axes):
    """The contracted axes of ``np.tensordot(a, b, axes)`` as two lists."""
    if isinstance(axes, (int, np.integer)):
        return list(range(a_ndim - axes, a_ndim)), list(range(axes))
    a_axes, b_axes = axes
    a_axes = [a_axes] if isinstance(a_axes, (int, np.integer)) else list(a_axes)
    b_axes = [b_axes] if isinstance(b_axes, (int, np.integer)) else list(b_axes)
    return [i % a_ndim for i in a_axes], [i % b_ndim for i in b_axes]


def tensordot_adjoint_left(g, a, b, axes=2):
    """Adjoint of ``a`` in ``np.tensordot(a, b, axes)``."""
    a_axes, b_axes = _tensordot_axes(np.ndim(a), np.ndim(b), axes)
    a_free = [i for i in range(np.ndim(a)) if i not in a_axes]
    b_free = [i for i in range(np.ndim(b)) if i not in b_axes]
    part = np.tensordot(g, b, axes=(list(range(1 + len(a_free), g.ndim)), b_free))
    # part: batch, a's free axes, then b's contracted axes in increasing order.
    order = a_free + [a_axes[b_axes.index(j)] for j in sorted(b_axes)]
    return np.transpose(part, (0,) + tuple(1 + int(i) for i in np.argsort(order)))


def tensordot_adjoint_right(g, a, b, axes=2):
    """Adjoint of ``b`` in ``np.tensordot(a, b, axes)``."""
    a_axes, b_axes = _tensordot_axes(np.ndim(a), np.ndim(b), axes)
    a_free = [i for i in range(np.ndim(a)) if i not in a_axes]
    b_free = [i for i in range(np.ndim(b)) if i not in b_axes]
    part = np.tensordot(g, a, axes=(list(range(1, 1 + len(a_free))), a_free))
    # part: batch, b's free axes, then a's contracted axes in increasing order.
    order = b_free + [b_axes[a_axes.index(i)] for i in sorted(a_axes)]
    return np.transpose(part, (0,) + tuple(1 + int(i) for i in np.argsort(order)))


def inv_adjoint(g, z):
    """Adjoint of ``z = np.linalg.inv(a)``: ``-z^T g z^T`` per matrix."""
    z_t = np.swapaxes(z, -1, -2)
    return -(z_t @ g @ z_t)


def _solve_reads_vectors(a, b):
    """Whether ``np.linalg.solve(a, b)`` reads ``b`` as vectors rather than
    columns: NumPy 2 when ``b`` is 1-d, NumPy 1 when ``b`` has one dimension
    fewer than ``a``."""
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        return np.ndim(b) == 1
    return np.ndim(b) == np.ndim(a) - 1


def solve_transposed(a, g, b):
    """``solve(a^T, g)`` for every batch row of ``g``: the adjoint of ``b`` in
    ``np.linalg.solve(a, b)`` before broadcast axes are summed (``b`` a
    vector or a stack of vectors, or else a stack of columns, as the
    installed NumPy reads it).

    ``a`` is inverted once and each row multiplied by the inverse on its own,
    so a row's result does not depend on how many rows the batch has (a
    solve with many right-hand sides rounds differently from one with one).
    """
    inverse_t = np.swapaxes(np.linalg.inv(a), -1, -2)
    if _solve_reads_vectors(a, b):
        return (inverse_t @ g[..., None])[..., 0]
    return inverse_t @ g


def solve_adjoint_matrix(b_bar, z, a, b):
    """Adjoint of ``a`` in ``z = np.linalg.solve(a, b)`` from ``b_bar``, the
    output of ``solve_transposed``: ``-b_bar z^T``."""
    if _solve_reads_vectors(a, b):
        return unbroadcast(-b_bar[..., :, None] * z[..., None, :], a)
    return unbroadcast(-(b_bar @ np.swapaxes(z, -1, -2)), a)


def det_adjoint(g, z, a):
    """Adjoint of ``z = np.linalg.det(a)``: ``g z inv(a)^T`` (so ``a`` must be
    invertible; NumPy raises LinAlgError for a singular one)."""
    return (g * z)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _triangle_read(full, upper=False):
    """The adjoint of a symmetric matrix function that reads one triangle of
    its input (LAPACK's cholesky and eigh do): ``full`` is the gradient for a
    symmetric perturbation; the entries off the read triangle get nothing,
    and each entry in it stands for itself and its mirror image."""
    folded = full + _mT(full)
    diagonal = np.einsum("...ii->...i", full)
    if upper:
        folded = np.triu(folded, 1)
    else:
        folded = np.tril(folded, -1)
    return folded + diagonal[..., None] * np.eye(full.shape[-1], dtype=full.dtype)


def cholesky_adjoint(g, z, upper=False):
    """Adjoint of ``z = np.linalg.cholesky(a)`` (``a = L L^T``, ``L`` lower; with
    ``upper=True``, ``z = L^T``).

    With ``Phi(X)`` the lower triangle of ``X`` with its diagonal halved, the
    gradient for a symmetric perturbation is the symmetric part of
    ``S = L^-T Phi(L^T Lbar) L^-1`` (Murray, 2016). NumPy reads only one
    triangle of ``a`` (the lower, or the upper with ``upper=True``), so
    ``_triangle_read`` gives the derivative of the function NumPy computes:
    for a symmetric input built from differentiated values it adds up to the
    symmetric gradient other libraries report."""
    if upper:
        z, g = _mT(z), _mT(g)
    phi = np.tril(_mT(z) @ g)
    phi = phi - 0.5 * np.einsum("...ii->...i", phi)[..., None] * np.eye(z.shape[-1], dtype=phi.dtype)
    inverse = np.linalg.inv(z)
    s = _mT(inverse) @ phi @ inverse
    return _triangle_read(0.5 * (s + _mT(s)), upper=upper)


def _result_bars(g, count, function, fix):
    """The cotangents of the ``count`` values a function returned as a tuple
    or list, None for those that got none. A list or tuple of another length
    means the adjoints of several uses were joined end to end instead of
    added (a tuple result indexed in more than one way), which is refused
    rather than answered wrongly."""
    if isinstance(g, np.ndarray):  # the values were read as one array
        return [g[:, i] for i in range(count)]
    if not isinstance(g, (tuple, list)) or len(g) != count:
        raise ValueError(
            f"the derivative of {function} got a cotangent of the wrong structure: its "
            f"result was used in several ways (e.g. both r[1] and r.{fix[0]}). Unpack the "
            f"result once ({fix[1]}) and use the names.")
    return list(g)


def slogdet_adjoint(g, a):
    """Adjoint of ``np.linalg.slogdet(a)``, a (sign, logabsdet) pair: the sign
    is piecewise constant (no derivative); ``logabsdet`` has slope
    ``inv(a)^T``, so ``a`` must be invertible."""
    _, g_logdet = _result_bars(g, 2, "np.linalg.slogdet", ("logabsdet", "sign, logdet = np.linalg.slogdet(a)"))
    if g_logdet is None:
        return zeros_bar(a, batch_size(g))
    return g_logdet[..., None, None] * _mT(np.linalg.inv(a))


def eigh_adjoint(g, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Adjoint of ``w, v = np.linalg.eigh(a)`` for a real symmetric ``a``.

    For a symmetric perturbation, ``abar = v (diag(wbar) + F * (v^T vbar)) v^T``
    with ``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal and 0 on it: the
    eigenvectors' derivative is infinite where eigenvalues repeat (a
    degenerate eigenspace has no unique basis), so their cotangent gives inf
    or nan there; the eigenvalues alone are fine. NumPy reads one triangle
    of ``a`` (``UPLO``), and the result is the derivative of that function
    (see ``_triangle_read``)."""
    g_w, g_v = _result_bars(g, 2, "np.linalg.eigh", ("eigenvalues", "w, v = np.linalg.eigh(a)"))
    w, v = z
    if g_w is None and g_v is None:
        return zeros_bar(v, batch_size(g))
    inner = 0.0
    if g_w is not None:
        inner = g_w[..., None, :] * np.eye(w.shape[-1], dtype=g_w.dtype)
    if g_v is not None:
        gaps = w[..., None, :] - w[..., :, None]
        off = ~np.eye(w.shape[-1], dtype=bool)
        with np.errstate(divide="ignore"):
            f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
        inner = inner + f * (_mT(v) @ g_v)
    full = v @ inner @ _mT(v)
    return _triangle_read(full, upper=UPLO.upper() == "U")


def pinv_adjoint(g, a, z):
    """Adjoint of ``z = np.linalg.pinv(a)`` where the rank of ``a`` does not
    change nearby (full rank, typically): from Golub and Pereyra's
    ``dz = -z da z + z z^T da^T (1 - a z) + (1 - z a) da^T z^T z``,
    ``abar = -z^T g z^T + (1 - a z) g^T z z^T + z^T z g^T (1 - z a)``."""
    z_t = _mT(z)
    g_t = _mT(g)
    left = np.eye(a.shape[-2], dtype=z.dtype) - a @ z
    right = np.eye(a.shape[-1], dtype=z.dtype) - z @ a
    return unbroadcast(-(z_t @ g @ z_t) + left @ g_t @ (z @ z_t) + (z_t @ z) @ g_t @ right, a)


def _chain_product(matrices, size):
    """The product of ``matrices`` (2-d), the identity of ``size`` if none."""
    if not matrices:
        return np.eye(size)
    if len(matrices) == 1:
        return matrices[0]
    return np.linalg.multi_dot(matrices)


def multi_dot_adjoint(g, arrays):
    """Adjoint of ``np.linalg.multi_dot(arrays)``: each matrix gets
    ``left^T g right^T``, with ``left`` and ``right`` the products of the
    matrices before and after it (a 1-d first array is a row, a 1-d last
    array a column, as NumPy reads them)."""
    shapes = [np.shape(x) for x in arrays]
    matrices = [np.asarray(x) for x in arrays]
    if matrices[0].ndim == 1:
        matrices[0] = matrices[0][None, :]
    if matrices[-1].ndim == 1:
        matrices[-1] = matrices[-1][:, None]
    g = np.reshape(g, g.shape[:1] + (matrices[0].shape[0], matrices[-1].shape[1]))
    bars = []
    for i, (matrix, shape) in enumerate(zip(matrices, shapes, strict=True)):
        left = _chain_product(matrices[:i], matrix.shape[0])
        right = _chain_product(matrices[i + 1:], matrix.shape[1])
        bars.append(np.reshape(left.T @ g @ right.T, g.shape[:1] + shape))
    return bars


def matrix_power_adjoint(g, a, n):
    """Adjoint of ``np.linalg.matrix_power(a, n)`` (stacks too): for ``n > 0``,
    ``sum_k (a^T)^k g (a^T)^(n-1-k)``; for ``n < 0`` the same for the power
    ``-n`` of ``m = inv(a)``, then through the inverse (``-m^T mbar m^T``);
    ``n = 0`` is the identity, which does not depend on ``a``."""
    if n == 0:
        return zeros_bar(a, g.shape[0])
    base = np.linalg.inv(a) if n < 0 else np.asarray(a)
    count = abs(n)
    powers = [np.broadcast_to(np.eye(base.shape[-1], dtype=base.dtype), base.shape)]
    base_t = _mT(base)
    for _ in range(count - 1):
        powers.append(powers[-1] @ base_t)
    bar = sum(powers[k] @ g @ powers[count - 1 - k] for k in range(count))
    if n < 0:
        bar = -(base_t @ bar @ base_t)
    return bar


def diag_adjoint(g, v, k=0):
    """Adjoint of ``np.diag(v, k)``: a 1-d ``v`` gets the ``k``-th diagonal of
    the cotangent; a 2-d ``v`` gets the cotangent on its ``k``-th diagonal."""
    if np.ndim(v) == 1:
        return np.diagonal(g, offset=k, axis1=1, axis2=2).copy()
    positions = np.arange(g.shape[1])
    v_bar = np.zeros(g.shape[:1] + _shape(v), dtype=g.dtype)
    v_bar[:, positions + max(-k, 0), positions + max(k, 0)] = g
    return v_bar


def _kron_blocks(g, a, b):
    """The cotangent of ``np.kron(a, b)`` with every axis split in two (``a``'s
    index, then ``b``'s), and ``a``, ``b`` with as many axes as the result."""
    a_shape, b_shape = _shape(a), _shape(b)
    ndim = max(len(a_shape), len(b_shape))
    a_full = (1,) * (ndim - len(a_shape)) + a_shape
    b_full = (1,) * (ndim - len(b_shape)) + b_shape
    split = tuple(n for pair in zip(a_full, b_full, strict=True) for n in pair)
    return np.reshape(g, g.shape[:1] + split), np.reshape(a, a_full), np.reshape(b, b_full)


def kron_adjoint_left(g, a, b):
    blocks, _, b_full = _kron_blocks(g, a, b)
    part = np.tensordot(blocks, b_full, axes=(list(range(2, blocks.ndim, 2)), list(range(b_full.ndim))))
    return np.reshape(part, g.shape[:1] + _shape(a))


def kron_adjoint_right(g, a, b):
    blocks, a_full, _ = _kron_blocks(g, a, b)
    part = np.tensordot(blocks, a_full, axes=(list(range(1, blocks.ndim, 2)), list(range(a_full.ndim))))
    return np.reshape(part, g.shape[:1] + _shape(b))


def inner_adjoint(g, a, b, wrt_b=False):
    """Adjoint of ``a`` (or ``b``) in ``np.inner(a, b)``: the product over the
    last axes, ``z[I, J] = sum_k a[I, k] b[J, k]`` (a 0-d argument multiplies)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        other = a if wrt_b else b
        return unbroadcast(g * other, b if wrt_b else a)
    k = a.shape[-1]
    a_rows = np.reshape(a, (-1, k))
    b_rows = np.reshape(b, (-1, k))
    g_rows = np.reshape(g, (g.shape[0], a_rows.shape[0], b_rows.shape[0]))
    if wrt_b:
        return np.reshape(np.swapaxes(g_rows, 1, 2) @ a_rows, g.shape[:1] + b.shape)
    return np.reshape(g_rows @ b_rows, g.shape[:1] + a.shape)


def vdot_adjoint(g, other, like):
    """Adjoint of one argument of ``np.vdot(a, b)`` for real arrays (the sum
    of the flattened products): the other argument times the cotangent."""
    return np.reshape(g, (-1,) + (1,) * len(_shape(like))) * np.reshape(other, _shape(like))


def eigvalsh_adjoint(g, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Adjoint of ``np.linalg.eigvalsh(a, UPLO)``: eigh's for the eigenvalues
    alone, ``v diag(wbar) v^T`` read back through the triangle NumPy reads."""
    return eigh_adjoint((g, None), np.linalg.eigh(a, UPLO=UPLO), UPLO=UPLO)


def singular_values_adjoint(g, a, compute_uv=True):
    """Adjoint of ``s = np.linalg.svd(a, compute_uv=False)``: ``u diag(sbar) vh``
    with the reduced factors (differentiable where the singular values are
    nonzero; repeated ones are fine). The factors' own derivative
    (``compute_uv=True``) is not implemented."""
    if compute_uv:
        raise ValueError(
            "the derivative of np.linalg.svd is implemented for the singular values alone: "
            "call np.linalg.svd(a, compute_uv=False), or np.linalg.svdvals(a).")
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return (u * g[..., None, :]) @ vh


def _transposed_solve(trans):
    """Whether scipy.linalg.solve_triangular's ``trans`` solves with a^T."""
    if trans in (0, "N", "n"):
        return False
    if trans in (1, 2, "T", "t", "C", "c"):
        return True
    raise ValueError(f"solve_triangular: trans={trans!r} is not one of 0, 1, 2, 'N', 'T', 'C'.")


def solved_triangle(a, lower=False, trans=0):
    """The matrix scipy.linalg.solve_triangular(a, b, trans, lower) solves
    with: the triangle of ``a`` it reads, transposed for ``trans`` 1 or 2
    (real arrays), on the last two axes (so tangents and adjoints with
    leading batch axes go through it as they are)."""
    part = np.tril(a) if lower else np.triu(a)
    return np.swapaxes(part, -1, -2) if _transposed_solve(trans) else part


def solved_triangle_adjoint(g, lower=False, trans=0):
    """Adjoint of ``solved_triangle(a, lower, trans)``: transposed back, then the
    triangle read (the other entries of ``a`` get nothing)."""
    if _transposed_solve(trans):
        g = np.swapaxes(g, -1, -2)
    return np.tril(g) if lower else np.triu(g)


def _svd_gaps(s):
    """``F[i, j] = 1 / (s_j^2 - s_i^2)`` off the diagonal, 0 on it (infinite
    where singular values repeat: the factors have no derivative there)."""
    k = s.shape[-1]
    squares = s[..., None, :] ** 2 - s[..., :, None] ** 2
    off = ~np.eye(k, dtype=bool)
    with np.errstate(divide="ignore"):
        return np.where(off, 1.0 / np.where(off, squares, 1.0), 0.0)


def _svd_factors_check(a, full_matrices, function="np.linalg.svd"):
    """Refuses the factors of a full SVD of a non-square ``a`` (an array, or
    its shape as a tuple: derivative code passes the shape, which carries no
    derivative, so that this call can itself be differentiated)."""
    shape = a if isinstance(a, tuple) else np.shape(a)
    if full_matrices and shape[-2] != shape[-1]:
        raise ValueError(
            f"the derivative of {function}'s factors is implemented for full_matrices=False (the "
            f"extra columns of a full {shape[-2]}x{shape[-1]} factorization are not unique): call "
            "np.linalg.svd(a, full_matrices=False).")


def svd_pullback(u, s, v, u_bar, s_bar, v_bar):
    """``abar`` from the cotangents of the reduced factors of ``a = u diag(s) v^T``
    (``u`` m x k, ``v`` n x k, k = min(m, n); cotangents with leading axes that
    broadcast against the factors'). With ``F[i, j] = 1 / (s_j^2 - s_i^2)``
    (Townsend, "Differentiating the singular value decomposition", 2016):
    ``abar = u (F * (u^T ubar - ubar^T u) S + diag(sbar) + S F * (v^T vbar - vbar^T v)) v^T
    + (1 - u u^T) ubar S^-1 v^T + u S^-1 vbar^T (1 - v v^T)``.
    Written with products, sums and quotients only, so that it is analytic in
    every argument (its tangent is taken by a complex step)."""
    f = _svd_gaps(s)
    s_row = s[..., None, :]
    u_t, v_t = _mT(u), _mT(v)
    inner = s_bar[..., None, :] * np.eye(s.shape[-1])
    inner = inner + (f * (u_t @ u_bar - _mT(u_bar) @ u)) * s_row
    inner = inner + s[..., :, None] * (f * (v_t @ v_bar - _mT(v_bar) @ v))
    result = u @ inner @ v_t
    result = result + (u_bar - u @ (u_t @ u_bar)) @ (v_t / s[..., :, None])
    result = result + (u / s_row) @ (_mT(v_bar) - (_mT(v_bar) @ v) @ v_t)
    return result


def svd_adjoint(g, a, z, full_matrices=True, compute_uv=True):
    """Adjoint of ``np.linalg.svd(a, full_matrices, compute_uv)``: of the
    singular values alone (``compute_uv=False``, see
    ``singular_values_adjoint``), or of the factors ``u, s, vh`` (reduced, or
    full of a square matrix: ``svd_pullback``), where the singular values are
    distinct and nonzero. Factors without a cotangent contribute nothing;
    with ``s`` alone the formula is ``u diag(sbar) vh``, fine at repeated values."""
    if not compute_uv:
        return singular_values_adjoint(g, a, compute_uv=False)
    _svd_factors_check(np.shape(a), full_matrices)
    u_bar, s_bar, vh_bar = _result_bars(g, 3, "np.linalg.svd", ("S", "u, s, vh = np.linalg.svd(a)"))
    u, s, vh = z
    if u_bar is None and vh_bar is None:
        if s_bar is None:
            return zeros_bar(a, batch_size(g))
        return (u * s_bar[..., None, :]) @ vh
    batch = batch_size(g)
    if u_bar is None:
        u_bar = np.zeros((batch,) + u.shape)
    if s_bar is None:
        s_bar = np.zeros((batch,) + s.shape)
    v_bar = np.zeros((batch,) + _mT(vh).shape) if vh_bar is None else _mT(vh_bar)
    return svd_pullback(u, s, _mT(vh), u_bar, s_bar, v_bar)


#: whether np.cov(m, rowvar=False) transposes a matrix of one row (NumPy 2
#: does: its variables are the columns; NumPy 1 keeps it one variable)
COV_TRANSPOSES_ONE_ROW = np.cov(np.zeros((1, 2)), rowvar=False, bias=True).shape == (2, 2)


def _cov_rows(m, rowvar):
    """``np.cov``'s observations matrix: one variable per row, and whether
    ``m`` was transposed to get it."""
    x = np.asarray(m, dtype=np.result_type(m, np.float64))
    if x.ndim < 2:  # (np.array(m, ndmin=2), written so that higher orders can differentiate it)
        x = np.reshape(x, (1, -1))
    transposed = not rowvar and np.ndim(m) != 1 and (x.shape[0] != 1 or COV_TRANSPOSES_ONE_ROW)
    return (x.T if transposed else x), transposed


def cov_adjoint(g, m, rowvar=True, bias=False, ddof=None):
    """Adjoint of ``C = np.cov(m, rowvar=rowvar, bias=bias, ddof=ddof)`` for one
    array ``m``: with ``X`` the centred observations (a variable per row) and
    ``f = N - ddof``, ``C = X X^T / f`` and ``mbar = (Cbar + Cbar^T) X / f``
    (the mean's derivative drops out: each row of ``X`` sums to zero)."""
    x, transposed = _cov_rows(m, rowvar)
    if ddof is None:
        ddof = 0 if bias else 1
    centred = x - np.mean(x, axis=1, keepdims=True)
    count = x.shape[0]
    c_bar = np.reshape(g, (g.shape[0], count, count))
    x_bar = ((c_bar + np.swapaxes(c_bar, 1, 2)) @ centred) / (x.shape[1] - ddof)
    if transposed:
        x_bar = np.swapaxes(x_bar, 1, 2)
    return np.reshape(x_bar, g.shape[:1] + _shape(m))


def corrcoef_adjoint(g, x, rowvar=True):
    """Adjoint of ``R = np.corrcoef(x, rowvar=rowvar)`` for one array: with
    ``C`` the covariance and ``s = sqrt(diag(C))``, ``R = C / (s s^T)``, so
    ``Cbar = Rbar / (s s^T) - diag(sum_j (Rbar + Rbar^T)[i, j] R[i, j]) / (2 s_i^2)``,
    then the covariance's adjoint (NumPy clips R to [-1, 1]: a perfect
    correlation has no derivative, and gets this formula's)."""
    c = np.atleast_2d(np.cov(x, rowvar=rowvar))
    s = np.sqrt(np.diagonal(c))
    outer = s[:, None] * s[None, :]
    r = c / outer
    r_bar = np.reshape(g, (g.shape[0],) + c.shape)
    sym = r_bar + np.swapaxes(r_bar, 1, 2)
    diagonal = -np.sum(sym * r, axis=2) / (2.0 * s * s)
    c_bar = r_bar / outer + diagonal[:, :, None] * np.eye(c.shape[0])
    return cov_adjoint(c_bar, x, rowvar=rowvar)


def lstsq_adjoint(g, a, b, wrt_b=False):
    """Adjoint of ``a`` (or ``b``) in ``x = np.linalg.lstsq(a, b)[0]`` where
    ``a`` has full rank (tall, square or wide): ``x = pinv(a) b``, so
    ``bbar = pinv(a)^T xbar`` and ``abar`` is pinv's adjoint for the
    cotangent ``xbar b^T``. The residuals, rank and singular values that
    lstsq also returns have no derivative here: a use of the residuals is
    refused."""
    bars = _result_bars(g, 4, "np.linalg.lstsq", ("residuals", "x, residuals, rank, sv = np.linalg.lstsq(a, b)"))
    x_bar = bars[0]
    if bars[1] is not None or bars[3] is not None:
        raise ValueError(
            "the derivative of np.linalg.lstsq is implemented for the solution x alone; its "
            "residuals and singular values were used. Compute them from x (np.sum((a @ x - b) ** 2, axis=0)).")
    like = b if wrt_b else a
    if x_bar is None:
        return zeros_bar(like, batch_size(g))
    a = np.asarray(a)
    b = np.asarray(b)
    inverse = np.linalg.pinv(a)
    if wrt_b:
        return _mT(inverse) @ x_bar if b.ndim == 2 else (x_bar @ inverse)
    if b.ndim == 1:
        p_bar = x_bar[:, :, None] * b[None, None, :]
    else:
        p_bar = x_bar @ b.T
    return pinv_adjoint(p_bar, a, inverse)


def qr_adjoint(g, a, z, mode="reduced"):
    """Adjoint of ``q, r = np.linalg.qr(a)`` (reduced, ``a`` square or tall with
    full column rank, stacks too), as in TensorFlow's QR gradient:
    ``abar = q (rbar + tril(q^T qbar - qbar^T q + r rbar^T - rbar r^T) r^-T)
    + (qbar - q q^T qbar) r^-T``."""
    if mode not in ("reduced", "r"):
        raise ValueError(f"the derivative of np.linalg.qr is implemented for mode='reduced' and "
                         f"mode='r' only, not {mode!r}.")
    a = np.asarray(a)
    if a.shape[-2] < a.shape[-1]:
        raise ValueError(
            "the derivative of np.linalg.qr is implemented for square or tall matrices "
            f"(rows >= columns); this one is {a.shape[-2]}x{a.shape[-1]}.")
    if mode == "r":  # R alone: the same R as the reduced mode's, whose q the formula needs
        q_bar, r_bar = None, g
        q, r = np.linalg.qr(a)
    else:
        q_bar, r_bar = _result_bars(g, 2, "np.linalg.qr", ("Q", "q, r = np.linalg.qr(a)"))
        q, r = z
    if q_bar is None and r_bar is None:
        return zeros_bar(a, batch_size(g))
    if q_bar is None:
        q_bar = np.zeros(r_bar.shape[:1] + q.shape, dtype=r_bar.dtype)
    if r_bar is None:
        r_bar = np.zeros(q_bar.shape[:1] + r.shape, dtype=q_bar.dtype)
    q_t = _mT(q)
    qdq = q_t @ q_bar
    rdr = r @ _mT(r_bar)
    lower = np.tril(qdq - _mT(qdq) + rdr - _mT(rdr))
    r_inverse_t = _mT(np.linalg.inv(r))
    return q @ (r_bar + lower @ r_inverse_t) + (q_bar - q @ qdq) @ r_inverse_t
