"""Reverse mode where a rule's slope is infinite (or undefined): a cotangent
that is an exact zero there (the other entries of jacrev's seed row, an
element np.where did not pick, an element indexing did not read) gives an
exact zero, as forward mode's zero tangents do (tests/test_forward_zeros.py),
and not 0 * inf = NaN. A nonzero cotangent still meets the infinite slope.
Every Jacobian is checked against its analytic value written out by hand;
second and third derivatives against analytic values at the steep point and
against autograd at ordinary points."""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from adjoint import runtime as rt

INF = np.inf


def _quiet(transform, f, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return transform(f)(*[np.array(a) for a in args])


# name -> (function, point, analytic Jacobian at the point): the first element
# sits where the slope is infinite (or undefined), the second is ordinary, and
# the x[1] term makes the second output's seed row [0, 1] meet the first one.
CASES = {
    "sqrt": (lambda x: np.sqrt(x) + x[1], [0.0, 4.0], [[INF, 1.0], [0.0, 1.25]]),
    "cbrt": (lambda x: 2 * np.cbrt(x) + np.sum(x), [0.0, 8.0], [[INF, 1.0], [1.0, 1 + 2 / 12]]),
    "arcsin": (lambda x: np.arcsin(x) + x[::-1], [1.0, 0.5], [[INF, 1.0], [1.0, 1 / np.sqrt(0.75)]]),
    "arccos": (lambda x: np.arccos(x) + x[::-1], [-1.0, 0.5], [[-INF, 1.0], [1.0, -1 / np.sqrt(0.75)]]),
    "log": (lambda x: np.log(x) + x[1], [0.0, 2.0], [[INF, 1.0], [0.0, 1.5]]),
    "log2": (lambda x: np.log2(x) + x[1], [0.0, 2.0], [[INF, 1.0], [0.0, 1 + 1 / (2 * np.log(2))]]),
    "log10": (lambda x: np.log10(x) + x[1], [0.0, 2.0], [[INF, 1.0], [0.0, 1 + 1 / (2 * np.log(10))]]),
    "log1p": (lambda x: np.log1p(x) + x[1], [-1.0, 2.0], [[INF, 1.0], [0.0, 1 + 1 / 3]]),
    "arccosh": (lambda x: np.arccosh(x) + x[1], [1.0, 2.0], [[INF, 1.0], [0.0, 1 + 1 / np.sqrt(3.0)]]),
    "arctanh": (lambda x: np.arctanh(x) + x[1], [1.0, 0.5], [[INF, 1.0], [0.0, 1 + 1 / 0.75]]),
    "reciprocal": (lambda x: np.reciprocal(x) + x[1], [0.0, 2.0], [[-INF, 1.0], [0.0, 0.75]]),
    "divide": (lambda x: 1.0 / x + x[1], [0.0, 2.0], [[-INF, 1.0], [0.0, 0.75]]),
    # z = x[::-1] / x: the divisor's slope -z / x is -inf / 0 at x0 = 0
    "divide by an argument": (lambda x: x[::-1] / x, [0.0, 2.0], [[-INF, INF], [0.5, 0.0]]),
    "power 0.5": (lambda x: x ** 0.5 + x[1], [0.0, 4.0], [[INF, 1.0], [0.0, 1.25]]),
    "power 1/3": (lambda x: x ** (1.0 / 3.0) + x[1], [0.0, 8.0], [[INF, 1.0], [0.0, 1 + 1 / 12]]),
    # a zero base under a varying exponent: 0 ** 0.5 has slope inf in the base
    "power of a zero base": (lambda x: x ** x[::-1], [0.0, 0.5], [[INF, 0.0], [np.log(0.5), 0.0]]),
    "float_power": (lambda x: np.float_power(x, x[::-1]), [0.0, 0.5], [[INF, 0.0], [np.log(0.5), 0.0]]),
    # slopes undefined (0 / 0) at the origin: only the row that moves it sees that
    "hypot": (lambda x: np.hypot(x, 0.0) + x[1], [0.0, 4.0], [[np.nan, 1.0], [0.0, 2.0]]),
    "arctan2": (lambda x: np.arctan2(x, 0.0) + x[1], [0.0, 4.0], [[np.nan, 1.0], [0.0, 1.0]]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_jacrev_zero_seed_entries_at_an_infinite_slope(name):
    f, x, expected = CASES[name]
    np.testing.assert_allclose(_quiet(adjoint.jacrev, f, x), expected, rtol=1e-12)


def _scipy_cases():
    special = pytest.importorskip("scipy.special")
    return {
        "gammaln": (lambda x: special.gammaln(x) + x[1], [0.0, 2.0], [[-INF, 1.0], [0.0, 2.0 - np.euler_gamma]]),
        "digamma": (lambda x: special.digamma(x) + x[1], [0.0, 2.0], [[INF, 1.0], [0.0, 1 + np.pi ** 2 / 6 - 1]]),
        "logit": (lambda x: special.logit(x) + x[1], [0.0, 0.5], [[INF, 1.0], [0.0, 5.0]]),
        "xlogy": (lambda x: special.xlogy(2.0, x) + x[1], [0.0, 2.0], [[INF, 1.0], [0.0, 2.0]]),
    }


@pytest.mark.parametrize("name", ["gammaln", "digamma", "logit", "xlogy"])
def test_scipy_special_at_poles_both_modes(name):
    f, x, expected = _scipy_cases()[name]
    np.testing.assert_allclose(_quiet(adjoint.jacrev, f, x), expected, rtol=1e-12)
    np.testing.assert_allclose(_quiet(adjoint.jacfwd, f, x), expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["divide", "divide by an argument", "arctan2"])
def test_jacfwd_agrees_on_the_newly_guarded_tangents(name):
    f, x, expected = CASES[name]
    np.testing.assert_allclose(_quiet(adjoint.jacfwd, f, x), expected, rtol=1e-12)


def test_grad_through_an_element_indexing_does_not_read():
    def f(x):
        return np.sqrt(x)[1] + np.log(x)[1]

    np.testing.assert_allclose(_quiet(adjoint.grad, f, [0.0, 4.0]), [0.0, 0.5], rtol=1e-15)


def test_grad_through_the_branch_np_where_did_not_pick():
    # sqrt and log of a negative number or 0, in the branch not taken: their
    # NaN or infinite slope meets an exact zero cotangent
    def f(x):
        return np.sum(np.where(x > 0, np.sqrt(x) + np.log(x), 0.0))

    x = [-1.0, 0.0, 4.0]
    np.testing.assert_allclose(_quiet(adjoint.grad, f, x), [0.0, 0.0, 0.25 + 0.25], rtol=1e-15)
    np.testing.assert_allclose(_quiet(adjoint.hessian, f, x),
                               np.diag([0.0, 0.0, -1 / 32 - 1 / 16]), rtol=1e-12)


def test_a_nonzero_cotangent_still_meets_the_infinite_slope():
    def f(x):
        return np.sum(np.sqrt(x) + 1.0 / x)

    g = _quiet(adjoint.grad, f, [0.0, 4.0])
    assert np.isnan(g[0])  # inf - inf: sqrt's +inf and 1 / x's -inf
    np.testing.assert_allclose(g[1], 0.25 - 1 / 16, rtol=1e-15)
    np.testing.assert_array_equal(_quiet(adjoint.grad, lambda x: np.sum(np.sqrt(x)), [0.0, 4.0]), [INF, 0.25])
    np.testing.assert_array_equal(_quiet(adjoint.grad, lambda x: np.sum(1.0 / x), [0.0, 4.0]), [-INF, -1 / 16])


# name -> (scalar function of x[1] alone, point, its second derivative at x[1]);
# x[0] sits at the steep point, so every Hessian entry but [1, 1] is 0
SECOND = {
    "sqrt": (lambda x: np.sqrt(x)[1], [0.0, 4.0], -0.25 * 4.0 ** -1.5),
    "log": (lambda x: np.log(x)[1], [0.0, 2.0], -0.25),
    "arcsin": (lambda x: np.arcsin(x)[1], [1.0, 0.5], 0.5 / 0.75 ** 1.5),
    "arccosh": (lambda x: np.arccosh(x)[1], [1.0, 2.0], -2.0 / 3.0 ** 1.5),
    "divide": (lambda x: (1.0 / x)[1], [0.0, 2.0], 2.0 / 8.0),
    "power 0.5": (lambda x: (x ** 0.5)[1], [0.0, 4.0], -0.25 * 4.0 ** -1.5),
    # hypot(0, 0) is the steep point, hypot(4, 3) = 5 an ordinary one
    "hypot": (lambda x: np.hypot(x, np.array([0.0, 3.0]))[1], [0.0, 4.0], 9.0 / 125.0),
}

SECOND_ORDER = {
    "hessian": adjoint.hessian,
    "jacrev(jacrev)": lambda f: adjoint.jacrev(adjoint.jacrev(f)),
    "jacfwd(jacrev)": lambda f: adjoint.jacfwd(adjoint.jacrev(f)),
    "jacrev(grad)": lambda f: adjoint.jacrev(adjoint.grad(f)),
}


@pytest.mark.parametrize("composition", sorted(SECOND_ORDER))
@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivative_next_to_a_steep_element(name, composition):
    f, x, second = SECOND[name]
    expected = np.diag([0.0, second])
    np.testing.assert_allclose(_quiet(SECOND_ORDER[composition], f, x), expected, rtol=1e-12, atol=0)


def test_second_derivatives_of_a_vector_function_at_a_steep_point():
    # f = [sqrt(x0) + x1, sqrt(x1) + x1]: d2 f0 / dx0^2 is -inf, the rest of f0's
    # Hessian 0; f1's is -1/32 at [1, 1]
    def f(x):
        return np.sqrt(x) + x[1]

    expected = np.zeros((2, 2, 2))
    expected[0, 0, 0] = -INF
    expected[1, 1, 1] = -0.25 * 4.0 ** -1.5
    for composition in ("jacrev(jacrev)", "jacfwd(jacrev)", "hessian"):
        np.testing.assert_allclose(_quiet(SECOND_ORDER[composition], f, [0.0, 4.0]), expected, rtol=1e-12,
                                   err_msg=composition)


def test_third_derivative_next_to_a_steep_element():
    def f(x):
        return np.sqrt(x)[1] + (1.0 / x)[1]

    expected = np.zeros((2, 2, 2))
    expected[1, 1, 1] = 3.0 / 8.0 * 4.0 ** -2.5 - 6.0 / 4.0 ** 4
    for third in (adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(f))),
                  adjoint.jacfwd(adjoint.jacrev(adjoint.jacrev(f))),
                  adjoint.jacfwd(adjoint.hessian(f))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            np.testing.assert_allclose(third(np.array([0.0, 4.0])), expected, rtol=1e-12)


def test_ordinary_points_match_autograd_at_second_order():
    # the guarded rules (division, arctan2, power of a varying base, ...) away
    # from their steep points, where the tangent of a cotangent can be 0
    def f(x):
        u = x * x + 1.0
        return np.sum(np.arctan2(u, x + 2.0) + (x + 3.0) / u + np.sqrt(u) + u ** x + np.log(u) / u)

    def f_ag(x):
        u = x * x + 1.0
        return anp.sum(anp.arctan2(u, x + 2.0) + (x + 3.0) / u + anp.sqrt(u) + u ** x + anp.log(u) / u)

    x = np.array([0.0, 0.3, -0.6])
    expected = autograd.hessian(f_ag)(x)
    for composition in ("hessian", "jacrev(jacrev)", "jacfwd(jacrev)"):
        np.testing.assert_allclose(SECOND_ORDER[composition](f)(x), expected, rtol=1e-11, atol=1e-12,
                                   err_msg=composition)
    np.testing.assert_allclose(adjoint.grad(f)(x), autograd.grad(f_ag)(x), rtol=1e-13)


def test_vmap_of_jacrev_and_grad_at_steep_points():
    def f(x):
        return np.sqrt(x) + x[1]

    xs = np.array([[0.0, 4.0], [1.0, 4.0]])
    J = _quiet(lambda g: adjoint.vmap(adjoint.jacrev(g)), f, xs)
    np.testing.assert_allclose(J[0], [[INF, 1.0], [0.0, 1.25]], rtol=1e-12)
    np.testing.assert_allclose(J[1], [[0.5, 1.0], [0.0, 1.25]], rtol=1e-12)
    G = _quiet(lambda g: adjoint.vmap(adjoint.grad(g)), lambda x: np.log(x)[1], xs)
    np.testing.assert_allclose(G, [[0.0, 0.25], [0.0, 0.25]], rtol=1e-15)
    H = _quiet(lambda g: adjoint.vmap(adjoint.hessian(g)), lambda x: np.sqrt(x)[1], xs)
    np.testing.assert_allclose(H, [np.diag([0.0, -1 / 32])] * 2, rtol=1e-12)


def test_masked_cotangents_keep_their_mask_through_the_guard():
    # exp(1000) = inf, log(inf) = inf, replaced by nan_to_num: no cotangent
    # reaches that element; the guarded log passes the mask on to exp, whose
    # slope there is inf (0, not 0 * inf)
    def f(x):
        return np.nan_to_num(np.log(np.exp(x)))

    expected = [[0.0, 0.0], [0.0, 1.0]]
    np.testing.assert_allclose(_quiet(adjoint.jacrev, f, [1000.0, 1.0]), expected, rtol=1e-15)
    np.testing.assert_allclose(_quiet(adjoint.jacfwd, f, [1000.0, 1.0]), expected, rtol=1e-15)


def test_times_tangent_keeps_a_mask_where_it_guards():
    # element 0 present, 1 absent (masked), 2 present but an exact zero
    t = rt.masked_bar(np.array([[2.0, 5.0, 0.0]]), np.array([True, False, True]))
    with np.errstate(invalid="ignore"):
        z = rt.times_tangent(t, np.array([3.0, INF, INF]))
    np.testing.assert_array_equal(z, [[6.0, 0.0, 0.0]])
    np.testing.assert_array_equal(z.absent, [[False, True, False]])
    # a NaN of the cotangent itself stays
    with np.errstate(invalid="ignore"):
        assert np.isnan(rt.times_tangent(np.array([np.nan, 0.0]), np.array([1.0, INF]))[0])


def test_the_guard_is_dropped_where_the_partial_is_finite():
    def f(x):
        return x ** 2 + x / 2.0 + 3.0 * x ** 3

    def g(x):
        return np.sqrt(x) + 1.0 / x

    assert "times_tangent" not in adjoint.source(f)
    assert adjoint.source(g).count("times_tangent") == 2


def test_sparse_hessian_pattern_is_not_cut_by_a_zero_cotangent():
    # the pattern is found (NaN-seeded forward passes over the backward code)
    # where the weights x[2:] are 0, so sqrt's cotangent is 0 there; the
    # guard must not stop the NaN that marks d2f / dx0^2, or the pattern
    # cached for every point loses the diagonal
    def f(x):
        return np.sum(np.sqrt(x[:2] + 1.0) * x[2:])

    def analytic(x):
        H = np.zeros((4, 4))
        for i in range(2):
            H[i, i] = -0.25 * (x[i] + 1.0) ** -1.5 * x[2 + i]
            H[i, 2 + i] = H[2 + i, i] = 0.5 * (x[i] + 1.0) ** -0.5
        return H

    pattern = adjoint.sparsity(adjoint.grad(f))(np.array([0.3, 0.5, 0.0, 0.0]))
    pattern = pattern.toarray() if hasattr(pattern, "toarray") else np.asarray(pattern)
    assert pattern[0, 0] and pattern[1, 1]
    h = adjoint.hessian(f, sparse=True)
    for x in (np.array([0.3, 0.5, 0.0, 0.0]), np.array([0.3, 0.5, 2.0, 3.0])):
        np.testing.assert_allclose(h(x).toarray(), analytic(x), rtol=1e-13, atol=1e-15)
