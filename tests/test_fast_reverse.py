"""The common call of jacrev (one float array in, one array out: api/fast_reverse.py)
gives what the general path gives, and hands everything else to it without
running the forward pass twice; the memory budget it checks follows
set_memory_budget and ADJOINT_MEMORY_BUDGET between calls of one transform.

References: analytic Jacobians, and autograd for the float32 case.
"""
import os
import warnings

import numpy as np
import pytest

import adjoint
from adjoint import runtime
from adjoint.api import budget as budget_module, fast_reverse, reverse

X = np.array([0.3, -1.2, 2.0, 0.7])


def wave(x):
    return np.sin(x) * np.exp(-x ** 2) + x ** 3


def wave_jacobian(x):
    return np.diag((np.cos(x) - 2.0 * x * np.sin(x)) * np.exp(-x * x) + 3.0 * x * x)


def same(x):
    return x


def constant(x):
    return np.ones(3)


def pair(x):
    return np.sin(x), np.sum(x * x)


def count(x):
    return np.sum(x > 0)


def tall(x):
    return np.outer(np.sin(x), np.ones(300)).ravel()


@pytest.fixture
def general_calls(monkeypatch):
    """The calls that reached the general path, from the start or after the fast path's forward pass."""
    calls = []
    start, after = reverse._jacrev_call, fast_reverse._general
    monkeypatch.setattr(reverse, "_jacrev_call", lambda *a, **k: calls.append("start") or start(*a, **k))
    monkeypatch.setattr(fast_reverse, "_general", lambda *a, **k: calls.append("after") or after(*a, **k))
    return calls


@pytest.fixture
def no_budget_set(monkeypatch):
    """The default budget, whatever the session set; restored afterwards."""
    monkeypatch.setattr(budget_module, "_budget", None)
    monkeypatch.delenv("ADJOINT_MEMORY_BUDGET", raising=False)


def test_the_common_call_matches_the_analytic_jacobian_and_owns_its_result(general_calls):
    jac = adjoint.jacrev(wave)
    first = jac(X)
    np.testing.assert_allclose(first, wave_jacobian(X), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(jac(X[1:]), wave_jacobian(X[1:]), rtol=1e-13, atol=1e-15)  # another shape
    np.testing.assert_allclose(jac(np.float64(0.5) * np.ones((2, 2))),  # 2-d in and out: (2, 2, 2, 2)
                               wave_jacobian(np.full(4, 0.5)).reshape(2, 2, 2, 2), rtol=1e-13)
    # The identity's Jacobian is the shared read-only basis itself: each caller gets a writable copy.
    ident = adjoint.jacrev(same)
    one, two = ident(X), ident(X)
    assert one.flags.writeable and one is not two
    one[0, 0] = 7.0
    np.testing.assert_array_equal(two, np.eye(4))
    np.testing.assert_array_equal(runtime.identity_rows((4,), np.dtype(np.float64)), np.eye(4))
    # An output that does not depend on x: zeros of output.shape + x.shape.
    np.testing.assert_array_equal(adjoint.jacrev(constant)(X), np.zeros((3, 4)))
    assert general_calls == []


def test_float32_and_scalar_outputs_keep_the_inputs_dtype(general_calls):
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    x32 = X.astype(np.float32)
    got = adjoint.jacrev(wave)(x32)
    assert got.dtype == np.float32 and got.shape == (4, 4)
    np.testing.assert_allclose(got, wave_jacobian(X), rtol=1e-5, atol=1e-6)
    energy = adjoint.jacrev(lambda x: np.sum(x ** 3) / 3.0)(X)  # a np.float64 output: shape x.shape
    expected = autograd.jacobian(lambda x: anp.sum(x ** 3) / 3.0)(X)
    assert energy.shape == (4,)
    np.testing.assert_allclose(energy, expected, rtol=1e-14)
    assert general_calls == []


def test_other_calls_reach_the_general_path_once(general_calls):
    sine, square = adjoint.jacrev(pair)(X)  # a container output: after the fast path's forward pass
    np.testing.assert_allclose(sine, np.diag(np.cos(X)), rtol=1e-14)
    np.testing.assert_allclose(square, 2.0 * X, rtol=1e-14)
    assert general_calls == ["after"]
    with pytest.raises(TypeError, match="must be floating-point"):  # SPEC's error for an integer output
        adjoint.jacrev(count)(X)
    assert general_calls == ["after", "after"]
    assert float(adjoint.jacrev(wave)(0.5)) == pytest.approx(wave_jacobian(np.array([0.5]))[0, 0], rel=1e-13)
    with pytest.raises(TypeError, match="argument 0"):  # an integer array: SPEC's error, from the start
        adjoint.jacrev(wave)(np.arange(3))
    with pytest.raises(ValueError, match="argnum=1"):  # checked before either path runs
        adjoint.jacrev(wave, argnums=1)(X)
    assert general_calls == ["after", "after", "start", "start"]


def test_the_budget_is_read_on_each_call_of_one_transform(general_calls, no_budget_set, monkeypatch):
    x = np.linspace(-1.0, 1.2, 4)
    jac = adjoint.jacrev(tall)
    expected = np.kron(np.diag(np.cos(x)), np.ones((300, 1)))
    np.testing.assert_allclose(jac(x), expected, rtol=1e-12)  # 1,200 x 4 fits 256 MiB at once
    assert general_calls == []
    adjoint.set_memory_budget(128 * 2 ** 10)  # now it needs chunks (the general path's)
    with pytest.warns(RuntimeWarning, match="runs over 1,200 basis rows"):
        np.testing.assert_allclose(jac(x), expected, rtol=1e-12)
    adjoint.set_memory_budget(None)
    monkeypatch.setenv("ADJOINT_MEMORY_BUDGET", "1000")  # the environment, changed between two calls
    with pytest.raises(adjoint.MemoryBudgetError, match="budget"):
        jac(x)
    monkeypatch.setenv("ADJOINT_MEMORY_BUDGET", "lots")  # a bad value raises on every read, not only the first
    for _ in range(2):
        with pytest.raises(ValueError, match="ADJOINT_MEMORY_BUDGET='lots'"):
            jac(x)
    if hasattr(os, "environb"):  # (os.environb shares os.environ's variables)
        monkeypatch.setitem(os.environb, b"ADJOINT_MEMORY_BUDGET", b"64MiB")
        assert adjoint.get_memory_budget() == 64 * 2 ** 20
    monkeypatch.delenv("ADJOINT_MEMORY_BUDGET")
    assert adjoint.get_memory_budget() == budget_module.DEFAULT_MEMORY_BUDGET
    np.testing.assert_allclose(jac(x), expected, rtol=1e-12)
    assert general_calls == ["after", "after"]  # (chunks; the Jacobian over 1000 bytes)


def test_the_chunking_warning_names_the_callers_line(no_budget_set):
    x = np.linspace(-1.0, 1.2, 4)
    adjoint.set_memory_budget(128 * 2 ** 10)
    for jac in (adjoint.jacrev(tall), adjoint.jacrev(tall, chunk_size=None, progress=False)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            jac(x)  # after the fast path's forward pass
            adjoint.jacrev(lambda x, scale: tall(x) * scale)(x, 2.0)  # the general path from the start
        assert [w.filename for w in caught] == [__file__, __file__]


def test_grad_with_the_shared_seed_gives_each_caller_its_own_gradient():
    total = adjoint.grad(lambda x: np.sum(x))  # its gradient is the seed broadcast: a read-only view
    one, two = total(X), total(X)
    assert one.flags.writeable and one is not two
    one[:] = 5.0
    np.testing.assert_array_equal(two, np.ones(4))
    np.testing.assert_array_equal(runtime.identity_rows((), np.dtype(np.float64)), np.ones(1))
    value, gradient = adjoint.value_and_grad(lambda x: np.sum(np.sin(x)))(X)
    assert value == pytest.approx(np.sum(np.sin(X)), rel=1e-15)
    np.testing.assert_allclose(gradient, np.cos(X), rtol=1e-15)
