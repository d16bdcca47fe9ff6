"""vmap of the adjoint helpers of np.cross, np.average and the NaN-ignoring
reductions (nanvar, nanstd, nanprod): one NumPy call over the batch where
they ran once per example.

As in ``batched_reductions``: a batched cotangent is ``(B, G) + z.shape``
(the vmap axis, then the cotangent's own rows), a batched primal
``(B,) + shape``; each helper's result is ``(B, G) + its operand's shape``.
"""
import numpy as np

from .broadcasting import normalize_axes, prod_others
from .reductions import (
    average_adjoint, cumprod_adjoint, nanprod_adjoint, nanstd_adjoint, nanvar_adjoint, quantile_adjoint, std_adjoint,
    std_divisor, var_adjoint, var_scale,
)
from .shape import cross_adjoint
from .batched_reductions import (
    vasarray, vcumprod_adjoint, vnan_reduced, vstd_adjoint, vunbroadcast, vunreduce, vvar_adjoint,
)
from .batched_derivatives import MERGE_BATCHED, MERGE_BATCHED_KEYWORDS
from .batched import to_batched
from .batched_shape import vmerged_where_shared
from .batched_lifted import _vl_average_lifts, _vl_option, vaverage_adjoint_lifted, vquantile_adjoint


def vnanvar_adjoint(g, a, axis=None, ddof=0, keepdims=False):
    """``nanvar_adjoint`` on a batch: ``2 (a - mean) / (N - ddof)`` with the
    count ``N`` and the mean of each example's non-NaN elements; 0 at NaNs."""
    a = vasarray(a)
    axes = tuple(d + 1 for d in normalize_axes(axis, a.ndim - 1))  # (read from a's shape: no derivative)
    nans = np.isnan(a)
    counts = np.sum(~nans, axis=axes, keepdims=True)
    mean = np.sum(np.where(nans, 0.0, a), axis=axes, keepdims=True) / np.maximum(counts, 1)
    deviations = np.where(nans, 0.0, a - mean)
    with np.errstate(divide="ignore", invalid="ignore"):  # N <= ddof: NumPy's value is inf or nan too
        return vunreduce(g, a, axis, keepdims) * (deviations * var_scale(counts, ddof))[:, None]


def vnanstd_adjoint(g, a, z, axis=None, ddof=0, keepdims=False):
    """``nanstd_adjoint`` on a batch: nanvar's over ``2 z`` (0 where ``z`` is 0)."""
    divisor = 2.0 * std_divisor(np.asarray(z))
    return vnanvar_adjoint(g / divisor[:, None], a, axis, ddof, keepdims)


def vnanprod_adjoint(g, a, axis=None, keepdims=False):
    """``nanprod_adjoint`` on a batch: the product of the other non-NaN
    elements of each example (NaNs count as 1), 0 at NaNs."""
    a = vasarray(a)
    ones = np.where(np.isnan(a), 1.0, a)
    others = prod_others(ones, axis=tuple(d + 1 for d in normalize_axes(axis, a.ndim - 1)))
    return vnan_reduced(g, a, axis, keepdims) * others[:, None]


def vaverage_adjoint(batch, g, a, z, axis=None, weights=None, keepdims=False, wrt_weights=False):
    """``average_adjoint`` on a batch. The adjoint of ``a`` reads ``a`` and
    ``z`` for their shapes and the weights for their values (most often the
    same in every example): one call over the merged axes. The adjoint of
    the weights reads ``a`` and ``z`` too: one call per example unless every
    example has the same ones (``vmerged_where_shared`` decides, and warns)
    or the vmap axis lifts into ``a`` (``batched_lifted``: weights that
    differ between the examples, the weights' adjoint)."""
    if _vl_average_lifts(g, axis, keepdims, weights, wrt_weights):
        return vaverage_adjoint_lifted(g, a, z, axis=_vl_option(axis), weights=weights,
                                       keepdims=_vl_option(keepdims), wrt_weights=wrt_weights)
    by_value = bool(wrt_weights)
    return vmerged_where_shared(batch, average_adjoint, g, (a, z), (by_value, by_value), axis=axis,
                                weights=weights, keepdims=keepdims, wrt_weights=to_batched(by_value, batch))


def vcross_adjoint(g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False):
    """``cross_adjoint`` on a batch: ``abar = b x cbar`` (or ``bbar = cbar x
    a``) of every example, summed down to the operand's broadcast shape."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b, g = vasarray(a), vasarray(b), np.asarray(g)
    a_moved = np.moveaxis(a, axisa % (a.ndim - 1) + 1, -1)
    b_moved = np.moveaxis(b, axisb % (b.ndim - 1) + 1, -1)
    if a_moved.shape[-1] != 3 or b_moved.shape[-1] != 3:
        raise ValueError("np.cross is differentiated for 3-vectors only (2-vectors are deprecated in NumPy 2).")
    g_moved = np.moveaxis(g, axisc % (g.ndim - 2) + 2, -1)  # (B, G) + the result's other axes + (3,)

    def lifted(x):  # (B,) + lead + (3,) -> (B, 1) + singletons + lead + (3,), aligned with g_moved
        missing = g_moved.ndim - x.ndim
        return np.reshape(x, x.shape[:1] + (1,) * missing + x.shape[1:])

    if wrt_b:
        bar, own, own_axis = np.cross(g_moved, lifted(a_moved)), b_moved, axisb
    else:
        bar, own, own_axis = np.cross(lifted(b_moved), g_moved), a_moved, axisa
    return np.moveaxis(vunbroadcast(bar, own), -1, own_axis % (own.ndim - 1) + 2)


# ---- rt.merged of these helpers on a batch (their tangents in vmap(hessian(f)),
# where the helper reads primal values that differ between the examples): the
# batched forms above, one call with the tangent rows joined to the cotangent's
# (runtime/batched_derivatives.py, _merged_by_rows: unbatched arguments arrive
# broadcast to the batch, keyword arguments as they are).

def _vl_first(value):
    """One example of an argument broadcast to the batch (a float stays)."""
    if isinstance(value, np.ndarray):
        return value[0]
    if isinstance(value, (list, tuple)):
        return type(value)(_vl_first(v) for v in value)
    return value


def _vl_shared(value):
    """Whether a batched argument is the same for every example (stride 0)."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0 or value.strides[0] == 0 or bool(np.all(value == value[:1]))
    if isinstance(value, (list, tuple)):
        return all(_vl_shared(v) for v in value)
    return True


def _vquantile_rows(g, a, q=0.5, axis=None, method="linear", keepdims=False, scale=1.0, function="np.quantile"):
    if not _vl_shared(q):
        return None  # q differs between the examples: once per example
    return vquantile_adjoint(g, a, _vl_first(q), axis=axis, method=method, keepdims=keepdims, scale=scale,
                             function=function)


def _vaverage_rows(g, a, z, axis=None, weights=None, keepdims=False, wrt_weights=False):
    # (the weights arrive batched: MERGE_BATCHED_KEYWORDS)
    return vaverage_adjoint_lifted(g, a, z, axis=axis, weights=weights, keepdims=keepdims, wrt_weights=wrt_weights)


MERGE_BATCHED[var_adjoint] = vvar_adjoint
MERGE_BATCHED[cumprod_adjoint] = vcumprod_adjoint
MERGE_BATCHED[std_adjoint] = vstd_adjoint
MERGE_BATCHED[nanvar_adjoint] = vnanvar_adjoint
MERGE_BATCHED[nanstd_adjoint] = vnanstd_adjoint
MERGE_BATCHED[nanprod_adjoint] = vnanprod_adjoint
MERGE_BATCHED[cross_adjoint] = vcross_adjoint
MERGE_BATCHED[quantile_adjoint] = _vquantile_rows
MERGE_BATCHED[average_adjoint] = _vaverage_rows
MERGE_BATCHED_KEYWORDS[average_adjoint] = {"weights"}
