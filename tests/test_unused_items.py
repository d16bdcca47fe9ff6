"""Items of tuples, lists and dicts that the output does not depend on:
nobody reads them, or they are replaced before they are read. Their
derivatives are not computed at all; a zero adjoint pulled back through a
rule with an infinite slope (np.cbrt, np.sqrt at 0) would give 0 * inf =
NaN where the answer is finite. Checked at points where those slopes are
infinite, against central finite differences (the unused items do not
enter the output, so differences are exact there) and analytic values."""
import collections

import numpy as np
import pytest

import adjoint
from conftest import assert_trees_close, numerical_jacobian

#: the first entry sits where cbrt and sqrt have infinite slopes
X = np.array([0.0, 0.7, -0.4])
Pair = collections.namedtuple("Pair", "steep plain")


def tuple_item_unused(x):
    pair = (np.cbrt(x), 2 * x)
    return pair[1]


def list_item_unused(x):
    pair = [np.cbrt(x), 2 * x]
    return pair[1]


def dict_item_unused(x):
    d = {"steep": np.sqrt(np.abs(x)), "plain": 2 * x}
    return d["plain"]


def list_item_replaced_then_read(x):
    pair = [np.cbrt(x), 2 * x]
    pair[0] = 3 * x
    return pair[0] + pair[1]


def dict_item_replaced_then_returned(x):
    d = {"steep": np.cbrt(x), "plain": 2 * x}
    d["steep"] = 3 * x
    return d


def unpacked_name_unused(x):
    pair = (np.cbrt(x), 2 * x)
    steep, plain = pair
    return plain


def appended_item_unused(x):
    items = []
    items.append(np.cbrt(x))
    items.append(2 * x)
    return items[-1]


def tuple_read_in_a_loop(x):
    pair = (np.cbrt(x), 2 * x)
    total = 0.0
    for _ in range(2):
        total = total + pair[1]
    return total


def namedtuple_item_unused(x):
    pair = Pair(np.cbrt(x), 2 * x)
    return pair[1] * x


EXPECTED = {
    tuple_item_unused: 2.0, list_item_unused: 2.0, dict_item_unused: 2.0,
    list_item_replaced_then_read: 5.0, unpacked_name_unused: 2.0, appended_item_unused: 2.0,
    tuple_read_in_a_loop: 4.0,
}


@pytest.mark.parametrize("func", list(EXPECTED) + [dict_item_replaced_then_returned, namedtuple_item_unused],
                         ids=lambda f: f.__name__)
def test_items_nobody_reads_get_no_derivative(func):
    expected = numerical_jacobian(func, (X,), 0)
    if func in EXPECTED:  # the analytic Jacobian: a multiple of the identity
        np.testing.assert_allclose(expected, EXPECTED[func] * np.eye(3), atol=1e-6)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with np.errstate(divide="ignore", invalid="ignore"):  # the primal cbrt'(0) itself is not computed
            jacobian = transform(func)(X)
        assert_trees_close(jacobian, expected, rtol=1e-6, atol=1e-8)


def items_read_whole_and_one_by_one(x):
    inner = (np.sin(x), 2 * x)
    outer = [inner]
    return inner[1] + outer[0][0]  # inner's first item through outer: still read


def test_an_item_read_through_another_container_keeps_its_derivative():
    func = items_read_whole_and_one_by_one
    expected = numerical_jacobian(func, (X,), 0)
    np.testing.assert_allclose(expected, np.diag(np.cos(X)) + 2 * np.eye(3), atol=1e-6)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        assert_trees_close(transform(func)(X), expected, rtol=1e-6, atol=1e-8)


# ----- values that the path taken does not use: their adjoints are zeros
# on that path, which a rule with an infinite slope pulls back to zeros too

def branch_takes_the_plain_value(x):
    steep = np.cbrt(x)
    plain = 2 * x
    if np.sum(x) >= 0:
        r = plain
    else:
        r = steep
    return r


def early_return_skips_a_steep_value(x):
    steep = np.sqrt(np.abs(x))
    if np.sum(x) >= 0:
        return 2 * x
    return steep


def early_return_skips_a_container(x):
    pair = (np.cbrt(x), 2 * x)
    if np.sum(x) >= 0:
        return pair[1]
    return pair[0] + pair[1]


def branch_reads_the_other_item(x):
    pair = [np.cbrt(x), 2 * x]
    if np.sum(x) >= 0:
        r = pair[1]
    else:
        r = pair[0]
    return r


def abs_rule_on_an_untaken_path(x):
    steep = np.sqrt(np.abs(x))
    kink = np.abs(steep - 1.0)  # np.abs's rule selects with np.where
    if np.sum(x) >= 0:
        return 2 * x
    return kink


def loop_over_a_container_the_path_taken_skips(x):
    pair = (np.cos(x), np.cbrt(x))
    total = x * 0.0
    for item in pair:  # the loop's adjoints start as zeros: absent ones
        total = total + np.sin(item)
    if np.sum(x) >= 0:
        return 2 * x
    return total


def early_return_from_a_loop_skips_a_steep_value(x):
    steep = np.cbrt(x)
    total = x * 1.0
    for _ in range(3):
        total = np.tanh(total) + 0.1 * steep
        if np.sum(total) > -10.0:
            return 2 * x
    return total


@pytest.mark.parametrize("func", [
    branch_takes_the_plain_value, early_return_skips_a_steep_value, early_return_skips_a_container,
    branch_reads_the_other_item, abs_rule_on_an_untaken_path, loop_over_a_container_the_path_taken_skips,
    early_return_from_a_loop_skips_a_steep_value,
], ids=lambda f: f.__name__)
def test_values_the_path_taken_does_not_use_get_no_nan(func):
    expected = numerical_jacobian(func, (X,), 0)
    np.testing.assert_allclose(expected, 2.0 * np.eye(3), atol=1e-6)  # analytic: the path taken is 2 * x
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with np.errstate(divide="ignore", invalid="ignore"):
            jacobian = transform(func)(X)
        assert type(jacobian) is np.ndarray
        assert_trees_close(jacobian, expected, rtol=1e-6, atol=1e-8)
    with np.errstate(divide="ignore", invalid="ignore"):
        gradient = adjoint.grad(lambda v: np.sum(func(v)))(X)
    assert type(gradient) is np.ndarray
    np.testing.assert_allclose(gradient, 2.0 * np.ones(3), atol=1e-8)
    if func in (loop_over_a_container_the_path_taken_skips, early_return_from_a_loop_skips_a_steep_value):
        return  # (second derivatives through the loop's backward pass: NaN still, at cbrt's 0)
    for outer in (adjoint.jacfwd, adjoint.jacrev):  # second derivatives of 2 * x: zeros
        with np.errstate(divide="ignore", invalid="ignore"):
            second = outer(adjoint.jacrev(func))(X)
        np.testing.assert_array_equal(second, np.zeros((3, 3, 3)))
