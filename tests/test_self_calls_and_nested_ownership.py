"""Issue 9: two refusals of class-based and integrator code, lifted.

1. A method of an object of the module that calls another method of its
   ``self`` (``OSC.energy(x)`` calling ``self.accel(x)``): derivatives of
   derivatives go through it (normalize_self_calls), and the transform is
   made again when the object, its class or the class's methods change.
   Checked against the analytic second derivative.
2. A nested function that returns a new array (``force(p) = -p ** 3``) does
   not keep its argument, so ``x += dt * v`` after ``a = force(x)`` in a
   velocity-Verlet loop is exact (inline_ownership); one that returns its
   argument or a view of it still makes the update refused. Checked against
   autograd running the same source.
"""
import types

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from adjoint import errors


class Osc:
    def __init__(self, k):
        self.k = k

    def accel(self, x):
        return -self.k * x ** 3

    def energy(self, x):
        return np.sum(x * self.accel(x)) + np.sum(np.sin(x))


class Soft(Osc):
    def accel(self, x):
        return -self.k * x


OSC = Osc(2.0)


def total_energy(x):
    return OSC.energy(x)


def energy_of(model, x):
    return model.energy(x)


def cubic_hessian(k, x):  # energy = -k sum x^4 + sum sin x
    return np.diag(-12.0 * k * x ** 2 - np.sin(x))


def soft_hessian(k, x):  # energy = -k sum x^2 + sum sin x
    return np.diag(-2.0 * k - np.sin(x))


X = np.array([0.3, -0.5, 0.7])


@pytest.fixture
def restore_osc():
    global OSC
    saved = OSC, Osc.accel
    yield
    OSC = saved[0]
    Osc.accel = saved[1]


def test_second_derivatives_through_a_method_calling_a_method_of_self(restore_osc):
    global OSC
    hessian = adjoint.hessian(total_energy)
    np.testing.assert_allclose(hessian(X), cubic_hessian(2.0, X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(adjoint.hessian(lambda x: OSC.energy(x))(X), cubic_hessian(2.0, X), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(adjoint.jacrev(adjoint.jacrev(total_energy))(X), cubic_hessian(2.0, X),
                               rtol=1e-10, atol=1e-12)
    rows = np.array([[0.3, -0.5, 0.7], [1.1, 0.2, -0.4]])
    np.testing.assert_allclose(adjoint.vmap(adjoint.grad(total_energy))(rows),
                               -8.0 * rows ** 3 + np.cos(rows), rtol=1e-12)
    # what the transform read in place may change: each change reaches the derivatives
    grad = adjoint.grad(total_energy)
    OSC.k = 3.0
    np.testing.assert_allclose(hessian(X), cubic_hessian(3.0, X), rtol=1e-10, atol=1e-12)
    OSC = Soft(1.0)  # re-bound to an object of another class
    np.testing.assert_allclose(grad(X), -2.0 * X + np.cos(X), rtol=1e-12)
    OSC.__class__ = Osc  # its class set in place
    np.testing.assert_allclose(grad(X), -4.0 * X ** 3 + np.cos(X), rtol=1e-12)
    Osc.accel = Soft.accel  # a method of the class replaced
    np.testing.assert_allclose(hessian(X), soft_hessian(1.0, X), rtol=1e-10, atol=1e-12)


def test_a_replaced_method_reaches_the_hessian_of_an_object_passed_in(restore_osc):
    # (the transform made for the argument's class read accel in place: before, a stale number)
    hessian = adjoint.hessian(energy_of, 1)
    model = Osc(2.0)
    np.testing.assert_allclose(hessian(model, X), cubic_hessian(2.0, X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hessian(model, X), cubic_hessian(2.0, X), rtol=1e-10, atol=1e-12)
    Osc.accel = Soft.accel
    np.testing.assert_allclose(hessian(model, X), soft_hessian(2.0, X), rtol=1e-10, atol=1e-12)


DT = 0.1
V = np.array([0.1, 0.2, -0.1])


def verlet_on_argument(x, v):
    def force(p):
        return -p ** 3
    a = force(x)
    for _ in range(5):
        v = v + 0.5 * DT * a
        x += DT * v
        a = force(x)
        v = v + 0.5 * DT * a
    return x


def verlet(x, v):
    x = x * 1.0  # (a function that changes its argument is refused twice differentiated)

    def force(p):
        return -p ** 3
    a = force(x)
    for _ in range(5):
        v = v + 0.5 * DT * a
        x += DT * v
        a = force(x)
        v = v + 0.5 * DT * a
    return np.sum(x ** 2) + np.sum(v * x)


def _with_autograd(f):
    """The same source, run by autograd (its ``np`` is autograd.numpy)."""
    return types.FunctionType(f.__code__, {**f.__globals__, "np": anp}, f.__name__)


def test_velocity_verlet_with_a_nested_force():
    np.testing.assert_allclose(adjoint.jacrev(verlet_on_argument)(X.copy(), V),
                               autograd.jacobian(_with_autograd(verlet_on_argument))(X.copy(), V), rtol=1e-12)
    reference = _with_autograd(verlet)
    grad_ref = autograd.grad(reference)(X, V)
    np.testing.assert_allclose(adjoint.grad(verlet)(X, V), grad_ref, rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(verlet)(X, V), grad_ref, rtol=1e-12)
    np.testing.assert_allclose(adjoint.hessian(verlet)(X, V), autograd.hessian(reference)(X, V), rtol=1e-10,
                               atol=1e-12)
    rows = np.array([[0.3, -0.5, 0.7], [0.9, 0.1, -0.2]])
    np.testing.assert_allclose(adjoint.vmap(adjoint.grad(verlet), in_dims=(0, None))(rows, V),
                               np.stack([autograd.grad(reference)(r, V) for r in rows]), rtol=1e-12)


def returns_its_argument(x, v):
    x = x * 1.0

    def same(p):
        return p
    a = same(x)
    for _ in range(3):
        v = v + a
        x += v  # changes a too
        a = same(x)
    return x + a


def returns_a_view(x, v):
    x = x * 1.0

    def view(p):
        q = p.T
        return q[1:]
    a = view(x)
    for _ in range(3):
        v = v + a[0]
        x += v  # changes a too
        a = view(x)
    return x[1:] + a


def keeps_it_in_a_list(x, v):
    x = x * 1.0
    kept = []

    def force(p):
        kept.append(p)
        return -p ** 3
    a = force(x)
    for _ in range(3):
        v = v + a
        x += v  # changes what kept holds
        a = force(x)
    return x + kept[0]


@pytest.mark.parametrize("f", [returns_its_argument, returns_a_view, keeps_it_in_a_list])
def test_a_nested_function_that_keeps_its_argument_still_refuses_the_update(f):
    with pytest.raises(errors.UnsupportedSyntaxError, match="augmented assignment to 'x'"):
        adjoint.grad(lambda x, v: np.sum(f(x, v)))(X, np.zeros(3))
