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
