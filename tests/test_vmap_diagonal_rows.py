"""vmap(jacrev(f)) without what a hand-written Jacobian does not pay: the
diagonal rows of the output basis times a shared matrix written as scaled
rows (backend/diagonal_rows.py, rt.vdiagonal_matmul_adjoint_right), and the
stride-0 views of shared arrays kept between calls (rt.to_batched), the
adjoint of an item of a batched tuple built once for every example
(rt.vgetitem_adjoint). Checked against the unfused helpers, per-example
results, autograd, and analytic derivatives."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from adjoint import runtime as rt

W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [0.0, 1.0, 1.0], [-2.0, 0.5, 0.75]])


def layer(x):
    return np.tanh(W @ x)


def layer_ag(x):
    return anp.tanh(W @ x)


def unfused(basis, factor, matrix, y):
    return rt.vmatmul_adjoint_right(rt.vmultiply_shared(basis, factor), matrix, y)


def test_scaled_rows_equal_the_product_of_the_diagonal_rows():
    rng = np.random.default_rng(0)
    basis = rt.output_basis(np.zeros(4))
    factor = rng.normal(size=(6, 1, 4))
    y = rng.normal(size=(6, 3))
    for matrix in (W, np.arange(12).reshape(4, 3)):  # (an integer matrix too)
        shared = rt.to_batched(matrix, 6)
        got = rt.vdiagonal_matmul_adjoint_right(basis, factor, shared, y)
        expected = unfused(basis, factor, shared, y)
        assert got.shape == expected.shape == (6, 4, 3) and got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)
        np.testing.assert_allclose(got, factor[:, 0, :, None] * matrix, rtol=1e-15, atol=0)


@pytest.mark.parametrize("where", ["factor", "matrix"])
def test_non_finite_values_take_the_product(where):
    basis = rt.output_basis(np.zeros(4))
    factor = np.ones((2, 1, 4))
    matrix = W.copy()
    if where == "factor":
        factor[1, 0, 2] = np.inf
    else:
        matrix[2, 1] = np.nan
    y = np.ones((2, 3))
    with np.errstate(invalid="ignore"):
        got = rt.vdiagonal_matmul_adjoint_right(basis, factor, rt.to_batched(matrix, 2), y)
        np.testing.assert_array_equal(got, unfused(basis, factor, rt.to_batched(matrix, 2), y))
    assert np.isnan(got).any()  # (0 * inf in the product: what jacrev computes too)


def test_other_operands_take_the_product():
    rng = np.random.default_rng(1)
    factor = rng.normal(size=(3, 1, 4))
    y = rng.normal(size=(3, 3))
    per_example = rng.normal(size=(3, 4, 3))  # a matrix per example, not shared
    for basis, matrix in ((np.eye(4), rt.to_batched(W, 3)), (rt.output_basis(np.zeros(4)), per_example)):
        np.testing.assert_allclose(rt.vdiagonal_matmul_adjoint_right(basis, factor, matrix, y),
                                   np.matmul(np.multiply(basis, factor), matrix), rtol=1e-14)


def test_vmap_of_jacrev_of_a_layer_is_fused_and_exact():
    x = np.random.default_rng(2).normal(size=(5, 3))
    derivative = adjoint.vmap(adjoint.jacrev(layer))
    assert "rt.vbasis_rows_matmul(out_bar, " in adjoint.source(derivative)
    reference = autograd.jacobian(layer_ag)
    # (1 - tanh**2 against autograd's formula: a few ulps of the saturated entries)
    np.testing.assert_allclose(derivative(x), np.stack([reference(row) for row in x]), rtol=1e-12, atol=1e-15)
    # the batched code differentiated again: per-example second derivatives
    second = adjoint.jacrev(derivative)(x[:2])
    hessian = autograd.jacobian(autograd.jacobian(layer_ag))
    for b in range(2):
        np.testing.assert_allclose(second[b, :, :, b], hessian(x[b]), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(second[0, :, :, 1], 0.0)


def test_shared_views_follow_their_array_and_are_read_only():
    matrix = np.arange(6.0).reshape(2, 3)
    view = rt.to_batched(matrix, 4)
    assert view.shape == (4, 2, 3) and not view.flags.writeable
    matrix[1, 2] = 50.0  # the view shows the array's values
    assert view[3, 1, 2] == 50.0
    matrix.shape = (3, 2)
    reshaped = rt.to_batched(matrix, 4)
    assert reshaped.shape == (4, 3, 2) and reshaped[0, 2, 1] == 50.0
    assert rt.to_batched(matrix, 5).shape == (5, 3, 2)


def test_the_adjoint_of_an_item_of_a_batched_tuple_is_the_per_example_one():
    rng = np.random.default_rng(3)
    g = rng.normal(size=(4, 2))  # (examples, rows)
    x = (rng.normal(size=(4,)), rng.normal(size=(4,)))  # slogdet's (sign, logabsdet) of 4 examples
    got = rt.vgetitem_adjoint(g, x, 1)
    per_example = [rt.getitem_adjoint(g[v], (x[0][v], x[1][v]), 1) for v in range(4)]
    assert type(got) is tuple and got[0] is None and all(bar[0] is None for bar in per_example)
    np.testing.assert_array_equal(got[1], np.stack([bar[1] for bar in per_example]))


def log_determinant(m):
    return np.linalg.slogdet(m)[1]


def test_vmap_of_hessian_of_log_determinant():
    matrices = np.random.default_rng(4).normal(size=(3, 3, 3)) + 3.0 * np.eye(3)
    inverse = np.linalg.inv(matrices)
    expected = -np.einsum("bjk,bli->bijkl", inverse, inverse)  # d2 log|det m| / dm_ij dm_kl
    np.testing.assert_allclose(adjoint.vmap(adjoint.hessian(log_determinant))(matrices), expected, rtol=1e-12,
                               atol=1e-14)
