"""Wrong numbers and crashes found by the random-program fuzzer
(tools/fuzz_transforms.py), each shrunk to a few lines and checked against
an independent reference (central differences, a Python loop for vmap)."""
import math
import warnings

import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian


def nested_def_after_early_returns(x, y):
    if x[0] > 5.0:
        return x
    for _ in range(2):
        if x[1] > 5.0:
            return x

    def g(u):
        return u * y + x
    return g(y)


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_nested_function_defined_after_early_returns(transform):
    # the def sat in the code guarded by two early returns: the merge of the
    # outer guard copied the inner guard's (never assigned) function name
    x, y = np.array([0.1, 0.2]), np.array([0.5, 0.7])
    for argnum in (0, 1):
        got = transform(nested_def_after_early_returns, argnums=argnum)(x, y)
        np.testing.assert_allclose(got, numerical_jacobian(nested_def_after_early_returns, (x, y), argnum),
                                   rtol=1e-6, atol=1e-8)


def shared_update_by_batch(x, y):
    y += x
    return y * 1.0


def shared_update_by_batch_looped(x, y):
    for _ in x:  # a loop over batched values: vmap runs the function once per example
        pass
    y += x
    return y * 1.0


@pytest.mark.parametrize("func", [shared_update_by_batch, shared_update_by_batch_looped])
def test_vmap_refuses_a_shared_argument_updated_per_example(func):
    # y (in_dims None) is one array for every example: each example wrote
    # its own value into it, the last (or all, one after the other) won
    X, y = np.arange(6.0).reshape(3, 2), np.array([10.0, 20.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(adjoint.UnsupportedSyntaxError, match=r"test_fuzz_findings.py:\d+: in-place update "
                           r"of argument 'y'.*under vmap.*in_dims None"):
            adjoint.vmap(func, in_dims=(0, None))(X, y)


def shared_update_looped(x, y):
    for _ in x:
        pass
    y += 1.0
    y[0] = y[0] * 2.0
    return y * x


def test_vmap_once_per_example_updates_a_shared_argument_once():
    # the per-example loop handed every example the caller's y, which each
    # example changed again: example k saw y changed k + 1 times
    X, y = np.arange(6.0).reshape(3, 2), np.array([10.0, 20.0])
    expected, changed = [], None
    for row in X:  # the reference: each example gets the value y had at the call
        changed = y.copy()
        expected.append(shared_update_looped(row, changed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = adjoint.vmap(shared_update_looped, in_dims=(0, None))(X, y)
    np.testing.assert_array_equal(got, np.stack(expected))
    np.testing.assert_array_equal(y, changed)  # the caller's array changed once, as each example changed it


def updates_a_name_that_may_alias(x):
    w = np.sin(x)
    if x[0] > 0:
        v = w  # w and v are one array on this path only
    else:
        v = x * 3.0
    u = v * 2.0
    w += 1.0
    return np.sum(w * u)


SECOND_ORDER = [adjoint.hessian, lambda f: adjoint.jacrev(adjoint.jacrev(f)),
                lambda f: adjoint.jacfwd(adjoint.jacfwd(f))]


@pytest.mark.parametrize("second", SECOND_ORDER, ids=["hessian", "jacrev2", "jacfwd2"])
def test_second_order_of_an_update_checked_for_aliasing_when_it_runs(second):
    # the first-order code checks w's aliasing with rt.check_unshared(...,
    # locals(), ...), which differentiating it again refused (locals())
    x = np.array([-0.3, 0.5, 0.7])
    # x[0] < 0: sum(6 x (sin x + 1)), whose Hessian is diag(6 (2 cos x - x sin x))
    np.testing.assert_allclose(second(updates_a_name_that_may_alias)(x),
                               np.diag(6.0 * (2.0 * np.cos(x) - x * np.sin(x))), rtol=1e-10, atol=1e-12)
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="shares memory with v"):
        second(updates_a_name_that_may_alias)(-x)  # still checked in the derivative of the derivative


def outer_mean(x):
    return np.sum(np.outer(x, np.sin(x)).mean(axis=0) ** 2)


def test_third_order_through_the_outer_product():
    # the second-order helper of np.outer computes a shape with the
    # runtime's _shape(a), whose result counted as differentiated when the
    # helper's source was differentiated for the third order
    import autograd
    import autograd.numpy as anp

    def twin(x):
        return anp.sum(anp.mean(anp.outer(x, anp.sin(x)), axis=0) ** 2)

    x = np.array([0.3, -0.5, 0.7])
    third = adjoint.jacfwd(adjoint.hessian(outer_mean))(x)
    expected = numerical_jacobian(autograd.hessian(twin), (x,), 0, eps=1e-5)
    np.testing.assert_allclose(third, expected, rtol=1e-6, atol=1e-7)


def scales_the_tail(x, y):
    x[1:] *= 2.0
    return np.sum(x * y)


def adds_in_place(x, y):
    x += y
    return x * y


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd, adjoint.grad])
def test_argument_changed_in_place_that_shares_memory_with_another_is_refused(transform):
    # f(a, a[::-1]): x's update changed y too, and the derivative (of the
    # values at entry, each argument apart) read y after the change:
    # [1.4, -2.0, 0.6] where the derivative of the values at entry is [0.7, -1.0, 0.6]
    a = np.array([0.3, -0.5, 0.7])
    func = scales_the_tail if transform is adjoint.grad else adds_in_place
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="argument 'x'.*shares memory with argument 'y'"):
        transform(func)(a, a[::-1])
    np.testing.assert_array_equal(a, [0.3, -0.5, 0.7])  # refused before anything changed
    # arrays that do not share memory: the derivative of the values at entry
    x, y = a.copy(), a[::-1].copy()
    expected = numerical_jacobian(lambda x, y: func(x.copy(), y), (x, y), 0)
    np.testing.assert_allclose(transform(func)(x, y), expected, rtol=1e-6, atol=1e-8)


def scales_an_int_array(x, n):
    m = n * 1.0  # a new float array
    m[0] = 0.5
    return x * m


def scales_a_range(x):
    m = np.arange(3) ** 1 * 1.0
    m[1] = 0.25
    return x * m


@pytest.mark.parametrize("func, args", [
    (scales_an_int_array, (np.array([0.3, -0.5, 0.7]), np.array([1, 2, 3]))),
    (scales_a_range, (np.array([0.3, -0.5, 0.7]),)),
])
def test_forward_mode_keeps_the_users_multiplication_by_one(func, args):
    # forward mode simplified the user's n * 1.0 to n: m stayed an int array
    # and m[0] = 0.5 stored 0 (value and Jacobian silently wrong)
    expected = numerical_jacobian(func, args, 0)
    np.testing.assert_allclose(adjoint.jacfwd(func)(*args), expected, rtol=1e-6, atol=1e-8)
    value, tangent = adjoint.jvp(lambda x: func(x, *args[1:]), (args[0],), (np.ones(3),))
    np.testing.assert_array_equal(value, func(*args))
    np.testing.assert_allclose(tangent, expected.sum(axis=1), rtol=1e-6, atol=1e-8)


def cube_of_the_larger(x):
    v = sorted([x, x * 2.0], key=lambda r: r[0])[1]
    return np.sum(v ** 3)


def test_third_order_of_sorted_with_a_key():
    # the second-order code passed the key lambda by a name (t = lambda ...),
    # which differentiating it again refused as a nested function used as a value
    x = np.array([0.3, -0.5, 0.7])  # x[0] > 0: the larger is 2 x, and the function is 8 sum(x ** 3)
    third = adjoint.jacfwd(adjoint.hessian(cube_of_the_larger))(x)
    expected = np.zeros((3, 3, 3))
    expected[np.arange(3), np.arange(3), np.arange(3)] = 48.0
    np.testing.assert_allclose(third, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(adjoint.jacrev(adjoint.jacrev(adjoint.grad(cube_of_the_larger)))(x), expected,
                               rtol=1e-10, atol=1e-10)


def zips_names_and_values(x, y):
    items = {k: v for k, v in zip("abc", x)}
    total = 0.0
    for name, v in zip("ab", y):
        total = total + v * items[name]
    return max(items.values()) * y + total


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_zip_over_a_string(transform):
    # zip("abc", x) was refused when it ran: "a for loop over a str that
    # holds differentiated values" (a str is a sequence of its characters)
    x, y = np.array([0.3, -0.5, 0.7]), np.array([0.9, 0.4, -0.6])
    for argnum in (0, 1):
        np.testing.assert_allclose(transform(zips_names_and_values, argnums=argnum)(x, y),
                                   numerical_jacobian(zips_names_and_values, (x, y), argnum), rtol=1e-6, atol=1e-8)


def reads_a_list_backwards(x, y):
    items = [x, y, x * y, y * 2.0]
    back = items[::-1]
    every_other = items[-1::-2]
    head = items[2::-1]
    return sum(back[1:]) + every_other[1] * 2.0 + head[0] * head[-1]


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_list_slices_with_a_negative_step(transform):
    # items[::-1] of a list was read as items[len - 1:-1:-1], an empty list:
    # the value (vjp's too) and the derivative were silently wrong
    x, y = np.array([0.3, -0.5, 0.7]), np.array([0.9, 0.4, -0.6])
    value, _ = adjoint.vjp(reads_a_list_backwards, x, y)
    np.testing.assert_array_equal(value, reads_a_list_backwards(x, y))
    for argnum in (0, 1):
        np.testing.assert_allclose(transform(reads_a_list_backwards, argnums=argnum)(x, y),
                                   numerical_jacobian(reads_a_list_backwards, (x, y), argnum), rtol=1e-6, atol=1e-8)


def extends_a_list(x, y):
    items = [x]
    items.extend([y, x * y])
    return sum(items)


def inserts_and_pops(x, y):
    items = [x, y, x * y]
    items.insert(0, y * 2.0)
    last = items.pop()
    return (items[0] + items[1] * 3.0) * last


def updates_a_dict(x, y):
    d = {"a": x}
    d.update({"b": y * 3.0})
    d.setdefault("c", x * y)
    return d["a"] + d["b"] * d["c"]


def appends_to_a_list_in_a_dict(x, y):
    d = {"a": [x, y], "b": [y]}
    d["a"].append(x * y)
    return sum(d["a"]) + d["b"][0]


def repeats_a_list(x, y):
    items = [x, y] * 2
    return np.stack(items).sum(axis=0) + items[3]


def calls_math(x, y):
    return math.exp(x[0]) * y + math.atan2(x[1], 2.0)


@pytest.mark.parametrize("func", [extends_a_list, inserts_and_pops, updates_a_dict, appends_to_a_list_in_a_dict,
                                  repeats_a_list, calls_math])
def test_vmap_of_list_and_dict_methods_and_math(func):
    # vmap ran items.extend(...) / .pop() / d.update(...) on each example's
    # copy of the list (the update was lost: silently wrong values, or a
    # KeyError), multiplied [x, y] * 2 by a batch of 2s, and called math.exp
    # on a batch (TypeError)
    X = np.array([[0.3, -0.5, 0.7], [0.9, 0.1, -0.2], [-0.4, 0.8, 0.6]])
    Y = np.array([[0.9, 0.4, -0.6], [0.2, -0.7, 0.5], [0.1, 0.3, -0.9]])
    expected = np.stack([func(a, b) for a, b in zip(X, Y)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(adjoint.vmap(func)(X, Y), expected, rtol=1e-12, atol=1e-12)
        if func not in (repeats_a_list, calls_math):
            return  # (list and dict methods that update are not differentiated)
        expected_jacobians = np.stack([numerical_jacobian(func, (a, b), 0) for a, b in zip(X, Y)])
        np.testing.assert_allclose(adjoint.vmap(adjoint.jacfwd(func))(X, Y), expected_jacobians,
                                   rtol=1e-6, atol=1e-8)


def loops_in_a_branch(x, n):
    if x[0] > 0:
        for i in range(n):  # no iteration when n == 0: i and t stay unbound
            t = x * i
    return x * 2.0


def loop_variable_kept_from_before(x, n):
    i = 1.0
    s = x * 1.0
    if x[0] > 0:
        for i in range(n):
            s = s + np.sin(x) * i
    return s * i  # n == 0: the i from before the loop


def while_after_an_early_return(x, n):
    if np.max(x) > 5.0:
        return x
    for _ in range(2):
        k = 0
        while np.sum(x ** 2) * n > 100.0 and k < 4:  # no iteration
            k += 1
    return x * x


@pytest.mark.parametrize("func", [loops_in_a_branch, loop_variable_kept_from_before, while_after_an_early_return])
@pytest.mark.parametrize("n", [0, 3])
def test_loop_with_no_iteration_inside_a_branch(func, n):
    # the merge after the branch copied the loop's own names (its target, its
    # body's), which a loop that runs no iteration leaves unbound:
    # UnboundLocalError in the generated code, at first order or at second
    x = np.array([0.3, -0.5, 0.7])
    expected = numerical_jacobian(func, (x, n), 0)
    np.testing.assert_allclose(adjoint.jacrev(func)(x, n), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacfwd(func)(x, n), expected, rtol=1e-6, atol=1e-8)
    jacobian = adjoint.jacrev(func)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacrev(func))(x, n),
                               numerical_jacobian(jacobian, (x, n), 0, eps=1e-5), rtol=1e-5, atol=1e-6)


def make_scale(c):
    return lambda t: t * c + np.sin(t)


def make_scale_of_a_copy(c):
    kept = c * 1.0
    return lambda t: t * kept


def updates_what_a_closure_keeps(x):
    c = x * 2.0
    g = make_scale(c)
    c[0] = 10.0  # g's c is this array: Python's g reads 10.0
    return g(x)


def adds_to_what_a_closure_keeps(x):
    c = x * 2.0
    g = make_scale(c)
    c += 1.0
    return g(x)


def updates_after_a_closure_of_a_copy(x):
    c = x * 2.0
    g = make_scale_of_a_copy(c)
    c[0] = 10.0  # g keeps its own copy
    return g(x) + c


def rebinds_after_making_a_closure(x):
    c = x * 2.0
    g = make_scale(c)
    c = x * 3.0  # a new value: g keeps the old one
    return g(x) * c


@pytest.mark.parametrize("func", [updates_what_a_closure_keeps, adds_to_what_a_closure_keeps])
@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd, lambda f: adjoint.vmap(f)])
def test_update_in_place_of_a_value_a_factory_closure_keeps_is_refused(func, transform):
    # the inlined closure read c's value before the update (Python's reads
    # the updated array): value and derivative silently wrong
    x = np.array([0.3, -0.5, 0.7])
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="shares memory with the value 'c' of a closure"):
        transform(func)(x if transform in (adjoint.jacrev, adjoint.jacfwd) else x[None])


@pytest.mark.parametrize("func", [updates_after_a_closure_of_a_copy, rebinds_after_making_a_closure])
@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_closures_of_copies_and_rebound_names_are_exact(func, transform):
    x = np.array([0.3, -0.5, 0.7])
    np.testing.assert_allclose(transform(func)(x), numerical_jacobian(func, (x,), 0), rtol=1e-6, atol=1e-8)


def updates_a_default_value(x):
    c = x * 2.0

    def h(t, k=c):  # k is c's array, evaluated once, where h is defined
        return t * k
    c[0] = 10.0
    return h(x)


def adds_to_a_lambdas_default(x):
    c = x * 2.0
    h = lambda t, k=c: t * k  # noqa: E731
    c += 1.0
    return h(x)


def rebinds_after_a_default_value(x):
    c = x * 2.0
    h = lambda t, k=c: t * k  # noqa: E731
    c = x * 3.0  # h keeps the old array
    return h(x) * c


@pytest.mark.parametrize("func", [updates_a_default_value, adds_to_a_lambdas_default])
@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_update_in_place_of_a_default_value_is_refused(func, transform):
    # the default (evaluated where the function is defined, as Python does)
    # was copied under a name of its own, and the update did not reach it
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="shares memory with the default value of"):
        transform(func)(np.array([0.3, -0.5, 0.7]))


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_default_value_kept_when_the_name_is_rebound(transform):
    x = np.array([0.3, -0.5, 0.7])
    np.testing.assert_allclose(transform(rebinds_after_a_default_value)(x),
                               numerical_jacobian(rebinds_after_a_default_value, (x,), 0), rtol=1e-6, atol=1e-8)


def stack_all(*vs, w=1.0):
    return w * np.stack(vs).sum(axis=0)


def star_call_of_a_grown_list(x, y):
    parts = [x, y]
    if np.sum(x) > 0:
        parts.append(x * y)
    return np.sum(stack_all(*parts, w=0.5) ** 2)


def test_second_order_of_a_star_call_laid_out_at_run_time():
    # (the helper that lays the call out was differentiated by its source,
    # with no specialization for its *pieces: IndexError deep in the transform;
    # then refused; now the call's callee is transformed when it runs)
    x, y = np.array([0.3, -0.5, 0.7]), np.array([0.9, 0.4, -0.6])
    np.testing.assert_allclose(adjoint.grad(star_call_of_a_grown_list)(x, y),
                               numerical_jacobian(star_call_of_a_grown_list, (x, y), 0), rtol=1e-6, atol=1e-8)
    gradient = adjoint.grad(star_call_of_a_grown_list)
    expected = numerical_jacobian(lambda v: gradient(v, y), (x,), 0)
    # (every composition: tests/test_dynamic_second_order.py)
    np.testing.assert_allclose(adjoint.hessian(star_call_of_a_grown_list)(x, y), expected, rtol=1e-6, atol=1e-7)


def cube_if_any_large(x):
    if any(v > 0.5 for v in x) and all(abs(v) < 2 for v in x):
        return np.sum(x ** 3)
    return np.sum(x ** 2)


@pytest.mark.parametrize("second", SECOND_ORDER, ids=["hessian", "jacrev2", "jacfwd2"])
def test_second_order_of_any_and_all_over_a_generator(second):
    # generated code keeps (v > 0.5 for v in x) under a name of its own,
    # which differentiating it again refused as a generator kept as a value
    x = np.array([0.3, -0.5, 0.7])  # x[2] > 0.5: the sum of cubes, whose Hessian is diag(6 x)
    np.testing.assert_allclose(second(cube_if_any_large)(x), np.diag(6.0 * x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(second(cube_if_any_large)(x * 0.1), 2.0 * np.eye(3), rtol=1e-10, atol=1e-12)


def sums_squares_from_a_numpy_zero(x):
    total = np.float64(0.0)
    for v in x:
        total += v ** 2  # a NumPy number: += re-binds it
    return total


def starts_from_a_numpy_number(x):
    total = np.float64(x[0])
    total += x[1]
    return total * x


@pytest.mark.parametrize("func", [sums_squares_from_a_numpy_zero, starts_from_a_numpy_number])
@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_numpy_number_accumulators(func, transform):
    # total = np.float64(0.0); total += v was refused (total "may hold an
    # array"), and np.float64(x[0]) had no rule
    x = np.array([0.3, -0.5, 0.7])
    np.testing.assert_allclose(transform(func)(x), numerical_jacobian(func, (x,), 0), rtol=1e-6, atol=1e-8)
