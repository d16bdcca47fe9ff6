"""In-place updates through a view held in a name (normalize_views), and
joins/splits under jacrev(vmap(f)) / jacfwd(vmap(f)). References: NumPy's
own forward values and central differences of the plain function."""
import numpy as np
import pytest

import adjoint
from adjoint.errors import UnsupportedSyntaxError

X = np.array([0.3, -0.7, 1.1, 0.5, 0.9, -0.2])


def central(f, x, h=1e-6):
    columns = []
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        columns.append((f(x + e) - f(x - e)) / (2 * h))
    return np.stack(columns, -1).reshape(np.shape(f(x)) + x.shape)


def check(f, transform=adjoint.jacrev, x=X):
    """NumPy's values, and the Jacobian against central differences."""
    value, _ = adjoint.vjp(f, x)
    np.testing.assert_allclose(value, f(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(transform(f)(x), central(f, x), atol=1e-6)


def stencil(x):
    u = np.zeros(6)
    u[:] = x
    interior = u[1:-1]
    for _ in range(2):
        interior += 0.1 * (u[:-2] - 2.0 * interior + u[2:]) * u[1:-1]
        u[0] = u[0] * 0.5  # an update of the base: the view sees it
    return u * interior.sum()


def transposes(x):
    A = np.outer(x[:2], x[1:4])
    A.T[0] = x[:2] ** 2
    B = A.T
    B[1] *= x[0]
    B += 1.0
    return A


def rows_numbers_and_chains(x):
    y = np.outer(x[:3], x[:3])
    row = y[0]  # a view: y is 2-d
    row *= 2.0
    z = x * 3.0
    first = z[0]  # a number: z is 1-d, NumPy leaves z alone
    first *= 2.0
    a = b = np.zeros(3)  # two names, one array
    a[0] = x[0] ** 2
    b[1] = x[1]
    u = np.zeros((3, 3))
    r = u[1:]
    s = r[0]  # a view of a view
    s += x[:3]
    r[1, 2] = x[1] * 5.0
    return np.concatenate([y.ravel(), z * first, b * x[:3] + a, u.ravel()])


def overlapping_views(x):
    u = np.zeros(4)
    u[:] = x[:4]
    a = u[0:3]
    b = u[1:4]  # overlaps a: an update through a changes b
    c = u[None, ::-1]
    a *= x[4]
    c += x[5]
    b[0] = b[1] * a[2]
    u += 1.0
    return np.concatenate([u, a, b, c.ravel()])


def test_updates_through_named_views_match_numpy():
    check(stencil)
    check(overlapping_views, adjoint.jacfwd)
    check(transposes, adjoint.jacfwd)
    check(rows_numbers_and_chains)


def test_named_views_under_vmap():
    xs = np.stack([X, X[::-1] * 0.8])
    looped = lambda z: np.stack([stencil(row) for row in z])  # noqa: E731
    np.testing.assert_allclose(adjoint.vmap(stencil)(xs), looped(xs), rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacrev(adjoint.vmap(stencil))(xs), central(looped, xs), atol=1e-6)


def view_kept_in_a_list(x):
    u = np.zeros((2, 3))
    v = u[0]
    items = [v]
    u[0, 1] = x[0]
    return items[0] * x[:3]


def view_of_an_argument(x):
    v = x[1:]
    v += 1.0
    return x


@pytest.mark.parametrize("f, line", [(view_kept_in_a_list, "u[0, 1] = x[0]"), (view_of_an_argument, "v += 1.0")])
def test_views_that_cannot_be_followed_are_refused_at_the_users_line(f, line):
    with pytest.raises(UnsupportedSyntaxError) as info:
        adjoint.jacrev(f)(X)
    assert "test_named_views.py" in str(info.value) and line in str(info.value)


def joins_and_splits(x):
    return np.vstack([[0.0, 1.0, 2.0], x * x, x[0] * x]).ravel() * np.split(x, 3)[1]


def test_joins_and_splits_under_jacobians_of_vmap():
    # np.vstack with a list of numbers among its items, refused inside
    # runtime/batched_shape.py before: now joined like the other items.
    xs = np.array([[0.3, -0.7, 1.1], [0.5, 0.9, -0.2]])
    looped = lambda z: np.stack([joins_and_splits(row) for row in z])  # noqa: E731
    reference = central(looped, xs)
    np.testing.assert_allclose(adjoint.jacrev(adjoint.vmap(joins_and_splits))(xs), reference, atol=1e-6)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.vmap(joins_and_splits))(xs), reference, atol=1e-6)
