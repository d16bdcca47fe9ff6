"""Common Python forms of real programs (issue 9): namedtuple ``_replace``,
``x.tolist()``, a list handed to a function of the module that gives it to
NumPy, a dict argument changed in place (refused at its line), and a bound
method of a module-level object as the function. Derivatives are checked
against central finite differences in float64 (second derivatives: of the
differences of the function itself), never against adjoint."""
import collections
import warnings

import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian

Pair = collections.namedtuple("Pair", "a b")
X = np.array([0.3, 0.7, 1.2, 0.5])


def second_differences(func, x, eps=1e-4):
    """The Hessian of the scalar ``func`` at ``x`` by differences of differences."""
    return numerical_jacobian(lambda z: numerical_jacobian(func, (z,), 0, eps), (x,), 0, eps)


def check_every_transform(func, x):
    """jacrev, jacfwd, jvp, vjp, hessian (of the sum), vmap and vmap(jacrev) of ``func`` at ``x``."""
    jacobian = numerical_jacobian(func, (x,), 0)
    np.testing.assert_allclose(adjoint.jacrev(func)(x), jacobian, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacfwd(func)(x), jacobian, rtol=1e-6, atol=1e-8)
    tangent = np.linspace(0.5, 1.5, x.size)
    np.testing.assert_allclose(adjoint.jvp(func, (x,), (tangent,))[1], jacobian @ tangent, rtol=1e-6, atol=1e-8)
    output, pull_back = adjoint.vjp(func, x)
    cotangent = np.cos(np.arange(output.size))
    np.testing.assert_allclose(pull_back(cotangent)[0], cotangent @ jacobian, rtol=1e-6, atol=1e-8)

    def total(z):
        return np.sum(func(z))

    np.testing.assert_allclose(adjoint.hessian(total)(x), second_differences(total, x), rtol=1e-5, atol=1e-6)
    batch = np.stack([x, 0.8 * x + 0.1])
    np.testing.assert_allclose(adjoint.vmap(func)(batch)[1], func(batch[1]), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (some helpers run once per example)
        batched = adjoint.vmap(adjoint.jacrev(func))(batch)
    np.testing.assert_allclose(batched[1], numerical_jacobian(func, (batch[1],), 0), rtol=1e-6, atol=1e-8)


def replaces_fields(x):
    p = Pair(x, x * 2.0)
    q = p._replace(b=np.sin(x), a=p.b * x)  # a reads p.b before the replacement: the old field
    first, second = q
    return first * second + q[1] + q.a


def tolist_everywhere(x):
    rows = (x.reshape(2, 2) * 1.5).tolist()
    products = [r[0] * r[1] for r in rows]
    items = x.tolist()
    items.append(x[0] * 3.0)
    pairs = [a * b for a, b in zip(items, items[1:])]
    squares = 0.0
    for v in x.tolist():
        squares = squares + v * v
    return np.array(products + [rows[1][0], sum(items), squares] + pairs) + np.array(rows).sum()


def cube(v):
    return np.power(v, 3)


def weighted(v, w):
    return np.dot(w, np.power(v, 2))


def joined(v):
    return v + v  # two lists joined: Python's +


def list_through_own_functions(x):
    y = np.sin(x)
    return cube([x, y])[1] + weighted((x, y), [2.0, 1.0]) + np.array(joined([x, x * 3.0])).sum(axis=0)


@pytest.mark.parametrize("func", [replaces_fields, tolist_everywhere, list_through_own_functions])
def test_every_transform_against_finite_differences(func):
    check_every_transform(func, X)


def scaled_pair(p, x):
    q = p._replace(a=p.a * x)
    return np.sum(q.a * q.b)


def test_replace_on_a_namedtuple_argument():
    p = Pair(np.array([0.3, -0.2]), np.array([1.1, -0.4]))
    x = np.array([0.9, 0.6])
    gradient = adjoint.grad(scaled_pair, argnums=(0, 1))(p, x)
    np.testing.assert_allclose(gradient[0].a, x * p.b, rtol=1e-12)
    np.testing.assert_allclose(gradient[0].b, p.a * x, rtol=1e-12)
    np.testing.assert_allclose(gradient[1], p.a * p.b, rtol=1e-12)
    hessian = adjoint.hessian(scaled_pair)(p, x)  # sum(a * x * b): x on the diagonal of the a, b block
    np.testing.assert_allclose(hessian.a.b, np.diag(x), rtol=1e-12)
    np.testing.assert_allclose(hessian.a.a, np.zeros((2, 2)), atol=1e-12)
    with pytest.raises(ValueError, match=r"test_real10.py:\d+: ._replace\(...\) of a dict"):
        adjoint.grad(scaled_pair, argnums=1)({"a": x, "b": x}, x)  # (Python: AttributeError)


def tolist_of_a_number(x):
    return np.sum(x).tolist() * x


def test_tolist_of_a_0d_array_is_refused_at_its_line():
    with pytest.raises(ValueError, match=r"test_real10.py:\d+: x.tolist\(\) of a 0-d array.*x.item\(\)"):
        adjoint.jacrev(tolist_of_a_number)(X)


def doubles_a_weight(params, x):
    params["w"] = params["w"] * 2
    return np.sum(params["w"] * x)


def test_a_dict_argument_changed_in_place_is_refused_at_its_line():
    params = {"w": X.copy()}
    for transform in (adjoint.grad, adjoint.jacfwd):
        with pytest.raises(adjoint.UnsupportedSyntaxError,
                           match=r"test_real10.py:\d+: item assignment into argument 'params'.*dict\(params\)"):
            transform(doubles_a_weight)(params, X)
    assert params["w"] is not None and np.array_equal(params["w"], X)  # the caller's dict is as it was


class Oscillator:
    def __init__(self, k):
        self.k = k
        self.mass = np.array([[2.0, 0.5], [0.5, 1.0]])

    def energy(self, x, v):
        return self.k * np.sum(x ** 4) + x @ self.mass @ x + 0.5 * np.sum(v ** 3 * x)


OSC = Oscillator(3.0)


def test_hessian_of_a_bound_method_of_a_module_object():
    x, v = np.array([0.3, 0.7]), np.array([1.1, -0.4])
    hessian = adjoint.hessian(OSC.energy)(x, v)
    np.testing.assert_allclose(hessian, np.diag(12 * OSC.k * x ** 2) + OSC.mass + OSC.mass.T, rtol=1e-12)
    np.testing.assert_allclose(adjoint.hessian(OSC.energy, argnums=1)(x, v), np.diag(3 * v * x), rtol=1e-12)
    mixed = adjoint.hessian(OSC.energy, argnums=(0, 1))(x, v)[0][1]
    np.testing.assert_allclose(mixed, np.diag(1.5 * v ** 2), rtol=1e-12)
    OSC.k = 5.0  # read when the code runs: the new value
    try:
        np.testing.assert_allclose(adjoint.hessian(OSC.energy)(x, v), np.diag(60 * x ** 2) + 2 * OSC.mass,
                                   rtol=1e-12)
        batched = adjoint.vmap(adjoint.jacrev(OSC.energy))(np.stack([x, 2 * x]), np.stack([v, v]))
        expected = 4 * 5.0 * (2 * x) ** 3 + 2 * OSC.mass @ (2 * x) + 0.5 * v ** 3
        np.testing.assert_allclose(batched[1], expected, rtol=1e-12)
    finally:
        OSC.k = 3.0


def joins_or_adds(x, y):
    return np.array([x, 2.0 * x] + y) ** 2


def test_list_plus_a_parameter_follows_the_kind_of_each_call():
    """``[x, 2x] + y``: NumPy's sum when y is an array, Python's join when it
    is a list; the transform is made for each kind and never reused for the other."""
    x, y = np.array([0.3, 0.7]), np.array([1.1, -0.4])
    sums = np.stack([np.diag(2 * (x + y)), np.diag(4 * (2 * x + y))])
    joined = np.stack([np.diag(2 * x), np.diag(8 * x), np.zeros((2, 2))])
    np.testing.assert_allclose(adjoint.jacrev(joins_or_adds)(x, y), sums, rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacrev(joins_or_adds)(x, [y]), joined, rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(joins_or_adds)(x, y), sums, rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacrev(joins_or_adds)(x, y), numerical_jacobian(joins_or_adds, (x, y), 0),
                               rtol=1e-6, atol=1e-8)

    def total(a, b):
        return np.sum(joins_or_adds(a, b))

    np.testing.assert_allclose(adjoint.hessian(joins_or_adds)(x, y).sum(axis=(0, 1)), 10 * np.eye(2), rtol=1e-12)
    np.testing.assert_allclose(adjoint.grad(total)(x, [y]), 10 * x, rtol=1e-12)  # (x is called through total)
    batch = np.stack([x, 2 * x])
    np.testing.assert_allclose(adjoint.vmap(joins_or_adds)(batch, np.stack([y, y]))[1], joins_or_adds(2 * x, y))
    np.testing.assert_allclose(adjoint.vmap(joins_or_adds, in_dims=(0, None))(batch, [y])[1],
                               joins_or_adds(2 * x, [y]))
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacrev(joins_or_adds))(batch, np.stack([y, y]))[0], sums,
                               rtol=1e-12)


def rotates_a_list(x):
    items = x.tolist()
    return np.array(items[1:] + items[:1]) * x


def test_slices_of_a_list_joined():
    """``items[1:] + items[:1]``: slices of a list made here are lists, joined (not NumPy's sum)."""
    jacobian = numerical_jacobian(rotates_a_list, (X,), 0)
    np.testing.assert_allclose(adjoint.jacrev(rotates_a_list)(X), jacobian, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacfwd(rotates_a_list)(X), jacobian, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.vmap(rotates_a_list)(np.stack([X, 2 * X]))[1], rotates_a_list(2 * X))


def lengths_of_a_list_made_twice(x):
    items = list(x)
    items.append(x[0] * 3.0)
    return np.array(items) * len(list(x))


def test_a_new_list_made_twice_is_two_lists():
    """``list(x)`` twice: two lists (the first was taken for the second, after
    an append changed it: len 5, not 4, a wrong number under every transform)."""
    jacobian = numerical_jacobian(lengths_of_a_list_made_twice, (X,), 0)
    np.testing.assert_allclose(adjoint.jacrev(lengths_of_a_list_made_twice)(X), jacobian, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacfwd(lengths_of_a_list_made_twice)(X), jacobian, rtol=1e-6, atol=1e-8)
