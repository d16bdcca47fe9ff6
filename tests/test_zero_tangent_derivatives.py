"""The guard that makes a zero tangent contribute exactly 0 where a slope is
infinite (forward mode at the edge of sqrt's, log's, arcsin's domain) must
not hide the slope of a tangent that happens to be 0: the second derivative
of sqrt(x * x + 1) at 0 is 1, though the inner tangent 2 x dx is 0 there.
Every guarded rule, every composition of second order, against autograd."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

# (name, adjoint's function, autograd's): u = x * x + c has a zero tangent at x = 0
CASES = [
    ("sqrt", lambda x: np.sum(np.sqrt(x * x + 1.0)), lambda x: anp.sum(anp.sqrt(x * x + 1.0))),
    ("log", lambda x: np.sum(np.log(x * x + 1.0)), lambda x: anp.sum(anp.log(x * x + 1.0))),
    ("log2", lambda x: np.sum(np.log2(x * x + 1.0)), lambda x: anp.sum(anp.log2(x * x + 1.0))),
    ("log10", lambda x: np.sum(np.log10(x * x + 1.0)), lambda x: anp.sum(anp.log10(x * x + 1.0))),
    ("log1p", lambda x: np.sum(np.log1p(x * x)), lambda x: anp.sum(anp.log1p(x * x))),
    ("cbrt", lambda x: np.sum(np.cbrt(x * x + 1.0)), lambda x: anp.sum((x * x + 1.0) ** (1.0 / 3.0))),
    ("reciprocal", lambda x: np.sum(np.reciprocal(x * x + 1.0)), lambda x: anp.sum(1.0 / (x * x + 1.0))),
    ("arcsin", lambda x: np.sum(np.arcsin(0.5 * x * x + 0.1)), lambda x: anp.sum(anp.arcsin(0.5 * x * x + 0.1))),
    ("arccos", lambda x: np.sum(np.arccos(0.5 * x * x + 0.1)), lambda x: anp.sum(anp.arccos(0.5 * x * x + 0.1))),
    ("arccosh", lambda x: np.sum(np.arccosh(x * x + 2.0)), lambda x: anp.sum(anp.arccosh(x * x + 2.0))),
    ("arctanh", lambda x: np.sum(np.arctanh(0.5 * x * x + 0.1)), lambda x: anp.sum(anp.arctanh(0.5 * x * x + 0.1))),
    ("hypot", lambda x: np.sum(np.hypot(x * x + 1.0, 2.0)), lambda x: anp.sum(anp.sqrt((x * x + 1.0) ** 2 + 4.0))),
    ("power 0.5", lambda x: np.sum((x * x + 1.0) ** 0.5), lambda x: anp.sum((x * x + 1.0) ** 0.5)),
    ("power of a varying base", lambda x: np.sum(2.0 ** (x * x)), lambda x: anp.sum(2.0 ** (x * x))),
    ("float_power", lambda x: np.sum(np.float_power(x * x + 1.0, 1.5)),
     lambda x: anp.sum((x * x + 1.0) ** 1.5)),
]

SECOND_ORDER = {
    "jacfwd(jacfwd)": lambda f: adjoint.jacfwd(adjoint.jacfwd(f)),
    "jacrev(jacfwd)": lambda f: adjoint.jacrev(adjoint.jacfwd(f)),
    "hessian": adjoint.hessian,
    "jacrev(jacrev)": lambda f: adjoint.jacrev(adjoint.jacrev(f)),
}


@pytest.mark.parametrize("composition", list(SECOND_ORDER))
@pytest.mark.parametrize("name, func, reference", CASES, ids=[c[0] for c in CASES])
def test_second_derivative_where_the_inner_tangent_is_zero(name, func, reference, composition):
    x = np.array([0.0, 0.3, -0.6])
    got = SECOND_ORDER[composition](func)(x)
    np.testing.assert_allclose(got, autograd.hessian(reference)(x), rtol=1e-12, atol=1e-12)


def test_third_derivative_where_the_inner_tangents_are_zero():
    """x ** 4 inside sqrt: the first two inner tangents vanish at 0."""
    def f(x):
        return np.sum(np.sqrt(x ** 4 + 1.0 + x * x))

    def f_ag(x):
        return anp.sum(anp.sqrt(x ** 4 + 1.0 + x * x))

    x = np.array([0.0, 0.4])
    got = adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(f)))(x)
    np.testing.assert_allclose(got, autograd.jacobian(autograd.hessian(f_ag))(x), rtol=1e-10, atol=1e-10)


def test_a_zero_tangent_still_meets_an_infinite_slope_as_zero():
    """The first-order convention the guard exists for stays: sqrt at 0,
    along a direction that does not move that element."""
    def f(x):
        return np.sqrt(x) + x[1]

    J = adjoint.jacfwd(f)(np.array([0.0, 4.0]))
    assert J[1, 0] == 0.0 and J[0, 1] == 1.0 and np.isinf(J[0, 0])
