"""The quick staleness look of backend/freshness.py, taken on every call of a
derivative: after the first calls have made its plan, a re-bound global, a
closure variable, a callee re-bound in the module or replaced on a module
object still reach the derivative (checked against analytic derivatives,
written by hand here), and the look itself answers True only when nothing
changed."""
import types

import numpy as np
import pytest

import adjoint
from adjoint.backend import freshness
from adjoint.backend.pipeline import CompiledVJP

WEIGHTS = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
HELPERS = types.SimpleNamespace(act=np.tanh)


def inner(z):
    return np.tanh(z)


def layer(x):
    return inner(WEIGHTS @ x)


def through_object(x):
    return HELPERS.act(x) * 2.0


def layer_jacobians(X, weights, slope):
    """Per-example Jacobians of act(W x), act' = slope(W x)."""
    return slope(X @ weights.T)[:, :, None] * weights


def tanh_slope(z):
    return 1.0 - np.tanh(z) ** 2


@pytest.fixture
def restore():
    global WEIGHTS, inner
    saved = WEIGHTS, inner, HELPERS.act
    yield
    WEIGHTS, inner, HELPERS.act = saved


X = np.random.default_rng(3).normal(size=(6, 3))


def _called_twice(f, *args):
    f(*args)
    return f(*args)  # the second call checks the transform: the plan is made


def test_a_rebound_global_array_reaches_a_batched_jacobian(restore):
    global WEIGHTS
    f = adjoint.vmap(adjoint.jacrev(layer))
    np.testing.assert_allclose(_called_twice(f, X), layer_jacobians(X, WEIGHTS, tanh_slope), rtol=1e-12)
    WEIGHTS = np.array([[0.5, -1.0, 1.0], [2.0, 0.0, 1.0]])
    np.testing.assert_allclose(f(X), layer_jacobians(X, WEIGHTS, tanh_slope), rtol=1e-12)
    np.testing.assert_allclose(f(X), layer_jacobians(X, WEIGHTS, tanh_slope), rtol=1e-12)  # and again


def test_a_rebound_callee_reaches_a_batched_jacobian(restore):
    global inner
    f = adjoint.vmap(adjoint.jacrev(layer))
    _called_twice(f, X)

    def inner(z):  # noqa: F811 (re-bound on purpose)
        return np.sin(z)
    np.testing.assert_allclose(f(X), layer_jacobians(X, WEIGHTS, np.cos), rtol=1e-12)


def test_a_callee_replaced_on_an_object_reaches_the_derivative(restore):
    g = adjoint.jacrev(through_object)
    x = np.array([0.3, -0.2, 1.1])
    np.testing.assert_allclose(_called_twice(g, x), np.diag(2.0 * tanh_slope(x)), rtol=1e-12)
    HELPERS.act = np.sin
    np.testing.assert_allclose(g(x), np.diag(2.0 * np.cos(x)), rtol=1e-12)


def test_a_closure_variable_reaches_a_batched_jacobian():
    scale = 2.0

    def scaled(x):
        return np.sin(x) * scale

    f = adjoint.vmap(adjoint.jacrev(scaled))
    expected = np.cos(X)[:, :, None] * np.eye(3)
    np.testing.assert_allclose(_called_twice(f, X), 2.0 * expected, rtol=1e-12)
    scale = -0.5
    np.testing.assert_allclose(f(X), -0.5 * expected, rtol=1e-12)


def _plans_made():
    import gc

    return [o for o in gc.get_objects() if type(o) is CompiledVJP and o.freshness is not None]


def test_the_plan_lists_each_transform_once_and_sees_no_change():
    from adjoint.backend import cache

    import gc

    cache.clear()  # (the plans made here are new: other test files differentiate functions named layer too)
    gc.collect()  # (plans cleared but not yet collected would free their ids for the new ones)
    kept = _plans_made()  # (held: no id of these is reused while the test runs)
    before = {id(c) for c in kept}
    f = adjoint.vmap(adjoint.jacrev(layer))
    _called_twice(f, X)
    plans = [c for c in _plans_made() if id(c) not in before and "layer" in c.filename and "vmap" in c.filename]
    assert plans, "no plan was made: the quick look is not taken"
    for compiled in plans:
        nodes = [reference() for reference, _ in compiled.freshness]
        assert len({id(node) for node in nodes}) == len(nodes)
        assert freshness.unchanged(compiled.freshness)  # nothing changed: the full check is not needed


def test_the_look_sees_a_changed_name(restore):
    global WEIGHTS
    kept = _plans_made()  # (held: no id of these is reused while the test runs)
    before = {id(c) for c in kept}
    f = adjoint.vmap(adjoint.jacrev(lambda x: layer(x)))  # (its transforms are this test's own)
    _called_twice(f, X)
    plans = [c for c in _plans_made() if id(c) not in before and "layer" in c.filename]
    assert plans
    WEIGHTS = WEIGHTS * 2.0
    assert any(not freshness.unchanged(c.freshness) for c in plans)
    f(X)  # the full check refreshes the namespaces
    assert all(freshness.unchanged(c.freshness) for c in plans)
