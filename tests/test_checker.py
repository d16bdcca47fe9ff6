"""The checker proves it can fail: a deliberately wrong rule is caught by
both checks, and the same function with the right rule passes them."""
import numpy as np
import pytest

import adjoint
from checker import check_jacobian, check_vjp


def sine_with_wrong_rule(x):
    return np.sin(x)


def sine_with_right_rule(x):
    return np.sin(x)


def sine_with_wrong_shape(x):
    return np.sin(x)


def sine_missing_half(x):
    return np.sin(x)


adjoint.defvjp(sine_with_wrong_rule, lambda ans, x: lambda g: g * np.sin(x))
adjoint.defvjp(sine_with_right_rule, lambda ans, x: lambda g: g * np.cos(x))
adjoint.defvjp(sine_with_wrong_shape, lambda ans, x: lambda g: np.sum(g * np.cos(x)))
# Wrong by a factor 1/2 only on the last element: a check must see every element.
adjoint.defvjp(sine_missing_half, lambda ans, x: lambda g: g * np.cos(x) * np.where(np.arange(x.size) == x.size - 1, 0.5, 1.0))


def uses_wrong_rule(x):
    return sine_with_wrong_rule(x) * 2.0


def uses_right_rule(x):
    return sine_with_right_rule(x) * 2.0


def uses_wrong_shape(x):
    return sine_with_wrong_shape(x)


def uses_missing_half(x):
    return sine_missing_half(x)


def wrong_product_rule_by_hand(x, y):
    return sine_with_wrong_rule(x) * y


X = np.linspace(0.3, 1.7, 5)


@pytest.mark.parametrize("func", [sine_with_wrong_rule, uses_wrong_rule, uses_missing_half], ids=lambda f: f.__name__)
def test_check_vjp_fails_on_a_wrong_rule(func):
    with pytest.raises(AssertionError, match="adjoint identity fails"):
        check_vjp(func, [X])


@pytest.mark.parametrize("func", [sine_with_wrong_rule, uses_wrong_rule, uses_missing_half], ids=lambda f: f.__name__)
def test_check_jacobian_fails_on_a_wrong_rule(func):
    with pytest.raises(AssertionError):
        check_jacobian(func, [X])


def test_checks_fail_on_a_wrong_rule_among_several_inputs():
    y = np.linspace(-1.0, 1.0, 5)
    with pytest.raises(AssertionError):
        check_vjp(wrong_product_rule_by_hand, [X, y])
    with pytest.raises(AssertionError):
        check_jacobian(wrong_product_rule_by_hand, [X, y], argnums=0)
    check_jacobian(wrong_product_rule_by_hand, [X, y], argnums=1)


def test_checks_fail_on_a_wrongly_shaped_adjoint():
    with pytest.raises((AssertionError, ValueError)):
        check_vjp(uses_wrong_shape, [X])


@pytest.mark.parametrize("func", [sine_with_right_rule, uses_right_rule], ids=lambda f: f.__name__)
def test_checks_pass_on_the_right_rule(func):
    check_vjp(func, [X])
    check_jacobian(func, [X])


def test_check_jacobian_fails_when_only_one_chunk_size_is_wrong(monkeypatch):
    """Rows of the Jacobian computed with chunk_size=2 are made wrong; the
    other chunk sizes are right, so only the chunk comparison can see it."""
    import checker

    real_jacrev = adjoint.jacrev

    def jacrev_wrong_for_two(func, argnums=0, chunk_size=None):
        jacobian_fn = real_jacrev(func, argnums, chunk_size=chunk_size)
        if chunk_size != 2:
            return jacobian_fn
        return lambda *args: jacobian_fn(*args) * (1.0 + 1e-12)

    monkeypatch.setattr(checker.adjoint, "jacrev", jacrev_wrong_for_two)
    with pytest.raises(AssertionError, match="chunk_size=2"):
        check_jacobian(uses_right_rule, [X])


def two_outputs_one_wrong(x):
    return {"right": np.cos(x), "wrong": (x * 2.0, sine_with_wrong_rule(x))}


def two_outputs_right(x):
    return {"right": np.cos(x), "also_right": (x * 2.0, sine_with_right_rule(x))}


def test_checks_see_every_leaf_of_a_container_output():
    with pytest.raises(AssertionError):
        check_vjp(two_outputs_one_wrong, [X])
    with pytest.raises(AssertionError):
        check_jacobian(two_outputs_one_wrong, [X])
    check_vjp(two_outputs_right, [X])
    check_jacobian(two_outputs_right, [X])
