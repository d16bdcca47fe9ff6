"""Tangents of the backward helpers of arrays and linear algebra
(``rules/runtime_arrays.py``): forward mode over generated backward code,
as ``jacfwd(jacrev(f))`` runs it.
"""
import numpy as np

from .broadcasting import _broadcast, _shape, unbroadcast
from .reductions import _convolve_full_cotangent
from .linalg import (
    _EINSUM_LETTERS, _cov_rows, _kron_blocks, _mT, _result_bars, _tensordot_axes,
    _triangle_read, cov_adjoint, einsum_explicit, pinv_adjoint, solve_transposed, svd_pullback,
)
from .indexing import batch_size, rebuild_like
from .tangents import merged
from .tangent_shape import as_tangent


# ---- tangents of backward helpers: runtime_arrays
# Forward mode over generated backward code (jacfwd(jacrev(f))): an adjoint
# ``g`` there is ``(B,) + x.shape`` and its tangent ``(T, B) + x.shape``; the
# tangent of a primal argument is ``(T,) + shape``. Each helper below returns
# one contribution ``(T, B) + result.shape`` to the tangent of a backward
# helper's result: ``..._tangent(t, <the helper's arguments>)`` is the
# contribution of the argument whose tangent is ``t``.

def _ra_map(function, tree):
    """``function`` applied to every array leaf of a list / tuple tree (None kept)."""
    if tree is None:
        return None
    if isinstance(tree, (list, tuple)):
        return rebuild_like(tree, [_ra_map(function, item) for item in tree])
    return function(np.asarray(tree))


def _ra_leading(tree):
    """The two leading axes ``(T, B)`` of the first array leaf of ``tree``."""
    if tree is None:
        return None
    if isinstance(tree, (list, tuple)):
        for item in tree:
            lead = _ra_leading(item)
            if lead is not None:
                return lead
        return None
    return np.shape(tree)[:2]


def merged_tree(helper, t, *args, **kwargs):
    """``merged`` for helpers whose adjoint argument or result is a list or
    tuple of adjoints with None holes (a tuple result's cotangent, the
    pieces of a split): every array leaf of the tangent ``t`` has its two
    leading axes ``(T, B)`` merged before the call, and every array leaf of
    the result has them split again."""
    if isinstance(t, (list, tuple)):  # zero tangents of holes may come as (T,) zeros: holes again
        t = _ra_map(lambda a: a if a.ndim >= 2 else None, t)
    lead = _ra_leading(t)
    if lead is None:
        return None
    result = helper(_ra_map(lambda a: np.reshape(a, (-1,) + a.shape[2:]), t), *args, **kwargs)
    return _ra_map(lambda a: np.reshape(a, tuple(lead) + a.shape[1:]), result)


def _ra_over(t, ndim):
    """A primal tangent ``(T,) + shape`` as ``(T, 1) + shape``, with size-1
    axes after those two so that ``shape`` has ``ndim`` axes: it then
    broadcasts against adjoints ``(1, B) + ...`` of results with ``ndim`` axes."""
    missing = max(ndim - (t.ndim - 1), 0)
    return np.reshape(t, t.shape[:1] + (1,) * (1 + missing) + t.shape[1:])


def _ra_unbroadcast(r, x):
    """``unbroadcast`` of a contribution with two leading axes ``(T, B)``."""
    lead = r.shape[:2]
    summed = unbroadcast(np.reshape(r, (-1,) + r.shape[2:]), x)
    return np.reshape(summed, lead + _shape(x))


def _ra_zeros(t, g, like):
    """A zero contribution ``(T, B) + like.shape``."""
    dtype = np.result_type(np.asarray(t).dtype if t is not None else np.float64, np.float64)
    return np.zeros((np.shape(t)[0], batch_size(g)) + _shape(like), dtype=dtype)


def _ra_einsum_pair(t, g, subscripts, operands, position, wrt):
    """``einsum_adjoint(g, subscripts, operands, position)`` with
    ``operands[wrt]`` replaced by each row of its tangent ``t``:
    ``(T, B) + operands[position].shape``."""
    operands = [np.asarray(o) for o in operands]
    terms, output, batch = einsum_explicit(subscripts, [o.shape for o in operands])
    used = set("".join(terms)) | set(output) | {batch}
    lead = next(c for c in _EINSUM_LETTERS if c not in used)
    term, x = terms[position], operands[position]
    distinct = "".join(dict.fromkeys(term))
    specs, arrays = [], []
    for i in range(len(terms)):  # by index: this code is differentiated again
        if i == position:
            continue
        specs.append(lead + terms[i] if i == wrt else terms[i])
        arrays.append(t if i == wrt else operands[i])
    reached = set(output).union(*(set(s) for i, s in enumerate(terms) if i != position))
    present = "".join(c for c in distinct if c in reached)
    spec = ",".join([batch + output] + specs) + "->" + lead + batch + present
    part = np.einsum(spec, g, *arrays, optimize="greedy")
    pair = part.shape[:2]
    part = np.reshape(part, pair + tuple(
        part.shape[2 + present.index(c)] if c in present else 1 for c in distinct))
    sizes = dict(zip(term, x.shape, strict=True))
    summed = tuple(i + 2 for i, c in enumerate(distinct) if sizes[c] == 1 and part.shape[i + 2] != 1)
    if summed:
        part = part.sum(axis=summed, keepdims=True)
    if distinct == term:
        return _broadcast(part, pair + x.shape)
    # x's repeated letters: part on the diagonal, 0 elsewhere. Gathered and
    # masked rather than written through a diagonal view, so that this code
    # can be differentiated again (a third derivative).
    part = _broadcast(part, pair + tuple(sizes[c] for c in distinct))
    index, on_diagonal = _diagonal_gather(term, distinct, x.shape)
    return part[index] * on_diagonal


def _diagonal_gather(term, distinct, shape):
    """For an einsum operand with repeated letters (``term``, e.g. ``"ii"``,
    of ``shape``) and an array ``p`` of shape ``pair + (sizes of distinct)``:
    the index such that ``p[index]`` has shape ``pair + shape``, reading the
    distinct letters' positions, and the 0/1 mask of the diagonal (every
    repeat of a letter at the same position)."""
    grids = np.indices(shape)
    first = {c: term.index(c) for c in distinct}
    index = (slice(None), slice(None)) + tuple(grids[first[c]] for c in distinct)
    on_diagonal = np.ones(shape, dtype=bool)
    for i, c in enumerate(term):
        on_diagonal = on_diagonal & (grids[i] == grids[first[c]])
    return index, on_diagonal.astype(float)


def _ra_matmul_subscripts(x_nd, y_nd):
    if x_nd == 1 and y_nd == 1:
        return "j,j->"
    if x_nd == 1:
        return "j,...jk->...k"
    if y_nd == 1:
        return "...ij,j->...i"
    return "...ij,...jk->...ik"


def matmul_adjoint_left_tangent(t, g, x, y):
    """Tangent of ``matmul_adjoint_left(g, x, y)`` (``g y^T``) from the
    tangent ``t`` of ``y``."""
    return _ra_einsum_pair(t, g, _ra_matmul_subscripts(np.ndim(x), np.ndim(y)), [x, y], 0, 1)


def matmul_adjoint_right_tangent(t, g, x, y):
    """Tangent of ``matmul_adjoint_right(g, x, y)`` (``x^T g``) from the
    tangent ``t`` of ``x``."""
    return _ra_einsum_pair(t, g, _ra_matmul_subscripts(np.ndim(x), np.ndim(y)), [x, y], 1, 0)


def _ra_scaled(t, g, like):
    """``unbroadcast(g * other, like)`` with ``other`` replaced by each row
    of its tangent ``t`` (the products of a 0-d operand)."""
    return _ra_unbroadcast(g[None] * _ra_over(t, g.ndim - 1), like)


def _ra_dot_subscripts(a_nd, b_nd):
    letters = "abcdefghijklmnopqrstuvw"
    pre = letters[:a_nd - 1]
    if b_nd == 1:
        return f"{pre}K,K->{pre}"
    rest = letters[a_nd - 1:a_nd - 1 + b_nd - 1]
    return f"{pre}K,{rest[:-1]}K{rest[-1]}->{pre}{rest}"


def dot_adjoint_left_tangent(t, g, a, b):
    """Tangent of ``dot_adjoint_left(g, a, b)`` from the tangent ``t`` of ``b``."""
    t = as_tangent(t, b)  # (b a list NumPy reads as an array: its items' tangents)
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return _ra_scaled(t, g, a)
    return _ra_einsum_pair(t, g, _ra_dot_subscripts(a_nd, b_nd), [a, b], 0, 1)


def dot_adjoint_right_tangent(t, g, a, b):
    """Tangent of ``dot_adjoint_right(g, a, b)`` from the tangent ``t`` of ``a``."""
    t = as_tangent(t, a)  # (a a list NumPy reads as an array: its items' tangents)
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return _ra_scaled(t, g, b)
    return _ra_einsum_pair(t, g, _ra_dot_subscripts(a_nd, b_nd), [a, b], 1, 0)


def outer_adjoint_left_tangent(t, g, a, b):
    """Tangent of ``outer_adjoint_left(g, a, b)`` from the tangent ``t`` of ``b``."""
    flat = np.reshape(g, g.shape[:1] + (np.size(a), np.size(b)))
    rows = np.reshape(t, (t.shape[0], np.size(b)))
    return np.reshape(np.einsum("bij,tj->tbi", flat, rows), (t.shape[0],) + g.shape[:1] + _shape(a))


def outer_adjoint_right_tangent(t, g, a, b):
    """Tangent of ``outer_adjoint_right(g, a, b)`` from the tangent ``t`` of ``a``."""
    flat = np.reshape(g, g.shape[:1] + (np.size(a), np.size(b)))
    rows = np.reshape(t, (t.shape[0], np.size(a)))
    return np.reshape(np.einsum("bij,ti->tbj", flat, rows), (t.shape[0],) + g.shape[:1] + _shape(b))


def _ra_tensordot_subscripts(a_nd, b_nd, axes):
    a_axes, b_axes = _tensordot_axes(a_nd, b_nd, axes)
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    a_term = [next(letters) for _ in range(a_nd)]
    b_term = [a_term[a_axes[b_axes.index(j)]] if j in b_axes else next(letters) for j in range(b_nd)]
    output = [c for i, c in enumerate(a_term) if i not in a_axes] + \
        [c for j, c in enumerate(b_term) if j not in b_axes]
    return "".join(a_term) + "," + "".join(b_term) + "->" + "".join(output)


def tensordot_adjoint_left_tangent(t, g, a, b, axes=2):
    """Tangent of ``tensordot_adjoint_left(g, a, b, axes)`` from the tangent ``t`` of ``b``."""
    return _ra_einsum_pair(t, g, _ra_tensordot_subscripts(np.ndim(a), np.ndim(b), axes), [a, b], 0, 1)


def tensordot_adjoint_right_tangent(t, g, a, b, axes=2):
    """Tangent of ``tensordot_adjoint_right(g, a, b, axes)`` from the tangent ``t`` of ``a``."""
    return _ra_einsum_pair(t, g, _ra_tensordot_subscripts(np.ndim(a), np.ndim(b), axes), [a, b], 1, 0)


def inner_adjoint_tangent(t, g, a, b, wrt_b=False, of_b=False):
    """Tangent of ``inner_adjoint(g, a, b, wrt_b)`` from the tangent ``t`` of
    ``b`` (``of_b=True``) or of ``a``: the adjoint of one argument is linear
    in the other and reads its own only for the shape."""
    like = b if wrt_b else a
    if of_b == wrt_b:
        return _ra_zeros(t, g, like)
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return _ra_scaled(t, g, like)
    letters = "abcdefghijklmnopqrstuvw"
    pre_a, pre_b = letters[:a_nd - 1], letters[a_nd - 1:a_nd + b_nd - 2]
    subscripts = f"{pre_a}K,{pre_b}K->{pre_a}{pre_b}"
    if wrt_b:
        return _ra_einsum_pair(t, g, subscripts, [a, b], 1, 0)
    return _ra_einsum_pair(t, g, subscripts, [a, b], 0, 1)


def vdot_adjoint_tangent(t, g, other, like):
    """Tangent of ``vdot_adjoint(g, other, like)`` from the tangent ``t`` of ``other``."""
    shape = _shape(like)
    return np.reshape(g, (1, -1) + (1,) * len(shape)) * np.reshape(t, (t.shape[0], 1) + shape)


def _ra_kron_labels(a, b):
    ndim = max(np.ndim(a), np.ndim(b))
    a_labels = [1 + 2 * i for i in range(ndim)]
    b_labels = [2 + 2 * i for i in range(ndim)]
    return ndim, a_labels, b_labels


def _ra_kron_subscripts(a_labels, b_labels, rows, out):
    """The einsum subscripts (a string: the interleaved list form has no
    derivative rule, and these helpers are differentiated again) that
    contract the blocks of ``g`` (batch label 0, then a and b labels paired)
    with ``rows`` into ``out``."""
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = letters[0]
    for i in range(len(a_labels)):
        text = text + letters[a_labels[i]] + letters[b_labels[i]]
    text = text + ","
    for n in rows:
        text = text + letters[n]
    text = text + "->"
    for n in out:
        text = text + letters[n]
    return text


def kron_adjoint_left_tangent(t, g, a, b):
    """Tangent of ``kron_adjoint_left(g, a, b)`` from the tangent ``t`` of ``b``."""
    blocks, _, b_full = _kron_blocks(g, a, b)
    ndim, a_labels, b_labels = _ra_kron_labels(a, b)
    rows = np.reshape(t, t.shape[:1] + b_full.shape)
    lead = 2 * ndim + 1
    subscripts = _ra_kron_subscripts(a_labels, b_labels, [lead] + b_labels, [lead, 0] + a_labels)
    part = np.einsum(subscripts, blocks, rows, optimize="greedy")
    return np.reshape(part, part.shape[:2] + _shape(a))


def kron_adjoint_right_tangent(t, g, a, b):
    """Tangent of ``kron_adjoint_right(g, a, b)`` from the tangent ``t`` of ``a``."""
    blocks, a_full, _ = _kron_blocks(g, a, b)
    ndim, a_labels, b_labels = _ra_kron_labels(a, b)
    rows = np.reshape(t, t.shape[:1] + a_full.shape)
    lead = 2 * ndim + 1
    subscripts = _ra_kron_subscripts(a_labels, b_labels, [lead] + a_labels, [lead, 0] + b_labels)
    part = np.einsum(subscripts, blocks, rows, optimize="greedy")
    return np.reshape(part, part.shape[:2] + _shape(b))


def cross_adjoint_tangent(t, g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False, of_b=False):
    """Tangent of ``cross_adjoint(g, a, b, ..., wrt_b)`` from the tangent
    ``t`` of ``b`` (``of_b=True``) or of ``a``: ``abar = b x cbar`` is linear
    in ``b``, ``bbar = cbar x a`` in ``a``; each reads its own operand only
    for the shape."""
    if axis is not None:
        axisa = axisb = axisc = axis
    # (two statements: an axis packed in one tuple with an operand would count as differentiated)
    own = b if wrt_b else a
    own_axis = axisb if wrt_b else axisa
    if of_b == wrt_b:
        return _ra_zeros(t, g, own)
    own_moved = np.moveaxis(np.asarray(own), own_axis, -1)
    t_axis = (axisa if wrt_b else axisb) % (t.ndim - 1) + 1
    g_moved = np.moveaxis(g, axisc % (g.ndim - 1) + 1, -1)
    t_moved = _ra_over(np.moveaxis(t, t_axis, -1), g_moved.ndim - 1)
    bar = np.cross(g_moved[None], t_moved) if wrt_b else np.cross(t_moved, g_moved[None])
    return np.moveaxis(_ra_unbroadcast(bar, own_moved), -1, own_axis % own_moved.ndim + 2)


def inv_adjoint_tangent(t, g, z):
    """Tangent of ``inv_adjoint(g, z) = -z^T g z^T`` from the tangent ``t`` of ``z``."""
    z_t = _mT(z)
    t_t = _mT(t)[:, None]
    return -(t_t @ g[None] @ z_t + z_t @ g[None] @ t_t)


def solve_transposed_tangent(t, a, g, b):
    """Tangent of ``r = solve_transposed(a, g, b) = inv(a)^T g`` from the
    tangent ``t`` of ``a``: ``-inv(a)^T t^T r``."""
    inverse_t = np.swapaxes(np.linalg.inv(a), -1, -2)
    r = solve_transposed(a, g, b)
    if np.ndim(b) == 1:
        r = r[..., None]
    t_t = _ra_over(_mT(t), r.ndim - 1)
    result = -(inverse_t @ (t_t @ r[None]))
    return result[..., 0] if np.ndim(b) == 1 else result


def solve_adjoint_matrix_tangent(t, b_bar, z, a, b):
    """Tangent of ``solve_adjoint_matrix(b_bar, z, a, b) = -b_bar z^T`` from
    the tangent ``t`` of ``z``."""
    if np.ndim(b) == 1:
        return _ra_unbroadcast(-b_bar[None, ..., :, None] * t[:, None, ..., None, :], a)
    return _ra_unbroadcast(-(b_bar[None] @ _mT(t)[:, None]), a)


def _ra_inverse_tangent_t(t, a):
    """``d(inv(a)^T)`` along each row of ``t``: ``-inv(a)^T t^T inv(a)^T``, ``(T,) + a.shape``."""
    inverse_t = _mT(np.linalg.inv(a))
    return -(inverse_t @ _mT(t) @ inverse_t)


def det_adjoint_tangent(t, g, z, a, of_a=False):
    """Tangent of ``det_adjoint(g, z, a) = g z inv(a)^T`` from the tangent
    ``t`` of ``z``, or of ``a`` (``of_a=True``)."""
    if of_a:
        return (g * z)[None, ..., None, None] * _ra_inverse_tangent_t(t, a)[:, None]
    return (g[None] * t[:, None])[..., None, None] * _mT(np.linalg.inv(a))


def slogdet_adjoint_tangent(t, g, a):
    """Tangent of ``slogdet_adjoint(g, a)`` from the tangent ``t`` of ``a``."""
    _, g_logdet = _result_bars(g, 2, "np.linalg.slogdet", ("logabsdet", "sign, logdet = np.linalg.slogdet(a)"))
    if g_logdet is None:
        return _ra_zeros(t, g, a)
    return g_logdet[None, ..., None, None] * _ra_inverse_tangent_t(t, a)[:, None]


def _ra_phi(x):
    """The lower triangle of ``x`` with its diagonal halved (last two axes)."""
    lower = np.tril(x)
    return lower - 0.5 * np.einsum("...ii->...i", lower)[..., None] * np.eye(x.shape[-1], dtype=lower.dtype)


def cholesky_adjoint_tangent(t, g, z, upper=False):
    """Tangent of ``cholesky_adjoint(g, z, upper)`` from the tangent ``t`` of
    ``z`` (the product rule through ``phi = Phi(L^T g)`` and ``L^-1``)."""
    if upper:
        z, g, t = _mT(z), _mT(g), _mT(t)
    # ``g`` is ``(B,) + z.shape``; in vmap's code ``z`` is
    # ``vprimal_matrices``' ``(V, 1) + shape`` and ``g`` ``(V, B) + shape``
    # (its batch axis already among z's): then ``t`` gets no axis for it
    extra = np.ndim(g) - np.ndim(z)
    g = g[None]
    t = np.reshape(t, np.shape(t)[:1] + (1,) * extra + np.shape(t)[1:])
    phi = _ra_phi(_mT(z) @ g)
    d_phi = _ra_phi(_mT(t) @ g)
    inverse = np.linalg.inv(z)
    d_inverse = -(inverse @ t @ inverse)
    d_s = _mT(d_inverse) @ phi @ inverse + _mT(inverse) @ d_phi @ inverse + _mT(inverse) @ phi @ d_inverse
    return _triangle_read(0.5 * (d_s + _mT(d_s)), upper=upper)


def _ra_pair_items(t, count):
    """The items of a pair's tangent (None for a missing one)."""
    if t is None:
        return [None] * count
    if isinstance(t, np.ndarray):
        return [t[:, i] for i in range(count)]
    return list(t)


def eigh_adjoint_tangent(t, g, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Tangent of ``eigh_adjoint(g, z, UPLO)`` from the tangent ``t = (dw, dv)``
    of ``z = (w, v)``: the product rule through
    ``v (diag(wbar) + F * (v^T vbar)) v^T``, with ``dF = -F^2 (dw_j - dw_i)``."""
    g_w, g_v = _result_bars(g, 2, "np.linalg.eigh", ("eigenvalues", "w, v = np.linalg.eigh(a)"))
    w, v = z
    t_w, t_v = _ra_pair_items(t, 2)
    lead = t_w if t_w is not None else t_v
    if (g_w is None and g_v is None) or (t_v is None and (t_w is None or g_v is None)):
        return _ra_zeros(lead, g, v)
    n = w.shape[-1]
    eye = np.eye(n)
    gaps = w[..., None, :] - w[..., :, None]
    off = ~np.eye(n, dtype=bool)
    with np.errstate(divide="ignore"):
        f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
    inner = 0.0
    if g_w is not None:
        inner = g_w[None, ..., None, :] * eye
    d_inner = 0.0
    if g_v is not None:
        vg = _mT(v) @ g_v[None]
        inner = inner + f * vg
        if t_w is not None:
            t_w = t_w[:, None]
            d_inner = d_inner - f * f * (t_w[..., None, :] - t_w[..., :, None]) * vg
        if t_v is not None:
            d_inner = d_inner + f * (_mT(t_v[:, None]) @ g_v[None])
    full = 0.0 if np.ndim(d_inner) == 0 else v @ d_inner @ _mT(v)
    if t_v is not None:
        t_v = t_v[:, None]
        full = full + t_v @ inner @ _mT(v) + v @ inner @ _mT(t_v)
    full = np.broadcast_to(full, (lead.shape[0], batch_size(g)) + v.shape)
    return _triangle_read(full, upper=UPLO.upper() == "U")


def eigvalsh_adjoint_tangent(t, g, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Tangent of ``eigvalsh_adjoint(g, a, UPLO)`` from the tangent ``t`` of
    ``a``: the eigenvectors' tangent ``v (F * (v^T da v))`` for the
    symmetric matrix NumPy reads from one triangle of ``a``."""
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    if UPLO.upper() == "U":
        symmetric = np.triu(t) + _mT(np.triu(t, 1))
    else:
        symmetric = np.tril(t) + _mT(np.tril(t, -1))
    n = w.shape[-1]
    gaps = w[..., None, :] - w[..., :, None]
    off = ~np.eye(n, dtype=bool)
    with np.errstate(divide="ignore"):
        f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
    t_v = v @ (f * (_mT(v) @ symmetric @ v))
    return eigh_adjoint_tangent((None, t_v), (g, None), (w, v), UPLO=UPLO)


def _ra_pinv_parts(g, a, z):
    z_t = _mT(z)
    left = np.eye(a.shape[-2], dtype=z.dtype) - a @ z
    right = np.eye(a.shape[-1], dtype=z.dtype) - z @ a
    return z_t, left, right


def pinv_adjoint_tangent(t, g, a, z, of_z=False):
    """Tangent of ``pinv_adjoint(g, a, z)`` from the tangent ``t`` of ``a``,
    or of ``z`` (``of_z=True``), by the product rule through
    ``-z^T g z^T + (1 - a z) g^T z z^T + z^T z g^T (1 - z a)``."""
    a = np.asarray(a)
    z_t, left, right = _ra_pinv_parts(g, a, z)
    g_b = g[None]
    g_t = _mT(g)[None]
    t = _ra_over(t, max(a.ndim, z.ndim))
    if not of_z:
        result = -(t @ z) @ g_t @ (z @ z_t) - (z_t @ z) @ g_t @ (z @ t)
        return _ra_unbroadcast(result, a)
    t_t = _mT(t)
    result = (-(t_t @ g_b @ z_t + z_t @ g_b @ t_t)
              - (a @ t) @ g_t @ (z @ z_t)
              + left @ g_t @ (t @ z_t + z @ t_t)
              + (t_t @ z + z_t @ t) @ g_t @ right
              - (z_t @ z) @ g_t @ (t @ a))
    return _ra_unbroadcast(result, a)


def _ra_pinv_tangent(t, a, p):
    """``d pinv(a)`` along each row of ``t`` (full rank): Golub and Pereyra's formula."""
    t_t = _mT(t)
    left = np.eye(a.shape[-2], dtype=p.dtype) - a @ p
    right = np.eye(a.shape[-1], dtype=p.dtype) - p @ a
    return -(p @ t @ p) + p @ _mT(p) @ t_t @ left + right @ t_t @ _mT(p) @ p


def lstsq_adjoint_tangent(t, g, a, b, wrt_b=False, of_b=False):
    """Tangent of ``lstsq_adjoint(g, a, b, wrt_b)`` from the tangent ``t`` of
    ``b`` (``of_b=True``) or of ``a``."""
    bars = _result_bars(g, 4, "np.linalg.lstsq", ("residuals", "x, residuals, rank, sv = np.linalg.lstsq(a, b)"))
    x_bar = bars[0]
    like = b if wrt_b else a
    if x_bar is None or (wrt_b and of_b):
        return _ra_zeros(t, g, like)
    a = np.asarray(a)
    b = np.asarray(b)
    inverse = np.linalg.pinv(a)
    if wrt_b:  # pinv(a)^T xbar, from the tangent of a
        d_inverse = _ra_pinv_tangent(t, a, inverse)[:, None]
        return _mT(d_inverse) @ x_bar[None] if b.ndim == 2 else np.einsum("bi,tij->tbj", x_bar, d_inverse[:, 0])
    if of_b:  # pinv_adjoint(xbar b^T), linear in b
        if b.ndim == 1:
            p_bar = x_bar[None, :, :, None] * t[:, None, None, :]
        else:
            p_bar = x_bar[None] @ _mT(t)[:, None]
        return merged(pinv_adjoint, p_bar, a, inverse)
    p_bar = x_bar[:, :, None] * b[None, None, :] if b.ndim == 1 else x_bar @ b.T
    d_inverse = _ra_pinv_tangent(t, a, inverse)
    return (pinv_adjoint_tangent(t, p_bar, a, inverse)
            + pinv_adjoint_tangent(d_inverse, p_bar, a, inverse, of_z=True))


def multi_dot_adjoint_tangent(t, g, arrays):
    """Tangent of ``multi_dot_adjoint(g, arrays)`` from the tangent ``t`` of
    ``arrays`` (one item per array, None for constants): each matrix's
    adjoint ``left^T g right^T`` with one other matrix at a time replaced by
    its tangent, added up."""
    shapes = [np.shape(x) for x in arrays]
    matrices = [np.asarray(x) for x in arrays]
    if isinstance(t, np.ndarray):
        tangents = [t[:, i] for i in range(len(arrays))]
    else:  # (an item given as a nested list, multi_dot([[[x, y], ...], b]): its items' tangents stacked)
        tangents = [None if u is None else as_tangent(u, x) for u, x in zip(t, arrays, strict=True)]
    if matrices[0].ndim == 1:
        matrices[0] = matrices[0][None, :]
        if tangents[0] is not None:
            tangents[0] = tangents[0][:, None, :]
    if matrices[-1].ndim == 1:
        matrices[-1] = matrices[-1][:, None]
        if tangents[-1] is not None:
            tangents[-1] = tangents[-1][..., None]
    tangents = [None if tangents[i] is None else tangents[i][:, None] for i in range(len(tangents))]
    lead = None
    for i in range(len(tangents)):
        if lead is None and tangents[i] is not None:
            lead = tangents[i].shape[0]
    g = np.reshape(g, g.shape[:1] + (matrices[0].shape[0], matrices[-1].shape[1]))[None]
    # indexed loops and a module-level product: this code is differentiated
    # again (a third derivative through multi_dot)
    results = []
    for i in range(len(matrices)):
        matrix = matrices[i]
        total = np.zeros((lead,) + g.shape[1:2] + matrix.shape)
        for j in range(len(tangents)):
            if tangents[j] is None or j == i:
                continue
            replaced = matrices[:j] + [tangents[j]] + matrices[j + 1:]
            left = _ra_chain(replaced[:i], matrix.shape[0])
            right = _ra_chain(replaced[i + 1:], matrix.shape[1])
            total = total + _mT(left) @ g @ _mT(right)
        results.append(np.reshape(total, (lead,) + g.shape[1:2] + shapes[i]))
    return results


def _ra_chain(items, size):
    """The product of ``items`` (matrices, or stacks that broadcast), the
    identity of ``size`` if there are none."""
    if not items:
        return np.eye(size)
    product = items[0]
    for k in range(1, len(items)):
        product = product @ items[k]
    return product


def matrix_power_adjoint_tangent(t, g, a, n):
    """Tangent of ``matrix_power_adjoint(g, a, n)`` from the tangent ``t`` of
    ``a``: the product rule through the powers of ``a^T`` (of ``inv(a)^T``
    and the final ``-m^T mbar m^T`` for ``n < 0``)."""
    if n == 0:
        return _ra_zeros(t, g, a)
    a = np.asarray(a)
    g = g[None]
    if n < 0:
        base = np.linalg.inv(a)
        d_base = -(base @ t @ base)[:, None]
    else:
        base = a
        d_base = t[:, None]
    count = abs(n)
    base_t, d_base_t = _mT(base), _mT(d_base)
    powers = [np.broadcast_to(np.eye(base.shape[-1], dtype=base.dtype), base.shape)]
    d_powers = [np.zeros(d_base.shape[:1] + (1,) + base.shape)]
    for _ in range(count - 1):
        d_powers.append(d_powers[-1] @ base_t + powers[-1] @ d_base_t)
        powers.append(powers[-1] @ base_t)
    d_bar = sum(d_powers[k] @ g @ powers[count - 1 - k] + powers[k] @ g @ d_powers[count - 1 - k]
                for k in range(count))
    if n < 0:
        bar = sum(powers[k] @ g @ powers[count - 1 - k] for k in range(count))
        d_bar = -(d_base_t @ bar @ base_t + base_t @ d_bar @ base_t + base_t @ bar @ d_base_t)
    return np.broadcast_to(d_bar, (t.shape[0],) + g.shape[1:2] + a.shape)


def qr_adjoint_tangent(t, g, a, z, mode="reduced"):
    """Tangent of ``qr_adjoint(g, a, z)`` from the tangent ``t = (dq, dr)`` of
    ``z = (q, r)``: the product rule through
    ``q (rbar + tril(q^T qbar - qbar^T q + r rbar^T - rbar r^T) r^-T) + (qbar - q q^T qbar) r^-T``."""
    if mode == "r":  # (z is R alone: the tangent of the q its adjoint recomputes is not at hand)
        # (a literal mode='r' in the call is differentiated as np.linalg.qr(a)[1]: frontend/normalize_functional.py)
        raise ValueError("the second derivative of np.linalg.qr(a, mode=m) with m == 'r' given by a name is "
                         "not implemented; write mode='r' in the call itself, or np.linalg.qr(a)[1], the same "
                         "R, whose second derivative is.")
    q_bar, r_bar = _result_bars(g, 2, "np.linalg.qr", ("Q", "q, r = np.linalg.qr(a)"))
    q, r = z
    t_q, t_r = _ra_pair_items(t, 2)
    lead = t_q if t_q is not None else t_r
    if q_bar is None and r_bar is None:
        return _ra_zeros(lead, g, a)
    if q_bar is None:
        q_bar = np.zeros(r_bar.shape[:1] + q.shape, dtype=r_bar.dtype)
    if r_bar is None:
        r_bar = np.zeros(q_bar.shape[:1] + r.shape, dtype=q_bar.dtype)
    q_bar, r_bar = q_bar[None], r_bar[None]
    t_q = np.zeros((1, 1) + q.shape) if t_q is None else t_q[:, None]
    t_r = np.zeros((1, 1) + r.shape) if t_r is None else t_r[:, None]
    q_t = _mT(q)
    qdq = q_t @ q_bar
    rdr = r @ _mT(r_bar)
    lower = np.tril(qdq - _mT(qdq) + rdr - _mT(rdr))
    r_inverse_t = _mT(np.linalg.inv(r))
    d_qdq = _mT(t_q) @ q_bar
    d_rdr = t_r @ _mT(r_bar)
    d_lower = np.tril(d_qdq - _mT(d_qdq) + d_rdr - _mT(d_rdr))
    d_r_inverse_t = -(r_inverse_t @ _mT(t_r) @ r_inverse_t)
    result = (t_q @ (r_bar + lower @ r_inverse_t)
              + q @ (d_lower @ r_inverse_t + lower @ d_r_inverse_t)
              - (t_q @ qdq + q @ d_qdq) @ r_inverse_t
              + (q_bar - q @ qdq) @ d_r_inverse_t)
    return np.broadcast_to(result, (lead.shape[0], batch_size(g)) + q.shape[:-2] + a.shape[-2:])


def singular_values_adjoint_tangent(t, g, a, compute_uv=True):
    """Tangent of ``singular_values_adjoint(g, a) = u diag(g) vh`` from the
    tangent ``t`` of ``a`` (distinct nonzero singular values): with
    ``dP = u^T da v`` and ``F[i, j] = 1 / (s_j^2 - s_i^2)``,
    ``du = u (F * (dP S + S dP^T)) + (1 - u u^T) da v S^-1`` and
    ``dv = v (F * (S dP + dP^T S)) + (1 - v v^T) da^T u S^-1``."""
    a = np.asarray(a)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    v = _mT(vh)
    k = s.shape[-1]
    squares = s[..., None, :] ** 2 - s[..., :, None] ** 2
    off = ~np.eye(k, dtype=bool)
    with np.errstate(divide="ignore"):
        f = np.where(off, 1.0 / np.where(off, squares, 1.0), 0.0)
    t = _ra_over(t, a.ndim)[:, 0]  # (T,) + a.shape
    d_p = _mT(u) @ t @ v
    s_row = s[..., None, :]
    s_col = s[..., :, None]
    d_u = u @ (f * (d_p * s_row + s_col * _mT(d_p))) + \
        (np.eye(a.shape[-2]) - u @ _mT(u)) @ t @ (v / s_row)
    d_v = v @ (f * (s_col * d_p + _mT(d_p) * s_row)) + \
        (np.eye(a.shape[-1]) - v @ vh) @ _mT(t) @ (u / s_row)
    scaled = g[None, ..., None, :]
    return (d_u[:, None] * scaled) @ vh + (u * scaled) @ _mT(d_v[:, None])


#: the step of the complex-step derivative: exact to rounding (no difference
#: is taken), as long as the function is analytic in the stepped argument.
_COMPLEX_STEP = 1e-30


def svd_adjoint_tangent(t, g, a, z, full_matrices=True, compute_uv=True, wrt="z"):
    """Tangent of ``svd_adjoint(g, a, z, ...)`` from the tangent ``t`` of the
    factors ``z = (u, s, vh)`` (``wrt="z"``, with ``compute_uv``), or of ``a``
    (``wrt="a"``, singular values alone: ``singular_values_adjoint_tangent``);
    the other one is zero. ``svd_pullback`` is products, sums and quotients
    of the factors, so its derivative along ``t`` is the imaginary part of
    its value at ``z + i h t`` over ``h``, exact for a small enough ``h``."""
    if not compute_uv:
        if wrt == "z":
            return _ra_zeros(t[0] if isinstance(t, (tuple, list)) else t, g, a)
        return singular_values_adjoint_tangent(t, g, a, compute_uv=False)
    lead = t
    if not isinstance(t, np.ndarray):  # the first factor with a tangent (by index: differentiated again)
        lead = None
        for k in range(len(t)):
            if lead is None and t[k] is not None:
                lead = t[k]
    if wrt == "a":
        return _ra_zeros(lead, g, a)
    u_bar, s_bar, vh_bar = _result_bars(g, 3, "np.linalg.svd", ("S", "u, s, vh = np.linalg.svd(a)"))
    u, s, vh = z
    parts, factors = _ra_pair_items(t, 3), (u, s, vh)
    t_u, t_s, t_vh = [np.zeros((lead.shape[0],) + np.shape(factors[k])) if parts[k] is None else parts[k]
                      for k in range(3)]
    if u_bar is None and vh_bar is None:  # u diag(sbar) vh: its tangent through u and vh
        if s_bar is None:
            return _ra_zeros(lead, g, a)
        scaled = s_bar[None, ..., None, :]
        return (t_u[:, None] * scaled) @ vh + (u * scaled) @ t_vh[:, None]
    batch = batch_size(g)
    u_bar = np.zeros((batch,) + u.shape) if u_bar is None else u_bar
    s_bar = np.zeros((batch,) + s.shape) if s_bar is None else s_bar
    v_bar = np.zeros((batch,) + _mT(vh).shape) if vh_bar is None else _mT(vh_bar)
    h = _COMPLEX_STEP
    stepped = svd_pullback((u + 1j * h * t_u)[:, None], (s + 1j * h * t_s)[:, None],
                           _mT(vh + 1j * h * t_vh)[:, None], u_bar[None], s_bar[None], v_bar[None])
    return stepped.imag / h


def _ra_cov_tangent_rows(t, m, rowvar):
    """The tangent ``(T,) + m.shape`` of ``m`` as the tangent of cov's centred
    observations (a variable per row)."""
    x, transposed = _cov_rows(m, rowvar)
    rows = np.reshape(t, t.shape[:1] + (np.swapaxes(x, 0, 1).shape if transposed else x.shape))
    if transposed:
        rows = np.swapaxes(rows, 1, 2)
    return rows - np.mean(rows, axis=2, keepdims=True)


def cov_adjoint_tangent(t, g, m, rowvar=True, bias=False, ddof=None):
    """Tangent of ``cov_adjoint(g, m, ...) = (Cbar + Cbar^T) X / f`` from the
    tangent ``t`` of ``m`` (linear in the centred observations ``X``)."""
    x, transposed = _cov_rows(m, rowvar)
    if ddof is None:
        ddof = 0 if bias else 1
    count = x.shape[0]
    c_bar = np.reshape(g, (g.shape[0], count, count))
    rows = _ra_cov_tangent_rows(t, m, rowvar)
    x_bar = ((c_bar + np.swapaxes(c_bar, 1, 2))[None] @ rows[:, None]) / (x.shape[1] - ddof)
    if transposed:
        x_bar = np.swapaxes(x_bar, 2, 3)
    return np.reshape(x_bar, (t.shape[0], g.shape[0]) + _shape(m))


def corrcoef_adjoint_tangent(t, g, x, rowvar=True):
    """Tangent of ``corrcoef_adjoint(g, x)`` from the tangent ``t`` of ``x``:
    the product rule through ``R = C / (s s^T)`` and the covariance's adjoint."""
    c = np.atleast_2d(np.cov(x, rowvar=rowvar))
    xs, _ = _cov_rows(x, rowvar)
    centred = xs - np.mean(xs, axis=1, keepdims=True)
    rows = _ra_cov_tangent_rows(t, x, rowvar)  # (T, n, N)
    d_c = (rows @ centred.T + centred @ np.swapaxes(rows, 1, 2)) / (xs.shape[1] - 1)
    s = np.sqrt(np.diagonal(c))
    d_s = np.diagonal(d_c, axis1=1, axis2=2) / (2.0 * s)
    outer = s[:, None] * s[None, :]
    d_outer = d_s[:, :, None] * s[None, :] + s[:, None] * d_s[:, None, :]
    r = c / outer
    d_r = d_c / outer - r * d_outer / outer
    r_bar = np.reshape(g, (g.shape[0],) + c.shape)
    sym = r_bar + np.swapaxes(r_bar, 1, 2)
    total = np.sum(sym * r, axis=2)  # (B, n)
    d_total = np.sum(sym[None] * d_r[:, None], axis=3)  # (T, B, n)
    d_diagonal = -d_total / (2.0 * s * s) + total[None] * (d_s / s ** 3)[:, None]
    d_c_bar = (-r_bar[None] * (d_outer / outer ** 2)[:, None]
               + d_diagonal[..., None] * np.eye(c.shape[0]))
    diagonal = -total / (2.0 * s * s)
    c_bar = r_bar / outer + diagonal[:, :, None] * np.eye(c.shape[0])
    return merged(cov_adjoint, d_c_bar, x, rowvar=rowvar) + cov_adjoint_tangent(t, c_bar, x, rowvar=rowvar)


def convolve_adjoint_tangent(t, g, a, v, mode="full", wrt_v=False, correlate=False, of_v=False):
    """Tangent of ``convolve_adjoint(g, a, v, mode, wrt_v, correlate)`` from
    the tangent ``t`` of ``v`` (``of_v=True``) or of ``a``: ``a``'s adjoint
    is linear in ``v`` and ``v``'s in ``a``; each reads its own only for the shape."""
    like = v if wrt_v else a
    if of_v == wrt_v:
        return _ra_zeros(t, g, like)
    n, m = np.size(a), np.size(v)
    full = _convolve_full_cotangent(g, n, m, mode, correlate)
    rows = np.reshape(t, (t.shape[0], -1))
    if not wrt_v and correlate:
        rows = rows[:, ::-1]
    # (windows gathered by an index, not a strided view: third order differentiates this code)
    k = rows.shape[1]
    windows = full[:, np.arange(full.shape[1] - k + 1)[:, None] + np.arange(k)[None, :]]
    part = np.moveaxis(windows @ rows.T, -1, 0)  # (T, B, length)
    if wrt_v and correlate:
        part = part[..., ::-1]
    return np.reshape(part, part.shape[:2] + _shape(like))


def correlate_adjoint_tangent(t, g, a, v, mode="valid", wrt_v=False, of_v=False):
    """Tangent of ``correlate_adjoint(g, a, v, mode, wrt_v)`` (see ``convolve_adjoint_tangent``)."""
    return convolve_adjoint_tangent(t, g, a, v, mode, wrt_v=wrt_v, correlate=True, of_v=of_v)
