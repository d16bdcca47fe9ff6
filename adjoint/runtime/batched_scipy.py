"""Batched forms of SciPy functions that take one example at a time.

vmap's batching rules of ``scipy.signal.convolve`` / ``correlate``,
``scipy.linalg.solve_banded`` / ``solve_sylvester`` and
``scipy.stats.multivariate_normal.logpdf`` / ``pdf`` call these on the
whole batch (every argument with its leading batch axis) instead of SciPy
once per example:

- n-d convolution: a sliding-window product over the example's axes
  (``method="direct"``, and integers) or products of FFTs along them
  (``"fft"``; ``"auto"`` picks by size), then SciPy's window for the mode;
- banded systems: the dense matrices of the band storage, one
  ``np.linalg.solve`` of the stack;
- Sylvester's ``a x + x b = q``: the Kronecker system ``(a (x) I + I (x) b^T)
  vec(x) = vec(q)`` solved for the stack when it is small (``n m <= 64``);
- the multivariate normal: SciPy's own method (an eigendecomposition of the
  covariance, its pseudo-determinant and whitening), for the stack.

Anything else (a larger Sylvester system, a covariance given as a number or
a diagonal, a covariance SciPy refuses) runs once per example through
``rt.vloop``, which warns and is counted. NumPy only: SciPy's functions are
handed in by the generated code.
"""
import math

import numpy as np

from .scipy_slopes import vloop

#: at most this many unknowns per example are solved as one Kronecker system
SYLVESTER_KRONECKER_SIZE = 64


# ----------------------------------------------------------------- convolution

def _window_index(sizes, kernel):
    """Index arrays gathering the windows of ``kernel``'s shape from axes of
    ``sizes`` (``sliding_window_view``'s values, as a gather: the code is
    differentiated again, ``jacrev(vmap(f))``, and a strided view has no
    derivative): ``(positions..., offsets...)`` after the batch axis."""
    count = len(kernel)
    index = []
    for axis, (size, k) in enumerate(zip(sizes, kernel, strict=True)):
        shape = [1] * (2 * count)
        shape[axis] = size - k + 1
        positions = np.reshape(np.arange(size - k + 1), shape)
        shape = [1] * (2 * count)
        shape[count + axis] = k
        index.append(positions + np.reshape(np.arange(k), shape))
    return tuple(index)


def _full_direct(in1, in2):
    """The full n-d convolution of every example: ``in1`` padded by the
    kernel's size less one on both sides of each example axis, its windows
    times the flipped kernel."""
    kernel = in2.shape[1:]
    pad = [(0, 0)] + [(k - 1, k - 1) for k in kernel]
    padded = np.pad(in1, pad)
    axes = tuple(range(1, in1.ndim))
    windows = padded[(slice(None),) + _window_index(padded.shape[1:], kernel)]
    flipped = np.flip(in2, axis=axes)
    count = len(kernel)
    letters = "abcdefghijklmnopqrstuvw"[:count]
    upper = letters.upper()
    return np.einsum(f"z{letters}{upper}, z{upper}->z{letters}", windows, flipped)


def _full_fft(in1, in2):
    """The full n-d convolution of every example by FFTs along its axes."""
    axes = tuple(range(1, in1.ndim))
    shape = [in1.shape[a] + in2.shape[a] - 1 for a in axes]
    fast = [_fast_length(s) for s in shape]
    product = np.fft.rfftn(in1, fast, axes=axes) * np.fft.rfftn(in2, fast, axes=axes)
    full = np.fft.irfftn(product, fast, axes=axes)
    return full[(slice(None),) + tuple(slice(0, s) for s in shape)]


def _fast_length(n):
    """The smallest 2^a 3^b 5^c at least ``n`` (a fast FFT length)."""
    best = 1 << max(n - 1, 0).bit_length()
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            length = power35
            while length < n:
                length *= 2
            best = min(best, length)
            power35 *= 3
        power5 *= 5
    return best


def _window(full, shape1, shape2, mode):
    """SciPy's ``mode`` window of the full convolution of examples of shapes
    ``shape1`` and ``shape2``."""
    if mode == "full":
        return full
    if mode == "same":
        starts, sizes = [(k - 1) // 2 for k in shape2], list(shape1)
    else:  # valid: where one operand covers the other in every axis
        sizes = [max(n, k) - min(n, k) + 1 for n, k in zip(shape1, shape2, strict=True)]
        starts = [min(n, k) - 1 for n, k in zip(shape1, shape2, strict=True)]
    return full[(slice(None),) + tuple(slice(s, s + n) for s, n in zip(starts, sizes, strict=True))]


def vsignal_convolve(in1, in2, mode="full", method="auto", correlate=False, function=None):
    """``scipy.signal.convolve`` (``correlate``: ``scipy.signal.correlate``) of
    every example; ``function`` (SciPy's own) runs once per example where
    this has no batched form (complex values, an unknown mode or method,
    operands of different ranks), which checks the arguments as SciPy does."""
    in1, in2 = np.asarray(in1), np.asarray(in2)
    shape1, shape2 = in1.shape[1:], in2.shape[1:]
    if (mode not in ("full", "same", "valid") or method not in ("auto", "direct", "fft")
            or in1.ndim != in2.ndim or in1.ndim < 2 or 0 in shape1 or 0 in shape2
            or np.iscomplexobj(in1) or np.iscomplexobj(in2) or in1.dtype == object or in2.dtype == object
            or (mode == "valid" and not (all(n >= k for n, k in zip(shape1, shape2, strict=True))
                                         or all(k >= n for n, k in zip(shape1, shape2, strict=True))))):
        return vloop(in1.shape[0], function, in1, in2, mode=mode, method=method)
    if correlate:
        in2 = np.flip(in2, axis=tuple(range(1, in2.ndim)))
    exact = in1.dtype.kind in "biu" and in2.dtype.kind in "biu"
    big = math.prod(shape1) * math.prod(shape2) > 1 << 15
    if not exact and (method == "fft" or (method == "auto" and big)):  # (integers: exact, as SciPy rounds them)
        full = _full_fft(in1.astype(np.result_type(in1, in2, np.float64)), in2)
    else:
        full = _full_direct(in1, in2)
    return _window(full, shape1, shape2, mode)


# ----------------------------------------------------------------- solve_banded, solve_sylvester

def vsolve_banded(l_and_u, ab, b, banded_matrix):
    """``scipy.linalg.solve_banded(l_and_u, ab, b)`` of every example: the
    band storage's dense matrices solved as one stack (``banded_matrix``:
    ``rt.banded_matrix``). SciPy refuses infs and NaNs: so does this."""
    ab, b = np.asarray(ab), np.asarray(b)
    if not (np.isfinite(ab).all() and np.isfinite(b).all()):
        raise ValueError("array must not contain infs or NaNs")
    matrix = banded_matrix(l_and_u, ab)
    dtype = np.result_type(matrix, b, np.float64)
    if b.ndim == 2:
        return np.linalg.solve(matrix.astype(dtype), b[..., None].astype(dtype))[..., 0]
    return np.linalg.solve(matrix.astype(dtype), b.astype(dtype))


def vsolve_sylvester(a, b, q, function=None):
    """``scipy.linalg.solve_sylvester(a, b, q)`` (``a x + x b = q``) of every
    example: for small systems the Kronecker form ``(a (x) I + I (x) b^T)
    vec(x) = vec(q)`` (x's rows one after another) solved as one stack;
    larger ones once per example through SciPy (``function``)."""
    a, b, q = np.asarray(a), np.asarray(b), np.asarray(q)
    batch, n, m = q.shape[0], q.shape[-2], q.shape[-1]
    if (q.ndim != 3 or a.shape[1:] != (n, n) or b.shape[1:] != (m, m) or n * m > SYLVESTER_KRONECKER_SIZE
            or np.iscomplexobj(a) or np.iscomplexobj(b) or np.iscomplexobj(q)):
        return vloop(batch, function, a, b, q)
    if not (np.isfinite(a).all() and np.isfinite(b).all() and np.isfinite(q).all()):
        raise ValueError("array must not contain infs or NaNs")
    eye_n, eye_m = np.eye(n), np.eye(m)
    # (a (x) I_m)[(i, k), (j, l)] = a[i, j] I[k, l];  (I_n (x) b^T)[(i, k), (j, l)] = I[i, j] b[l, k]
    system = (a[:, :, None, :, None] * eye_m[None, None, :, None, :]
              + eye_n[None, :, None, :, None] * np.swapaxes(b, 1, 2)[:, None, :, None, :])
    system = system.reshape(batch, n * m, n * m)
    solved = np.linalg.solve(system, q.reshape(batch, n * m, 1).astype(np.result_type(q, np.float64)))
    return solved.reshape(batch, n, m)


# ----------------------------------------------------------------- multivariate_normal

_LOG_2PI = math.log(2 * math.pi)


def vmvn_logpdf(x, mean, cov, allow_singular=False, function=None):
    """``scipy.stats.multivariate_normal.logpdf(x, mean, cov)`` of every
    example, by SciPy's method on the stack: ``cov``'s eigendecomposition,
    eigenvalues below SciPy's cutoff refused (once per example through
    ``function``, which raises SciPy's own error), ``x``'s points along its
    last axis, the result squeezed as SciPy squeezes it. A covariance given
    as a number or a diagonal, a singular one allowed, or a dimension of
    one: once per example."""
    found = _mvn_logpdf(x, mean, cov, allow_singular)
    if found is None:
        return vloop(np.shape(x)[0], function, x, mean, cov, allow_singular=allow_singular)
    return found


def vmvn_pdf(x, mean, cov, allow_singular=False, function=None):
    """``scipy.stats.multivariate_normal.pdf`` of every example: the exp of
    ``vmvn_logpdf`` (``function``, SciPy's pdf, where that has no batched form)."""
    found = _mvn_logpdf(x, mean, cov, allow_singular)
    if found is None:
        return vloop(np.shape(x)[0], function, x, mean, cov, allow_singular=allow_singular)
    return np.exp(found)


def _mvn_logpdf(x, mean, cov, allow_singular):
    """The batched log density, or None where it has no batched form."""
    x, cov = np.asarray(x), np.asarray(cov)
    if (allow_singular or cov.ndim != 3 or cov.shape[1] != cov.shape[2] or cov.shape[-1] < 2 or x.ndim < 2
            or x.shape[-1] != cov.shape[-1] or x.dtype.kind not in "biuf" or cov.dtype.kind not in "biuf"
            or (mean is not None and np.shape(mean) != (x.shape[0], cov.shape[-1]))):
        return None
    batch, dim = x.shape[0], cov.shape[-1]
    values, vectors = np.linalg.eigh(cov.astype(float))
    # SciPy's _PSD cutoff (_eigvalsh_to_eps with cond=None, rcond=None)
    eps = 1e6 * np.finfo(values.dtype).eps * np.max(np.abs(values), axis=-1)
    if (np.min(values, axis=-1) < -eps).any() or (values <= eps[:, None]).any():
        return None  # SciPy's error, raised once per example
    whitening = vectors / np.sqrt(values)[:, None, :]
    centred = x if mean is None else x - np.reshape(mean, (batch,) + (1,) * (x.ndim - 2) + (dim,))
    points = centred.reshape(batch, -1, dim)
    mahalanobis = np.sum(np.square(points @ whitening), axis=-1)
    logdet = np.sum(np.log(values), axis=-1)
    out = -0.5 * (dim * _LOG_2PI + logdet[:, None] + mahalanobis)
    shape = tuple(s for s in x.shape[1:-1] if s != 1)  # SciPy squeezes its result
    return out.reshape((batch,) + shape)
