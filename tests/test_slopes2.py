"""Infinite slopes where a zero slope meets an infinite one (issue 9): the
seed's marks (api/bases.py, runtime/masked_bars.py) survive vmap's batched
helpers, products of arrays (@, np.dot), np.concatenate, np.real, and the
passes of a function that changes state, so every mode gives NaN there as
autograd does, and the seed's own zeros still give 0.

References: autograd's Jacobian, with the documented convention (0 where
autograd multiplies a zero of its seed by the infinite slope, entries named
in each test and checked to be NaN in autograd first); forward and reverse
mode, which reach the NaN by different ways, must agree.
"""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

W = np.array([2.0, 0.5])
M = np.array([[1.0, 2.0], [0.5, 3.0]])
LAYERS = [np.array([1.0, 1.0])]


def _assert_same(actual, expected):
    actual = actual.toarray() if hasattr(actual, "toarray") else np.asarray(actual)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(np.nan_to_num(actual), np.nan_to_num(expected), rtol=1e-12, atol=1e-14)


def _reference(autograd_f, x, seed_zeros=()):
    """autograd's Jacobian, 0 at ``seed_zeros`` (a zero of its seed times the infinite slope)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jacobian = autograd.jacobian(autograd_f)(x)
    for index in seed_zeros:
        assert np.isnan(jacobian[index])
        jacobian[index] = 0.0
    return jacobian


def dot_times(x):
    return np.dot(W, np.sqrt(x) ** 2) * x


def joined(x):
    return np.concatenate([np.sqrt(x) ** 2, x[:1]])


def root_of_abs(x):
    return np.sqrt(np.abs(x)) ** 2


def root_of_product(x):
    return np.sqrt(M @ x ** 2)


def root_of_dot(x):
    return np.sqrt(x @ x) + x


def squared_plus(x):
    return np.sqrt(x) ** 2 + x[1]


def changes_argument(x, y):
    y += 1.0
    return np.sqrt(x ** 2) + x[1] * y[0]


def changes_module_list(x):
    LAYERS[-1] *= 2.0
    return np.sqrt(x ** 2) + x[1] * LAYERS[-1][0]


def test_reverse_mode_keeps_the_marks_through_dot_sums_and_splits():
    # jacrev gave 0.5 at [0, 0] (the mark lost in unbroadcast's ndarray.sum), and 0 at [0, 0] of
    # the concatenation (lost in np.split): a zero cotangent x[0] * g that a value computed
    x = np.array([0.0, 1.0])
    expected = _reference(lambda x: anp.dot(W, anp.sqrt(x) ** 2) * x, x)
    assert np.isnan(expected[0, 0]) and np.isnan(expected[1, 0])
    for jacobian in (adjoint.jacrev(dot_times), adjoint.jacfwd(dot_times)):
        _assert_same(jacobian(x), expected)
    expected = _reference(lambda x: anp.concatenate([anp.sqrt(x) ** 2, x[:1]]), x, [(1, 0), (2, 0)])
    expected[2, 0] = 1.0  # (the copy x[:1]: autograd's NaN there is its seed's zero through sqrt)
    for jacobian in (adjoint.jacrev(joined), adjoint.jacfwd(joined)):
        _assert_same(jacobian(x), expected)
    _, pull = adjoint.vjp(joined, x)
    _assert_same(pull(np.array([1.0, 0.0, 0.0]))[0], expected[0])


def test_forward_mode_keeps_the_marks_through_real_and_products():
    # jacfwd gave 0 where the tangent 2 x dx (or sign(x) dx) is 0 at 0 and meets sqrt's slope
    x = np.array([0.0, 1.0])
    expected = _reference(lambda x: anp.sqrt(anp.abs(x)) ** 2, x, [(1, 0)])
    for jacobian in (adjoint.jacrev(root_of_abs), adjoint.jacfwd(root_of_abs)):
        _assert_same(jacobian(x), expected)
    x = np.zeros(2)
    expected = _reference(lambda x: anp.sqrt(anp.dot(M, x ** 2)), x)
    assert np.all(np.isnan(expected))
    for jacobian in (adjoint.jacrev(root_of_product), adjoint.jacfwd(root_of_product)):
        _assert_same(jacobian(x), expected)


def test_vmap_compositions_agree_with_the_derivative_example_by_example():
    # vmap(jacrev(f)) gave 0 at [0, 0] (the mark lost in rt.to_batched); jacfwd(vmap(f)) gave the
    # identity through the tangent of the batched @
    x = np.array([[0.0, 2.0], [1.0, 2.0]])
    expected = np.stack([_reference(lambda x: anp.sqrt(x) ** 2 + x[1], x[0], [(1, 0)]),
                         _reference(lambda x: anp.sqrt(x) ** 2 + x[1], x[1])])
    _assert_same(adjoint.vmap(adjoint.jacrev(squared_plus))(x), expected)
    _assert_same(adjoint.vmap(adjoint.jacfwd(squared_plus))(x), expected)
    expected = _reference(lambda x: anp.sqrt(anp.dot(x, x)) + x, np.zeros(2))
    assert np.all(np.isnan(expected))
    _assert_same(adjoint.jacfwd(adjoint.vmap(root_of_dot))(np.zeros((1, 2)))[0, :, 0], expected)


def steep_product(x):
    return np.array([[1.0, 2.0], [0.5, 3.0]]) @ np.sqrt(x) ** 2


def steep_total(x):
    return np.sum(steep_product(x))


def test_second_derivative_through_a_call_that_saves_a_constant():
    # the constant matrix saved for steep_product's backward pass has no tangent: its zeros are the
    # seed's (they gave 0 * NaN = NaN at [0, 1], where autograd has 0)
    x = np.array([0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = autograd.hessian(lambda x: anp.sum(anp.dot(M, anp.sqrt(x) ** 2)))(x)
    assert np.isnan(expected[0, 0]) and np.isnan(expected[1, 0]) and expected[0, 1] == 0.0
    expected[1, 0] = 0.0  # (autograd's zero of the seed times the infinite slope)
    _assert_same(adjoint.hessian(steep_total)(x), expected)
    _assert_same(adjoint.jacrev(adjoint.jacrev(steep_total))(x), expected)


def test_forward_mode_of_a_function_that_changes_state():
    # pushed again on the state the first push started from: NaN, and the state changed once
    x = np.array([0.0, 2.0])
    y = np.zeros(2)
    expected = _reference(lambda x: anp.sqrt(x ** 2) + x[1] * 1.0, x, [(1, 0)])
    _assert_same(adjoint.jacfwd(changes_argument)(x, y), expected)
    np.testing.assert_array_equal(y, [1.0, 1.0])
    _, tangent = adjoint.jvp(changes_argument, (x, y), (np.array([1.0, 0.0]), np.zeros(2)))
    _assert_same(tangent, expected[:, 0])
    np.testing.assert_array_equal(y, [2.0, 2.0])
    expected = _reference(lambda x: anp.sqrt(x ** 2) + x[1] * 2.0, x, [(1, 0)])
    _assert_same(adjoint.jacfwd(changes_module_list)(x), expected)
    np.testing.assert_array_equal(LAYERS[-1], [2.0, 2.0])
