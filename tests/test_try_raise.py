"""``raise`` inside an ``if`` of a try block (``if x.sum() < 0: raise
ValueError(...)``): the test is guarded alone and each branch goes on with
the rest of the block, so the derivative follows the path Python takes.
Checked against autograd running the same program and central finite
differences, on points that take each path; what Python lets propagate
propagates."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian

X = np.array([0.3, -0.2, 0.5])


def raise_in_an_if(x):
    try:
        if x.sum() < 0:
            raise ValueError("negative")
        y = np.sin(x)
    except ValueError:
        y = np.cos(x)
    return y * x


def raise_in_an_if_ag(x):
    y = anp.cos(x) if x.sum() < 0 else anp.sin(x)
    return y * x


def nested_ifs_handlers_else_and_finally(x):
    scale = 1.0
    try:
        z = x * 2.0
        if x[0] > 0:
            if x[1] > 0:
                raise KeyError("both")
            z = z + np.exp(x)
        else:
            raise ArithmeticError("first")
        z = z * x
    except KeyError as e:
        z = np.tanh(x) * len(str(e))
    except ArithmeticError:
        z = x ** 3
    else:
        z = z + 1.0
    finally:
        scale = scale * 3.0
    return z * scale


def nested_ifs_handlers_else_and_finally_ag(x):
    if x[0] > 0 and x[1] > 0:
        z = anp.tanh(x) * len(str(KeyError("both")))
    elif x[0] > 0:
        z = (x * 2.0 + anp.exp(x)) * x + 1.0
    else:
        z = x ** 3
    return z * 3.0


def raised_by_a_call_in_a_branch(x):
    a = np.diag(x * 0.0) if x[2] < 0 else np.diag(x + 2.0)  # singular when x[2] < 0
    try:
        if x[1] < 1.0:
            y = np.linalg.solve(a, x)
        else:
            y = x
    except np.linalg.LinAlgError:
        y = np.sin(x)
    return y


def raised_by_a_call_in_a_branch_ag(x):
    return anp.sin(x) if x[2] < 0 else anp.linalg.solve(anp.diag(x + 2.0), x)


POINTS = [X, -X, np.array([0.4, 0.6, -0.1]), np.array([0.4, -0.6, 0.1])]


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
@pytest.mark.parametrize("func, reference", [
    (raise_in_an_if, raise_in_an_if_ag),
    (nested_ifs_handlers_else_and_finally, nested_ifs_handlers_else_and_finally_ag),
    (raised_by_a_call_in_a_branch, raised_by_a_call_in_a_branch_ag),
])
def test_raise_in_an_if_of_a_try_block(transform, func, reference):
    for x in POINTS:
        np.testing.assert_allclose(func(x), reference(x), rtol=1e-14)  # (the twin is the same program)
        got = transform(func)(x)
        np.testing.assert_allclose(got, autograd.jacobian(reference)(x), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got, numerical_jacobian(func, (x,)), rtol=1e-6, atol=1e-8)


def test_second_order():
    def loss(x):
        return np.sum(nested_ifs_handlers_else_and_finally(x) ** 2)

    def loss_ag(x):
        return anp.sum(nested_ifs_handlers_else_and_finally_ag(x) ** 2)

    for x in POINTS:
        expected = autograd.hessian(loss_ag)(x)
        np.testing.assert_allclose(adjoint.hessian(loss)(x), expected, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacrev(loss))(x), expected, rtol=1e-9, atol=1e-11)


def not_caught_here(x):
    try:
        if x[0] > 0:
            raise TypeError("not a ValueError")
        y = x
    except ValueError:
        y = -x
    return y


def test_an_exception_no_handler_matches_propagates():
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(transform(not_caught_here)(-X), np.eye(3))
        with pytest.raises(TypeError, match="not a ValueError"):
            transform(not_caught_here)(X)


def test_vmap_takes_each_example_s_path():
    xs = np.stack(POINTS)
    with pytest.warns(RuntimeWarning, match="runs once per example"):
        got = adjoint.vmap(adjoint.jacrev(raise_in_an_if))(xs)
    for x, row in zip(xs, got, strict=True):
        np.testing.assert_allclose(row, autograd.jacobian(raise_in_an_if_ag)(x), rtol=1e-10, atol=1e-12)
