"""Third derivatives through the factors of np.linalg.svd (``u, s, vt =
np.linalg.svd(a, full_matrices=False)``): ``jacrev(jacrev(jacrev(f)))``
against central differences of autograd's Hessian along a direction. (It
was refused: the second derivative of the factors is a complex step, not
differentiated again; runtime/svd_higher.py writes the first derivative out
and takes the complex step of that.) ``jacfwd(hessian(f))``, the other
third-order compositions and every row of the rule table are checked by
``tools/third_order_audit.py --check --filter svd --every`` (each mode),
which the suite's time budget leaves out."""
import autograd
import autograd.numpy as anp
import numpy as np

import adjoint

W_U = np.array([0.5, -1.2, 2.0])
W_V = np.array([1.5, -0.7])


def of_factors(a):  # a: 3 x 2; the terms read the factors up to their signs
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return np.sum(u[:, 0] ** 2 * W_U) + np.sum(vt[1] ** 2 * W_V) * s[1] + s[0] ** 3 + np.sum(u[:, 1] * a[:, 0]) ** 2


def of_factors_twin(a):
    u, s, vt = anp.linalg.svd(a, full_matrices=False)
    return anp.sum(u[:, 0] ** 2 * W_U) + anp.sum(vt[1] ** 2 * W_V) * s[1] + s[0] ** 3 + anp.sum(u[:, 1] * a[:, 0]) ** 2


def test_third_derivative_of_the_factors():
    a = np.array([[1.3, -0.4], [0.2, 0.9], [-0.7, 0.5]])  # distinct, nonzero singular values
    direction = np.array([[0.3, -1.1], [0.8, 0.4], [-0.6, 1.7]])
    step = 1e-5
    hessian = autograd.hessian(of_factors_twin)  # the third derivative along direction, by differences
    want = (hessian(a + step * direction) - hessian(a - step * direction)) / (2 * step)
    got = adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(of_factors)))(a)
    assert got.shape == (3, 2, 3, 2, 3, 2)
    assert np.abs(want).max() > 1.0
    np.testing.assert_allclose(np.tensordot(got, direction, axes=2), want, rtol=1e-6, atol=1e-6)
