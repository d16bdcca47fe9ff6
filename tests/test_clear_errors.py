"""Issue 9: what used to end in a traceback from inside the library now
works or is refused with a message at the user's line.

Each case failed before its fix; values are checked against central
finite differences (``numerical_jacobian``, plain NumPy)."""
import numpy as np

import adjoint
from conftest import numerical_jacobian


def _mlp(p, x):
    return np.tanh(x @ p)


_mlp_jacobian = adjoint.jacrev(_mlp)


def _calls_a_derivative(p, xs):
    return np.sum(_mlp_jacobian(p, xs[0]) ** 2)


def test_source_of_grad_of_a_function_calling_jacrev():
    # (used to raise AttributeError: 'JacobianVJP' object has no attribute 'namespace')
    p, xs = np.array([0.3, -0.2, 0.5]), np.array([[1.0, 2.0, -1.0], [0.5, 0.1, 0.2]])
    g = adjoint.grad(_calls_a_derivative)
    text = adjoint.source(g)
    # the function's code, the derivative it calls as run reversed (forward
    # mode over the derivative function), then that derivative's own code
    for name in ("def _calls_a_derivative_grad(", "def _mlp_jacrev_forward(",
                 "def _mlp_jacrev_backward(", "def _mlp_backward("):
        assert name in text
    assert np.allclose(g(p, xs), numerical_jacobian(_calls_a_derivative, (p, xs)), atol=1e-7)


def _sines_of_r(a):
    return np.sin(np.linalg.qr(a, mode="r"))


def test_qr_mode_r():
    # (used to raise ValueError from runtime/linalg.py when run)
    a = np.array([[1.0, 2.0, 0.5], [-1.0, 0.3, 2.0], [0.2, 1.5, -0.7], [0.9, -0.4, 1.1]])
    expected = numerical_jacobian(_sines_of_r, (a,))
    assert np.allclose(adjoint.jacrev(_sines_of_r)(a), expected, atol=1e-7)
    assert np.allclose(adjoint.jacfwd(_sines_of_r)(a), expected, atol=1e-7)


def _spectral_norm(x):
    return np.linalg.norm(x, ord=2)


def test_matrix_norm_under_differentiated_vmap():
    # (the batched rule handed a stack of matrices to a 2-d-only slope: ValueError)
    xs = np.array([[[1.0, 2.0, 0.5], [-1.0, 0.3, 2.0]], [[0.2, 1.5, -0.7], [0.9, -0.4, 1.1]]])
    batched = adjoint.vmap(_spectral_norm)
    expected = numerical_jacobian(lambda x: np.array([_spectral_norm(e) for e in x]), (xs,))
    assert np.allclose(adjoint.jacrev(batched)(xs), expected, atol=1e-7)
    assert np.allclose(adjoint.jacfwd(batched)(xs), expected, atol=1e-7)


def test_a_library_line_is_not_called_the_users_code():
    from adjoint import errors

    assert "in your code" not in errors.user_line_note(errors.__file__, 1)
    assert "in your code" in errors.user_line_note(__file__, 1)
    # a refusal whose line is in a helper of adjoint's own says so
    inside = errors.TransformError(errors.SourceLocation(errors.__file__, 1, "x"), "a construct", "a reason.")
    assert "adjoint's own helper code" in str(inside)
    outside = errors.TransformError(errors.SourceLocation(__file__, 1, "x"), "a construct", "a reason.")
    assert "adjoint's own" not in str(outside)


def _solution(b):
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
    return np.linalg.lstsq(a * b[0], b, rcond=None)[0]


def test_lstsq_second_derivatives_through_forward_mode():
    # (the front end refused runtime/tangent_linalg.py's lstsq_tangent: attribute set on a tuple)
    b = np.array([1.0, 2.0, 3.0])
    first = adjoint.jacfwd(_solution)
    expected = numerical_jacobian(first, (b,), eps=1e-5)
    assert np.allclose(adjoint.jacfwd(first)(b), expected, atol=1e-7)
    assert np.allclose(adjoint.jacrev(first)(b), expected, atol=1e-7)


def _nuclear_norms(x):
    return np.linalg.norm(x, "nuc", axis=(2, 0))


def test_matrix_norm_of_a_stack_with_an_axis_pair():
    # (was refused with ValueError, test_rules' old "stack-of-matrices" cases)
    x = np.linspace(0.5, 1.5, 18).reshape(3, 2, 3) ** 2
    assert np.allclose(adjoint.jacrev(_nuclear_norms)(x), numerical_jacobian(_nuclear_norms, (x,)), atol=1e-7)


def _doubles_until_large(x):
    s = x[0]
    while s < 10.0:
        s = s * 2.0
    return s * x[1]


def test_differentiated_per_example_vmap_is_refused_at_the_users_line():
    import pytest

    with pytest.raises(adjoint.errors.TransformError) as caught:
        adjoint.jacrev(adjoint.vmap(_doubles_until_large))(np.array([[1.0, 2.0], [3.0, 4.0]]))
    message = str(caught.value)
    assert f"{__file__}:" in message and "while s < 10.0" in message
    assert "vmap(jacrev(f))" in message and "adjoint/" not in message
    # source() of that vmap names the line too (it used to raise AttributeError)
    assert "while loop" in adjoint.source(_doubles_until_large, mode="vmap")
