"""Helpers of the SciPy rules (rules/scipy_special.py, rules/scipy_signal.py),
written with NumPy alone: the weighted logsumexp's slope, and the windows
that place a convolution's ``mode="same"`` or ``"valid"`` result inside its
``"full"`` result (and back).

The logsumexp slope has no rule of its own: forward mode differentiates its
source (it is NumPy code). The window and its transpose are linear and have
rules in rules/scipy_signal.py: each is the other's adjoint."""
import numpy as np

from .batched import stack_examples, warn_per_example


def logsumexp_slope(a, z, axis=None, b=None, keepdims=False):
    """The slope of ``z = logsumexp(a, axis, b=b, keepdims=keepdims)`` in
    ``a``: ``b * exp(a - z)``, with ``z`` given back the reduced axes
    (``exp(a - z)`` without ``b``: the softmax of ``a`` along ``axis``, which
    is also the slope in ``b``). Its shape is that of ``a`` and ``b``
    broadcast together."""
    if b is not None:
        a = a + np.zeros_like(b)  # broadcast a against b as logsumexp does
    if not keepdims:
        z = np.expand_dims(z, _reduced_axes(axis, np.ndim(a))) if axis is not None else np.reshape(
            z, (1,) * np.ndim(a))
    slope = np.exp(a - z)
    if b is not None:
        slope = b * slope
    return slope


def _reduced_axes(axis, ndim):
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(sorted(int(x) % ndim for x in axes))


def _vaxes(axis, ndim):
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, (tuple, list)):
        return tuple(int(x) % ndim + 1 for x in axis)
    return int(axis) % ndim + 1


# ----------------------------------------------------------------- convolution windows

def convolution_window(mode, in1, in2, swapped=False):
    """Where the ``mode`` result of an n-d convolution (or correlation) of
    ``in1`` with ``in2`` starts inside the ``"full"`` one, axis by axis, as
    scipy.signal places it: ``"same"`` is centred on ``in1``'s shape,
    ``"valid"`` keeps the positions where one input covers the other."""
    s1, s2 = np.shape(in1), np.shape(in2)
    if mode == "full":
        return tuple(0 for _ in s1)
    if mode == "same":
        return tuple((n2 - 1) // 2 for n2 in s2)
    if mode == "valid":
        return tuple(min(n1, n2) - 1 for n1, n2 in zip(s1, s2))
    raise ValueError(f"acceptable mode flags are 'valid', 'same', or 'full' (got {mode!r})")


def window_of(c, starts, like):
    """``c``'s trailing ``len(starts)`` axes cut to ``like``'s trailing
    shape from ``starts`` (leading axes, a batch axis among them, kept)."""
    k = len(starts)
    lengths = np.shape(like)[np.ndim(like) - k:]
    index = (Ellipsis,) + tuple(slice(s, s + n) for s, n in zip(starts, lengths))
    return c[index]


def window_into(g, starts, like):
    """The transpose of ``window_of``: ``g`` placed at ``starts`` in zeros
    whose trailing shape is ``like``'s (leading axes kept)."""
    g = np.asarray(g)
    k = len(starts)
    shape = g.shape[:g.ndim - k] + np.shape(like)[np.ndim(like) - k:]
    out = np.zeros(shape, dtype=np.result_type(g, np.float64))
    index = (Ellipsis,) + tuple(slice(s, s + n) for s, n in zip(starts, g.shape[g.ndim - k:]))
    out[index] = g
    return out


def window_after(start, other):
    """Where the window of an adjoint starts in ``correlate(g, other,
    "full")`` when ``g`` is the window at ``start`` of a full convolution
    with ``other``: ``len(other) - 1 - start``, axis by axis."""
    return tuple(n - 1 - s for n, s in zip(np.shape(other), start))


def vlogsumexp_slope(a, z, axis=None, b=None, keepdims=False):
    """``logsumexp_slope`` of every example: ``a``, ``z`` and ``b`` carry a
    leading batch axis (of size 1 when unbatched); ``a`` and ``b`` are
    aligned from the right as one example's are."""
    a, z = np.asarray(a), np.asarray(z)
    ndim = a.ndim - 1 if b is None else max(a.ndim, np.ndim(b)) - 1
    a = a.reshape(a.shape[:1] + (1,) * (ndim - (a.ndim - 1)) + a.shape[1:])
    if b is not None:
        b = np.asarray(b)
        b = b.reshape(b.shape[:1] + (1,) * (ndim - (b.ndim - 1)) + b.shape[1:])
    return logsumexp_slope(a, z, axis=_vaxes(axis, ndim), b=b, keepdims=keepdims)


# ----------------------------------------------------------------- multivariate normal

class MultivariateNormalForm(ValueError):
    """A multivariate_normal call whose derivative is not followed (a
    covariance that is not one d x d matrix, a 1-d distribution)."""


def mvn_covariance(cov):
    """The covariance ``multivariate_normal`` computes with: SciPy reads the
    lower triangle of ``cov`` (its eigendecomposition does) and mirrors it,
    so an asymmetric ``cov`` stands for that symmetric matrix. A covariance
    SciPy takes as singular (``allow_singular=True``: it then works on the
    pseudo-inverse) is refused: the derivative here needs an invertible one."""
    cov = np.asarray(cov)
    lower = np.tril(cov, -1)
    symmetric = lower + np.swapaxes(lower, -1, -2) + np.diag(np.diagonal(cov))
    spectrum = np.linalg.eigvalsh(symmetric)
    if spectrum.min() <= 1e6 * np.finfo(float).eps * np.abs(spectrum).max():  # SciPy's cut (stats _PSD)
        raise MultivariateNormalForm(
            "multivariate_normal's derivative needs an invertible covariance, and this one is singular "
            f"(smallest eigenvalue {spectrum.min():.3g}; SciPy uses its pseudo-inverse with allow_singular=True). "
            "Make the covariance positive definite (add a small multiple of np.eye(d)), or write the "
            "density on the subspace yourself.")
    return symmetric


def mvn_solved(x, mean, cov):
    """``(r, s)``: the residuals ``r = x - mean`` (points along the last
    axis) and ``s = cov^-1 r`` point by point, for the derivatives of
    ``multivariate_normal.logpdf(x, mean, cov)`` (``logpdf = -(d log 2 pi +
    log det cov + r . s) / 2``), ``cov`` read as SciPy reads it
    (``mvn_covariance``)."""
    cov = np.asarray(cov)
    x = np.asarray(x)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.shape[0] < 2 or x.ndim < 1 or (
            x.shape[-1] != cov.shape[0]):
        raise MultivariateNormalForm(
            "multivariate_normal's derivative is followed for a covariance given as one d x d matrix "
            f"(d >= 2) and points x along the last axis (got x of shape {x.shape}, cov of shape {cov.shape}). "
            "Pass cov as a full matrix (np.diag(v) for a diagonal one) and x with its points in rows.")
    cov = mvn_covariance(cov)
    r = x if mean is None else x - mean
    d = cov.shape[0]
    s = np.linalg.solve(cov, np.reshape(r, (-1, d)).T).T
    return r, np.reshape(s, np.shape(r))


def mvn_logpdf_adjoint(g, x, mean, cov, wrt="x"):
    """The contribution of the batched cotangent ``g`` of
    ``multivariate_normal.logpdf(x, mean, cov)`` to ``wrt`` (x, mean or
    cov; SciPy reads cov's lower triangle: each entry of it stands for
    itself and its mirror image, the upper triangle gets nothing, and for a
    symmetric cov built from differentiated values the total is the
    symmetric gradient other libraries give)."""
    r, s = mvn_solved(x, mean, cov)
    rows = np.reshape(g, g.shape[:1] + r.shape[:-1])
    if wrt == "cov":
        d = s.shape[-1]
        flat = np.reshape(rows, (rows.shape[0], -1))
        points = np.reshape(s, (-1, d))
        inverse = np.linalg.inv(mvn_covariance(cov))
        full = -0.5 * (np.einsum("bn,ij->bij", flat, inverse) - np.einsum("bn,ni,nj->bij", flat, points, points))
        folded = np.tril(full + np.swapaxes(full, -1, -2), -1)
        return folded + np.einsum("bii->bi", full)[:, :, None] * np.eye(d)
    pulled = np.expand_dims(rows, -1) * s
    if wrt == "x":
        return _unbroadcast_to(-pulled, x)
    return _unbroadcast_to(pulled, mean)


def mvn_logpdf_tangent(t, x, mean, cov, z, wrt="x"):
    """The tangent of ``multivariate_normal.logpdf(x, mean, cov)`` (shape
    ``(B,) + z.shape``) along the batched tangent ``t`` of ``wrt``."""
    r, s = mvn_solved(x, mean, cov)
    if wrt == "cov":
        d = s.shape[-1]
        points = np.reshape(s, (-1, d))
        inverse = np.linalg.inv(mvn_covariance(cov))
        lower = np.tril(t, -1)  # the tangent of the symmetric matrix SciPy reads (mvn_covariance)
        t = lower + np.swapaxes(lower, -1, -2) + np.einsum("bii->bi", t)[:, :, None] * np.eye(d)
        pushed = -0.5 * (np.expand_dims(np.einsum("bij,ji->b", t, inverse), -1)
                         - np.einsum("bij,ni,nj->bn", t, points, points))
    else:
        lifted = np.broadcast_to(np.reshape(t, t.shape[:1] + (1,) * (r.ndim - (t.ndim - 1)) + t.shape[1:]),
                                 t.shape[:1] + r.shape)
        pushed = np.sum(lifted * s, axis=-1)
        if wrt == "x":
            pushed = -pushed
    return np.reshape(pushed, t.shape[:1] + np.shape(z))


def _unbroadcast_to(g, x):
    shape = np.shape(x)
    extra = g.ndim - 1 - len(shape)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(1, 1 + extra)))
    axes = tuple(i + 1 for i, n in enumerate(shape) if n == 1 and g.shape[i + 1] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return g


# ----------------------------------------------------------------- banded and Sylvester systems

def _band_positions(l_and_u, n):
    lower, upper = (int(k) for k in l_and_u)
    i, j = np.indices((n, n))
    row = upper + i - j
    inside = (row >= 0) & (row <= lower + upper)
    return np.where(inside, row, 0), j, inside


def banded_matrix(l_and_u, ab):
    """The dense matrix of scipy.linalg.solve_banded's band storage ``ab``
    (``ab[u + i - j, j] = a[i, j]``), over ``ab``'s trailing two axes."""
    ab = np.asarray(ab)
    row, column, inside = _band_positions(l_and_u, ab.shape[-1])
    return np.where(inside, ab[..., row, column], 0.0)


def band_of(m, l_and_u, ab):
    """The transpose of ``banded_matrix``: the band of the dense ``m`` (over
    its trailing two axes) in the storage of ``ab`` (0 where the storage
    holds no entry of the matrix)."""
    m = np.asarray(m)
    ab_shape = np.shape(ab)
    n = m.shape[-1]
    lower, upper = (int(k) for k in l_and_u)
    out = np.zeros(m.shape[:-2] + tuple(ab_shape[-2:]), dtype=np.result_type(m, np.float64))
    for r in range(lower + upper + 1):
        # ab[r, j] = a[j + r - upper, j] where that row exists
        start, stop = max(0, upper - r), min(n, n + upper - r)
        columns = np.arange(start, stop)
        out[..., r, columns] = m[..., columns + r - upper, columns]
    return out


def sylvester_each(solve, a, b, q):
    """``solve(a, b, q_k)`` (scipy.linalg.solve_sylvester: ``a x + x b = q``)
    for every matrix ``q_k`` of the stack ``q`` (any leading axes)."""
    q = np.asarray(q)
    flat = np.reshape(q, (-1,) + q.shape[-2:])
    solved = [solve(a, b, item) for item in flat]
    out = np.stack(solved) if solved else np.zeros(flat.shape)
    return np.reshape(out, q.shape)


def sylvester_factor_bar(y, z, wrt="a"):
    """The adjoint of ``a`` (``wrt="a"``: ``-sum y z^T``) or of ``b`` (``-sum
    z^T y``) in ``z = sylvester_each(solve, a, b, q)``, with ``y`` the
    batched adjoint of ``q`` (shape ``(C,) + z.shape``), summed over ``z``'s
    leading axes."""
    m, n = np.shape(z)[-2:]
    yf = np.reshape(y, (y.shape[0], -1, m, n))
    zf = np.reshape(z, (1, -1, m, n))
    if wrt == "a":
        return -np.sum(yf @ np.swapaxes(zf, -1, -2), axis=1)
    return -np.sum(np.swapaxes(zf, -1, -2) @ yf, axis=1)


def sylvester_factor_dot(t, z, wrt="a"):
    """``-t z`` (``wrt="a"``) or ``-z t`` for every row of the batched tangent
    ``t`` of ``a`` (or ``b``) and every matrix of ``z``: the right-hand side
    whose Sylvester solution is the tangent of ``z``."""
    m, n = np.shape(z)[-2:]
    zf = np.reshape(z, (1, -1, m, n))
    t = np.expand_dims(t, 1)
    moved = -(t @ zf) if wrt == "a" else -(zf @ t)
    return np.reshape(moved, (t.shape[0],) + np.shape(z))


# ----------------------------------------------------------------- the root of a sum of squares

def root_sum_squares(x, axis=None, keepdims=False):
    """``np.sqrt(np.sum(x ** 2, axis=axis, keepdims=keepdims))``, computed
    exactly so: the user's expression, fused by the front end
    (frontend/normalize_functional.py) so that its derivative at a zero sum
    is the norm's subgradient 0 (the chain rule through np.sqrt meets inf * 0
    there)."""
    return np.sqrt(np.sum(x ** 2, axis=axis, keepdims=keepdims))


def vloop(batch, function, *args, shared=0, **kwargs):
    """``function`` once per example, results stacked: the first ``shared``
    positional arguments are the same for every example, the others carry a
    leading batch axis (None, an optional argument left out, stays None).
    The batching rule of SciPy functions without a batched form, and the
    fallback of those with one: announced (a RuntimeWarning) and counted by
    ``PER_EXAMPLE_LOOPS``, as every loop over the examples is."""
    warn_per_example(f"{getattr(function, '__module__', '')}.{getattr(function, '__name__', function)}")
    results = []
    for row in range(batch):
        example = [a if i < shared or a is None else a[row] for i, a in enumerate(args)]
        results.append(function(*example, **kwargs))
    return stack_examples([np.asarray(r) for r in results], announced=True)
