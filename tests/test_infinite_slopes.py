"""A zero slope meeting an infinite one (np.sqrt(x) ** 2 at 0): the chain
rule gives 0 * inf = NaN there in every mode, as autograd does, while the
zeros of the seed (the other rows of jacrev's identity, the other columns
of jacfwd's, a zero entry of the caller's tangent or cotangent) still give 0.

References: autograd's Jacobian, except where autograd multiplies a zero of
the seed by the infinite slope (adjoint's documented convention, 0 there:
docs/supported.md, "Zeros and infinite slopes"); analytic slopes elsewhere.
"""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _assert_same(actual, expected):
    actual = actual.toarray() if hasattr(actual, "toarray") else np.asarray(actual)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(np.nan_to_num(actual), np.nan_to_num(expected), rtol=1e-12, atol=1e-14)


def _reference(autograd_f, x, seed_zeros):
    """autograd's Jacobian, 0 at ``seed_zeros`` (where autograd's NaN is a
    zero of its seed times the infinite slope)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jacobian = autograd.jacobian(autograd_f)(x)
    assert np.all(np.isnan(jacobian[seed_zeros]))  # (the convention is what differs, nothing else)
    jacobian[seed_zeros] = 0.0
    return jacobian


def sqrt_squared_plus(x):
    return np.sqrt(x) ** 2 + x[1]


def sqrt_squared(x):
    return np.sqrt(x) ** 2


def square_log(x):
    return x ** 2 * np.log(x)


def sqrt_of_square(x):
    return np.sqrt(x ** 2)


def test_a_zero_cotangent_that_a_zero_slope_computed_meets_the_infinite_slope():
    # The case: the backward code was x_bar = times_tangent(g, times_tangent(2 * t1, 1 / (2 * t1))),
    # the partial 2 * sqrt(x) taken for a zero cotangent; the slope of x -> x is 1, the chain rule NaN.
    x = np.array([0.0, 1.0])
    expected = _reference(lambda x: anp.sqrt(x) ** 2, x, (np.array([1]), np.array([0])))
    assert np.isnan(expected[0, 0]) and expected[1, 1] == 1.0
    jacobian = adjoint.jacrev(sqrt_squared)
    _assert_same(jacobian(x), expected)
    _assert_same(adjoint.jacfwd(sqrt_squared)(x), expected)
    _assert_same(adjoint.jacrev(sqrt_squared, sparse=True)(x), expected)
    _, pull = adjoint.vjp(sqrt_squared, x)
    _assert_same(pull(np.array([1.0, 0.0]))[0], expected[0])
    _assert_same(pull(np.array([0.0, 1.0]))[0], expected[1])  # a zero of the cotangent given: 0, not NaN


def test_reverse_mode_pulls_back_again_where_the_products_are_not_fused():
    # (read twice, the cotangent of sqrt(x) ** 2 is written out: 0 at 0 before the infinite slope meets it)
    x = np.array([0.0, 2.0])
    expected = _reference(lambda x: anp.sqrt(x) ** 2 + x[1], x, (np.array([1]), np.array([0])))
    np.testing.assert_allclose(expected[:, 1], [1.0, 2.0])
    _assert_same(adjoint.jacrev(sqrt_squared_plus)(x), expected)
    _assert_same(adjoint.jacfwd(sqrt_squared_plus)(x), expected)
    _assert_same(adjoint.jacrev(sqrt_squared_plus, sparse=True)(x), expected)
    gradient = adjoint.grad(lambda x: np.sum(sqrt_squared_plus(x)))(x)
    _assert_same(gradient, np.sum(expected, axis=0))
    # away from the edge nothing changed: the slope of x -> x, and x[1]'s
    _assert_same(adjoint.jacrev(sqrt_squared_plus)(np.array([0.5, 2.0])), [[1.0, 1.0], [0.0, 2.0]])


def test_jvp_and_sparse_jacfwd_treat_the_tangent_zeros_as_the_seed():
    # x ** 2 * log(x) at 0: 0 * inf along e0; along e1 nothing moves x[0], which stays 0 (jacfwd's column)
    x = np.array([0.0, 1.0])
    expected = _reference(lambda x: x ** 2 * anp.log(x), x, (np.array([1]), np.array([0])))
    assert np.isnan(expected[0, 0])
    dense = adjoint.jacfwd(square_log)(x)
    _assert_same(dense, expected)
    _assert_same(adjoint.jacfwd(square_log, sparse=True)(x), expected)
    for column in range(2):
        _, tangent = adjoint.jvp(square_log, (x,), (np.eye(2)[column],))
        _assert_same(tangent, expected[:, column])
    # np.sqrt(x ** 2): the tangent 2 x dx is 0 at 0 and meets sqrt's infinite slope
    expected = _reference(lambda x: anp.sqrt(x ** 2), x, (np.array([1]), np.array([0])))
    _, tangent = adjoint.jvp(sqrt_of_square, (x,), (np.array([1.0, 0.0]),))
    _assert_same(tangent, expected[:, 0])
    _assert_same(adjoint.jacfwd(sqrt_of_square, sparse=True)(x), expected)


def test_derivatives_run_again_mark_the_bases_they_make():
    # hessian (jacfwd over jacrev's generated code) and vmap of a derivative run the generated code
    # again with its identity bases marked: the same NaN as the first derivative's, not inf or 0
    x = np.array([0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = autograd.hessian(lambda x: anp.sum(anp.sqrt(x) ** 2 + x[1]))(x)
    assert np.isnan(expected[0, 0]) and np.isnan(expected[1, 0])
    expected[1, 0] = 0.0  # (autograd's zero of the seed times the infinite slope)
    _assert_same(adjoint.hessian(lambda x: np.sum(sqrt_squared_plus(x)))(x), expected)
    x = np.array([[0.0, 1.0], [4.0, 0.0]])
    expected = np.array([[[np.nan, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, np.nan]]])
    _assert_same(adjoint.vmap(adjoint.jacfwd(sqrt_of_square))(x), expected)
    _assert_same(adjoint.vmap(adjoint.jacrev(sqrt_squared))(x), expected)


def test_x_to_the_zero_keeps_its_slope_zero():
    # np.power's own convention (docs: x ** 0 has derivative 0 at every x): its exponent, not a
    # cotangent, is the zero, and reverse mode agrees with forward mode and autograd on it
    def f(x):
        return x ** 0 + x

    x = np.array([0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = autograd.jacobian(lambda x: x ** 0 + x)(x)
    _assert_same(expected, np.eye(2))
    _assert_same(adjoint.jacrev(f)(x), expected)
    _assert_same(adjoint.jacfwd(f)(x), expected)


# ------------------------------------------------------- np.linalg.qr(a, mode='r')


def qr_r(a):
    return np.linalg.qr(a, mode="r")


def test_qr_r_alone_is_differentiated_at_second_order():
    # normalized to np.linalg.qr(a)[1]: the same R, bit for bit, and its second derivative, checked
    # against second central differences of NumPy's own mode='r' (no derivative code involved)
    a = np.array([[1.5, -0.3, 0.2], [0.4, 1.1, -0.7], [-0.6, 0.5, 1.3], [0.2, -0.8, 0.9]])
    output, _ = adjoint.vjp(qr_r, a)
    np.testing.assert_array_equal(output, np.linalg.qr(a, mode="r"))
    step = 1e-4
    basis = np.eye(a.size).reshape((a.size,) + a.shape) * step
    # shifted[i, j, d, e]: R at a + (+-d) + (+-e), i and j the signs
    shifted = np.array([[[[np.linalg.qr(a + s * d + t * e, mode="r") for e in basis] for d in basis]
                         for t in (1, -1)] for s in (1, -1)])

    def second_differences(values):  # values: shifted's layout, any trailing shape
        mixed = (values[0, 0] - values[0, 1] - values[1, 0] + values[1, 1]) / (4 * step * step)
        return np.moveaxis(mixed, (0, 1), (-2, -1)).reshape(values.shape[4:] + a.shape + a.shape)

    second = adjoint.jacrev(adjoint.jacrev(qr_r))(a)  # (3, 3) + (4, 3) + (4, 3)
    np.testing.assert_allclose(second, second_differences(shifted), atol=2e-7)
    weights = np.arange(1.0, 10.0).reshape(3, 3)
    hessian = adjoint.hessian(lambda a: np.sum(weights * np.linalg.qr(a, "r") ** 2))(a)
    values = np.sum(weights * shifted ** 2, axis=(-2, -1))
    np.testing.assert_allclose(hessian, second_differences(values), atol=6e-6)
