"""Wrong numbers and crashes found by outside testing: a value of integer or
boolean type on the way, index tricks (np.r_, np.c_), aliases made by
np.array(copy=False) / np.asarray, statistics over a single element, and
boolean masks in derivative code. Derivatives are checked against analytic
formulas, central differences or autograd."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian

TRANSFORMS = [adjoint.jacrev, adjoint.jacfwd]


# ------------------------------------------------------- boolean masks in rules

@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: t.__name__)
def test_nan_to_num_of_a_difference_whose_masks_meet(transform):
    # The mask np.isfinite(x) was a factor of the adjoint; x - x made the
    # generated code negate it (-mask: TypeError), and a sum of two masks is a
    # logical or, not 2.
    def cancels(x):
        return np.nan_to_num(x - x)

    def masks_add(x):
        y = x * 2.0
        return np.nan_to_num(y + y) - np.nan_to_num(x) * 3.0

    x = np.array([0.5, -1.5, 2.0])
    np.testing.assert_array_equal(transform(cancels)(x), np.zeros((3, 3)))
    np.testing.assert_allclose(transform(masks_add)(x), np.eye(3) * (4.0 - 3.0), rtol=1e-12)
    np.testing.assert_allclose(transform(masks_add)(x), numerical_jacobian(masks_add, (x,)), rtol=1e-6)


# ------------------------------------------------- std / var over one element

def _std_programs():
    def std_of_one(x):
        return np.std(x[:1]) + np.var(x[1:2])

    def length_one_axis(x):
        m = x.reshape(3, 1)
        return np.std(m, axis=1) + np.var(m, axis=1, keepdims=True)[:, 0] + np.nanstd(m, axis=-1)

    def ddof_then_one(x):
        # np.std(x, ddof=1) is finite; a single element with ddof=0 is constant 0
        return np.std(x, ddof=1) * np.std(x[2:], ddof=0) + np.std(x, ddof=1)

    return [std_of_one, length_one_axis, ddof_then_one]


@pytest.mark.parametrize("transform", TRANSFORMS + [adjoint.hessian], ids=lambda t: t.__name__)
@pytest.mark.parametrize("program", _std_programs(), ids=lambda f: f.__name__)
def test_std_and_var_over_a_single_element_have_derivative_zero(program, transform):
    # np.std of one element is identically 0; its derivative was 0 / 0 = NaN.
    x = np.array([0.7, -1.2, 2.5])
    got = np.asarray(transform(program)(x))
    assert np.all(np.isfinite(got))
    if transform is adjoint.hessian:
        first = adjoint.jacrev(program)
        expected = numerical_jacobian(first, (x,), eps=1e-5)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(got, numerical_jacobian(program, (x,)), rtol=1e-6, atol=1e-8)


def test_std_with_ddof_matches_autograd_and_a_single_element_adds_nothing():
    def f(x):
        return np.std(x, ddof=1) + np.std(x[:1]) * x[0]

    def f_ag(x):
        return anp.std(x, ddof=1)

    x = np.array([0.7, -1.2, 2.5, 0.1])
    for transform in TRANSFORMS:
        np.testing.assert_allclose(transform(f)(x), autograd.grad(f_ag)(x), rtol=1e-12)


def test_std_of_equal_elements_gets_the_subgradient_zero_and_no_dof_gets_nan():
    # Equal elements: std is a norm of the deviations, at its kink; 0 is the
    # subgradient (as for np.linalg.norm of a zero vector). N <= ddof: NumPy's
    # value is inf or nan, and so is the derivative, never a finite number.
    def equal_rows(x):
        return np.std(np.stack([x, x * 0.0 + 1.0]), axis=1)

    def no_dof(x):
        return np.var(x[:2], ddof=3)

    x = np.array([0.7, -1.2, 2.5])
    for transform in TRANSFORMS:
        jac = transform(equal_rows)(x)
        np.testing.assert_allclose(jac[0], numerical_jacobian(lambda v: np.std(v), (x,)), rtol=1e-6)
        np.testing.assert_array_equal(jac[1], np.zeros(3))
        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
            assert np.isnan(transform(no_dof)(x)[:2]).all()


# ------------------------------------------- the user's statements as written

def test_forward_mode_keeps_a_multiplication_by_one_that_changes_the_type():
    # jvp's code dropped "* 1" and "* 1.0" from the user's statements: a mask
    # stayed boolean (m + m became a logical or) and integers stayed integers
    # (a float written into them was truncated).
    def mask_times_one(x):
        m = (x > 0) * 1
        return x * (m + m)

    def floats_from_integers(x):
        v = np.arange(3) * 1.0
        v[0] = x[0]
        return v * x

    x = np.array([1.5, -2.0, 3.0])
    for f, value, jac in ((mask_times_one, x * np.array([2.0, 0.0, 2.0]), np.diag([2.0, 0.0, 2.0])),
                          (floats_from_integers, np.array([1.5 ** 2, -2.0, 6.0]), np.diag([3.0, 1.0, 2.0]))):
        out, tangent = adjoint.jvp(f, (x,), (np.ones(3),))
        np.testing.assert_allclose(out, value, rtol=1e-12)
        np.testing.assert_allclose(tangent, jac.sum(axis=1), rtol=1e-12)
        np.testing.assert_allclose(adjoint.jacfwd(f)(x), jac, rtol=1e-12)
        np.testing.assert_allclose(adjoint.jacrev(f)(x), jac, rtol=1e-12)


# --------------------------------------------- integer and boolean casts: flat

def writes_into_integers(x):
    out = np.zeros(3, dtype=int)
    out[0] = x[0] * 2.6
    out[1:] = x[1:] ** 2
    out[2] += x[2]
    flags = np.zeros(3, dtype=bool)
    flags[0] = x[0]
    return out * x + flags * 1.0 + x[1]


def writes_into_integers_in_a_loop(x):
    out = np.zeros(3, dtype=np.int32)
    for i in range(3):
        out[i] = x[i] * 2.6
    return out * x


def reductions_with_an_integer_dtype(x):
    y = x * 2.6
    return (np.sum(y, dtype=int) * x + np.cumsum(y, dtype=int) + np.mean(y, dtype=np.int32) * x
            + y.sum(dtype="int64") + y.cumsum(dtype=np.int16) + np.prod(y, dtype=int) + np.trace(
                np.outer(y, y), dtype=int) + y.astype(int) * x + y.astype(bool) * 1.0
            + np.array(y, dtype=int) + np.asarray(y, dtype=np.uint8) + np.full(3, y[0], dtype=int))


def _written_integers(x):
    """``out`` of writes_into_integers: constant near x (truncated)."""
    return np.array([np.trunc(x[0] * 2.6), np.trunc(x[1] ** 2), np.trunc(np.trunc(x[2] ** 2) + x[2])])


CAST_CASES = {
    # function: its Jacobian, every truncated value a constant
    "writes_into_integers": (writes_into_integers, lambda x: np.diag(_written_integers(x))
                             + np.outer(np.ones(3), [0.0, 1.0, 0.0])),
    "writes_into_integers_in_a_loop": (writes_into_integers_in_a_loop, lambda x: np.diag(np.trunc(x * 2.6))),
    "reductions_with_an_integer_dtype": (
        reductions_with_an_integer_dtype,
        lambda x: np.eye(3) * (np.trunc(x * 2.6).sum() + np.trunc(np.trunc(x * 2.6).sum() / 3)
                               + np.trunc(x * 2.6))),
}


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("name", sorted(CAST_CASES))
def test_derivative_through_an_integer_or_boolean_cast_is_zero(name, transform):
    # The cast truncates: a slope of 1 there was wrong.
    func, expected = CAST_CASES[name]
    x = np.array([1.3, 2.1, 3.05])
    np.testing.assert_allclose(transform(func)(x), expected(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [int, bool, np.int8, float, np.float32])
def test_a_dtype_known_only_when_the_code_runs(dtype):
    def summed(x, dt):
        y = x * 2.6
        return np.sum(y, dtype=dt) * x + y.astype(dt) + np.cumsum(y, dtype=dt)

    def summed_ag(x, dt):
        y = x * 2.6
        return anp.sum(y) * x + y + anp.cumsum(y)

    x = np.array([1.3, 2.1, 3.05])
    if np.dtype(dtype).kind in "biu":
        expected = np.eye(3) * np.sum(x * 2.6, dtype=dtype)
    else:
        expected = autograd.jacobian(summed_ag)(x, dtype)
    rtol = 1e-6 if dtype is np.float32 else 1e-12
    for transform in TRANSFORMS:
        np.testing.assert_allclose(transform(summed)(x, dtype), expected, rtol=rtol)
    if np.dtype(dtype).kind in "biu":
        np.testing.assert_allclose(adjoint.hessian(summed)(x, dtype), np.zeros((3, 3, 3)), atol=0)


# ----------------------------------------------- np.array(copy=False) aliases

def _line(func, text):
    import inspect

    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if text in line)


def writes_through_array_without_copy(x):
    y = x * 1.0
    z = np.array(y, copy=False)  # y itself: NumPy need not copy
    z[0] = 5.0  # WRITE
    return y * 2.0


def writes_through_array_copy_if_needed(x):
    y = x * 1.0
    z = np.array(y, copy=None)
    z[0] = 5.0  # WRITE
    return y * 2.0


def writes_through_asarray(x):
    y = x * 1.0
    z = np.asarray(y)
    z[1] += y[0]  # WRITE
    return y * 2.0


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("func", [
    writes_through_array_without_copy,
    pytest.param(writes_through_array_copy_if_needed,
                 marks=pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.0.0",
                                          reason="np.array(copy=None) is NumPy 2's")),
    writes_through_asarray], ids=lambda f: f.__name__)
def test_a_write_through_an_array_that_may_share_memory_is_refused_at_its_line(func, transform):
    # NumPy changes y too; derivative code updated a copy (y kept x's slope).
    x = np.array([0.5, -1.0, 2.0])
    assert not np.allclose(func(x.copy()), 2.0 * x)  # the plain call does change y
    with pytest.raises(adjoint.UnsupportedSyntaxError) as error:
        transform(func)(x)
    assert f"test_wrong_numbers.py:{_line(func, '# WRITE')}" in str(error.value)
    assert "memory" in str(error.value) and "copy" in str(error.value)


NUMPY_1 = np.lib.NumpyVersion(np.__version__) < "2.0.0"


@pytest.mark.skipif(NUMPY_1, reason="np.asarray(copy=) and np.array(copy=None) are NumPy 2's")
@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: t.__name__)
def test_array_with_copy_true_or_a_dtype_is_a_copy_that_may_be_written(transform):
    def copies(x):
        y = x * 1.0
        z = np.array(y, copy=True)
        z[0] = 5.0
        w = np.asarray(y, copy=True)
        w[1] = w[2] * 3.0
        return y * 2.0 + z * w

    def copies_ag(x):
        y = x * 1.0
        z = anp.concatenate([anp.array([5.0]), y[1:]])
        w = anp.stack([y[0], y[2] * 3.0, y[2]])
        return y * 2.0 + z * w

    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(transform(copies)(x), autograd.jacobian(copies_ag)(x), rtol=1e-12)


# ----------------------------------------------------- index tricks: r_ and c_

C = np.array([3.0, -1.0])


def r_arrays_and_constants(x):
    return np.r_[x, C] * np.r_[x[0], x ** 2, 0:1]


def r_with_slices_and_directives(x):
    return np.r_[x, C, 1:3] + np.r_[0:1:4j, x] * np.r_["0,2", x, x * 2].sum(axis=0)[0] + np.r_[x[1]].sum()


def c_columns(x):
    return np.c_[x, C * x[0], x] @ np.r_[x[:2], 1.5] + np.c_[np.outer(x[:2], x[1:]), x[:2]].sum(axis=1)


@pytest.mark.parametrize("transform", TRANSFORMS + [adjoint.hessian], ids=lambda t: t.__name__)
@pytest.mark.parametrize("func", [r_arrays_and_constants, r_with_slices_and_directives, c_columns],
                         ids=lambda f: f.__name__)
def test_index_tricks_are_differentiated_as_the_join_they_make(func, transform):
    # np.r_[x, c] was an index of np.r_, and an index has no derivative: all zeros.
    x = np.array([0.7, -1.2])
    got = transform(func)(x)
    if transform is adjoint.hessian:
        expected = numerical_jacobian(adjoint.jacrev(func), (x,), eps=1e-5)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(got, numerical_jacobian(func, (x,)), rtol=1e-6, atol=1e-8)
        assert np.abs(got).sum() > 0
