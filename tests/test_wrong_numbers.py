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
