"""A derivative made once and called again after the module's state changed
(a flag re-bound, a closure variable re-assigned) computes with the new
state at every level of composition, as the plain function does. Checked
against autograd, which runs the function afresh."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

MODE = "cubes"
SCALE = 2.0


def switched(x):
    if MODE == "cubes":
        return np.sum(x ** 3) * SCALE
    return np.sum(x) ** 3 * SCALE


def switched_ag(x):
    if MODE == "cubes":
        return anp.sum(x ** 3) * SCALE
    return anp.sum(x) ** 3 * SCALE


def vector_switched(x):
    return np.sin(x) * switched(x)


def vector_switched_ag(x):
    return anp.sin(x) * switched_ag(x)


COMPOSITIONS = {
    "hessian": (lambda: adjoint.hessian(switched), lambda: autograd.hessian(switched_ag)),
    "jacfwd(jacrev)": (lambda: adjoint.jacfwd(adjoint.jacrev(switched)), lambda: autograd.hessian(switched_ag)),
    "jacrev(jacrev)": (lambda: adjoint.jacrev(adjoint.jacrev(switched)), lambda: autograd.hessian(switched_ag)),
    "jacfwd(jacfwd)": (lambda: adjoint.jacfwd(adjoint.jacfwd(switched)), lambda: autograd.hessian(switched_ag)),
    "jacrev(grad)": (lambda: adjoint.jacrev(adjoint.grad(switched)), lambda: autograd.hessian(switched_ag)),
    "third order": (lambda: adjoint.jacfwd(adjoint.jacrev(adjoint.jacrev(vector_switched))),
                    lambda: _differences_of(autograd.jacobian(autograd.jacobian(vector_switched_ag)))),
}


def _differences_of(second):
    """The third derivative as central differences of autograd's exact
    second derivative along each coordinate (autograd's own third
    derivative here takes seconds)."""
    step = 1e-5
    return lambda x: np.stack([(second(x + step * e) - second(x - step * e)) / (2 * step)
                               for e in np.eye(x.size)], axis=-1)


@pytest.fixture
def restore_state():
    yield
    global MODE, SCALE
    MODE, SCALE = "cubes", 2.0


@pytest.mark.parametrize("name", list(COMPOSITIONS))
def test_a_derivative_follows_the_module_state(name, restore_state):
    global MODE, SCALE
    make, reference = COMPOSITIONS[name]
    derivative = make()
    # (9 inputs: the Hessian may take compressed passes from the second call)
    x = np.linspace(0.1, 1.0, 4 if name == "third order" else 9)
    tolerance = 1e-7 if name == "third order" else 1e-12  # (differences there)
    expected = reference()(x)
    for _ in range(3):
        np.testing.assert_allclose(derivative(x), expected, rtol=tolerance, atol=tolerance)
    MODE, SCALE = "cube of the sum", 3.0
    expected = reference()(x)
    for _ in range(2):
        np.testing.assert_allclose(derivative(x), expected, rtol=tolerance, atol=tolerance)


def test_vmap_of_a_derivative_follows_the_module_state(restore_state):
    global MODE
    X = np.random.default_rng(0).uniform(0.1, 1.0, size=(3, 4))
    derivative = adjoint.vmap(adjoint.grad(switched))
    first = derivative(X)
    np.testing.assert_allclose(first, np.stack([autograd.grad(switched_ag)(x) for x in X]), rtol=1e-12)
    MODE = "cube of the sum"
    np.testing.assert_allclose(derivative(X), np.stack([autograd.grad(switched_ag)(x) for x in X]), rtol=1e-12)


def make_closure(weight):
    def scaled(x):
        return np.sum(np.sin(x) * weight) ** 2
    return scaled


def test_a_derivative_follows_a_closure_variable_re_assigned():
    weight = [0.5]

    def outer(x):
        return np.sum(np.sin(x) * weight[0]) ** 2

    def outer_ag(x):
        return anp.sum(anp.sin(x) * weight[0]) ** 2

    hess = adjoint.jacrev(adjoint.jacrev(outer))
    x = np.array([0.3, 0.8, -0.4])
    np.testing.assert_allclose(hess(x), autograd.hessian(outer_ag)(x), rtol=1e-12)
    weight[0] = 2.5
    np.testing.assert_allclose(hess(x), autograd.hessian(outer_ag)(x), rtol=1e-12)
