"""Issue 9's remaining functions: logsumexp(return_sign=True), dirichlet,
frozen distributions, sf/logsf's refusals, eig under NumPy 2, Hessian plans
keyed by structural integers, infinite slopes. References: finite
differences, analytic formulas (SciPy's own functions as the values) and
autograd. Kept small: one transformed function serves several assertions."""
import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian

special = pytest.importorskip("scipy.special")
stats = pytest.importorskip("scipy.stats")


def signed(a, b):
    s, sign = special.logsumexp(a, axis=1, b=b, return_sign=True)
    return s * sign + sign


def test_logsumexp_with_sign_of_both_signs():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    value, sign = special.logsumexp(a, axis=1, b=b, return_sign=True)
    assert set(sign) == {-1.0, 1.0}  # both signs are met
    in_a, in_b = adjoint.jacrev(signed, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(in_a, numerical_jacobian(signed, (a, b), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(in_b, numerical_jacobian(signed, (a, b), 1), rtol=1e-6, atol=1e-8)
    # analytic: d log|s_i| / d a_ij = b_ij exp(a_ij) / s_i, times the sign
    total = np.sum(b * np.exp(a), axis=1)
    np.testing.assert_allclose(np.einsum("iij->ij", in_a), sign[:, None] * b * np.exp(a) / total[:, None],
                               rtol=1e-10)
    # (forward mode and second derivatives: the row special.logsumexp(return_sign) of tests/test_rules.py)
    batched = adjoint.vmap(signed)(np.stack([a, -a]), np.stack([b, b]))
    np.testing.assert_allclose(batched, np.stack([signed(a, b), signed(-a, b)]), rtol=1e-12)


def test_logsumexp_sign_without_weights_and_with_keepdims():
    def f(a):
        value, sign = special.logsumexp(a, return_sign=True, keepdims=True)
        return value * sign

    a = np.array([[0.3, -1.0], [2.0, 0.5]])
    np.testing.assert_allclose(adjoint.jacrev(f)(a), numerical_jacobian(f, (a,)), rtol=1e-6, atol=1e-9)
    assert adjoint.jacrev(f)(a).shape == (1, 1, 2, 2)


def dirichlet_logpdf(x, alpha):
    return stats.dirichlet.logpdf(x, alpha)


def test_dirichlet_logpdf_in_x_and_alpha_against_formulas():
    x, alpha = np.array([0.2, 0.3, 0.5]), np.array([1.5, 2.0, 3.0])
    # (finite differences along the simplex and second derivatives: the rule rows of tests/test_rules.py)
    grad_x, grad_alpha = adjoint.grad(dirichlet_logpdf, argnums=(0, 1))(x, alpha)
    np.testing.assert_allclose(grad_x, (alpha - 1) / x, rtol=1e-12)
    expected = np.log(x) - special.digamma(alpha) + special.digamma(alpha.sum())
    np.testing.assert_allclose(grad_alpha, expected, rtol=1e-12)
    hessian = adjoint.hessian(dirichlet_logpdf, argnums=1)(x, alpha)
    np.testing.assert_allclose(hessian, special.polygamma(1, alpha.sum()) - np.diag(special.polygamma(1, alpha)),
                               rtol=1e-10)
    with pytest.raises(ValueError, match="k - 1|all k categories"):
        adjoint.grad(dirichlet_logpdf)(x[:2], alpha)


def test_shape_parameters_of_survival_functions_are_refused_by_name():
    with pytest.raises(adjoint.errors.NoRuleError, match=r"scipy\.stats\.gamma\.sf: .*argument 'a'") as caught:
        adjoint.grad(lambda a: np.sum(stats.gamma.sf(np.array([0.5, 1.5]), a)))(2.0)
    assert "test_funcs2.py" in str(caught.value)


def frozen_densities(x, p):
    normal = stats.norm(p[0], p[1])
    return (normal.logpdf(x) + normal.cdf(x) + stats.gamma(p[2], scale=p[1]).logpdf(x)
            + stats.beta(p[2], p[3]).logpdf(x / 2) + stats.t(3.0, scale=p[1]).logsf(x))


PRIOR = stats.gamma(2.0, scale=1.5)  # frozen at module level


def test_frozen_distributions_are_their_distributions_methods():
    x, p = np.array([0.3, 1.2, 0.7]), np.array([0.1, 1.3, 2.0, 3.0])
    # (in x the frozen methods are the rules' rows of tests/test_rules.py)
    np.testing.assert_allclose(adjoint.jacrev(frozen_densities, argnums=1)(x, p),
                               numerical_jacobian(frozen_densities, (x, p), 1), rtol=1e-6, atol=1e-8)
    # a frozen distribution of the module, and one passed in: the module's distribution's rule
    analytic = (2.0 - 1.0) / x - 1.0 / 1.5
    np.testing.assert_allclose(adjoint.grad(lambda x: np.sum(PRIOR.logpdf(x)))(x), analytic, rtol=1e-12)
    np.testing.assert_allclose(adjoint.grad(lambda x, d: np.sum(d.logpdf(x)))(x, PRIOR), analytic, rtol=1e-12)


def test_frozen_distribution_second_order_and_refusals():
    x = np.array([0.3, 1.2, 0.7])

    def f(x, s):
        return np.sum(stats.norm(0.5, s).logpdf(x))

    np.testing.assert_allclose(adjoint.jacfwd(f, argnums=1)(x, 1.3), numerical_jacobian(f, (x, 1.3), 1), rtol=1e-7)

    # d2/ds2 of sum(-log s - (x - m)^2 / (2 s^2)) = n / s^2 - 3 sum((x - m)^2) / s^4
    s = 1.3
    np.testing.assert_allclose(adjoint.hessian(f, argnums=1)(x, s), 3 / s**2 - 3 * np.sum((x - 0.5) ** 2) / s**4,
                               rtol=1e-10)

    def uses_mean(x, s):
        d = stats.norm(0.5, s)
        return np.sum(d.logpdf(x)) + d.mean()

    with pytest.raises(adjoint.errors.NoRuleError, match="mean") as caught:
        adjoint.grad(uses_mean, argnums=1)(x, s)
    assert "test_funcs2.py" in str(caught.value)


def coupled_pairs(x, n):
    """A Hessian whose sparsity is set by the int n: 2 I plus (i, i + 5) for i < n."""
    total = np.sum(x ** 2)
    for i in range(n):
        total = total + x[i] * x[i + 5]
    return total


def test_hessian_plans_are_made_per_value_of_an_int_argument():
    # The compressed passes (from a shape's second call) are planned per value
    # of n: calling with another n never reuses a plan of the wrong pattern.
    x = np.linspace(0.1, 1.2, 12)
    hessian = adjoint.hessian(coupled_pairs)
    for n in (6, 1, 6):  # (the second call plans: a plan made for n = 1 would miss entries for n = 6)
        expected = 2.0 * np.eye(12)
        expected[np.arange(n), np.arange(n) + 5] = expected[np.arange(n) + 5, np.arange(n)] = 1.0
        np.testing.assert_array_equal(hessian(x, n), expected)


def test_eig_gives_numpy_1_real_arrays_for_a_real_spectrum(monkeypatch):
    # NumPy 2.5 returns complex arrays with zero imaginary parts for a real
    # spectrum: differentiated code reads them as NumPy 1's real arrays (the
    # rows of tests/test_rules.py run eig's rules under every NumPy of the matrix)
    from adjoint import runtime as rt

    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    w, v = np.linalg.eig(a)
    real = type(np.linalg.eig(a))(np.real(w), np.real(v))
    as_complex = type(real)(real[0].astype(complex), real[1].astype(complex))
    monkeypatch.setattr(np.linalg, "eig", lambda matrix: as_complex)
    got = rt.eig_real_spectrum(a)
    assert got[0].dtype == np.float64 and got[1].dtype == np.float64 and hasattr(got, "eigenvalues")
    np.testing.assert_array_equal(got[0], real[0])
    monkeypatch.setattr(np.linalg, "eigvals", lambda matrix: as_complex[0])
    assert rt.eigvals_real_spectrum(a).dtype == np.float64
    complex_pair = type(real)(np.array([1j, -1j]), np.eye(2, dtype=complex))
    monkeypatch.setattr(np.linalg, "eig", lambda matrix: complex_pair)
    assert rt.eig_real_spectrum(a) is complex_pair  # a complex spectrum: NumPy's result (refused when
    # differentiated: tests/test_real_functions.py, under every NumPy of the matrix)



def test_forward_and_reverse_agree_where_a_zero_slope_meets_an_infinite_one():
    # np.cbrt(x ** 3) and np.sqrt(x ** 2) at 0: the chain rule's 0 * inf, NaN in
    # both modes as autograd and JAX give it (jacfwd gave 0, a wrong slope for
    # cbrt(x**3) = x); the seed's zeros (other columns) stay 0
    autograd = pytest.importorskip("autograd")
    x = np.array([0.0, 1.0, -2.0])
    with np.errstate(all="ignore"):  # (autograd has no rule for cbrt: its slope, 1, analytically)
        sqrt_reference = autograd.jacobian(lambda x: autograd.numpy.sqrt(x ** 2))(x)
    cbrt_reference = np.diag([np.nan, 1.0, 1.0])
    for f, reference in [(lambda x: np.cbrt(x ** 3), cbrt_reference), (lambda x: np.sqrt(x ** 2), sqrt_reference)]:
        with np.errstate(all="ignore"):
            forward, reverse = adjoint.jacfwd(f)(x), adjoint.jacrev(f)(x)
        assert np.isnan(reference[0, 0]) and np.isnan(forward[0, 0]) and np.isnan(reverse[0, 0])
        off = ~np.eye(3, dtype=bool)
        np.testing.assert_array_equal(forward[off], 0.0)
        np.testing.assert_array_equal(reverse[off], 0.0)
        np.testing.assert_allclose(np.diag(forward)[1:], np.diag(reference)[1:], rtol=1e-14)
        np.testing.assert_allclose(np.diag(reverse)[1:], np.diag(reference)[1:], rtol=1e-14)
