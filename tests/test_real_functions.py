"""Functions real programs call (issue 9, section 3), beyond their rows in
tests/test_rules.py (which check each rule against finite differences at
first and second order): vmap of the functions and of their derivatives
against a loop over the examples, the subgradient conventions at zeros,
and the clear refusals."""
import warnings

import numpy as np
import pytest

import adjoint

scipy = pytest.importorskip("scipy")
from scipy import signal, special  # noqa: E402

RNG = np.random.default_rng(20261207)


def _looped(func, *batches):
    return np.stack([np.asarray(func(*items)) for items in zip(*batches)])


def _check_vmap(func, *batches, argnums=0):
    """vmap(func) and vmap(jacrev(func)) against loops over the examples."""
    np.testing.assert_allclose(adjoint.vmap(func)(*batches), _looped(func, *batches), rtol=1e-12, atol=1e-12)
    jac = adjoint.jacrev(func, argnums=argnums)
    got = adjoint.vmap(jac)(*batches)
    expected = [jac(*items) for items in zip(*batches)]
    if isinstance(argnums, tuple):
        for i in range(len(argnums)):
            np.testing.assert_allclose(got[i], np.stack([e[i] for e in expected]), rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(got, np.stack(expected), rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------- logsumexp(b=...)

def weighted_logsumexp(x, b):
    return special.logsumexp(x, axis=0, b=b)


def test_weighted_logsumexp_under_vmap():
    _check_vmap(weighted_logsumexp, RNG.standard_normal((3, 4, 2)), RNG.uniform(0.5, 1.5, (3, 2)), argnums=(0, 1))


def test_weighted_logsumexp_against_its_formula():
    x, b = RNG.standard_normal(4), RNG.uniform(0.5, 1.5, 4)
    grad_x, grad_b = adjoint.grad(lambda x, b: special.logsumexp(x, b=b), argnums=(0, 1))(x, b)
    weights = b * np.exp(x) / np.sum(b * np.exp(x))
    np.testing.assert_allclose(grad_x, weights, rtol=1e-12)
    np.testing.assert_allclose(grad_b, np.exp(x) / np.sum(b * np.exp(x)), rtol=1e-12)


def logsumexp_with_sign(x):
    z, sign = special.logsumexp(x, return_sign=True)
    return z


def test_logsumexp_return_sign_is_differentiated():
    # (with weights of both signs: tests/test_funcs2.py)
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(adjoint.grad(logsumexp_with_sign)(x), special.softmax(x), rtol=1e-12)


# ----------------------------------------------------------------- scipy.signal

def convolve_same(a, v):
    return signal.convolve(a, v, mode="same")


def correlate_valid_2d(a, v):
    return signal.correlate(a, v, mode="valid")


@pytest.mark.filterwarnings("ignore:vmap of:RuntimeWarning")  # they run once per example
def test_convolve_and_correlate_under_vmap():
    _check_vmap(convolve_same, RNG.standard_normal((2, 5)), RNG.standard_normal((2, 2)), argnums=(0, 1))
    _check_vmap(correlate_valid_2d, RNG.standard_normal((2, 3, 3)), RNG.standard_normal((2, 2, 2)), argnums=(0, 1))


def test_convolve_adjoint_is_a_correlation():
    # d/da <w, convolve(a, v, "full")> = correlate(w, v, "valid"), independently of the rules
    a, v, w = RNG.standard_normal(6), RNG.standard_normal(3), RNG.standard_normal(8)
    grad_a, grad_v = adjoint.grad(lambda a, v: np.sum(w * signal.convolve(a, v)), argnums=(0, 1))(a, v)
    np.testing.assert_allclose(grad_a, np.correlate(w, v, "valid"), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad_v, np.correlate(w, a, "valid"), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------- zeros

def xlogy_of_zero(y):
    return special.xlogy(np.zeros(3), y)


def test_xlogy_with_x_zero_has_slope_zero_in_y_even_at_y_zero():
    # xlogy(0, y) is 0 for every y: its slope in y is 0, at y = 0 too
    y = np.array([0.0, 1.0, 2.0])
    np.testing.assert_array_equal(adjoint.jacrev(xlogy_of_zero)(y), np.zeros((3, 3)))
    np.testing.assert_array_equal(adjoint.jacfwd(xlogy_of_zero)(y), np.zeros((3, 3)))


# ----------------------------------------------------------------- np.select (a chain of np.where)

def piecewise_by_select(x):
    return np.select([x > 1.0, x < -1.0], [x ** 2, np.sin(x)], default=3.0 * x)


def select_of_lists_built_elsewhere(x):
    conditions = [x > 1.0, x < -1.0]
    choices = [x ** 2, np.sin(x)]
    return np.select(conditions, choices, 3.0 * x)


def select_default_zero(x):
    return np.select([x > 0.5], [x * x])


SELECT_POINTS = np.array([-2.0, -0.5, 0.3, 0.8, 1.7])  # every branch, away from the switches


def _select_reference(x):
    return np.where(x > 1.0, 2 * x, np.where(x < -1.0, np.cos(x), 3.0))


@pytest.mark.filterwarnings("ignore:vmap of:RuntimeWarning")  # a loop over a list of batched values runs per example
@pytest.mark.parametrize("func", [piecewise_by_select, select_of_lists_built_elsewhere])
def test_select_derivative_flows_through_the_chosen_choice(func):
    x = SELECT_POINTS
    np.testing.assert_allclose(func(x), np.select([x > 1, x < -1], [x ** 2, np.sin(x)], 3 * x))
    np.testing.assert_allclose(adjoint.jacrev(func)(x), np.diag(_select_reference(x)), rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(func)(x), np.diag(_select_reference(x)), rtol=1e-12)
    if func is piecewise_by_select:  # (second order: the rows of tests/test_rules.py)
        _check_vmap(func, np.stack([x, x[::-1]]))


def test_select_default_is_zero_as_numpy_s():
    x = np.array([0.2, 0.9])
    np.testing.assert_allclose(adjoint.grad(lambda x: np.sum(select_default_zero(x)))(x), [0.0, 1.8])


def select_with_too_few_choices(x):
    return np.select([x > 0, x < 0], [x])


def test_select_with_mismatched_lists_is_refused_at_the_users_line():
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="same length") as info:
        adjoint.grad(lambda x: np.sum(select_with_too_few_choices(x)))(np.ones(2))
    assert "test_real_functions.py" in str(info.value)


# ----------------------------------------------------------------- functools.reduce

import functools  # noqa: E402
import operator  # noqa: E402


def product_by_reduce(x):
    return functools.reduce(lambda a, b: a * b, [x[0], x[1], x[2]], 1.0)


def sum_of_rows_by_reduce(x):
    return functools.reduce(operator.add, x)  # no initial value: the first row starts


def chained_layers(x, ws):
    def layer(h, w):
        return np.tanh(h @ w)
    return functools.reduce(layer, ws, x)


def scaled_reduce(x):
    return functools.reduce(functools.partial(np.multiply), [x, x + 1.0, 2.0 * x])


def empty_reduce(x):
    return functools.reduce(operator.add, x[:0])


def test_reduce_over_a_lambda_and_an_operator():
    x = np.array([0.5, -1.5, 2.0])
    np.testing.assert_allclose(adjoint.grad(product_by_reduce)(x), [x[1] * x[2], x[0] * x[2], x[0] * x[1]])
    rows = RNG.standard_normal((3, 2))
    np.testing.assert_allclose(adjoint.jacrev(sum_of_rows_by_reduce)(rows),
                               np.broadcast_to(np.eye(2)[:, None, :], (2, 3, 2)))
    np.testing.assert_allclose(adjoint.hessian(product_by_reduce)(x),
                               [[0, x[2], x[1]], [x[2], 0, x[0]], [x[1], x[0], 0]], atol=1e-14)


@pytest.mark.filterwarnings("ignore:vmap of:RuntimeWarning")
def test_reduce_over_a_nested_function_against_autograd():
    import autograd
    import autograd.numpy as anp

    x, ws = RNG.standard_normal(3), [RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))]

    def reference(x, w1, w2):
        return anp.tanh(anp.tanh(x @ w1) @ w2)

    got = adjoint.jacrev(chained_layers, argnums=(0, 1))(x, ws)
    np.testing.assert_allclose(got[0], autograd.jacobian(reference, 0)(x, *ws), rtol=1e-12)
    for i in range(2):
        np.testing.assert_allclose(got[1][i], autograd.jacobian(reference, 1 + i)(x, *ws), rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(chained_layers)(x, ws), autograd.jacobian(reference, 0)(x, *ws),
                               rtol=1e-12)
    _check_vmap(product_by_reduce, RNG.standard_normal((2, 3)))


def test_reduce_of_a_partial_and_of_an_empty_sequence():
    x = np.array([0.5, 2.0])
    np.testing.assert_allclose(adjoint.jacrev(scaled_reduce)(x), np.diag(2 * (3 * x ** 2 + 2 * x)))
    with pytest.raises(TypeError, match="empty iterable"):
        adjoint.grad(lambda x: np.sum(empty_reduce(x)))(x)


# ----------------------------------------------------------------- scipy.stats

from scipy import stats  # noqa: E402


def student_t_loglik(x, df, loc, scale):
    return np.sum(stats.t.logpdf(x, df, loc, scale))


def gamma_beta_poisson(x, a, b, mu):
    return (np.sum(stats.gamma.logpdf(x, a)) + np.sum(stats.beta.logpdf(x / 4.0, a, b))
            + np.sum(stats.poisson.logpmf(np.array([0.0, 2.0, 5.0]), mu)))


def test_distributions_against_autograd():
    import autograd
    import autograd.scipy.stats as astats

    x = np.array([-0.7, 0.4, 1.9])
    args = (x, 3.5, 0.2, 1.3)
    got = adjoint.grad(student_t_loglik, argnums=(0, 1, 2, 3))(*args)
    for i in range(4):
        expected = autograd.grad(lambda *a: autograd.numpy.sum(astats.t.logpdf(*a)), i)(*args)
        np.testing.assert_allclose(got[i], expected, rtol=1e-10)

    def reference(x, a, b, mu):
        return (autograd.numpy.sum(astats.gamma.logpdf(x, a)) + autograd.numpy.sum(astats.beta.logpdf(x / 4.0, a, b))
                + autograd.numpy.sum(astats.poisson.logpmf(np.array([0.0, 2.0, 5.0]), mu)))

    args = (np.array([0.5, 1.2, 3.1]), 1.7, 2.2, 1.4)
    got = adjoint.grad(gamma_beta_poisson, argnums=(0, 1, 2, 3))(*args)
    for i in range(4):
        np.testing.assert_allclose(got[i], autograd.grad(reference, i)(*args), rtol=1e-10)
    cdf = adjoint.grad(lambda x: np.sum(stats.t.cdf(x, 3.0)))(x)
    np.testing.assert_allclose(cdf, autograd.grad(lambda x: autograd.numpy.sum(astats.t.cdf(x, 3.0)))(x), rtol=1e-10)
    tails = adjoint.grad(lambda x: np.sum(stats.norm.logsf(x) + stats.norm.sf(x, 0.5) + stats.chi2.logpdf(x + 2.0, 3.0)))(x)
    reference = autograd.grad(lambda x: autograd.numpy.sum(astats.norm.logsf(x) + astats.norm.sf(x, 0.5)
                                                           + astats.chi2.logpdf(x + 2.0, 3.0)))(x)
    np.testing.assert_allclose(tails, reference, rtol=1e-10)


def located(x, m, s):
    return stats.norm.logpdf(x, loc=m, scale=s) + stats.gamma.logcdf(s, 2.0, scale=m ** 2)


def test_distributions_under_vmap():
    xs = RNG.uniform(0.3, 2.0, (2, 3))
    _check_vmap(lambda x: stats.gamma.logcdf(x, 2.0, scale=1.5) + stats.t.pdf(x, 3.0), xs)
    _check_vmap(lambda mu: stats.poisson.pmf(np.array([0, 1, 3]), mu), RNG.uniform(0.5, 2.0, (2, 3)))
    # keyword operands (loc=, scale=) broadcast like positional ones: one call for the batch, no loop
    x, m, s = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 1)), RNG.uniform(0.5, 2.0, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a loop over the examples would warn
        got = adjoint.vmap(located)(x, m, s)
        shared = adjoint.vmap(located, in_dims=(None, 0, None))(x[0], m, s[0])
    np.testing.assert_allclose(got, _looped(located, x, m, s), rtol=1e-12)
    np.testing.assert_allclose(shared, _looped(lambda m: located(x[0], m, s[0]), m), rtol=1e-12)


def t_cdf_in_df(df):
    return stats.t.cdf(0.5, df)


def test_the_shape_parameter_of_a_cdf_is_refused():
    with pytest.raises(adjoint.NoRuleError, match="'df'") as info:
        adjoint.grad(t_cdf_in_df)(3.0)
    assert "test_real_functions.py" in str(info.value)


SPD = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]])


def gaussian_loglik(x, mean, a):
    return np.sum(stats.multivariate_normal.logpdf(x, mean, SPD + a @ a.T))


def test_multivariate_normal_against_autograd_and_under_vmap():
    import autograd
    import autograd.scipy.stats as astats

    def reference(x, mean, a):
        return autograd.numpy.sum(astats.multivariate_normal.logpdf(x, mean, SPD + a @ a.T))

    args = (RNG.standard_normal((4, 3)), RNG.standard_normal(3), 0.3 * RNG.standard_normal((3, 3)))
    got = adjoint.grad(gaussian_loglik, argnums=(0, 1, 2))(*args)
    for i in range(3):
        np.testing.assert_allclose(got[i], autograd.grad(reference, i)(*args), rtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # (its derivative runs once on the batch: no loop to warn of)
        _check_vmap(lambda x: stats.multivariate_normal.pdf(x, np.zeros(3), SPD), RNG.standard_normal((2, 4, 3)))


def diagonal_covariance(x):
    return stats.multivariate_normal.logpdf(x, np.zeros(3), np.ones(3))


def test_multivariate_normal_other_covariance_forms_are_refused_clearly():
    with pytest.raises(ValueError, match="one d x d matrix"):
        adjoint.grad(diagonal_covariance)(np.ones(3))


# ----------------------------------------------------------------- np.linalg.eig

SEPARATED = np.diag([1.0, 2.5, 4.0])


def largest_eigenvalue(a):
    w, v = np.linalg.eig(SEPARATED + a)
    return np.max(w)


def rotation_eigenvalues(a):
    w, v = np.linalg.eig(np.array([[0.0, -1.0], [1.0, 0.0]]) + a)
    return np.sum(np.real(w))


def test_eig_of_a_nonsymmetric_matrix_against_the_left_and_right_eigenvectors():
    # d lambda / dA = u v^T / (u . v) with u the left, v the right eigenvector: independent of the rule
    a = 0.2 * RNG.standard_normal((3, 3))
    w, right = np.linalg.eig(SEPARATED + a)
    k = np.argmax(w)
    wl, left = np.linalg.eig((SEPARATED + a).T)
    u, v = left[:, np.argmax(wl)], right[:, k]
    expected = np.outer(u, v) / (u @ v)
    np.testing.assert_allclose(adjoint.grad(largest_eigenvalue)(a), expected, rtol=1e-10)
    np.testing.assert_allclose(adjoint.jacfwd(largest_eigenvalue)(a), expected, rtol=1e-10)
    stack = 0.2 * RNG.standard_normal((2, 3, 3))
    np.testing.assert_allclose(adjoint.vmap(adjoint.grad(largest_eigenvalue))(stack),
                               [adjoint.grad(largest_eigenvalue)(s) for s in stack], rtol=1e-12)


@pytest.mark.parametrize("transform", [adjoint.grad, adjoint.jacfwd])
def test_eig_with_complex_eigenvalues_is_refused(transform):
    with pytest.raises(ValueError, match="eigenvalues of this matrix are complex"):
        transform(rotation_eigenvalues)(np.zeros((2, 2)))


# ----------------------------------------------------------------- solve_banded, solve_sylvester

from scipy import linalg  # noqa: E402

BAND = np.array([[0.0, 0.5, -0.3, 0.2], [4.0, 3.5, 5.0, 4.2], [0.3, -0.4, 0.6, 0.0]])


def banded_solution(ab, b):
    return linalg.solve_banded((1, 1), BAND + ab, b)


def _dense(ab):
    n = ab.shape[1]
    return np.diag(ab[1]) + np.diag(ab[0, 1:], 1) + np.diag(ab[2, :n - 1], -1)


@pytest.mark.filterwarnings("ignore:vmap of:RuntimeWarning")  # SciPy's solvers run once per example
def test_solve_banded_against_the_dense_solve_and_under_vmap():
    ab, b = 0.2 * RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    got_ab, got_b = adjoint.jacrev(banded_solution, argnums=(0, 1))(ab, b)
    dense = adjoint.jacrev(lambda m, b: np.linalg.solve(m, b), argnums=(0, 1))(_dense(BAND + ab), b)
    np.testing.assert_allclose(got_b, dense[1], rtol=1e-12)
    np.testing.assert_allclose(got_ab[:, 1, :], np.einsum("kii->ki", dense[0]), rtol=1e-12)  # the diagonal
    np.testing.assert_allclose(got_ab[:, 0, 1:], np.einsum("kii->ki", dense[0][:, :-1, 1:]), rtol=1e-12)
    np.testing.assert_array_equal(got_ab[:, 0, 0], 0.0)  # storage outside the matrix: no derivative
    np.testing.assert_array_equal(got_ab[:, 2, -1], 0.0)
    _check_vmap(banded_solution, 0.2 * RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 4)), argnums=(0, 1))


def sylvester_solution(a, q):
    return linalg.solve_sylvester(a + 3.0 * np.eye(3), np.diag([1.0, 2.0]), q)


@pytest.mark.filterwarnings("ignore:vmap of:RuntimeWarning")
def test_solve_sylvester_against_the_kronecker_system():
    a, q = 0.3 * RNG.standard_normal((3, 3)), RNG.standard_normal((3, 2))

    def by_kronecker(a, q):  # vec(a x + x b) = (I (x) a + b^T (x) I) vec(x), column-major vec
        system = np.kron(np.eye(2), a + 3.0 * np.eye(3)) + np.kron(np.diag([1.0, 2.0]), np.eye(3))
        return np.linalg.solve(system, q.T.ravel()).reshape(2, 3).T

    np.testing.assert_allclose(sylvester_solution(a, q), by_kronecker(a, q), rtol=1e-12)
    for argnum in (0, 1):
        np.testing.assert_allclose(adjoint.jacrev(sylvester_solution, argnums=argnum)(a, q),
                                   adjoint.jacrev(by_kronecker, argnums=argnum)(a, q), rtol=1e-10, atol=1e-13)
    _check_vmap(sylvester_solution, 0.3 * RNG.standard_normal((2, 3, 3)), RNG.standard_normal((2, 3, 2)), argnums=1)


# ----------------------------------------------------------------- zeros of reductions

def root_of_sum_of_squares(x):
    return np.sqrt(np.sum(x ** 2, axis=1))


def test_root_of_a_zero_sum_of_squares_has_the_norm_s_subgradient():
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    expected = np.array([[[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.6, 0.8]]])
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(transform(root_of_sum_of_squares)(x), expected, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(root_of_sum_of_squares(x), [0.0, 5.0])  # the same numbers as NumPy's
    np.testing.assert_allclose(adjoint.jacrev(root_of_sum_of_squares)(x),
                               adjoint.jacrev(lambda x: np.linalg.norm(x, axis=1))(x))


@pytest.mark.parametrize("func, x, expected", [
    (lambda x: np.std(x), np.full(3, 2.0), np.zeros(3)),
    (lambda x: np.var(x, ddof=1), np.full(3, 2.0), np.zeros(3)),
    (lambda x: np.prod(x), np.array([0.0, 0.0, 3.0]), np.zeros(3)),
    (lambda x: np.prod(x), np.array([0.0, 2.0, 3.0]), np.array([6.0, 0.0, 0.0])),
], ids=["std-equal", "var-equal", "prod-two-zeros", "prod-one-zero"])
def test_reductions_at_zeros_follow_the_subgradient_conventions(func, x, expected):
    np.testing.assert_array_equal(adjoint.grad(func)(x), expected)
    np.testing.assert_array_equal(adjoint.jacfwd(func)(x), expected)
