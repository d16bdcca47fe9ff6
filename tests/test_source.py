"""``adjoint.source`` of a derivative made by a transform."""
import numpy as np
import pytest

import adjoint


def norm(x):
    return np.sqrt(np.sum(x ** 2))


@pytest.mark.parametrize("transform, first", [(adjoint.grad, "def norm_grad(x):"),
                                              (adjoint.jacrev, "def norm_jacrev(x):")])
def test_source_of_a_reverse_mode_derivative_shows_its_function_then_the_code_it_calls(transform, first):
    # (this raised AttributeError: 'JacobianVJP' object has no attribute 'namespace')
    text = adjoint.source(transform(norm))
    assert text.startswith(first)
    # f's passes are written into the function (api/inlined.py), not shown again after it
    assert "# forward pass of norm" in text and "# backward pass: adjoints of x" in text
    assert "def norm_forward(x):" not in text and "def norm_backward(residuals, out_bar):" not in text
    # the text is the code that runs: executing it gives the gradient
    from adjoint import runtime as rt

    namespace = {"np": np, "rt": rt}
    exec(text, namespace)
    x = np.array([3.0, 4.0])
    result = namespace[first[4:first.index("(")]](x)
    np.testing.assert_allclose(result, x / 5.0, rtol=1e-14)


def test_source_of_a_derivative_in_forward_mode():
    text = adjoint.source(adjoint.grad(norm), mode="jvp")
    assert text.startswith("def norm_grad_jvp(tangents, /, x):")


def _squashed(z):
    return np.tanh(z) * 2.0


def _uses_a_callee(x):
    return np.sum(_squashed(np.sin(x) * x) ** 2)


def test_source_of_a_gradient_shows_the_callees_it_calls_once():
    text = adjoint.source(adjoint.grad(_uses_a_callee))
    defined = [line.split("(")[0][4:] for line in text.splitlines() if line.startswith("def ")]
    assert defined == ["_uses_a_callee_grad", "_squashed_forward", "_squashed_backward"]
    from adjoint import runtime as rt

    namespace = {"np": np, "rt": rt}
    exec(text, namespace)
    x = np.array([0.3, -1.2, 0.8])
    s = np.sin(x) * x
    expected = 2 * (2.0 * np.tanh(s)) * 2.0 * (1 - np.tanh(s) ** 2) * (np.cos(x) * x + np.sin(x))
    np.testing.assert_allclose(namespace["_uses_a_callee_grad"](x), expected, rtol=1e-13)
