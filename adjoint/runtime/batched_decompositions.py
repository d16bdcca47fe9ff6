"""vmap of the derivative helpers of ``np.linalg.eigh``, ``eigvalsh``,
``qr``, ``pinv``, ``lstsq``, ``matrix_power``, ``multi_dot``, ``svd``
without factors, ``np.cov``, ``np.corrcoef``, ``np.kron``, ``np.inner`` and
``np.vdot``: their adjoints and tangents (``vmap(jacrev(f))``,
``vmap(jacfwd(f))``) and the tangents of their adjoints
(``vmap(hessian(f))``), each one NumPy computation on the whole batch
instead of a loop over the examples.

Shapes in batched derivative code: a primal value is ``(V,) + shape`` (``V``
the vmap axis); a cotangent or a tangent ``(V, N) + shape``; the tangent of
a cotangent ``(V, T, B) + shape``.

Most helpers of one example already act on stacks of matrices (``@``,
``inv``, ``tril``, ``...`` in einsum): given every primal value with a
size-1 axis after the vmap axis, ``(V, 1) + shape``, they broadcast it
against the rows ``(V, N) + shape`` of that example's cotangent, and the
batched helper is the unbatched one called once (``_vd_stacked``). The others
(``lstsq``'s, ``multi_dot``'s, ``cov``'s, ``kron``'s, which read their
arguments as 1-d or 2-d) are written out with the vmap axis first.

Where an argument is not in the form these helpers batch (a cotangent that
is neither an array nor a list of them, a ``multi_dot`` of one array), the
helper runs once per example (exact, counted by ``PER_EXAMPLE_LOOPS``).
"""
import numpy as np

from .batched import example, stack_examples
from .batched_derivatives import MERGE_BATCHED
from .indexing import rebuild_like
from .linalg import (
    COV_TRANSPOSES_ONE_ROW, _mT, eigvalsh_adjoint, inner_adjoint, singular_values_adjoint, vdot_adjoint, corrcoef_adjoint, cov_adjoint, eigh_adjoint, kron_adjoint_left, kron_adjoint_right, lstsq_adjoint,
    matrix_power_adjoint, multi_dot_adjoint, pinv_adjoint, qr_adjoint,
)
from .second_order_arrays import (
    eigvalsh_adjoint_tangent, inner_adjoint_tangent, singular_values_adjoint_tangent, vdot_adjoint_tangent,
    lstsq_adjoint_tangent, multi_dot_adjoint_tangent, corrcoef_adjoint_tangent, cov_adjoint_tangent, kron_adjoint_left_tangent, kron_adjoint_right_tangent,
    eigh_adjoint_tangent, matrix_power_adjoint_tangent, pinv_adjoint_tangent, qr_adjoint_tangent,
)
from .second_order_math import _map_leaves
from .tangent_linalg import (
    eigvalsh_tangent, inner_tangent, vdot_tangent, _itemwise, corrcoef_tangent, cov_tangent, eigh_tangent, kron_tangent_left, kron_tangent_right, lstsq_tangent,
    matrix_power_tangent, multi_dot_tangent, pinv_tangent, qr_tangent,
)


def _vd_each(helper, args, kwargs=None):
    """``helper`` once per example (the batch size read from the first array
    among the arguments and their items), results stacked."""
    leaves = []
    _map_leaves(leaves.append, list(args))
    count = next(np.shape(a)[0] for a in leaves if isinstance(a, np.ndarray) and np.ndim(a))
    return stack_examples([helper(*[example(a, v) for a in args], **(kwargs or {})) for v in range(count)])


def _vd_stacked(value):
    """A batched primal value (or tuple of them) with a size-1 axis after the
    vmap axis: ``(V, 1) + shape``."""
    if isinstance(value, (tuple, list)):
        return rebuild_like(value, [None if item is None else np.asarray(item)[:, None] for item in value])
    return np.asarray(value)[:, None]


def _vd_items(g, count):
    """The items of a tuple result's cotangent or tangent, each ``(V, N) +
    shape`` or None; None when ``g`` has another form."""
    if type(g) is np.ndarray:  # the values read as one array
        return [g[:, :, i] for i in range(count)] if g.ndim >= 3 and g.shape[2] == count else None
    if isinstance(g, (tuple, list)) and len(g) == count and all(
            item is None or (type(item) is np.ndarray and item.ndim >= 2) for item in g):
        return list(g)
    return None


def _vd_lead(items):
    """``(V, N)`` of the first array among ``items``, or None."""
    return next((item.shape[:2] for item in items if item is not None), None)


def _vd_zeros(lead, like):
    """Zeros ``(V, N) + shape`` for the batched primal ``like``."""
    like = np.asarray(like)
    return np.zeros(tuple(lead) + like.shape[1:], dtype=np.result_type(like.dtype, np.float64))


# ---- adjoints (vmap(jacrev(f)))

def veigh_adjoint(g, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    """``eigh_adjoint`` of every example."""
    items = _vd_items(g, 2)
    if items is None or _vd_lead(items) is None:
        return _vd_each(eigh_adjoint, (g, z), {"UPLO": UPLO})
    return eigh_adjoint(items, _vd_stacked(z), UPLO=UPLO)


def vqr_adjoint(g, a, z, mode="reduced"):
    """``qr_adjoint`` of every example."""
    items = _vd_items(g, 2)
    lead = None if items is None else _vd_lead(items)
    if lead is None or mode != "reduced":
        return _vd_each(qr_adjoint, (g, a, z), {"mode": mode})
    q, r = z
    q_bar = _vd_zeros(lead, q) if items[0] is None else items[0]
    r_bar = _vd_zeros(lead, r) if items[1] is None else items[1]
    return qr_adjoint((q_bar, r_bar), _vd_stacked(a), _vd_stacked(z), mode=mode)


def _vd_pinv_bar(g, a, z):
    """``pinv_adjoint`` for stacked ``a`` and ``z`` (``(V, 1) + shape``) and
    ``g`` ``(V, N) + z.shape``: pinv does not broadcast, so no sum is needed."""
    z_t = _mT(z)
    g_t = _mT(g)
    left = np.eye(a.shape[-2], dtype=z.dtype) - a @ z
    right = np.eye(a.shape[-1], dtype=z.dtype) - z @ a
    return -(z_t @ g @ z_t) + left @ g_t @ (z @ z_t) + (z_t @ z) @ g_t @ right


def vpinv_adjoint(g, a, z):
    """``pinv_adjoint`` of every example."""
    if type(g) is not np.ndarray:
        return _vd_each(pinv_adjoint, (g, a, z))
    return _vd_pinv_bar(g, _vd_stacked(a), _vd_stacked(z))


def vlstsq_adjoint(g, a, b, wrt_b=False):
    """``lstsq_adjoint`` of every example (``a`` a matrix per example, ``b`` a
    vector or a matrix): ``x = pinv(a) b`` per example."""
    items = _vd_items(g, 4)
    a, b = np.asarray(a), np.asarray(b)
    if items is None or items[1] is not None or items[3] is not None or a.ndim != 3 or b.ndim not in (2, 3):
        return _vd_each(lstsq_adjoint, (g, a, b), {"wrt_b": wrt_b})  # (its own errors, per example)
    x_bar = items[0]
    if x_bar is None:
        return _vd_zeros(_vd_lead(items), b if wrt_b else a)
    inverse = np.linalg.pinv(a)  # (V, n, m)
    if wrt_b:
        if b.ndim == 3:
            return _mT(inverse)[:, None] @ x_bar
        return (x_bar[:, :, None, :] @ inverse[:, None])[:, :, 0, :]
    if b.ndim == 2:
        p_bar = x_bar[:, :, :, None] * b[:, None, None, :]
    else:
        p_bar = x_bar @ _mT(b)[:, None]
    return _vd_pinv_bar(p_bar, a[:, None], inverse[:, None])


def vmatrix_power_adjoint(g, a, n):
    """``matrix_power_adjoint`` of every example (the power the same for all)."""
    if type(g) is not np.ndarray:
        return _vd_each(matrix_power_adjoint, (g, a), {"n": n})
    if n == 0:
        return _vd_zeros(g.shape[:2], a)
    return matrix_power_adjoint(g, _vd_stacked(a), n)


def _vd_chain_matrices(arrays):
    """The batched arrays of ``multi_dot`` as matrices ``(V, r, c)`` (a 1-d
    first array a row, a 1-d last array a column), with their shapes per
    example; None when an item is not an array of one or two axes."""
    matrices = [np.asarray(x) for x in arrays]
    if len(matrices) < 2 or any(m.ndim not in (2, 3) for m in matrices) or any(
            m.ndim != 3 for m in matrices[1:-1]):
        return None, None
    shapes = [m.shape[1:] for m in matrices]
    if matrices[0].ndim == 2:
        matrices[0] = matrices[0][:, None, :]
    if matrices[-1].ndim == 2:
        matrices[-1] = matrices[-1][:, :, None]
    return matrices, shapes


def _vd_prefix_products(matrices):
    """``before[i]``: the product of ``matrices[:i]`` (None for i = 0);
    ``after[i]``: of ``matrices[i + 1:]`` (None for the last)."""
    count = len(matrices)
    before, after = [None] * count, [None] * count
    for i in range(1, count):
        before[i] = matrices[0] if i == 1 else before[i - 1] @ matrices[i - 1]
    for i in range(count - 2, -1, -1):
        after[i] = matrices[-1] if i == count - 2 else matrices[i + 1] @ after[i + 1]
    return before, after


def vmulti_dot_adjoint(g, arrays):
    """``multi_dot_adjoint`` of every example: each matrix gets ``left^T g
    right^T`` with the products before and after it."""
    matrices, shapes = (None, None) if not isinstance(arrays, (list, tuple)) else _vd_chain_matrices(arrays)
    if matrices is None or type(g) is not np.ndarray:
        return _vd_each(multi_dot_adjoint, (g, arrays))
    lead = g.shape[:2]
    g = np.reshape(g, lead + (matrices[0].shape[1], matrices[-1].shape[2]))
    before, after = _vd_prefix_products(matrices)
    bars = []
    for i, shape in enumerate(shapes):
        bar = g
        if before[i] is not None:
            bar = _mT(before[i])[:, None] @ bar
        if after[i] is not None:
            bar = bar @ _mT(after[i])[:, None]
        bars.append(np.reshape(bar, lead + shape))
    return bars


def _vd_observations(m, rowvar):
    """``np.cov``'s observations of every example, ``(V, variables,
    observations)``, and whether each example's ``m`` was transposed (as
    NumPy reads it: a 1-d array is one variable; with ``rowvar=False`` a
    matrix is transposed, one of a single row too in NumPy 2)."""
    m = np.asarray(m)
    x = np.asarray(m, dtype=np.result_type(m, np.float64))
    if x.ndim == 2:
        return x[:, None, :], False
    transposed = not rowvar and (x.shape[1] != 1 or COV_TRANSPOSES_ONE_ROW)
    return (np.swapaxes(x, 1, 2) if transposed else x), transposed


def _vd_divisor(x, bias, ddof):
    if ddof is None:
        ddof = 0 if bias else 1
    return x.shape[2] - ddof


def vcov_adjoint(g, m, rowvar=True, bias=False, ddof=None):
    """``cov_adjoint`` of every example: ``mbar = (Cbar + Cbar^T) X / f``."""
    if type(g) is not np.ndarray or np.ndim(m) not in (2, 3):
        return _vd_each(cov_adjoint, (g, m), {"rowvar": rowvar, "bias": bias, "ddof": ddof})
    x, transposed = _vd_observations(m, rowvar)
    centred = x - np.mean(x, axis=2, keepdims=True)
    lead = g.shape[:2]
    count = x.shape[1]
    c_bar = np.reshape(g, lead + (count, count))
    x_bar = ((c_bar + np.swapaxes(c_bar, 2, 3)) @ centred[:, None]) / _vd_divisor(x, bias, ddof)
    if transposed:
        x_bar = np.swapaxes(x_bar, 2, 3)
    return np.reshape(x_bar, lead + np.shape(m)[1:])


def _vd_correlation_parts(x, rowvar):
    """The covariance ``(V, n, n)``, the standard deviations ``(V, n)`` and
    their outer products of every example."""
    rows, _ = _vd_observations(x, rowvar)
    centred = rows - np.mean(rows, axis=2, keepdims=True)
    c = (centred @ np.swapaxes(centred, 1, 2)) / (rows.shape[2] - 1)
    s = np.sqrt(np.diagonal(c, axis1=1, axis2=2))
    return c, s, s[:, :, None] * s[:, None, :]


def vcorrcoef_adjoint(g, x, rowvar=True):
    """``corrcoef_adjoint`` of every example."""
    if type(g) is not np.ndarray or np.ndim(x) not in (2, 3):
        return _vd_each(corrcoef_adjoint, (g, x), {"rowvar": rowvar})
    c, s, outer = _vd_correlation_parts(x, rowvar)
    lead = g.shape[:2]
    r = (c / outer)[:, None]
    r_bar = np.reshape(g, lead + c.shape[1:])
    sym = r_bar + np.swapaxes(r_bar, 2, 3)
    diagonal = -np.sum(sym * r, axis=3) / (2.0 * s * s)[:, None]
    c_bar = r_bar / outer[:, None] + diagonal[..., None] * np.eye(c.shape[1])
    return vcov_adjoint(c_bar, x, rowvar=rowvar)


def _vd_kron_parts(a, b):
    """``a`` and ``b`` (batched) with as many axes per example as their
    product, and the interleaved shape ``(a0, b0, a1, b1, ...)``."""
    a, b = np.asarray(a), np.asarray(b)
    a_shape, b_shape = a.shape[1:], b.shape[1:]
    ndim = max(len(a_shape), len(b_shape))
    a_full = (1,) * (ndim - len(a_shape)) + a_shape
    b_full = (1,) * (ndim - len(b_shape)) + b_shape
    return a_full, b_full


def _vd_kron_bar(g, a, b, wrt_b):
    a_full, b_full = _vd_kron_parts(a, b)
    lead = g.shape[:2]
    blocks = np.reshape(g, lead + tuple(n for pair in zip(a_full, b_full, strict=True) for n in pair))
    if wrt_b:  # sum over a's axes of the blocks times a
        other = np.reshape(a, (a.shape[0], 1) + tuple(n for size in a_full for n in (size, 1)))
        axes = tuple(range(2, blocks.ndim, 2))
        like = b
    else:
        other = np.reshape(b, (b.shape[0], 1) + tuple(n for size in b_full for n in (1, size)))
        axes = tuple(range(3, blocks.ndim, 2))
        like = a
    return np.reshape(np.sum(blocks * other, axis=axes), lead + np.shape(like)[1:])


def vkron_adjoint_left(g, a, b):
    """``kron_adjoint_left`` of every example."""
    if type(g) is not np.ndarray:
        return _vd_each(kron_adjoint_left, (g, a, b))
    return _vd_kron_bar(g, a, b, wrt_b=False)


def vkron_adjoint_right(g, a, b):
    """``kron_adjoint_right`` of every example."""
    if type(g) is not np.ndarray:
        return _vd_each(kron_adjoint_right, (g, a, b))
    return _vd_kron_bar(g, a, b, wrt_b=True)


# ---- tangents (vmap(jacfwd(f)), and the forward pass of vmap(hessian(f)))

def veigh_tangent(t, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    """``eigh_tangent`` of every example."""
    if type(t) is not np.ndarray:
        return _vd_each(eigh_tangent, (t, z), {"UPLO": UPLO})
    return eigh_tangent(t, _vd_stacked(z), UPLO=UPLO)


def vqr_tangent(t, a, z, mode="reduced"):
    """``qr_tangent`` of every example."""
    if type(t) is not np.ndarray:
        return _vd_each(qr_tangent, (t, a, z), {"mode": mode})
    return qr_tangent(t, _vd_stacked(a), _vd_stacked(z), mode=mode)


def vpinv_tangent(t, a, z):
    """``pinv_tangent`` of every example."""
    if type(t) is not np.ndarray:
        return _vd_each(pinv_tangent, (t, a, z))
    return pinv_tangent(t, _vd_stacked(a), _vd_stacked(z))


def vmatrix_power_tangent(t, a, n):
    """``matrix_power_tangent`` of every example."""
    if type(t) is not np.ndarray:
        return _vd_each(matrix_power_tangent, (t, a), {"n": n})
    return matrix_power_tangent(t, _vd_stacked(a), n)


def vlstsq_tangent(t, a, b, z, wrt_b=False):
    """``lstsq_tangent`` of every example (``a`` a matrix of full rank per
    example): ``x = P b`` with ``P = pinv(a)``; see ``lstsq_tangent``."""
    a, b = np.asarray(a), np.asarray(b)
    if type(t) is not np.ndarray or a.ndim != 3 or b.ndim not in (2, 3):
        return _vd_each(lstsq_tangent, (t, a, b, z), {"wrt_b": wrt_b})
    x, residuals = z[0], z[1]
    lead = t.shape[:2]
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    inverse = (_mT(vh) @ (_mT(u) / s[:, :, None]))[:, None]  # (V, 1, n, m)
    column = b.ndim == 2
    xs = (x[..., None] if column else x)[:, None]
    r = (b[..., None] if column else b)[:, None] - a[:, None] @ xs
    if wrt_b:
        change = t[..., None] if column else t
        x_dot = inverse @ change
        sv_dot = None
    else:
        t_t = _mT(t)
        change = -(t @ xs)
        x_dot = (inverse @ change + (inverse @ _mT(inverse)) @ (t_t @ r)
                 + (np.eye(a.shape[2]) - inverse @ a[:, None]) @ (t_t @ (_mT(inverse) @ xs)))
        sv_dot = np.sum((_mT(u)[:, None] @ t) * vh[:, None], axis=-1)
    residuals = np.asarray(residuals)
    if residuals.size:
        residuals_dot = np.reshape(2.0 * np.sum(r * change, axis=-2), lead + residuals.shape[1:])
    else:
        residuals_dot = np.zeros(lead + residuals.shape[1:])
    return _itemwise((np.reshape(x_dot, lead + np.shape(x)[1:]), residuals_dot, None, sv_dot), z)


def vmulti_dot_tangent(t, arrays, z):
    """``multi_dot_tangent`` of every example: ``left t_i right`` for each
    array's tangent ``t_i`` (None for a constant)."""
    matrices, shapes = (None, None) if not isinstance(arrays, (list, tuple)) else _vd_chain_matrices(arrays)
    tangents = _vd_items(t, len(arrays)) if matrices is not None else None
    if tangents is None or _vd_lead(tangents) is None:
        return _vd_each(multi_dot_tangent, (t, arrays, z))
    lead = _vd_lead(tangents)
    before, after = _vd_prefix_products(matrices)
    total = None
    for i, item in enumerate(tangents):
        if item is None:
            continue
        part = np.reshape(item, lead + matrices[i].shape[1:])
        if after[i] is not None:
            part = part @ after[i][:, None]
        if before[i] is not None:
            part = before[i][:, None] @ part
        total = part if total is None else total + part
    return np.reshape(total, lead + np.shape(z)[1:])


def vcov_tangent(t, m, z, rowvar=True, bias=False, ddof=None):
    """``cov_tangent`` of every example: ``dC = S + S^T``, ``S = dM X^T / f``."""
    if type(t) is not np.ndarray or np.ndim(m) not in (2, 3):
        return _vd_each(cov_tangent, (t, m, z), {"rowvar": rowvar, "bias": bias, "ddof": ddof})
    x, transposed = _vd_observations(m, rowvar)
    centred = x - np.mean(x, axis=2, keepdims=True)
    lead = t.shape[:2]
    rows = np.reshape(t, lead + ((x.shape[2], x.shape[1]) if transposed else x.shape[1:]))
    if transposed:
        rows = np.swapaxes(rows, 2, 3)
    s = (rows @ np.swapaxes(centred, 1, 2)[:, None]) / _vd_divisor(x, bias, ddof)
    return np.reshape(s + np.swapaxes(s, 2, 3), lead + np.shape(z)[1:])


def vcorrcoef_tangent(t, x, z, rowvar=True):
    """``corrcoef_tangent`` of every example: ``dR = dC / (s s^T) - R (d_i +
    d_j)``, ``d_i = dC_ii / (2 s_i^2)``."""
    if type(t) is not np.ndarray or np.ndim(x) not in (2, 3):
        return _vd_each(corrcoef_tangent, (t, x, z), {"rowvar": rowvar})
    c, s, outer = _vd_correlation_parts(x, rowvar)
    c_dot = vcov_tangent(t, x, c, rowvar=rowvar)
    d = np.diagonal(c_dot, axis1=2, axis2=3) / (2.0 * s * s)[:, None]
    r_dot = c_dot / outer[:, None] - (c / outer)[:, None] * (d[:, :, :, None] + d[:, :, None, :])
    return np.reshape(r_dot, t.shape[:2] + np.shape(z)[1:])


def _vd_kron_dot(t, a, b, wrt_b):
    a_full, b_full = _vd_kron_parts(a, b)
    lead = t.shape[:2]
    a_split = tuple(n for size in a_full for n in (size, 1))
    b_split = tuple(n for size in b_full for n in (1, size))
    if wrt_b:
        product = np.reshape(a, (a.shape[0], 1) + a_split) * np.reshape(t, lead + b_split)
    else:
        product = np.reshape(t, lead + a_split) * np.reshape(b, (b.shape[0], 1) + b_split)
    return np.reshape(product, lead + tuple(p * q for p, q in zip(a_full, b_full, strict=True)))


def vkron_tangent_left(t, a, b):
    """``kron_tangent_left`` of every example."""
    if type(t) is not np.ndarray:
        return _vd_each(kron_tangent_left, (t, a, b))
    return _vd_kron_dot(t, a, b, wrt_b=False)


def vkron_tangent_right(t, a, b):
    """``kron_tangent_right`` of every example."""
    if type(t) is not np.ndarray:
        return _vd_each(kron_tangent_right, (t, a, b))
    return _vd_kron_dot(t, a, b, wrt_b=True)


# ---- tangents of the adjoints (vmap(hessian(f))): the vmap axis goes in as
# one more stack axis of the primal matrices (``(V, T)`` becomes ``(T, V)``,
# the result's ``(T, B, V)`` comes out as ``(V, T, B)``), as
# ``batched_second_order._over_stack`` does.

def _vd_over_stack(helper, t, g, *primals, **kwargs):
    leaves = []
    _map_leaves(leaves.append, [t, g])
    if not leaves or not all(type(leaf) is np.ndarray and leaf.ndim >= 2 for leaf in leaves):
        return _vd_each(lambda *args: helper(*args, **kwargs), (t, g) + primals)
    return np.moveaxis(helper(_vd_swap(t), _vd_swap(g), *primals, **kwargs), 2, 0)


def _vd_swap_axes(a):
    return np.swapaxes(a, 0, 1)


def _vd_swap(tree):
    """Every array of ``tree`` with its first two axes swapped (None kept)."""
    return _map_leaves(_vd_swap_axes, tree)


def veigh_adjoint_tangent(t, g, z, UPLO="L"):  # noqa: N803 (NumPy's name)
    """``eigh_adjoint_tangent`` of every example."""
    return _vd_over_stack(eigh_adjoint_tangent, t, g, rebuild_like(z, [np.asarray(item) for item in z]), UPLO=UPLO)


def vqr_adjoint_tangent(t, g, a, z, mode="reduced"):
    """``qr_adjoint_tangent`` of every example."""
    return _vd_over_stack(qr_adjoint_tangent, t, g, np.asarray(a), rebuild_like(z, [np.asarray(item) for item in z]),
                          mode=mode)


def vpinv_adjoint_tangent(t, g, a, z, of_z=False):
    """``pinv_adjoint_tangent`` of every example."""
    return _vd_over_stack(pinv_adjoint_tangent, t, g, np.asarray(a), np.asarray(z), of_z=of_z)


def vmatrix_power_adjoint_tangent(t, g, a, n):
    """``matrix_power_adjoint_tangent`` of every example."""
    return _vd_over_stack(matrix_power_adjoint_tangent, t, g, np.asarray(a), n=n)



# ---- tangents of the adjoints written out with the vmap axis first: np.kron's,
# np.cov's and np.corrcoef's helpers read their arguments' axes one by one

def _vd_kron_labels(ndim):
    """einsum labels: 0 the vmap axis, 1 the cotangent rows, 2 the tangent
    rows, then a's and b's axes interleaved."""
    return [3 + 2 * i for i in range(ndim)], [4 + 2 * i for i in range(ndim)]


def _vd_kron_adjoint_tangent(t, g, a, b, wrt_b):
    a_full, b_full = _vd_kron_parts(a, b)
    a_labels, b_labels = _vd_kron_labels(len(a_full))
    blocks = np.reshape(g, g.shape[:2] + tuple(n for pair in zip(a_full, b_full, strict=True) for n in pair))
    interleaved = [n for pair in zip(a_labels, b_labels, strict=True) for n in pair]
    if wrt_b:  # b's adjoint, from the tangent of a
        rows, row_labels, out_labels, like = np.reshape(t, t.shape[:2] + a_full), a_labels, b_labels, b
    else:
        rows, row_labels, out_labels, like = np.reshape(t, t.shape[:2] + b_full), b_labels, a_labels, a
    part = np.einsum(blocks, [0, 1] + interleaved, rows, [0, 2] + row_labels, [0, 2, 1] + out_labels,
                     optimize="greedy")
    return np.reshape(part, part.shape[:3] + np.shape(like)[1:])


def vkron_adjoint_left_tangent(t, g, a, b):
    """``kron_adjoint_left_tangent`` of every example (``t`` the tangent of ``b``)."""
    if type(t) is not np.ndarray or type(g) is not np.ndarray:
        return _vd_each(kron_adjoint_left_tangent, (t, g, a, b))
    return _vd_kron_adjoint_tangent(t, g, a, b, wrt_b=False)


def vkron_adjoint_right_tangent(t, g, a, b):
    """``kron_adjoint_right_tangent`` of every example (``t`` the tangent of ``a``)."""
    if type(t) is not np.ndarray or type(g) is not np.ndarray:
        return _vd_each(kron_adjoint_right_tangent, (t, g, a, b))
    return _vd_kron_adjoint_tangent(t, g, a, b, wrt_b=True)


def _vd_cov_tangent_rows(t, m, rowvar):
    """The tangent ``(V, T) + m.shape`` of ``m`` as the tangent of cov's
    centred observations, ``(V, T, variables, observations)``."""
    x, transposed = _vd_observations(m, rowvar)
    rows = np.reshape(t, t.shape[:2] + ((x.shape[2], x.shape[1]) if transposed else x.shape[1:]))
    if transposed:
        rows = np.swapaxes(rows, 2, 3)
    return rows - np.mean(rows, axis=3, keepdims=True)


def vcov_adjoint_tangent(t, g, m, rowvar=True, bias=False, ddof=None):
    """``cov_adjoint_tangent`` of every example: ``(Cbar + Cbar^T) dX / f``."""
    if type(t) is not np.ndarray or type(g) is not np.ndarray or np.ndim(m) not in (2, 3):
        return _vd_each(lambda *args: cov_adjoint_tangent(*args, rowvar=rowvar, bias=bias, ddof=ddof), (t, g, m))
    x, transposed = _vd_observations(m, rowvar)
    count = x.shape[1]
    c_bar = np.reshape(g, g.shape[:2] + (count, count))
    rows = _vd_cov_tangent_rows(t, m, rowvar)
    x_bar = ((c_bar + np.swapaxes(c_bar, 2, 3))[:, None] @ rows[:, :, None]) / _vd_divisor(x, bias, ddof)
    if transposed:
        x_bar = np.swapaxes(x_bar, 3, 4)
    return np.reshape(x_bar, t.shape[:2] + g.shape[1:2] + np.shape(m)[1:])


def vcorrcoef_adjoint_tangent(t, g, x, rowvar=True):
    """``corrcoef_adjoint_tangent`` of every example: the product rule through
    ``R = C / (s s^T)`` and the covariance's adjoint."""
    if type(t) is not np.ndarray or type(g) is not np.ndarray or np.ndim(x) not in (2, 3):
        return _vd_each(lambda *args: corrcoef_adjoint_tangent(*args, rowvar=rowvar), (t, g, x))
    c, s, outer = _vd_correlation_parts(x, rowvar)
    n = c.shape[1]
    rows_x, _ = _vd_observations(x, rowvar)
    centred = rows_x - np.mean(rows_x, axis=2, keepdims=True)
    rows = _vd_cov_tangent_rows(t, x, rowvar)  # (V, T, n, N)
    d_c = (rows @ np.swapaxes(centred, 1, 2)[:, None] + centred[:, None] @ np.swapaxes(rows, 2, 3)) / (
        rows_x.shape[2] - 1)
    d_s = np.diagonal(d_c, axis1=2, axis2=3) / (2.0 * s)[:, None]  # (V, T, n)
    d_outer = d_s[..., :, None] * s[:, None, None, :] + s[:, None, :, None] * d_s[..., None, :]
    r = c / outer
    d_r = d_c / outer[:, None] - r[:, None] * d_outer / outer[:, None]
    r_bar = np.reshape(g, g.shape[:2] + (n, n))
    sym = r_bar + np.swapaxes(r_bar, 2, 3)
    total = np.sum(sym * r[:, None], axis=3)  # (V, B, n)
    d_total = np.sum(sym[:, None] * d_r[:, :, None], axis=4)  # (V, T, B, n)
    squares = (s * s)[:, None, None]
    d_diagonal = -d_total / (2.0 * squares) + total[:, None] * (d_s / s[:, None] ** 3)[:, :, None]
    d_c_bar = (-r_bar[:, None] * (d_outer / outer[:, None] ** 2)[:, :, None]
               + d_diagonal[..., None] * np.eye(n))  # (V, T, B, n, n)
    c_bar = r_bar / outer[:, None] + (-total / (2.0 * (s * s)[:, None]))[..., None] * np.eye(n)
    lead = d_c_bar.shape[:3]
    through_c_bar = vcov_adjoint(np.reshape(d_c_bar, (lead[0], lead[1] * lead[2], n, n)), x, rowvar=rowvar)
    return (np.reshape(through_c_bar, lead + np.shape(x)[1:])
            + vcov_adjoint_tangent(t, c_bar, x, rowvar=rowvar))



def vmulti_dot_adjoint_tangent(t, g, arrays):
    """``multi_dot_adjoint_tangent`` of every example: each matrix's adjoint
    ``left^T g right^T`` with one other matrix at a time replaced by its
    tangent, added up."""
    matrices, shapes = (None, None) if not isinstance(arrays, (list, tuple)) else _vd_chain_matrices(arrays)
    tangents = None if matrices is None else _vd_items(t, len(arrays))
    if tangents is None or _vd_lead(tangents) is None or type(g) is not np.ndarray:
        return _vd_each(multi_dot_adjoint_tangent, (t, g, arrays))
    outer, rows = _vd_lead(tangents)
    batch = g.shape[1]
    # axes (V, T, B) then the matrix's two
    moved = [None if item is None else np.reshape(item, (outer, rows, 1) + matrices[i].shape[1:])
             for i, item in enumerate(tangents)]
    fixed = [m[:, None, None] for m in matrices]
    g = np.reshape(g, (outer, 1, batch, matrices[0].shape[1], matrices[-1].shape[2]))
    results = []
    for i, shape in enumerate(shapes):
        total = np.zeros((outer, rows, batch) + matrices[i].shape[1:], dtype=np.result_type(g, *matrices))
        for j, tangent in enumerate(moved):
            if tangent is None or j == i:
                continue
            replaced = fixed[:j] + [tangent] + fixed[j + 1:]
            term = g
            if i > 0:
                term = _mT(_vd_chain(replaced[:i])) @ term
            if i < len(replaced) - 1:
                term = term @ _mT(_vd_chain(replaced[i + 1:]))
            total = total + term
        results.append(np.reshape(total, (outer, rows, batch) + shape))
    return results


def _vd_chain(items):
    product = items[0]
    for item in items[1:]:
        product = product @ item
    return product


def _vd_pinv_tangent(t, a, p):
    """``d pinv(a)`` along each row of ``t`` (``(V, T) + a``), ``a`` and ``p
    = pinv(a)`` stacked ``(V, 1) + shape`` (Golub and Pereyra)."""
    t_t = _mT(t)
    left = np.eye(a.shape[-2], dtype=p.dtype) - a @ p
    right = np.eye(a.shape[-1], dtype=p.dtype) - p @ a
    return -(p @ t @ p) + p @ _mT(p) @ t_t @ left + right @ t_t @ _mT(p) @ p


def vlstsq_adjoint_tangent(t, g, a, b, wrt_b=False, of_b=False):
    """``lstsq_adjoint_tangent`` of every example (``a`` a matrix per
    example): ``x = pinv(a) b``, through pinv's tangent and adjoint."""
    items = _vd_items(g, 4)
    a, b = np.asarray(a), np.asarray(b)
    if (type(t) is not np.ndarray or items is None or items[1] is not None or items[3] is not None
            or a.ndim != 3 or b.ndim not in (2, 3)):
        return _vd_each(lambda *args: lstsq_adjoint_tangent(*args, wrt_b=wrt_b, of_b=of_b), (t, g, a, b))
    x_bar = items[0]
    like = b if wrt_b else a
    if x_bar is None or (wrt_b and of_b):
        return np.zeros(t.shape[:2] + (g[0].shape[1] if isinstance(g, (tuple, list)) and g[0] is not None
                                       else _vd_lead([x_bar])[1],) + like.shape[1:])
    inverse = np.linalg.pinv(a)  # (V, n, m)
    outer, rows = t.shape[:2]
    batch = x_bar.shape[1]
    if wrt_b:  # pinv(a)^T xbar, from the tangent of a
        d_inverse = _vd_pinv_tangent(t, a[:, None], inverse[:, None])  # (V, T, n, m)
        if b.ndim == 3:
            return _mT(d_inverse)[:, :, None] @ x_bar[:, None]
        return np.einsum("vbi,vtij->vtbj", x_bar, d_inverse)
    if of_b:  # pinv_adjoint(xbar b^T), linear in b
        if b.ndim == 2:
            p_bar = x_bar[:, None, :, :, None] * t[:, :, None, None, :]
        else:
            p_bar = x_bar[:, None] @ _mT(t)[:, :, None]
        joined = np.reshape(p_bar, (outer, rows * batch) + p_bar.shape[3:])
        bar = _vd_pinv_bar(joined, a[:, None], inverse[:, None])
        return np.reshape(bar, (outer, rows, batch) + bar.shape[2:])
    p_bar = x_bar[:, :, :, None] * b[:, None, None, :] if b.ndim == 2 else x_bar @ _mT(b)[:, None]
    d_inverse = _vd_pinv_tangent(t, a[:, None], inverse[:, None])
    return (vpinv_adjoint_tangent(t, p_bar, a, inverse)
            + vpinv_adjoint_tangent(d_inverse, p_bar, a, inverse, of_z=True))



# ---- np.linalg.eigvalsh, svdvals (svd without factors), np.inner, np.vdot

def veigvalsh_adjoint(g, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    """``eigvalsh_adjoint`` of every example (eigh takes the stack)."""
    if type(g) is not np.ndarray:
        return _vd_each(lambda *args: eigvalsh_adjoint(*args, UPLO=UPLO), (g, a))
    return eigvalsh_adjoint(g, _vd_stacked(a), UPLO=UPLO)


def veigvalsh_tangent(t, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    """``eigvalsh_tangent`` of every example."""
    if type(t) is not np.ndarray:
        return _vd_each(lambda *args: eigvalsh_tangent(*args, UPLO=UPLO), (t, a))
    return eigvalsh_tangent(t, _vd_stacked(a), UPLO=UPLO)


def vsingular_values_adjoint(g, a, compute_uv=True):
    """``singular_values_adjoint`` of every example (svd takes the stack)."""
    if type(g) is not np.ndarray or compute_uv:
        return _vd_each(lambda *args: singular_values_adjoint(*args, compute_uv=compute_uv), (g, a))
    return singular_values_adjoint(g, _vd_stacked(a), compute_uv=False)


def _vd_rows(a, b, g):
    """``np.inner``'s operands of every example as rows ``(V, P, k)``,
    ``(V, Q, k)`` and the cotangent as ``(V, N, P, Q)``."""
    k = a.shape[-1]
    a_rows = np.reshape(a, (a.shape[0], -1, k))
    b_rows = np.reshape(b, (b.shape[0], -1, k))
    return a_rows, b_rows, np.reshape(g, g.shape[:2] + (a_rows.shape[1], b_rows.shape[1]))


def vinner_adjoint(g, a, b, wrt_b=False):
    """``inner_adjoint`` of every example (the product over the last axes)."""
    a, b = np.asarray(a), np.asarray(b)
    if type(g) is not np.ndarray or a.ndim < 2 or b.ndim < 2:  # (a 0-d operand: it broadcasts)
        return _vd_each(lambda *args: inner_adjoint(*args, wrt_b=wrt_b), (g, a, b))
    a_rows, b_rows, g_rows = _vd_rows(a, b, g)
    if wrt_b:
        return np.reshape(np.swapaxes(g_rows, 2, 3) @ a_rows[:, None], g.shape[:2] + b.shape[1:])
    return np.reshape(g_rows @ b_rows[:, None], g.shape[:2] + a.shape[1:])


def vinner_tangent(t, a, b, wrt_b=False):
    """``inner_tangent`` of every example: ``z[I, J] = sum_k a[I, k] b[J, k]``
    with the tangent's rows in place of ``a`` (or ``b``)."""
    a, b = np.asarray(a), np.asarray(b)
    if type(t) is not np.ndarray or a.ndim < 2 or b.ndim < 2:
        return _vd_each(lambda *args: inner_tangent(*args, wrt_b=wrt_b), (t, a, b))
    k = a.shape[-1]
    lead = t.shape[:2]
    a_rows = np.reshape(t if not wrt_b else a, (lead if not wrt_b else a.shape[:1]) + (-1, k))
    b_rows = np.reshape(t if wrt_b else b, (lead if wrt_b else b.shape[:1]) + (-1, k))
    if wrt_b:
        product = a_rows[:, None] @ np.swapaxes(b_rows, 2, 3)
    else:
        product = a_rows @ np.swapaxes(b_rows, 1, 2)[:, None]
    return np.reshape(product, lead + a.shape[1:-1] + b.shape[1:-1])


def vvdot_adjoint(g, other, like):
    """``vdot_adjoint`` of every example: the other argument times the cotangent."""
    other, like = np.asarray(other), np.asarray(like)
    if type(g) is not np.ndarray or g.ndim != 2:
        return _vd_each(vdot_adjoint, (g, other, like))
    shape = like.shape[1:]
    return np.reshape(g, g.shape + (1,) * len(shape)) * np.reshape(other, other.shape[:1] + (1,) + shape)


def vvdot_tangent(t, own, other):
    """``vdot_tangent`` of every example: the flattened tangent times the other argument."""
    other = np.asarray(other)
    if type(t) is not np.ndarray:
        return _vd_each(vdot_tangent, (t, own, other))
    flat = np.reshape(other, (other.shape[0], -1, 1))
    return (np.reshape(t, t.shape[:2] + (-1,)) @ flat)[:, :, 0]



def veigvalsh_adjoint_tangent(t, g, a, UPLO="L"):  # noqa: N803 (NumPy's name)
    """``eigvalsh_adjoint_tangent`` of every example."""
    return _vd_over_stack(eigvalsh_adjoint_tangent, t, g, np.asarray(a), UPLO=UPLO)


def vsingular_values_adjoint_tangent(t, g, a, compute_uv=True):
    """``singular_values_adjoint_tangent`` of every example."""
    return _vd_over_stack(singular_values_adjoint_tangent, t, g, np.asarray(a), compute_uv=compute_uv)


def vinner_adjoint_tangent(t, g, a, b, wrt_b=False, of_b=False):
    """``inner_adjoint_tangent`` of every example: the adjoint of one argument
    is linear in the other, whose tangent takes its place."""
    a, b = np.asarray(a), np.asarray(b)
    if type(t) is not np.ndarray or type(g) is not np.ndarray or a.ndim < 2 or b.ndim < 2:
        return _vd_each(lambda *args: inner_adjoint_tangent(*args, wrt_b=wrt_b, of_b=of_b), (t, g, a, b))
    like = b if wrt_b else a
    lead = t.shape[:2] + g.shape[1:2]
    if of_b == wrt_b:
        return np.zeros(lead + like.shape[1:], dtype=np.result_type(t, g, np.float64))
    _, _, g_rows = _vd_rows(a, b, g)
    k = a.shape[-1]
    rows = np.reshape(t, t.shape[:2] + (1, -1, k))  # the tangent of the other argument, as rows
    if wrt_b:
        return np.reshape(np.swapaxes(g_rows, 2, 3)[:, None] @ rows, lead + b.shape[1:])
    return np.reshape(g_rows[:, None] @ rows, lead + a.shape[1:])


def vvdot_adjoint_tangent(t, g, other, like):
    """``vdot_adjoint_tangent`` of every example (``t`` the tangent of ``other``)."""
    if type(t) is not np.ndarray or type(g) is not np.ndarray:
        return _vd_each(vdot_adjoint_tangent, (t, g, other, like))
    shape = np.shape(like)[1:]
    return (np.reshape(g, g.shape[:1] + (1, -1) + (1,) * len(shape))
            * np.reshape(t, t.shape[:2] + (1,) + shape))


# rt.merged (merged_tree) of these adjoints on a batch (vmerged_call): the
# batched forms above, called with the tangent's two axes joined
for _helper, _batched in ((eigh_adjoint, veigh_adjoint), (qr_adjoint, vqr_adjoint), (pinv_adjoint, vpinv_adjoint),
                          (lstsq_adjoint, vlstsq_adjoint), (matrix_power_adjoint, vmatrix_power_adjoint),
                          (multi_dot_adjoint, vmulti_dot_adjoint), (cov_adjoint, vcov_adjoint),
                          (corrcoef_adjoint, vcorrcoef_adjoint), (kron_adjoint_left, vkron_adjoint_left),
                          (eigvalsh_adjoint, veigvalsh_adjoint), (singular_values_adjoint, vsingular_values_adjoint),
                          (inner_adjoint, vinner_adjoint), (vdot_adjoint, vvdot_adjoint),
                          (kron_adjoint_right, vkron_adjoint_right)):
    MERGE_BATCHED[_helper] = _batched
del _helper, _batched
