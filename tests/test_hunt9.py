"""Wrong numbers, crashes and needless refusals found by running scientific
programs as people write them (issue 9, ninth round), as tests. Each test
names what failed before its fix; references are central differences or
closed forms."""
import math
import warnings

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform
from scipy.special import ndtr

import adjoint


def _central(f, x, eps=1e-6):
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    return np.stack(columns, axis=-1)


# Measurements with NaN for missing values, fitted by NaN-ignoring reductions.
_MEASURED = np.array([[1.0, np.nan, 2.0], [0.5, 3.0, np.nan]])


def _missing_data_loss(m):
    residual = _MEASURED - m
    return (np.nansum(residual ** 2) + np.nanstd(_MEASURED * m) + np.nanmax(_MEASURED * m, axis=0).sum()
            + np.nanmean(np.log(_MEASURED) * m))


def test_nan_ignoring_reductions_of_data_with_nans():
    """np.nansum((D - m) ** 2) with NaNs in D: the reduction's cotangent was 0
    at the NaNs, but the rule before it (power, product) has a NaN slope
    there, and 0 * nan made the whole gradient NaN (forward mode too: the
    tangent, NaN there, met a zero weight). The NaNs are now marked as
    getting no cotangent, and tangents are zeroed there before the sum."""
    m = np.array([0.7, 1.3, 0.4])
    expected = _central(_missing_data_loss, m)
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(adjoint.grad(_missing_data_loss)(m), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacfwd(_missing_data_loss)(m), expected, rtol=1e-6, atol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (nanstd's rule runs once per example)
        batched = adjoint.vmap(adjoint.grad(_missing_data_loss))(np.stack([m, 2.0 * m]))
    np.testing.assert_allclose(batched, np.stack([expected, _central(_missing_data_loss, 2.0 * m)]),
                               rtol=1e-6, atol=1e-8)


def _black_scholes_call(spot, strike=95.0, expiry=0.5, rate=0.02, vol=0.25):
    d1 = (np.log(spot / strike) + (rate + 0.5 * vol ** 2) * expiry) / (vol * np.sqrt(expiry))
    d2 = d1 - vol * np.sqrt(expiry)
    return spot * ndtr(d1) - strike * np.exp(-rate * expiry) * ndtr(d2)


def test_black_scholes_greeks_through_ndtr():
    """scipy.special.ndtr (the normal CDF of Black-Scholes) had no rule: the
    Greeks were refused. Delta and gamma against their closed forms, by
    grad and hessian; ndtri and log_ndtr are rows of tests/test_rules.py."""
    spot = np.array([90.0, 100.0, 110.0])
    d1 = (np.log(spot / 95.0) + (0.02 + 0.5 * 0.25 ** 2) * 0.5) / (0.25 * np.sqrt(0.5))
    density = np.exp(-0.5 * d1 ** 2) / np.sqrt(2 * np.pi)
    delta = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in d1]))  # N(d1), without SciPy
    gamma = density / (spot * 0.25 * np.sqrt(0.5))
    np.testing.assert_allclose(adjoint.jacfwd(_black_scholes_call)(spot), np.diag(delta), rtol=1e-12, atol=1e-14)
    hessian = adjoint.hessian(lambda s: np.sum(_black_scholes_call(s)))(spot)
    np.testing.assert_allclose(hessian, np.diag(gamma), rtol=1e-10, atol=1e-14)


_CHARGES = np.array([1.0, -1.0, 2.0, 0.5])


def _coulomb_energy(positions):
    points = positions.reshape(-1, 2)
    gaps = points[:, None, :] - points[None, :, :]
    distance = np.sqrt(np.sum(gaps ** 2, axis=-1) + 0.1)
    np.fill_diagonal(distance, np.inf)  # no self-interaction
    return 0.5 * np.sum(_CHARGES[:, None] * _CHARGES[None, :] / distance)


def _zero_diagonal_norm(matrix):
    np.fill_diagonal(matrix, 0.0)
    return np.sum(matrix ** 2)


def test_fill_diagonal_is_an_update_in_place():
    """np.fill_diagonal(r, np.inf) in a pairwise energy was refused as a
    change in place; it is now r[diagonal] = value, an update like any other
    (on an argument too: the caller's array changes as NumPy changes it, and
    the derivative is that of the values at entry)."""
    positions = np.array([0.1, 0.5, 1.3, -0.4, -0.8, 0.9, 0.6, 1.7])
    np.testing.assert_allclose(adjoint.grad(_coulomb_energy)(positions), _central(_coulomb_energy, positions),
                               rtol=1e-6, atol=1e-8)
    matrix = np.arange(9.0).reshape(3, 3) + 1.0
    expected = 2.0 * matrix * (1.0 - np.eye(3))
    np.testing.assert_array_equal(adjoint.grad(_zero_diagonal_norm)(matrix), expected)
    np.testing.assert_array_equal(np.diag(matrix), np.zeros(3))


_SAMPLES = np.linspace(-1.0, 1.0, 7)
_OBSERVED = np.cos(2.0 * _SAMPLES)


def _polynomial_misfit(coefficients):
    return np.sum((np.polyval(coefficients, _SAMPLES) - _OBSERVED) ** 2)


def test_polyval_fit_gradient_and_hessian():
    """np.polyval had no rule (a polynomial fit by scipy.optimize.minimize
    with jac=adjoint.grad was refused). Against the normal equations:
    gradient 2 V^T (V p - y), Hessian 2 V^T V with V = np.vander; and the
    slope in x against the derivative polynomial."""
    coefficients = np.array([0.4, -1.0, 0.2, 0.9])
    vander = np.vander(_SAMPLES, 4)
    np.testing.assert_allclose(adjoint.grad(_polynomial_misfit)(coefficients),
                               2.0 * vander.T @ (vander @ coefficients - _OBSERVED), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adjoint.hessian(_polynomial_misfit)(coefficients), 2.0 * vander.T @ vander,
                               rtol=1e-12, atol=1e-12)
    slopes = adjoint.jvp(lambda x: np.polyval(coefficients, x), (_SAMPLES,), (np.ones(7),))[1]
    np.testing.assert_allclose(slopes, np.polyval(np.polyder(coefficients), _SAMPLES), rtol=1e-12, atol=1e-12)


def _scaled_by_first(x):
    return x[0].item() * x + np.max(x).item()


def test_item_of_a_differentiated_value():
    """x[0].item() was refused ("no derivative for this method"), though
    float(x[0]) is differentiated: it is now differentiated as float(x)."""
    x = np.array([0.5, 1.3, 0.2])
    np.testing.assert_allclose(adjoint.jacrev(_scaled_by_first)(x), _central(_scaled_by_first, x),
                               rtol=1e-6, atol=1e-8)


_SITES = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]])


def _cluster_energy(positions):
    points = positions.reshape(-1, 2)
    morse = np.sum((1.0 - np.exp(-1.5 * (pdist(points) - 1.0))) ** 2)
    return (morse + np.sum(np.exp(-cdist(points, _SITES) ** 2)) + 0.1 * np.sum(squareform(pdist(points)))
            + 0.01 * np.sum(cdist(points, _SITES, "sqeuclidean")))


def test_scipy_pair_distances():
    """scipy.spatial.distance's cdist and pdist had no rule (pair energies
    written with them were refused); Euclidean metrics are now NumPy's norm
    of the pair differences, squareform(pdist(X)) is cdist(X, X) (its zero
    diagonal has derivative 0). Against central differences."""
    positions = np.array([0.3, -0.7, 1.1, 0.5, 2.0, 0.1])
    np.testing.assert_allclose(adjoint.grad(_cluster_energy)(positions), _central(_cluster_energy, positions),
                               rtol=1e-6, atol=1e-8)


def _cumulative_trapezoid(y):
    steps = np.diff(np.linspace(0.0, 2.0, y.shape[0]))
    return np.concatenate([[0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * steps)])


def test_vmap_of_concatenate_with_a_list_of_numbers():
    """np.concatenate([[0.0], np.cumsum(...)]) under vmap failed inside the
    runtime (the list [0.0], broadcast to the batch number by number, was
    joined as a (1, B) array). Against the loop over examples and central
    differences."""
    ys = np.array([[1.0, 2.0, 3.0, 0.5], [0.5, 0.1, 0.2, -1.0]])
    np.testing.assert_allclose(adjoint.vmap(_cumulative_trapezoid)(ys),
                               np.stack([_cumulative_trapezoid(y) for y in ys]), rtol=1e-14)
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacrev(_cumulative_trapezoid))(ys),
                               np.stack([_central(_cumulative_trapezoid, y) for y in ys]), rtol=1e-6, atol=1e-8)


def _penalty_by_keys(params):
    total = 0.0
    for name in params.keys():
        total = total + np.sum(params[name] ** 2)
    return total


def test_loop_over_the_keys_of_an_argument_dict():
    """for name in params.keys() over a dict passed in was refused ("an
    iterator of differentiated values"), though docs/supported.md lists
    d.keys() loops and for k in params worked: it is now that loop."""
    params = {"w": np.array([1.0, -2.0]), "b": np.array(0.5)}
    gradient = adjoint.grad(_penalty_by_keys)(params)
    np.testing.assert_array_equal(gradient["w"], 2.0 * params["w"])
    np.testing.assert_array_equal(gradient["b"], 2.0 * params["b"])


def _imports_inside(s):
    from scipy.special import erf
    import math

    return np.sum(erf(s / math.sqrt(2.0)))


def test_imports_inside_the_function():
    """from scipy.special import erf inside the differentiated function was
    refused ("ImportFrom statement: not supported"): the names are now bound
    to what the import gives. Against the closed form sqrt(2 / pi) exp(-s^2 / 2)."""
    s = np.array([0.3, -0.2, 0.9])
    np.testing.assert_allclose(adjoint.grad(_imports_inside)(s), np.sqrt(2.0 / np.pi) * np.exp(-0.5 * s ** 2),
                               rtol=1e-13)
