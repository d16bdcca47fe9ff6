"""Helpers of rules/scipy_stats_more.py and of the scipy.stats calls the
normalizer rewrites (frontend/normalize_scipy.py), written with NumPy alone
(forward mode differentiates their source where they carry a derivative):

- dirichlet's alpha given x's rank, and the sum of a cotangent over x's
  trailing positions;
- the sign of ``sum(b * exp(a))`` that ``logsumexp(..., return_sign=True)``
  returns, which carries no derivative."""
import numpy as np


class ValueRefused(ValueError):
    """A value the derivative code refuses (dirichlet's x without its last
    category): the transforms put the user's file:line first in the message."""


def dirichlet_column(alpha, x):
    """``alpha`` (its last axis the k categories; a tangent's batch axis
    first) with axes of length 1 appended for ``x``'s trailing positions,
    so that it lines up with ``x``'s first axis. The form of x that leaves
    out the last category (k - 1 rows) is refused."""
    k, rows = np.shape(alpha)[-1], np.shape(x)[0] if np.ndim(x) else 0
    if rows != k:
        raise ValueRefused(
            f"scipy.stats.dirichlet: x has {rows} rows along its first axis and alpha {k} entries: adjoint "
            "differentiates x with all k categories given (x.shape[0] == len(alpha)). Append the last "
            "category, 1 - sum(x, axis=0), to x yourself.")
    return np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))


def dirichlet_alpha_bar(g, alpha):
    """A cotangent ``(B, k) + trailing`` summed over its trailing axes: the
    cotangent of alpha ``(B, k)``."""
    return np.sum(g, axis=tuple(range(2, np.ndim(g)))) if np.ndim(g) > 2 else g


def logsumexp_sign(a, axis=None, b=None):
    """The sign of ``sum(b * exp(a))`` along ``axis``, with the reduced axes
    kept (length 1): 1 where the sum is positive, -1 where negative, 0
    where it is 0 (SciPy's ``return_sign`` convention)."""
    a = np.asarray(a, dtype=float)
    if b is not None:
        a = a + np.zeros(np.shape(b))
    peak = np.max(a, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    total = np.exp(a - peak)
    if b is not None:
        total = b * total
    return np.sign(np.sum(total, axis=axis, keepdims=True))


def logsumexp_sign_shaped(sign, axis=None, keepdims=False):
    """``logsumexp_sign``'s result with the reduced axes removed unless
    ``keepdims``: the shape of logsumexp's result."""
    if keepdims:
        return sign
    if axis is None:
        return np.reshape(sign, ())
    return np.squeeze(sign, axis=axis)


#: methods of scipy.stats' univariate frozen distributions that call the
#: distribution's own with the user's positional arguments, then the frozen ones
FROZEN_METHODS = frozenset({"pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf", "pmf", "logpmf",
                            "mean", "var", "std", "median", "entropy", "support", "moment", "interval", "stats"})


def frozen_distribution_call(receiver, name, args, kwargs):
    """``receiver.name(*args, **kwargs)`` on a univariate frozen distribution
    of scipy.stats (made elsewhere, passed in) as the call of the module's
    distribution it is a copy of, whose rules are registered: ``(method,
    args + frozen args, kwargs + frozen keywords)``; None for other objects
    and calls (keywords of the user's, other methods)."""
    import sys

    stats = sys.modules.get("scipy.stats")
    frozen = getattr(getattr(stats, "_distn_infrastructure", None), "rv_frozen", None)
    if frozen is None or not isinstance(receiver, frozen) or name not in FROZEN_METHODS or kwargs:
        return None
    dist_name = getattr(receiver.dist, "name", None)
    canonical = getattr(stats, dist_name, None) if isinstance(dist_name, str) else None
    if type(canonical) is not type(receiver.dist):
        return None
    return getattr(canonical, name), tuple(args) + tuple(receiver.args), dict(receiver.kwds)
