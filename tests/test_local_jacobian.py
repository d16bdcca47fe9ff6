"""Loops of small scalar steps: a callee on a few scalars is differentiated
through its local Jacobian, written out entry by entry and applied to the
batch of tangents or cotangents as one product (backend/local_calls.py,
transforms/local_jacobian.py). Checked against autograd running the same
source with autograd.numpy, and against central differences; each test also
asserts which path served the calls, so that a silent fall back to the
general transform cannot pass for the local one."""
import types

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from adjoint.backend import cache, local_calls
from conftest import numerical_jacobian

SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0
GRAVITY = 9.81
SPRING = 2.0
WEIGHTS = np.array([1.0, 2.0, 3.0])


def lorenz_rate(state):
    x, y, z = state[0], state[1], state[2]
    return np.array([SIGMA * (y - x), x * (RHO - z) - y, x * y - BETA * z])


def lorenz(state, steps=15, dt=0.01):
    for _ in range(steps):
        k1 = lorenz_rate(state)
        k2 = lorenz_rate(state + 0.5 * dt * k1)
        k3 = lorenz_rate(state + 0.5 * dt * k2)
        k4 = lorenz_rate(state + dt * k3)
        state = state + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return state


def pendulum_rate(s):
    theta, omega = s
    return np.array([omega, -GRAVITY * np.sin(theta) - 0.1 * omega ** 2 / (1.0 + np.exp(-theta))])


def pendulum(s, steps=12, dt=0.05):
    for _ in range(steps):
        k1 = pendulum_rate(s)
        k2 = pendulum_rate(s + 0.5 * dt * k1)
        s = s + dt * k2
    return s


def acceleration(q):
    r2 = q[0] ** 2 + q[1] ** 2
    inverse = r2 ** -1.5
    return np.array([-q[0] * inverse, -q[1] * inverse])


def leapfrog(x, steps=10, dt=0.05):
    q, p = x[:2], x[2:]
    for _ in range(steps):
        p = p + 0.5 * dt * acceleration(q)
        q = q + dt * p
        p = p + 0.5 * dt * acceleration(q)
    return np.concatenate([q, p])


def spring(position, velocity):
    """Two scalar arguments, a scalar result."""
    return -SPRING * np.tanh(position) * np.sqrt(1.0 + velocity * velocity) + np.cos(velocity) / (2.0 + position)


def springs(x, steps=10, dt=0.1):
    position, velocity = x[0], x[1]
    for _ in range(steps):
        velocity = velocity + dt * spring(position, velocity)
        position = position + dt * velocity
    return np.array([position, velocity])


def collide(s, scale=SPRING):
    """Names like the written-out code's own, and a default read from the module."""
    d_1 = s[0] * scale
    f_1 = np.exp(d_1) - s[1] ** 3
    jacobian_1 = d_1 / (1.0 + f_1 * f_1)
    return np.array([jacobian_1, f_1])


def collisions(s, steps=4):
    for _ in range(steps):
        s = s + 0.1 * collide(s)
    return s


def shifted(s, c):
    """Scalar code while ``c`` is a number; a 2-d result once it is an array."""
    u = 0.0 * (c * s[0])
    return np.array([u + s[1], s[0] + 0.0 * c])


def shifted_twice(s, c):
    return np.sum(shifted(s, c) * shifted(1.5 * s, c))


def root_rate(s):
    return np.array([s[1], np.sqrt(s[0])])


def root_twice(s):
    return 2.0 * root_rate(s)


def weighted(s):
    """Not a scalar step: a module array times a scalar is a vector."""
    return WEIGHTS * s[0] + s[1]


def weighted_loop(s, steps=3):
    total = 0.0 * s[0]
    for _ in range(steps):
        total = total + weighted(s)
        s = 0.9 * s
    return total


def _twin(function):
    """``function`` running on autograd.numpy, its callees too."""
    namespace = dict(globals(), np=anp)
    for name in ("lorenz_rate", "lorenz", "pendulum_rate", "pendulum", "acceleration", "leapfrog",
                 "spring", "springs", "weighted", "weighted_loop", "collide", "collisions",
                 "shifted", "shifted_twice", "root_rate", "root_twice"):
        original = globals()[name]
        namespace[name] = types.FunctionType(original.__code__, namespace, name, original.__defaults__)
    return namespace[function.__name__]


def _plans(function, mode):
    """What the stand-ins in ``function``'s transform decided, per shape."""
    # (the entry the API uses: called with real arguments, see cache.get_vjp)
    compiled = (cache.get_vjp(function, (0,), False, real_params=True) if mode == "vjp"
                else cache.get_jvp(function, (0,), False, real_params=True))
    found = {}
    for value in compiled.namespace.values():
        if isinstance(value, (local_calls.LocalForward, local_calls.LocalJVP)):
            found.update(value.plans.plans)
    return found


CASES = [
    (lorenz, np.array([1.0, 1.2, 0.9])),
    (pendulum, np.array([0.7, -0.3])),
    (leapfrog, np.array([1.0, 0.1, -0.2, 0.9])),
    (springs, np.array([0.3, -0.5])),
    (collisions, np.array([0.2, -0.4])),
]


@pytest.mark.parametrize("function, x", CASES, ids=[f.__name__ for f, _ in CASES])
def test_first_order_both_modes(function, x):
    expected = autograd.jacobian(_twin(function))(x)
    np.testing.assert_allclose(numerical_jacobian(function, (x,)), expected, rtol=1e-6, atol=1e-7)
    for transform, mode in ((adjoint.jacrev, "vjp"), (adjoint.jacfwd, "jvp")):
        np.testing.assert_allclose(transform(function)(x), expected, rtol=1e-12, atol=1e-13)
        plans = _plans(function, mode)
        assert plans and all(plan is not None for plan in plans.values()), (mode, plans)


def test_vjp_of_one_cotangent_and_grad():
    x = np.array([1.0, 1.2, 0.9])
    cotangent = np.array([0.3, -1.0, 2.0])
    out, pullback = adjoint.vjp(lorenz, x)
    np.testing.assert_allclose(out, lorenz(x), rtol=1e-15)
    expected = autograd.make_vjp(_twin(lorenz))(x)[0](cotangent)
    np.testing.assert_allclose(pullback(cotangent)[0], expected, rtol=1e-12)

    def energy(s):
        return np.sum(pendulum(s) ** 2)

    s = np.array([0.7, -0.3])
    np.testing.assert_allclose(adjoint.grad(energy)(s), autograd.grad(lambda v: anp.sum(_twin(pendulum)(v) ** 2))(s),
                               rtol=1e-12)


def test_second_order():
    def energy(s):
        out = pendulum(s, 4)
        return out[0] ** 2 + np.sin(out[1])

    s = np.array([0.7, -0.3])
    twin = _twin(pendulum)
    expected = autograd.hessian(lambda v: twin(v, 4)[0] ** 2 + anp.sin(twin(v, 4)[1]))(s)
    np.testing.assert_allclose(adjoint.hessian(energy)(s), expected, rtol=1e-10, atol=1e-12)


def test_vmap_of_a_jacobian():
    def short(state):
        return lorenz(state, 3)

    states = np.array([[1.0, 1.2, 0.9], [0.5, -0.4, 1.1], [2.0, 0.0, 0.3]])
    per_example = autograd.jacobian(lambda v: _twin(lorenz)(v, 3))
    expected = np.stack([per_example(s) for s in states])
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacfwd(short))(states), expected, rtol=1e-11, atol=1e-12)


def test_a_module_array_is_caught_and_served_by_the_general_transform():
    s = np.array([0.4, -1.3])
    expected = autograd.jacobian(_twin(weighted_loop))(s)
    np.testing.assert_allclose(adjoint.jacrev(weighted_loop)(s), expected, rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(weighted_loop)(s), expected, rtol=1e-12)
    assert set(_plans(weighted_loop, "vjp").values()) == {None}
    assert set(_plans(weighted_loop, "jvp").values()) == {None}


def test_other_shapes_and_a_changed_global():
    global SPRING
    x = np.array([0.3, -0.5])
    jacobian = adjoint.jacrev(springs)
    before = jacobian(x)
    try:
        SPRING = 3.5
        np.testing.assert_allclose(jacobian(x), autograd.jacobian(_twin(springs))(x), rtol=1e-12)
        assert not np.allclose(jacobian(x), before)
    finally:
        SPRING = 2.0
    # a callee on a 2-d array (not a short vector) runs the general transform
    def rows(m):
        return 2.0 * lorenz_rate(m)

    m = np.array([[1.0, 1.2], [0.9, 0.5], [-0.4, 1.1]])
    np.testing.assert_allclose(adjoint.jacrev(rows)(m), numerical_jacobian(rows, (m,)), rtol=1e-6, atol=1e-6)


def test_an_argument_that_becomes_an_array_after_the_first_call():
    s = np.array([0.4, -1.3])
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        derivative = transform(shifted_twice)
        for c in (2.0, np.array([1.0, 3.0])):
            expected = autograd.grad(_twin(shifted_twice))(s, c)
            np.testing.assert_allclose(derivative(s, c), expected, rtol=1e-12)


def test_an_infinite_partial_keeps_the_rules_convention():
    # sqrt at 0: an infinite partial, which a zero cotangent (tangent) meets as
    # 0 under the general rules (rt.times_tangent), where a matrix product
    # would make NaN of it: those calls take the general functions
    for transform, mode in ((adjoint.jacrev, "vjp"), (adjoint.jacfwd, "jvp")):
        derivative = transform(root_twice)
        np.testing.assert_allclose(derivative(np.array([4.0, 2.0])), [[0.0, 2.0], [0.5, 0.0]], rtol=1e-15)
        assert all(plan is not None for plan in _plans(root_twice, mode).values())
        with np.errstate(divide="ignore", invalid="ignore"):
            np.testing.assert_array_equal(derivative(np.array([0.0, 2.0])), [[0.0, 2.0], [np.inf, 0.0]])
