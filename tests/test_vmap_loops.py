"""vmap batches by transformation where it used to loop over the examples
(silently, or with a warning): counts (``len`` of a list built in the
function, a loop's count), ``np.add.at`` and ``ufunc.at`` with indices that
differ between the examples, SciPy's convolve, solve_banded,
solve_sylvester and multivariate_normal, rules whose value arguments reach
backward code through its residuals. Each case is checked against a Python
loop of the unbatched function, its derivatives against an
analytic formula or central differences, and ``rt.PER_EXAMPLE_LOOPS`` tells
that no loop over the examples ran. Also: a call that updates an array the
function made (``np.maximum.at``, ``np.copyto``) with batched values gives
each example its own array (every example wrote into one before).
"""
import functools
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import scipy.stats

import adjoint
from adjoint import runtime as rt

B = 3
RNG = np.random.default_rng(17)


def no_loop(call, *args):
    """``call(*args)``, failing if a loop over the examples ran or vmap warned of one."""
    before = rt.PER_EXAMPLE_LOOPS[0]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*once per example.*")
        result = call(*args)
    assert rt.PER_EXAMPLE_LOOPS[0] == before, "a loop over the examples ran"
    return result


def stacked(func, *args):
    return np.stack([np.asarray(func(*[a[k] for a in args])) for k in range(B)])


def central_jacobian(func, x, step=1e-6):
    columns = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = step
        e = e.reshape(x.shape)
        columns.append((np.asarray(func(x + e)) - np.asarray(func(x - e))) / (2 * step))
    return np.stack(columns, axis=-1).reshape(np.shape(func(x)) + x.shape)


# ----------------------------------------------------------------- counts and lists

def counted(x):
    total = 0.0
    for i in range(len(x)):  # len of a batched value; the loop's tape keeps i
        total = total + x[i] ** 3
    parts = [x, np.cos(x)]  # a list built before the call, not a literal at it
    parts.append(np.sin(x))
    return total + np.sum(functools.reduce(np.multiply, parts))


def selected(x):
    conditions = [x < -0.5, x < 0.5]
    choices = [np.sin(-0.5 * x), np.sin(0.5 * x)]
    return np.select(conditions, choices, default=x)


def test_counts_and_lists_batch_under_vmap_and_vmap_grad():
    x = RNG.normal(size=(B, 5))
    np.testing.assert_allclose(no_loop(adjoint.vmap(counted), x), stacked(counted, x), rtol=1e-12)
    np.testing.assert_allclose(no_loop(adjoint.vmap(selected), x), stacked(selected, x), rtol=1e-12)
    # d/dx (sum x^3 + sum x cos x sin x) = 3 x^2 + cos(2 x) x + sin(2 x) / 2
    expected = 3 * x ** 2 + np.cos(2 * x) * x + np.sin(2 * x) / 2
    np.testing.assert_allclose(no_loop(adjoint.vmap(adjoint.grad(counted)), x), expected, rtol=1e-10)


# ----------------------------------------------------------------- np.add.at, ufunc.at

def scattered(x, i):
    out = np.zeros(4)
    np.add.at(out, i, x ** 2)
    return out


def test_add_at_with_indices_that_differ_between_examples():
    x = RNG.normal(size=(B, 6))
    i = np.array([[0, 0, 3, 1, -1, 2], [2, 2, 2, 2, 0, 1], [1, 3, 0, 0, 0, 3]])
    np.testing.assert_allclose(no_loop(adjoint.vmap(scattered), x, i), stacked(scattered, x, i), rtol=1e-12)
    # d out[k] / d x[j] = 2 x[j] where i[j] addresses k (a repeated index adds each time)
    analytic = np.zeros((B, 4, 6))
    for b in range(B):
        for j in range(6):
            analytic[b, i[b, j] % 4, j] = 2 * x[b, j]
    np.testing.assert_allclose(no_loop(adjoint.vmap(adjoint.jacrev(scattered)), x, i), analytic, rtol=1e-12)
    np.testing.assert_allclose(no_loop(adjoint.vmap(adjoint.jacfwd(scattered)), x, i), analytic, rtol=1e-12)
    with pytest.raises(IndexError, match="out of bounds"):  # not another example's row
        adjoint.vmap(scattered)(x, i + 2)


def updated_in_place(x, i):
    peak = np.full(4, -10.0)
    np.maximum.at(peak, i, x)  # i differs between the examples
    low = np.zeros(3)
    np.minimum.at(low, [0, 0, 2], x[:3])  # the same index for every example
    return np.concatenate([peak, low])


def copied(x):
    out = np.zeros(6)
    np.copyto(out, x)  # (once per example, announced)
    return out * 2.0


def test_updates_in_place_of_an_array_the_function_made_are_per_example():
    # every example wrote into one shared array before: wrong numbers, no warning
    x = RNG.normal(size=(B, 6))
    i = RNG.integers(0, 4, size=(B, 6))
    np.testing.assert_allclose(no_loop(adjoint.vmap(updated_in_place), x, i), stacked(updated_in_place, x, i),
                               rtol=1e-12)
    with pytest.warns(RuntimeWarning, match="np.copyto has no batching rule"):
        np.testing.assert_allclose(adjoint.vmap(copied)(x), 2.0 * x, rtol=1e-12)


# ----------------------------------------------------------------- SciPy

def scipy_calls(x, k, ab, q):
    same = scipy.signal.convolve(x, k, mode="same")  # an even kernel: SciPy's centring
    valid = scipy.signal.correlate(x, k, mode="valid")
    banded = scipy.linalg.solve_banded((1, 1), ab, x[:5])
    sylvester = scipy.linalg.solve_sylvester(q, q.T + 4.0 * np.eye(3), np.outer(x[:3], k[:3]))
    density = scipy.stats.multivariate_normal.logpdf(np.stack([x[:3], k[:3]]), x[3:6], q @ q.T + np.eye(3))
    return np.concatenate([same, valid, banded, sylvester.ravel(), density])


def test_scipy_functions_run_once_on_the_batch():
    x, k = RNG.normal(size=(B, 7)), RNG.normal(size=(B, 4))
    ab = RNG.normal(size=(B, 3, 5)) + np.array([0.0, 4.0, 0.0])[:, None]
    q = RNG.normal(size=(B, 3, 3))
    got = no_loop(adjoint.vmap(scipy_calls), x, k, ab, q)
    np.testing.assert_allclose(got, stacked(scipy_calls, x, k, ab, q), rtol=1e-10, atol=1e-12)


def banded(ab, b):
    return scipy.linalg.solve_banded((1, 1), ab, b) ** 2


def test_vmap_of_derivatives_of_solve_banded_run_once_on_the_batch():
    # (l, u) reaches the backward pass through its residuals, broadcast to the batch
    ab = RNG.normal(size=(B, 3, 4)) + np.array([0.0, 4.0, 0.0])[:, None]
    b = RNG.normal(size=(B, 4))
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        got = no_loop(adjoint.vmap(transform(banded, argnums=(0, 1))), ab, b)
        for row in range(B):
            np.testing.assert_allclose(got[1][row], central_jacobian(lambda v: banded(ab[row], v), b[row]),
                                       rtol=1e-6, atol=1e-8)
            # the band storage's corners hold no entry of the matrix: no derivative
            np.testing.assert_allclose(got[0][row], central_jacobian(lambda v: banded(v, b[row]), ab[row]),
                                       rtol=1e-6, atol=1e-8)


def test_the_remaining_loops_are_announced_and_counted():
    # a Sylvester system over the Kronecker size: SciPy once per example, with a warning
    n = 9
    a, q = RNG.normal(size=(2, n, n)), RNG.normal(size=(2, n, n))
    b = a.transpose(0, 2, 1) + 2 * n * np.eye(n)
    before = rt.PER_EXAMPLE_LOOPS[0]
    with pytest.warns(RuntimeWarning, match="once per example"):
        got = rt.vsolve_sylvester(a, b, q, function=scipy.linalg.solve_sylvester)
    assert rt.PER_EXAMPLE_LOOPS[0] == before + 1
    np.testing.assert_allclose(np.einsum("bij,bjk->bik", a, got) + np.einsum("bij,bjk->bik", got, b), q,
                               atol=1e-9)
    # a covariance SciPy refuses: its own error, raised from the loop
    with pytest.warns(RuntimeWarning, match="once per example"), pytest.raises(np.linalg.LinAlgError):
        rt.vmvn_logpdf(np.zeros((2, 3)), None, np.zeros((2, 3, 3)), function=scipy.stats.multivariate_normal.logpdf)


def test_every_loop_of_a_batched_helper_is_announced():
    # a helper's own fallback loop over the examples warns through rt.stack_examples, which all of them call
    before = rt.PER_EXAMPLE_LOOPS[0]
    with pytest.warns(RuntimeWarning, match=r"vmap: rt\.\w+ has no batched form .* once per example"):
        got = rt.stack_examples([np.ones(2), np.zeros(2)])
    assert rt.PER_EXAMPLE_LOOPS[0] == before + 1 and got.shape == (2, 2)


def signs(x, y):
    return np.copysign(x, y) * np.fmod(x, y + 3.0) + np.fmax(x, y)


def test_slopes_of_copysign_fmod_and_fmax_are_elementwise_under_vmap_jacrev():
    x, y = RNG.normal(size=(B, 4)), RNG.normal(size=(B, 4))
    got = no_loop(adjoint.vmap(adjoint.jacrev(signs)), x, y)
    # d/dx: copysign's sign agreement times fmod, plus copysign (fmod's slope in x is 1), plus [x > y]
    agree = np.where(np.signbit(x) == np.signbit(y), 1.0, -1.0)
    slope = agree * np.fmod(x, y + 3.0) + np.copysign(x, y) + (x > y)
    np.testing.assert_allclose(got, np.stack([np.diag(s) for s in slope]), rtol=1e-12)
