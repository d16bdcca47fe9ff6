"""What the rules of ``np.polyval`` (rules/polynomials.py) call: the
slopes of a polynomial's value in its coefficients, by Horner's scheme as
NumPy evaluates it. Written in plain NumPy, so that forward mode
differentiates them by their source (a derivative of a derivative)."""
import numpy as np


def polyder_coefficients(p):
    """The coefficients of ``p``'s derivative (highest power first, as
    ``np.polyder`` gives them, but 0 for a constant: an empty array)."""
    count = np.shape(p)[0]
    return p[:count - 1] * np.arange(count - 1, 0, -1)


def polyval_coefficients_bar(g, p, x):
    """Adjoint of ``np.polyval(p, x)`` in ``p``: for each coefficient, the sum
    over ``x``'s elements of the cotangent ``g`` (batch axis in front) times
    the power of ``x`` that coefficient multiplies. ``(B, len(p))``."""
    count = np.shape(p)[0]
    rows = np.reshape(g, (np.shape(g)[0], -1))
    power = np.ones(np.size(x)) + 0.0 * np.ravel(x)
    columns = []
    for _ in range(count):
        columns.append(rows @ power)
        power = power * np.ravel(x)
    return np.stack(columns[::-1], axis=1)


def polyval_coefficients_tangent(t, x):
    """Tangent of ``np.polyval(p, x)`` along ``p``'s tangent ``t`` (``(B,
    len(p))``): each row evaluated at ``x`` by Horner's scheme. ``(B,) +
    x.shape``."""
    batch, count = np.shape(t)
    shape = (batch,) + (1,) * np.ndim(x)
    value = np.zeros((batch,) + np.shape(x))
    for k in range(count):
        value = value * x + np.reshape(t[:, k], shape)
    return value


def vpolyval(p, x):
    """``np.polyval(p, x)`` of every example: ``p`` is ``(B, len(p))``,
    ``x`` ``(B,) + shape``; Horner's scheme as NumPy's, on each example's
    coefficients."""
    p, x = np.asarray(p), np.asarray(x)
    rows = (p.shape[0],) + (1,) * (x.ndim - 1)
    value = np.zeros(np.broadcast_shapes(x.shape, rows), dtype=np.result_type(p, x))
    for k in range(p.shape[1]):
        value = value * x + np.reshape(p[:, k], rows)
    return value
