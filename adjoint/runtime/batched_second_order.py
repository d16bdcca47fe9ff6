"""vmap of the linear-algebra helpers that Hessian code calls: the
tangents of ``np.linalg.inv`` / ``det`` / ``slogdet`` (forward mode), the
adjoint of ``slogdet``, and the tangents of the backward helpers of
``inv``, ``det``, ``slogdet``, ``solve``, ``cholesky``, ``svd`` and ``@``
(``jacfwd(jacrev(f))``, ``hessian(f)``), so that ``vmap(hessian(f))`` of a
function that solves, factors or inverts calls NumPy once per helper on the
whole batch instead of once per example.

Shapes in batched derivative code: a primal value is ``(V,) + shape``
(``V`` the vmap axis); a tangent of a primal or a cotangent ``(V, T) +
shape``; the tangent of a cotangent ``(V, T, B) + shape``.

Two ways to batch, both exact per example:

- explicit: the helper's products with the vmap axis first and size-1
  axes where the unbatched helper had its ``T`` or ``B`` axis;
- as a stack: NumPy's matrix functions (``inv``, ``svd``, ``@`` on the last
  two axes) treat every axis before a matrix's two as a stack, so a helper
  whose every primal argument is a matrix (or a number per matrix) runs on
  the whole batch when the vmap axis is given as one more stack axis:
  ``(V, T)`` becomes ``(T, V)`` on the way in, ``(T, B, V)`` becomes
  ``(V, T, B)`` on the way out (``_over_stack``).

Where a tangent or cotangent is not an array (a list tangent), the helper
runs once per example inside itself (exact; the generated code does not loop).

``merged_batched`` registers, for helpers that are linear in their
cotangent, the batched form that ``rt.merged`` on a batch
(``vmerged_call``) uses when the helper reads values that differ between
examples: the tangent's two axes join into the cotangent rows and the batched
helper runs once.
"""
import numpy as np

from .batched import example, stack_examples
from .batched_derivatives import MERGE_BATCHED, shape_only, vunpack_bar
from .batched_linalg import (
    vdet_adjoint, vinv_adjoint, vmatmul_adjoint_left, vmatmul_adjoint_right, vsolve_adjoint_matrix,
    vsolve_transposed,
)
from .batched_linalg_derivatives import vsvd_adjoint
from .linalg import (
    _EINSUM_LETTERS, _mT, _result_bars, _tensordot_axes, cholesky_adjoint, det_adjoint, inv_adjoint,
    matmul_adjoint_left, matmul_adjoint_right, slogdet_adjoint, solve_adjoint_matrix, svd_adjoint,
)
from .indexing import batched_getitem, rebuild_like
from .jacobians import jacobian_from_columns_tangent
from .second_order_arrays import (
    _ra_einsum_pair, _ra_matmul_subscripts, cholesky_adjoint_tangent, det_adjoint_tangent, inv_adjoint_tangent,
    matmul_adjoint_left_tangent, matmul_adjoint_right_tangent, slogdet_adjoint_tangent, solve_adjoint_matrix_tangent,
    solve_transposed_tangent, svd_adjoint_tangent,
)
from .second_order_math import _map_leaves, item_tangent_tangent, unpack_bar_tangent, unpack_tangent_tangent
from .batched_tangents import as_tangent_tangent
from .tangent_linalg import (
    det_tangent, inv_tangent, singular_values_tangent, slogdet_tangent, tensordot_tangent_right,
)
from .batched_linalg_derivatives import vsvd_tangent
from .batched_shape import vinterp_adjoint, vinterp_adjoint_x, vprimal_matrices, vtake_along_axis_adjoint
from .shape import take_along_axis_adjoint
from .batched_reductions import vextremum_adjoint, vnan_extremum_adjoint, vnorm_adjoint
from .broadcasting import extremum_adjoint
from .reductions import interp_adjoint_x, nan_extremum_adjoint, norm_adjoint


def _each_example(helper, args, kwargs=None):
    """``helper`` once per example (the batch size read from the first array
    among the arguments and their items), results stacked."""
    count = _example_count(args)
    return stack_examples([helper(*[example(a, v) for a in args], **(kwargs or {})) for v in range(count)])


def _example_count(args):
    """The batch size: the first axis of the first array among ``args`` and
    their items (read from a shape: no derivative)."""
    leaves = []
    _map_leaves(leaves.append, list(args))
    return next(np.shape(a)[0] for a in leaves if isinstance(a, np.ndarray) and np.ndim(a))


def _arrays(*values):
    return all(type(v) is np.ndarray for v in values)


def _swap_leading(tree):
    """Every array of ``tree`` with its first two axes swapped (None kept)."""
    return _map_leaves(lambda a: np.swapaxes(a, 0, 1), tree)


def _over_stack(helper, t, g, *primals, **kwargs):
    """``helper(t, g, *primals, **kwargs)`` of every example in one call, the
    vmap axis given to it as a stack axis of the primal matrices: ``t``
    ``(V, T) + ...`` and ``g`` ``(V, B) + ...`` go in as ``(T, V) + ...``
    and ``(B, V) + ...``; the result ``(T, B, V) + ...`` comes out as
    ``(V, T, B) + ...``."""
    result = helper(_swap_leading(t), _swap_leading(g), *primals, **kwargs)
    return np.moveaxis(result, 2, 0)


def _pair_items(value, count):
    """The items of a tuple result's cotangent or tangent: an array ``(V, N,
    count, ...)`` (the values read as one array) as a list of ``count``
    arrays ``(V, N, ...)``; a list or tuple as it is."""
    if type(value) is np.ndarray:
        return [value[:, :, i] for i in range(count)]
    return value


def _tangent_of_inverse_t(t, inverse_t):
    """``d(inv(a)^T)`` along each row of ``t`` (``(V, T) + a``), ``inverse_t``
    being ``inv(a)^T`` of every example: ``-inv(a)^T t^T inv(a)^T``."""
    inverse_t = inverse_t[:, None]
    return -(inverse_t @ _mT(t) @ inverse_t)


# ---- forward mode: np.linalg.inv, det, slogdet

def vinv_tangent(t, z):
    """``inv_tangent`` of every example: ``-z t z`` per row of ``t``."""
    if not _arrays(t):
        return _each_example(inv_tangent, (t, z))
    z = np.asarray(z)[:, None]
    return -(z @ t @ z)


def _trace_of_inverse_times(a, t):
    """``tr(inv(a) t)`` of every example and row of ``t``: ``(V, T) + stack``."""
    return np.einsum("v...ji,vb...ij->vb...", np.linalg.inv(a), t)


def vdet_tangent(t, z, a):
    """``det_tangent`` of every example: ``z tr(inv(a) t)``."""
    if not _arrays(t):
        return _each_example(det_tangent, (t, z, a))
    z = np.asarray(z)
    return z[:, None] * _trace_of_inverse_times(np.asarray(a), t)


def vslogdet_tangent(t, z, a):
    """``slogdet_tangent`` of every example: ``(None, tr(inv(a) t))``."""
    if not _arrays(t):
        return _each_example(slogdet_tangent, (t, z, a))
    return rebuild_like(z, [None, _trace_of_inverse_times(np.asarray(a), t)])


# ---- reverse mode: np.linalg.slogdet

def vslogdet_adjoint(g, a):
    """``slogdet_adjoint`` of every example: ``g_logdet inv(a)^T``."""
    _, g_logdet = _result_bars(_pair_items(g, 2), 2, "np.linalg.slogdet",
                               ("logabsdet", "sign, logdet = np.linalg.slogdet(a)"))
    if not _arrays(g_logdet):
        return _each_example(slogdet_adjoint, (g, a))
    inverse_t = _mT(np.linalg.inv(np.asarray(a)))[:, None]
    return g_logdet[..., None, None] * inverse_t


# ---- forward over backward code (Hessians): tangents of backward helpers

def vinv_adjoint_tangent(t, g, z):
    """``inv_adjoint_tangent`` of every example: ``-(t^T g z^T + z^T g t^T)``."""
    if not _arrays(t, g):
        return _each_example(inv_adjoint_tangent, (t, g, z))
    z_t = _mT(np.asarray(z))[:, None, None]
    t_t = _mT(t)[:, :, None]
    g = g[:, None]
    return -(t_t @ g @ z_t + z_t @ g @ t_t)


def vdet_adjoint_tangent(t, g, z, a, of_a=False):
    """``det_adjoint_tangent`` of every example (``of_a``: ``t`` is the
    tangent of ``a``, else of ``z``)."""
    if not _arrays(t, g):
        return _each_example(lambda *args: det_adjoint_tangent(*args, of_a=of_a), (t, g, z, a))
    z = np.asarray(z)
    inverse_t = _mT(np.linalg.inv(np.asarray(a)))
    if of_a:
        return (g * z[:, None])[:, None, ..., None, None] * _tangent_of_inverse_t(t, inverse_t)[:, :, None]
    return (g[:, None] * t[:, :, None])[..., None, None] * inverse_t[:, None, None]


def vslogdet_adjoint_tangent(t, g, a):
    """``slogdet_adjoint_tangent`` of every example: ``g_logdet d(inv(a)^T)``."""
    g = _pair_items(g, 2)
    _, g_logdet = _result_bars(g, 2, "np.linalg.slogdet", ("logabsdet", "sign, logdet = np.linalg.slogdet(a)"))
    if not _arrays(t, g_logdet):
        return _each_example(slogdet_adjoint_tangent, (t, g, a))
    inverse_t = _mT(np.linalg.inv(np.asarray(a)))
    return g_logdet[:, None, ..., None, None] * _tangent_of_inverse_t(t, inverse_t)[:, :, None]


def vsolve_transposed_tangent(t, a, g, b):
    """``solve_transposed_tangent`` of every example: ``-inv(a)^T t^T r`` with
    ``r = inv(a)^T g``, per row ``t`` of ``a``'s tangent and row of ``g``."""
    if not _arrays(t, g):
        return _each_example(solve_transposed_tangent, (t, a, g, b))
    a, b = np.asarray(a), np.asarray(b)
    vector = b.ndim == 2  # one vector per example (as solve_transposed_tangent reads np.ndim(b) == 1)
    r = vsolve_transposed(a, g, b)  # (V, B) + result
    if vector:
        r = r[..., None]
    matrix_ndim = a.ndim - 1
    missing = max(r.ndim - 2 - matrix_ndim, 0)
    t_t = _mT(t)
    t_t = np.reshape(t_t, t_t.shape[:2] + (1,) * (1 + missing) + t_t.shape[2:])  # (V, T, 1, ...) + a
    inverse_t = _mT(np.linalg.inv(a))
    inverse_t = np.reshape(inverse_t, inverse_t.shape[:1] + (1, 1) + (1,) * missing + inverse_t.shape[1:])
    result = -(inverse_t @ (t_t @ r[:, None]))
    return result[..., 0] if vector else result


def vsolve_adjoint_matrix_tangent(t, b_bar, z, a, b):
    """``solve_adjoint_matrix_tangent`` of every example: ``-b_bar t^T``
    per row ``t`` of ``z``'s tangent, summed to ``a``'s shape."""
    if not _arrays(t, b_bar):
        return _each_example(solve_adjoint_matrix_tangent, (t, b_bar, z, a, b))
    a, b = np.asarray(a), np.asarray(b)
    if b.ndim == 2:  # one vector per example
        part = -b_bar[:, None, ..., :, None] * t[:, :, None, ..., None, :]
    else:
        part = -(b_bar[:, None] @ _mT(t)[:, :, None])
    return _vunbroadcast3(part, a.shape[1:])


def _vunbroadcast3(value, shape):
    """``value`` (``(V, T, B)`` then an example's broadcast shape) summed to ``shape``."""
    extra = value.ndim - 3 - len(shape)
    if extra > 0:
        value = value.sum(axis=tuple(range(3, 3 + extra)))
    axes = tuple(3 + i for i, n in enumerate(shape) if n == 1 and value.shape[3 + i] != 1)
    if axes:
        value = value.sum(axis=axes, keepdims=True)
    return value


def vcholesky_adjoint_tangent(t, g, z, upper=False):
    """``cholesky_adjoint_tangent`` of every example (matrix products on the
    last two axes: the vmap axis goes in as a stack axis)."""
    if not _arrays(t, g) or np.ndim(z) != g.ndim - 1:
        # (``z`` with stack axes of its own that ``g`` does not carry after its
        # batch axis, vprimal_matrices' ``(V, 1) + matrix`` batched again:
        # the vmap axis would not line up as a stack axis; once per example)
        return _each_example(lambda *args: cholesky_adjoint_tangent(*args, upper=upper), (t, g, z))
    return _over_stack(cholesky_adjoint_tangent, t, g, np.asarray(z), upper=upper)


def _svd_leaves(value):
    """A cotangent or tangent of the SVD's factors, as a list (None holes kept)."""
    if type(value) is np.ndarray or value is None:
        return value
    return list(value)


def vsvd_adjoint_tangent(t, g, a, z, full_matrices=True, compute_uv=True, wrt="z"):
    """``svd_adjoint_tangent`` of every example (``np.linalg.svd`` and the
    factors' products take stacks: the vmap axis goes in as a stack axis)."""
    t_leaves = _svd_leaves(t)
    g_leaves = _pair_items(g, 3) if compute_uv else g
    arrays = [x for x in (t_leaves if isinstance(t_leaves, list) else [t_leaves]) if x is not None]
    g_arrays = [x for x in (g_leaves if isinstance(g_leaves, (list, tuple)) else [g_leaves]) if x is not None]
    if not arrays or not g_arrays or not _arrays(*arrays, *g_arrays):
        return _each_example(lambda *args: svd_adjoint_tangent(*args, full_matrices=full_matrices,
                                                               compute_uv=compute_uv, wrt=wrt), (t, g, a, z))
    a = np.asarray(a)
    if compute_uv:
        z = rebuild_like(z, [np.asarray(item) for item in z])
    return _over_stack(svd_adjoint_tangent, t_leaves, g_leaves, a, z, full_matrices=full_matrices,
                       compute_uv=compute_uv, wrt=wrt)


def _vmatmul_pair(t, g, x, y, position, wrt):
    """``_ra_einsum_pair`` of ``matmul``'s adjoint with the vmap axis as one
    more einsum letter shared by every operand and the result."""
    x, y = np.asarray(x), np.asarray(y)
    inputs, output = _ra_matmul_subscripts(x.ndim - 1, y.ndim - 1).split("->")
    terms = ["v" + term for term in inputs.split(",")]
    part = _ra_einsum_pair(_swap_leading(t), _swap_leading(g), ",".join(terms) + "->v" + output, [x, y],
                           position, wrt)
    return np.moveaxis(part, 2, 0)


def vmatmul_adjoint_left_tangent(t, g, x, y):
    """``matmul_adjoint_left_tangent`` of every example: ``g t^T`` per row ``t`` of ``y``'s tangent."""
    if not _arrays(t, g):
        return _each_example(matmul_adjoint_left_tangent, (t, g, x, y))
    return _vmatmul_pair(t, g, x, y, 0, 1)


def vmatmul_adjoint_right_tangent(t, g, x, y):
    """``matmul_adjoint_right_tangent`` of every example: ``t^T g`` per row ``t`` of ``x``'s tangent."""
    if not _arrays(t, g):
        return _each_example(matmul_adjoint_right_tangent, (t, g, x, y))
    return _vmatmul_pair(t, g, x, y, 1, 0)


def vunpack_bar_tangent(t, value):
    """``unpack_bar_tangent`` of every example: the items' tangents ``(V, T,
    B) + ...`` have their ``T`` and ``B`` axes joined, ``vunpack_bar`` runs
    once, and the result's are split again."""
    leaves = [leaf for leaf in (t if isinstance(t, (list, tuple)) else [t]) if leaf is not None]
    if not leaves or not _arrays(*leaves):
        return _each_example(unpack_bar_tangent, (t, value))
    lead = leaves[0].shape[:3]
    joined = _map_leaves(lambda x: np.reshape(x, (lead[0], lead[1] * lead[2]) + x.shape[3:]), t)
    result = vunpack_bar(value, joined)
    return _map_leaves(lambda x: np.reshape(x, lead + x.shape[2:]), result)


# ---- derivatives as code: jacfwd of a jacfwd

def vjacobian_from_columns_tangent(t, out, x, offset):
    """``jacobian_from_columns_tangent`` of every example: ``t`` is ``(V, T,
    total) + out``'s example shape; ``out`` and ``x`` are read for their
    shapes, so the vmap axis joins the tangent's rows."""
    if type(t) is not np.ndarray or isinstance(out, (dict, list, tuple)) or isinstance(x, (dict, list, tuple)):
        return _each_example(lambda *args: jacobian_from_columns_tangent(*args, offset), (t, out, x))
    lead = t.shape[:2]
    merged = jacobian_from_columns_tangent(np.reshape(t, (lead[0] * lead[1],) + t.shape[2:]),
                                           np.asarray(out)[0], np.asarray(x)[0], offset)
    return np.reshape(merged, lead + merged.shape[1:])


def vtensordot_tangent_right(t, a, b, axes=2):
    """``tensordot_tangent_right`` of every example, as one einsum: ``a``'s
    axes, ``b``'s tangent's with the contracted ones shared, and a letter for
    the vmap axis in all three."""
    if type(t) is not np.ndarray:
        return _each_example(lambda *args: tensordot_tangent_right(*args, axes=axes), (t, a, b))
    a = np.asarray(a)
    a_ndim, b_ndim = a.ndim - 1, t.ndim - 2
    a_axes, b_axes = _tensordot_axes(a_ndim, b_ndim, axes)
    letters = iter(_EINSUM_LETTERS[2:])
    vmap_letter, row = _EINSUM_LETTERS[:2]
    a_term = [next(letters) for _ in range(a_ndim)]
    b_term = [next(letters) for _ in range(b_ndim)]
    for i, j in zip(a_axes, b_axes, strict=True):
        b_term[j] = a_term[i]
    free = [c for i, c in enumerate(a_term) if i not in a_axes] + [c for j, c in enumerate(b_term) if j not in b_axes]
    spec = f"{vmap_letter}{''.join(a_term)},{vmap_letter}{row}{''.join(b_term)}->{vmap_letter}{row}{''.join(free)}"
    return np.einsum(spec, a, t, optimize="greedy")


def vsingular_values_tangent(t, a, compute_uv=True):
    """``singular_values_tangent`` of every example (``compute_uv=True`` is refused as it is there)."""
    if compute_uv:
        return singular_values_tangent(t, a, compute_uv=True)  # raises, with the message
    return vsvd_tangent(t, a, None, full_matrices=False, compute_uv=False)


# ---- tangents of forward mode's structural helpers (jacfwd of a jacfwd):
# an array tangent of a tangent is (V, S, B) + shape

def vas_tangent_tangent(tt, t, like):
    """``as_tangent_tangent`` of every example: an array tangent's tangent as it is."""
    if type(t) is np.ndarray:
        return tt
    return _each_example(as_tangent_tangent, (tt, t, like))


def vitem_tangent_tangent(tt, t, item, key, batch):
    """``item_tangent_tangent`` of every example, ``key`` the same for all:
    the three leading axes of an array ``tt`` join, one ``batched_getitem``;
    a container's item is its own (once per example where it is a hole)."""
    if type(tt) is np.ndarray:
        lead = tt.shape[:3]
        picked = batched_getitem(np.reshape(tt, (-1,) + tt.shape[3:]), key)
        return np.reshape(picked, lead + picked.shape[1:])
    picked = None if tt is None else tt[key]
    if picked is not None:  # an item's tangent of a container: batched as it is
        return picked
    return _each_example(lambda tt_, t_, item_: item_tangent_tangent(tt_, t_, item_, key, batch), (tt, t, item))


def vunpack_tangent_tangent(tt, t, value, count, batch):
    """``unpack_tangent_tangent`` of every example: an array ``tt``'s items
    along its fourth axis; a container's items as they are (once per example
    where one is a hole, whose zeros take the example's shape)."""
    if type(tt) is np.ndarray:
        return [tt[:, :, :, i] for i in range(count)]
    holes = None if tt is None else list(tt.values()) if isinstance(tt, dict) else list(tt)
    items = list(value.values()) if isinstance(value, dict) else list(value)
    leaves = [h for h in holes or () if type(h) is np.ndarray]
    if leaves and all(h is not None or type(item) is np.ndarray for h, item in zip(holes, items, strict=True)):
        # every item's tangent batched as it is; a hole's zeros (V, S, batch) + the item's shape
        # (_outer_zeros of every example)
        outer = leaves[0].shape[1]
        return [np.zeros((item.shape[0], outer, batch) + item.shape[1:], dtype=np.result_type(item.dtype, np.float32))
                if h is None else h for h, item in zip(holes, items, strict=True)]
    return _each_example(lambda tt_, t_, value_: unpack_tangent_tangent(tt_, t_, value_, count, batch),
                         (tt, t, value))


# ---- rt.merged on a batch: the batched form of a helper linear in its cotangent

def _cholesky_adjoint_batched(g, z, upper=False):
    return cholesky_adjoint(g, vprimal_matrices(z), upper=upper)


def merged_batched(helper, batched):
    """Register ``batched(g, *args, **kwargs)`` (``g`` ``(V, N) + ...``, the
    other arguments batched) as the batched form of ``helper`` for
    ``rt.merged`` / ``rt.merged_items`` / ``rt.merged_tree`` on a batch."""
    MERGE_BATCHED[helper] = batched


merged_batched(inv_adjoint, vinv_adjoint)
merged_batched(det_adjoint, vdet_adjoint)
merged_batched(slogdet_adjoint, vslogdet_adjoint)
merged_batched(solve_adjoint_matrix, vsolve_adjoint_matrix)
merged_batched(cholesky_adjoint, _cholesky_adjoint_batched)
merged_batched(svd_adjoint, vsvd_adjoint)
merged_batched(matmul_adjoint_left, vmatmul_adjoint_left)
merged_batched(matmul_adjoint_right, vmatmul_adjoint_right)
# max/min: where each example's extremum is (a mask per example)
merged_batched(extremum_adjoint, vextremum_adjoint)
merged_batched(nan_extremum_adjoint, vnan_extremum_adjoint)
merged_batched(norm_adjoint, vnorm_adjoint)


def _interp_adjoint_x_rows(g, x, xp, fp, left=None, right=None):
    """``interp_adjoint_x`` with ``g`` ``(V, N) + x.shape``: once on the batch
    when the knots are the same in every example (else once per example)."""
    return vinterp_adjoint(np.shape(x)[0], vinterp_adjoint_x, interp_adjoint_x, g, x, xp, fp, left=left,
                           right=right)


merged_batched(interp_adjoint_x, _interp_adjoint_x_rows)
merged_batched(take_along_axis_adjoint, vtake_along_axis_adjoint)  # (np.partition, np.sort: per-example indices)



# Helpers that rt.merged applies at the third and fourth order and that read
# their other arguments for their structure and shapes only: one example
# stands for every example (the tangent's axes join the vmap axis).
shape_only(jacobian_from_columns_tangent, 0, 1)
shape_only(as_tangent_tangent, 0, 1)
shape_only(item_tangent_tangent, 0, 1)
shape_only(unpack_tangent_tangent, 0, 1)
