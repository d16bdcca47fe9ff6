"""Wrong numbers found by hunting the newest paths (issue 9), as tests.

``scipy.stats.multivariate_normal`` reads the lower triangle of ``cov`` (its
eigendecomposition does) and mirrors it, so an asymmetric ``cov`` stands for
that symmetric matrix. The derivatives solved with ``cov`` as given: for an
asymmetric covariance (a constant one, or one built from differentiated
values, ``S + np.outer(x, c)``) the gradient in ``x`` and in ``cov`` was
silently wrong. References: the analytic gradient of the Gaussian log density
and central differences of SciPy's own function.
"""
import numpy as np
import pytest

import adjoint

stats = pytest.importorskip("scipy.stats")

A = np.array([[2.0, 0.3, 0.1], [0.2, 3.0, 0.4], [0.1, 0.5, 4.0]])  # not symmetric
LOWER = np.tril(A) + np.tril(A, -1).T  # the matrix SciPy computes with
C = np.array([0.3, -0.2, 0.5])
X = np.array([0.4, -0.3, 0.7])


def density(x):
    return stats.multivariate_normal.logpdf(x, mean=C, cov=A)


def density_of_cov(x):
    return stats.multivariate_normal.logpdf(C, cov=LOWER + np.outer(x, C))


def density_of_matrix(c):
    return stats.multivariate_normal.logpdf(C, cov=c.reshape(3, 3))


def singular(x):
    cov = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    return stats.multivariate_normal.logpdf(x, cov=cov, allow_singular=True)


def central(function, x, eps=1e-6):
    return np.array([(function(x + eps * e) - function(x - eps * e)) / (2 * eps) for e in np.eye(x.size)])


def test_asymmetric_constant_covariance_gradient_is_that_of_the_lower_triangle():
    analytic = -np.linalg.solve(LOWER, X - C)  # d/dx of -(x - m)^T S^-1 (x - m) / 2
    np.testing.assert_allclose(adjoint.grad(density)(X), analytic, rtol=1e-10)
    np.testing.assert_allclose(adjoint.jacfwd(density)(X), analytic, rtol=1e-10)


def test_asymmetric_differentiated_covariance():
    reference = central(density_of_cov, X)
    np.testing.assert_allclose(adjoint.grad(density_of_cov)(X), reference, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(adjoint.jacfwd(density_of_cov)(X), reference, rtol=1e-6, atol=1e-9)


def test_covariance_entries_the_upper_triangle_gets_nothing():
    c = A.ravel().copy()
    gradient = adjoint.grad(density_of_matrix)(c)
    np.testing.assert_allclose(gradient, central(density_of_matrix, c), rtol=1e-6, atol=1e-9)
    assert np.all(np.triu(gradient.reshape(3, 3), 1) == 0.0)


def test_singular_covariance_is_refused_not_a_linalg_error():
    with pytest.raises(ValueError, match="singular") as caught:
        adjoint.grad(singular)(np.array([0.4, 0.4, 0.7]))
    assert "invertible covariance" in str(caught.value)
