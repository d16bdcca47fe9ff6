"""The forward-mode transforms of SPEC.md section 3 (jvp, jacfwd, hessian)
and their composition with reverse mode: argument checks, result
structure, and values against autograd and finite differences."""
from collections import namedtuple
from functools import partial

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from checker import check_jacobian


def poly(x):
    y = x * x
    for _ in range(3):
        y = y * x + 1.0
    return y / 3.0


def poly_ag(x):
    y = x * x
    for _ in range(3):
        y = y * x + 1.0
    return y / 3.0


def two_args(x, y):
    z = x * y + x / 2.0
    return -z ** 2 - y


def branchy(x):
    if np.sum(x) > 0:
        y = x * 3.0
    else:
        y = x * x
    return y - x / 2.0


Point = namedtuple("Point", "a b")


def structured(p, scale):
    return {"sum": p.a * scale + p.b, "parts": (p.a * p.b, p["b"] if isinstance(p, dict) else p.b)}


def with_aux(x):
    return x * 2.0, {"note": "kept", "x": x}


X = np.array([0.3, -0.7, 1.1])
Y = np.array([[0.5, 1.5, 2.0], [1.0, -1.0, 3.0]])


def test_jacfwd_equals_jacrev_with_broadcasting_and_argnums():
    for argnums in (0, 1, (0, 1), (1, 0), -1):
        got = adjoint.jacfwd(two_args, argnums=argnums)(X, Y)
        expected = adjoint.jacrev(two_args, argnums=argnums)(X, Y)
        for a, b in zip(np.atleast_1d(got) if isinstance(argnums, int) else got,
                        np.atleast_1d(expected) if isinstance(argnums, int) else expected, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert adjoint.jacfwd(two_args, argnums=(0,))(X, Y)[0].shape == (2, 3, 3)


def test_jacfwd_is_exact_against_finite_differences_for_every_chunk_size():
    for chunk_size in (None, 1, 2, 5):
        got = adjoint.jacfwd(branchy, chunk_size=chunk_size)(X)
        np.testing.assert_allclose(got, adjoint.jacrev(branchy)(X), rtol=1e-12)
        np.testing.assert_allclose(adjoint.jacfwd(branchy, chunk_size=chunk_size)(-X),
                                   autograd.jacobian(lambda x: x * x - x / 2.0)(-X), rtol=1e-12)
    check_jacobian(poly, [X], (0,))


def test_jacfwd_of_pytree_arguments_and_outputs_has_jacrevs_structure():
    p = Point(np.array([1.0, 2.0]), np.array([0.5, -1.0]))
    got = adjoint.jacfwd(structured, argnums=(0, 1))(p, 3.0)
    expected = adjoint.jacrev(structured, argnums=(0, 1))(p, 3.0)
    assert list(got) == ["sum", "parts"]
    assert isinstance(got["sum"][0], Point)
    flat_got = [leaf for leaf in _leaves(got)]
    flat_expected = [leaf for leaf in _leaves(expected)]
    assert [a.shape for a in flat_got] == [b.shape for b in flat_expected]
    for a, b in zip(flat_got, flat_expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
        assert a.dtype == b.dtype


def _leaves(tree):
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [np.asarray(tree)]


def test_jacfwd_has_aux_returns_aux_untouched():
    jacobian, aux = adjoint.jacfwd(with_aux, has_aux=True)(X)
    np.testing.assert_allclose(jacobian, 2.0 * np.eye(3))
    assert aux["note"] == "kept" and aux["x"] is not None


def test_jacfwd_argument_checks_match_jacrev():
    with pytest.raises(TypeError, match="argnums must be int or Tuple"):
        adjoint.jacfwd(poly, argnums=[0])(X)
    with pytest.raises(ValueError, match="only 1 positional inputs"):
        adjoint.jacfwd(poly, argnums=2)(X)
    with pytest.raises(ValueError, match="argnums must be non-empty"):
        adjoint.jacfwd(poly, argnums=())(X)
    with pytest.raises(ValueError, match="chunk_size should be greater than 0"):
        adjoint.jacfwd(poly, chunk_size=0)
    with pytest.raises(TypeError, match="only floating point inputs can be differentiated"):
        adjoint.jacfwd(poly)(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"should be a tuple: \(output, aux\)"):
        adjoint.jacfwd(poly, has_aux=True)(X)


def test_jvp_pushes_a_tangent_and_checks_its_structure():
    tangent = np.array([1.0, 0.5, -2.0])
    output, pushed = adjoint.jvp(poly, (X,), (tangent,))
    np.testing.assert_allclose(output, poly(X))
    np.testing.assert_allclose(pushed, autograd.jacobian(poly_ag)(X) @ tangent, rtol=1e-12)
    with pytest.raises(ValueError, match="tangent 0 must have the structure and shapes"):
        adjoint.jvp(poly, (X,), (np.ones(2),))
    with pytest.raises(TypeError, match="tuples"):
        adjoint.jvp(poly, X, np.ones(3))
    output, pushed, aux = adjoint.jvp(with_aux, (X,), (tangent,), has_aux=True)
    np.testing.assert_allclose(pushed, 2.0 * tangent)
    assert aux["note"] == "kept"


def test_jvp_is_the_transpose_of_vjp():
    rng = np.random.default_rng(3)
    u, v = rng.standard_normal(3), rng.standard_normal((2, 3))
    _, pushed = adjoint.jvp(two_args, (X, Y), (u, np.zeros_like(Y)))
    _, pull = adjoint.vjp(two_args, X, Y)
    x_bar, _ = pull(v)
    assert np.isclose(np.sum(pushed * v), np.sum(x_bar * u), rtol=1e-12)


def test_defjvp_registers_a_forward_rule():
    def softplus(x):
        return np.log1p(np.exp(x))

    def uses(x):
        return softplus(x) * 2.0

    adjoint.defjvp(softplus, lambda ans, x: lambda t: t / (1.0 + np.exp(-x)))
    expected = np.diag(2.0 / (1.0 + np.exp(-X)))
    np.testing.assert_allclose(adjoint.jacfwd(uses)(X), expected, rtol=1e-12)


def test_forward_mode_through_a_defvjp_rule():
    def cube(x):
        return x ** 3

    def uses(x):
        return cube(x) + x

    adjoint.defvjp(cube, lambda ans, x: lambda g: 3.0 * x ** 2 * g)
    np.testing.assert_allclose(adjoint.jacfwd(uses)(X), np.diag(3.0 * X ** 2 + 1.0), rtol=1e-12)


# ----------------------------------------------------------------- higher order

def test_forward_over_forward_and_reverse_over_forward():
    expected = autograd.jacobian(autograd.jacobian(poly_ag))(X)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(poly))(X), expected, rtol=1e-10)
    np.testing.assert_allclose(adjoint.jacrev(adjoint.jacfwd(poly))(X), expected, rtol=1e-10)


def test_a_derivative_called_inside_a_differentiated_function():
    d_poly = adjoint.jacfwd(poly)

    def uses_derivative(x):
        return d_poly(x) * x

    def uses_derivative_inline(x):
        return adjoint.jacfwd(poly)(x) * x

    expected = autograd.jacobian(lambda x: autograd.jacobian(poly_ag)(x) * x)(X)
    for function in (uses_derivative, uses_derivative_inline):
        np.testing.assert_allclose(adjoint.jacfwd(function)(X), expected, rtol=1e-10)
        np.testing.assert_allclose(adjoint.jacrev(function)(X), expected, rtol=1e-10)


def test_source_shows_forward_code():
    text = adjoint.source(poly, mode="jvp")
    assert "def poly_jvp(tangents, /, x):" in text
    assert "y_1_dot = x_dot * (x + x)" in text  # (y_dot, which nothing read, is not computed)
    with pytest.raises(ValueError, match="expected 'vjp'"):
        adjoint.source(poly, mode="fwd")


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_ag(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_hessians_by_every_composition_agree_with_autograd():
    x = np.linspace(-1.0, 1.2, 7)
    expected = autograd.hessian(rosenbrock_ag)(x)
    compositions = {
        "hessian": adjoint.hessian(rosenbrock),
        "jacfwd(jacrev)": adjoint.jacfwd(adjoint.jacrev(rosenbrock)),
        "jacrev(jacrev)": adjoint.jacrev(adjoint.jacrev(rosenbrock)),
        "jacfwd(grad)": adjoint.jacfwd(adjoint.grad(rosenbrock)),
        "jacrev(grad)": adjoint.jacrev(adjoint.grad(rosenbrock)),
        "jacfwd(jacfwd)": adjoint.jacfwd(adjoint.jacfwd(rosenbrock)),
        "jacrev(jacfwd)": adjoint.jacrev(adjoint.jacfwd(rosenbrock)),
    }
    for name, function in compositions.items():
        np.testing.assert_allclose(function(x), expected, rtol=1e-10, atol=1e-9, err_msg=name)


def test_grad_of_grad_and_third_derivatives():
    def g(t):
        return np.sin(t) * t ** 3

    def g_ag(t):
        return anp.sin(t) * t ** 3

    t = 0.7
    assert np.isclose(adjoint.grad(adjoint.grad(g))(t), autograd.grad(autograd.grad(g_ag))(t), rtol=1e-12)
    third = adjoint.grad(adjoint.grad(adjoint.grad(g)))(t)
    assert np.isclose(third, autograd.grad(autograd.grad(autograd.grad(g_ag)))(t), rtol=1e-10)


def test_hessian_with_argnums_and_a_loop():
    def energy(x, k):
        total = 0.0
        for i in range(len(x) - 1):
            total = total + k * (x[i + 1] - x[i]) ** 2 * np.cos(x[i])
        return total

    def energy_ag(x, k):
        total = 0.0
        for i in range(len(x) - 1):
            total = total + k * (x[i + 1] - x[i]) ** 2 * anp.cos(x[i])
        return total

    x, k = np.array([0.1, 0.5, -0.3, 0.8]), np.array(1.5)
    np.testing.assert_allclose(adjoint.hessian(energy)(x, k), autograd.hessian(energy_ag)(x, k), rtol=1e-10)
    np.testing.assert_allclose(adjoint.hessian(energy, argnums=1)(x, k),
                               autograd.hessian(energy_ag, 1)(x, k), rtol=1e-10)


def squares_and_root(x):
    return x ** 2 + 3.0 * x ** 3 + np.sqrt(x) ** 1.5


def test_zero_tangent_guard_only_where_a_partial_can_be_infinite():
    # x ** 2 and x ** 3 have finite partials everywhere: no guard in the code
    # (it cost a comparison and a select per power); x ** 1.5 keeps it, and so
    # does np.sqrt (infinite slope at 0).
    text = adjoint.source(squares_and_root, mode="jvp")
    assert text.count("rt.times_tangent(") == 2, text
    # (3 * x ** 2 reads x ** 2 from the forward pass's t1: backend/reuse_forward.py; the
    # chain's links t1_dot, t2_dot, t3_dot, which nothing reads, are not computed:
    # backend/common_subexpressions.py)
    assert "x_dot * (2 * x + 3 * t1 * 3.0)" in text and "t1_dot" not in text, text
    x = np.array([0.5, 1.0, 2.0])
    expected = np.diag(2 * x + 9.0 * x ** 2 + 0.75 * x ** -0.25)
    np.testing.assert_allclose(adjoint.jacfwd(squares_and_root)(x), expected, rtol=1e-12)


def logdet_of(A):
    return np.linalg.slogdet(A)[1]


def largest_eigenvalue(A):
    return np.linalg.eigh(A)[0][-1]


@pytest.mark.parametrize("func", [logdet_of, largest_eigenvalue])
def test_second_derivatives_over_forward_code_through_namedtuple_results(func):
    """slogdet and eigh return namedtuples: forward mode over their tangent
    code rebuilt those classes, which have no source (refused before)."""
    A = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, 0.2], [0.1, 0.2, 1.0]])
    step = 1e-5
    gradient = adjoint.jacrev(func)
    numeric = np.stack([(gradient(A + step * E) - gradient(A - step * E)) / (2 * step)
                        for E in np.eye(9).reshape(9, 3, 3)], axis=-1).reshape(3, 3, 3, 3)
    for outer, inner in ((adjoint.jacfwd, adjoint.jacfwd), (adjoint.jacrev, adjoint.jacfwd)):
        np.testing.assert_allclose(outer(inner(func))(A), numeric, rtol=1e-6, atol=1e-7)
