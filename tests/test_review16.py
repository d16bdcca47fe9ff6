"""Review of this session's optimisation passes: wrong numbers found, as tests.

A dense ``hessian(f)`` switches to compressed passes from its second call of
a shape, reusing the sparsity pattern of that call. Arguments that decide a
structure (``np.roll``'s shift, a shape given to ``reshape``) were not seen
as value-dependent, so a pattern found for one shift was reused for another:
silently wrong Hessians. References: autograd and an analytic Hessian.
"""
import warnings

import numpy as np
import pytest

import adjoint
from adjoint.api import sparse as sparse_api

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

X = np.linspace(0.1, 1.2, 12)


def rolled(x, k):
    return np.sum(np.roll(x, k) * x ** 2)


def rolled_reference(x, k):
    return anp.sum(anp.roll(x, k) * x ** 2)


def rolled_hessian(x, k):
    """d2/dx2 of sum_i x[i-k] x[i]^2 (indices mod n), by hand."""
    n = x.size
    h = np.zeros((n, n))
    for i in range(n):
        j = (i - k) % n
        h[i, i] += 2.0 * x[j]
        h[i, j] += 2.0 * x[i]
        h[j, i] += 2.0 * x[i]
    return h


def test_reference_is_right():
    assert np.allclose(rolled_hessian(X, 2), autograd.hessian(rolled_reference)(X, 2))


def test_hessian_follows_a_shift_argument_that_changes():
    h = adjoint.hessian(rolled)
    for k in (1, 1, 1, 2, 5, 1):
        assert np.allclose(h(X, k), rolled_hessian(X, k)), k


def test_hessian_follows_a_shift_computed_from_the_values():
    def f(x):
        k = int(np.sum(x) > 0) + 1
        return np.sum(np.roll(x, k) * x ** 2)

    h = adjoint.hessian(f)
    for x in (X, X, X, -X, X + 1.0, -X):
        k = int(np.sum(x) > 0) + 1
        assert np.allclose(h(x), rolled_hessian(x, k))


def test_hessian_follows_a_reshape_argument_that_changes():
    def f(x, k):
        return np.sum(np.prod(x.reshape(k, -1), axis=0) ** 2)

    def g(x, k):
        return anp.sum(anp.prod(anp.reshape(x, (k, -1)), axis=0) ** 2)

    h = adjoint.hessian(f)
    for k in (2, 2, 2, 3, 4, 2):
        assert np.allclose(h(X, k), autograd.hessian(g)(X, k)), k


def test_hessian_follows_an_axis_argument_that_changes():
    def f(x, axis):
        return np.sum(np.cumsum(x.reshape(3, 4), axis=axis) ** 3)

    def g(x, axis):
        return anp.sum(anp.cumsum(anp.reshape(x, (3, 4)), axis=axis) ** 3)

    h = adjoint.hessian(f)
    for axis in (0, 0, 0, 1, 0):
        assert np.allclose(h(X, axis), autograd.hessian(g)(X, axis)), axis


def test_sparse_hessian_keys_an_int_shift_without_warning():
    # hessian(sparse=True) keys its pattern by the values of int arguments:
    # an int shift is no value dependence there.
    h = adjoint.hessian(rolled, sparse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for k in (1, 1, 3, 1):
            assert np.allclose(h(X, k).toarray(), rolled_hessian(X, k)), k


def test_the_analysis_reports_structural_arguments():
    def shift(x, k):
        return np.roll(x, shift=k)

    def literal(x, k):
        return np.roll(x, 2) * k + np.sum(x.reshape(3, -1), axis=0)[0] + np.zeros(len(x))

    def data_only(x, c):
        return np.full(x.shape, c) * np.linspace(c, 2 * c, x.size)

    found = sparse_api._value_dependence(shift, 2, frozenset({0, 1}), frozenset())
    assert found is not None and "shift of np.roll" in found[1]
    assert sparse_api._value_dependence(literal, 2, frozenset({0, 1}), frozenset()) is None
    assert sparse_api._value_dependence(data_only, 2, frozenset({0, 1}), frozenset()) is None
    # an untainted (keyed) shift is fine
    assert sparse_api._value_dependence(shift, 2, frozenset({0}), frozenset()) is None
