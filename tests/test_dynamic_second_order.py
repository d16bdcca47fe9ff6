"""Derivatives of derivatives through calls whose callee is known only when
the code runs (a function from a dict or list of the module, a function or
object passed in, ``fn(*args)``, ``fn(**params)``): forward mode over the
first derivative transforms the callee it meets when it runs
(runtime/dynamic_tangents.py). References: autograd running the same
program (its twin below, written over autograd.numpy)."""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np

import adjoint
from adjoint import runtime as rt

X = np.array([0.3, -0.5, 0.7])

ACTS = {"act": np.tanh}
ACTS_AG = {"act": anp.tanh}


def squashed(x):  # the example: a function read from a dict of the module
    return np.sum(ACTS["act"](x) ** 2)


def squashed_ag(x):
    return anp.sum(ACTS_AG["act"](x) ** 2)


def wiggle(v):
    return np.sin(v) * v


def wiggle_ag(v):
    return anp.sin(v) * v


def pair(a, b):
    return np.cos(a) * b ** 2


def pair_ag(a, b):
    return anp.cos(a) * b ** 2


class Layer:
    def __init__(self, w):
        self.w = w

    def apply(self, x):
        return np.tanh(self.w * x) * x


class LayerAG(Layer):
    def apply(self, x):
        return anp.tanh(self.w * x) * x


def config_driven(x, acts, layer, fn, params):
    """A list of functions indexed in a loop, a method of an object passed
    in, fn(*args) and fn(**params) of values made elsewhere."""
    total = 0.0
    for i in range(3):
        total = total + np.sum(acts[i % 2](x) * x)
    args = (x, layer.apply(x))
    return total + np.sum(fn(*args)) + np.sum(fn(x, **params))


def config_driven_ag(x, acts, layer, fn, params):
    total = 0.0
    for i in range(3):
        total = total + anp.sum(acts[i % 2](x) * x)
    args = (x, layer.apply(x))
    return total + anp.sum(fn(*args)) + anp.sum(fn(x, **params))


def test_every_second_order_through_a_function_read_from_a_dict():
    expected = autograd.hessian(squashed_ag)(X)
    # (forward mode over reverse-mode code: function_forward, call_backward; over forward-mode code: starred_jvp)
    for second in (adjoint.hessian, lambda f: adjoint.jacrev(adjoint.jacfwd(f))):
        np.testing.assert_allclose(second(squashed)(X), expected, rtol=1e-12, atol=1e-14)


def test_hessian_of_config_driven_code_with_functions_and_objects_passed_in():
    hessian = adjoint.hessian(config_driven)
    params = {"b": np.array([0.5, 2.0, -1.0])}
    got = hessian(X, [np.sin, wiggle], Layer(0.8), pair, params)
    expected = autograd.hessian(config_driven_ag)(X, [anp.sin, wiggle_ag], LayerAG(0.8), pair_ag, params)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)
    # the functions written for the calls are made once per callee and layout
    made = sum(len(v) for v in rt.dynamic_tangents._WRITTEN.values())
    other = hessian(X + 0.25, [np.sin, wiggle], Layer(0.8), pair, params)
    assert sum(len(v) for v in rt.dynamic_tangents._WRITTEN.values()) == made
    expected = autograd.hessian(config_driven_ag)(X + 0.25, [anp.sin, wiggle_ag], LayerAG(0.8), pair_ag, params)
    np.testing.assert_allclose(other, expected, rtol=1e-12, atol=1e-13)


def through_a_function_passed_in(x, act):
    return np.sum(act(x) ** 2)


def through_a_function_passed_in_ag(x, act):
    return anp.sum(act(x) ** 2)


def test_third_order_and_vmap_of_a_derivative_through_a_function_passed_in():
    third = adjoint.jacfwd(adjoint.hessian(through_a_function_passed_in))(X, wiggle)
    expected = autograd.jacobian(autograd.hessian(through_a_function_passed_in_ag))(X, wiggle_ag)
    np.testing.assert_allclose(third, expected, rtol=1e-11, atol=1e-12)
    xs = np.stack([X, -2 * X])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (the dynamic call runs once per example)
        hessians = adjoint.vmap(adjoint.hessian(through_a_function_passed_in), in_dims=(0, None))(xs, wiggle)
    expected = [autograd.hessian(through_a_function_passed_in_ag)(x, wiggle_ag) for x in xs]
    np.testing.assert_allclose(hessians, expected, rtol=1e-12, atol=1e-13)
