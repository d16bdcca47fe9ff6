"""``value_and_grad``: grad's contract, and the value of the same forward
pass, checked against autograd.value_and_grad (an independent library)."""
import collections

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint


def loss(x, w):
    return np.sum(np.tanh(x * w) ** 2) + 0.5 * np.dot(x, x)


def loss_autograd(x, w):
    return anp.sum(anp.tanh(x * w) ** 2) + 0.5 * anp.dot(x, x)


X = np.linspace(-1.0, 1.5, 5)
W = np.linspace(0.3, 2.0, 5)


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0), -1])
def test_value_and_gradient_as_autograd_computes_them(argnums):
    value, gradient = adjoint.value_and_grad(loss, argnums=argnums)(X, W)
    positions = argnums if isinstance(argnums, tuple) else (argnums,)
    for position, got in zip(positions, gradient if isinstance(argnums, tuple) else (gradient,)):
        ref_value, ref_gradient = autograd.value_and_grad(loss_autograd, argnum=position % 2)(X, W)
        np.testing.assert_allclose(value, ref_value, rtol=1e-13)
        np.testing.assert_allclose(got, ref_gradient, rtol=1e-12, atol=1e-14)
    assert isinstance(gradient, tuple) == isinstance(argnums, tuple)


def test_has_aux_gives_value_and_aux_then_gradient_as_jax_does():
    def with_aux(x):
        return np.sum(np.sin(x) ** 2), {"mean": np.mean(x), "label": "run 1"}

    (value, aux), gradient = adjoint.value_and_grad(with_aux, has_aux=True)(X)
    ref_value, ref_gradient = autograd.value_and_grad(lambda x: anp.sum(anp.sin(x) ** 2))(X)
    np.testing.assert_allclose(value, ref_value, rtol=1e-13)
    np.testing.assert_allclose(gradient, ref_gradient, rtol=1e-12)
    assert aux["label"] == "run 1" and aux["mean"] == np.mean(X)


Params = collections.namedtuple("Params", "scale shift")


def test_pytree_argument_and_float_argument():
    def energy(p, t):
        return np.sum((p.scale * X + p.shift) ** 2) * t

    value, gradient = adjoint.value_and_grad(energy, argnums=(0, 1))(Params(2.0, np.array([0.5, -1.0, 0.0, 1.0, 2.0])), 3.0)
    ref = autograd.value_and_grad(lambda s, b, t: anp.sum((s * X + b) ** 2) * t, argnum=(0, 1, 2))(
        2.0, np.array([0.5, -1.0, 0.0, 1.0, 2.0]), 3.0)
    np.testing.assert_allclose(value, ref[0], rtol=1e-13)
    assert isinstance(gradient[0], Params)
    np.testing.assert_allclose(gradient[0].scale, ref[1][0], rtol=1e-12)
    np.testing.assert_allclose(gradient[0].shift, ref[1][1], rtol=1e-12)
    np.testing.assert_allclose(gradient[1], ref[1][2], rtol=1e-12)


def test_value_is_the_functions_value_and_the_caller_owns_it():
    def f(x):
        return np.sum(x ** 3)

    value, gradient = adjoint.value_and_grad(f)(X)
    assert value == f(X) and np.ndim(value) == 0
    np.testing.assert_allclose(gradient, 3.0 * X ** 2, rtol=1e-13)


@pytest.mark.parametrize("call, error, message", [
    (lambda: adjoint.value_and_grad(loss, argnums=[0])(X, W), TypeError, "argnums must be int or Tuple"),
    (lambda: adjoint.value_and_grad(loss, argnums=(0, "1"))(X, W), TypeError, "argnum must be int"),
    (lambda: adjoint.value_and_grad(loss, argnums=2)(X, W), ValueError, "Got argnum=2, but only 2 positional"),
    (lambda: adjoint.value_and_grad(loss, argnums=())(X, W), ValueError, "argnums must be non-empty"),
    (lambda: adjoint.value_and_grad(loss, argnums=(0, -2))(X, W), ValueError, "argnums elements must be unique"),
    (lambda: adjoint.value_and_grad(np.sin)(X), ValueError, "grad requires func to return a single 0-d value"),
    (lambda: adjoint.value_and_grad(loss)(np.arange(5), W), TypeError, "only floating point inputs"),
    (lambda: adjoint.value_and_grad(np.sin, has_aux=True)(X), TypeError, r"should be a tuple: \(output, aux\)"),
])
def test_the_argument_checks_and_errors_of_grad(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_value_and_grad_transformed_again_is_refused_with_what_to_do():
    with pytest.raises(adjoint.TransformError, match=r"value_and_grad\(sin\).*Transform adjoint.grad\(sin\)"):
        adjoint.jacrev(adjoint.value_and_grad(np.sin))(1.0)

    def uses_it(x):
        return adjoint.value_and_grad(np.sin)(x)[1] * x  # MARK

    with pytest.raises(adjoint.TransformError, match=r"test_value_and_grad.py:\d+: adjoint.value_and_grad\(sin\)"):
        adjoint.grad(uses_it)(1.0)


def test_keeps_the_functions_name_and_doc():
    def documented(x):
        """A doc."""
        return np.sum(x)

    wrapped = adjoint.value_and_grad(documented)
    assert wrapped.__name__ == "documented" and wrapped.__doc__ == "A doc."
