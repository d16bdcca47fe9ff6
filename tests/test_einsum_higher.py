"""Second and third derivatives, and vmap compositions, through np.einsum,
against autograd (an independent implementation that differentiates
einsum at any order). Every derivative of an einsum is an einsum
(adjoint/runtime/einsums.py), so each composition below runs the einsum
helpers' own rules or transforms their source again."""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

J = autograd.jacobian
rng = np.random.default_rng(0)
A = rng.normal(size=(3, 2))


def matvec(x):
    return np.sum(np.sin(np.einsum("ij,j->i", A, x)))


def matvec_ag(x):
    return anp.sum(anp.sin(anp.einsum("ij,j->i", A, x)))


def dot(x):
    return np.sin(np.einsum("i,i->", x, x))


def dot_ag(x):
    return anp.sin(anp.einsum("i,i->", x, x))


def square(X):
    return np.sum(np.sin(np.einsum("ij,jk->ik", X, X)))


def square_ag(X):
    return anp.sum(anp.sin(anp.einsum("ij,jk->ik", X, X)))


def trace(M):  # a repeated letter: autograd's einsum has no derivative for it, its trace has
    return np.sin(np.einsum("ii->", M)) * np.sum(M * M)


def trace_ag(M):
    return anp.sin(anp.trace(M)) * anp.sum(M * M)


FORMS = {"ij,j->i": (matvec, matvec_ag, (2,)), "i,i->": (dot, dot_ag, (3,)),
         "ij,jk->ik": (square, square_ag, (2, 2)), "ii->": (trace, trace_ag, (2, 2))}

SECOND = {
    "hessian": lambda f: adjoint.hessian(f),
    "jacrev(jacrev)": lambda f: adjoint.jacrev(adjoint.jacrev(f)),
    "jacfwd(jacrev)": lambda f: adjoint.jacfwd(adjoint.jacrev(f)),
    "jacrev(jacfwd)": lambda f: adjoint.jacrev(adjoint.jacfwd(f)),
    "jacfwd(jacfwd)": lambda f: adjoint.jacfwd(adjoint.jacfwd(f)),
}
THIRD = {
    "jacrev^3": lambda f: adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(f))),
    "jacfwd^3": lambda f: adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(f))),
    "jacfwd(jacrev(jacrev))": lambda f: adjoint.jacfwd(adjoint.jacrev(adjoint.jacrev(f))),
}


@pytest.mark.parametrize("form", FORMS)
def test_second_order(form):
    f, f_ag, shape = FORMS[form]
    x = rng.normal(size=shape)
    expected = J(J(f_ag))(x)
    for name, transform in SECOND.items():
        np.testing.assert_allclose(transform(f)(x), expected, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("composition", THIRD)
@pytest.mark.parametrize("form", ["i,i->", "ii->"])
def test_third_order(form, composition):
    f, f_ag, shape = FORMS[form]
    x = rng.normal(size=shape)
    np.testing.assert_allclose(THIRD[composition](f)(x), J(J(J(f_ag)))(x), rtol=1e-10, atol=1e-12)


def _per_example(function, xs):
    return np.stack([function(x) for x in xs])


@pytest.mark.parametrize("form", FORMS)
def test_vmap_compositions(form):
    """jacrev(vmap(f)), vmap(jacrev(f)), vmap(hessian(f)): no loop over the
    examples (a warning would say so; here it fails the test)."""
    f, f_ag, shape = FORMS[form]
    xs = rng.normal(size=(3,) + shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        outer = adjoint.jacrev(adjoint.vmap(f))(xs)
        inner = adjoint.vmap(adjoint.jacrev(f))(xs)
        hessians = adjoint.vmap(adjoint.hessian(f))(xs)
    np.testing.assert_allclose(outer, J(lambda xs: anp.stack([f_ag(x) for x in xs]))(xs), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(inner, _per_example(J(f_ag), xs), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hessians, _per_example(J(J(f_ag)), xs), rtol=1e-10, atol=1e-12)


def diagonal_rows(X, y):  # a repeated letter beside a letter of its own, and a second operand
    return np.sum(np.sin(np.einsum("iij,j->i", X, y)))


def diagonal_rows_ag(X, y):
    return anp.sum(anp.sin(anp.stack([X[i, i] for i in range(X.shape[0])]) @ y))


def test_repeated_letter_second_order_in_both_operands():
    X, y = rng.normal(size=(2, 2, 3)), rng.normal(size=3)
    got = adjoint.jacfwd(adjoint.jacrev(diagonal_rows, argnums=(0, 1)), argnums=(0, 1))(X, y)
    expected = J(J(diagonal_rows_ag, 0), 0)(X, y), J(J(diagonal_rows_ag, 0), 1)(X, y)
    np.testing.assert_allclose(got[0][0], expected[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[0][1], expected[1], rtol=1e-10, atol=1e-12)


def prod(x):
    return np.prod(x)


def test_fourth_order_of_prod():
    """np.prod's tangent is an einsum: its fourth derivative transforms the
    einsum helpers three times."""
    x = rng.normal(size=3)
    expected = J(J(J(J(anp.prod))))(x)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(prod))))(x),
                               expected, rtol=1e-10, atol=1e-12)
