"""Per-example Hessians by nested vmap, ``vmap(jacrev(vmap(jacrev(f))))``,
over rules whose batched derivative code needed rules of its own; checked
against central differences of autograd's Jacobian of each example
(autograd's own Hessian of these takes most of a second per example)."""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np

import adjoint


def cholesky_of_gram(a):
    return np.linalg.cholesky(a @ a.T + np.eye(3))


def cholesky_of_gram_twin(a):
    return anp.linalg.cholesky(anp.dot(a, a.T) + anp.eye(3))


def hessian_by_differences(twin, x, step=1e-5):
    """``(out, in, in)``: central differences of autograd's Jacobian of ``twin``."""
    jacobian = autograd.jacobian(twin)
    columns = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = step
        e = e.reshape(x.shape)
        columns.append((jacobian(x + e) - jacobian(x - e)) / (2 * step))
    return np.stack(columns, axis=-1).reshape(np.shape(columns[0]) + x.shape)


def test_cholesky_of_a_symmetrized_input():
    # (it crashed: the tangent of cholesky_adjoint in vmap's code had an extra
    # axis, and vunbroadcast had neither a tangent nor a batching rule)
    x = np.random.default_rng(0).normal(size=(2, 2, 3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (a loop over the examples is allowed here)
        got = adjoint.vmap(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(cholesky_of_gram))))(x)
    assert got.shape == (2, 2, 3, 3, 3, 3, 2, 3, 3)
    for b in range(2):  # each example's Hessian on the diagonal of the inner batch, zeros off it
        for i in range(2):
            np.testing.assert_allclose(got[b, i, :, :, :, :, i], hessian_by_differences(cholesky_of_gram_twin, x[b, i]),
                                       rtol=1e-6, atol=1e-7)
            assert not np.any(got[b, i, :, :, :, :, 1 - i])
