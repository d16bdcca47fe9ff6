"""Wrong numbers and crashes found by hunting compositions of transforms
(issue 8, eighth round; tools/fuzz_compose.py), as tests. Each test names
what failed before its fix. References are analytic or autograd's.
"""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

X = np.array([0.3, -0.5, 0.8, 1.1])


# ---------------------------------------------------------------- user rules at second order

def doubled(v):
    return np.sin(v) * v


def _doubled_slope(v):
    # twice the slope of the source: a derivative that follows the rule is told apart from one of the source
    return 2.0 * (np.cos(v) * v + np.sin(v))


adjoint.defvjp(doubled, lambda ans, v: lambda g: g * _doubled_slope(v))


def tripled(v):
    return np.sin(v) * v


def _tripled_slope(v):
    return 3.0 * (np.cos(v) * v + np.sin(v))


adjoint.defjvp(tripled, lambda ans, v: lambda t: t * _tripled_slope(v))
adjoint.defvjp(tripled, lambda ans, v: lambda g: g * _tripled_slope(v))


def _through_doubled(x):
    return np.sum(doubled(x) * np.cos(x[0]))


def _through_tripled(x):
    return np.sum(tripled(x) * np.cos(x[0]))


def _hessian_of_rule(x, factor):
    """The Hessian of sum(p(x)) cos(x0), p' = factor (cos v v + sin v), by hand."""
    slope = factor * (np.cos(x) * x + np.sin(x))
    curvature = factor * (2.0 * np.cos(x) - np.sin(x) * x)
    c, s = np.cos(x[0]), np.sin(x[0])
    h = np.diag(c * curvature)
    h[:, 0] -= s * slope
    h[0, :] -= s * slope
    h[0, 0] -= c * np.sum(np.sin(x) * x)
    return h


def test_second_derivatives_through_user_rules_follow_the_rules():
    # every second derivative through a defvjp rule stopped with "for loop over an iterator of
    # differentiated values" (reverse over rt.call_vjp) or "call of push: the function called here
    # was made from differentiated values" (forward over rt.call_jvp / rt.jvp_from_vjp): the maker
    # is now differentiated by its own source
    np.testing.assert_allclose(adjoint.hessian(_through_doubled)(X), _hessian_of_rule(X, 2.0),  # (rt.call_vjp)
                               rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(_through_tripled))(X),  # (rt.call_jvp)
                               _hessian_of_rule(X, 3.0), rtol=1e-12, atol=1e-13)


def closure_ruled(v):
    return np.sin(v) * v


def _register_with_a_closure(factor):
    adjoint.defvjp(closure_ruled, lambda ans, v: lambda g: g * factor * (np.cos(v) * v + np.sin(v)))


_register_with_a_closure(1.0)


def _through_closure_ruled(x):
    return np.sum(closure_ruled(x) ** 2)


def test_second_derivative_through_a_maker_that_is_a_closure_is_refused_at_the_users_line():
    with pytest.raises(adjoint.AdjointError, match=r"test_hunt8.py:\d+: the rule of closure_ruled .*is a closure"):
        adjoint.hessian(_through_closure_ruled)(X)


def scaled_sine(v, w, scale=1.0):
    return scale * np.sin(v) * w


_HALF = 0.5
adjoint.defvjp(scaled_sine, lambda ans, v, w, scale=1.0, half=_HALF: lambda g: g * scale * np.cos(v) * w * 2.0 * half,
               lambda ans, v, w, scale=1.0: lambda g: g * scale * np.sin(v), batched=True)
_HALF = 50.0  # re-bound: the maker holds its default, 0.5


def _through_scaled_sine(x):
    return np.sum(scaled_sine(x, x[::-1], scale=3.0) ** 2)


def test_second_derivative_through_a_batched_rule_of_two_arguments_and_a_keyword():
    # (forward mode over rt.jvp_from_vjp: a defvjp rule without a defjvp one). The copy of the maker
    # differentiated evaluated its default expressions again at first (half=_HALF read 50.0): wrong numbers
    want = autograd.hessian(lambda x: anp.sum((3.0 * anp.sin(x) * x[::-1]) ** 2))(X)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(_through_scaled_sine))(X), want, rtol=1e-12)


# ---------------------------------------------------------------- a rule of a function returning two values

def sine_and_cosine(v):
    return np.sin(v), np.cos(v) * v[0]


def _sine_and_cosine_vjp(ans, v):
    def pull_back(g):
        out = g[0] * np.cos(v) - g[1] * np.sin(v) * v[0]
        return out + np.concatenate([[np.sum(g[1] * np.cos(v))], np.zeros(v.size - 1)])
    return pull_back


adjoint.defvjp(sine_and_cosine, _sine_and_cosine_vjp)


def _through_two_results(x):
    s, c = sine_and_cosine(x)
    return s * c + x


def test_forward_mode_through_a_defvjp_rule_returning_two_values():
    # jacfwd and jvp crashed with "zip() argument 2 is longer than argument 1": rt.jvp_from_vjp
    # made one array of basis cotangents for a result that is a pair
    want = autograd.jacobian(lambda x: anp.sin(x) * anp.cos(x) * x[0] + x)(X)
    np.testing.assert_allclose(adjoint.jacfwd(_through_two_results)(X), want, rtol=1e-12)
    # its second derivative is refused with what to do, not a crash inside adjoint
    with pytest.raises(adjoint.AdjointError, match="several values is not supported yet"):
        adjoint.hessian(lambda x: np.sum(_through_two_results(x)))(X)


# ---------------------------------------------------------------- a derivative of jacfwd

def _pair(x, y):
    return np.sin(x), np.sum(y * y)


def test_derivatives_of_jacfwd_with_an_output_that_does_not_depend_on_the_argument():
    # vjp(jacfwd(f)), jacrev(jacfwd(f)) and jacfwd(jacfwd(f)) crashed with "'NoneType' object is not
    # subscriptable" in rt.jacobian_from_columns: the tangent of np.sum(y * y) along x is absent
    y = np.array([1.0, 2.0, 0.5, -1.0])
    jacobian = adjoint.jacfwd(_pair)
    value, pull_back = adjoint.vjp(jacobian, X, y)
    np.testing.assert_allclose(value[0], np.diag(np.cos(X)), rtol=1e-15)
    np.testing.assert_array_equal(value[1], np.zeros(4))
    gx, gy = pull_back((np.ones((4, 4)), np.ones(4)))
    np.testing.assert_allclose(gx, -np.sin(X), rtol=1e-15)
    np.testing.assert_array_equal(gy, np.zeros(4))
    second = adjoint.jacfwd(jacobian)(X, y)
    want = np.zeros((4, 4, 4))
    want[np.arange(4), np.arange(4), np.arange(4)] = -np.sin(X)
    np.testing.assert_allclose(second[0], want, rtol=1e-15)
    np.testing.assert_array_equal(second[1], np.zeros((4, 4)))


# ---------------------------------------------------------------- a derivative of a nested vmap

def _tanh_dot(x, y):
    return np.sum(np.tanh(x) * y)


def test_jacrev_of_a_nested_vmap():
    # jacrev(vmap(vmap(f))) stopped with "Import statement: this statement is not supported" and then
    # "generator expression of differentiated values" inside rt.vv_call, whose source is transformed
    # again; its source is now written in the subset adjoint differentiates
    xs = np.linspace(-1.0, 1.0, 24).reshape(2, 3, 4)
    y = np.array([0.5, -1.0, 2.0, 0.25])
    got = adjoint.jacrev(adjoint.vmap(adjoint.vmap(_tanh_dot, in_dims=(0, None)), in_dims=(0, None)))(xs, y)
    want = np.zeros((2, 3, 2, 3, 4))
    for i in range(2):
        for j in range(3):
            want[i, j, i, j] = (1.0 - np.tanh(xs[i, j]) ** 2) * y
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- a small callee not differentiated at second order

def _square(u):
    return u * u


def _rate(s, c):
    a, b = s[0], s[1]
    return np.array([a * b - c * np.sin(a), b / (1.5 + a * a) + _square(c) * 0.1])


def _stepped(x, y):
    state = np.array([y[0], x[1]])
    for _ in range(2):
        state = state + 0.1 * _rate(state, np.max(x))
    return np.sum(y * state[0] + x * state[1])


def _a_stepped(x, y):
    state = anp.array([y[0], x[1]])
    for _ in range(2):
        a, b, c = state[0], state[1], anp.max(x)
        state = state + 0.1 * anp.array([a * b - c * anp.sin(a), b / (1.5 + a * a) + c * c * 0.1])
    return anp.sum(y * state[0] + x * state[1])


def test_mixed_second_derivative_through_a_small_callee_whose_arguments_are_constant_there():
    # jacfwd(jacrev(f, argnums=0), argnums=1) crashed with "too many values to unpack (expected 1)":
    # _square(np.max(x)) does not depend on y, so the transformed code kept the call as it was, and it
    # ran the local-Jacobian stand-in (backend/local_calls.py), whose residuals the general backward
    # function of _square, differentiated along y, could not read
    y = np.array([0.2, 0.4, -0.6, 0.9])
    want = autograd.jacobian(autograd.grad(_a_stepped, 0), 1)(X, y)
    got = adjoint.jacfwd(adjoint.jacrev(_stepped, argnums=0), argnums=1)(X, y)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    # vmap of the first derivative, the callee's argument shared by the examples: the same stand-in
    ys = np.stack([y, y[::-1]])
    got = adjoint.vmap(adjoint.jacrev(_stepped, argnums=0), in_dims=(None, 0))(X, ys)
    np.testing.assert_allclose(got, np.stack([autograd.grad(_a_stepped, 0)(X, v) for v in ys]), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- vmap's out_dims None, in_dims of a nested vmap

def _scaled_and_total(x, y):
    return x * y, np.sum(y)


def test_vmap_out_dims_none_is_for_an_output_the_same_for_every_example():
    # out_dims None returned the first example's output even where the examples' outputs differed
    xs = np.arange(12.0).reshape(3, 4)
    y = np.array([1.0, 2.0, 3.0, 4.0])
    scaled, total = adjoint.vmap(_scaled_and_total, in_dims=(0, None), out_dims=(0, None))(xs, y)
    np.testing.assert_array_equal(scaled, xs * y)
    assert total == 10.0
    with pytest.raises(ValueError, match="out_dims None for an output that differs between the examples"):
        adjoint.vmap(_scaled_and_total, in_dims=(0, None), out_dims=None)(xs, y)
    with pytest.raises(ValueError, match="out_dims None for an output that differs between the examples"):
        adjoint.vmap(adjoint.vmap(_scaled_and_total, in_dims=(None, 0), out_dims=(0, None)),
                     in_dims=(0, None))(xs, np.stack([y, 2.0 * y]))
    # an inner in_dims past the example's dimensions: said so (it was numpy's AxisError from inside vmap)
    with pytest.raises(ValueError, match="in_dims=1 for argument 0 of the inner vmap"):
        adjoint.vmap(adjoint.vmap(_scaled_and_total, in_dims=(1, None)), in_dims=(0, None))(xs, y)
