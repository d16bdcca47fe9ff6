"""Real programs, the remaining items of the issue on the Python people
actually write: scipy.linalg.cho_factor / cho_solve (a factor passed on as a
pair), np.gradient (its spacings are ``*varargs``), ...

Every derivative here is checked against an independent reference: central
finite differences of the plain function, the adjoint identity
``<u, J v>`` computed by forward mode against ``<J^T u, v>`` by reverse mode,
or autograd where it has the function."""
import functools

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

scipy = pytest.importorskip("scipy", reason="SciPy is not installed (pip install adjoint[scipy])")
from scipy import linalg  # noqa: E402

RNG = np.random.default_rng(20261207)
_M = RNG.normal(size=(4, 4))
SPD = _M @ _M.T + 4.0 * np.eye(4)
B_VECTOR = RNG.normal(size=4)
B_COLUMNS = RNG.normal(size=(4, 2))


def numerical_jacobian(f, x, step=1e-6):
    x = np.asarray(x, dtype=float)
    out = np.asarray(f(x))
    jac = np.zeros(out.shape + x.shape)
    for index in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[index] = step
        jac[(...,) + index] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * step)
    return jac


def numerical_hessian(f, x, step=1e-4):
    """Second differences of the plain function (no derivative code)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    flat = x.ravel()
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.zeros(n), np.zeros(n)
            ei[i], ej[j] = step, step

            def at(v):
                return f(v.reshape(x.shape))

            h[i, j] = (at(flat + ei + ej) - at(flat + ei - ej) - at(flat - ei + ej) + at(flat - ei - ej)) / (
                4 * step * step)
    return h.reshape(x.shape + x.shape)


def check_adjoint_identity(f, x):
    """``<u, jvp(v)> == <vjp(u), v>`` for random directions (forward mode
    against reverse mode, each computed by its own transform)."""
    v = RNG.normal(size=np.shape(x))
    out, tangent = adjoint.jvp(f, (x,), (v,))
    u = RNG.normal(size=np.shape(out))
    _, pullback = adjoint.vjp(f, x)
    (cotangent,) = pullback(u)
    np.testing.assert_allclose(np.sum(u * tangent), np.sum(cotangent * v), rtol=1e-10, atol=1e-12)


def check_both_modes(f, x, rtol=1e-6, atol=1e-8):
    reference = numerical_jacobian(f, x)
    np.testing.assert_allclose(adjoint.jacrev(f)(x), reference, rtol=rtol, atol=atol)
    np.testing.assert_allclose(adjoint.jacfwd(f)(x), reference, rtol=rtol, atol=atol)
    check_adjoint_identity(f, x)


# ---------------------------------------------------------------- cho_factor, cho_solve


def solve_with_factor_pair(a):
    c, lower = linalg.cho_factor(a)
    return linalg.cho_solve((c, lower), B_VECTOR)


def solve_with_factor_passed_on(a):
    factor = linalg.cho_factor(a, lower=True)
    return linalg.cho_solve(factor, B_COLUMNS)


def solve_for_right_hand_side(b):
    return linalg.cho_solve(linalg.cho_factor(SPD), b, check_finite=False)


def factor_itself(a):
    c, _ = linalg.cho_factor(a)
    return c


def factor_itself_lower(a):
    c, _ = linalg.cho_factor(a, lower=True)
    return c


def gaussian_log_likelihood(a):
    # a Gaussian process's marginal likelihood, as it is written with SciPy
    factor = linalg.cho_factor(a + a.T + 8.0 * np.eye(4), lower=True)
    alpha = linalg.cho_solve(factor, B_VECTOR)
    return -0.5 * B_VECTOR @ alpha - np.sum(np.log(np.diag(factor[0])))


@pytest.mark.parametrize("f", [solve_with_factor_pair, solve_with_factor_passed_on, factor_itself,
                               factor_itself_lower, gaussian_log_likelihood])
def test_cho_factor_and_cho_solve_match_finite_differences(f):
    check_both_modes(f, SPD)


def test_cho_solve_right_hand_side_matches_finite_differences():
    check_both_modes(solve_for_right_hand_side, B_VECTOR)


def test_cho_factor_other_triangle_follows_scipy():
    # SciPy before 1.18 leaves a's entries in the triangle the factor does not
    # use (slope 1 there); SciPy 1.18 clears them (slope 0).
    assert SPD[2, 0] != 0
    copied = linalg.cho_factor(SPD)[0][2, 0] == SPD[2, 0]
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        jac = transform(factor_itself)(SPD)
        assert jac[2, 0, 2, 0] == (1.0 if copied else 0.0) and jac[2, 0, 0, 2] == 0.0


def test_cho_solve_second_derivative_matches_second_differences():
    a0 = SPD[:3, :3]

    def loss(a):
        factor = linalg.cho_factor(a + a.T, lower=True)
        return np.sum(linalg.cho_solve(factor, B_VECTOR[:3]) ** 2)

    reference = numerical_hessian(loss, a0)
    np.testing.assert_allclose(adjoint.hessian(loss)(a0), reference, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(loss))(a0), reference, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- np.gradient

COORDINATES = np.cumsum(RNG.uniform(0.5, 1.5, size=6))


def gradient_default(x):
    return np.gradient(x)


def gradient_spacing_second_order_edges(x):
    return np.gradient(x, 0.3, edge_order=2)


def gradient_coordinates(x):
    return np.gradient(x, COORDINATES)


def gradient_along_axis(x):
    return np.gradient(x, axis=-1, edge_order=2)


def gradient_both_axes_unpacked(x):
    gy, gx = np.gradient(x, 0.5, 2.0)
    return gy * gx


def gradient_spacings_unpacked(x):
    spacings = (0.5, 2.0)
    return np.sum(np.gradient(x, *spacings, edge_order=2)[1] ** 2)


@pytest.mark.parametrize("f, shape", [
    (gradient_default, (6,)), (gradient_spacing_second_order_edges, (6,)), (gradient_coordinates, (6,)),
    (gradient_along_axis, (3, 5)), (gradient_both_axes_unpacked, (3, 4)), (gradient_spacings_unpacked, (3, 4)),
])
def test_gradient_matches_finite_differences(f, shape):
    check_both_modes(f, RNG.normal(size=shape))


def test_gradient_matches_autograd_where_autograd_has_it():
    x = RNG.normal(size=(3, 4))
    expected = autograd.jacobian(lambda v: anp.gradient(v, axis=1))(x)
    np.testing.assert_allclose(adjoint.jacrev(lambda v: np.gradient(v, axis=1))(x), expected, rtol=1e-12)


def test_gradient_spacings_from_an_argument_tuple():
    def f(x, h):
        return np.gradient(x, *h)

    x = RNG.normal(size=(3, 4))
    reference = numerical_jacobian(lambda v: f(v, (0.5, 2.0))[0], x)
    np.testing.assert_allclose(adjoint.jacrev(lambda v: f(v, (0.5, 2.0))[0])(x), reference, rtol=1e-6, atol=1e-8)


def test_gradient_second_derivative_matches_second_differences():
    x = RNG.normal(size=(3, 4))
    reference = numerical_hessian(gradient_spacings_unpacked, x, step=1e-3)
    np.testing.assert_allclose(adjoint.hessian(gradient_spacings_unpacked)(x), reference, rtol=1e-5, atol=1e-6)


def test_gradient_under_vmap_matches_each_example():
    xs = RNG.normal(size=(2, 3, 4))
    batched = adjoint.vmap(gradient_both_axes_unpacked)(xs)
    np.testing.assert_array_equal(batched, np.stack([gradient_both_axes_unpacked(x) for x in xs]))


def gradient_over_differentiated_coordinates(x, coordinates):
    return np.gradient(x, coordinates)


def test_gradient_with_differentiated_coordinates_is_refused_at_the_line():
    with pytest.raises(adjoint.errors.NoRuleError, match=r"np\.gradient.*'varargs'") as info:
        adjoint.jacrev(gradient_over_differentiated_coordinates, argnums=1)(RNG.normal(size=6), COORDINATES)
    assert "test_real_programs_more.py" in str(info.value)


# ---------------------------------------------------------------- functions made here, passed on


def scaled_sine(a, b):
    return a * np.sin(b)


def apply(g, y):
    return g(y)


def apply_to_each(g, items):
    total = 0.0
    for item in items:
        total = total + g(item)
    return total


def compose_twice(g, y):
    return g(g(y))


def keep(g):
    return g


def partial_passed_on(x, y):
    g = functools.partial(scaled_sine, x)
    return apply(g, y)


def partial_by_keyword_passed_on(x, y):
    g = functools.partial(scaled_sine, b=x)
    return apply(g, y)


def partial_written_in_the_call(x, y):
    return apply_to_each(functools.partial(scaled_sine, x), [y, 2.0 * y])


def lambda_passed_on(x, y):
    return apply(lambda t: t * x, y)


def nested_function_passed_on(x, y):
    def layer(t):
        return np.tanh(t * x)

    return compose_twice(layer, y)


def partial_of_a_nested_function_passed_on(x, y):
    def inner(a, t):
        return a * t

    return compose_twice(functools.partial(inner, x), y)


def partial_mapped(x, y):
    f = functools.partial(scaled_sine, x)
    return sum(map(f, [y, y * y]))


def lambda_mapped(x, xs):
    f = lambda t: t * x  # noqa: E731 (the issue's example)
    return sum(map(f, xs))


PASSED_ON = [partial_passed_on, partial_by_keyword_passed_on, partial_written_in_the_call, lambda_passed_on,
             nested_function_passed_on, partial_of_a_nested_function_passed_on, partial_mapped]


def numerical_jacobian_of(f, args, argnum, step=1e-6):
    return numerical_jacobian(lambda v: f(*args[:argnum], v, *args[argnum + 1:]), args[argnum], step)


@pytest.mark.parametrize("f", PASSED_ON, ids=lambda f: f.__name__)
def test_functions_made_here_and_passed_on_differentiate(f):
    args = (np.array([0.3, 0.7]), np.array([1.1, -0.4]))
    for argnum in (0, 1):
        reference = numerical_jacobian_of(f, args, argnum)
        np.testing.assert_allclose(adjoint.jacrev(f, argnums=argnum)(*args), reference, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(adjoint.jacfwd(f, argnums=argnum)(*args), reference, rtol=1e-6, atol=1e-8)


def test_lambda_mapped_over_a_list_differentiates():
    x, xs = np.array([0.3, 0.7]), [np.array([1.1, -0.4]), np.array([0.2, 0.5])]
    np.testing.assert_allclose(adjoint.jacrev(lambda_mapped)(x, xs), np.diag(xs[0] + xs[1]), rtol=1e-12)


def test_second_derivative_through_a_partial_passed_on():
    x, y = np.array([0.3, 0.7]), np.array([1.1, -0.4])

    def loss(v):
        return np.sum(partial_written_in_the_call(v, y) ** 2)

    reference = numerical_hessian(loss, x)
    np.testing.assert_allclose(adjoint.hessian(loss)(x), reference, rtol=1e-5, atol=1e-6)


def test_capturing_lambda_passed_on_of_the_errors_tests_differentiates():
    from test_errors import with_capturing_lambda_passed_on

    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(adjoint.jacrev(with_capturing_lambda_passed_on)(x),
                               numerical_jacobian(with_capturing_lambda_passed_on, x), rtol=1e-6, atol=1e-8)


def partial_stored_by_the_callee(x, y):
    g = functools.partial(scaled_sine, x)
    k = keep(g)
    return k(y)


def test_a_function_passed_on_and_returned_is_refused_where_it_is_returned():
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="nested function 'g' used as a value") as info:
        adjoint.jacrev(partial_stored_by_the_callee)(np.array([0.3]), np.array([1.1]))
    assert "return g" in str(info.value)


# ---------------------------------------------------------------- derivatives of callable objects, again


class TanhLayer:
    def __init__(self, weights):
        self.weights = weights

    def __call__(self, x):
        return np.tanh(self.weights @ x)

    def scaled(self, x, scale=1.0):
        return np.tanh(scale * (self.weights @ x))


def tanh_layer(weights, x, scale=1.0):
    return np.tanh(scale * (weights @ x))


LAYER_WEIGHTS = np.array([[0.5, -0.3], [0.2, 0.8], [0.1, 0.4]])
LAYER_INPUT = np.array([0.3, -0.7])


def layer_second_derivative(scale):
    """d2 tanh(s W x)_i / dx_j dx_k = -2 t_i (1 - t_i^2) s^2 W_ij W_ik, t = tanh(s W x)."""
    t = np.tanh(scale * LAYER_WEIGHTS @ LAYER_INPUT)
    return ((-2.0 * t * (1.0 - t ** 2) * scale ** 2)[:, None, None]
            * LAYER_WEIGHTS[:, :, None] * LAYER_WEIGHTS[:, None, :])


SECOND_ORDER = {
    "hessian": adjoint.hessian,
    "jacrev(jacrev)": lambda f: adjoint.jacrev(adjoint.jacrev(f)),
    "jacrev(jacfwd)": lambda f: adjoint.jacrev(adjoint.jacfwd(f)),
    "jacfwd(jacfwd)": lambda f: adjoint.jacfwd(adjoint.jacfwd(f)),
    "jacfwd(jacrev)": lambda f: adjoint.jacfwd(adjoint.jacrev(f)),
}


@pytest.mark.parametrize("order", list(SECOND_ORDER))
@pytest.mark.parametrize("make, scale", [
    (lambda: TanhLayer(LAYER_WEIGHTS), 1.0),
    (lambda: TanhLayer(LAYER_WEIGHTS).scaled, 1.0),
    (lambda: functools.partial(tanh_layer, LAYER_WEIGHTS, scale=2.0), 2.0),
], ids=["object", "bound-method", "partial"])
def test_second_derivatives_of_callable_objects_match_the_formula(make, scale, order):
    np.testing.assert_allclose(SECOND_ORDER[order](make())(LAYER_INPUT), layer_second_derivative(scale),
                               rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- a NaN slope meets a zero


def log_or_zero(x):
    return np.nan_to_num(np.log(x))


def log_or_zero_weighted(x):
    return np.sum(np.nan_to_num(np.log(x)) * x)


def test_nan_to_num_of_log_at_zero_has_slope_zero_in_both_modes():
    # nan_to_num has slope 0 where it replaced its input: the infinite slope of
    # log at 0 before it does not make the product NaN (forward mode masks it last).
    x = np.array([0.0, 2.0, 0.5])
    expected = np.diag([0.0, 0.5, 2.0])
    np.testing.assert_array_equal(adjoint.jacrev(log_or_zero)(x), expected)
    np.testing.assert_array_equal(adjoint.jacfwd(log_or_zero)(x), expected)
    away = np.array([2.0, 0.5])  # and away from 0, finite differences agree
    np.testing.assert_allclose(adjoint.jacrev(log_or_zero)(away), numerical_jacobian(log_or_zero, away), rtol=1e-6)


def test_nan_to_num_of_log_at_zero_second_order_agrees_in_every_composition():
    x = np.array([0.0, 1.0, 2.0])
    gradient = np.array([np.nan_to_num(-np.inf), 1.0, np.log(2.0) + 1.0])
    np.testing.assert_array_equal(adjoint.grad(log_or_zero_weighted)(x), gradient)
    np.testing.assert_array_equal(adjoint.jacfwd(log_or_zero_weighted)(x), gradient)
    expected = np.diag([0.0, 1.0, 0.5])  # d/dx (log x + 1) = 1/x; 0 where nan_to_num replaced log(0)
    for order in SECOND_ORDER.values():
        np.testing.assert_allclose(order(log_or_zero_weighted)(x), expected, rtol=1e-15)


def test_nan_to_num_pullback_under_vmap_matches_each_example():
    xs = np.array([[0.0, 2.0], [1.0, 0.0]])
    batched = adjoint.vmap(adjoint.grad(lambda x: np.sum(log_or_zero(x))))(xs)
    np.testing.assert_array_equal(batched, [[0.0, 0.5], [1.0, 0.0]])


def log_or_zero_plus_an_item(x):
    y = np.log(x)
    return 2.0 * np.nan_to_num(y) + y[1]


def test_nan_to_num_pullback_added_to_another_cotangent_keeps_its_zeros():
    x = np.array([0.0, 2.0])
    expected = np.array([[0.0, 0.5], [0.0, 1.5]])  # d/dx0 is 0 where nan_to_num replaced log(0)
    np.testing.assert_array_equal(adjoint.jacrev(log_or_zero_plus_an_item)(x), expected)
    np.testing.assert_array_equal(adjoint.jacfwd(log_or_zero_plus_an_item)(x), expected)


def cube_root_unused_through_a_loop(x):
    s = x
    for _ in range(2):
        pair = (np.cbrt(s), 2.0 * s)
        s = pair[1] + s * s
    return np.sum(s)


def test_unused_infinite_slope_item_at_second_order_through_a_loop_agrees_in_every_composition():
    # s -> 2 s + s^2 twice; pair[0] (cbrt, infinite slope at 0) is never read.
    x = np.array([0.0, 1.0])
    once = 2.0 * x + x ** 2
    first = (2.0 + 2.0 * once) * (2.0 + 2.0 * x)
    second = 2.0 * (2.0 + 2.0 * x) ** 2 + (2.0 + 2.0 * once) * 2.0
    expected = np.diag(second)
    np.testing.assert_allclose(adjoint.grad(cube_root_unused_through_a_loop)(x), first, rtol=1e-15)
    np.testing.assert_allclose(adjoint.jacfwd(cube_root_unused_through_a_loop)(x), first, rtol=1e-15)
    for order in SECOND_ORDER.values():
        np.testing.assert_allclose(order(cube_root_unused_through_a_loop)(x), expected, rtol=1e-14)


# ---------------------------------------------------------------- in-place changes, the fuzzer's last refusals


def doubles_in_place(p):
    p *= 2.0
    return np.sum(p)


def zeroes_its_first_item(p):
    p[0] = 0.0
    return p * p


def passes_a_scaled_copy(x):
    return doubles_in_place(x * 1.0)


def passes_a_shifted_copy(x):
    return zeroes_its_first_item(x + 0.0)


def passes_a_copy_it_reads_again(x):
    y = x * 1.0
    total = doubles_in_place(y)
    return total + np.sum(y)  # y was doubled by the callee


def passes_a_slice(x):
    return doubles_in_place(x[:2])  # a view: the callee changes x


def test_a_temporary_passed_to_a_callee_that_changes_it_in_place_differentiates():
    x = np.array([0.3, 0.7, 1.1])
    for f in (passes_a_scaled_copy, passes_a_shifted_copy):
        reference = numerical_jacobian(f, x)
        np.testing.assert_allclose(adjoint.jacrev(f)(x), reference, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(adjoint.jacfwd(f)(x), reference, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, [0.3, 0.7, 1.1])


@pytest.mark.parametrize("f", [passes_a_copy_it_reads_again, passes_a_slice])
def test_a_value_read_again_or_a_view_passed_to_such_a_callee_stays_refused(f):
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="doubles_in_place changes its argument 'p'"):
        adjoint.jacrev(f)(np.array([0.3, 0.7, 1.1]))


def doubles_its_argument(x):
    x *= 2.0
    return np.sin(x)


@pytest.mark.parametrize("derivative", [adjoint.jacfwd, adjoint.jacrev])
def test_vmap_of_a_derivative_of_a_function_that_changes_its_argument_says_vmap(derivative):
    with pytest.raises(adjoint.TransformError) as info:
        adjoint.vmap(derivative(doubles_its_argument))(np.ones((2, 3)))
    message = str(info.value)
    assert f"vmap of adjoint.{derivative.__name__}(doubles_its_argument)" in message
    assert "To vmap its derivative" in message and "twice" not in message
