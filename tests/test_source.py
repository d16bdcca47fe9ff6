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
    assert "def norm_forward(x):" in text and "def norm_backward(residuals, out_bar):" in text
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
