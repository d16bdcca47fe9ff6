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



def cross_with_square(x):
    return np.cross(x, x ** 2)


def cross_with_square_twin(x):
    return anp.cross(x, x ** 2)


def test_the_per_example_loop_of_vmap_is_differentiated_again():
    # vmap batches the backward code of np.cross by a loop over the examples
    # (rt.vmap_loop); the outer jacrev differentiates that loop example by
    # example (it was refused inside the library: the loop's own source)
    x = np.random.default_rng(1).normal(size=(2, 2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = adjoint.vmap(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(cross_with_square))))(x)
    assert got.shape == (2, 2, 3, 3, 2, 3)
    hessian = autograd.hessian(cross_with_square_twin)
    for b in range(2):
        for i in range(2):
            np.testing.assert_allclose(got[b, i, :, :, i], hessian(x[b, i]), rtol=1e-12, atol=1e-12)
            assert not np.any(got[b, i, :, :, 1 - i])


def weighted_cross(x, w):
    return np.cross(x, w * x)


def weighted_cross_twin(x, w):
    return anp.cross(x, w * x)


def test_an_argument_the_examples_share_gets_every_example_s_contribution():
    # w is not batched: the loop's derivative with respect to it sums the examples'
    x = np.random.default_rng(1).normal(size=(2, 3))
    w = np.random.default_rng(2).normal(size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = adjoint.jacrev(adjoint.vmap(adjoint.jacrev(weighted_cross), in_dims=(0, None)), argnums=1)(x, w)
    mixed = autograd.jacobian(autograd.jacobian(weighted_cross_twin, 0), 1)
    np.testing.assert_allclose(got, np.stack([mixed(x[i], w) for i in range(2)]), rtol=1e-12, atol=1e-12)


def kron_with_itself(x):
    return np.kron(x, x ** 2)


def kron_with_itself_twin(x):
    return anp.kron(x, x ** 2)


def test_a_decomposition_helper_of_vmap_s_code_is_differentiated_per_example():
    # rt.vkron_adjoint_left (np.kron's backward code, batched) is kron_adjoint_left
    # of every example: differentiated example by example (its source was refused)
    x = np.random.default_rng(3).normal(size=(2, 2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = adjoint.vmap(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(kron_with_itself))))(x)
    assert got.shape == (2, 2, 4, 2, 2, 2)
    hessian = autograd.hessian(kron_with_itself_twin)
    for b in range(2):
        for i in range(2):
            np.testing.assert_allclose(got[b, i, :, :, i], hessian(x[b, i]), rtol=1e-12, atol=1e-12)
            assert not np.any(got[b, i, :, :, 1 - i])
