"""vmap of the derivative helpers of np.convolve and np.correlate (1-d
operands): ``convolve_adjoint``, ``convolve_tangent`` and
``convolve_adjoint_tangent`` (and their np.correlate forms) once on the
whole batch, where they ran once per example.

Takes batched arguments as vmap hands them: the vmap axis ``V`` first, then
a cotangent's rows ``(V, G, length)``, a tangent's ``(V, T) + shape``, a
primal ``(V,) + shape`` (each example's ``a`` and ``v`` of one length).
Gives ``(V,) +`` the helper's result for one example, the numbers of a loop
over the examples. The sliding windows are gathered with an index array
(no strided view), so the code is differentiated and batched again as
source (``jacfwd(vmap(jacrev(f)))``, nested vmap).
"""
import numpy as np

from .reductions import convolve_adjoint, correlate_adjoint
from .tangent_linalg import _convolve_start
from .batched_derivatives import MERGE_BATCHED


def _vc_windows(n, k):
    """The index ``i + j`` of window ``i`` (of ``n - k + 1``), position ``j`` (of ``k``)."""
    return np.arange(n - k + 1)[:, None] + np.arange(k)[None, :]


def _vc_lengths(a, v):
    """The lengths of one example of ``a`` and of ``v``."""
    return int(np.size(a) // np.shape(a)[0]), int(np.size(v) // np.shape(v)[0])


def _vc_pads(n, m, mode, correlate, length):
    """Zeros before and after a cotangent of ``length`` that make it the
    full convolution's (``_convolve_full_cotangent``)."""
    start = _convolve_start(n, m, mode, correlate)
    return start, n + m - 1 - start - length


def _vc_full(g, n, m, mode, correlate):
    """The cotangent ``(V, G, length)`` padded to the full convolution's length."""
    before, after = _vc_pads(n, m, mode, correlate, np.shape(g)[-1])
    return np.pad(g, ((0, 0), (0, 0), (before, after)))


def vconvolve_adjoint(g, a, v, mode="full", wrt_v=False, correlate=False):
    """``convolve_adjoint`` on a batch: ``(V, G) +`` the shape of ``a`` (``v``)."""
    n, m = _vc_lengths(a, v)
    a_rows = np.reshape(a, (-1, n))
    v_rows = np.reshape(v, (-1, m))
    full = _vc_full(np.asarray(g), n, m, mode, correlate)
    if wrt_v:
        windows = full[:, :, _vc_windows(n + m - 1, n)]  # (V, G, m, n)
        bar = np.einsum("vgkn,vn->vgk", windows, a_rows)
        if correlate:
            bar = bar[..., ::-1]
        return np.reshape(bar, np.shape(g)[:2] + np.shape(v)[1:])
    w = v_rows[:, ::-1] if correlate else v_rows
    windows = full[:, :, _vc_windows(n + m - 1, m)]  # (V, G, n, m)
    return np.reshape(np.einsum("vgkm,vm->vgk", windows, w), np.shape(g)[:2] + np.shape(a)[1:])


def vcorrelate_adjoint(g, a, v, mode="valid", wrt_v=False):
    """``correlate_adjoint`` on a batch."""
    return vconvolve_adjoint(g, a, v, mode, wrt_v=wrt_v, correlate=True)


def vconvolve_tangent(t, a, v, z, mode="full", wrt_v=False, correlate=False):
    """``convolve_tangent`` on a batch: ``t`` ``(V, T) +`` the shape of ``a``
    (``v``); ``(V, T, len(z))``."""
    n, m = _vc_lengths(a, v)
    t = np.asarray(t)
    rows = np.reshape(t, t.shape[:2] + (-1,))
    if wrt_v:
        fixed = np.reshape(a, (-1, n))
        if correlate:
            rows = rows[..., ::-1]
    else:
        fixed = np.reshape(v, (-1, m))
        if correlate:
            fixed = fixed[:, ::-1]
    width = fixed.shape[1]
    padded = np.pad(rows, ((0, 0), (0, 0), (width - 1, width - 1)))
    windows = padded[:, :, _vc_windows(padded.shape[2], width)]  # (V, T, n + m - 1, width)
    full = np.einsum("vtkw,vw->vtk", windows, fixed[:, ::-1])
    start = _convolve_start(n, m, mode, correlate)
    return full[:, :, start:start + np.shape(z)[-1]]


def vcorrelate_tangent(t, a, v, z, mode="valid", wrt_v=False):
    """``correlate_tangent`` on a batch."""
    return vconvolve_tangent(t, a, v, z, mode, wrt_v=wrt_v, correlate=True)


def vconvolve_adjoint_tangent(t, g, a, v, mode="full", wrt_v=False, correlate=False, of_v=False):
    """``convolve_adjoint_tangent`` on a batch: ``t`` ``(V, T) +`` the shape
    of ``v`` (``of_v``) or ``a``, ``g`` ``(V, G, length)``; ``(V, T, G) +``
    the shape of ``v`` (``wrt_v``) or ``a``."""
    like = v if wrt_v else a
    t, g = np.asarray(t), np.asarray(g)
    if of_v == wrt_v:
        dtype = np.result_type(t, g, np.float64)
        return np.zeros(t.shape[:2] + g.shape[1:2] + np.shape(like)[1:], dtype=dtype)
    n, m = _vc_lengths(a, v)
    full = _vc_full(g, n, m, mode, correlate)
    rows = np.reshape(t, t.shape[:2] + (-1,))
    if not wrt_v and correlate:
        rows = rows[..., ::-1]
    windows = full[:, :, _vc_windows(n + m - 1, rows.shape[2])]  # (V, G, length, k)
    part = np.einsum("vglk,vtk->vtgl", windows, rows)
    if wrt_v and correlate:
        part = part[..., ::-1]
    return np.reshape(part, part.shape[:3] + np.shape(like)[1:])


def vcorrelate_adjoint_tangent(t, g, a, v, mode="valid", wrt_v=False, of_v=False):
    """``correlate_adjoint_tangent`` on a batch."""
    return vconvolve_adjoint_tangent(t, g, a, v, mode, wrt_v=wrt_v, correlate=True, of_v=of_v)


# rt.merged of the adjoints on a batch (their tangents in vmap(hessian(f)),
# where they read operands that differ between the examples): the batched
# forms above, the tangent rows joined to the cotangent's (``_merged_by_rows``).
MERGE_BATCHED[convolve_adjoint] = vconvolve_adjoint
MERGE_BATCHED[correlate_adjoint] = vcorrelate_adjoint
