"""Findings of a hunt for wrong numbers in reading forward values back
(reuse_forward), the normalizer's sharing of equal expressions and vjp's
deferred backward pass (issues 9 and 11). References: the plain call,
autograd and central differences in float64."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from adjoint.errors import InPlaceChangeError

X = np.array([0.3, 0.7, 1.2])


def central(f, x, h=1e-6):
    columns = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)]
    return np.stack(columns, -1)


# ----- an array without derivative changed in place by a call


def power_after_copyto(x):
    y = np.ones(3) * 2.0
    k = y - 1  # the backward pass of x ** y must not read this for y - 1
    np.copyto(y, 3.0)
    return x ** y + k


def same_text_after_fill(x):
    y = np.ones(3) * 2.0
    k = x * (y - 1)
    y.fill(3.0)
    return x * (y - 1) + k  # y - 1 is computed again: not the first one


def test_values_changed_in_place_are_read_after_the_change():
    for f in (power_after_copyto, same_text_after_fill):
        want = central(f, X)
        assert np.allclose(adjoint.vjp(f, X)[0], f(X.copy()))
        assert np.allclose(adjoint.jacrev(f)(X), want, atol=1e-6)
        assert np.allclose(adjoint.jacfwd(f)(X), want, atol=1e-6)


def power_before_copyto(x):
    y = np.ones(3) * 2.0
    t = x ** y
    np.copyto(y, 3.0)
    return t * y


def test_a_change_in_place_after_a_differentiated_read_is_refused_in_reverse_mode():
    with pytest.raises(InPlaceChangeError, match=r"test_hunt12.py:\d+: np.copyto writing into 'y'"):
        adjoint.jacrev(power_before_copyto)(X)
    # forward mode computes the derivative where x ** y runs
    assert np.allclose(adjoint.jacfwd(power_before_copyto)(X), central(power_before_copyto, X), atol=1e-6)


# ----- vjp with has_aux: aux may be a residual of the backward pass


def cube_with_square_as_aux(x):
    t = x * x
    return np.sum(t * x * x), t


class Box:
    def __init__(self, value):
        self.value = value


def cube_with_square_in_an_object(x):
    t = x * x
    return np.sum(t * x * x), Box(t[1:])  # (a view of the residual t)


def test_changing_aux_before_calling_vjp_fn_changes_nothing():
    want = autograd.grad(lambda z: anp.sum(z ** 4))(X)
    _, vjp_fn, aux = adjoint.vjp(cube_with_square_as_aux, X, has_aux=True)
    aux[:] = 50.0
    assert np.allclose(vjp_fn(1.0)[0], want)
    _, vjp_fn, aux = adjoint.vjp(cube_with_square_in_an_object, X, has_aux=True)
    aux.value[:] = 50.0
    assert np.allclose(vjp_fn(1.0)[0], want)


def power_before_a_write_through_a_view(x):
    y = np.ones(3) * 2.0
    v = y[:2]
    t = x ** y
    np.copyto(v, 5.0)  # changes y too
    return t


def test_a_change_through_a_view_after_a_differentiated_read_is_refused():
    with pytest.raises(InPlaceChangeError, match=r"test_hunt12.py:\d+: np.copyto writing into 'y'"):
        adjoint.jacrev(power_before_a_write_through_a_view)(X)
