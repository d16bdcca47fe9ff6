"""vmap of derivatives without per-example loops (issue 8): the second
derivatives of np.var / np.std, the NaN-ignoring reductions, np.average
(weights that differ between the examples too), np.median / np.quantile /
np.percentile, np.cumprod, np.cross, np.sinc, np.convolve / np.correlate and
scipy.signal.convolve run once on the whole batch under vmap(jacrev(f)),
vmap(jacfwd(f)) and vmap(hessian(f)), and so do the first derivatives of
np.linalg.eig / eigvals, multivariate_normal.logpdf and solve_sylvester.
Checked against autograd (the same program written with autograd's
primitives, the NaNs and the sorted positions fixed as they are at the
points) or central differences (scipy.signal, solve_sylvester)."""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import scipy.linalg
import scipy.signal
import scipy.stats

import adjoint
from adjoint import runtime as rt


def stats(x, w):  # x: (6,), w: (3,); x > 0.8 is a NaN for the NaN-ignoring reductions
    holes = np.where(x > 0.8, np.nan, x)
    return (np.var(x) * np.std(x[:4]) + np.nanvar(holes, ddof=1) + np.nanstd(holes) ** 3 + np.nanprod(holes)
            + np.average(x[:3], weights=w) ** 3 + np.average(x) ** 3 + np.median(x) ** 3
            + np.quantile(x, 0.3) * np.percentile(x, 70.0) ** 2
            + np.sum(np.cross(x[:3], x[3:] * w) ** 2)
            + np.sum(np.convolve(x, w) ** 3) + np.sum(np.correlate(x, w * x[:3], mode="same") ** 2)
            + np.sum(np.sinc(x) * x))


def _convolve_full(a, v):  # full[k] = sum_i a[i] v[k - i]
    n, m = a.shape[0], v.shape[0]
    return anp.stack([sum(a[i] * v[k - i] for i in range(max(0, k - m + 1), min(n, k + 1)))
                      for k in range(n + m - 1)])


def reference(x, w, kept, order):
    """``stats`` in autograd: ``kept`` the elements that are not NaN,
    ``order`` the sorting permutation of ``x`` at the point."""
    s = x[order]
    kept_x = x[kept]
    return (anp.var(x) * anp.std(x[:4]) + anp.var(kept_x) * kept_x.size / (kept_x.size - 1)
            + anp.std(kept_x) ** 3 + anp.prod(kept_x)
            + (anp.sum(w * x[:3]) / anp.sum(w)) ** 3 + anp.mean(x) ** 3 + (0.5 * (s[2] + s[3])) ** 3
            + (0.5 * (s[1] + s[2])) * (0.5 * (s[3] + s[4])) ** 2
            + anp.sum(anp.cross(x[:3], x[3:] * w) ** 2)
            + anp.sum(_convolve_full(x, w) ** 3) + anp.sum(_convolve_full(x, (w * x[:3])[::-1])[1:7] ** 2)
            + anp.sum(anp.sinc(x) * x))


def _no_loops(run):
    before = rt.PER_EXAMPLE_LOOPS[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # (vmap warns when it loops over the examples)
        result = run()
    assert rt.PER_EXAMPLE_LOOPS[0] == before
    return result


def test_second_derivatives_of_reductions_cross_and_convolve_run_once_for_the_batch():
    rng = np.random.default_rng(0)
    xs = rng.uniform(-1.0, 1.0, (3, 6))
    xs[0, 1] = 0.9  # a NaN in the first example
    ws = rng.uniform(0.5, 1.5, (3, 3))  # weights that differ between the examples
    expected = {"jacrev": [], "hessian": []}
    for x, w in zip(xs, ws, strict=True):
        kept, order = ~(x > 0.8), np.argsort(x)
        assert np.isclose(reference(x, w, kept, order), stats(x, w), rtol=1e-12)
        expected["jacrev"].append(autograd.grad(reference)(x, w, kept, order))
        expected["hessian"].append(autograd.hessian(reference)(x, w, kept, order))
    got = _no_loops(lambda: adjoint.vmap(adjoint.jacrev(stats))(xs, ws))
    np.testing.assert_allclose(got, expected["jacrev"], rtol=1e-10, atol=1e-10)
    # (vmap(hessian(f)) runs forward mode over the whole gradient program: the
    # tangents of np.cross and np.convolve that vmap(jacfwd(f)) runs, and those
    # of the adjoint helpers)
    got = _no_loops(lambda: adjoint.vmap(adjoint.hessian(stats))(xs, ws))
    np.testing.assert_allclose(got, expected["hessian"], rtol=1e-9, atol=1e-9)


def averaged(a, w):  # a: (2, 3), w: (3,) weights along axis 1, their own adjoint taken too
    return np.average(a, axis=1, weights=w) ** 2


def test_average_with_weights_that_differ_between_the_examples():
    rng = np.random.default_rng(1)
    a, w = rng.standard_normal((4, 2, 3)), rng.uniform(0.5, 1.5, (4, 3))

    def by_autograd(a, w):
        return (anp.sum(a * w, axis=1) / anp.sum(w)) ** 2

    for transform in (adjoint.jacrev, adjoint.jacfwd):
        got_a, got_w = _no_loops(lambda: adjoint.vmap(transform(averaged, argnums=(0, 1)))(a, w))
        np.testing.assert_allclose(got_a, [autograd.jacobian(by_autograd, 0)(*e) for e in zip(a, w)], atol=1e-12)
        np.testing.assert_allclose(got_w, [autograd.jacobian(by_autograd, 1)(*e) for e in zip(a, w)], atol=1e-12)


def signal_same(a, v):
    return scipy.signal.correlate(a, v, mode="same") ** 2


def test_jacrev_of_vmap_of_scipy_signal_convolve():
    rng = np.random.default_rng(2)
    a, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 2, 2))
    got = adjoint.jacrev(adjoint.vmap(signal_same))(a, v)  # (2, 3, 4) + a.shape
    step = 1e-6
    columns = []
    for e in np.eye(a.size):
        e = np.reshape(e, a.shape)
        columns.append((np.stack([signal_same(*p) for p in zip(a + step * e, v)])
                        - np.stack([signal_same(*p) for p in zip(a - step * e, v)])) / (2 * step))
    differences = np.moveaxis(np.array(columns), 0, -1).reshape(got.shape)
    np.testing.assert_allclose(got, differences, atol=1e-7)
    # vmap(jacrev(f)) of it runs once for the batch: each example's block
    got = _no_loops(lambda: adjoint.vmap(adjoint.jacrev(signal_same))(a, v))
    np.testing.assert_allclose(got, [differences[i, :, :, i] for i in range(2)], atol=1e-7)


def spectrum(a):  # a real spectrum: a symmetric positive definite matrix (eig, not eigh)
    s = a @ a.T + np.diag([1.0, 2.0, 3.0])
    w, v = np.linalg.eig(s)
    # (np.real: NumPy 2.5's eig gives complex values, with zero imaginary parts here, even for a real spectrum)
    return np.real(np.sum(w ** 2) + np.sum(v[:, 0] ** 2 * w) + np.sum(np.linalg.eigvals(s * 2.0) ** 3))


def test_eig_and_eigvals_derivatives_run_once_for_the_batch():
    a = np.random.default_rng(3).standard_normal((3, 3, 3))

    def by_autograd(a):
        s = anp.dot(a, a.T) + anp.diag(anp.array([1.0, 2.0, 3.0]))
        w, v = anp.linalg.eig(s)
        return anp.real(anp.sum(w ** 2) + anp.sum(v[:, 0] ** 2 * w) + anp.sum(anp.linalg.eig(s * 2.0)[0] ** 3))

    expected = [autograd.grad(by_autograd)(x) for x in a]
    np.testing.assert_allclose(_no_loops(lambda: adjoint.vmap(adjoint.jacrev(spectrum))(a)), expected, atol=1e-9)
    np.testing.assert_allclose(_no_loops(lambda: adjoint.vmap(adjoint.jacfwd(spectrum))(a)), expected, atol=1e-9)


def gaussian(x, mean, c):  # points (2, 3), a mean and a covariance per example
    return np.sum(scipy.stats.multivariate_normal.logpdf(x, mean, c @ c.T + np.eye(3)))


def test_multivariate_normal_derivatives_run_once_for_the_batch():
    from autograd.scipy.stats import multivariate_normal as normal

    rng = np.random.default_rng(4)
    args = rng.standard_normal((3, 2, 3)), rng.standard_normal((3, 3)), rng.standard_normal((3, 3, 3))

    def by_autograd(x, mean, c):
        return anp.sum(normal.logpdf(x, mean, anp.dot(c, c.T) + anp.eye(3)))

    for transform in (adjoint.jacrev, adjoint.jacfwd):
        got = _no_loops(lambda: adjoint.vmap(transform(gaussian, argnums=(0, 1, 2)))(*args))
        for k in range(3):
            np.testing.assert_allclose(got[k], [autograd.grad(by_autograd, k)(*e) for e in zip(*args)], atol=1e-10)


def sylvester(a, b, q):
    return scipy.linalg.solve_sylvester(a + 4.0 * np.eye(3), b + 4.0 * np.eye(2), q) ** 2


def test_solve_sylvester_derivatives_run_once_for_the_batch():
    rng = np.random.default_rng(5)
    args = [rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 2, 2)), rng.standard_normal((2, 3, 2))]
    got = _no_loops(lambda: adjoint.vmap(adjoint.jacrev(sylvester, argnums=(0, 1, 2)))(*args))
    step = 1e-6
    for k, arg in enumerate(args):
        for i in range(2):
            example = [a[i] for a in args]
            columns = []
            for e in np.eye(arg[i].size):
                plus, minus = list(example), list(example)
                plus[k] = arg[i] + step * e.reshape(arg[i].shape)
                minus[k] = arg[i] - step * e.reshape(arg[i].shape)
                columns.append((sylvester(*plus) - sylvester(*minus)) / (2 * step))
            np.testing.assert_allclose(got[k][i], np.moveaxis(np.array(columns), 0, -1).reshape(got[k][i].shape),
                                       atol=1e-7)


def norms(a):
    return np.linalg.norm(a, 2) + np.linalg.norm(a, "nuc") * 0.5 + np.linalg.norm(a, 1) ** 2


def test_matrix_norm_slopes_run_once_for_the_batch():
    a = np.random.default_rng(6).standard_normal((3, 3, 2))
    got = _no_loops(lambda: adjoint.vmap(adjoint.jacrev(norms))(a))
    step = 1e-6
    for i in range(3):
        differences = [(norms(a[i] + step * e.reshape(3, 2)) - norms(a[i] - step * e.reshape(3, 2))) / (2 * step)
                       for e in np.eye(6)]
        np.testing.assert_allclose(got[i], np.reshape(differences, (3, 2)), atol=1e-7)

    def squared(a):  # piecewise quadratic: its second differences are exact
        return np.linalg.norm(a, 1) ** 2 + np.linalg.norm(a, np.inf) ** 2

    got = _no_loops(lambda: adjoint.vmap(adjoint.hessian(squared))(a))
    h, eye = 1e-3, np.eye(6).reshape(6, 3, 2)
    for i in range(3):
        second = [[(squared(a[i] + h * (p + q)) - squared(a[i] + h * (p - q)) - squared(a[i] - h * (p - q))
                    + squared(a[i] - h * (p + q))) / (4 * h * h) for q in eye] for p in eye]
        np.testing.assert_allclose(got[i].reshape(6, 6), second, atol=1e-6)


def running(x):  # x: (2, 3); the running products along the rows, a zero among them
    return np.sum(np.cumprod(x, axis=1) ** 2) + np.sum(np.cumprod(x) * x.ravel())


def test_cumprod_second_derivatives_run_once_for_the_batch():
    xs = np.random.default_rng(7).standard_normal((3, 2, 3))
    xs[1, 0, 1] = 0.0

    def products(v):  # running products by multiplication (autograd's prod divides by v: nan at a zero)
        out = [v[0]]
        for k in range(1, v.shape[0]):
            out.append(out[-1] * v[k])
        return anp.stack(out)

    def by_autograd(x):
        flat = anp.reshape(x, (6,))
        return anp.sum(anp.stack([products(row) for row in x]) ** 2) + anp.sum(products(flat) * flat)

    got = _no_loops(lambda: adjoint.vmap(adjoint.jacfwd(running))(xs))
    np.testing.assert_allclose(got, [autograd.grad(by_autograd)(x) for x in xs], atol=1e-12)
    got = _no_loops(lambda: adjoint.vmap(adjoint.hessian(running))(xs))
    np.testing.assert_allclose(got, [autograd.hessian(by_autograd)(x) for x in xs], atol=1e-12)
