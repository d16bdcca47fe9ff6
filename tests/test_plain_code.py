"""Ordinary code that was refused although NumPy shares no memory there:
numbers updated with ``+=`` (``x[0]`` of a 1-d array is a copy), views
that live only inside one statement, views made in a branch that did not
run, method calls on module-level arrays, ``dict(...)`` of values, ``y[i][j]
= v``, and aliasing that only the running code can tell. Each program is
checked against central finite differences (jacrev and jacfwd, and vmap
against a loop over the examples); where NumPy would really share memory
the refusal names the user's line and says why."""
import inspect

import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian

X = np.array([0.3, -0.2, 0.5])
X2 = np.array([[0.3, -0.2, 0.5], [0.7, 0.1, -0.4]])
C = np.array([[1.0, 2.0, -1.0], [0.5, -0.3, 2.0]])
HELD = np.array([1.0, 2.0, 3.0])


def line_of(function, text):
    lines, start = inspect.getsourcelines(function)
    return start + next(i for i, line in enumerate(lines) if text in line)


def check(func, x):
    expected = numerical_jacobian(func, (x.copy(),), 0)
    np.testing.assert_allclose(adjoint.jacrev(func)(x.copy()), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacfwd(func)(x.copy()), expected, rtol=1e-6, atol=1e-8)
    batch = np.stack([x, x * 0.5 + 0.1])
    np.testing.assert_allclose(adjoint.vmap(func)(batch.copy()), np.stack([func(b.copy()) for b in batch]))


def refused(func, x, text, reason, transforms=(adjoint.jacrev, adjoint.jacfwd, adjoint.vmap)):
    """The transforms refuse ``func`` at the line holding ``text``, saying ``reason``."""
    for transform in transforms:
        with pytest.raises(adjoint.UnsupportedSyntaxError) as error:
            transform(func)(x.copy() if transform is not adjoint.vmap else np.stack([x, x]))
        message = str(error.value)
        assert f"test_plain_code.py:{line_of(func, text)}" in message
        assert reason in message
        assert text in message  # the user's line is shown


# ----- 1. numbers updated in place

def adds_to_an_item(x):
    a = x[0]
    a += 1.0
    return a * x[1]


def adds_to_a_sum_of_items(x):
    s = sum([x[0], x[1]])
    s += 1.0
    return s * x[2]


def adds_to_an_item_then_reads_the_array(x):
    a = x[0]
    a += 1.0  # a row of a 2-d x: NumPy changes x too
    return np.sum(x) * a


def test_numbers_updated_with_augmented_assignment():
    check(adds_to_an_item, X)
    check(adds_to_a_sum_of_items, X)
    check(adds_to_an_item_then_reads_the_array, X)
    refused(adds_to_an_item_then_reads_the_array, X2, "a += 1.0", "'a' is an array and it shares memory with x")


# ----- 2. a number updated in a callee

def doubles_its_scale(v, scale):
    scale *= 2.0
    return v * scale


def passes_an_item_to_a_function_that_scales_it(x):
    return doubles_its_scale(x, x[0])


def test_a_number_updated_in_place_by_a_callee():
    check(passes_an_item_to_a_function_that_scales_it, X)
    # A row of a 2-d x is an array: NumPy doubles it in x. The message names
    # the operator the callee uses.
    refused(passes_an_item_to_a_function_that_scales_it, X2, "return doubles_its_scale(x, x[0])",
            "test_plain_code.py:%d: scale *= 2.0), so NumPy changes the value passed here too"
            % line_of(doubles_its_scale, "scale *= 2.0"))


# ----- 3. and 4. views that do not outlive a statement, or were never made

def sets_an_item_to_a_sum_of_a_transpose(x):
    y = x * 2.0
    y[0] = np.sum(y.T)
    return y


def views_in_a_branch_that_may_not_run(x):
    y = x * 2.0
    if x[0] > 100.0:
        z = y[1:]
    else:
        z = y[1:] + 0.0
    y[1] = 5.0  # z is a view of y only if the branch ran
    return y[1:] * z


def test_views_that_do_not_hold_the_updated_array():
    check(sets_an_item_to_a_sum_of_a_transpose, X)
    check(views_in_a_branch_that_may_not_run, X)
    refused(views_in_a_branch_that_may_not_run, X + 200.0, "y[1] = 5.0", "it shares memory with z",
            (adjoint.jacrev, adjoint.jacfwd))
    # (vmap runs a branch on the examples once per example, as NumPy code)
    batch = np.stack([X + 200.0, X])
    np.testing.assert_allclose(adjoint.vmap(views_in_a_branch_that_may_not_run)(batch.copy()),
                               np.stack([views_in_a_branch_that_may_not_run(b.copy()) for b in batch]))


def unpacks_rows_then_updates(x):
    y = x * 2.0
    a, b = y
    y[0] = 5.0  # a is y's first row
    return a * b


def takes_a_slice_in_a_parallel_assignment(x):
    z = x * 2.0
    a, b = z[0:2], 1.0
    z[0] = 5.0  # a views z
    return a * b


def test_views_made_by_unpacking_are_seen():
    # These gave wrong numbers: the names unpacking or a parallel assignment
    # bound were not known to view the array.
    refused(unpacks_rows_then_updates, X2, "y[0] = 5.0", "it shares memory with a")
    refused(takes_a_slice_in_a_parallel_assignment, X, "z[0] = 5.0", "it shares memory with a")
    check(unpacks_rows_then_updates, np.array([0.3, -0.2]))  # rows of a 1-d array are numbers


# ----- 5. a method of a module-level array

def multiplies_by_a_constant_matrix(x):
    return C.dot(x) * C.sum(axis=1) + C.T.dot(C.dot(x))[0]


def test_method_call_on_a_constant_array():
    check(multiplies_by_a_constant_matrix, X)


# ----- 6. dict(...) of differentiated values

def builds_a_dict_with_keywords(x):
    d = dict(a=x[0], b=x[1] * x)
    return d["a"] * d["b"]


def builds_a_dict_from_zip(x):
    d = dict(zip(["a", "b"], [x[0], np.sin(x)]))
    pairs = dict([("c", x[2]), ("d", x * x)])
    return d["a"] * d["b"] + pairs["c"] * pairs["d"]


def test_dict_calls_build_dicts_of_values():
    check(builds_a_dict_with_keywords, X)
    check(builds_a_dict_from_zip, X)


# ----- 7. y[i][j] = v on arrays

def fills_a_grid_item_by_item(x):
    y = np.zeros((3, 2))
    for i in range(3):
        y[i][1] = x[i] ** 2
    y[0][0] = x[0] * x[1]
    y[1:][1] = x[:2]  # the row after the first
    return y


def indexes_with_an_array_then_sets(x):
    y = np.zeros((3, 2))
    rows = np.array([0, 1])
    y[rows][0] = x[:2]  # NumPy sets an item of a copy: y stays zero
    return y + x[:, None]


def test_item_of_an_item_of_an_array():
    check(fills_a_grid_item_by_item, X)
    refused(indexes_with_an_array_then_sets, X, "y[rows][0] = x[:2]", "indexed with an array, which makes a copy")


# ----- 8. aliasing decided when the code runs

def adds_the_rest_to_the_first(x):
    a, b = x[0], x[1:]
    a += b.sum()
    return a * x[0]


def counts_down_the_rows(x):
    T, n = x.shape
    T -= 1
    return x[:T].sum() * n


def doubled(x):
    return x * 2.0


def same(x):
    return x


def tail_of(x):
    return x[1:]


def held_array(x):
    return HELD


def adds_to_a_new_array_from_a_function(x):
    q = doubled(x)
    q += x
    return q * x


def adds_to_the_argument_a_function_returns(x):
    q = same(x)
    q += 1.0
    return q * x


def adds_to_a_view_a_function_returns(x):
    q = tail_of(x)
    q += 1.0
    return q * x[1:]


def adds_to_an_array_a_function_keeps(x):
    q = held_array(x)
    q += x
    return q


def adds_to_a_view_of_a_module_array(x):
    a = HELD[0:2]
    a += x[:2]
    return a


def test_aliasing_seen_when_the_code_runs():
    check(adds_the_rest_to_the_first, X)
    refused(adds_the_rest_to_the_first, X2, "a += b.sum()", "it shares memory with x")
    check(counts_down_the_rows, X2)
    check(adds_to_a_new_array_from_a_function, X)
    for func in (adds_to_the_argument_a_function_returns, adds_to_a_view_a_function_returns,
                 adds_to_an_array_a_function_keeps):
        refused(func, X, "q += ", "'q' may hold an array that another value also holds")
    refused(adds_to_a_view_of_a_module_array, X, "a += x[:2]", "it shares memory with HELD")
    np.testing.assert_array_equal(HELD, [1.0, 2.0, 3.0])


# ----- found while looking for more of the same kind

def updates_after_its_alias_is_rebound(x):
    v = x.copy()
    w = v
    w = w * 2.0  # w no longer holds v's array
    v[0] = 3.0
    return v * w


def adds_to_a_number_in_a_dict(x):
    d = {}
    d["a"] = x[0]
    d["a"] += 1.0
    return d["a"] * x


def adds_to_an_item_of_a_list_of_an_array(x):
    vals = list(x)
    vals[0] += 1.0
    return vals[0] * vals[1] * x


def test_more_updates_that_share_nothing():
    check(updates_after_its_alias_is_rebound, X)
    check(adds_to_a_number_in_a_dict, X)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(transform(adds_to_an_item_of_a_list_of_an_array)(X.copy()),
                                   numerical_jacobian(adds_to_an_item_of_a_list_of_an_array, (X.copy(),), 0),
                                   rtol=1e-6, atol=1e-8)
    # Rows of a 2-d x are views: NumPy would change x.
    refused(adds_to_a_number_in_a_dict, X2, 'd["a"] += 1.0', "the item is an array and it shares memory with x")
    refused(adds_to_an_item_of_a_list_of_an_array, X2, "vals[0] += 1.0",
            "the item is an array and it shares memory with x", (adjoint.jacrev, adjoint.jacfwd))
