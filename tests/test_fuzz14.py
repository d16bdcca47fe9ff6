"""Programs the fuzzers found (session fuzz14), minimized, against autograd."""
import autograd
import autograd.numpy as anp
import numpy as np

import adjoint


def rolled(x):
    t = x.tolist()
    return np.sum(np.array(t[1:] + t[:1]) * x ** 2)


def rolled_ref(x):
    return anp.sum(anp.concatenate([x[1:], x[:1]]) * x ** 2)


def test_second_derivative_of_joined_slices_of_tolist():
    # the join of two slices of x.tolist() was read as NumPy's sum in the code that
    # differentiates the first derivative again (hessian crashed: shapes (4,3) and (4,4))
    x = np.array([0.3, -0.2, 0.5, 0.7])
    want = autograd.hessian(rolled_ref)(x)
    np.testing.assert_allclose(adjoint.hessian(rolled)(x), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(rolled))(x), want, rtol=1e-12, atol=1e-12)
