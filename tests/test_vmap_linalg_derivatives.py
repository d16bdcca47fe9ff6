"""vmap of second derivatives through linear algebra runs as one NumPy call
per helper on the whole batch: ``vmap(hessian(f))`` (and
``vmap(jacfwd(jacrev(f)))``, ``vmap(jacrev(jacrev(f)))``) of functions using
np.linalg.solve (vector and matrix right-hand sides, stacks), inv, det,
slogdet, cholesky (lower and upper), svd (singular values and factors) and
``@`` of differentiated operands.

Each result is checked (a) against autograd's Hessian of a twin function,
example by example (an independent reference), and (b) against the loop
``np.stack([hessian(f)(x) for x in X])``. And it must not loop: a helper
without a batching rule runs once per example with a warning (turned into an
error here), and the batched helpers' own fallbacks (``_each_example``, and
``rt.merged`` of a helper once per example) are counted and must not run.
"""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
import adjoint.runtime.batched_derivatives as batched_derivatives
import adjoint.runtime.batched_second_order as batched_second_order

V = 5  # examples


def _matrix(x):
    return np.reshape(x[:9], (3, 3)) + 4.0 * np.eye(3)


def _amatrix(x):
    return anp.reshape(x[:9], (3, 3)) + 4.0 * anp.eye(3)


def solve_vector(x):
    return np.sum(np.linalg.solve(_matrix(x), np.sin(x[9:12])) ** 2)


def solve_vector_ag(x):
    return anp.sum(anp.linalg.solve(_amatrix(x), anp.sin(x[9:12])) ** 2)


def solve_columns(x):
    return np.sum(np.linalg.solve(_matrix(x), np.reshape(x[9:15], (3, 2))) ** 2)


def solve_columns_ag(x):
    return anp.sum(anp.linalg.solve(_amatrix(x), anp.reshape(x[9:15], (3, 2))) ** 2)


def solve_stack(x):
    a = np.reshape(x[:18], (2, 3, 3)) + 4.0 * np.eye(3)
    return np.sum(np.linalg.solve(a, np.reshape(x[:6], (2, 3, 1))) ** 2)


def solve_stack_ag(x):
    a = anp.reshape(x[:18], (2, 3, 3)) + 4.0 * anp.eye(3)
    return anp.sum(anp.linalg.solve(a, anp.reshape(x[:6], (2, 3, 1))) ** 2)


def inverse(x):
    return np.sum(np.sin(np.linalg.inv(_matrix(x))))


def inverse_ag(x):
    return anp.sum(anp.sin(anp.linalg.inv(_amatrix(x))))


def determinant(x):
    return np.linalg.det(_matrix(x) * 0.5) ** 2


def determinant_ag(x):
    return anp.linalg.det(_amatrix(x) * 0.5) ** 2


def log_determinant(x):
    sign, logdet = np.linalg.slogdet(_matrix(x))
    return sign * logdet ** 2


def log_determinant_ag(x):
    sign, logdet = anp.linalg.slogdet(_amatrix(x))
    return sign * logdet ** 2


def cholesky(x):
    m = np.reshape(x[:9], (3, 3))
    factor = np.linalg.cholesky(m @ m.T + 3.0 * np.eye(3))
    return np.sum(factor ** 2 * np.arange(9.0).reshape(3, 3)) + np.sum(np.sin(factor))


def cholesky_ag(x):
    m = anp.reshape(x[:9], (3, 3))
    factor = anp.linalg.cholesky(anp.dot(m, m.T) + 3.0 * anp.eye(3))
    return anp.sum(factor ** 2 * anp.arange(9.0).reshape(3, 3)) + anp.sum(anp.sin(factor))


def cholesky_upper(x):
    m = np.reshape(x[:9], (3, 3))
    factor = np.linalg.cholesky(m @ m.T + 3.0 * np.eye(3), upper=True)
    return np.sum(np.sin(factor) * np.arange(9.0).reshape(3, 3))


def cholesky_upper_ag(x):
    m = anp.reshape(x[:9], (3, 3))
    factor = anp.linalg.cholesky(anp.dot(m, m.T) + 3.0 * anp.eye(3)).T  # the upper factor, L^T
    return anp.sum(anp.sin(factor) * anp.arange(9.0).reshape(3, 3))


def singular_values(x):
    return np.sum(np.linalg.svd(np.reshape(x[:6], (3, 2)), compute_uv=False) ** 3)


def singular_values_ag(x):
    return anp.sum(anp.linalg.svd(anp.reshape(x[:6], (3, 2)), compute_uv=False) ** 3)


def svd_factors(x):
    u, s, vh = np.linalg.svd(np.reshape(x[:6], (3, 2)), full_matrices=False)
    return np.sum(u[:, 0] * np.sin(x[6:9])) + np.sum(s ** 2 * vh[0])


def svd_factors_ag(x):
    u, s, vh = anp.linalg.svd(anp.reshape(x[:6], (3, 2)), full_matrices=False)
    return anp.sum(u[:, 0] * anp.sin(x[6:9])) + anp.sum(s ** 2 * vh[0])


def products(x):
    m = np.reshape(x[:6], (3, 2))
    v = x[6:9]
    return np.sum(np.sin(v @ m @ m.T)) + np.sin(v @ v) + np.sum((m.T @ v) ** 3)


def products_ag(x):
    m = anp.reshape(x[:6], (3, 2))
    v = x[6:9]
    return (anp.sum(anp.sin(anp.dot(anp.dot(v, m), m.T))) + anp.sin(anp.dot(v, v))
            + anp.sum(anp.dot(m.T, v) ** 3))


CASES = [
    ("solve-vector", solve_vector, solve_vector_ag, 12),
    ("solve-columns", solve_columns, solve_columns_ag, 15),
    ("solve-stack", solve_stack, solve_stack_ag, 18),
    ("inv", inverse, inverse_ag, 9),
    ("det", determinant, determinant_ag, 9),
    ("slogdet", log_determinant, log_determinant_ag, 9),
    ("cholesky", cholesky, cholesky_ag, 9),
    pytest.param("cholesky-upper", cholesky_upper, cholesky_upper_ag, 9, id="cholesky-upper", marks=pytest.mark.skipif(
        np.lib.NumpyVersion(np.__version__) < "2.0.0", reason="np.linalg.cholesky(upper=) needs NumPy 2.0")),
    ("svd-values", singular_values, singular_values_ag, 6),
    ("svd-factors", svd_factors, svd_factors_ag, 9),
    ("matmul", products, products_ag, 9),
]


class _Loops:
    """Counts the batched helpers' runs once per example (none expected)."""

    def __init__(self, monkeypatch):
        self.calls = []
        each = batched_second_order._each_example
        merged_call = batched_derivatives.vmerged_call

        def counted_each(helper, args, kwargs=None):
            self.calls.append(getattr(helper, "__name__", helper))
            return each(helper, args, kwargs)

        def counted_merged(batch, flags, keyword_flags, merge, helper, t, *args, **kwargs):
            result = merged_call(batch, flags, keyword_flags, merge, helper, t, *args, **kwargs)
            # the per-example path: a batched argument that differs between examples
            # and no batched form registered for the helper
            shape_only = batched_derivatives._shape_positions(helper, args)
            if helper not in batched_derivatives.MERGE_BATCHED and any(
                    f and not batched_derivatives._shared(a) and i not in shape_only
                    for i, (a, f) in enumerate(zip(args, flags[2:]))):
                self.calls.append(f"merged {getattr(helper, '__name__', helper)}")
            return result

        monkeypatch.setattr(batched_second_order, "_each_example", counted_each)
        monkeypatch.setattr(batched_derivatives, "vmerged_call", counted_merged)


def _batched_no_loop(transform, X):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a helper without a batching rule warns that it loops
        return adjoint.vmap(transform)(X)


@pytest.mark.parametrize("label, f, f_ag, n", CASES, ids=[getattr(c, "id", None) or c[0] for c in CASES])
def test_vmap_of_hessian_is_autograds_and_the_loops(label, f, f_ag, n, monkeypatch):
    X = np.random.default_rng(len(label)).normal(size=(V, n)) * 0.5
    loops = _Loops(monkeypatch)
    got = _batched_no_loop(adjoint.hessian(f), X)
    assert loops.calls == []
    expected = np.stack([autograd.hessian(f_ag)(x) for x in X])
    assert got.shape == expected.shape == (V, n, n)
    scale = max(1.0, np.max(np.abs(expected)))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12 * scale)
    loop = np.stack([adjoint.hessian(f)(x) for x in X])
    np.testing.assert_allclose(got, loop, rtol=1e-13, atol=1e-14 * scale)


@pytest.mark.parametrize("label, f, f_ag, n", [CASES[6], CASES[9]], ids=["cholesky", "svd-factors"])
def test_vmap_of_other_second_derivative_compositions(label, f, f_ag, n, monkeypatch):
    # jacfwd(jacrev(f)) and jacrev(jacrev(f)) write the same backward code's
    # tangents; jacfwd(jacfwd(f)) differentiates the tangent helpers' own code
    # (cholesky_tangent, svd_tangent); each must batch as hessian(f) does
    X = np.random.default_rng(7).normal(size=(V, n)) * 0.5
    expected = np.stack([autograd.hessian(f_ag)(x) for x in X])
    loops = _Loops(monkeypatch)
    for compose in (lambda g: adjoint.jacfwd(adjoint.jacrev(g)), lambda g: adjoint.jacrev(adjoint.jacrev(g)),
                    lambda g: adjoint.jacfwd(adjoint.jacfwd(g))):
        adjoint.backend.cache.clear()  # a fresh transform: its loop warning would come once only
        got = _batched_no_loop(compose(f), X)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert loops.calls == []


@pytest.mark.parametrize("label, f, f_ag, n", [CASES[0], CASES[5], CASES[8]],
                         ids=["solve-vector", "slogdet", "svd-values"])
def test_vmap_of_forward_over_forward(label, f, f_ag, n, monkeypatch):
    # jacfwd(jacfwd(f)) transforms solve_tangent, slogdet_tangent and
    # singular_values_tangent from their source: what they call batches too
    X = np.random.default_rng(13).normal(size=(V, n)) * 0.5
    loops = _Loops(monkeypatch)
    got = _batched_no_loop(adjoint.jacfwd(adjoint.jacfwd(f)), X)
    assert loops.calls == []
    np.testing.assert_allclose(got, np.stack([autograd.hessian(f_ag)(x) for x in X]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("label, f, f_ag, n", [CASES[3], CASES[4], CASES[5]], ids=["inv", "det", "slogdet"])
def test_vmap_of_first_derivatives_of_inv_det_slogdet(label, f, f_ag, n, monkeypatch):
    # forward mode's inv / det / slogdet tangents and slogdet's adjoint batch too
    X = np.random.default_rng(11).normal(size=(V, n)) * 0.5
    expected = np.stack([autograd.grad(f_ag)(x) for x in X])
    loops = _Loops(monkeypatch)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        got = _batched_no_loop(transform(f), X)
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12)
    assert loops.calls == []


def test_vmap_of_hessian_with_a_matrix_shared_by_the_batch(monkeypatch):
    # in_dims None: the matrix added is the same for every example (a stride-0
    # broadcast inside the batched code), the point differs
    def f(x, c):
        return np.sum(np.linalg.solve(np.reshape(x[:9], (3, 3)) + c, x[9:12]) ** 2) + np.linalg.slogdet(c + x[0])[1]

    def f_ag(x, c):
        return (anp.sum(anp.linalg.solve(anp.reshape(x[:9], (3, 3)) + c, x[9:12]) ** 2)
                + anp.linalg.slogdet(c + x[0])[1])

    rng = np.random.default_rng(5)
    X = rng.normal(size=(V, 12)) * 0.5
    c = 4.0 * np.eye(3) + 0.1 * rng.normal(size=(3, 3))
    loops = _Loops(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = adjoint.vmap(adjoint.hessian(f), in_dims=(0, None))(X, c)
    assert loops.calls == []
    expected = np.stack([autograd.hessian(f_ag)(x, c) for x in X])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_batched_helpers_directly_match_each_example():
    # the batched forms against the unbatched helpers, example by example,
    # with a list tangent (the fallback inside the helper) as well
    from adjoint import runtime as rt
    rng = np.random.default_rng(3)
    a = rng.normal(size=(V, 3, 3)) + 4.0 * np.eye(3)
    z = np.linalg.inv(a)
    t = rng.normal(size=(V, 2, 3, 3))
    g = rng.normal(size=(V, 4, 3, 3))
    got = rt.vinv_adjoint_tangent(t, g, z)
    np.testing.assert_allclose(got, np.stack([rt.inv_adjoint_tangent(t[v], g[v], z[v]) for v in range(V)]),
                               rtol=1e-14, atol=1e-15)
    b, gb = rng.normal(size=(V, 3)), rng.normal(size=(V, 4, 3))
    got = rt.vsolve_transposed_tangent(t, a, gb, b)
    np.testing.assert_allclose(got, np.stack([rt.solve_transposed_tangent(t[v], a[v], gb[v], b[v])
                                              for v in range(V)]), rtol=1e-13, atol=1e-15)
    det = np.linalg.det(a)
    gd = rng.normal(size=(V, 4))
    for of_a, tangent in ((True, t), (False, rng.normal(size=(V, 2)))):
        got = rt.vdet_adjoint_tangent(tangent, gd, det, a, of_a=of_a)
        np.testing.assert_allclose(got, np.stack([rt.det_adjoint_tangent(tangent[v], gd[v], det[v], a[v], of_a=of_a)
                                                  for v in range(V)]), rtol=1e-13)
    listed = [t[:, :, 0], t[:, :, 1], t[:, :, 2]]  # a tangent given as a list of rows: once per example
    np.testing.assert_allclose(rt.vinv_tangent(listed, z), rt.vinv_tangent(t, z), rtol=1e-15)
