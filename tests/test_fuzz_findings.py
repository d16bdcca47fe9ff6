"""Wrong numbers and crashes found by the random-program fuzzer
(tools/fuzz_transforms.py), each shrunk to a few lines and checked against
an independent reference (central differences, a Python loop for vmap)."""
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
