"""Repeated work removed from generated code: a pure expression computed
twice in one function is computed once (backend/common_subexpressions.py),
never across a statement that may change what it reads; forward mode no
longer computes tangents nothing reads; jacrev's identity rows times a
matrix are the matrix (runtime/linalg.py), with the product's NaNs where a
value is not finite. Values against autograd or plain NumPy products.
"""
import autograd
import autograd.numpy as anp
import gast
import numpy as np

import adjoint
from adjoint import runtime as rt
from adjoint.backend import common_subexpressions
from adjoint.backend.compile import unparse
from adjoint.backend.to_ast import gast_to_ast
from adjoint.frontend.naming import Namer


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_twin(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_rosenbrock_backward_computes_its_common_product_once():
    text = adjoint.source(adjoint.grad(rosenbrock))
    assert text.count("200.0 * t4") == 1, text
    x = np.array([0.3, -1.2, 2.0, 0.7, 1.1])
    np.testing.assert_allclose(adjoint.grad(rosenbrock)(x), autograd.grad(rosenbrock_twin)(x), rtol=1e-12)
    # the code with the named temporary, differentiated again
    np.testing.assert_allclose(adjoint.jacrev(adjoint.jacrev(rosenbrock))(x),
                               autograd.hessian(rosenbrock_twin)(x), rtol=1e-10)


BODY = """
a = x * y + np.cos(x)
b = 2.0 * (x * y + np.cos(x))
c = q[n - 1] + q[n - 1]
d = rt.scatter_add(v, g, w, s)
e = w * y + (x * y + np.cos(x))
f = w * y
v2 = w[1:]
h = rt.mystery(v2)
k = w * y
m = x * y
x = 2.0 * y
p = x * y
u = np.exp(p) if c else np.exp(p)
z = user(y)
z2 = np.exp(y) + np.exp(y) * np.exp(p)
r = np.sin(y) * 2.0
r[0] = 5.0
r2 = np.sin(y) * 2.0
"""


def _eliminated(text):
    body = gast.parse(text).body
    namer = Namer({n.id for n in gast.walk(gast.parse(text)) if isinstance(n, gast.Name)})
    body = common_subexpressions.eliminate(body, namer, "np", "rt")
    return unparse(gast_to_ast(gast.Module(body=body, type_ignores=[]))).strip().splitlines()


def test_common_expressions_named_once_and_never_across_a_change():
    lines = _eliminated(BODY)
    assert lines == [
        "t3 = x * y",  # (whole expressions first, then what they share)
        "t1 = t3 + np.cos(x)",
        "a = t1",
        "b = 2.0 * t1",
        "c = q[n - 1] + q[n - 1]",  # (index arithmetic and subscripts stay)
        "d = rt.scatter_add(v, g, w, s)",  # scatter_add writes into v, not w, x or y
        "t4 = w * y",
        "e = t4 + t1",
        "f = t4",
        "v2 = w[1:]",
        "h = rt.mystery(v2)",  # may write into v2, a view of w: w * y is computed again
        "k = w * y",
        "m = t3",
        "x = 2.0 * y",  # x re-bound: x * y is a new value
        "p = x * y",
        "u = np.exp(p) if c else np.exp(p)",  # (a conditional evaluates one of them)
        "z = user(y)",  # may change anything
        "t2 = np.exp(y)",
        "z2 = t2 + t2 * np.exp(p)",
        "r = np.sin(y) * 2.0",
        "r[0] = 5.0",  # changes the value r shares
        "r2 = np.sin(y) * 2.0",
    ], lines


def squares_and_cube(x):
    return x ** 2 + 3.0 * x ** 3


def squares_and_cube_twin(x):
    return x ** 2 + 3.0 * x ** 3


def test_unread_tangents_are_not_computed():
    text = adjoint.source(squares_and_cube, mode="jvp")
    assert "t1_dot" not in text and "t3_dot" not in text and "out_dot = x_dot * (" in text, text
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(adjoint.jacfwd(squares_and_cube)(x),
                               autograd.jacobian(squares_and_cube_twin)(x), rtol=1e-12)


def layer(x, W1, W2):
    return W2 @ np.tanh(W1 @ x)


def layer_twin(x, W1, W2):
    return anp.dot(W2, anp.tanh(anp.dot(W1, x)))


def test_identity_rows_times_a_matrix_is_the_matrix_and_keeps_the_products_nans():
    rng = np.random.default_rng(3)
    x, W1, W2 = rng.standard_normal(4), rng.standard_normal((5, 4)), rng.standard_normal((3, 5))
    np.testing.assert_allclose(adjoint.jacrev(layer)(x, W1, W2), autograd.jacobian(layer_twin)(x, W1, W2),
                               rtol=1e-12)
    basis = rt.output_basis(np.zeros(3))
    for bad in (np.inf, -np.inf, np.nan, 1e308):
        W = W2.copy()
        W[1, 2] = bad
        W[2, 0] = 1e308
        with np.errstate(all="ignore"):
            expected = np.eye(3) @ W
            got = rt.matmul_adjoint_right(basis, W, np.zeros(5))
        np.testing.assert_array_equal(got, expected)
    got = rt.matmul_adjoint_right(basis, W2, np.zeros(5))
    np.testing.assert_array_equal(got, W2)
    got[0, 0] = 7.0  # the caller's matrix is not handed out
    assert W2[0, 0] != 7.0


def test_unbroadcast_sums_an_axis_followed_by_few_elements_as_numpy_does():
    rng = np.random.default_rng(5)
    cases = [((1, 9, 9, 3), (9, 1, 3)), ((2, 8, 10, 2), (8, 1, 2)), ((2, 10, 3), (1, 3)), ((3, 9, 4), (9, 4))]
    for g_shape, x_shape in cases:
        g = rng.standard_normal(g_shape)
        g[0, 0, 0] = np.inf
        g[-1, -1, -1] = np.nan
        expected = g
        axes = tuple(i + 1 for i, n in enumerate(x_shape) if n == 1 and g_shape[i + 1] != 1)
        if axes:
            expected = g.sum(axis=axes, keepdims=True)
        got = rt.unbroadcast(g, np.zeros(x_shape))
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)
    X = rng.standard_normal((9, 3))
    pair = lambda X: np.sum(1.0 / np.sqrt(np.sum((X[:, None, :] - X[None, :, :]) ** 2, -1) + np.eye(9)))
    pair_twin = lambda X: anp.sum(1.0 / anp.sqrt(anp.sum((X[:, None, :] - X[None, :, :]) ** 2, -1) + np.eye(9)))
    np.testing.assert_allclose(adjoint.grad(pair)(X), autograd.grad(pair_twin)(X), rtol=1e-11)
