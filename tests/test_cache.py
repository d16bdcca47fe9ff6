"""The cache: the second call of a transformed function neither parses nor
transforms again; options and re-bound globals are respected."""
import numpy as np

import adjoint
import callee_module
from adjoint.backend import pipeline as transform
from adjoint.frontend import parse

SCALE = 2.0


def scaled(x):
    return SCALE * np.sin(x)


def test_second_call_does_not_parse_or_transform(monkeypatch):
    jac = adjoint.jacrev(scaled)
    x = np.linspace(0.1, 1.0, 4)
    first = jac(x)
    calls = []
    monkeypatch.setattr(parse, "parse_function", lambda f: calls.append(f))
    monkeypatch.setattr(transform, "parse_function", lambda f: calls.append(f))
    count = transform.TRANSFORM_COUNT["vjp"]
    second = jac(x * 2)  # other values, same shapes
    third = jac(np.ones((2, 3)))  # other shapes: generated code is shape-polymorphic
    assert calls == []
    assert transform.TRANSFORM_COUNT["vjp"] == count
    np.testing.assert_allclose(first, np.diag(SCALE * np.cos(x)))
    np.testing.assert_allclose(second, np.diag(SCALE * np.cos(2 * x)))
    assert third.shape == (2, 3, 2, 3)


def product(x, y):
    return x * y


def test_different_options_are_cached_separately():
    x, y = np.array([0.3, 0.7]), np.array([1.5, 2.0])
    count = transform.TRANSFORM_COUNT["vjp"]
    adjoint.jacrev(product)(x, y)
    adjoint.jacrev(product, argnums=0)(x, y)  # the same options: cached
    assert transform.TRANSFORM_COUNT["vjp"] == count + 1
    adjoint.jacrev(product, argnums=1)(x, y)
    adjoint.jacrev(product, argnums=(0, 1))(x, y)
    assert transform.TRANSFORM_COUNT["vjp"] == count + 3


def test_rebound_global_constant_is_read_at_call_time(monkeypatch):
    x = np.array([0.5])
    jac = adjoint.jacrev(scaled)
    np.testing.assert_allclose(jac(x), [[2.0 * np.cos(0.5)]])
    monkeypatch.setattr(__import__(__name__), "SCALE", 3.0)
    np.testing.assert_allclose(jac(x), [[3.0 * np.cos(0.5)]])


act = np.sin


def uses_act(x):
    return act(x) * 2.0


def test_rebound_callee_is_transformed_again(monkeypatch):
    x = np.array([0.5])
    np.testing.assert_allclose(adjoint.jacrev(uses_act)(x), [[2 * np.cos(0.5)]])
    monkeypatch.setattr(__import__(__name__), "act", np.cos)
    np.testing.assert_allclose(adjoint.jacrev(uses_act)(x), [[-2 * np.sin(0.5)]])


FACTOR = 2.0


def uses_factor(x):
    return np.sin(x) * FACTOR


def calls_uses_factor(x):
    return uses_factor(x) + x


def test_rebound_global_of_a_callee_is_read_at_call_time(monkeypatch):
    x = np.array([0.5])
    jac = adjoint.jacrev(calls_uses_factor)
    np.testing.assert_allclose(jac(x), [[2.0 * np.cos(0.5) + 1.0]])
    monkeypatch.setattr(__import__(__name__), "FACTOR", 5.0)
    np.testing.assert_allclose(jac(x), [[5.0 * np.cos(0.5) + 1.0]])


def uses_module_attribute(x):
    return callee_module.squash(x) * 2.0


SPRING = callee_module.Spring(3.0)


def uses_method_of_global(x):
    return SPRING.energy(x)


def test_callee_replaced_on_its_module_or_class_is_transformed_again(monkeypatch):
    x = np.array([0.5, -0.2])
    np.testing.assert_allclose(adjoint.jacrev(uses_module_attribute)(x),
                               np.diag(2.0 * 1.5 * (1.0 - np.tanh(x) ** 2)))
    monkeypatch.setattr(callee_module, "squash", lambda z: np.sin(z))
    np.testing.assert_allclose(adjoint.jacrev(uses_module_attribute)(x), np.diag(2.0 * np.cos(x)))
    np.testing.assert_allclose(adjoint.grad(uses_method_of_global)(x), 3.0 * x)
    monkeypatch.setattr(callee_module.Spring, "energy", lambda self, y: np.sum(y ** 3))
    np.testing.assert_allclose(adjoint.grad(uses_method_of_global)(x), 3.0 * x ** 2)


def cubed(x):
    return x ** 3


def sums_cubed(x):
    return np.sum(cubed(x))


def test_one_wrapper_sees_a_rebound_callee_and_a_rule_registered_later(monkeypatch):
    # A jacrev/grad wrapper remembers the transform it found; a later call
    # must still notice a callee re-bound, a rule registered, and the
    # registry cleared.
    from adjoint import rules

    x = np.array([0.5, -1.5])
    gradient = adjoint.grad(sums_cubed)
    jacobian = adjoint.jacrev(cubed)
    np.testing.assert_allclose(gradient(x), 3 * x ** 2)
    np.testing.assert_allclose(jacobian(x), np.diag(3 * x ** 2))
    monkeypatch.setattr(__import__(__name__), "cubed", lambda z: np.sin(z))
    np.testing.assert_allclose(gradient(x), np.cos(x))
    monkeypatch.undo()
    np.testing.assert_allclose(gradient(x), 3 * x ** 2)
    saved = dict(rules.CUSTOM_VJPS)
    try:
        # A rule that is deliberately not the derivative, so that its use shows.
        adjoint.defvjp(cubed, lambda ans, z: lambda g: g * 7.0)
        np.testing.assert_allclose(gradient(x), [7.0, 7.0])
        np.testing.assert_allclose(jacobian(x), np.diag([7.0, 7.0]))
    finally:
        rules.CUSTOM_VJPS.clear()
        rules.CUSTOM_VJPS.update(saved)
        adjoint.backend.cache.clear()
    np.testing.assert_allclose(gradient(x), 3 * x ** 2)
    np.testing.assert_allclose(jacobian(x), np.diag(3 * x ** 2))
