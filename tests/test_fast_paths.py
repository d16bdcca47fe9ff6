"""The fast paths of small derivatives and of vmap of a Jacobian give the
numbers the general paths give: the shared identity basis, the diagonal
product of vmap(jacrev(f)), the plain-array shortcuts of the API.

References are independent of adjoint: analytic Jacobians, autograd, and
``np.multiply`` itself for the product helper.
"""
import warnings

import numpy as np
import pytest

import adjoint
from adjoint import runtime as rt
from adjoint.runtime.batched import _diagonal_product

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

A = np.random.default_rng(3).normal(size=(4, 3))


def sin_vector(x):
    return np.sin(x)


def small_mlp(x):
    return np.tanh(A @ x)


def square_root(x):
    return np.sqrt(x)


def matrix_output(x):
    return np.outer(x, x) * 2.0


# ------------------------------------------------------------ the product helper

@pytest.mark.parametrize("shape", [(), (1,), (5,), (2, 3)])
def test_identity_times_batched_factor_is_the_product(shape):
    basis = rt.output_basis(np.zeros(shape))
    assert rt.is_identity_rows(basis)
    factor = np.random.default_rng(0).normal(size=(7, 1) + shape)
    got = rt.vmultiply_shared(basis, factor)
    expected = np.multiply(basis, factor)
    assert _diagonal_product(basis, factor) is not None  # the diagonal path was taken
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(rt.vmultiply_shared(factor, basis), np.multiply(factor, basis))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_non_finite_factor_gives_the_products_nans(bad):
    basis = rt.output_basis(np.zeros(3))
    factor = np.ones((2, 1, 3))
    factor[1, 0, 2] = bad
    with np.errstate(invalid="ignore"):  # 0 * inf
        got = rt.vmultiply_shared(basis, factor)
        np.testing.assert_array_equal(got, np.multiply(basis, factor))  # NaN where the product has NaN
    assert np.isnan(got[1, 0, 2])


def test_other_operands_are_plain_products():
    rng = np.random.default_rng(1)
    basis = rt.output_basis(np.zeros(3))
    cases = [
        (np.eye(3), rng.normal(size=(4, 1, 3))),          # an identity, but not the shared basis
        (basis, rng.normal(size=(3,))),                    # no batch axis
        (basis, rng.normal(size=(4, 3, 3))),               # no singleton axis
        (basis, rng.normal(size=(4, 1, 1))),               # a factor per example, not per element
        (basis, rng.normal(size=(4, 1, 3)).astype(np.float32)),  # mixed precisions
        (basis, np.arange(12).reshape(4, 1, 3)),           # integers
        (2.0, rng.normal(size=(4, 1, 3))),
    ]
    for x1, x2 in cases:
        got = rt.vmultiply_shared(x1, x2)
        expected = np.multiply(x1, x2)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_identity_bases_are_shared_and_read_only():
    first = rt.output_basis(np.zeros((2, 2)))
    assert rt.output_basis(np.ones((2, 2))) is first
    assert not first.flags.writeable
    np.testing.assert_array_equal(first.reshape(4, 4), np.eye(4))
    assert not rt.is_identity_rows(np.eye(4).reshape(4, 2, 2))


# ------------------------------------------------------------ vmap(jacrev(f))

def _autograd_per_example(func, X):
    jacobian = autograd.jacobian(func)
    return np.stack([jacobian(x) for x in X])


def test_vmap_of_jacrev_matches_analytic_and_autograd():
    X = np.random.default_rng(2).normal(size=(6, 3))
    got = adjoint.vmap(adjoint.jacrev(sin_vector))(X)
    np.testing.assert_allclose(got, np.stack([np.diag(np.cos(x)) for x in X]), rtol=1e-14)
    got = adjoint.vmap(adjoint.jacrev(small_mlp))(X)
    hidden = np.tanh(X @ A.T)
    np.testing.assert_allclose(got, (1.0 - hidden ** 2)[:, :, None] * A, rtol=1e-13, atol=1e-15)
    got = adjoint.vmap(adjoint.jacrev(matrix_output))(X)
    np.testing.assert_allclose(got, _autograd_per_example(lambda x: anp.outer(x, x) * 2.0, X), rtol=1e-13)


def sine(x):
    return np.sin(x)


def test_vmap_of_jacrev_uses_the_diagonal_product():
    # the generated batched code reaches the helper (so its speed is not lost silently)
    # (in one call with the lift of its factor: rt.vbasis_product, backend/diagonal_rows.py)
    assert "rt.vbasis_product(out_bar, " in adjoint.source(adjoint.jacrev(sine), mode="vmap")
    # (a layer's product with its matrix takes the diagonal with it)
    assert "rt.vbasis_rows_matmul(out_bar, " in adjoint.source(adjoint.jacrev(small_mlp), mode="vmap")


def test_vmap_of_jacrev_with_an_infinite_derivative_matches_the_loop():
    X = np.array([[0.0, 1.0, 4.0], [9.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 1 / (2 sqrt(0))
        got = adjoint.vmap(adjoint.jacrev(square_root))(X)
        loop = np.stack([adjoint.jacrev(square_root)(x) for x in X])
    # inf on the diagonal, an exact 0 beside it (a zero cotangent at sqrt's
    # infinite slope, tests/test_reverse_zeros.py), as jacrev gives
    np.testing.assert_array_equal(got, loop)
    assert np.isinf(got[0, 0, 0]) and got[0, 1, 0] == 0.0 and got[0, 0, 1] == 0.0
    assert got[1, 2, 2] == 0.5


def scaled(x, w):
    return np.sin(w * x)


def test_batched_code_with_the_product_helper_is_differentiated_again():
    # in_dims=(0, None): w is shared, so the batched code writes rt.vmultiply_shared(w, x)
    batched = adjoint.vmap(scaled, in_dims=(0, None))
    X = np.random.default_rng(4).normal(size=(3, 2))
    w = np.array([0.5, -1.5])
    expected_x = np.zeros((3, 2, 3, 2))
    expected_w = np.zeros((3, 2, 2))
    for b in range(3):
        for j in range(2):
            expected_x[b, j, b, j] = np.cos(w[j] * X[b, j]) * w[j]
            expected_w[b, j, j] = np.cos(w[j] * X[b, j]) * X[b, j]
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        d_x, d_w = transform(batched, argnums=(0, 1))(X, w)
        np.testing.assert_allclose(d_x, expected_x, rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(d_w, expected_w, rtol=1e-14, atol=1e-300)


def test_vmap_of_vmap_of_jacrev():
    X = np.random.default_rng(5).normal(size=(2, 3, 4))
    got = adjoint.vmap(adjoint.vmap(adjoint.jacrev(sin_vector)))(X)
    expected = np.zeros((2, 3, 4, 4))
    index = np.arange(4)
    expected[:, :, index, index] = np.cos(X)
    np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------ results the caller owns

def identity(x):
    return x


def test_a_jacobian_that_is_the_basis_is_the_callers_own():
    x = np.array([1.0, 2.0, 3.0])
    first = adjoint.jacrev(identity)(x)
    assert first.flags.writeable
    first[0, 0] = 42.0
    np.testing.assert_array_equal(adjoint.jacrev(identity)(x), np.eye(3))
    # vmap of an output every example shares is a read-only broadcast (as vmap
    # gives it for any function): writing into it cannot reach the shared basis
    batched = adjoint.vmap(adjoint.jacrev(identity))(np.ones((2, 3)))
    if not batched.flags.writeable:
        with pytest.raises(ValueError):
            batched[0, 0, 0] = 7.0
    else:
        batched[0, 0, 0] = 7.0
    np.testing.assert_array_equal(adjoint.vmap(adjoint.jacrev(identity))(np.ones((2, 3))),
                                  np.broadcast_to(np.eye(3), (2, 3, 3)))
    np.testing.assert_array_equal(rt.output_basis(x).reshape(3, 3), np.eye(3))


def test_small_jacobians_match_autograd():
    rng = np.random.default_rng(6)
    x = rng.normal(size=10)

    def elementwise(v):
        return np.sin(v) * np.exp(-v ** 2) + v ** 3

    def elementwise_autograd(v):
        return anp.sin(v) * anp.exp(-v ** 2) + v ** 3

    np.testing.assert_allclose(adjoint.jacrev(elementwise)(x), autograd.jacobian(elementwise_autograd)(x),
                               rtol=1e-13, atol=1e-15)
    x32 = x.astype(np.float32)
    got = adjoint.jacrev(elementwise)(x32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, autograd.jacobian(elementwise_autograd)(x), rtol=1e-5, atol=1e-6)


def test_jacfwd_of_one_array_matches_autograd():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3, 2))

    def rows(m):
        return np.sin(m) @ A[:, :2].T * 3.0

    def rows_autograd(m):
        return anp.dot(anp.sin(m), A[:, :2].T) * 3.0

    expected = autograd.jacobian(rows_autograd)(X)
    got = adjoint.jacfwd(rows)(X)
    assert got.shape == (3, 4, 3, 2) and got.flags.writeable and got.flags.c_contiguous
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got, adjoint.jacrev(rows)(X), rtol=1e-14)  # (another order of products)
    got32 = adjoint.jacfwd(rows)(X.astype(np.float32))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, expected, rtol=1e-5, atol=1e-5)
    # in chunks, the general assembly: the same numbers
    np.testing.assert_array_equal(adjoint.jacfwd(rows, chunk_size=4)(X), got)
