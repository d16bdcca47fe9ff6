"""vmap of derivatives whose generated code calls derivative helpers: the
tangent of np.interp's adjoint through a list ``fp`` (vmap(hessian)),
jacrev / jacfwd of vmap(jacrev(f)) (the batched Jacobian assembly is itself
differentiated), and the batching rules of the linalg derivative helpers
(np.linalg.solve's tangent, cho_factor / cho_solve's adjoints, the SVD's
and norm's helpers): each vmap equals a loop over the examples, and the
derivatives are checked against finite differences or autograd.

Functions are lambdas, one per line: adjoint reads their source.
"""
import warnings

import numpy as np
import pytest

import adjoint

B = 4


def _examples(shape, seed):
    return np.random.default_rng(seed).standard_normal((B,) + shape)


def _no_loop(call, *args):
    """``call(*args)`` with warnings as errors: a per-example loop warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return call(*args)


def _central_jacobian(f, x, eps=1e-6):
    """Central differences of ``f`` at ``x``: shape ``f(x).shape + x.shape``."""
    x = np.asarray(x, dtype=float)
    cols = []
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        step = step.reshape(x.shape)
        cols.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * eps))
    out = np.stack(cols, axis=-1)
    return out.reshape(np.shape(f(x)) + x.shape)


# ---------------------------------------------------------------- np.interp with a list fp

def test_hessian_of_interp_with_list_fp():
    # The adjoint of x in np.interp is linear in fp; its tangent from fp
    # (zero here, fp is a constant list) must be sized by x, not by fp.
    f = lambda x: np.sum(np.interp(x, [0, 1, 2], [1, 3, 2]) ** 2)  # noqa: E731 (adjoint reads the line)
    X = np.random.default_rng(1).uniform(0.05, 1.95, (B, 6))
    X[:, 0] = 0.5  # away from the knots: the Hessian is diag(2 * slope**2)
    expected = np.stack([adjoint.hessian(f)(x) for x in X])
    got = _no_loop(adjoint.vmap(adjoint.hessian(f)), X)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)  # (a batched kernel may round differently)
    slope = np.where(X < 1, 2.0, -1.0)
    np.testing.assert_allclose(got, np.stack([np.diag(2 * s ** 2) for s in slope]), rtol=1e-12)
    # finite differences of the gradient
    grad = adjoint.grad(f)
    for x, h in zip(X, got):
        np.testing.assert_allclose(h, _central_jacobian(grad, x), rtol=1e-6, atol=1e-6)


@pytest.mark.filterwarnings("ignore:vmap of")
def test_hessian_of_interp_with_active_fp():
    # fp depends on the input: the adjoint of x changes with fp's tangent
    # (np.interp with an fp of each example runs once per example: it warns).
    f = lambda x: np.sum(np.interp(x[:3], [0.0, 1.0, 2.0], x[3:] * x[3:]) ** 2)  # noqa: E731
    X = np.random.default_rng(2).uniform(0.1, 1.9, (B, 6))
    X[:, :3] = [[0.3, 1.4, 0.8]] * B
    expected = np.stack([adjoint.hessian(f)(x) for x in X])
    got = adjoint.vmap(adjoint.hessian(f))(X)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)  # (a batched kernel may round differently)
    grad = adjoint.grad(f)
    for x, h in zip(X, got):
        np.testing.assert_allclose(h, _central_jacobian(grad, x), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- derivatives of vmap(derivative)

def _autograd_batched_jacobian(f, X):
    """autograd's Jacobian of ``X -> stack([jacobian(f)(x) for x in X])``."""
    import autograd
    inner = autograd.jacobian(f)
    return autograd.jacobian(lambda Y: autograd.numpy.stack([inner(y) for y in Y]))(X)


def _autograd_f(x):
    import autograd.numpy as anp
    return anp.sin(x) * anp.sum(x ** 2)


def test_derivatives_of_vmap_of_derivatives_against_autograd():
    f = lambda x: np.sin(x) * np.sum(x ** 2)  # noqa: E731 (adjoint reads the line)
    g = lambda x: np.sum(np.sin(x) * x ** 2)  # noqa: E731
    X = _examples((3,), 3)
    expected = _autograd_batched_jacobian(_autograd_f, X)  # (V, 3, V, 3, 3)... of the stacked Jacobians
    for outer in (adjoint.jacrev, adjoint.jacfwd):
        for inner in (adjoint.jacrev, adjoint.jacfwd):
            got = outer(adjoint.vmap(inner(f)))(X)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12,
                                       err_msg=f"{outer.__name__}(vmap({inner.__name__}))")
    # grad inside: the batched gradient assembly, checked by finite differences
    for outer in (adjoint.jacrev, adjoint.jacfwd):
        got = outer(adjoint.vmap(adjoint.grad(g)))(X)
        np.testing.assert_allclose(got, _central_jacobian(adjoint.vmap(adjoint.grad(g)), X), rtol=1e-6, atol=1e-7)


def test_derivative_of_vmap_of_jacrev_with_indexing():
    # x[0] in f: the batched backward code scatters into the adjoint
    # (rt.vscatter_add, rt.vadd_bar), which the outer transform differentiates
    import autograd.numpy as anp
    f = lambda x: np.tanh(x * x[0])  # noqa: E731 (adjoint reads the line)
    X = _examples((3,), 6)
    expected = _autograd_batched_jacobian(lambda x: anp.tanh(x * x[0]), X)
    for outer in (adjoint.jacrev, adjoint.jacfwd):
        got = outer(adjoint.vmap(adjoint.jacrev(f)))(X)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=outer.__name__)


def test_derivative_of_vmap_of_jacrev_with_two_arguments():
    # argnums=(0, 1): the batched Jacobian assembly works on a tuple of leaves
    f = lambda x, y: np.tanh(x * y[0]) + y[1]  # noqa: E731 (adjoint reads the line)
    X, Y = _examples((3,), 4), _examples((2,), 5)
    batched = adjoint.vmap(adjoint.jacrev(f, argnums=(0, 1)))
    for outer in (adjoint.jacrev, adjoint.jacfwd):
        of_dx = outer(batched, argnums=(0, 1))(X, Y)[0]  # the derivatives of the first output
        for got, expected in zip(of_dx, (_central_jacobian(lambda X: batched(X, Y)[0], X),
                                         _central_jacobian(lambda Y: batched(X, Y)[0], Y))):
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, err_msg=outer.__name__)


# ---------------------------------------------------------------- solve, cho_factor, cho_solve

import scipy.linalg as sla  # noqa: E402

SOLVERS = [
    ("solve-vector", lambda x: np.linalg.solve(x.reshape(3, 3) + 4.0 * np.eye(3), np.sin(x[:3])), (9,)),
    ("solve-columns", lambda x: np.linalg.solve(x.reshape(3, 3) + 4.0 * np.eye(3), x.reshape(3, 3)[:, :2]), (9,)),
    ("solve-stack", lambda x: np.linalg.solve(x.reshape(2, 3, 3) + 4.0 * np.eye(3), x.reshape(2, 3, 3)[..., :1]),
     (18,)),
    ("cho_factor", lambda x: sla.cho_factor(x @ x.T + 3.0 * np.eye(3))[0], (3, 3)),
    ("cho_factor-lower", lambda x: sla.cho_factor(x @ x.T + 3.0 * np.eye(3), lower=True)[0] * 2.0, (3, 3)),
    ("cho_solve", lambda x: sla.cho_solve(sla.cho_factor(x @ x.T + 3.0 * np.eye(3)), x[1]), (3, 3)),
    ("cho_solve-lower-columns", lambda x: sla.cho_solve(sla.cho_factor(x @ x.T + 3.0 * np.eye(3), lower=True), x),
     (3, 3)),
]


@pytest.mark.parametrize("label, func, shape", SOLVERS, ids=[c[0] for c in SOLVERS])
def test_vmap_of_jacobians_of_solvers_is_the_loop(label, func, shape):
    X = _examples(shape, len(label))
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        expected = np.stack([transform(func)(x) for x in X])
        got = _no_loop(adjoint.vmap(transform(func)), X)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected, err_msg=transform.__name__)
    # an independent reference for one example: central differences
    np.testing.assert_allclose(got[0], _central_jacobian(func, X[0]), rtol=1e-6, atol=1e-7)


def test_vmap_of_hessian_of_solve():
    # the backward code's solve_transposed gets the tangent of a cotangent,
    # (V, T, B) + b's shape (it broadcast the inverse against (V, B) only)
    f = lambda x: np.sum(np.linalg.solve(x.reshape(3, 3) + 4.0 * np.eye(3), np.sin(x[:3])) ** 2)  # noqa: E731
    X = _examples((9,), 12)
    expected = np.stack([adjoint.hessian(f)(x) for x in X])
    got = _no_loop(adjoint.vmap(adjoint.hessian(f)), X)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)  # (a batched kernel may round differently)
    np.testing.assert_allclose(got[1], _central_jacobian(adjoint.grad(f), X[1]), rtol=1e-6, atol=1e-6)


def test_solver_helpers_batched_directly_match_each_example():
    # the batched helpers against the unbatched ones, with an unbatched
    # operand broadcast to the batch (every example the same matrix)
    from adjoint import runtime as rt
    rng = np.random.default_rng(3)
    a = rng.standard_normal((B, 3, 3)) + 4.0 * np.eye(3)
    a[1] = a[0]
    b, z = rng.standard_normal((B, 3)), rng.standard_normal((B, 3))
    inverse = np.linalg.inv(a)
    t_b, t_a = rng.standard_normal((B, 5, 3)), rng.standard_normal((B, 5, 3, 3))
    np.testing.assert_array_equal(rt.vsolve_tangent(t_b, inverse, a, b, z),
                                  np.stack([rt.solve_tangent(t_b[v], inverse[v], a[v], b[v], z[v]) for v in range(B)]))
    np.testing.assert_array_equal(rt.vsolve_tangent(t_a, inverse, a, b, z, wrt_a=True),
                                  np.stack([rt.solve_tangent(t_a[v], inverse[v], a[v], b[v], z[v], wrt_a=True)
                                            for v in range(B)]))
    spd = a @ np.swapaxes(a, -1, -2)
    c = np.stack([sla.cho_factor(m, lower=True)[0] for m in spd])
    pair = (c, np.ones(B, dtype=bool))
    got = rt.vcho_solve_tangent(t_b, pair, b)
    np.testing.assert_array_equal(got, np.stack([rt.cho_solve_tangent(t_b[v], (c[v], True), b[v]) for v in range(B)]))
    # lower differing between examples: once per example, the same numbers
    mixed = (c, np.array([True, False, True, False]))
    got = rt.vcho_solve_adjoint(t_b, mixed, b)
    np.testing.assert_array_equal(got, np.stack([rt.cho_solve_adjoint(t_b[v], (c[v], bool(mixed[1][v])), b[v])
                                                 for v in range(B)]))


# ---------------------------------------------------------------- svd, norm

SVD_AND_NORM = [
    ("svd-values", lambda x: np.linalg.svd(x, compute_uv=False) * 2.0, (3, 2)),
    ("svd-u-s", lambda x: np.linalg.svd(x, full_matrices=False)[0] * np.linalg.svd(x, full_matrices=False)[1], (3, 2)),
    ("svd-vh-square", lambda x: np.linalg.svd(x)[2] * 2.0, (3, 3)),
    ("svd-s-only", lambda x: np.linalg.svd(x, full_matrices=False)[1] ** 2, (2, 3)),
]


@pytest.mark.parametrize("label, func, shape", SVD_AND_NORM, ids=[c[0] for c in SVD_AND_NORM])
def test_vmap_of_jacobians_of_the_svd_is_the_loop(label, func, shape):
    X = _examples(shape, len(label) + 2)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        expected = np.stack([transform(func)(x) for x in X])
        got = _no_loop(adjoint.vmap(transform(func)), X)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected, err_msg=transform.__name__)
    np.testing.assert_allclose(got[0], _central_jacobian(func, X[0]), rtol=1e-5, atol=1e-7)


NORM_HESSIANS = [
    ("norm", lambda x: np.linalg.norm(x) * np.sum(x), (3,)),
    ("norm-axis", lambda x: np.sum(np.linalg.norm(x, axis=1) ** 3), (2, 3)),
    ("norm-keepdims", lambda x: np.sum(np.linalg.norm(x, axis=0, keepdims=True) * x), (2, 3)),
    ("norm-p", lambda x: np.linalg.norm(x, ord=3) * x[0], (3,)),
    ("norm-p-axis", lambda x: np.sum(np.linalg.norm(x, ord=4, axis=-1) * x[:, 0]), (2, 3)),
    ("norm-fro", lambda x: np.linalg.norm(x, "fro") ** 3, (2, 3)),
    ("norm-1", lambda x: np.linalg.norm(x, ord=1) * np.sum(x * x), (3,)),
]


@pytest.mark.parametrize("label, func, shape", NORM_HESSIANS, ids=[c[0] for c in NORM_HESSIANS])
def test_vmap_of_hessians_of_norms_is_the_loop(label, func, shape):
    X = _examples(shape, len(label) + 3)
    expected = np.stack([adjoint.hessian(func)(x) for x in X])
    got = _no_loop(adjoint.vmap(adjoint.hessian(func)), X)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)  # (a batched kernel may round differently)
    np.testing.assert_allclose(got[0], _central_jacobian(adjoint.grad(func), X[0]), rtol=1e-5, atol=1e-6)


def test_vmap_of_hessian_of_a_matrix_norm_runs_each_example():
    # the nuclear norm's second derivative goes through the SVD: the batched
    # helper runs it once per example, says so, and the numbers are the loop's
    func = lambda x: np.linalg.norm(x, ord="nuc") * x[0, 0]  # noqa: E731 (adjoint reads the line)
    X = _examples((3, 2), 9)
    expected = np.stack([adjoint.hessian(func)(x) for x in X])
    with pytest.warns(RuntimeWarning, match="once per example"):
        got = adjoint.vmap(adjoint.hessian(func))(X)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)  # (a batched kernel may round differently)
    np.testing.assert_allclose(got[0], _central_jacobian(adjoint.grad(func), X[0]), rtol=1e-5, atol=1e-6)


def test_interp_adjoint_tangent_from_fp_batched_matches_each_example():
    from adjoint import runtime as rt
    rng = np.random.default_rng(4)
    xp = np.array([0.0, 1.0, 2.5])
    x = rng.uniform(-0.5, 3.0, (B, 2, 3))
    g = rng.standard_normal((B, 2, 2, 3))
    fp = np.broadcast_to(np.array([1.0, 3.0, 2.0]), (B, 3))
    t = rng.standard_normal((B, 5, 3))
    got = rt.vinterp_adjoint_x_tangent_fp(t, g, x, np.broadcast_to(xp, (B, 3)), fp)
    expected = np.stack([rt.interp_adjoint_x_tangent_fp(t[v], g[v], x[v], xp, fp[v]) for v in range(B)])
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)  # (a batched kernel may round differently)
    # against the definition: interp_adjoint_x with each tangent row as fp
    np.testing.assert_array_equal(expected[0], np.stack([rt.interp_adjoint_x(g[0], x[0], xp, row) for row in t[0]]))
