"""Helpers of the FFT family's rules (adjoint/rules/fft.py) and of the
elementwise rules on complex values (np.real, np.imag, np.abs, np.angle).

Axes here are negative (counted from the end), so one axis tuple serves a
primal ``x`` and its batched cotangent or tangent ``(B,) + x.shape`` alike.
``fit_to`` (zero padding or truncation), ``hermitian_weights`` and
``real_for`` are linear in their first argument and have rules of their own,
so the derivative code they appear in can be differentiated again.

The convention for complex intermediates (docs/complex.md): the cotangent of
``z = u + iv`` is ``dL/du - i dL/dv``, under which a holomorphic function's
adjoint is ``bar * f'(z)`` (the rules of real arithmetic, unchanged), and a
real value takes the real part of what flows back to it (``real_for``)."""
import numpy as np

from .broadcasting import is_real_value


def neg_axes(x, axes):
    """``axes`` (an int or a tuple) of ``x`` counted from the end."""
    ndim = np.ndim(x)
    if isinstance(axes, (tuple, list)):
        return tuple(int(a) - ndim if a >= 0 else int(a) for a in axes)
    return (int(axes) - ndim if axes >= 0 else int(axes),)


def fft_axes(x, s=None, axes=None):
    """The axes an n-d transform of ``x`` runs over (NumPy's rule: all of
    them, or the last ``len(s)``), counted from the end."""
    if axes is None:
        count = np.ndim(x) if s is None else len(s)
        return tuple(range(-count, 0))
    return neg_axes(x, axes)


def vfft_axes(vx, s=None, axes=None):
    """``fft_axes`` of one example of the batched ``vx`` (batch axis first)."""
    if axes is None:
        count = np.ndim(vx) - 1 if s is None else len(s)
        return tuple(range(-count, 0))
    ndim = np.ndim(vx) - 1
    if isinstance(axes, (tuple, list)):
        return tuple(int(a) - ndim if a >= 0 else int(a) for a in axes)
    return (int(axes) - ndim if axes >= 0 else int(axes),)


def fft_lengths(x, axes):
    """The lengths of ``x`` along ``axes``."""
    shape = np.shape(x)
    return tuple(shape[a] for a in axes)


def fft_sizes(x, s, axes):
    """The transform's lengths: ``s`` when given, else ``x``'s along ``axes``."""
    if s is None:
        return fft_lengths(x, axes)
    return tuple(int(n) for n in (s if isinstance(s, (tuple, list)) else (s,)))


def irfft_sizes(x, s, axes):
    """The lengths of an inverse real transform's result: ``s`` when given,
    else ``x``'s along ``axes`` with the last one ``2 * (m - 1)``."""
    if s is not None:
        return fft_sizes(x, s, axes)
    lengths = fft_lengths(x, axes)
    return lengths[:-1] + (2 * (lengths[-1] - 1),)


def swapped_norm(norm):
    """The ``norm`` of the inverse direction (np.fft.hfft is an irfft of the
    conjugate with it, ihfft the conjugate of an rfft)."""
    return {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}[norm]


def fit_to(g, lengths, axes):
    """``g`` cut to, or padded with zeros up to, ``lengths`` along ``axes``
    (what the transforms do to an input before transforming it)."""
    g = np.asarray(g)
    shape = g.shape
    if all(shape[a] == n for a, n in zip(axes, lengths)):
        return g
    cut = [slice(None)] * g.ndim
    pad = [(0, 0)] * g.ndim
    for a, n in zip(axes, lengths):
        if shape[a] > n:
            cut[a] = slice(0, n)
        else:
            pad[a] = (0, n - shape[a])
    return np.pad(g[tuple(cut)], pad)


def hermitian_weights(g, n, axis):
    """``g`` (an inverse transform of length ``n`` along ``axis``) times the
    weights of the bins of a real transform: 1 for bin 0 and for the Nyquist
    bin ``n / 2`` of an even ``n``, 2 for the bins between (each stands for
    itself and its mirror image), 0 past ``n // 2`` (bins a real inverse
    transform never reads)."""
    g = np.asarray(g)
    length = g.shape[axis]
    weights = np.zeros(length)
    weights[:min(length, n // 2 + 1)] = 2.0
    weights[0] = 1.0
    if n % 2 == 0 and n // 2 < length:
        weights[n // 2] = 1.0
    shape = [1] * g.ndim
    shape[axis] = length
    return g * weights.reshape(shape)


def real_for(g, like):
    """``g`` as the cotangent (or tangent) of ``like``: its real part when
    ``like`` is real and ``g`` complex (a real value's cotangent is the real
    part of what flows back to it), ``g`` itself otherwise."""
    if isinstance(g, (np.ndarray, np.generic, complex)) and np.iscomplexobj(g) and _real_like(like):
        return np.real(g)
    return g  # (a container's cotangent: its items' rules took their real parts)


def _real_like(like):
    """``is_real_value`` of an array, or of every item of a list or tuple."""
    if isinstance(like, (list, tuple)):
        return all(_real_like(item) for item in like)
    return is_real_value(like)


def abs_slope(x):
    """The factor ``|x|``'s adjoint multiplies its cotangent by: ``sign(x)``
    of a real ``x`` (0 at 0), ``conj(x) / |x|`` of a complex one (0 at 0, as
    for real values). Forward mode differentiates this source."""
    if np.iscomplexobj(x):
        r = np.abs(x)
        zero = r == 0
        return np.where(zero, 0.0, np.conjugate(x) / np.where(zero, 1.0, r))
    return np.sign(x)


def angle_slope(x, deg=False):
    """The factor ``np.angle(x)``'s adjoint multiplies its cotangent by:
    ``-1j / x`` of a complex ``x`` (``-1j * conj(x) / |x|**2``; NaN at 0,
    where the angle has no slope), 0 of a real one (the angle is 0 or pi,
    piecewise constant). Forward mode differentiates this source."""
    scale = 180.0 / np.pi if deg else 1.0
    if np.iscomplexobj(x):
        return (-1j * scale) / x
    return np.zeros(np.shape(x))


def abs_slope_tangent(t, x):
    """The tangent of ``abs_slope(x)`` along ``t``: 0 for a real ``x``
    (``sign`` is piecewise constant), ``(conj(t) - s * Re(s * t)) / |x|`` with
    ``s = conj(x) / |x|`` for a complex one (0 where ``x`` is 0)."""
    if not np.iscomplexobj(x):
        return np.zeros(np.broadcast_shapes(np.shape(t), np.shape(x)))
    r = np.abs(x)
    zero = r == 0
    safe = np.where(zero, 1.0, r)
    s = np.where(zero, 0.0, np.conjugate(x) / safe)
    return np.where(zero, 0.0, (np.conjugate(t) - s * np.real(s * t)) / safe)


def angle_slope_tangent(t, x, deg=False):
    """The tangent of ``angle_slope(x, deg)`` along ``t``: 0 for a real
    ``x``, ``1j * t / x**2`` (times 180 / pi in degrees) for a complex one."""
    if not np.iscomplexobj(x):
        return np.zeros(np.broadcast_shapes(np.shape(t), np.shape(x)))
    scale = 180.0 / np.pi if deg else 1.0
    return (1j * scale) * t / (x * x)


def refuse_complex(value, message):
    """Raise ``TypeError(message)`` when ``value`` is complex: a derivative
    rule for real values only met a complex one (the error is placed at the
    user's line by the caller of derivative code). Reads only the dtype: the
    backward pass keeps ``rt.shape_of(value)`` for it."""
    if isinstance(value, (list, tuple)):  # (the arrays of np.linalg.multi_dot)
        for item in value:
            refuse_complex(item, message)
        return
    dtype = getattr(value, "dtype", None)  # (an array, or the Shape kept of one)
    if (np.dtype(dtype).kind == "c") if dtype is not None else np.iscomplexobj(value):
        raise TypeError(message)


def refuse_complex_arguments(message, *arguments):
    """Raise ``TypeError(message)`` when one of ``arguments`` (arrays,
    numbers, or lists, tuples and dicts of them) is complex: derivative code
    written for real values was given complex ones."""
    for value in arguments:
        if isinstance(value, (list, tuple)):
            refuse_complex_arguments(message, *value)
        elif isinstance(value, dict):
            refuse_complex_arguments(message, *value.values())
        elif isinstance(value, (np.ndarray, np.generic, complex)) and np.iscomplexobj(value):
            raise TypeError(message)
