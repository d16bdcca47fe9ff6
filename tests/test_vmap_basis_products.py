"""vmap(jacrev(f)) with the products of the output basis in one call
(runtime/batched_basis.py, written by backend/diagonal_rows.py) and the
shared matrix of ``W @ x`` without its batched view (backend/shared_matrix.py).
Each helper is checked against the calls it replaces, the transforms against
autograd, also when the batched code is differentiated again (the helpers'
tangent rules)."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from adjoint import runtime as rt

W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [0.0, 1.0, 1.0], [-2.0, 0.5, 0.75]])


def layer(x):
    return np.tanh(W @ x)


def layer_of(w, x):
    return np.tanh(w @ x)


def sine(x):
    return np.sin(x)


def lifted_product(basis, factor):
    """The calls ``rt.vbasis_product`` replaces."""
    return rt.vmultiply_shared(basis, rt.vlift(factor, rt.result_rank((False, True), basis, factor)))


def test_the_basis_product_is_the_lifted_product():
    rng = np.random.default_rng(0)
    vector, matrix = rt.output_basis(np.zeros(4)), rt.output_basis(np.zeros((2, 3)))
    scalar = rt.output_basis(np.float64(0.0))
    nonfinite = rng.normal(size=(3, 4))
    nonfinite[1, 2] = np.inf
    cases = [(vector, rng.normal(size=(3, 4))), (matrix, rng.normal(size=(3, 2, 3))), (scalar, rng.normal(size=3)),
             (vector, nonfinite),  # (0 * inf off the diagonal: NaN, as the product gives)
             (vector, rng.normal(size=(3, 1))), (vector, rng.normal(size=3)),  # (broadcast factors)
             (vector, rng.normal(size=(3, 4)).astype(np.float32)), (np.eye(4), rng.normal(size=(3, 4)))]
    with np.errstate(invalid="ignore"):
        for basis, factor in cases:
            got, expected = rt.vbasis_product(basis, factor), lifted_product(basis, factor)
            assert got.shape == expected.shape and got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
        assert np.isnan(rt.vbasis_product(vector, nonfinite)[1, 0]).any()


def test_the_rows_times_a_shared_matrix_are_the_product():
    rng = np.random.default_rng(1)
    basis = rt.output_basis(np.zeros(4))
    factor, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    bad_factor, bad_matrix = factor.copy(), W.copy()
    bad_factor[2, 1], bad_matrix[3, 0] = np.nan, -np.inf
    cases = [(basis, factor, W), (basis, factor, np.arange(12).reshape(4, 3)), (basis, bad_factor, W),
             (basis, factor, bad_matrix), (np.eye(4), factor, W)]
    with np.errstate(invalid="ignore"):
        for each_basis, each_factor, matrix in cases:
            got = rt.vbasis_rows_matmul(each_basis, each_factor, matrix, y, 5)
            expected = rt.vmatmul_adjoint_right(lifted_product(each_basis, each_factor), rt.to_batched(matrix, 5), y)
            assert got.shape == expected.shape == (5, 4, 3) and got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(rt.vbasis_rows_matmul(basis, factor, W, y, 5), factor[:, :, None] * W)


def test_the_shared_matmul_is_the_product_with_the_view():
    rng = np.random.default_rng(2)
    for x, matrix in ((rng.normal(size=(5, 3)), W), (rng.normal(size=(5, 3)), np.arange(12).reshape(4, 3)),
                      (rng.normal(size=(5, 3, 2)), W)):  # (a matrix per example: the view's way)
        expected = rt.vmatmul(rt.to_batched(matrix, 5), x)
        got = rt.vshared_matmul(x, matrix)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_vmap_of_jacrev_writes_the_products_in_one_call_and_is_exact():
    x = np.random.default_rng(3).normal(size=(5, 3))
    derivative = adjoint.vmap(adjoint.jacrev(layer))
    text = adjoint.source(derivative)
    assert "rt.vshared_matmul(x, W)" in text and "rt.vbasis_rows_matmul(out_bar, " in text
    assert "result_rank" not in text and "to_batched" not in text
    per_example = autograd.jacobian(lambda row: anp.tanh(W @ row))
    np.testing.assert_allclose(derivative(x), np.stack([per_example(row) for row in x]), rtol=1e-12, atol=1e-15)
    sines = adjoint.vmap(adjoint.jacrev(sine))
    assert "rt.vbasis_product(out_bar, " in adjoint.source(sines) and "result_rank" not in adjoint.source(sines)
    np.testing.assert_array_equal(sines(x), np.cos(x)[:, :, None] * np.eye(3))


@pytest.mark.filterwarnings("ignore:vmap of:RuntimeWarning")  # (loops the batched code already had)
def test_the_batched_code_differentiated_again_is_exact():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, 3))
    # the derivative of vmap(jacrev(layer)) again, per outer example: forward mode over its batched code
    got = adjoint.vmap(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(layer))))(x)
    hessian = autograd.jacobian(autograd.jacobian(lambda row: anp.tanh(W @ row)))
    for s in range(2):
        for b in range(3):
            np.testing.assert_allclose(got[s, b, :, :, b], hessian(x[s, b]), rtol=1e-12, atol=1e-15)
            assert not got[s, b, :, :, [c for c in range(3) if c != b]].any()
    # through the shared matrix: its tangent in vshared_matmul and vbasis_rows_matmul
    weights = rng.normal(size=(3, 4, 3))
    per_example = adjoint.vmap(adjoint.jacrev(layer_of, 1), in_dims=(None, 0))
    expected = autograd.grad(lambda w: anp.sum(anp.stack([
        autograd.jacobian(lambda row: anp.tanh(anp.dot(w, row)))(row) for row in x[0]]) * weights))(W)
    np.testing.assert_allclose(adjoint.grad(lambda w: np.sum(per_example(w, x[0]) * weights))(W), expected,
                               rtol=1e-12, atol=1e-14)


def test_the_fast_path_still_refuses_integers():
    derivative = adjoint.vmap(adjoint.jacrev(sine))
    derivative(np.ones((2, 3)))
    derivative(np.ones((2, 3)))  # (the fast path is set)
    with pytest.raises(TypeError, match="only floating point inputs can be differentiated: argument 0"):
        derivative(np.arange(6).reshape(2, 3))
    assert derivative(np.ones((2, 3), dtype=np.float32)).dtype == np.float32
