"""Checks in the style of autograd's own gradient tests (a function, its
keyword arguments fixed, differentiated to second order), each written
for a defect that running that style of check against adjoint found.

References are independent of adjoint: autograd (installed) on the same
code with ``np`` read as ``autograd.numpy``, or central finite differences.
"""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint


# ---------------------------------------------------------------- keywords through nested transforms
# A keyword argument of the call of a nested transform (``jacfwd(jacrev(f))(x,
# axis=0)``) is passed to ``f`` and not differentiated, as it is for a single
# transform (SPEC.md, section 7). The derivative function written for the
# inner transform took positional parameters only, so the call raised
# TypeError from generated code.

def sum_sin(x, axis=None, keepdims=False):
    return np.sin(np.sum(x * x, axis=axis, keepdims=keepdims))


def sum_sin_twin(x, axis=None, keepdims=False):
    return anp.sin(anp.sum(x * x, axis=axis, keepdims=keepdims))


NESTED = [
    ("jacfwd(jacrev)", lambda f: adjoint.jacfwd(adjoint.jacrev(f))),
    ("jacrev(jacrev)", lambda f: adjoint.jacrev(adjoint.jacrev(f))),
    ("jacrev(jacfwd)", lambda f: adjoint.jacrev(adjoint.jacfwd(f))),
    ("hessian", adjoint.hessian),
]


@pytest.mark.parametrize("name,nested", NESTED, ids=[n for n, _ in NESTED])
def test_keywords_reach_the_function_of_a_nested_transform(name, nested):
    x = np.random.RandomState(0).randn(2, 3)
    for kwargs in ({"axis": 0}, {"axis": 1, "keepdims": True}):
        got = nested(sum_sin)(x, **kwargs)
        want = autograd.jacobian(autograd.jacobian(lambda v: sum_sin_twin(v, **kwargs)))(x)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_keywords_reach_a_numpy_function_under_a_nested_transform():
    x = np.random.RandomState(1).randn(3, 4)
    got = adjoint.jacfwd(adjoint.jacrev(np.prod))(x, axis=1)
    want = autograd.jacobian(autograd.jacobian(lambda v: anp.prod(v, axis=1)))(x)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_grad_of_grad_with_a_keyword():
    def scaled_cube(x, scale=1.0):
        return scale * x ** 3

    got = adjoint.grad(adjoint.grad(scaled_cube))(1.5, scale=2.0)
    assert got == pytest.approx(2.0 * 6 * 1.5)


def test_third_order_with_keywords():
    x = np.random.RandomState(2).randn(3)
    got = adjoint.jacfwd(adjoint.jacfwd(adjoint.jacrev(sum_sin)))(x, axis=0)
    want = autograd.jacobian(autograd.jacobian(autograd.jacobian(lambda v: sum_sin_twin(v, axis=0))))(x)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


# ---------------------------------------------------------------- operator functions
# ``operator.mul`` and its kin, handed to a transform (jacrev(operator.mul))
# or called in differentiated code (result = operator.mul(result, item)),
# were refused as functions without source or rule. They are the
# expressions they stand for: operator.mul(a, b) is a * b.
import operator  # noqa: E402

OPERATOR_TWINS = [
    (operator.add, anp.add), (operator.sub, anp.subtract), (operator.mul, anp.multiply),
    (operator.truediv, anp.true_divide), (operator.pow, anp.power), (operator.mod, anp.mod),
]


@pytest.mark.parametrize("op_function,twin", OPERATOR_TWINS, ids=[o.__name__ for o, _ in OPERATOR_TWINS])
def test_an_operator_function_handed_to_a_transform(op_function, twin):
    rng = np.random.RandomState(3)
    x, y = rng.uniform(0.5, 1.5, (3, 2)), rng.uniform(1.6, 2.0, (1, 2))
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        got = transform(op_function, argnums=(0, 1))(x, y)
        for position in (0, 1):
            want = autograd.jacobian(twin, position)(x, y)
            np.testing.assert_allclose(got[position], want, rtol=1e-10, atol=1e-12)
    got = adjoint.hessian(lambda a, b: op_function(a, b).sum(), (0, 1))(x, y)
    want = autograd.hessian(lambda a: twin(a, y).sum())(x)
    np.testing.assert_allclose(got[0][0], want, rtol=1e-9, atol=1e-12)


def product_of(items):
    result = items[0]
    for item in items[1:]:
        result = operator.mul(result, item)
    return result


def test_operator_functions_called_in_differentiated_code():
    def f(x):
        return operator.neg(operator.matmul(x, x)) + product_of([x[0], x[1], x[2]])

    x = np.array([0.5, -1.2, 2.0])
    got = adjoint.grad(f)(x)
    want = -2 * x + np.array([x[1] * x[2], x[0] * x[2], x[0] * x[1]])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_an_operator_function_keeps_python_semantics_on_lists():
    def repeated(a):
        return np.array(operator.add([a, 2.0 * a], [a * a]))

    np.testing.assert_allclose(adjoint.jacrev(repeated)(1.5), [1.0, 2.0, 3.0])


# ---------------------------------------------------------------- np.gradient handed to a transform
def test_np_gradient_handed_to_a_transform():
    x = np.random.RandomState(4).randn(4, 5)
    for kwargs in ({}, {"axis": 1}):
        want = autograd.jacobian(lambda v: anp.stack(anp.gradient(v, **kwargs)) if "axis" not in kwargs
                                 else anp.gradient(v, **kwargs))(x)
        for transform in (adjoint.jacrev, adjoint.jacfwd):
            got = transform(np.gradient)(x, **kwargs)
            got = np.stack(got) if isinstance(got, (list, tuple)) else got
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)



# ---------------------------------------------------------------- integer casts
def test_an_integer_cast_is_a_constant_index():
    def pick(w):
        rows = np.int64(w[:, -1])
        return np.sum(w[:, :-1][rows] ** 2)

    w = np.random.RandomState(5).randn(5, 4)
    w[:, -1] = [1.0, 0.0, 2.0, 3.0, 1.0]
    want = autograd.grad(lambda v: anp.sum(v[:, :-1][anp.int64(v[:, -1])] ** 2))(w)
    np.testing.assert_allclose(adjoint.grad(pick)(w), want, rtol=1e-12)


# ---------------------------------------------------------------- a Python function with a rule, handed to a transform
# scipy.special.logsumexp is Python code with a rule of adjoint's. Handed to a
# transform directly (jacrev(special.logsumexp), as autograd's combo_check
# does) its source, SciPy's internals, was transformed instead of its rule
# applied, and refused ("name 'xp' is read before it is assigned").
import scipy.special as special  # noqa: E402
import autograd.scipy.special as aspecial  # noqa: E402


def test_a_python_function_with_a_rule_is_differentiated_by_its_rule():
    x = np.random.RandomState(6).randn(3, 4)
    for kwargs in ({}, {"axis": 0}, {"axis": 1, "keepdims": True}):
        want = autograd.jacobian(lambda v: aspecial.logsumexp(v, **kwargs))(x)
        for transform in (adjoint.jacrev, adjoint.jacfwd):
            np.testing.assert_allclose(transform(special.logsumexp)(x, **kwargs), want, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- axis of softmax / logsumexp at second order
# hessian of a function calling special.logsumexp(x, axis=axis) with axis a
# parameter (even left at its default) was refused: in the generated VJP,
# differentiated again, axis reached special.softmax's rule as a value that
# might carry a derivative. axis is declared constant in these rules.
def logsumexp_along(x, axis=0):
    return special.logsumexp(x, axis=axis)


def log_softmax_along(x, axis):
    return np.sum(special.log_softmax(x, axis=axis) * special.softmax(x, axis=axis))


def test_second_order_through_logsumexp_with_an_axis_parameter():
    x = np.random.RandomState(7).randn(3, 4)
    for axis in (0, 1):
        want = autograd.jacobian(autograd.jacobian(lambda v: aspecial.logsumexp(v, axis=axis)))(x)
        np.testing.assert_allclose(adjoint.hessian(logsumexp_along)(x, axis), want, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(adjoint.jacrev(adjoint.jacrev(logsumexp_along))(x, axis), want,
                                   rtol=1e-9, atol=1e-12)


def test_second_order_through_softmax_with_an_axis_parameter():
    x = np.random.RandomState(8).randn(2, 3)
    got = adjoint.hessian(log_softmax_along)(x, 1)
    step = 1e-5
    flat = x.ravel()
    columns = []
    for k in range(flat.size):
        e = np.zeros_like(flat)
        e[k] = step
        plus = adjoint.grad(log_softmax_along)((flat + e).reshape(x.shape), 1)
        minus = adjoint.grad(log_softmax_along)((flat - e).reshape(x.shape), 1)
        columns.append(((plus - minus) / (2 * step)).ravel())
    np.testing.assert_allclose(got.reshape(flat.size, flat.size), np.stack(columns, axis=1), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- np.iscomplex and kin
# A test of a value's kind (np.iscomplex(x)) in differentiated code was
# refused at second order ("no forward-mode rule for np.iscomplex").
def cube_unless_complex(x):
    return np.real(x * x if np.iscomplex(x) else np.sum(x ** 3))


def test_kind_tests_carry_no_derivative():
    assert adjoint.grad(cube_unless_complex)(1.5) == pytest.approx(3 * 1.5 ** 2)
    assert adjoint.hessian(cube_unless_complex)(1.5) == pytest.approx(6 * 1.5)
    assert adjoint.grad(adjoint.grad(cube_unless_complex))(-0.5) == pytest.approx(6 * -0.5)


def test_jacfwd_of_np_append_of_a_list_argument():
    # A list argument's tangent is a list of its items' tangents: the append
    # tangent took it for one array (AttributeError inside the library).
    items, value = [1.0, 2.0, 3.0], 4.0
    forward = adjoint.jacfwd(np.append, argnums=(0, 1))(items, value)
    reverse = adjoint.jacrev(np.append, argnums=(0, 1))(items, value)
    eye = np.eye(4)
    for k in range(3):
        np.testing.assert_array_equal(forward[0][k], eye[:, k])
        np.testing.assert_array_equal(reverse[0][k], eye[:, k])
    np.testing.assert_array_equal(forward[1], eye[:, 3])
