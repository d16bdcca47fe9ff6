"""vmap of the derivative helpers of scipy.stats.multivariate_normal.logpdf
and pdf (``mvn_logpdf_adjoint``, ``mvn_logpdf_tangent``): once on the
whole batch, with a covariance (and mean, points) per example, where they
ran once per example.

Takes batched arguments (the vmap axis ``V`` first; a cotangent ``(V, G) +
z.shape``, a tangent ``(V, T) +`` its argument's shape; ``mean`` may be
None). Gives what a loop over the examples gives: every covariance is read
as SciPy reads it (its lower triangle, mirrored) and must be invertible; a
covariance of another form (not one d x d matrix per example), or a
singular one, is refused by the per-example helper itself with its message.
"""
import numpy as np

from .batched import example
from .batched_reductions import vunbroadcast
from .scipy_slopes import mvn_solved


def _vmvn_solved(x, mean, cov):
    """``mvn_solved`` of every example: ``(r, s, symmetric covariances)``."""
    cov, x = np.asarray(cov), np.asarray(x)
    if cov.ndim != 3 or cov.shape[1] != cov.shape[2] or cov.shape[1] < 2 or x.ndim < 2 or x.shape[-1] != cov.shape[1]:
        mvn_solved(example(x, 0), example(mean, 0), example(cov, 0))  # (refuses with its message)
    lower = np.tril(cov, -1)
    d = cov.shape[-1]
    symmetric = lower + np.swapaxes(lower, -1, -2) + np.diagonal(cov, axis1=-2, axis2=-1)[..., None] * np.eye(d)
    spectrum = np.linalg.eigvalsh(symmetric)
    singular = spectrum.min(axis=-1) <= 1e6 * np.finfo(float).eps * np.abs(spectrum).max(axis=-1)
    if singular.any():
        first = int(np.argmax(singular))
        mvn_solved(example(x, first), example(mean, first), example(cov, first))  # (refuses with its message)
    if mean is None:
        r = x
    else:
        mean = np.asarray(mean)
        r = x - np.reshape(mean, mean.shape[:1] + (1,) * (x.ndim - mean.ndim) + mean.shape[1:])
    points = np.reshape(r, (r.shape[0], -1, d))
    s = np.swapaxes(np.linalg.solve(symmetric, np.swapaxes(points, -1, -2)), -1, -2)
    return r, np.reshape(s, r.shape), symmetric


def vmvn_logpdf_adjoint(g, x, mean, cov, wrt="x"):
    """``mvn_logpdf_adjoint`` on a batch: ``(V, G) +`` the shape of ``wrt``."""
    r, s, symmetric = _vmvn_solved(x, mean, cov)
    g = np.asarray(g)
    rows = np.reshape(g, g.shape[:2] + r.shape[1:-1])
    if wrt == "cov":
        d = s.shape[-1]
        flat = np.reshape(rows, rows.shape[:2] + (-1,))
        points = np.reshape(s, (s.shape[0], -1, d))
        inverse = np.linalg.inv(symmetric)
        full = -0.5 * (np.einsum("vbn,vij->vbij", flat, inverse)
                       - np.einsum("vbn,vni,vnj->vbij", flat, points, points))
        folded = np.tril(full + np.swapaxes(full, -1, -2), -1)
        return folded + np.einsum("vbii->vbi", full)[..., None] * np.eye(d)
    pulled = np.expand_dims(rows, -1) * s[:, None]
    return vunbroadcast(-pulled if wrt == "x" else pulled, x if wrt == "x" else mean)


def vmvn_logpdf_tangent(t, x, mean, cov, z, wrt="x"):
    """``mvn_logpdf_tangent`` on a batch: ``(V, T) + z.shape``."""
    r, s, symmetric = _vmvn_solved(x, mean, cov)
    t = np.asarray(t)
    if wrt == "cov":
        d = s.shape[-1]
        points = np.reshape(s, (s.shape[0], -1, d))
        inverse = np.linalg.inv(symmetric)
        lower = np.tril(t, -1)
        t = lower + np.swapaxes(lower, -1, -2) + np.einsum("vtii->vti", t)[..., None] * np.eye(d)
        pushed = -0.5 * (np.expand_dims(np.einsum("vtij,vji->vt", t, inverse), -1)
                         - np.einsum("vtij,vni,vnj->vtn", t, points, points))
    else:
        missing = (r.ndim - 1) - (t.ndim - 2)
        lifted = np.reshape(t, t.shape[:2] + (1,) * missing + t.shape[2:])
        pushed = np.sum(lifted * s[:, None], axis=-1)
        if wrt == "x":
            pushed = -pushed
    return np.reshape(pushed, t.shape[:2] + np.shape(z)[1:])
