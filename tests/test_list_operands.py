"""Python lists handed to NumPy functions in place of arrays, under every
transform (frontend/normalize_list_operands.py). References: autograd with
the list made an array (``anp.array([...])``), or the derivatives by hand."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from adjoint import runtime as rt

SHIFT = np.array([[0.5, -1.0], [2.0, 0.25]])
V = np.array([1.0, 2.0])
X, Y = np.array([0.7, -1.2]), np.array([1.3, 0.4])


def power_of_list(x, y):
    return np.sum(np.power([x, y], 3) * V)


def norm_of_list(x, y):
    return np.linalg.norm([x, y])


def matmul_of_lists(x, y):
    return np.sum(np.matmul([[x, y], [y, 1.0]], [x, 2.0]))


def average_with_list_weights(x, y):
    return np.average(V, weights=[x, y])


def det_of_list_plus_array(a, b, c, d):
    return np.linalg.det([[a, b], [c, d]] + SHIFT)  # the global array makes + NumPy's sum


def multi_dot_of_nested_list(a, b, c, d):
    return np.sum(np.linalg.multi_dot([[[a, b], [c, d]], SHIFT, V]) ** 2)


def list_plus_parameter(x, y):
    return np.sum([x, x] + y)  # y is an array when it runs: not a list join


def agrad_hessian(f, n):
    return autograd.hessian(lambda v: f(*[v[i] for i in range(n)]))


def _matrix(h):
    return np.array([[float(np.asarray(b)) for b in line] for line in h])


def test_scalars_in_a_list_all_transforms():
    """np.power/norm/matmul/average of a list of differentiated scalars:
    jacrev, jacfwd and hessian against the derivatives by hand."""
    x, y = 0.7, 1.3
    cases = [
        # f, gradient, hessian
        (power_of_list, [3 * x ** 2, 6 * y ** 2], [[6 * x, 0.0], [0.0, 12 * y]]),
        (matmul_of_lists, [2 * x + y, 2 + x], [[2.0, 1.0], [1.0, 0.0]]),  # x^2 + 2y + xy + 2
    ]
    r = np.hypot(x, y)
    cases.append((norm_of_list, [x / r, y / r], np.array([[y * y, -x * y], [-x * y, x * x]]) / r ** 3))
    s = x + y  # (x + 2y) / (x + y)
    cases.append((average_with_list_weights, [-y / s ** 2, x / s ** 2],
                  [[2 * y / s ** 3, (y - x) / s ** 3], [(y - x) / s ** 3, -2 * x / s ** 3]]))
    for f, gradient, hessian in cases:
        for transform in (adjoint.jacrev, adjoint.jacfwd):
            np.testing.assert_allclose(np.array(transform(f, argnums=(0, 1))(x, y), dtype=float), gradient,
                                       rtol=1e-12, err_msg=f.__name__)
        np.testing.assert_allclose(_matrix(adjoint.hessian(f, argnums=(0, 1))(x, y)), hessian, rtol=1e-10,
                                   atol=1e-12, err_msg=f.__name__)


def test_arrays_in_a_list_against_autograd():
    """Items that are arrays ([x, y] of two vectors: a 2 x 2 matrix), hessian against autograd."""
    for f, reference in [
        (power_of_list, lambda v: anp.sum(anp.power(anp.array([v[:2], v[2:]]), 3) * V)),
        (norm_of_list, lambda v: anp.sqrt(anp.sum(anp.array([v[:2], v[2:]]) ** 2))),
    ]:
        blocks = adjoint.hessian(f, argnums=(0, 1))(X, Y)
        got = np.block([[np.asarray(b) for b in line] for line in blocks])
        want = autograd.hessian(reference)(np.concatenate([X, Y]))
        np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=f.__name__)


def test_nested_lists_with_arrays():
    """A nested list + a global array (NumPy's sum, not a list join), and a
    nested list as an item of multi_dot: hessian against autograd."""
    args = (0.9, -0.4, 0.3, 1.1)
    for f, reference in [
        (det_of_list_plus_array, lambda v: anp.linalg.det(anp.reshape(v, (2, 2)) + SHIFT)),
        (multi_dot_of_nested_list, lambda v: anp.sum(anp.dot(anp.dot(anp.reshape(v, (2, 2)), SHIFT), V) ** 2)),
    ]:
        want = autograd.hessian(reference)(np.array(args))
        np.testing.assert_allclose(_matrix(adjoint.hessian(f, argnums=(0, 1, 2, 3))(*args)), want, rtol=1e-9, atol=1e-12,
                                   err_msg=f.__name__)
        np.testing.assert_allclose(np.array(adjoint.jacfwd(f, argnums=(0, 1, 2, 3))(*args), dtype=float),
                                   autograd.grad(reference)(np.array(args)), rtol=1e-10, err_msg=f.__name__)


def test_vmap_of_jacrev_of_a_list():
    xs, ys = np.array([0.7, -0.5, 1.5]), np.array([1.3, 2.0, 0.2])
    got = adjoint.vmap(adjoint.jacrev(power_of_list, argnums=(0, 1)))(xs, ys)
    np.testing.assert_allclose(got[0], 3 * xs ** 2, rtol=1e-12)
    np.testing.assert_allclose(got[1], 6 * ys ** 2, rtol=1e-12)
    # a nested list as an item of multi_dot: each example's matrix (it was transposed across the batch)
    a, b, c, d = np.array([[0.9, -0.4], [0.3, 1.1], [2.0, 0.5], [-1.0, 0.7]])
    want = [multi_dot_of_nested_list(a[k], b[k], c[k], d[k]) for k in range(2)]
    np.testing.assert_allclose(adjoint.vmap(multi_dot_of_nested_list)(a, b, c, d), want, rtol=1e-12)


def list_plus_a_parameter_of_the_caller(x, y):
    return list_plus_parameter(x, y) * 2.0


def test_list_joined_with_an_array_argument():
    """``[x, x] + y`` with y a parameter: the transform is made for the kind
    of y each call passes (frontend/parameter_kinds): NumPy's sum for an
    array, the join for a list. Where the kind is not known (y a parameter
    of a function the transformed one calls), + is taken for a list join,
    and when y is an array the derivative code refuses at the user's line
    instead of a wrong number."""
    y = np.array([1.0, 2.0])
    got = adjoint.jacrev(list_plus_parameter, argnums=(0, 1))(0.5, y)
    want = autograd.grad(lambda x, y: anp.sum(anp.array([x, x]) + y), argnum=(0, 1))(0.5, y)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    np.testing.assert_allclose(adjoint.grad(list_plus_parameter)(0.5, [1.0, 2.0]), 2.0, rtol=1e-12)
    with pytest.raises(rt.ValueRefused, match=r"test_list_operands\.py:\d+.*np\.asarray\(\[\.\.\.\]\) \+ a"):
        adjoint.jacrev(list_plus_a_parameter_of_the_caller)(0.5, y)
