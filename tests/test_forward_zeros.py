"""Forward mode where a rule's slope is infinite (or undefined): a tangent
that is an exact zero there gives an exact zero, as reverse mode's masked
cotangents do (runtime/masked_bars.py); a nonzero tangent still meets the
infinite slope. Each Jacobian is checked against its analytic value,
written out by hand (inf where the true slope is infinite)."""
import warnings

import numpy as np
import pytest

import adjoint

INF = np.inf


def _jacobian(transform, f, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return transform(f)(np.array(x))


# name -> (function, point, analytic Jacobian at the point)
CASES = {
    # the program: log at 0, the infinite element replaced by nan_to_num
    "log+nan_to_num": (lambda x: np.nan_to_num(np.log(x)) + 3 * np.log(x)[0], [0.0, 2.0],
                       [[INF, 0.0], [INF, 0.5]]),
    "sqrt": (lambda x: np.sqrt(x) + x[1], [0.0, 4.0], [[INF, 1.0], [0.0, 1.25]]),
    "cbrt": (lambda x: 2 * np.cbrt(x) + np.sum(x), [0.0, 8.0], [[INF, 1.0], [1.0, 1 + 2 / 12]]),
    "arcsin": (lambda x: np.arcsin(x) + x[::-1], [1.0, 0.5], [[INF, 1.0], [1.0, 1 / np.sqrt(0.75)]]),
    "arccos": (lambda x: np.arccos(x) + x[::-1], [-1.0, 0.5], [[-INF, 1.0], [1.0, -1 / np.sqrt(0.75)]]),
    "log2": (lambda x: np.log2(x) + x[1], [0.0, 2.0], [[INF, 1.0], [0.0, 1 + 1 / (2 * np.log(2))]]),
    "log10": (lambda x: np.log10(x) + x[1], [0.0, 2.0], [[INF, 1.0], [0.0, 1 + 1 / (2 * np.log(10))]]),
    "log1p": (lambda x: np.log1p(x) + x[1], [-1.0, 2.0], [[INF, 1.0], [0.0, 1 + 1 / 3]]),
    "arctanh+nan_to_num": (lambda x: np.nan_to_num(np.arctanh(x)) + x[1], [1.0, 0.5],
                           [[0.0, 1.0], [0.0, 1 + 1 / 0.75]]),
    "arccosh": (lambda x: np.arccosh(x) + x[1], [1.0, 2.0], [[INF, 1.0], [0.0, 1 + 1 / np.sqrt(3.0)]]),
    "reciprocal+nan_to_num": (lambda x: np.nan_to_num(np.reciprocal(x)) + x[1], [0.0, 2.0],
                              [[0.0, 1.0], [0.0, 0.75]]),
    "power 0.5": (lambda x: x ** 0.5 + x[1], [0.0, 4.0], [[INF, 1.0], [0.0, 1.25]]),
    # hypot's slope is undefined at (0, 0): only the column that moves it sees that
    "hypot": (lambda x: np.hypot(x, 0.0) + x[1], [0.0, 4.0], [[np.nan, 1.0], [0.0, 2.0]]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_jacfwd_exact_zero_tangent_at_infinite_slope(name):
    f, x, expected = CASES[name]
    np.testing.assert_allclose(_jacobian(adjoint.jacfwd, f, x), expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["log+nan_to_num", "arctanh+nan_to_num", "reciprocal+nan_to_num"])
def test_jacrev_agrees_where_nan_to_num_masks(name):
    f, x, expected = CASES[name]
    np.testing.assert_allclose(_jacobian(adjoint.jacrev, f, x), expected, rtol=1e-12)


def test_jacrev_seed_zero_at_infinite_slope():
    f, x, expected = CASES["sqrt"]
    np.testing.assert_allclose(_jacobian(adjoint.jacrev, f, x), expected, rtol=1e-12)


def test_nonzero_tangent_still_meets_the_infinite_slope():
    def f(x):
        return np.log(x) + np.sqrt(x)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, moved = adjoint.jvp(f, (np.array([0.0, 4.0]),), (np.array([1.0, 1.0]),))
        _, still = adjoint.jvp(f, (np.array([0.0, 4.0]),), (np.array([0.0, 1.0]),))
    np.testing.assert_array_equal(moved, [INF, 0.25 + 0.25])
    np.testing.assert_allclose(still, [0.0, 0.5], rtol=1e-15)


def test_ordinary_points_unchanged_and_differentiable_again():
    # away from the steep points the guard changes nothing; the guarded rule's
    # code differentiates again: Hessians against the analytic diagonal
    def f(x):
        return np.sum(np.log(x) + np.sqrt(x) + np.arcsin(x / 4.0) + np.cbrt(x))

    x = np.array([0.5, 1.3, 2.0])
    u = x / 4.0
    second = (-1 / x ** 2 - 0.25 * x ** -1.5 + u / (1 - u * u) ** 1.5 / 16.0
              - 2.0 / 9.0 * x ** (-5.0 / 3.0))
    np.testing.assert_allclose(adjoint.hessian(f)(x), np.diag(second), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(f))(x), np.diag(second), rtol=1e-10, atol=1e-12)


def test_vmap_of_jacfwd_at_a_steep_point():
    def f(x):
        return np.sqrt(x) + x[1]

    xs = np.array([[0.0, 4.0], [1.0, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        J = adjoint.vmap(adjoint.jacfwd(f))(xs)
    np.testing.assert_allclose(J[0], [[INF, 1.0], [0.0, 1.25]], rtol=1e-12)
    np.testing.assert_allclose(J[1], [[0.5, 1.0], [0.0, 1.25]], rtol=1e-12)
