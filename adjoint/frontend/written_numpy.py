"""NumPy functions that adjoint differentiates from the source written here:
``np.vander`` and the power-series evaluators of ``np.polynomial``
(``polynomial.polyval``, ``legendre.legval``, ``chebyshev.chebval``,
``hermite.hermval``, ``hermite_e.hermeval``, ``laguerre.lagval``). The normalizer calls these in place of NumPy's
(normalize_numpy_more.py), and they are followed like a function of the
user's, so every transform and every order works through them.

Each computes its value with the same operations in the same order as
NumPy's implementation (repeated products for vander, Horner's rule and
Clenshaw's recurrences for the series), so the values are NumPy's to the
bit. The coefficients ``c`` must be 1-d (NumPy's ``tensor`` broadcasting of
n-d coefficients is refused), ``x`` any shape."""
import numpy as np


def vander(x, N=None, increasing=False):
    x = np.asarray(x)
    if np.ndim(x) != 1:
        raise ValueError("np.vander: x must be a one-dimensional array or sequence.")
    if N is None:
        N = len(x)
    if N == 0:
        return np.zeros((len(x), 0))
    column = np.ones_like(x)
    columns = [column]
    for _ in range(N - 1):
        column = column * x
        columns.append(column)
    if not increasing:
        columns = columns[::-1]
    return np.stack(columns, axis=1)


def _series_coefficients(c, name):
    c = np.asarray(c)
    if np.ndim(c) != 1:
        raise ValueError(f"{name}: adjoint differentiates it with a 1-d array of coefficients only; "
                         "evaluate each series of an n-d coefficient array with its own call.")
    if len(c) == 0:
        raise ValueError(f"{name}: the array of coefficients is empty.")
    return c


def polyval(x, c, tensor=True):
    c = _series_coefficients(c, "np.polynomial.polynomial.polyval")
    value = c[-1] + x * 0
    for i in range(2, len(c) + 1):
        value = c[-i] + value * x
    return value


def legval(x, c, tensor=True):
    c = _series_coefficients(c, "np.polynomial.legendre.legval")
    if len(c) == 1:
        c0 = c[0]
        c1 = 0
    elif len(c) == 2:
        c0 = c[0]
        c1 = c[1]
    else:
        degree = len(c)
        c0 = c[-2]
        c1 = c[-1]
        for i in range(3, len(c) + 1):
            previous = c0
            degree = degree - 1
            c0 = c[-i] - (c1 * (degree - 1)) / degree
            c1 = previous + (c1 * x * (2 * degree - 1)) / degree
    return c0 + c1 * x


def chebval(x, c, tensor=True):
    c = _series_coefficients(c, "np.polynomial.chebyshev.chebval")
    if len(c) == 1:
        c0 = c[0]
        c1 = 0
    elif len(c) == 2:
        c0 = c[0]
        c1 = c[1]
    else:
        x2 = 2 * x
        c0 = c[-2]
        c1 = c[-1]
        for i in range(3, len(c) + 1):
            previous = c0
            c0 = c[-i] - c1
            c1 = previous + c1 * x2
    return c0 + c1 * x


def hermval(x, c, tensor=True):
    c = _series_coefficients(c, "np.polynomial.hermite.hermval")
    x2 = x * 2
    if len(c) == 1:
        c0 = c[0]
        c1 = 0
    elif len(c) == 2:
        c0 = c[0]
        c1 = c[1]
    else:
        degree = len(c)
        c0 = c[-2]
        c1 = c[-1]
        for i in range(3, len(c) + 1):
            previous = c0
            degree = degree - 1
            c0 = c[-i] - c1 * (2 * (degree - 1))
            c1 = previous + c1 * x2
    return c0 + c1 * x2


def hermeval(x, c, tensor=True):
    c = _series_coefficients(c, "np.polynomial.hermite_e.hermeval")
    if len(c) == 1:
        c0 = c[0]
        c1 = 0
    elif len(c) == 2:
        c0 = c[0]
        c1 = c[1]
    else:
        degree = len(c)
        c0 = c[-2]
        c1 = c[-1]
        for i in range(3, len(c) + 1):
            previous = c0
            degree = degree - 1
            c0 = c[-i] - c1 * (degree - 1)
            c1 = previous + c1 * x
    return c0 + c1 * x


def lagval(x, c, tensor=True):
    c = _series_coefficients(c, "np.polynomial.laguerre.lagval")
    if len(c) == 1:
        c0 = c[0]
        c1 = 0
    elif len(c) == 2:
        c0 = c[0]
        c1 = c[1]
    else:
        degree = len(c)
        c0 = c[-2]
        c1 = c[-1]
        for i in range(3, len(c) + 1):
            previous = c0
            degree = degree - 1
            c0 = c[-i] - (c1 * (degree - 1)) / degree
            c1 = previous + (c1 * ((2 * degree - 1) - x)) / degree
    return c0 + c1 * (1 - x)
