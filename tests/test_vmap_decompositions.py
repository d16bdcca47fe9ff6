"""vmap through np.linalg.eigh, qr, pinv, lstsq, matrix_power, multi_dot,
eigvalsh, svd without factors, np.cov, np.corrcoef, np.kron, np.inner and np.vdot, and through their derivatives
(vmap(jacrev(f)), vmap(jacfwd(f)), vmap(hessian(f))): the batched code calls
NumPy on the whole batch, with no loop over the examples (no warning, and
``rt.PER_EXAMPLE_LOOPS`` does not move), and gives the per-example stack
``np.stack([g(x) for x in X])``; the derivatives of one example are checked
against central differences too.
"""
import warnings

import numpy as np
import pytest

import adjoint
from adjoint import runtime as rt
from conftest import numerical_jacobian

B = 3


def decompositions(a):
    w, v = np.linalg.eigh(a @ a.T + 3.0 * np.eye(3))
    q, r = np.linalg.qr(a)
    return (np.sum(w ** 2) + np.sum(v[:, 0] ** 2 * w) + np.sum(q * np.sin(q)) + np.sum(r ** 2)
            + np.sum(np.linalg.pinv(a) ** 2) + np.sum(np.linalg.matrix_power(a, 3)))


def products(a, b):
    x = np.linalg.lstsq(a, b, rcond=None)[0]
    m = a[:3]
    return np.sum(x ** 2) + np.sum(np.linalg.multi_dot([m, m.T, m]) ** 2) + np.sum(np.kron(x, b[:2]) ** 2)


def statistics(m):
    return np.sum(np.cov(m) ** 2) + np.sum(np.corrcoef(m) * m[:, :3])


def spectra(a, b):
    s = np.linalg.svd(a, compute_uv=False)
    return (np.sum(np.linalg.eigvalsh(a @ a.T) ** 2) + np.sum(s ** 3) + np.sum(np.inner(a, b) ** 2)
            + np.vdot(a, a) * np.vdot(b[0], a[0]))


def _inputs(seed):
    rng = np.random.default_rng(seed)
    return {
        "decompositions": (rng.uniform(0.5, 1.5, (B, 3, 3)) + 2.0 * np.eye(3),),
        "products": (rng.normal(size=(B, 5, 3)), rng.normal(size=(B, 5))),
        "statistics": (rng.normal(size=(B, 3, 6)),),
        "spectra": (rng.normal(size=(B, 3, 2)), rng.normal(size=(B, 4, 2))),
    }


FUNCTIONS = {"decompositions": decompositions, "products": products, "statistics": statistics, "spectra": spectra}


def _no_loop(call):
    """``call()``, asserting that it ran no per-example loop."""
    before = rt.PER_EXAMPLE_LOOPS[0]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*once per example.*")
        result = call()
    assert rt.PER_EXAMPLE_LOOPS[0] == before, "a per-example loop ran"
    return result


def _stack(func, args):
    return np.stack([np.asarray(func(*[a[i] for a in args])) for i in range(B)])


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_vmap_and_its_jacobian_run_once_on_the_batch(name):
    func, args = FUNCTIONS[name], _inputs(1)[name]
    argnums = tuple(range(len(args)))
    np.testing.assert_allclose(_no_loop(lambda: adjoint.vmap(func)(*args)), _stack(func, args), rtol=1e-10)
    # (the tangent rules run in vmap(hessian(f)) below: forward mode over the backward pass)
    jac = adjoint.jacrev(func, argnums=argnums)
    got = _no_loop(lambda: adjoint.vmap(jac)(*args))
    for k in argnums:
        np.testing.assert_allclose(got[k], _stack(lambda *xs: jac(*xs)[k], args), rtol=1e-9, atol=1e-12)
        # and the derivative itself, by central differences on the last example
        numeric = numerical_jacobian(func, [a[-1] for a in args], k)
        np.testing.assert_allclose(got[k][-1], numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_vmap_of_hessian_runs_once_on_the_batch(name):
    func, args = FUNCTIONS[name], _inputs(2)[name]
    hess = adjoint.hessian(func)
    got = _no_loop(lambda: adjoint.vmap(hess)(*args))
    np.testing.assert_allclose(got, _stack(hess, args), rtol=1e-9, atol=1e-10)
    example = [a[0] for a in args]
    numeric = numerical_jacobian(adjoint.grad(func), example, 0)
    np.testing.assert_allclose(got[0], numeric, rtol=1e-5, atol=1e-5)


def test_lstsq_under_vmap_is_one_batched_svd():
    # every output of lstsq, against NumPy's own, per example: full rank
    # (residuals), wide, square with several right-hand sides, rank deficient
    rng = np.random.default_rng(3)
    a = rng.normal(size=(B, 5, 3))
    deficient = a.copy()
    deficient[..., 2] = deficient[..., 0] - deficient[..., 1]
    cases = [(a, rng.normal(size=(B, 5))), (np.swapaxes(a, 1, 2), rng.normal(size=(B, 3))),
             (a[:, :3], rng.normal(size=(B, 3, 2))), (deficient, rng.normal(size=(B, 5)))]

    def solve(m, y):
        return np.linalg.lstsq(m, y, rcond=None)

    for m, y in cases:
        got = _no_loop(lambda: adjoint.vmap(solve)(m, y))
        for position in range(4):
            expected = np.stack([np.linalg.lstsq(m[i], y[i], rcond=None)[position] for i in range(B)])
            assert got[position].shape == expected.shape and got[position].dtype == expected.dtype
            np.testing.assert_allclose(got[position], expected, rtol=1e-10, atol=1e-12)


def test_lstsq_under_vmap_refuses_residuals_of_different_sizes():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(2, 5, 3))
    a[1, :, 2] = a[1, :, 0]  # the second example's matrix loses a rank: lstsq returns no residuals for it

    def residuals(m, y):
        return np.linalg.lstsq(m, y, rcond=None)[1]

    with pytest.raises(ValueError, match="residuals"):
        adjoint.vmap(residuals)(a, rng.normal(size=(2, 5)))


def test_vmap_of_jacfwd_with_several_argnums_runs_once_on_the_batch():
    # the blocks of a tuple argnums are regrouped by rt.jacobian_blocks, batched as they are
    def func(x, y):
        return np.sin(x) * y

    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(B, 4)), rng.normal(size=(B, 4))
    jac = adjoint.jacfwd(func, argnums=(0, 1))
    got = _no_loop(lambda: adjoint.vmap(jac)(x, y))
    for k in range(2):
        np.testing.assert_allclose(got[k], _stack(lambda *xs: jac(*xs)[k], (x, y)), rtol=1e-12)
    np.testing.assert_allclose(got[0][1], np.diag(np.cos(x[1]) * y[1]), rtol=1e-12)
    np.testing.assert_allclose(got[1][1], np.diag(np.sin(x[1])), rtol=1e-12)


def test_hessian_through_multi_dot_of_one_array_adds_both_contributions():
    # the adjoint of multi_dot is a list: its tangent's two parts (through the
    # cotangent and through the matrices) add item by item, not joined end to end
    def func(a):
        return np.sum(np.linalg.multi_dot([a, a.T, a]) ** 2)

    a = np.random.default_rng(6).normal(size=(3, 2))
    numeric = numerical_jacobian(adjoint.grad(func), [a], 0)
    np.testing.assert_allclose(adjoint.hessian(func)(a), numeric, rtol=1e-6, atol=1e-6)


def test_cov_of_one_row_with_rowvar_false_under_vmap():
    # NumPy 2 reads a one-row matrix with rowvar=False as one observation of
    # each column (vmap returned one variance per example instead)
    def func(m):
        return np.cov(m, rowvar=False, bias=True)

    m = np.random.default_rng(9).normal(size=(B, 1, 4))
    expected = _stack(func, (m,))
    np.testing.assert_array_equal(_no_loop(lambda: adjoint.vmap(func)(m)), expected)
    jac = _no_loop(lambda: adjoint.vmap(adjoint.jacrev(func))(m))
    np.testing.assert_allclose(jac, _stack(adjoint.jacrev(func), (m,)), rtol=1e-12, atol=1e-15)
