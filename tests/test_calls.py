"""Calls inside differentiated functions (issue: real Python programs):
the user's functions transformed in turn, recursion, methods, partials,
``*args``, nested functions and closures, and what stays an error.
Every program is checked against central finite differences, and with
chunk sizes None and 1."""
import functools
import inspect

import numpy as np
import pytest

import adjoint
from callee_module import Spring, squash
from conftest import assert_trees_close, numerical_jacobian

X = np.array([0.3, -0.2, 0.5])


def scaled_sin(z, factor=2.0):
    return np.sin(z) * factor


def calls_module_function(x):
    return scaled_sin(x) + scaled_sin(x * x, factor=0.5)


def calls_imported_function(x):
    return squash(x, slope=0.7) * x


spring = Spring(3.0)


def calls_method(x):
    return spring.energy(x) + x


def shrink(x):
    if np.sum(x ** 2) < 0.05:  # data-dependent stop
        return x
    return shrink(x * 0.5) + np.sin(x)


def calls_recursion(x):
    return shrink(x) * 2.0


def weighted(x, y, weight=1.0, power=2):
    return (x * y * weight) ** power


half_weight = functools.partial(weighted, weight=0.5)
with_x_fixed = functools.partial(weighted, X)


def calls_partials(x):
    return half_weight(x, np.cos(x)) + with_x_fixed(x, power=3)


def calls_with_starred_arguments(x):
    pair = (x, np.sin(x))
    return weighted(*pair) + weighted(*[x, x], power=1)


AXES = ([0, 1, 2], [2, 0, 1])
PAIR = (0.5, 2.0)


def calls_with_starred_global_sequence(x):
    # *AXES: its length is not known from the source, so the calls run as
    # written (their values carry no derivative); this did not compile (t = *AXES).
    s = 0.0
    for a, b in zip(*AXES):
        s = s + x[a] * np.sin(x[b])
    for i, (a, b) in enumerate(zip(*AXES)):
        s = s + i * x[a] * x[b]
    pairs = list(zip(*AXES))
    return s * np.add(*PAIR) + x[pairs[0][1]] * x


def loops_over_zip_of_a_starred_literal(x):
    rows = [x, np.cos(x)]
    s = 0.0
    for a, b in zip(*rows):
        s = s + a * b
    for a, b in zip(*[x, x ** 2]):
        s = s + a * b
    return s


def step(state, dt):
    return state + dt * np.sin(state)


def calls_in_a_loop(x):
    for _ in range(25):
        x = step(x, 0.1)
    return x


def nested_closure(x, w):
    scale = w * 2.0

    def inner(t, power=2):
        return np.sin(t * scale) ** power

    double = lambda t: t * x  # noqa: E731 (a lambda under test)
    return inner(x) + double(w) + (lambda z: z ** 3)(x) + inner(x, 3)


def nested_function_with_branch_and_loop(x):
    def body(h, k):
        if k > 1:
            return np.tanh(h) * k
        return h

    for k in range(4):
        x = body(x, k)
    return x


def calls_inactive_helper(x):
    n = len(x)  # a call whose result carries no derivative
    return x * float(n)


def times_ten(fn):
    @functools.wraps(fn)
    def wrapper(z):
        return 10.0 * fn(z)

    return wrapper


@times_ten
def decorated(z):
    return np.sin(z)


def calls_decorated_function(x):
    # The wrapper's code runs (and is differentiated), not just the function it wraps.
    return decorated(x) * x


def augmented_assignments_that_rebind(x):
    # Each value below is held by its name alone, so y op= v is y = y op v.
    total = 0.0
    count = 0
    size = len(x)
    for _ in range(3):
        total += np.sum(x ** 2)
        count += 1
        size += 1
    y = np.tanh(x)
    y *= 2.0
    return total * y / count / size


def augments_its_argument(x):
    x += 1.0  # NumPy changes the caller's array too; the result is the same
    return np.sin(x) * x


def test_augmented_assignment_to_an_argument_gives_the_same_result():
    expected = numerical_jacobian(lambda v: augments_its_argument(v.copy()), (X,), 0)
    x = X.copy()
    np.testing.assert_allclose(adjoint.jacrev(augments_its_argument)(x), expected, rtol=1e-6, atol=1e-8)


def nested_keyword_arguments(x):
    # Keywords name the parameters as written, defaults fill the rest.
    def power(t, p=2, shift=0.0):
        return (t + shift) ** p

    scale = lambda t, s=2.0: t * s  # noqa: E731 (a lambda under test)
    return power(x, p=3) + power(shift=0.5, t=x) + scale(x, s=4.0) + scale(x)


PROGRAMS = [
    decorated, calls_decorated_function, nested_keyword_arguments, augmented_assignments_that_rebind, calls_module_function, calls_imported_function, calls_method, calls_recursion,
    calls_partials, calls_with_starred_arguments, calls_in_a_loop,
    calls_with_starred_global_sequence, loops_over_zip_of_a_starred_literal,
    nested_function_with_branch_and_loop, calls_inactive_helper,
]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda f: f.__name__)
def test_matches_finite_differences(program):
    expected = numerical_jacobian(program, (X,), 0)
    for chunk_size in (None, 1):
        np.testing.assert_allclose(adjoint.jacrev(program, chunk_size=chunk_size)(X), expected,
                                   rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda f: f.__name__)
def test_forward_mode_and_second_derivatives(program):
    """jacfwd equals jacrev through calls of every kind; the Hessian
    (forward mode over the generated reverse code) against differences of jacrev."""
    np.testing.assert_allclose(adjoint.jacfwd(program)(X), adjoint.jacrev(program)(X), rtol=1e-9, atol=1e-12)
    step = 1e-5
    first = adjoint.jacrev(program)
    expected = np.stack([(first(X + step * e) - first(X - step * e)) / (2 * step) for e in np.eye(X.size)],
                        axis=-1).reshape(first(X).shape + X.shape)
    np.testing.assert_allclose(adjoint.hessian(program)(X), expected, rtol=1e-5, atol=1e-6)


def test_closures_over_differentiated_values():
    w = np.array([1.5, 0.5, -1.0])
    for argnum, args in ((0, (X, w)), (1, (X, w))):
        expected = numerical_jacobian(nested_closure, args, argnum)
        np.testing.assert_allclose(adjoint.jacrev(nested_closure, argnums=argnum)(*args), expected,
                                   rtol=1e-6, atol=1e-8)


def test_matches_autograd_on_a_call_in_a_loop():
    import autograd
    import autograd.numpy as anp

    def step_ag(state, dt):
        return state + dt * anp.sin(state)

    def loop_ag(x):
        for _ in range(25):
            x = step_ag(x, 0.1)
        return x

    np.testing.assert_allclose(adjoint.jacrev(calls_in_a_loop)(X), autograd.jacobian(loop_ag)(X), rtol=1e-12)


def test_callee_is_transformed_once_per_argument_set():
    from adjoint.backend import pipeline as transform

    adjoint.jacrev(calls_module_function)(X)
    count = transform.TRANSFORM_COUNT["vjp"]
    adjoint.jacrev(calls_module_function)(X * 2)
    assert transform.TRANSFORM_COUNT["vjp"] == count
    source = adjoint.source(calls_module_function)
    assert "scaled_sin_forward" in source and "scaled_sin_backward" in source


# ------------------------------------------------------------------ errors

def mutates_a_view(x):
    y = x * 2.0
    row = y[0:2]
    y[0] = 5.0
    return row


def appends_to_argument(items, x):
    items.append(x)
    return np.stack(items)


def applies_a_function_argument(x, fn):
    return fn(x)


def test_a_numpy_function_passed_as_argument():
    np.testing.assert_allclose(adjoint.jacrev(applies_a_function_argument)(X, np.sin), np.diag(np.cos(X)))


def recursive_nested(x):
    def again(t):
        return again(t * 0.5)

    return again(x)


def line_of(function, text):
    lines, start = inspect.getsourcelines(function)
    return start + next(i for i, line in enumerate(lines) if text in line)


def augments_an_alias(x):
    z = x * 1.0
    w = z
    w *= 2.0  # NumPy doubles z too
    return z


def augments_a_copy_of_an_argument(x, c):
    w = c
    w += 1.0  # NumPy changes c (and the caller's array) too
    return x * c


def augments_a_slice(x):
    y = x * 1.0
    v = y[1:]
    v *= 2.0  # a view: NumPy changes y too
    return y


def make_scaler(w):
    def scale(t):
        return w * t

    return scale


def calls_a_returned_closure(x, w):
    return make_scaler(w)(x)  # make_scaler is inlined, so w, captured by scale, is differentiated


def test_a_returned_closure_over_inactive_values_works():
    np.testing.assert_allclose(adjoint.jacrev(calls_a_returned_closure)(X, 3.0), 3.0 * np.eye(3))
    w = np.array(3.0)
    np.testing.assert_allclose(adjoint.jacrev(calls_a_returned_closure, argnums=1)(X, w),
                               numerical_jacobian(calls_a_returned_closure, (X, w), 1), rtol=1e-6)


def integrate(rate, y):
    for _ in range(3):
        y = y + 0.1 * rate(y)
    return y


def passes_a_nested_function(y):
    def decay(s):
        return -s * s

    return integrate(decay, y)


def decay_rate(s, k):
    return -k * s


def passes_a_lambda_over_a_differentiated_value(y, k):
    return integrate(lambda s: decay_rate(s, k), y)


def test_a_lambda_passed_on_works_when_it_captures_no_differentiated_value():
    k = np.array(0.5)
    expected = numerical_jacobian(passes_a_lambda_over_a_differentiated_value, (X, k), 0)
    np.testing.assert_allclose(adjoint.jacrev(passes_a_lambda_over_a_differentiated_value)(X, k), expected,
                               rtol=1e-6, atol=1e-8)


def test_functions_made_here_and_passed_to_a_function_of_the_module_are_differentiated():
    # (refused before: integrate's body is now inlined with rate standing for the function passed)
    k = np.array(0.5)
    for jac in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(jac(passes_a_lambda_over_a_differentiated_value, argnums=1)(X, k),
                                   numerical_jacobian(passes_a_lambda_over_a_differentiated_value, (X, k), 1),
                                   rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(jac(passes_a_nested_function)(X),
                                   numerical_jacobian(passes_a_nested_function, (X,), 0), rtol=1e-6, atol=1e-8)


def augments_an_array_another_name_holds(x):
    y = np.zeros(3)
    z = y
    y += x  # NumPy changes z too
    return z


def augments_an_array_a_list_holds(x):
    y = np.zeros(3)
    held = [y]
    y += x  # NumPy changes held[0] too
    return held[0]


def updates_a_conditional_alias(x):
    a = x * 2.0
    b = a if np.sum(x) > -10.0 else a * 2.0  # b is a on this path
    b[0] = 1.0
    return a


def updates_an_alias_made_by_a_nested_function(x):
    def same(t):
        return t

    a = x * 2.0
    b = same(a)
    b[0] = 1.0
    return a


def picks_a_lambda_in_a_branch(x, mode):
    if mode == "sin":
        act = lambda t: np.sin(t)  # noqa: E731 (a lambda under test)
    else:
        act = lambda t: np.cos(t)  # noqa: E731
    return act(x)  # which body runs depends on the path


def rebinds_a_lambda_in_a_loop(x, n):
    scale = lambda t: t * 2.0  # noqa: E731
    for _ in range(n):
        scale = lambda t: t * 3.0  # noqa: E731
    return scale(x)


def binds_on_one_path(x, flag):
    if flag:
        z = x * 2.0
    return z  # as in Python, fine when the path that binds z is taken


def nested_def_in_a_nested_function(x):
    def outer(u):
        def inner(v):
            return v * u

        return inner(u + 1.0)

    return outer(x)


def test_names_bound_on_some_paths_and_defs_inside_nested_functions():
    np.testing.assert_allclose(adjoint.jacrev(binds_on_one_path)(X, True), 2.0 * np.eye(3))
    np.testing.assert_allclose(adjoint.jacrev(nested_def_in_a_nested_function)(X), np.diag(2.0 * X + 1.0))


def keeps_a_view_in_a_list(x):
    y = x * 1.0
    rows = [y[0:2]]  # a view of y, in NumPy
    y[0] = 0.0  # changes rows[0] too
    return np.concatenate(rows)


def appends_a_view(x):
    y = x * 1.0
    snapshots = []
    for _ in range(2):
        snapshots.append(y[:])
        y[1:] = y[1:] * 0.5
    return np.stack(snapshots)


def keeps_an_array_in_a_dict(x):
    y = x * 2.0
    held = {"y": y}
    y += x  # NumPy changes held["y"] too
    return held["y"]


def keeps_a_view_made_in_an_expression(x):
    y = x * 2.0
    z = np.reshape(y[1:], (2,))  # a view of y
    y *= x
    return z


def updates_a_dict_held_by_another_dict(x):
    inner = {"k": x}
    outer = {"o": inner}
    inner["k"] = np.sin(x)  # outer["o"] is inner
    return outer["o"]["k"]


def augments_a_list_item_a_name_holds(x):
    y = x * 2.0
    items = [y]
    items[0] += x  # NumPy updates y itself
    return y


def accumulates_into_dict_items(x):
    totals = {"s": 0.0, "v": np.zeros(3)}
    totals["s"] += np.sum(x)
    totals["v"] += np.sin(x)
    return totals["v"] * totals["s"]


def test_augmented_assignment_to_items_only_the_container_holds():
    np.testing.assert_allclose(adjoint.jacrev(accumulates_into_dict_items)(X),
                               numerical_jacobian(accumulates_into_dict_items, (X,), 0), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("program, args, argnums, text", [
    (keeps_an_array_in_a_dict, (X,), 0, "y += x"),
    (keeps_a_view_made_in_an_expression, (X,), 0, "y *= x"),
    (updates_a_dict_held_by_another_dict, (X,), 0, 'inner["k"] = np.sin(x)'),
    (augments_a_list_item_a_name_holds, (X,), 0, "items[0] += x"),
    (keeps_a_view_in_a_list, (X,), 0, "y[0] = 0.0"),
    (appends_a_view, (X,), 0, "y[1:] = y[1:] * 0.5"),
    (picks_a_lambda_in_a_branch, (X, "sin"), 0, "return act(x)"),
    (rebinds_a_lambda_in_a_loop, (X, 2), 0, "return scale(x)"),
    (augments_an_array_another_name_holds, (X,), 0, "y += x"),
    (augments_an_array_a_list_holds, (X,), 0, "y += x"),
    (updates_a_conditional_alias, (X,), 0, "b[0] = 1.0"),
    (updates_an_alias_made_by_a_nested_function, (X,), 0, "b[0] = 1.0"),
    (mutates_a_view, (X,), 0, "y[0] = 5.0"),
    (appends_to_argument, ([X], X), 1, "items.append(x)"),
    (recursive_nested, (X,), 0, "return again(t * 0.5)"),
    (augments_an_alias, (X,), 0, "w *= 2.0"),
    (augments_a_copy_of_an_argument, (X, X.copy()), 0, "w += 1.0"),
    (augments_a_slice, (X,), 0, "v *= 2.0"),
], ids=["array-in-a-dict", "view-in-an-expression", "dict-in-a-dict", "list-item-augmented",
        "view-in-a-list", "view-appended", "lambda-per-branch", "lambda-rebound-in-loop", "augmented-alias-of-zeros", "augmented-array-in-list", "conditional-alias",
        "nested-function-alias", "view", "list-argument", "recursive-nested", "augmented-alias",
        "augmented-argument-alias", "augmented-view"])
def test_unsupported_calls_and_mutations_fail_with_a_location(program, args, argnums, text):
    with pytest.raises(adjoint.TransformError) as error:
        adjoint.jacrev(program, argnums=argnums)(*args)
    assert f"test_calls.py:{line_of(program, text)}" in str(error.value)


def mutates_a_flipped_view(x):
    y = x * 1.0
    v = np.flip(y)  # a view of y in NumPy
    v[0] = 0.0
    return y * 2.0


def test_update_of_a_possible_view_fails_with_a_location():
    with pytest.raises(adjoint.TransformError) as error:
        adjoint.jacrev(mutates_a_flipped_view)(X)
    assert f"test_calls.py:{line_of(mutates_a_flipped_view, 'v[0] = 0.0')}" in str(error.value)


def empty_output(x):
    return x[:0] * 1.0


@pytest.mark.parametrize("chunk_size", [None, 1, 2])
def test_empty_output_gives_an_empty_jacobian(chunk_size):
    jacobian = adjoint.jacrev(empty_output, chunk_size=chunk_size)(X)
    assert jacobian.shape == (0, 3)


def uses_statistics_methods(x):
    return x.var() * x.std(ddof=1) + x.cumsum() * x.cumprod()


def test_array_methods_map_to_their_functions():
    np.testing.assert_allclose(adjoint.jacrev(uses_statistics_methods)(X),
                               numerical_jacobian(uses_statistics_methods, (X,), 0), rtol=1e-6, atol=1e-8)


def dict_parameters_copied_into_a_loop(params, x):
    q = params
    for _ in range(2):
        x = np.tanh(q["W"] @ x + q["b"])
    return x


def test_container_parameter_copied_then_indexed_in_a_loop():
    params = {"W": np.eye(3) * 0.5 + 0.1, "b": np.array([0.1, -0.2, 0.3])}
    x = np.array([0.4, 0.1, -0.5])
    jacobian = adjoint.jacrev(dict_parameters_copied_into_a_loop)(params, x)
    expected = numerical_jacobian(dict_parameters_copied_into_a_loop, (params, x), 0)
    for key in params:
        np.testing.assert_allclose(jacobian[key], expected[key], rtol=1e-6, atol=1e-8)


class Layer:
    def __init__(self, weights):
        self.weights = weights

    def predict(self, x, scale=1.0):
        return np.tanh(self.weights @ x) * scale

    def loss(self, x):
        return np.sum(self.predict(x) ** 2)  # a method calling a method


def uses_an_object_argument(model, x):
    return model.predict(x, scale=2.0) + model.loss(x)


def test_methods_of_an_object_passed_as_argument():
    model = Layer(np.array([[1.0, 0.5, -0.2], [0.2, -0.3, 0.4]]))
    expected = numerical_jacobian(uses_an_object_argument, (model, X), 1)
    for chunk_size in (None, 1):
        jacobian = adjoint.jacrev(uses_an_object_argument, argnums=1, chunk_size=chunk_size)(model, X)
        np.testing.assert_allclose(jacobian, expected, rtol=1e-6, atol=1e-8)


def calls_an_unknown_method_of_an_array(x):
    return x.searchsorted(0.0) * x


def test_unknown_method_of_a_differentiated_array_fails_with_a_location():
    with pytest.raises(adjoint.NoRuleError) as error:
        adjoint.jacrev(calls_an_unknown_method_of_an_array)(X)
    assert f"test_calls.py:{line_of(calls_an_unknown_method_of_an_array, 'searchsorted')}" in str(error.value)


def rate_of_change(s):
    return np.sin(s) * 2.0


def integrate_with(f, x, steps=5):
    for _ in range(steps):
        x = x + 0.1 * f(x)
    return x


def passes_functions_along(x):
    return integrate_with(rate_of_change, x) + integrate_with(np.tanh, x, steps=2)


def test_functions_passed_as_arguments():
    expected = numerical_jacobian(passes_functions_along, (X,), 0)
    for chunk_size in (None, 1):
        np.testing.assert_allclose(adjoint.jacrev(passes_functions_along, chunk_size=chunk_size)(X),
                                   expected, rtol=1e-6, atol=1e-8)
    direct = adjoint.jacrev(integrate_with, argnums=1)(rate_of_change, X)
    np.testing.assert_allclose(direct, numerical_jacobian(integrate_with, (rate_of_change, X), 1),
                               rtol=1e-6, atol=1e-8)


def appends_after_stacking(x):
    items = [x, x * 2.0]
    first = np.stack(items).sum(axis=0)
    items.append(np.sin(x))
    return first + np.stack(items).sum(axis=0)


def appends_to_a_copy_after_stacking(x):
    items = [x, x * 2.0]
    first = np.stack(items).sum(axis=0)
    items = list(items)
    items.append(np.sin(x))
    return first + np.stack(items).sum(axis=0)


def test_append_after_a_whole_list_use_is_refused_and_a_copy_works():
    with pytest.raises(adjoint.UnsupportedSyntaxError) as error:
        adjoint.jacrev(appends_after_stacking)(X)
    assert f"test_calls.py:{line_of(appends_after_stacking, 'items.append')}" in str(error.value)
    np.testing.assert_allclose(adjoint.jacrev(appends_to_a_copy_after_stacking)(X),
                               numerical_jacobian(appends_to_a_copy_after_stacking, (X,), 0), rtol=1e-6, atol=1e-8)


def nested_default_taken_at_definition(x):
    s = x * 1.0

    def scaled(t, k=s):  # k is s as it is here, as in Python
        return t * k

    s = x * 3.0
    return scaled(x) + s


def enumerate_start_rebound(x):
    start = 1
    total = x * 0.0
    for i, v in enumerate(x, start):
        start = 10  # does not change the counter
        total = total + i * v
    return total


@pytest.mark.parametrize("program", [nested_default_taken_at_definition, enumerate_start_rebound],
                         ids=lambda f: f.__name__)
def test_values_are_taken_when_python_takes_them(program):
    np.testing.assert_allclose(adjoint.vjp(program, X)[0], program(X))
    np.testing.assert_allclose(adjoint.jacrev(program)(X), numerical_jacobian(program, (X,), 0),
                               rtol=1e-6, atol=1e-8)


def product_of_pair(p):
    return p[0] * p[1]


def pair_used_twice(p):
    return product_of_pair(p) + product_of_pair(p)


def pair_built_then_used_twice(x):
    return pair_used_twice((x, 3.0 * x))


def damped_rate(s, params):
    return -params["k"] * s + params["c"] * np.sin(s)


def midpoint_steps(s, params):
    # The usual ODE shape: a dict of parameters handed to the rate at every stage.
    for _ in range(3):
        k1 = damped_rate(s, params)
        k2 = damped_rate(s + 0.05 * k1, params)
        s = s + 0.1 * k2
    return s


def test_container_argument_passed_to_several_calls():
    # Each call returns an adjoint shaped like the container; they add up
    # element by element (a + on tuples would concatenate them).
    params = {"k": np.array(0.5), "c": np.array([0.2, 0.3, -0.1])}
    cases = [
        (pair_built_then_used_twice, (X,), 0),
        (pair_used_twice, ((X, 3.0 * X),), 0),
        (midpoint_steps, (X, params), 0),
        (midpoint_steps, (X, params), 1),
    ]
    for func, args, argnum in cases:
        expected = numerical_jacobian(func, args, argnum)
        for chunk_size in (None, 1):
            actual = adjoint.jacrev(func, argnums=argnum, chunk_size=chunk_size)(*args)
            assert_trees_close(actual, expected, rtol=1e-6, atol=1e-8)


class Model:
    def __init__(self, w):
        self.w = w

    def predict(self, x):
        return np.tanh(self.w * x)

    def __call__(self, x):
        return self.predict(x) * 2.0

    @staticmethod
    def square(t):
        return t * t


def huber(x, delta=1.0):
    return np.where(np.abs(x) < delta, 0.5 * x ** 2, delta * (np.abs(x) - 0.5 * delta))


def applies(fn, x):
    return fn(x)


def calls_a_local_bound_method(model, x):
    predict = model.predict
    return predict(x)


def calls_a_static_method_on_an_instance(model, x):
    return model.square(x)


def calls_a_partial_made_here(x):
    robust = functools.partial(huber, delta=0.5)
    return robust(x)


def calls_an_object(model, x):
    return model(x)


MODEL = Model(np.array([1.0, 2.0, -0.5]))
PREDICT = MODEL.predict


def calls_a_global_bound_method(x):
    return PREDICT(x)


def calls_a_global_object(x):
    return MODEL(x)


@pytest.mark.parametrize("func, args, argnum", [
    (MODEL.predict, (X,), 0),
    (MODEL, (X,), 0),
    (functools.partial(huber, delta=0.5), (X,), 0),
    (applies, (MODEL.predict, X), 1),
    (applies, (functools.partial(huber, delta=0.5), X), 1),
    (calls_a_local_bound_method, (MODEL, X), 1),
    (calls_a_static_method_on_an_instance, (MODEL, X), 1),
    (calls_a_partial_made_here, (X,), 0),
    (calls_an_object, (MODEL, X), 1),
    (calls_a_global_bound_method, (X,), 0),
    (calls_a_global_object, (X,), 0),
], ids=["bound-method", "callable-object", "partial", "bound-method-passed-in", "partial-passed-in",
        "local-bound-method", "static-method-on-instance", "partial-made-here", "object-passed-in",
        "global-bound-method", "global-object"])
def test_bound_methods_partials_and_callable_objects(func, args, argnum):
    expected = numerical_jacobian(func, args, argnum)
    for chunk_size in (None, 1):
        actual = adjoint.jacrev(func, argnums=argnum, chunk_size=chunk_size)(*args)
        assert_trees_close(actual, expected, rtol=1e-6, atol=1e-8)


def test_vjp_and_source_of_a_bound_method_count_the_callers_arguments():
    output, vjp_fn = adjoint.vjp(MODEL.predict, X)
    np.testing.assert_allclose(output, MODEL.predict(X))
    (x_bar,) = vjp_fn(np.ones(3))
    np.testing.assert_allclose(x_bar, MODEL.w * (1.0 - np.tanh(MODEL.w * X) ** 2))
    assert "adjoints of x" in adjoint.source(MODEL.predict)


def shifted_sine(x, *, shift=0.0, scale=1.0):
    return np.sin(x + shift) * scale


def passes_keyword_only_arguments(x, s):
    return shifted_sine(x, shift=s) + shifted_sine(s * x, scale=s)


def test_differentiated_values_passed_to_keyword_only_parameters():
    s = np.array([0.3, 0.7, -0.2])
    for argnum in (0, 1):
        expected = numerical_jacobian(passes_keyword_only_arguments, (X, s), argnum)
        actual = adjoint.jacrev(passes_keyword_only_arguments, argnums=argnum)(X, s)
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-8)


def l2_over_keys(params):
    total = 0.0
    for key in sorted(params.keys()):
        total = total + np.sum(params[key] ** 2)
    return total


def l2_over_dict(params):
    total = 0.0
    for key in params:  # indexes params: read as a loop over the dict's keys
        total = total + np.sum(params[key] ** 2)
    return total


def scales_by_key(params, scales):
    total = 0.0
    for key in params:  # key is an item of a differentiated container, not known to be a key
        total = total + np.sum(params["a"]) * scales[key]
    return total


def counts_dict_entries(params):
    count = 0.0
    for _ in params:
        count = count + 1.0
    return np.sum(params["a"]) * count


def test_loops_over_a_dict_of_differentiated_values():
    params = {"b": np.array([1.0, 2.0]), "a": np.array(3.0)}
    gradient = adjoint.grad(l2_over_keys)(params)
    np.testing.assert_allclose(gradient["a"], 6.0)
    np.testing.assert_allclose(gradient["b"], [2.0, 4.0])
    gradient = adjoint.grad(l2_over_dict)(params)
    np.testing.assert_allclose(gradient["a"], 6.0)
    np.testing.assert_allclose(gradient["b"], [2.0, 4.0])
    with pytest.raises(adjoint.NoRuleError, match="params.keys()") as error:
        adjoint.grad(scales_by_key)(params, {"a": 1.0, "b": 2.0})
    assert f"test_calls.py:{line_of(scales_by_key, 'scales[key]')}" in str(error.value)
    with pytest.raises(TypeError, match="For a dict, loop over d.keys"):
        adjoint.grad(counts_dict_entries)(params)
    # A dict whose keys are 0, 1, ... must not be read as a list either.
    with pytest.raises(TypeError, match="For a dict, loop over d.keys"):
        adjoint.grad(sums_items)({0: np.array(1.0), 1: np.array(2.0)})


def sums_items(items):
    total = 0.0
    for item in items:
        total = total + item
    return total * items[0]


def fills_a_list(x):
    buffer = [0.0, 0.0, 0.0]
    buffer[0] = x[0] ** 2
    buffer[2] = x[1] * x[2]
    return np.array(buffer)


def fills_a_dict(x):
    parts = {}
    parts["sin"] = np.sin(x)
    parts["cos"] = np.cos(x)
    parts["sin"] = parts["sin"] * 2.0
    return parts["sin"] * parts["cos"]


def halves_large_entries(x):
    y = x * 2.0
    large = y > 0.5  # a new array of flags, shared with nothing
    y[large] = y[large] * 0.5
    return y


def updates_a_copy_of_a_dict_argument(params, x):
    copied = params.copy()  # could be anything's copy: adjoint cannot tell it is a dict
    copied["a"] = copied["a"] * x
    return copied["a"]


def test_item_assignment_on_lists_and_dicts_made_here():
    for func in (fills_a_list, fills_a_dict, halves_large_entries):
        expected = numerical_jacobian(func, (X,), 0)
        for chunk_size in (None, 1):
            np.testing.assert_allclose(adjoint.jacrev(func, chunk_size=chunk_size)(X), expected,
                                       rtol=1e-6, atol=1e-8)
    with pytest.raises(TypeError, match="copy it with list"):
        adjoint.jacrev(updates_a_copy_of_a_dict_argument, argnums=1)({"a": X}, X)


def validates_its_input(v, scale):
    if v.ndim != 1:
        raise ValueError(f"expected a vector, got shape {v.shape}")
    if scale <= 0:
        raise ValueError("scale must be positive")
    return np.sin(v) * scale


def test_raise_statements_check_the_input():
    np.testing.assert_allclose(adjoint.jacrev(validates_its_input)(X, 2.0), np.diag(2.0 * np.cos(X)))
    with pytest.raises(ValueError, match="expected a vector"):
        adjoint.jacrev(validates_its_input)(np.ones((2, 2)), 2.0)
    with pytest.raises(ValueError, match="scale must be positive"):
        adjoint.grad(lambda v: np.sum(validates_its_input(v, -1.0)))(X)


WEIGHTS = np.array([1.0, 2.0, 3.0])


def declares_a_global_it_only_reads(x):
    global WEIGHTS
    return x * WEIGHTS


def test_a_global_declaration_for_reading_is_fine():
    np.testing.assert_allclose(adjoint.jacrev(declares_a_global_it_only_reads)(X), np.diag(WEIGHTS))


def fills_a_repeated_list(x):
    buffer = [0.0] * 3
    buffer[0] = x[0] ** 2
    buffer[2] = x[1] * x[2]
    return np.array(buffer)


def updates_a_copy_of_a_list(x):
    pair = [x, x * 2.0]
    copied = pair.copy()
    copied[0] = np.sin(copied[0])
    return copied[0] * copied[1]


def cube(t):
    return t ** 3


def test_list_buffers_copies_and_bare_partials():
    for func, args in ((fills_a_repeated_list, (X,)), (updates_a_copy_of_a_list, (X,)),
                       (applies, (functools.partial(cube), X))):
        argnum = len(args) - 1
        np.testing.assert_allclose(adjoint.jacrev(func, argnums=argnum)(*args),
                                   numerical_jacobian(func, args, argnum), rtol=1e-6, atol=1e-8)


def collects_states_by_concatenation(x):
    states = []
    h = x
    for _ in range(3):
        h = np.tanh(h * 1.5)
        states = states + [h]
    return np.stack(states)


def repeats_a_pair(x):
    pair = [x, x * 2.0]
    four = pair * 2
    return four[0] * four[3] + four[1]


def joins_an_argument_list(items, x):
    return np.stack(items + [x])


def merges_dicts(x):
    d = {"a": x}
    d = d | {"a": x * 3.0}
    return d["a"]


def test_lists_joined_and_repeated():
    for func, args, argnum in ((collects_states_by_concatenation, (X,), 0), (repeats_a_pair, (X,), 0),
                               (joins_an_argument_list, ([X], X), 0), (joins_an_argument_list, ([X], X), 1)):
        expected = numerical_jacobian(func, args, argnum)
        for chunk_size in (None, 1):
            assert_trees_close(adjoint.jacrev(func, argnums=argnum, chunk_size=chunk_size)(*args), expected,
                               rtol=1e-6, atol=1e-8)
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="merge dicts"):
        adjoint.jacrev(merges_dicts)(X)


def make_multiplier(k):
    return lambda t, k=k: t * k  # noqa: E731 (the default names a local of make_multiplier)


def calls_a_made_lambda(x):
    return make_multiplier(3.0)(x)


def calls_lambdas_made_in_a_loop(x):
    scalings = []
    for i in range(3):
        scalings.append(lambda t, i=i: t * (i + 1.0))  # noqa: E731
    total = 0.0
    for scale in scalings:
        total = total + scale(x)
    return total


def test_functions_whose_defaults_name_local_values():
    for func in (calls_a_made_lambda, calls_lambdas_made_in_a_loop):
        np.testing.assert_allclose(adjoint.jacrev(func)(X), numerical_jacobian(func, (X,), 0),
                                   rtol=1e-6, atol=1e-8)


def report(values):
    print("sum of squares", float(np.sum(values ** 2)))


def zero_first(values):
    values[0] = 0.0


def reports_as_it_goes(x):
    y = np.sin(x)
    report(y)  # called for its effect: fine, it changes nothing
    return y * 2.0


def changes_through_a_helper(x):
    y = np.sin(x)
    zero_first(y)  # would change y in place
    return y


def test_user_functions_called_for_their_effect(capsys):
    np.testing.assert_allclose(adjoint.jacrev(reports_as_it_goes)(X), np.diag(2.0 * np.cos(X)))
    # once: the forward pass runs once
    assert capsys.readouterr().out == f"sum of squares {float(np.sum(np.sin(X) ** 2))}\n"
    with pytest.raises(adjoint.UnsupportedSyntaxError) as error:
        adjoint.jacrev(changes_through_a_helper)(X)
    assert f"test_calls.py:{line_of(zero_first, 'values[0] = 0.0')}" in str(error.value)


class Energy:
    def energy(self, x):
        return np.sum(x ** 2)


class DoubledEnergy(Energy):
    def energy(self, x):
        return 2.0 * super().energy(x)  # super() without arguments


def rolls_out_from_the_last_state(x):
    states = [x]
    while len(states) < 4:
        states.append(np.sin(states[-1]))  # [-1]: the last item now, not of the longer list
    return np.stack(states)


def rewrites_list_items(x):
    parts = [x * 1.0, x * 2.0]
    for i in range(len(parts)):
        item = parts[i]
        parts[i] = np.tanh(item)  # the slot is re-bound; item is left alone
    return np.concatenate(parts)


def test_super_lists_that_grow_and_list_slots():
    np.testing.assert_allclose(adjoint.grad(DoubledEnergy().energy)(X), 4.0 * X)
    for func in (rolls_out_from_the_last_state, rewrites_list_items):
        for chunk_size in (None, 1):
            np.testing.assert_allclose(adjoint.jacrev(func, chunk_size=chunk_size)(X),
                                       numerical_jacobian(func, (X,), 0), rtol=1e-6, atol=1e-8)


def accumulates_in_a_loop(x):
    totals = {"g": 0.0, "v": np.zeros(3)}
    for i in range(3):
        totals["g"] += np.sum(x ** 2) * i
        totals["v"] += np.sin(x) * i
    return totals["v"] * totals["g"]


def accumulates_into_an_item_a_name_holds_later(x):
    y = x * 2.0
    totals = {"v": np.zeros(3)}
    for _ in range(2):
        totals["v"] += np.sin(x)  # in the second iteration the item is y: NumPy changes y
        totals["v"] = y
    return totals["v"] + y


def test_dict_items_accumulated_in_a_loop():
    np.testing.assert_allclose(adjoint.jacrev(accumulates_in_a_loop)(X),
                               numerical_jacobian(accumulates_in_a_loop, (X,), 0), rtol=1e-6, atol=1e-8)
    with pytest.raises(adjoint.UnsupportedSyntaxError) as error:
        adjoint.jacrev(accumulates_into_an_item_a_name_holds_later)(X)
    assert f"test_calls.py:{line_of(accumulates_into_an_item_a_name_holds_later, 'NumPy changes y')}" \
        in str(error.value)


def replaces_an_appended_item(x):
    items = []
    items.append(x)
    items[0] = x * 2.0  # the appended x reaches nothing
    return np.stack(items)


def last_of_appended(x):
    items = []
    for _ in range(2):
        items.append(x * 2.0)
    return items[-1] * 1.0


def reads_an_appended_list_twice(x):
    items = []
    items.append(np.sin(x))
    return items[0] + np.sum(np.stack(items))


def alias_after_a_loop(x):
    y = np.ones(3)
    for _ in range(2):
        y *= x
    z = y
    y += 1.0  # NumPy changes z too
    return z


def item_of_a_dict_put_in_another(x):
    y = np.ones(3)
    first = {"b": y}
    second = {"a": first["b"]}
    second["a"] += x  # it is y: NumPy changes first["b"] too
    return first["b"]


def test_found_by_fuzzing_lists_and_aliases():
    for func in (replaces_an_appended_item, last_of_appended, reads_an_appended_list_twice):
        for chunk_size in (None, 1):
            np.testing.assert_allclose(adjoint.jacrev(func, chunk_size=chunk_size)(X),
                                       numerical_jacobian(func, (X,), 0), rtol=1e-6, atol=1e-8)
    for func in (alias_after_a_loop, item_of_a_dict_put_in_another):
        with pytest.raises(adjoint.UnsupportedSyntaxError):
            adjoint.jacrev(func)(X)


def updates_what_the_next_iteration_aliases(x):
    y = x * 1.0
    z = x * 2.0
    for _ in range(2):
        y[0] = 5.0  # in the second iteration y is z: NumPy changes z
        y = z
    return z


def augments_what_the_next_iteration_aliases(x):
    y = np.ones(3)
    for _ in range(2):
        y *= 2.0  # in the second iteration y is the argument x
        y = x
    return x


def test_aliases_made_at_the_end_of_an_iteration():
    # (A number carried by the loop stays fine: test_control_flow's while_counter_with_break.)
    for func in (updates_what_the_next_iteration_aliases, augments_what_the_next_iteration_aliases):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match="later iteration"):
            adjoint.jacrev(func)(X.copy())


def accumulates_into_a_repeated_list(x):
    buffer = [0.0] * 3
    buffer[2] += x[0]
    buffer[0] += x[1] * 2.0
    return np.array(buffer)


def test_augmented_assignment_to_items_of_a_list_of_numbers():
    np.testing.assert_allclose(adjoint.jacrev(accumulates_into_a_repeated_list)(X),
                               numerical_jacobian(accumulates_into_a_repeated_list, (X,), 0),
                               rtol=1e-6, atol=1e-8)


def alias_of_a_branch_merge_updated_in_a_loop(x):
    y = np.zeros(3)
    if np.sum(x) > 100.0:
        y = y * 0.5
    z = y
    for _ in range(1):
        y -= x  # z is y: NumPy changes z
    return z


def alias_of_a_loop_result_updated_in_a_loop(x):
    y = np.ones(3)
    for _ in range(2):
        y = y * 0.5
    held = {"y": y}
    for _ in range(1):
        y += x  # held["y"] is y
    return held["y"]


def view_of_a_branch_merge_updated_in_a_loop(x):
    y = x * 1.0
    if x[0] > -100.0:
        y[1:] = (x[0] * y)[1:]
    flipped = y[::-1]
    for _ in range(1):
        y -= x[2]  # flipped views y
    return flipped


def last_of_a_joined_list_then_appended(x):
    items = [] + [np.tanh(x)]
    items.append(items[-1] * x + 1.0)  # items[-1]: the joined list's last item
    return np.stack(items)


def stacked_copy_of_a_list(x):
    items = list([x * 2.0])
    total = np.stack(items)
    items.append(x)  # total's derivative reads items as they were
    return total


def test_found_by_fuzzing_aliases_of_merged_values_and_joined_lists():
    # A name merged from a branch or loop, then held by another name, a dict
    # or a view, was updated in place in a later loop as if it were its own.
    for func in (alias_of_a_branch_merge_updated_in_a_loop, alias_of_a_loop_result_updated_in_a_loop,
                 view_of_a_branch_merge_updated_in_a_loop):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match="augmented assignment"):
            adjoint.jacrev(func)(X.copy())
    # A list made by joining lists grows in place by appends, like any other.
    np.testing.assert_allclose(adjoint.jacrev(last_of_a_joined_list_then_appended)(X),
                               numerical_jacobian(last_of_a_joined_list_then_appended, (X,), 0),
                               rtol=1e-6, atol=1e-8)
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="already used as a whole"):
        adjoint.jacrev(stacked_copy_of_a_list)(X)


def stacks_a_slice_of_a_list(x):
    items = [x, x * 2.0, x * 3.0]
    return np.stack(items[-2:]) + np.stack(items[:2]) * np.stack(items[::2])


def stacks_a_slice_of_appended_items(x):
    items = []
    for i in range(4):
        items.append(x * i)
    return np.stack(items[1:3]) * np.sin(x)


def test_slices_of_lists_made_in_the_function():
    for func in (stacks_a_slice_of_a_list, stacks_a_slice_of_appended_items):
        np.testing.assert_allclose(adjoint.jacrev(func)(X), numerical_jacobian(func, (X,), 0),
                                   rtol=1e-6, atol=1e-8)


def product_plus_first(a, b):
    return a * b + a


def spreads_a_list_filled_in_a_loop(x):
    buffer = [0.0, 0.0]
    total = 0.0
    for _ in range(2):
        total = total + product_plus_first(*buffer)  # the second time: x's items
        buffer[0] = x[0]
        buffer[1] = x[1] * 2.0
    return total


def spreads_a_list_made_in_a_branch(x):
    if x[0] > 0.0:
        pair = [x[0] * 3.0, 1.0]
    else:
        pair = [x[1] * 5.0, 2.0]
    return product_plus_first(*pair)


def test_starred_list_whose_items_were_replaced_or_chosen_by_a_branch():
    # *items passed the items the list was first made with (zeros from the
    # loop's entry; the first branch's items, unbound on the other branch).
    for func in (spreads_a_list_filled_in_a_loop, spreads_a_list_made_in_a_branch):
        for x in (X, -X):
            np.testing.assert_allclose(adjoint.vjp(func, x)[0], func(x))
            np.testing.assert_allclose(adjoint.grad(func)(x), numerical_jacobian(func, (x,), 0),
                                       rtol=1e-6, atol=1e-8)


def item_put_in_a_dict_then_updated(x):
    items = [np.cos(x), x]
    held = {"c": items[0], "a": x}
    items[0] += np.sin(x)  # it is held["c"]: NumPy changes it too
    return held["c"]


def item_named_then_updated(x):
    items = [np.cos(x), x]
    first = items[0]
    items[0] += np.sin(x)
    return first


def dict_item_put_in_a_list_then_updated(x):
    d = {"c": np.cos(x)}
    other = [d["c"]]
    d["c"] += x
    return other[0]


def item_at_an_unknown_position_kept(x):
    items = [np.cos(x), np.sin(x)]
    i = 1
    held = [items[i]]
    items[1] += x
    return held[0]


def item_of_a_copied_dict_updated(x):
    original = {"a": np.cos(x)}
    copied = dict(original)
    original["a"] += x  # copied["a"] is the same array
    return copied["a"]


def item_of_a_sliced_list_updated(x):
    original = [np.cos(x), x * 2.0]
    copied = original[:]
    original[0] += x
    return copied[0]


def item_updated_from_itself(x):
    items = [np.cos(x), x]
    items[0] += items[0] * 2.0  # read for arithmetic only: nothing else holds it
    return items[0]


def test_found_by_fuzzing_items_held_outside_their_container():
    for func in (item_put_in_a_dict_then_updated, item_named_then_updated,
                 dict_item_put_in_a_list_then_updated, item_at_an_unknown_position_kept,
                 item_of_a_copied_dict_updated, item_of_a_sliced_list_updated):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match="augmented assignment to an item"):
            adjoint.jacrev(func)(X)
    np.testing.assert_allclose(adjoint.jacrev(item_updated_from_itself)(X),
                               numerical_jacobian(item_updated_from_itself, (X,), 0), rtol=1e-6, atol=1e-8)


def accumulates_at_loop_indices(x):
    n = len(x)
    buffer = [0.0] * n  # a count known only when the function runs
    for i in range(n):
        buffer[i] += np.sin(x[i])
        buffer[n - 1 - i] += x[i] ** 2
    for i in range(n):
        buffer[i] += x[(i + 1) % n] * buffer[i]
    return np.array(buffer)


def accumulates_in_a_dict_by_variable_keys(x):
    totals = {"a": 0.0, "b": 0.0}
    for key in ["a", "b"]:
        totals[key] += x[0] * 3.0
    totals["a"] += x[1]
    return np.array([totals["a"], totals["b"]])


def keeps_an_item_after_an_update_at_an_unknown_slot(x):
    rows = [np.zeros(2), np.zeros(2)]
    i = 1
    rows[i] += x[:2]
    kept = rows[0]
    rows[0] += x[2:4]  # kept is rows[0]: NumPy changes it
    return kept


def test_augmented_assignment_to_items_at_keys_known_only_when_running():
    for func in (accumulates_at_loop_indices, accumulates_in_a_dict_by_variable_keys):
        np.testing.assert_allclose(adjoint.vjp(func, X)[0], func(X))
        np.testing.assert_allclose(adjoint.jacrev(func)(X), numerical_jacobian(func, (X,), 0),
                                   rtol=1e-6, atol=1e-8)
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="augmented assignment to an item"):
        adjoint.jacrev(keeps_an_item_after_an_update_at_an_unknown_slot)(np.arange(4.0))


def sums_a_slice_of_a_list(x):
    items = [x, np.sin(x), x * x]
    return np.sum(items[1:], axis=0)


def sums_a_list_after_an_append(x):
    items = [x]
    items.append(np.sin(x))
    return np.sum(items, axis=0) + np.max(items, axis=0)


def last_item_after_a_replacement_then_appended(x):
    items = [x]
    items[0] = np.cos(x)
    items.append(items[-1] * x)  # items[-1] is cos(x), not the appended item
    return np.stack(items)


def scaled_and_shifted(a, scale=1.0, shift=0.0):
    return a * scale + shift


def spread_inside_a_loop_that_appends(x):
    items = [x]
    total = 0.0
    for _ in range(2):
        total = total + scaled_and_shifted(*items)  # one argument, then two
        items.append(np.sin(x))
    return total


def test_found_by_fuzzing_lists_read_as_arrays_and_grown():
    for func in (sums_a_slice_of_a_list, sums_a_list_after_an_append, last_item_after_a_replacement_then_appended):
        np.testing.assert_allclose(adjoint.jacrev(func)(X), numerical_jacobian(func, (X,), 0), rtol=1e-6, atol=1e-8)
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="changes length from one iteration"):
        adjoint.jacrev(spread_inside_a_loop_that_appends)(X)


def adds_in_place(a, b):
    a += b  # exact for adds_in_place itself; NumPy changes the caller's array
    return a


def passes_an_array_to_a_function_that_adds_in_place(x):
    y = np.sin(x)
    total = adds_in_place(y, x)
    return np.concatenate([total, y])


def passes_its_argument_to_a_function_that_adds_in_place(x):
    y = np.cos(x)
    adds_in_place(x, x)  # NumPy doubles the caller's x, which y's derivative reads
    return y


def advance(t, dt):
    t += dt
    return t * t


def passes_numbers_to_a_function_that_adds(x):
    elapsed = advance(np.sum(x), 0.5)  # np.sum gives a number: += re-binds it
    return elapsed + advance(1.0, x[0])


def scales_first_item(items, w):
    items[0] = items[0] * w
    return w


def passes_a_list_to_a_function_that_replaces_an_item(x):
    items = [x * 1.0]
    unused = scales_first_item(items, x[2])
    return np.stack(items)


def test_found_by_fuzzing_callees_that_change_their_arguments():
    for func in (passes_an_array_to_a_function_that_adds_in_place,
                 passes_its_argument_to_a_function_that_adds_in_place):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match=r"changes its argument 'a' in place \(.*:\d+: a \+="):
            adjoint.jacrev(func)(X.copy())
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=r"changes its argument 'items' in place \(.*:\d+: items\[0\] ="):
        adjoint.jacrev(passes_a_list_to_a_function_that_replaces_an_item)(X.copy())
    func = passes_numbers_to_a_function_that_adds
    np.testing.assert_allclose(adjoint.grad(func)(X), numerical_jacobian(func, (X,), 0), rtol=1e-6, atol=1e-8)


def one_array_in_two_slots(x):
    y = np.zeros_like(x)
    items = [y, y]
    y = y * 0.5
    items[0] -= x  # items[1] is the same array
    return np.stack(items)


def view_of_an_item_kept_under_a_name(x):
    y = np.zeros(3)
    items = [y]
    y = y.T  # a view of the item
    for _ in range(1):
        items[0] -= np.tanh(x)
    return y


def item_of_a_tuple_put_twice_in_a_list(x):
    pair = (x * 1.0, x * 2.0)
    held = [pair[0], pair[0]]
    held[-1] *= x
    return sum(pair)


def test_found_by_fuzzing_items_in_two_slots_and_views_of_items():
    for func in (one_array_in_two_slots, view_of_an_item_kept_under_a_name, item_of_a_tuple_put_twice_in_a_list):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match="augmented assignment to an item"):
            adjoint.jacrev(func)(X.copy())


def replaces_the_last_item_then_appends(x):
    items = [x * 1.0]
    items[-1] = np.tanh(x) + items[0]  # the last item now; the first once the list grows
    for i in range(1):
        items.append(items[-1] * 0.5 + np.sin(items[i]))
    return np.mean(items, axis=0)


def test_found_by_fuzzing_negative_keys_of_a_list_that_grows():
    func = replaces_the_last_item_then_appends
    np.testing.assert_allclose(adjoint.jacrev(func)(X), numerical_jacobian(func, (X,), 0), rtol=1e-6, atol=1e-8)


def appends_the_argument_in_a_loop_then_updates_the_last(x):
    items = []
    count = 0
    while count < 3:
        items.append(x)  # the caller's array, three times
        count += 1
    items[-1] -= np.square(items[0])
    return x


def test_found_by_fuzzing_updates_of_items_a_loop_appended():
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="augmented assignment to an item"):
        adjoint.jacrev(appends_the_argument_in_a_loop_then_updates_the_last)(X.copy())


def steps_a_state_dict_in_place(x):
    state = {"pos": x * 1.0, "vel": np.zeros(3)}
    for i in range(3):
        state["vel"][i] += x[i] * 2.0
        state["pos"][i] = state["pos"][i] + state["vel"][i] * 0.1
    return state["pos"] + state["vel"]


def fills_rows_of_a_list(x):
    rows = [np.zeros(3), x * 2.0]
    for i in range(3):
        rows[i % 2][i] = x[i] * x[(i + 1) % 3]
    rows[1][0] *= x[1]
    return np.stack(rows)


def fills_a_grid_of_numbers(x):
    grid = [[0.0, 0.0], [0.0, 0.0]]
    grid[0][1] = x[0] * 2.0
    grid[1][0] += x[1] * x[2]
    return np.array([grid[0][1], grid[1][0], grid[1][1]])


def updates_a_row_held_twice(x):
    row = x * 1.0
    rows = [row, row]
    rows[0][1] = 5.0  # rows[1] is the same array
    return rows[1]


def updates_a_row_a_name_holds(x):
    row = x * 1.0
    rows = [row]
    rows[0][1] = 5.0
    return row


def updates_what_the_next_iteration_put_back(x):
    state = {"a": x * 1.0}
    other = x * 2.0
    for _ in range(2):
        state["a"][0] += x[1]  # the second time state["a"] is other
        state["a"] = other
    return other


def test_in_place_updates_of_items_of_lists_and_dicts():
    for func in (steps_a_state_dict_in_place, fills_rows_of_a_list, fills_a_grid_of_numbers):
        np.testing.assert_allclose(adjoint.vjp(func, X)[0], func(X.copy()))
        for chunk_size in (None, 1):
            np.testing.assert_allclose(adjoint.jacrev(func, chunk_size=chunk_size)(X),
                                       numerical_jacobian(func, (X,), 0), rtol=1e-6, atol=1e-8)
    for func in (updates_a_row_held_twice, updates_a_row_a_name_holds, updates_what_the_next_iteration_put_back):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match="in-place update of an item"):
            adjoint.jacrev(func)(X.copy())


def sine_of_offset(x, b, scale=1.0):
    return scale * (x * b + np.sin(b))


def partial_of_differentiated_values(x):
    w = x * 2.0
    g = functools.partial(sine_of_offset, b=w)  # w is bound now
    w = w + 100.0  # ...so this does not reach g
    return g(x) + g(x, scale=3.0)


def partial_of_a_numpy_function_and_a_nested_one(x):
    def inner(a, b):
        return a * np.cos(b)

    column_sums = functools.partial(np.sum, axis=0)
    h = functools.partial(inner, x)
    return column_sums(np.outer(x, x)) + h(x * x)


def test_partials_made_in_the_function_bind_differentiated_values():
    for func in (partial_of_differentiated_values, partial_of_a_numpy_function_and_a_nested_one):
        np.testing.assert_allclose(adjoint.vjp(func, X)[0], func(X))
        np.testing.assert_allclose(adjoint.jacrev(func)(X), numerical_jacobian(func, (X,), 0), rtol=1e-6, atol=1e-8)


def view_put_in_a_slot_then_updated(x):
    rows = [np.zeros(3), np.zeros(3)]
    rows[0] = rows[1].reshape(3)  # a view of rows[1]
    rows[0][1] = x[0]  # NumPy changes rows[1] too
    return rows[1] * x


def views_in_a_list_literal_updated(x):
    y = np.zeros((2, 3))
    rows = [y[0], y[1]]  # views of y's rows
    rows[0][1] = x[0]
    return y[0] * x


def view_of_the_argument_in_a_dict_updated(x):
    state = {"vel": x.reshape(3)}
    state["vel"][1] += 5.0  # NumPy changes x
    return state["vel"] * x


def partial_bound_to_an_item_then_item_updated(x):
    d = {"w": x * 2.0}
    g = functools.partial(sine_of_offset, b=d["w"])
    d["w"][0] = x[2] * 7.0  # g's b is the same array
    return g(x)


def partial_bound_to_a_view_then_base_updated(x):
    w = np.zeros(3)
    g = functools.partial(sine_of_offset, b=w[:])
    w[0] = x[1] * 4.0
    return g(x)


def partial_chosen_by_a_branch(x):
    if x[0] > 0:
        g = functools.partial(sine_of_offset, b=x * 2.0)
    else:
        g = functools.partial(sine_of_offset, b=x * 3.0)
    return g(x)


def reducer_chosen_by_a_branch(x, mean):
    if mean:
        reduce = functools.partial(np.mean, axis=0)
    else:
        reduce = functools.partial(np.sum, axis=0)
    return reduce(np.outer(x, x))


def counter_read_in_an_index(x):
    total = 0.0
    i = 0
    while i < 2:
        total = total + x[i + 1]  # i + 1 is computed once, here and in i += 1
        i += 1
    return total


def joined_list_of_numbers_filled(x):
    buffer = [0.0] * len(x) + [1.0]
    for i in range(len(x)):
        buffer[i] += x[i] * x[0]
    return np.array(buffer)


def test_found_by_hunting_views_in_slots_partials_and_counters():
    for func in (view_put_in_a_slot_then_updated, views_in_a_list_literal_updated,
                 view_of_the_argument_in_a_dict_updated, partial_bound_to_an_item_then_item_updated):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match="in-place update of an item"):
            adjoint.jacrev(func)(X.copy())
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="in-place update of 'w'"):
        adjoint.jacrev(partial_bound_to_a_view_then_base_updated)(X.copy())
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="functools.partial of differentiated values"):
        adjoint.jacrev(partial_chosen_by_a_branch)(X.copy())
    for mean in (True, False):  # a partial of constants chosen by a branch is a value like any other
        np.testing.assert_allclose(adjoint.jacrev(reducer_chosen_by_a_branch)(X, mean),
                                   numerical_jacobian(reducer_chosen_by_a_branch, (X, mean), 0), rtol=1e-6, atol=1e-8)
    for func in (counter_read_in_an_index, joined_list_of_numbers_filled):
        np.testing.assert_allclose(adjoint.jacrev(func)(X), numerical_jacobian(func, (X,), 0), rtol=1e-6, atol=1e-8)


def repeats_a_list_under_another_name(x):
    items = []
    for _ in range(2):
        items = items + [x * np.sin(x[0])]
    same = items
    return np.stack(same * 2)  # list repetition, not arithmetic


def test_found_by_fuzzing_a_list_under_another_name_is_a_list():
    func = repeats_a_list_under_another_name
    np.testing.assert_allclose(adjoint.jacrev(func)(X), numerical_jacobian(func, (X,), 0), rtol=1e-6, atol=1e-8)


def _star_args_callee(*xs):
    return xs[0] * 2.0


def _calls_star_args(x):
    return _star_args_callee(x) + x


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_a_differentiated_value_passed_to_star_args_is_differentiated(transform):
    # (it was ignored once: the Jacobian of x -> 3 x came out as the identity)
    np.testing.assert_allclose(getattr(adjoint, transform)(_calls_star_args)(np.array([0.3, 0.5])),
                               3.0 * np.eye(2), rtol=1e-12)


def test_starred_argument_of_a_length_known_only_when_the_code_runs():
    def pairs_from_an_argument(x, axes):
        s = 0.0
        for a, b in zip(*axes):
            s = s + x[a] * x[b] ** 2
        return s

    axes = ([0, 1, 2, 0], [1, 2, 0, 0])
    expected = numerical_jacobian(pairs_from_an_argument, (X, axes), 0)
    np.testing.assert_allclose(adjoint.jacrev(pairs_from_an_argument)(X, axes), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacfwd(pairs_from_an_argument)(X, axes), expected, rtol=1e-6, atol=1e-8)


# ----- found by fuzzing: nested functions that change the enclosing
# function's containers, and callees that change their arguments in place

def nested_writes_an_item_of_the_closure(x):
    y = np.zeros(3)

    def g(t):
        y[0] = np.sum(t)
        return t
    z = g(x)
    return y + np.sum(z)


def nested_replaces_a_dict_item(x):
    d = {"a": x}

    def g(t):
        d["a"] = np.sin(t)
        return t
    z = g(x)
    return d["a"] + z


def nested_adds_a_dict_key(x):
    d = {"a": x}

    def g(k, v):
        d[k] = v  # no return: the call's value is None
    g("b", np.cos(x))
    return d["a"] * d["b"]


def nested_appends_to_the_closure(x):
    items = [x]

    def g(t):
        items.append(np.sin(t))
    g(x)
    g(x * x)
    return items[-1] + items[1] * items[0]


def lambda_appends_to_the_closure(x):
    items = []
    push = lambda v: items.append(np.sin(v))  # noqa: E731
    push(x)
    push(x * 2.0)
    return items[0] * items[1]


def nested_accumulates_in_a_loop(x):
    y = np.zeros(3)

    def g(t):
        for i in range(3):
            y[i] = y[i] + t[i] ** 2
    for _ in range(3):
        g(x)
    return y


def nested_writes_in_a_branch(x):
    y = np.ones(3)

    def g(t):
        if np.sum(t) > 0:
            y[1] = np.prod(t)
    g(x)
    g(-x)
    return y * x


def nested_twice_writes_the_closure(x):
    y = np.zeros(3)

    def outer(t):
        def inner(s):
            y[2] = np.sum(s ** 3)
        inner(t)
        return t
    outer(x)
    return y + x


def appends_in_an_expression(x):
    items = []
    unused = items.append(np.sin(x))  # noqa: F841
    return items[0] * x


@pytest.mark.parametrize("func", [
    nested_writes_an_item_of_the_closure, nested_replaces_a_dict_item, nested_adds_a_dict_key,
    nested_appends_to_the_closure, lambda_appends_to_the_closure, nested_accumulates_in_a_loop,
    nested_writes_in_a_branch, nested_twice_writes_the_closure, appends_in_an_expression,
], ids=lambda f: f.__name__)
def test_found_by_fuzzing_nested_functions_change_the_closure(func):
    expected = numerical_jacobian(func, (X,), 0)
    np.testing.assert_allclose(adjoint.jacrev(func)(X), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacfwd(func)(X), expected, rtol=1e-6, atol=1e-8)


def nested_changes_its_parameter(x):
    y = x * 1.0

    def g(t):
        t[0] = np.sum(x)
    g(y)  # NumPy changes y
    return y


def nested_divides_its_parameter(x):
    y = x * 1.0

    def g(t):
        t /= 2.0
    g(y)
    return y


def test_nested_functions_changing_their_parameters_are_refused_with_the_users_names():
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=r"test_calls.py:\d+: in-place update of 't'"):
        adjoint.jacrev(nested_changes_its_parameter)(X)
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=r"augmented assignment to 't'"):
        adjoint.jacfwd(nested_divides_its_parameter)(X)


def halves_in_a_loop(p):
    for _ in range(2):
        p /= 2.0
    return p


def scales_and_takes_mantissas(p):
    p *= 2.0
    return np.frexp(p)[0]  # no derivative: fine while the result is not needed


def result_unused_callee_halves_in_a_loop(x):
    y = x * 1.0
    unused = halves_in_a_loop(y)  # noqa: F841  (NumPy changes y)
    return y * x


def result_unused_callee_scales_in_place(x):
    y = x * 1.0
    unused = scales_and_takes_mantissas(y)  # noqa: F841
    return y * x


def test_found_by_fuzzing_a_callee_changing_its_argument_matters_when_its_result_is_unused():
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with pytest.raises(adjoint.UnsupportedSyntaxError,
                           match=r"test_calls.py:\d+: call of halves_in_a_loop: .* changes its argument 'p' in place"):
            transform(result_unused_callee_halves_in_a_loop)(X.copy())
        with pytest.raises(adjoint.UnsupportedSyntaxError,
                           match=r"changes its argument 'p' in place \(.*:\d+: p \*= 2\.0\)"):
            transform(result_unused_callee_scales_in_place)(X.copy())
