"""Fourth derivatives through calls of user functions: a linear callee (its
tangents of tangents are holes, None; the tensor is zero), a callee returning a tuple, a callee
with a loop, and vmap of hessian(hessian). References: analytic tensors and
autograd's hessian(hessian)."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint


def scaled(x):
    return 0.3 * x


def calls_scaled(x):
    return scaled(x)


def sine_and_square(x):
    return np.sin(x), x * x


def calls_tuple(x):
    a, b = sine_and_square(x)
    return np.sum(a * b) + np.sum(np.exp(a) * b[0])


def calls_tuple_autograd(x):
    a, b = anp.sin(x), x * x
    return anp.sum(a * b) + anp.sum(anp.exp(a) * b[0])


def looped(x):
    s = x
    for _ in range(2):
        s = np.sin(s) * x
    return s


def calls_loop(x):
    return np.sum(looped(x) ** 2)


def calls_loop_autograd(x):
    s = x
    for _ in range(2):
        s = anp.sin(s) * x
    return anp.sum(s ** 2)


def jacfwd4(f):
    return adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(f))))


def jacrev4(f):
    return adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(f))))


X = np.array([0.4, -0.2, 0.7])


@pytest.mark.parametrize("compose", [jacfwd4, jacrev4], ids=["jacfwd^4", "jacrev^4"])
def test_linear_callee_fourth_derivative_is_zero(compose):
    # Every derivative past the first is zero: the tangents of tangents of the
    # callee's result are holes, which used to come back with the wrong axes.
    got = compose(calls_scaled)(X)
    assert got.shape == (3, 3, 3, 3, 3)
    np.testing.assert_array_equal(got, 0.0)


@pytest.mark.parametrize("compose", [jacrev4, lambda f: adjoint.hessian(adjoint.hessian(f))],
                         ids=["jacrev^4", "hessian(hessian)"])
def test_callee_returning_tuple(compose):
    expected = autograd.hessian(autograd.hessian(calls_tuple_autograd))(X)
    np.testing.assert_allclose(compose(calls_tuple)(X), expected, rtol=1e-11, atol=1e-12)


def test_callee_with_loop():
    expected = autograd.hessian(autograd.hessian(calls_loop_autograd))(X)
    np.testing.assert_allclose(adjoint.hessian(adjoint.hessian(calls_loop))(X), expected, rtol=1e-11, atol=1e-11)


@pytest.mark.filterwarnings("ignore:vmap of .* runs once per example:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:vmap of .* has no batching rule:RuntimeWarning")
def test_vmap_of_hessian_of_hessian_through_a_call():
    xs = np.array([[0.4, -0.2, 0.7], [0.1, 0.5, -0.3]])
    got = adjoint.vmap(adjoint.hessian(adjoint.hessian(calls_tuple)))(xs)
    expected = np.stack([autograd.hessian(autograd.hessian(calls_tuple_autograd))(x) for x in xs])
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12)
