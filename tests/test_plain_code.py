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


