"""Crashes found by hunting through higher-order and vmap compositions: a
derivative of a derivative differentiates the library's own derivative helpers
by source, so those helpers must themselves be differentiable code (no
function-local imports, no checks whose result is dropped on differentiated
values). Every result is checked against autograd's derivatives."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint


def _jac(f, order):
    for _ in range(order):
        f = autograd.jacobian(f)
    return f


def norm_columns(x):
    return np.sum(np.linalg.norm(x.reshape(3, 2), axis=0) ** 2)


def norm_columns_ag(x):
    return anp.sum(anp.linalg.norm(anp.reshape(x, (3, 2)), axis=0) ** 2)


def frobenius(x):
    return np.linalg.norm(x.reshape(3, 2))


def frobenius_ag(x):
    return anp.linalg.norm(anp.reshape(x, (3, 2)))


@pytest.mark.parametrize("program,reference", [(norm_columns, norm_columns_ag), (frobenius, frobenius_ag)],
                         ids=["norm_axis", "norm_fro"])
def test_third_order_of_np_linalg_norm(program, reference):
    # norm_adjoint_tangent imported a helper inside the function: at third
    # order that import statement was refused (UnsupportedSyntaxError naming
    # adjoint/runtime/second_order_math.py, not the user's code).
    x = np.array([0.3, -1.2, 0.8, 0.5, -0.4, 1.1])
    expected = _jac(reference, 3)(x)
    np.testing.assert_allclose(adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(program)))(x), expected,
                               rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacrev(adjoint.jacfwd(program)))(x), expected,
                               rtol=1e-9, atol=1e-10)


def singular_values(x):
    return np.sum(np.linalg.svd(x.reshape(3, 2), compute_uv=False) ** 2 * x[:2].sum())


def singular_values_ag(x):
    return anp.sum(anp.linalg.svd(anp.reshape(x, (3, 2)), compute_uv=False) ** 2 * anp.sum(x[:2]))


@pytest.mark.parametrize("outer,inner", [(adjoint.jacrev, adjoint.jacfwd), (adjoint.jacfwd, adjoint.jacfwd)],
                         ids=["rev_of_fwd", "fwd_of_fwd"])
def test_second_order_of_singular_values_through_forward_mode(outer, inner):
    # svd_tangent called _svd_factors_check(a, ...) for its error alone: a
    # call on a differentiated value whose result is dropped, refused when the
    # tangent code was differentiated again (InPlaceChangeError naming
    # adjoint/runtime/tangent_linalg.py).
    x = np.array([0.3, -1.2, 0.8, 0.5, -0.4, 1.1])
    np.testing.assert_allclose(outer(inner(singular_values))(x), _jac(singular_values_ag, 2)(x),
                               rtol=1e-9, atol=1e-10)
    # batched too
    xs = np.stack([x, x[::-1] * 0.7])
    expected = np.stack([_jac(singular_values_ag, 2)(xi) for xi in xs])
    np.testing.assert_allclose(adjoint.vmap(outer(inner(singular_values)))(xs), expected, rtol=1e-9, atol=1e-10)


def test_full_svd_factors_still_refused_with_the_message():
    def factors(x):
        u, s, vh = np.linalg.svd(x.reshape(3, 2))
        return u.sum() + s.sum()

    with pytest.raises(Exception, match="full_matrices=False"):
        adjoint.jacfwd(factors)(np.arange(6.0) + 1.0)


def nan_to_num_program(x):
    return np.nan_to_num(np.log(x * x)) * x


def nan_to_num_program_ag(x):
    return anp.log(x * x) * x  # finite at the points used: nan_to_num is the identity there


def test_vmap_of_a_second_derivative_through_nan_to_num():
    # rt.vmasked_bar expanded its mask for a (V, B) + shape cotangent only; the
    # tangent of that cotangent is (V, T, B) + shape, and vmap(hessian(f)) /
    # vmap(jacfwd(jacrev(f))) crashed in generated code with a broadcast error.
    xs = np.array([[0.4, 1.5, -0.5], [1.0, 0.2, 2.0]])
    expected = np.stack([_jac(nan_to_num_program_ag, 2)(xi) for xi in xs])
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacfwd(adjoint.jacrev(nan_to_num_program)))(xs), expected,
                               rtol=1e-10, atol=1e-12)

    def scalar(x):
        return np.sum(nan_to_num_program(x))

    expected = np.stack([autograd.hessian(lambda v: anp.sum(nan_to_num_program_ag(v)))(xi) for xi in xs])
    np.testing.assert_allclose(adjoint.vmap(adjoint.hessian(scalar))(xs), expected, rtol=1e-10, atol=1e-12)


def gram_tanh(x):
    m = x.reshape(2, 2)
    return np.tanh(m @ m.T).ravel() * np.sum(x ** 2)


def gram_tanh_ag(x):
    m = anp.reshape(x, (2, 2))
    return anp.ravel(anp.tanh(anp.dot(m, m.T))) * anp.sum(x ** 2)


def cholesky_row(x):
    a = x.reshape(2, 2)
    return np.linalg.cholesky(a @ a.T + np.eye(2))[1]


def cholesky_row_ag(x):
    a = anp.reshape(x, (2, 2))
    return anp.linalg.cholesky(anp.dot(a, a.T) + anp.eye(2))[1]


@pytest.mark.parametrize("program,reference", [(gram_tanh, gram_tanh_ag), (cholesky_row, cholesky_row_ag)],
                         ids=["gram", "cholesky"])
def test_third_order_reverse_through_an_einsum_with_a_repeated_letter(program, reference):
    # The einsum adjoint's tangent wrote its result through a diagonal view
    # (x_bar's einsum "ii->i" view, assigned in place) and looped over
    # zip(...) of differentiated operands: jacrev(jacrev(jacrev(f))) refused
    # both (UnsupportedSyntaxError naming adjoint/runtime/second_order_arrays.py)
    # for m @ m.T and np.linalg.cholesky.
    # The reference: central differences of autograd's (exact) second
    # derivative along each coordinate (autograd's own third derivative of
    # gram_tanh takes seconds).
    x = np.array([0.1, -0.4, 0.3, 0.7])
    second, step = _jac(reference, 2), 1e-5
    expected = np.stack([(second(x + step * e) - second(x - step * e)) / (2 * step) for e in np.eye(x.size)], axis=-1)
    np.testing.assert_allclose(adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(program)))(x), expected,
                               rtol=1e-6, atol=1e-7)
