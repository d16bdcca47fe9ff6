"""A name first bound inside a loop (no value before it) that an update in
a later iteration reads: the update is exact only if the value the previous
iteration left is this function's own. A view of another array there would
make NumPy change that array too, which the derivative would miss, so it is
refused at the user's line, as for a name bound before the loop.
References: central differences of the plain function."""
import inspect

import numpy as np
import pytest

import adjoint
from adjoint.errors import InPlaceChangeError

X = np.array([0.3, -0.7, 1.1])


def central(f, x, h=1e-6):
    columns = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        columns.append((f(x + e) - f(x - e)) / (2 * h))
    return np.stack(columns, -1)


def line_of(f, text):
    """The file line of ``f`` that holds ``text``."""
    lines, start = inspect.getsourcelines(f)
    return start + next(i for i, line in enumerate(lines) if text in line)


def issue_9(x):
    u = np.zeros(3)
    u[:] = x[:3]
    for i in range(2):
        if i == 1:
            v += x[1:3]  # v is u[1:] from the previous iteration: NumPy changes u too
        v = u[1:]
    return u * v.sum()


def while_view(x):
    u = np.zeros(3)
    u[:] = x
    i = 0
    while i < 2:
        if i == 1:
            v[0] = x[2] * 5.0  # an update through the view, by index
        v = u[1:]
        i += 1
    return u * v.sum()


def nested_view(x):
    u = np.zeros(3)
    u[:] = x
    for j in range(2):
        for i in range(2):
            if i + j > 0:
                v += x[1:3]
            v = u[1:]
    return u * v.sum()


def transpose_view(x):
    u = np.zeros((3, 3))
    u[:] = np.outer(x, x)
    for i in range(2):
        if i == 1:
            v *= 2.0
        v = u.T
    return u.sum(0) * v[0, 0]


def row_view(x):
    u = np.zeros((2, 3))
    u[0] = x
    u[1] = x * x
    for i in range(2):
        if i == 1:
            r -= x
        r = u[1]
    return u[1] * r.sum()


def item_of_a_dict(x):
    u = np.zeros(3)
    u[:] = x
    for i in range(2):
        if i == 1:
            d["a"] += x  # d["a"] is u: NumPy changes u too
        d = {"a": u}
    return u * 2.0


def array_then_list(x):
    u = np.zeros(3)
    u[:] = x
    d = np.zeros(3)  # an array before the loop, a list holding u in it
    for i in range(2):
        if i == 1:
            d[0] += x[0]
        d = [u]
    return u * 2.0


@pytest.mark.parametrize("f, text", [
    (issue_9, "v += x[1:3]"),
    (item_of_a_dict, 'd["a"] += x'),
    (array_then_list, "d[0] += x[0]"),
    (while_view, "v[0] = x[2] * 5.0"),
    (nested_view, "v += x[1:3]"),
    (transpose_view, "v *= 2.0"),
    (row_view, "r -= x"),
], ids=["issue9", "dict_item", "array_then_list", "while", "nested", "transpose", "row"])
def test_update_of_a_view_left_by_the_previous_iteration_is_refused_at_its_line(f, text):
    # (the plain function runs: the update is a real in-place change of u)
    f(X)
    with pytest.raises(InPlaceChangeError) as info:
        adjoint.jacrev(f)(X)
    assert info.value.location.lineno == line_of(f, text)
    assert "in a later iteration" in str(info.value)


def test_issue_9_refused_as_with_none_before_the_loop():
    def with_none(x):
        u = np.zeros(3)
        u[:] = x[:3]
        v = None
        for i in range(2):
            if i == 1:
                v += x[1:3]
            v = u[1:]
        return u * v.sum()

    with pytest.raises(InPlaceChangeError) as unbound:
        adjoint.jacrev(issue_9)(X)
    with pytest.raises(InPlaceChangeError) as bound:
        adjoint.jacrev(with_none)(X)
    assert unbound.value.reason == bound.value.reason


def copied(x):
    u = np.zeros(3)
    u[:] = x[:3]
    for i in range(2):
        if i == 1:
            v += x[1:3]
        v = u[1:].copy()  # the fix the message proposes
    return u * v.sum()


def plain_carried(x):
    for i in range(3):
        if i > 0:
            s += x * s[0]  # a new array of the previous iteration's: its own
            s[1] = s[2] * x[0]
        s = x * (i + 1.0) + s[1] if i > 0 else x * 2.0
    return s * s[0]


def bound_in_a_branch(x):
    for i in range(3):
        if i == 2:
            s[0] = s[0] * x[1]  # s from the iteration before, made there
        if i == 1:
            s = x * 2.0
    return s


def own_dict_item(x):
    for i in range(3):
        if i > 0:
            d["a"] += x * d["a"][1]  # an array only the dict holds
        d = {"a": x * (i + 1.0)}
    return d["a"] * 2.0


@pytest.mark.parametrize("f", [copied, plain_carried, bound_in_a_branch, own_dict_item])
def test_loop_carried_values_of_their_own_are_still_updated_exactly(f):
    value, _ = adjoint.vjp(f, X)
    np.testing.assert_allclose(value, f(X), rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacrev(f)(X), central(f, X), atol=1e-6)
