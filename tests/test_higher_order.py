"""Fourth derivatives by every composition of the transforms, through a loop
and a call, against the analytic tensor."""
import numpy as np
import pytest

import adjoint

A = np.array([0.3, -0.5, 0.2])


def weighted(x, i):
    return A[i] * x[i]


def exp_of_loop_plus_quartic(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + weighted(x, i)
    return np.exp(s) + np.sum(x ** 4)


def analytic_fourth(x):
    tensor = np.exp(A @ x) * np.einsum("i,j,k,l->ijkl", A, A, A, A)
    for i in range(x.size):
        tensor[i, i, i, i] += 24.0
    return tensor


COMPOSITIONS = {
    "jacfwd^4": lambda f: adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(f)))),
    "jacrev^4": lambda f: adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(f)))),
    "hessian(hessian)": lambda f: adjoint.hessian(adjoint.hessian(f)),
    "jacfwd(jacrev(hessian))": lambda f: adjoint.jacfwd(adjoint.jacrev(adjoint.hessian(f))),
    "jacrev(jacfwd(jacrev(grad)))": lambda f: adjoint.jacrev(adjoint.jacfwd(adjoint.jacrev(adjoint.grad(f)))),
}


@pytest.mark.parametrize("name", list(COMPOSITIONS))
def test_fourth_derivative(name):
    x = np.array([0.4, -0.2, 0.9])
    got = COMPOSITIONS[name](exp_of_loop_plus_quartic)(x)
    np.testing.assert_allclose(got, analytic_fourth(x), rtol=1e-12, atol=1e-13)


# ------------------------------------------------- third order of np.prod, zeros included

SIN_DERIVATIVES = (np.sin, np.cos, lambda t: -np.sin(t), lambda t: -np.cos(t))
SQUARE_DERIVATIVES = (lambda t: t * t, lambda t: 2 * t, lambda t: 2 + 0 * t, lambda t: 0 * t)


def product_of_sines(x):
    return np.prod(np.sin(x))


def column_products_of_squares(x):
    return np.prod(x * x, axis=0)


def analytic_third_of_product(x, derivatives):
    """Third derivatives of prod_i s(x_i) (one variable per factor): each
    factor differentiated as often as its variable appears."""
    n = x.size
    tensor = np.empty((n, n, n))
    for i, j, k in np.ndindex(n, n, n):
        orders = np.bincount([i, j, k], minlength=n)
        tensor[i, j, k] = np.prod([derivatives[o](v) for o, v in zip(orders, x, strict=True)])
    return tensor


THIRD_ORDER = {
    "jacfwd^3": lambda f: adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(f))),
    "jacrev^3": lambda f: adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(f))),
    "jacfwd(hessian)": lambda f: adjoint.jacfwd(adjoint.hessian(f)),
}


@pytest.mark.parametrize("name", list(THIRD_ORDER))
@pytest.mark.parametrize("x", [np.array([0.4, -0.2, 0.9]), np.array([0.4, 0.0, 0.9]), np.array([0.0, 0.0, 0.7])],
                         ids=["no zero", "a zero", "two zeros"])
def test_third_derivative_of_a_product(name, x):
    """prod's third derivative goes through the tangent of its second-order
    helper, which has no rule of its own (differentiated from its source)."""
    got = THIRD_ORDER[name](product_of_sines)(x)
    np.testing.assert_allclose(got, analytic_third_of_product(x, SIN_DERIVATIVES), rtol=1e-12, atol=1e-14)


def test_third_derivative_of_products_along_an_axis():
    x = np.array([[0.4, 0.0], [0.9, 1.1], [0.5, -0.3]])
    got = adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(column_products_of_squares)))(x)
    expected = np.zeros((2,) + (3, 2) * 3)
    for column in range(2):
        block = analytic_third_of_product(x[:, column], SQUARE_DERIVATIVES)
        expected[column][:, column, :, column, :, column] = block
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
