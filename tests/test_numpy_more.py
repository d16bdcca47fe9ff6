"""NumPy functions without a rule of their own, rewritten by the normalizer
(frontend/normalize_numpy_more.py): np.maximum/minimum.accumulate,
np.apply_along_axis, np.vander and np.polynomial's polyval / legval /
chebval / hermval. Each is checked under jacrev, jacfwd, hessian and
vmap(jacrev) against an independent reference: autograd on the same
computation written with its own functions, an analytic formula, or central
differences."""
import autograd
import autograd.numpy as anp
import numpy as np
import numpy.polynomial as npp
import pytest

import adjoint

X = np.array([0.3, -1.2, 0.9, 0.9, 2.0, -0.5])


def central_jacobian(f, x, step=1e-6):
    columns = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e.flat[k] = step
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * step))
    return np.stack(columns, axis=-1).reshape(np.shape(f(x)) + x.shape)


def drawdown(x):
    return np.maximum.accumulate(x) - x


def running_min_rows(x):
    return np.minimum.accumulate(x * x, axis=1)


def test_running_extrema_values_and_every_transform():
    # the running maximum's derivative reads the element that holds it: the
    # first one reaching it (X[2] and X[3] tie at 0.9: X[2] keeps it)
    holder = [0, 0, 2, 2, 4, 4]
    expected = np.eye(6)[holder] - np.eye(6)
    np.testing.assert_array_equal(adjoint.jacrev(drawdown)(X), expected)
    np.testing.assert_array_equal(adjoint.jacfwd(drawdown)(X), expected)
    np.testing.assert_array_equal(adjoint.hessian(lambda x: np.sum(drawdown(x) ** 2))(X),
                                  2 * expected.T @ expected)
    batch = np.stack([X, X[::-1]])
    per_example = adjoint.vmap(adjoint.jacrev(drawdown))(batch)
    np.testing.assert_array_equal(per_example[1], adjoint.jacrev(drawdown)(X[::-1]))
    # another axis, np.minimum, a derivative away from ties: central differences
    rows = np.array([[0.4, -1.3, 0.7], [1.1, 0.2, -0.6]])
    np.testing.assert_array_equal(running_min_rows(rows), np.minimum.accumulate(rows * rows, axis=1))
    np.testing.assert_allclose(adjoint.jacrev(running_min_rows)(rows), central_jacobian(running_min_rows, rows),
                               atol=1e-8)


def running_maximum(x):
    return np.maximum.accumulate(x)


def test_running_maximum_after_a_nan_reads_the_nan():
    x = np.array([1.0, np.nan, 3.0])  # NumPy's running maximum: [1, nan, nan]
    np.testing.assert_array_equal(adjoint.jacrev(running_maximum)(x), np.eye(3)[[0, 1, 1]])


def norms_along(x):
    return np.apply_along_axis(lambda row: np.sqrt(np.sum(row ** 2)) * row, 0, x)


def norms_along_autograd(x):
    columns = [anp.sqrt(anp.sum(x[:, j] ** 2)) * x[:, j] for j in range(x.shape[1])]
    return anp.stack(columns, axis=1)


def scaled_rows(row):
    return np.sum(np.sin(row)) + row[0] * row[-1]


def test_apply_along_axis_matches_autograd():
    a = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
    np.testing.assert_allclose(norms_along(a), np.apply_along_axis(
        lambda row: np.sqrt(np.sum(row ** 2)) * row, 0, a))
    reference = autograd.jacobian(norms_along_autograd)(a)
    np.testing.assert_allclose(adjoint.jacrev(norms_along)(a), reference, rtol=1e-12)
    batch = np.stack([a, 2 * a])
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacrev(norms_along))(batch)[1],
                               autograd.jacobian(norms_along_autograd)(2 * a), rtol=1e-12)
    # a function of the module, a scalar per slice: a derivative of a derivative (forward over reverse)
    along = lambda x: np.sum(np.apply_along_axis(scaled_rows, 1, x) ** 2)  # noqa: E731
    by_hand = lambda x: anp.sum(anp.stack([anp.sum(anp.sin(r)) + r[0] * r[-1] for r in x]) ** 2)  # noqa: E731
    np.testing.assert_allclose(adjoint.hessian(along)(a), autograd.hessian(by_hand)(a), rtol=1e-12)


def vander_of(x):
    return np.vander(x, 4)


def test_vander_exact_values_and_derivatives():
    x = np.array([0.0, 0.7, -1.3, 2.1])
    np.testing.assert_array_equal(vander_of(x), np.vander(x, 4))
    # d x_i^k / d x_i = k x_i^(k-1), per row (0 for the column of ones, x = 0 too), highest power first
    powers = np.arange(3, -1, -1)
    slopes = powers * np.where(powers > 0, x[:, None] ** np.maximum(powers - 1, 0), 0.0)
    expected = np.einsum("ik,ij->ikj", slopes, np.eye(4))
    np.testing.assert_allclose(adjoint.jacrev(vander_of)(x), expected, rtol=1e-14)
    np.testing.assert_allclose(adjoint.jacfwd(vander_of)(x), expected, rtol=1e-14)
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacrev(vander_of))(np.stack([x, -x]))[0], expected,
                               rtol=1e-14)
    # increasing powers, N defaulting to len(x): the sum of each row's derivative is 1 + 2x + 3x^2
    second = adjoint.hessian(lambda x: np.sum(np.vander(x, increasing=True)))(x)
    np.testing.assert_allclose(second, np.diag(2 + 6 * x), rtol=1e-14)


C = np.array([0.5, -1.0, 2.0, 0.75, -0.3])
SERIES = [
    (npp.polynomial.polyval, npp.polynomial.polyder),
    (npp.legendre.legval, npp.legendre.legder),
    (npp.chebyshev.chebval, npp.chebyshev.chebder),
    (npp.hermite.hermval, npp.hermite.hermder),
    (npp.hermite_e.hermeval, npp.hermite_e.hermeder),
    (npp.laguerre.lagval, npp.laguerre.lagder),
]
WEIGHTS = (1.0, 2.0, 3.0, 0.5, -1.0, 1.5)


def series_sum(x, c):
    return (np.polynomial.polynomial.polyval(x, c) + 2.0 * np.polynomial.legendre.legval(x, c)
            + 3.0 * np.polynomial.chebyshev.chebval(x, c) + 0.5 * np.polynomial.hermite.hermval(x, c)
            - np.polynomial.hermite_e.hermeval(x, c) + 1.5 * np.polynomial.laguerre.lagval(x, c))


def legendre(x, c):
    return np.polynomial.legendre.legval(x, c)


def chebyshev(x, c):
    return np.polynomial.chebyshev.chebval(x, c)


def test_polynomial_series_exact_values_and_derivatives():
    x = np.array([0.3, -0.8, 1.1])
    value = sum(w * val(x, C) for w, (val, _) in zip(WEIGHTS, SERIES, strict=True))
    np.testing.assert_array_equal(series_sum(x, C), value)
    # in x: the derivative series' values; in c: the basis polynomials' values
    slope = sum(w * val(x, der(C)) for w, (val, der) in zip(WEIGHTS, SERIES, strict=True))
    basis = sum(w * val(x, np.eye(len(C))).T for w, (val, _) in zip(WEIGHTS, SERIES, strict=True))
    jx, jc = adjoint.jacrev(series_sum, argnums=(0, 1))(x, C)
    np.testing.assert_allclose(jx, np.diag(slope), rtol=1e-12)
    np.testing.assert_allclose(jc, basis, rtol=1e-12)
    # a derivative of a derivative through a recurrence (jacfwd and vmap of
    # this written source: test_vander_exact_values_and_derivatives)
    np.testing.assert_allclose(adjoint.hessian(lambda x: np.sum(chebyshev(x, C)))(x),
                               np.diag(npp.chebyshev.chebval(x, npp.chebyshev.chebder(C, 2))), rtol=1e-12)


def test_series_of_nd_coefficients_is_refused():
    with pytest.raises(ValueError, match="1-d array of coefficients"):
        adjoint.jacrev(legendre)(np.array([0.1, 0.2]), np.ones((2, 2)))


SAMPLES = np.array([-0.5, 0.2, 1.0, 1.7, 2.5, 3.9, 4.5])  # two outside the knots' range
VALUES = np.array([0.0, 1.0, 4.0, 2.0, -1.0])


def interpolated(xp):
    return np.interp(SAMPLES, xp, VALUES)


def test_interp_in_its_knots_against_the_piecewise_formula():
    xp = np.array([0.0, 0.8, 2.1, 3.0, 4.2])
    # inside segment j: d y / d xp[j] = s (u - 1), d y / d xp[j + 1] = -s u
    expected = np.zeros((len(SAMPLES), len(xp)))
    for i, x in enumerate(SAMPLES):
        if xp[0] <= x <= xp[-1]:
            j = min(np.searchsorted(xp, x, side="right") - 1, len(xp) - 2)
            s = (VALUES[j + 1] - VALUES[j]) / (xp[j + 1] - xp[j])
            u = (x - xp[j]) / (xp[j + 1] - xp[j])
            expected[i, j], expected[i, j + 1] = s * (u - 1), -s * u
    np.testing.assert_allclose(adjoint.jacrev(interpolated)(xp), expected, rtol=1e-13)
    np.testing.assert_allclose(central_jacobian(interpolated, xp), expected, rtol=1e-6, atol=1e-8)
    with pytest.warns(RuntimeWarning, match="once per example"):  # (each example's own knots)
        per_example = adjoint.vmap(adjoint.jacrev(interpolated))(np.stack([1.1 * xp, xp]))
    np.testing.assert_allclose(per_example[1], expected, rtol=1e-13)
    # jacfwd and second derivatives in the knots: the np.interp rows of tests/test_rules.py
