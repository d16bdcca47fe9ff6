"""vmap of derivative helpers that broadcast over leading axes (the second
derivatives of np.cross, np.average, np.var / np.std, np.prod, np.cumprod
and the NaN-ignoring reductions, and np.quantile's adjoint): the vmap axis is *lifted* into the
primal values as one more leading axis, the helper runs once on the whole
batch, and the vmap axis is moved back in front.

Takes: batched arguments as vmap hands them, the vmap axis first and then
each argument's own leading rows (a cotangent ``(V, G) + z.shape``, a
tangent ``(V, T) + x.shape``, a primal ``(V,) + x.shape``). Gives: the
helper's result for every example, ``(V,) + its result for one example``,
the numbers a loop over the examples computes (the helpers treat a leading
primal axis as independent positions: no reduction, cross product or sort
runs along it, since the reduced axes are named explicitly, shifted past
it, and operands of other ranks are padded with size-1 axes after it).

The helpers here are NumPy code that the transforms read as source when
the batched code is differentiated again; the axis bookkeeping is in
``_vl_*`` helpers without derivative (rules/batched_lifted.py).
"""
import numpy as np

from .broadcasting import normalize_axes
from .reductions import average_adjoint, quantile_adjoint
from .second_order_arrays import cross_adjoint_tangent
from .tangent_reductions import average_tangent_weights, cumprod_tangent
from .second_order_math import (
    average_adjoint_tangent, cumprod_adjoint_tangent, nanprod_adjoint_tangent, nanstd_adjoint_tangent_z, nanvar_adjoint_tangent,
    prod_others_tangent, std_adjoint_tangent_z, var_adjoint_tangent,
)
from .tangent_linalg import cross_tangent


def _vl_axes(axis, ndim):
    """A reduction's ``axis`` over an example's ``ndim`` axes as explicit
    axes of the lifted value (the vmap axis in front is never reduced)."""
    return tuple(d + 1 for d in normalize_axes(axis, ndim))


def _vl_in(x, lead, pad=0):
    """``(V,) + lead + shape`` as ``lead + (V,) + (1,) * pad + shape``."""
    x = np.moveaxis(np.asarray(x), 0, lead)
    if pad:
        x = np.expand_dims(x, tuple(range(lead + 1, lead + 1 + pad)))
    return x


def _vl_out(r, lead, pad=0):
    """``lead + (V,) + (1,) * pad + shape`` back to ``(V,) + lead + shape``.
    (Axes moved, inserted and dropped, never a reshape to a shape read
    from the values: the code is batched again under nested vmap, where
    shapes gain axes.)"""
    r = np.moveaxis(r, lead, 0)
    if pad:
        r = np.squeeze(r, tuple(range(lead + 1, lead + 1 + pad)))
    return r


def _vl_ndim(x):
    """The number of axes of one example of the batched ``x``."""
    return np.ndim(x) - 1


# ---------------------------------------------------------- reductions


def vvar_adjoint_tangent(t, g, a, axis=None, ddof=0, keepdims=False):
    """``var_adjoint_tangent`` on a batch: ``t`` ``(V, T) + a.shape``, ``g``
    ``(V, G) + z.shape``, ``a`` batched; ``(V, T, G) + a.shape``."""
    axes = _vl_axes(axis, _vl_ndim(a))
    r = var_adjoint_tangent(_vl_in(t, 1), _vl_in(g, 1), a, axis=axes, ddof=ddof, keepdims=keepdims)
    return _vl_out(r, 2)


def vstd_adjoint_tangent_z(t, g, a, z, axis=None, ddof=0, keepdims=False):
    """``std_adjoint_tangent_z`` on a batch (``t`` the tangent of ``z``)."""
    axes = _vl_axes(axis, _vl_ndim(a))
    r = std_adjoint_tangent_z(_vl_in(t, 1), _vl_in(g, 1), a, z, axis=axes, ddof=ddof, keepdims=keepdims)
    return _vl_out(r, 2)


def vnanvar_adjoint_tangent(t, g, a, axis=None, ddof=0, keepdims=False):
    """``nanvar_adjoint_tangent`` on a batch."""
    axes = _vl_axes(axis, _vl_ndim(a))
    r = nanvar_adjoint_tangent(_vl_in(t, 1), _vl_in(g, 1), a, axis=axes, ddof=ddof, keepdims=keepdims)
    return _vl_out(r, 2)


def vnanstd_adjoint_tangent_z(t, g, a, z, axis=None, ddof=0, keepdims=False):
    """``nanstd_adjoint_tangent_z`` on a batch (``t`` the tangent of ``z``)."""
    axes = _vl_axes(axis, _vl_ndim(a))
    r = nanstd_adjoint_tangent_z(_vl_in(t, 1), _vl_in(g, 1), a, z, axis=axes, ddof=ddof, keepdims=keepdims)
    return _vl_out(r, 2)


def vnanprod_adjoint_tangent(t, g, a, axis=None, keepdims=False):
    """``nanprod_adjoint_tangent`` on a batch."""
    axes = _vl_axes(axis, _vl_ndim(a))
    r = nanprod_adjoint_tangent(_vl_in(t, 1), _vl_in(g, 1), a, axis=axes, keepdims=keepdims)
    return _vl_out(r, 2)


def vprod_others_tangent(t, x, axis=None):
    """``prod_others_tangent`` on a batch: ``t`` ``(V, T) + x.shape``."""
    axes = _vl_axes(axis, _vl_ndim(x))
    r = prod_others_tangent(_vl_in(t, 1), x, axis=axes)
    return _vl_out(r, 1)


def _vl_batched_array(x):
    """A batched value as one array ``(V,) + shape`` (vmap batches a list
    item by item: a list of ``(V,) + item shape`` arrays)."""
    if isinstance(x, (list, tuple)):
        return np.stack([_vl_batched_array(item) for item in x], axis=1)
    return np.asarray(x)


def _vl_weights(a, weights, axis, lead=0):
    """Batched weights ``(V,) + w.shape`` as full-rank weights of the lifted
    ``a``: 1-d weights along an int ``axis`` get size-1 axes elsewhere
    (``_average_weights`` places them by ``a``'s rank, which the vmap
    axis changes), then broadcast to ``a``'s shape. ``lead``: axes after
    the vmap axis (a tangent's rows) kept as they are. None stays None."""
    if weights is None:
        return None
    weights = _vl_batched_array(weights)
    shape = np.shape(a)
    if np.ndim(weights) - 1 - lead != len(shape) - 1 and axis is not None:
        axes = normalize_axes(axis, len(shape) - 1)
        weights = np.expand_dims(weights, tuple(1 + lead + i for i in range(len(shape) - 1) if i not in axes))
    return np.broadcast_to(weights, weights.shape[:1 + lead] + shape[1:])


def _vl_weights_bar(r, lead, weights, axis):
    """A contribution to the lifted full-rank weights, ``lead + (V,) +
    a.shape``, as ``(V,) + lead + weights.shape`` (summed over the axes that
    1-d weights were repeated along)."""
    if _vl_ndim(_vl_batched_array(weights)) != r.ndim - lead - 1:  # 1-d weights along an int axis
        ndim = r.ndim - lead - 1
        axes = normalize_axes(axis, ndim)
        summed = tuple(lead + 1 + i for i in range(ndim) if i not in axes)
        r = np.sum(r, axis=summed)
    return _vl_out(r, lead)


_VL_DIFFERS = object()


def _vl_option(value):
    """An option (an axis, ``keepdims``) that vmap handed batched, as the
    plain value every example shares, or ``_VL_DIFFERS``."""
    if isinstance(value, (list, tuple)):
        items = [_vl_option(v) for v in value]
        return _VL_DIFFERS if any(i is _VL_DIFFERS for i in items) else tuple(items)
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value.item()
        if value.dtype == object or value.shape[0] == 0 or not np.all(value == value[:1]):
            return _VL_DIFFERS
        if value.ndim == 2:  # a tuple of axes, batched as one array
            return tuple(value[0].tolist())
        return value[0].item() if value.ndim == 1 else _VL_DIFFERS
    return value


def _vl_average_lifts(g, axis, keepdims, weights, wrt_weights):
    """Whether ``vaverage_adjoint`` lifts the vmap axis (one call) rather
    than merging it with the cotangent's rows: with weights that differ
    between the examples, or for the weights' own adjoint (which reads
    ``a`` and ``z``, different in every example); ``axis`` and ``keepdims``
    must be the same in every example and ``g`` an array."""
    if weights is None or not isinstance(g, np.ndarray):
        return False
    if _vl_option(axis) is _VL_DIFFERS or _vl_option(keepdims) is _VL_DIFFERS:
        return False
    if wrt_weights:
        return True
    w = _vl_batched_array(weights)
    return w.ndim > 0 and w.dtype != object and not np.array_equal(w, np.broadcast_to(w[:1], w.shape))


def vaverage_adjoint_lifted(g, a, z, axis=None, weights=None, keepdims=False, wrt_weights=False):
    """``average_adjoint`` on a batch whose weights differ between the
    examples: ``g`` ``(V, G) + z.shape``; ``(V, G) + a.shape`` (or the
    weights' shape)."""
    axes = _vl_axes(axis, _vl_ndim(a))
    w = _vl_weights(a, weights, axis)
    r = average_adjoint(_vl_in(g, 1), a, z, axis=axes, weights=w, keepdims=keepdims, wrt_weights=wrt_weights)
    if wrt_weights:
        return _vl_weights_bar(r, 1, weights, axis)
    return _vl_out(r, 1)


def vaverage_adjoint_tangent(t, g, a, z, axis=None, weights=None, keepdims=False, wrt_weights=False, wrt="a"):
    """``average_adjoint_tangent`` on a batch: ``t`` the tangent of ``a``,
    ``z`` or the weights (``wrt``), ``(V, T) + its shape``."""
    axes = _vl_axes(axis, _vl_ndim(a))
    w = _vl_weights(a, weights, axis)
    if wrt == "weights":
        t = _vl_weights(a, t, axis, lead=1)
    r = average_adjoint_tangent(_vl_in(t, 1), _vl_in(g, 1), a, z, axis=axes, weights=w, keepdims=keepdims,
                                wrt_weights=wrt_weights, wrt=wrt)
    if wrt_weights:
        return _vl_weights_bar(r, 2, weights, axis)
    return _vl_out(r, 2)


def vaverage_tangent_weights(t, a, z, axis=None, weights=None, keepdims=False):
    """``average_tangent_weights`` on a batch: ``t`` ``(V, T) +`` the
    weights' shape (the tangent of weights that differ between the
    examples); ``(V, T) + z.shape``."""
    axes = _vl_axes(axis, _vl_ndim(a))
    w = _vl_weights(a, weights, axis)
    t = _vl_weights(a, t, axis, lead=1)
    r = average_tangent_weights(_vl_in(t, 1), a, z, axis=axes, weights=w, keepdims=keepdims)
    return _vl_out(r, 1)


def vquantile_adjoint(g, a, q=0.5, axis=None, method="linear", keepdims=False, scale=1.0, function="np.quantile"):
    """``quantile_adjoint`` on a batch with ``q`` shared by the examples:
    ``g`` is ``(V, G) + q.shape + the rest of z.shape``; the vmap axis goes
    after ``q``'s axes, where it is a kept axis of the lifted ``a``."""
    axes = _vl_axes(axis, _vl_ndim(a))
    g = np.moveaxis(np.asarray(g), 0, 1 + np.ndim(q))
    r = quantile_adjoint(g, a, q=q, axis=axes, method=method, keepdims=keepdims, scale=scale, function=function)
    return _vl_out(r, 1)


# ---------------------------------------------------------- np.cross


def _vl_cross_axes(a, b, axisa, axisb, axisc, axis):
    """np.cross's axes for operands padded to one rank after the vmap axis:
    ``(pad_a, pad_b, axisa, axisb, axisc)``."""
    if axis is not None:
        axisa = axisb = axisc = axis
    na, nb = _vl_ndim(a), _vl_ndim(b)
    rank = max(na, nb)
    pad_a, pad_b = rank - na, rank - nb
    axisa = axisa + 1 + pad_a if axisa >= 0 else axisa
    axisb = axisb + 1 + pad_b if axisb >= 0 else axisb
    axisc = axisc + 1 if axisc >= 0 else axisc
    return pad_a, pad_b, axisa, axisb, axisc


def vcross_tangent(t, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False):
    """``cross_tangent`` on a batch: ``t`` ``(V, T) +`` the shape of ``a``
    (``b`` with ``wrt_b``); ``(V, T) +`` the result's shape."""
    pad_a, pad_b, axisa, axisb, axisc = _vl_cross_axes(a, b, axisa, axisb, axisc, axis)
    r = cross_tangent(_vl_in(t, 1, pad_b if wrt_b else pad_a), _vl_in(a, 0, pad_a), _vl_in(b, 0, pad_b),
                      axisa=axisa, axisb=axisb, axisc=axisc, wrt_b=wrt_b)
    return np.moveaxis(r, 1, 0)


def vcross_adjoint_tangent(t, g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, wrt_b=False, of_b=False):
    """``cross_adjoint_tangent`` on a batch: ``t`` ``(V, T) +`` the shape of
    ``a`` (``b`` with ``of_b``), ``g`` ``(V, G) +`` the result's shape;
    ``(V, T, G) +`` the shape of ``a`` (``b`` with ``wrt_b``)."""
    pad_a, pad_b, axisa, axisb, axisc = _vl_cross_axes(a, b, axisa, axisb, axisc, axis)
    r = cross_adjoint_tangent(_vl_in(t, 1, pad_b if of_b else pad_a), _vl_in(g, 1), _vl_in(a, 0, pad_a),
                              _vl_in(b, 0, pad_b), axisa=axisa, axisb=axisb, axisc=axisc, wrt_b=wrt_b, of_b=of_b)
    return _vl_out(r, 2, pad_b if wrt_b else pad_a)


# ---------------------------------------------------------- np.cumprod


def _vl_scan_axis(a, axis):
    """np.cumprod's ``axis`` as an axis of the lifted value (None: the
    flattened examples, ``_vl_flat``)."""
    return 1 if axis is None or _vl_ndim(a) == 0 else axis % _vl_ndim(a) + 1


def _vl_flat(x, lead, axis):
    """``x`` with each example flattened where np.cumprod flattens (``axis=None``)."""
    if axis is None or np.ndim(x) == lead + 1:
        return np.reshape(x, np.shape(x)[:lead + 1] + (-1,))
    return x


def vcumprod_tangent(t, a, z, axis=None):
    """``cumprod_tangent`` on a batch: ``t`` ``(V, T) + a.shape``; ``(V, T) + z.shape``."""
    r = cumprod_tangent(_vl_in(_vl_flat(t, 1, axis), 1), _vl_flat(a, 0, axis), _vl_flat(z, 0, axis),
                        axis=_vl_scan_axis(a, axis))
    return _vl_out(r, 1)


def vcumprod_adjoint_tangent(t, g, a, axis=None):
    """``cumprod_adjoint_tangent`` on a batch: ``t`` ``(V, T) + a.shape``,
    ``g`` ``(V, G) + z.shape``; ``(V, T, G) + a.shape``."""
    r = cumprod_adjoint_tangent(_vl_in(_vl_flat(t, 1, axis), 1), _vl_in(_vl_flat(g, 1, axis), 1),
                                _vl_flat(a, 0, axis), axis=_vl_scan_axis(a, axis))
    r = _vl_out(r, 2)
    return np.reshape(r, np.shape(r)[:3] + np.shape(a)[1:])
