"""SciPy, an optional dependency: its rules are registered once SciPy is
imported, agree with autograd's, and SciPy functions written in NumPy
(scipy.optimize.rosen) are differentiated from their source.

The rule table (tests/test_rules.py, SCIPY_ROWS) checks every SciPy rule
against finite differences, forward against reverse mode and second
derivatives; this file adds the references autograd and SciPy itself give."""
import subprocess
import sys
from pathlib import Path

import autograd
import autograd.numpy as anp
import autograd.scipy.linalg as alinalg
import autograd.scipy.special as aspecial
import autograd.scipy.stats.norm as anorm
import numpy as np
import pytest

import adjoint

scipy = pytest.importorskip("scipy", reason="SciPy is not installed (pip install adjoint[scipy])")
from scipy import linalg, optimize, special, stats  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _run(code):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_import_adjoint_does_not_import_scipy():
    assert _run("import sys, adjoint; print('scipy' in sys.modules)").strip() == "False"


def test_scipy_rules_are_registered_once_scipy_is_imported():
    out = _run("import adjoint.rules as r; from scipy import special; "
               "print(r.lookup(special.gammaln) is not None, 'scipy.stats' in __import__('sys').modules)")
    assert out.split() == ["True", "False"]  # scipy.special's rules, without importing scipy.stats


X = np.array([[0.3, 1.2, 2.5], [0.7, 1.9, 0.45]])
Y = np.array([[1.1, 0.4, 2.2], [0.9, 1.6, 0.75]])


def gammaln_sum(x):
    return np.sum(special.gammaln(x) * special.digamma(x) + special.polygamma(1, x))


def gammaln_sum_ag(x):
    return anp.sum(aspecial.gammaln(x) * aspecial.digamma(x) + aspecial.polygamma(1, x))


def erf_mix(x):
    return np.sum(special.erf(x) * special.erfc(x) + special.expit(x) + special.logit(x / 3.0))


def erf_mix_ag(x):
    return anp.sum(aspecial.erf(x) * aspecial.erfc(x) + aspecial.expit(x) + aspecial.logit(x / 3.0))


def lse(x):
    return np.sum(special.logsumexp(x, axis=0) * special.betaln(x[0], x[1]))


def lse_ag(x):
    return anp.sum(aspecial.logsumexp(x, axis=0) * aspecial.betaln(x[0], x[1]))


def gaussian(x):
    return np.sum(stats.norm.logpdf(x, 0.5, 1.5) + stats.norm.pdf(x) * stats.norm.cdf(x, scale=2.0))


def gaussian_ag(x):
    return anp.sum(anorm.logpdf(x, 0.5, 1.5) + anorm.pdf(x) * anorm.cdf(x, scale=2.0))


def matrices(x):
    a = x @ x.T + 2.0 * np.eye(2)
    lower = linalg.cholesky(a, lower=True)
    return np.sum(linalg.solve_triangular(lower, x, lower=True) ** 2)


def matrices_ag(x):
    a = anp.dot(x, x.T) + 2.0 * anp.eye(2)
    lower = anp.linalg.cholesky(a)  # autograd has no rule for scipy.linalg.cholesky
    return anp.sum(alinalg.solve_triangular(lower, x, lower=True) ** 2)


@pytest.mark.parametrize("func, reference", [
    (gammaln_sum, gammaln_sum_ag), (erf_mix, erf_mix_ag), (lse, lse_ag), (gaussian, gaussian_ag),
    (matrices, matrices_ag),
], ids=["gammaln-digamma-polygamma", "erf-erfc-expit-logit", "logsumexp-betaln", "norm", "cholesky-solve_triangular"])
def test_scipy_rules_agree_with_autograd(func, reference):
    np.testing.assert_allclose(adjoint.grad(func)(X), autograd.grad(reference)(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(adjoint.hessian(func)(X), autograd.hessian(reference)(X), rtol=1e-7, atol=1e-9)


GENERATOR = np.array([[0.2, -0.5, 0.1], [0.4, 0.3, -0.2], [-0.1, 0.6, 0.05]])


def exponential_path(t):
    return linalg.expm(t * GENERATOR)


def test_expm_derivative_along_a_path_is_generator_times_exponential():
    # autograd has no expm rule; d/dt expm(t G) = G expm(t G) is the reference.
    t = np.float64(0.7)
    expected = GENERATOR @ linalg.expm(t * GENERATOR)
    np.testing.assert_allclose(adjoint.jacrev(exponential_path)(t), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(exponential_path)(t), expected, rtol=1e-10, atol=1e-12)
    second = adjoint.jacfwd(adjoint.jacrev(exponential_path))(t)
    np.testing.assert_allclose(second, GENERATOR @ GENERATOR @ linalg.expm(t * GENERATOR), rtol=1e-9, atol=1e-12)


def softmax_weighted(x, w):
    return np.sum(w * special.softmax(x, axis=1)) + np.sum(w * special.log_softmax(x, axis=0))


def softmax_weighted_reference(x, w):
    # autograd has no softmax: the same function written in NumPy
    e = anp.exp(x - anp.max(x, axis=1, keepdims=True))
    log_soft = x - (anp.log(anp.sum(anp.exp(x - anp.max(x, axis=0)), axis=0)) + anp.max(x, axis=0))
    return anp.sum(w * e / anp.sum(e, axis=1, keepdims=True)) + anp.sum(w * log_soft)


def test_softmax_and_log_softmax_agree_with_their_definition_under_autograd():
    np.testing.assert_allclose(adjoint.grad(softmax_weighted)(X, Y), autograd.grad(softmax_weighted_reference)(X, Y),
                               rtol=1e-9, atol=1e-12)


def test_xlogy_slopes_are_log_y_and_x_over_y():
    gx, gy = adjoint.grad(lambda x, y: np.sum(special.xlogy(x, y)), argnums=(0, 1))(X, Y)
    np.testing.assert_allclose(gx, np.log(Y))
    np.testing.assert_allclose(gy, X / Y)


POINT = np.array([0.5, -0.3, 1.2, 0.8, -1.1])


OLD_SCIPY = pytest.mark.skipif(
    np.lib.NumpyVersion(__import__("scipy").__version__) < "1.16.0",
    reason="rosen's array-API glue is read as NumPy as SciPy 1.16 and later write it; older SciPy's "
           "rosen is refused at its line")


@OLD_SCIPY
def test_rosen_is_differentiated_from_its_source():
    # SciPy's own rosen_der and rosen_hess are the analytic reference.
    np.testing.assert_allclose(adjoint.grad(optimize.rosen)(POINT), optimize.rosen_der(POINT), rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(optimize.rosen)(POINT), optimize.rosen_der(POINT), rtol=1e-12)
    np.testing.assert_allclose(adjoint.hessian(optimize.rosen)(POINT), optimize.rosen_hess(POINT), rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacrev(optimize.rosen_der)(POINT), optimize.rosen_hess(POINT), rtol=1e-12)


def shifted_rosen(x, shift):
    return optimize.rosen(x + shift)


@OLD_SCIPY
def test_rosen_called_from_the_users_code():
    shift = np.array([0.1, 0.2, -0.3, 0.0, 0.4])
    np.testing.assert_allclose(adjoint.grad(shifted_rosen, argnums=(0, 1))(POINT, shift)[1],
                               optimize.rosen_der(POINT + shift), rtol=1e-12)


def test_other_scipy_functions_without_a_rule_are_refused_at_the_users_line():
    def uses_zeta(x):
        return np.sum(special.zeta(x, 1.0))

    with pytest.raises(adjoint.NoRuleError, match="defvjp"):
        adjoint.grad(uses_zeta)(np.array([2.0, 3.0]))


def test_logsumexp_with_a_computed_return_sign_is_refused():
    # (the weights b are differentiated: tests/test_real_functions.py; a literal
    # return_sign=True is differentiated: tests/test_funcs2.py)
    def signed(x, flag):
        return special.logsumexp(x, b=np.array([1.0, -2.0]), return_sign=flag)[0]

    with pytest.raises(adjoint.NoRuleError, match="form of the call"):
        adjoint.grad(signed)(np.array([0.5, 1.5]), True)
