"""jacrev of a derivative runs forward mode over it directly (api/repeated.py):
the same numbers as the references, whichever way the second derivative is
written, including the compressed passes jacrev(jacrev(f)) shares with
hessian(f) from its second call on."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    """Written out by hand: tridiagonal."""
    n = x.size
    h = np.zeros((n, n))
    h[np.arange(n - 1), np.arange(n - 1)] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    h[np.arange(1, n), np.arange(1, n)] += 200.0
    h[np.arange(n - 1), np.arange(1, n)] = -400.0 * x[:-1]
    h[np.arange(1, n), np.arange(n - 1)] = -400.0 * x[:-1]
    return h


def test_jacrev_of_jacrev_is_the_hessian_at_every_call():
    # the first call runs the dense passes, the later ones the compressed
    # passes of the detected tridiagonal pattern: each against the formula
    second = adjoint.jacrev(adjoint.jacrev(rosenbrock))
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.uniform(-1.5, 1.5, 30)
        result = second(x)
        assert result.shape == (30, 30)
        np.testing.assert_allclose(result, rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)


def test_compressed_second_derivative_is_owned_by_the_caller():
    second = adjoint.jacrev(adjoint.jacrev(rosenbrock))
    x = np.linspace(-1.0, 1.0, 20)
    first = [second(x) for _ in range(3)]
    first[2][0, 0] = 1e9  # writing into one result changes no other
    np.testing.assert_allclose(second(x), rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(first[1], rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)


def kinked(x):
    return np.sum(np.maximum(x, 0.0) ** 3) + np.sum(np.sin(x[1:] * x[:-1]))


def kinked_ag(x):
    return anp.sum(anp.maximum(x, 0.0) ** 3) + anp.sum(anp.sin(x[1:] * x[:-1]))


def test_a_pattern_that_moves_with_the_point_is_still_exact():
    # which entries are nonzero depends on the signs of x: every call is
    # checked against autograd at a new point
    second = adjoint.jacrev(adjoint.jacrev(kinked))
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = rng.normal(size=12)
        np.testing.assert_allclose(second(x), autograd.hessian(kinked_ag)(x), rtol=1e-10, atol=1e-12)


def vector(x, y):
    return np.sin(x) * y[0] + x ** 3 * y[1]


def vector_ag(x, y):
    return anp.sin(x) * y[0] + x ** 3 * y[1]


@pytest.mark.parametrize("inner", ["jacrev", "jacfwd"])
def test_jacrev_of_a_vector_derivative(inner):
    x, y = np.array([0.3, -1.2, 2.0]), np.array([1.5, -0.5])
    second = adjoint.jacrev(getattr(adjoint, inner)(vector))
    expected = autograd.jacobian(autograd.jacobian(vector_ag))(x, y)
    for _ in range(3):
        np.testing.assert_allclose(second(x, y), expected, rtol=1e-12)


def test_jacrev_of_grad_and_mixed_argnums():
    def f(x, y):
        return np.sum(np.exp(x) * y ** 2)

    def f_ag(x, y):
        return anp.sum(anp.exp(x) * y ** 2)

    x, y = np.array([0.1, 0.2, -0.4]), np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(adjoint.jacrev(adjoint.grad(f))(x, y), autograd.hessian(f_ag)(x, y), rtol=1e-12)
    mixed = adjoint.jacrev(adjoint.jacrev(f, argnums=0), argnums=1)(x, y)
    np.testing.assert_allclose(mixed, autograd.jacobian(autograd.grad(f_ag, 0), 1)(x, y), rtol=1e-12)
    both = adjoint.jacrev(adjoint.jacrev(f), argnums=(0, 1))(x, y)
    assert isinstance(both, tuple) and len(both) == 2
    np.testing.assert_allclose(both[0], autograd.hessian(f_ag)(x, y), rtol=1e-12)
    np.testing.assert_allclose(both[1], autograd.jacobian(autograd.grad(f_ag, 0), 1)(x, y), rtol=1e-12)


def test_aux_passes_through_the_outer_jacrev():
    def f(x):
        return np.sum(x ** 3), "note"

    x = np.array([1.0, -2.0])
    hess, aux = adjoint.jacrev(adjoint.grad(f, has_aux=True), has_aux=True)(x)
    assert aux == "note"
    np.testing.assert_allclose(hess, np.diag(6.0 * x))


def test_chunked_outer_jacrev_gives_the_same_hessian():
    # chunk_size keeps the chunk loop over the backward passes: same numbers
    x = np.linspace(-1.2, 0.9, 10)
    chunked = adjoint.jacrev(adjoint.jacrev(rosenbrock), chunk_size=3)(x)
    np.testing.assert_allclose(chunked, rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)


def test_jacrev_of_jacrev_takes_the_compressed_passes(monkeypatch):
    # from the second call of a shape on, as hessian(f) does
    from adjoint.api import sparse

    calls = []
    original = sparse._DenseHessian._compressed

    def counted(self, plan, args):
        calls.append(plan[3])  # the number of colours
        return original(self, plan, args)

    monkeypatch.setattr(sparse._DenseHessian, "_compressed", counted)
    second = adjoint.jacrev(adjoint.jacrev(rosenbrock))
    x = np.linspace(-1.0, 1.0, 40)
    for _ in range(3):
        np.testing.assert_allclose(second(x), rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)
    assert calls == [3, 3]  # tridiagonal: three colours, not 40 columns
