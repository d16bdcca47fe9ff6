"""The Jacobian of a vmapped function (api/vmap_jacobians.py): examples are
independent, so ``jacfwd(vmap(g))`` and ``jacrev(vmap(g))`` are the
Jacobians of the examples, ``vmap(jacfwd(g))``, on the diagonal. Checked
against central differences of the whole batched function (zeros off the
diagonal included) and against the per-example derivatives.
"""
import warnings

import numpy as np

import adjoint
from adjoint import runtime as rt
from conftest import numerical_jacobian


def inverse_energy(a):
    return np.sum(np.linalg.inv(a) ** 2 * a)


def test_jacfwd_of_vmap_of_hessian_through_linalg():
    # (it raised inside the library: forward mode met the batched helpers of np.linalg.inv's derivatives)
    rng = np.random.default_rng(0)
    batch = rng.uniform(-0.5, 0.5, (2, 2, 2)) + 2.0 * np.eye(2)
    batched_hessian = adjoint.vmap(adjoint.hessian(inverse_energy))
    before = rt.PER_EXAMPLE_LOOPS[0]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*once per example.*")
        got = adjoint.jacfwd(batched_hessian)(batch)
    assert rt.PER_EXAMPLE_LOOPS[0] == before  # (the third derivative's batched code, once on the batch)
    assert got.shape == (2, 2, 2, 2, 2, 2, 2, 2)
    np.testing.assert_allclose(got, numerical_jacobian(batched_hessian, [batch], 0), rtol=1e-6, atol=1e-6)
    third = adjoint.jacfwd(adjoint.hessian(inverse_energy))
    for v in range(2):
        np.testing.assert_allclose(got[v, ..., v, :, :], third(batch[v]), rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(got[v, ..., 1 - v, :, :], 0.0)


def test_jacobians_of_vmap_of_a_derivative_with_several_arguments():
    def func(x, y):
        return np.sum(np.tanh(y @ x) * x[0])

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 2, 4))
    batched = adjoint.vmap(adjoint.grad(func, argnums=1))
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        got = transform(batched, argnums=(0, 1))(x, y)
        for k in range(2):
            np.testing.assert_allclose(got[k], numerical_jacobian(batched, [x, y], k), rtol=1e-6, atol=1e-8)
    assert adjoint.jacrev(batched)(x, y).shape == (3, 2, 4, 3, 4)
