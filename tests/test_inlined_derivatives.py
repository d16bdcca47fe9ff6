"""A derivative function with its generated passes written into it
(api/inlined.py), and forward mode that computes no tangent a rule reads
only as a constant (analysis/activity.py): second derivatives against
autograd through loops, callees, module globals and names that look like
generated ones; errors still name the user's line."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_the_derivative_function_holds_both_passes():
    text = adjoint.source(adjoint.jacrev(rosenbrock)).split("\n\n")[0]
    assert text.startswith("def rosenbrock_jacrev(x):")
    assert "rosenbrock_forward(" not in text and "rosenbrock_backward(" not in text
    assert "out_bar = rt.output_basis(out)" in text and "# line " in text


def test_forward_mode_over_it_skips_tangents_read_as_constants():
    # the output's sum (and what only its shape reaches) needs no tangent:
    # rt.unreduce(out_bar, t) reads t for its shape
    text = adjoint.source(adjoint.jacrev(rosenbrock), mode="jvp")
    assert "tangent_axes" not in text and "out_dot" not in text
    x = np.linspace(-1.0, 1.0, 6)
    expected = autograd.hessian(lambda v: anp.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2))(x)
    np.testing.assert_allclose(adjoint.hessian(rosenbrock)(x), expected, rtol=1e-12)


def damped(x):
    total = 0.0
    y = x
    for k in range(3):
        y = np.tanh(y) * (1.0 + 0.1 * k)
        total = total + np.sum(y ** 2)
    return total


def damped_ag(x):
    total = 0.0
    y = x
    for k in range(3):
        y = anp.tanh(y) * (1.0 + 0.1 * k)
        total = total + anp.sum(y ** 2)
    return total


def helper(v):
    return np.exp(v) * v[::-1]


def calls_helper(x):
    return np.sum(helper(x) ** 2) + np.sum(np.sin(x))


def calls_helper_ag(x):
    return anp.sum((anp.exp(x) * x[::-1]) ** 2) + anp.sum(anp.sin(x))


def looks_generated(x):
    out_bar = x * 2.0
    t1_bar = np.cos(out_bar)
    residuals = t1_bar * x
    return np.sum(residuals ** 2)


def looks_generated_ag(x):
    out_bar = x * 2.0
    return anp.sum((anp.cos(out_bar) * x) ** 2)


@pytest.mark.parametrize("f, reference", [(damped, damped_ag), (calls_helper, calls_helper_ag),
                                          (looks_generated, looks_generated_ag)])
@pytest.mark.parametrize("second", ["hessian", "jacrev(jacrev)", "jacfwd(grad)"])
def test_second_derivatives_against_autograd(f, reference, second):
    make = {"hessian": adjoint.hessian, "jacrev(jacrev)": lambda g: adjoint.jacrev(adjoint.jacrev(g)),
            "jacfwd(grad)": lambda g: adjoint.jacfwd(adjoint.grad(g))}[second]
    x = np.array([0.3, -0.7, 1.1, 0.2])
    h = make(f)
    for _ in range(2):
        np.testing.assert_allclose(h(x), autograd.hessian(reference)(x), rtol=1e-11, atol=1e-13)


SCALE = 2.0


def scaled(x):
    return np.sum(SCALE * x ** 3)


def test_a_changed_module_global_reaches_the_second_derivative():
    global SCALE
    x = np.array([1.0, 2.0])
    h = adjoint.jacrev(adjoint.grad(scaled))
    np.testing.assert_allclose(h(x), np.diag(6.0 * 2.0 * x))
    try:
        SCALE = 5.0
        np.testing.assert_allclose(h(x), np.diag(6.0 * 5.0 * x))
        np.testing.assert_allclose(adjoint.hessian(scaled)(x), np.diag(6.0 * 5.0 * x))
    finally:
        SCALE = 2.0


def fails_inside(x):
    y = np.sin(x)
    return np.sum(y[np.array([0, 5])])


def test_an_error_in_the_second_derivative_names_the_users_line():
    with pytest.raises(IndexError) as info:
        adjoint.hessian(fails_inside)(np.array([0.1, 0.2]))
    assert "test_inlined_derivatives.py" in str(info.value.__notes__ if hasattr(info.value, "__notes__") else "") \
        or "test_inlined_derivatives.py" in str(info.value)


def accumulates(x):
    total = 0.0
    for i in range(3):
        total = total + np.sin(x) * (i + 1.0)
    return total


def accumulates_ag(x):
    total = 0.0
    for i in range(3):
        total = total + anp.sin(x) * (i + 1.0)
    return total


def test_a_backward_pass_that_rebinds_the_output_name_keeps_the_output():
    # its backward loop rebinds the forward pass's output name: the last
    # line reads the output after it, so the passes stay separate calls
    # (written into one function, vmap saw another value there)
    x = np.array([0.4, -1.3])
    X = np.stack([x, 0.9 * x + 0.05, 1.1 * x])
    expected = np.stack([autograd.jacobian(accumulates_ag)(row) for row in X])
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacrev(accumulates))(X), expected, rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacrev(accumulates))(x),
                               autograd.jacobian(autograd.jacobian(accumulates_ag))(x), rtol=1e-12, atol=1e-14)


def _list_times(x, y):
    return np.multiply([x, y], y)


def test_a_list_saved_by_the_forward_pass_keeps_the_calls():
    # Written into one function, the backward pass's ``g * [x, y]`` read as a
    # repetition of the list under the next transform (a broadcast error).
    x, y = np.array([0.3, -0.5, 1.2]), np.array([1.1, 0.7, -0.4])
    second = adjoint.jacfwd(adjoint.jacrev(_list_times, argnums=(0, 1)), argnums=(0, 1))(x, y)
    # out[0] = x * y, out[1] = y * y: d2 out[0] / dx dy = 1 and d2 out[1] / dy2 = 2, per element
    eye = np.eye(3)
    expected_x_y = np.stack([np.einsum("ij,ik->ijk", eye, eye), np.zeros((3, 3, 3))])
    expected_y_y = np.stack([np.zeros((3, 3, 3)), 2 * np.einsum("ij,ik->ijk", eye, eye)])
    np.testing.assert_allclose(second[0][1], expected_x_y, atol=1e-14)
    np.testing.assert_allclose(second[1][1], expected_y_y, atol=1e-14)
    np.testing.assert_allclose(second[0][0], 0.0, atol=1e-14)
