"""Programs the fuzzers found (session fuzz14), minimized, against autograd."""
import collections

import autograd
import autograd.numpy as anp
import numpy as np

import adjoint


def rolled(x):
    t = x.tolist()
    return np.sum(np.array(t[1:] + t[:1]) * x ** 2)


def rolled_ref(x):
    return anp.sum(anp.concatenate([x[1:], x[:1]]) * x ** 2)


def test_second_derivative_of_joined_slices_of_tolist():
    # the join of two slices of x.tolist() was read as NumPy's sum in the code that
    # differentiates the first derivative again (hessian crashed: shapes (4,3) and (4,4))
    x = np.array([0.3, -0.2, 0.5, 0.7])
    want = autograd.hessian(rolled_ref)(x)
    np.testing.assert_allclose(adjoint.hessian(rolled)(x), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(rolled))(x), want, rtol=1e-12, atol=1e-12)


def masked(x, y):
    # the unused branch's infinite slope at 0 makes the tangent a marked array (MaskedBar)
    return x + np.array(y.tolist()) * np.where(y > 5.0, np.sqrt(y * 0.0), x)


def test_jacfwd_of_two_arguments_with_a_marked_tangent():
    # jacfwd with argnums=(0, 1) split a marked tangent whose mask kept the untransposed
    # shape (crashed: 'operands could not be broadcast', (8,4) and (4,4))
    x, y = np.array([0.3, -0.2, 0.5, 0.7]), np.array([0.1, 0.4, -0.6, 0.2])
    jx, jy = adjoint.jacfwd(masked, argnums=(0, 1))(x, y)
    assert type(jx) is np.ndarray and type(jy) is np.ndarray
    np.testing.assert_allclose(jx, np.diag(1.0 + y), rtol=1e-12, atol=1e-12)  # by hand: x + y * x
    np.testing.assert_allclose(jy, np.diag(x), rtol=1e-12, atol=1e-12)


def grow(items, v):
    items.append(v * 2.0)
    return items


def ends(items):
    return items[0] * items[-1] + items[1]


def through_helpers(x, y):
    items = [y, np.sin(y)]
    grow(items, y)  # a call whose result is not kept
    out = x * ends(items)
    return np.sum(out * np.cos(out))


def through_helpers_ref(x, y):
    out = x * (y * (2.0 * y) + anp.sin(y))
    return anp.sum(out * anp.cos(out))


def test_vmap_hessian_with_a_call_statement_of_a_list_helper():
    # vmap's container scan read the target of a call statement without one (IndexError)
    X, y = np.array([[0.3, -0.2], [0.5, 0.7]]), np.array([0.1, 0.6])
    got = adjoint.vmap(adjoint.hessian(through_helpers), in_dims=(0, None))(X, y)
    for b in range(2):
        np.testing.assert_allclose(got[b], autograd.hessian(through_helpers_ref)(X[b], y), rtol=1e-10, atol=1e-12)


State = collections.namedtuple("State", "a b")


def replaced(x):
    p = State(x, x * 2.0)
    p = p._replace(b=np.sin(p.a) + p.b)
    return np.sum(p.a * p.b)


def replaced_ref(x):
    return anp.sum(x * (anp.sin(x) + x * 2.0))


def test_vmap_hessian_of_namedtuple_replace():
    # vmap's merge of a namedtuple's cotangent tangents made it a plain tuple, whose field
    # 'b' _replace's adjoint could not find (TypeError: tuple has no field 'b' to replace)
    X = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]])
    got = adjoint.vmap(adjoint.hessian(replaced))(X)
    for b in range(2):
        np.testing.assert_allclose(got[b], autograd.hessian(replaced_ref)(X[b]), rtol=1e-12, atol=1e-12)
