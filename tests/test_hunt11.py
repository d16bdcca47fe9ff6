"""Findings of a hunt for wrong numbers in views, in-place updates and
running extrema (issue 9). References: NumPy's own values of the plain
function (per example for vmap) and central differences in float64."""
import warnings

import numpy as np
import pytest

import adjoint
from adjoint.errors import UnsupportedSyntaxError

X = np.array([0.3, -0.7, 1.1, 0.5, 0.9, -0.2])
XS = np.stack([X, 0.9 * X + 0.05])


def central(f, x, h=1e-6):
    columns = []
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        columns.append((f(x + e) - f(x - e)) / (2 * h))
    return np.stack(columns, -1).reshape(np.shape(f(x)) + x.shape)


# ----- vmap: a batched write into a view or another name of an array


def copyto_into_slice(x):
    u = np.zeros(6)
    np.copyto(u[1:4], x[:3] ** 2)
    return u


def add_at_into_view(x):
    u = np.zeros(6)
    v = u[1:]
    np.add.at(v, [0, 0, 2], x[:3])
    return u


def out_into_strided_view(x):
    u = np.zeros(6)
    v = u[::2]
    np.multiply(x[:3], x[3:], out=v)
    return u


def copyto_through_another_name(x):
    u = np.zeros(6)
    w = u
    np.copyto(w, x * 2.0)
    return u


@pytest.mark.parametrize("f", [copyto_into_slice, add_at_into_view, out_into_strided_view,
                               copyto_through_another_name])
def test_vmap_writes_reach_the_array_the_view_shares(f):
    # (the per-example copy took the write, and the base kept its zeros)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (a view: the function runs once per example)
        got = adjoint.vmap(f)(XS.copy())
    np.testing.assert_allclose(got, np.stack([f(row.copy()) for row in XS]), atol=1e-14)


# ----- an update through a view in a tuple or multiple-target assignment


def swap_rows_through_views(x):
    A = np.zeros((2, 3))
    A += x.reshape(2, 3)
    a = A[0]
    b = A[1]
    a[:], b[:] = b * 1.0, a * 1.0
    return A


def base_stored_in_a_tuple(x):
    u = np.zeros(6)
    u += x
    v = u[:3]
    u[0], w = x[1] * 4.0, 2.0
    v *= w
    return u + np.concatenate([v, v])


def chained_items_of_a_view(x):
    u = np.zeros(6)
    u += x
    v = u[:3]
    v[0] = v[1] = x[5] * 2.0
    return u


@pytest.mark.parametrize("f, line", [(swap_rows_through_views, "a[:], b[:] = b * 1.0, a * 1.0"),
                                     (base_stored_in_a_tuple, "u[0], w = x[1] * 4.0, 2.0"),
                                     (chained_items_of_a_view, "v[0] = v[1] = x[5] * 2.0")])
def test_tuple_stores_through_views_are_refused_at_the_line(f, line):
    # (the write never reached the other name: wrong values under every transform)
    with pytest.raises(UnsupportedSyntaxError, match="test_hunt11.py") as info:
        adjoint.jacrev(f)(X.copy())
    assert line in str(info.value)


# ----- loop-carried names bound later in the body


def later_in_the_body(x):
    w = x * 0.0
    for i in range(2):
        if i == 1:
            w = v * 2.0 + w
        v = x * x[i]
    return w


def read_on_the_first_iteration(x):
    w = x * 0.0
    for i in range(2):
        w = v * 2.0
        if i == 0:
            v = x * x[i]
    return w


def view_from_the_iteration_before(x):
    u = np.zeros(6)
    u += x
    for i in range(2):
        if i:
            v *= 2.0
        v = u[1:3]
    return u


def test_a_name_bound_later_in_the_loop_comes_from_the_iteration_before():
    x = X[:3].copy()
    expected = central(later_in_the_body, x)
    np.testing.assert_allclose(adjoint.jacrev(later_in_the_body)(x), expected, atol=1e-7)
    value, tangent = adjoint.jvp(later_in_the_body, (x,), (np.ones(3),))
    np.testing.assert_allclose(value, later_in_the_body(x), rtol=1e-14)
    np.testing.assert_allclose(tangent, expected.sum(-1), atol=1e-7)
    with pytest.raises(UnboundLocalError):
        read_on_the_first_iteration(x)
    with pytest.raises(UnboundLocalError, match=r"test_hunt11.py:\d+: local variable 'v' is read before"):
        adjoint.jacrev(read_on_the_first_iteration)(x)
    # a view of u carried so: the update changes u (refused at the line, never a wrong number)
    with pytest.raises(UnsupportedSyntaxError, match=r"test_hunt11.py:\d+: augmented assignment of 'v'"):
        adjoint.jacrev(view_from_the_iteration_before)(X.copy())


# ----- running extrema of a list, and axis=None


def running_max_of_a_list(x):
    return np.maximum.accumulate([x[0], x[2], x[1], x[3]]) * x[:4]


def running_min_whole(x):
    return np.minimum.accumulate(x, axis=None) ** 2


def test_running_extrema_of_a_list_and_of_axis_none():
    for f in (running_max_of_a_list, running_min_whole):
        np.testing.assert_allclose(adjoint.jacrev(f)(X.copy()), central(f, X), atol=1e-7)
    got = adjoint.vmap(running_max_of_a_list)(XS.copy())
    np.testing.assert_allclose(got, np.stack([running_max_of_a_list(row) for row in XS]), atol=1e-14)


# ----- np.add.at and np.fill_diagonal in a loop: the next iteration reads the updated array


def add_at_in_a_loop(x):
    u = np.zeros(6)
    for i in range(3):
        np.add.at(u, [i, i + 1, i], x[i:i + 3] * u[i + 1])
        np.add.at(u, [5], x[i])
    return u * x


def fill_diagonal_in_a_loop(x):
    A = np.zeros((3, 3))
    A += np.outer(x[:3], x[3:])
    for i in range(2):
        np.fill_diagonal(A, A[0] * x[i])
    return A


def test_updates_by_calls_in_a_loop_are_carried_to_the_next_iteration():
    # (each iteration updated the array as it was before the loop: wrong values under every transform)
    for f in (add_at_in_a_loop, fill_diagonal_in_a_loop):
        value, _ = adjoint.vjp(f, X.copy())
        np.testing.assert_allclose(value, f(X.copy()), rtol=1e-14)
        np.testing.assert_allclose(adjoint.jacrev(f)(X.copy()), central(f, X), atol=1e-7)
    got = adjoint.vmap(add_at_in_a_loop)(XS.copy())
    np.testing.assert_allclose(got, np.stack([add_at_in_a_loop(row.copy()) for row in XS]), rtol=1e-14)


# ----- vmap of a call of the user's function that changes its argument in place


def _add_into(a, v):
    np.add.at(a, [0, 2], v)


def _write_out(a, v):
    np.multiply(v, 2.0, out=a)


def _push(items, v):
    items.append(v)


def adds_through_a_helper(x):
    u = np.zeros(6)
    for i in range(2):
        _add_into(u, x[i] * u[0] + 1.0)
    _write_out(u[3:], x[:3])
    return u * x


def pushes_through_a_helper(x):
    items = [x * 1.0]
    _push(items, x * 2.0)
    return items[-1] * items[0]


def test_vmap_of_helpers_that_change_their_argument():
    # (each example wrote into one array shared by the batch, or into its own new list: lost)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (the function runs once per example)
        for f in (adds_through_a_helper, pushes_through_a_helper):
            got = adjoint.vmap(f)(XS.copy())
            np.testing.assert_allclose(got, np.stack([f(row.copy()) for row in XS]), rtol=1e-14)
