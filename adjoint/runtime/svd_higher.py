"""Third derivatives through the factors of ``np.linalg.svd``: the tangent
of ``svd_adjoint_tangent`` (rules in ``rules/runtime_arrays.py``).

``svd_adjoint_tangent`` (second order) is the derivative of
``svd_pullback`` along the factors' tangent, by a complex step. Its own
derivative along a second tangent of the factors is a mixed second
derivative, which one complex step cannot give; here the first derivative
is written out (``svd_pullback_tangent``, the product rule over
``svd_pullback``'s products, sums and quotients: analytic in the factors
again), and the second one is its complex step. A fourth derivative through
the factors is refused (``refuse_tangent``).
"""
import numpy as np

from .indexing import MissingRule, batch_size
from .linalg import _mT, _result_bars, _svd_gaps
from .second_order_arrays import _COMPLEX_STEP, _ra_pair_items, _ra_zeros, singular_values_adjoint_tangent


def svd_pullback_tangent(u, s, v, u_bar, s_bar, v_bar, du, ds, dv):
    """The derivative of ``svd_pullback(u, s, v, u_bar, s_bar, v_bar)``
    along the factors' tangent ``(du, ds, dv)`` (the cotangents held fixed),
    written with products, sums and quotients only, like the pullback (so
    that it is analytic in the factors: its own tangent is a complex step).
    Operands broadcast over their leading axes."""
    f = _svd_gaps(s)
    s_row, s_col = s[..., None, :], s[..., :, None]
    ds_row, ds_col = ds[..., None, :], ds[..., :, None]
    df = -(f * f) * (2.0 * s_row * ds_row - 2.0 * s_col * ds_col)
    u_t, v_t, du_t, dv_t = _mT(u), _mT(v), _mT(du), _mT(dv)
    ub_t, vb_t = _mT(u_bar), _mT(v_bar)
    a_part = u_t @ u_bar - ub_t @ u
    da_part = du_t @ u_bar - ub_t @ du
    b_part = v_t @ v_bar - vb_t @ v
    db_part = dv_t @ v_bar - vb_t @ dv
    inner = s_bar[..., None, :] * np.eye(s.shape[-1]) + (f * a_part) * s_row + s_col * (f * b_part)
    d_inner = ((df * a_part + f * da_part) * s_row + (f * a_part) * ds_row
               + ds_col * (f * b_part) + s_col * (df * b_part + f * db_part))
    result = du @ inner @ v_t + u @ d_inner @ v_t + u @ inner @ dv_t
    left = u_bar - u @ (u_t @ u_bar)
    d_left = -(du @ (u_t @ u_bar) + u @ (du_t @ u_bar))
    right = v_t / s_col
    d_right = dv_t / s_col - v_t * ds_col / (s_col * s_col)
    result = result + d_left @ right + left @ d_right
    scaled = u / s_row
    d_scaled = du / s_row - u * ds_row / (s_row * s_row)
    rest = vb_t - (vb_t @ v) @ v_t
    d_rest = -((vb_t @ dv) @ v_t + (vb_t @ v) @ dv_t)
    return result + d_scaled @ rest + scaled @ d_rest


def _factor_tangents(t, z):
    """The factors' tangent ``(t_u, t_s, t_vh)`` with zeros for a missing one
    (``(T,) + factor.shape``)."""
    parts = _ra_pair_items(t, 3)
    lead = next(p for p in parts if p is not None)
    return [np.zeros((np.shape(lead)[0],) + np.shape(z[k])) if parts[k] is None else np.asarray(parts[k])
            for k in range(3)]


def _zeros(t2, t, g, a):
    lead = next(p for p in _ra_pair_items(t2, 3) if p is not None) if not isinstance(t2, np.ndarray) else t2
    first = next(p for p in _ra_pair_items(t, 3) if p is not None) if not isinstance(t, np.ndarray) else t
    return np.zeros((np.shape(lead)[0], np.shape(first)[0], batch_size(g)) + np.shape(a))


def svd_adjoint_second_tangent(t2, t, g, a, z, full_matrices=True, compute_uv=True, wrt="z"):
    """The tangent along ``t2``, the factors' tangent, of
    ``svd_adjoint_tangent(t, g, a, z, ...)``: ``(T2, T1, B) + a.shape``.
    With the factors and ``wrt="z"`` it is the complex step of
    ``svd_pullback_tangent`` along ``t2``; otherwise the second-order
    helper does not read the factors (zero)."""
    if not compute_uv or wrt == "a":
        return _zeros(t2, t, g, a)
    u_bar, s_bar, vh_bar = _result_bars(g, 3, "np.linalg.svd", ("S", "u, s, vh = np.linalg.svd(a)"))
    u, s, vh = (np.asarray(item) for item in z)
    batch = batch_size(g)
    u_bar = np.zeros((batch,) + u.shape) if u_bar is None else u_bar
    s_bar = np.zeros((batch,) + s.shape) if s_bar is None else s_bar
    v_bar = np.zeros((batch,) + _mT(vh).shape) if vh_bar is None else _mT(vh_bar)
    t_u, t_s, t_vh = _factor_tangents(t, z)  # (T1,) + factor
    w_u, w_s, w_vh = _factor_tangents(t2, z)  # (T2,) + factor
    h = _COMPLEX_STEP
    # axes (T2, T1, B) + matrix
    stepped = svd_pullback_tangent(
        (u + 1j * h * w_u)[:, None, None], (s + 1j * h * w_s)[:, None, None], _mT(vh + 1j * h * w_vh)[:, None, None],
        u_bar[None, None], s_bar[None, None], v_bar[None, None],
        t_u[None, :, None], t_s[None, :, None], _mT(t_vh)[None, :, None])
    return stepped.imag / h


def svd_adjoint_second_tangent_a(t2, t, g, a, z, full_matrices=True, compute_uv=True, wrt="z"):
    """The tangent along ``t2``, the tangent of ``a``, of
    ``svd_adjoint_tangent(t, g, a, z, ...)``: zero where that helper reads
    ``a`` for its shape only (the factors); refused (when it runs) for the
    singular values alone along ``a``, whose third derivative goes through
    np.linalg.svdvals or compute_uv=False on its own."""
    if compute_uv or wrt == "z":
        return _zeros(t2, t, g, a)
    raise MissingRule(
        "np.linalg.svd(a, compute_uv=False): a third derivative through the tangent code of np.linalg.svd "
        "is not supported. Use np.linalg.svdvals(a) (NumPy 2), whose derivatives go to any order.")


def svd_adjoint_tangent_a(t, g, a, z, full_matrices=True, compute_uv=True):
    """``svd_adjoint_tangent(t, g, a, z, ..., wrt="a")``, the tangent of
    ``svd_adjoint`` along the tangent ``t`` of ``a``: zero with the factors
    (``a`` read for its shape), ``singular_values_adjoint_tangent`` for the
    singular values alone. Without a tangent rule of its own: its next
    derivative is taken from this source (NumPy code, like
    ``singular_values_adjoint_tangent``'s)."""
    if not compute_uv:
        return singular_values_adjoint_tangent(t, g, a, compute_uv=False)
    return _ra_zeros(t, g, a)
