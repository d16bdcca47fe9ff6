"""Third derivatives and deep compositions that crashed or looped (issue 8).

Each composition is checked against an independent reference: autograd's
derivatives of a twin written with autograd.numpy, or the unbatched helper
run example by example. The batched cases also assert that no loop over
the examples ran (rt.PER_EXAMPLE_LOOPS, and vmap's warnings as errors)."""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from adjoint import runtime as rt

X3 = np.array([0.3, -1.2, 0.7])
C = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 1.0], [0.2, 0.3, 0.4]])


def no_loop(call):
    """``call()`` with vmap's warnings as errors; fails if a per-example loop ran."""
    before = rt.PER_EXAMPLE_LOOPS[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = call()
    assert rt.PER_EXAMPLE_LOOPS[0] == before, "a loop over the examples ran"
    return result


# ------------------------------------------------- np.cov, np.kron, multi_dot
# A third derivative differentiates the second-order helpers of the rules
# once more (their source, in forward mode). Each test below takes that
# step alone on the helper (jacfwd of it, cheap) against central
# differences of the helper; tools/third_order_audit.py runs the whole
# compositions (jacfwd(hessian(f)), jacrev^3, ...) over the rule table.

RNG = np.random.default_rng(5)


def central(func, args, position, step=1e-6):
    """Central differences of ``func(*args)`` along each element of ``args[position]``."""
    x = np.asarray(args[position], dtype=float)
    columns = []
    for i in range(x.size):
        shift = np.zeros(x.size)
        shift[i] = step
        up, down = list(args), list(args)
        up[position], down[position] = x + shift.reshape(x.shape), x - shift.reshape(x.shape)
        columns.append((np.asarray(func(*up)) - np.asarray(func(*down))) / (2 * step))
    return np.stack(columns, axis=-1).reshape(np.shape(func(*args)) + x.shape)


def check_forward(func, args, argnums):
    got = adjoint.jacfwd(func, argnums=argnums)(*args)
    for jacobian, position in zip(got, argnums, strict=True):
        np.testing.assert_allclose(jacobian, central(func, args, position), rtol=1e-7, atol=1e-8)


COV_G = RNG.normal(size=(2, 3, 3))


def cov_step(t, m):
    return rt.cov_adjoint_tangent(t, COV_G, m)  # (its helper _cov_rows called np.array(m, ndmin=2))


KRON_A = np.array([0.5, -1.5])


def kron_step(t, g, b):
    return rt.kron_adjoint_left_tangent(t, g, KRON_A, b)  # (an interleaved einsum: labels read as 'subscripts')


MATRICES = [RNG.normal(size=(2, 3)), RNG.normal(size=(3, 3)), RNG.normal(size=(3,))]


def multi_dot_merged(first, t):
    # (multi_dot's tangent helpers also looped over zip / enumerate: the lint
    # of tests/test_runtime_differentiable.py keeps such loops out)
    # forward mode over rt.merged_tree along a list argument (jacfwd(hessian(f)) through multi_dot) was refused
    return rt.merged_tree(rt.multi_dot_adjoint, t, [first] + MATRICES[1:])[0]


CROSS_A = np.array([0.3, -1.0, 2.0])


def cross_step(t, g, b):
    # (an axis packed in one tuple with an operand counted as differentiated)
    return rt.cross_adjoint_tangent(t, g, CROSS_A, b, wrt_b=True)


def average_step(t, weights):
    # np.average's weights at third order: rt._unbroadcast_reshaped had no
    # tangent rule, so rt.merged of it was refused along the weights
    return rt.merged(rt._unbroadcast_reshaped, t * np.sum(weights), weights, (3,))


def test_second_order_helpers_differentiate_again():
    check_forward(cov_step, [RNG.normal(size=(2, 3, 4)), RNG.normal(size=(3, 4))], (0, 1))
    check_forward(kron_step, [RNG.normal(size=(2, 3)), RNG.normal(size=(2, 6)), RNG.normal(size=3)], (0, 1, 2))
    check_forward(multi_dot_merged, [MATRICES[0], RNG.normal(size=(2, 2, 2))], (0, 1))
    check_forward(cross_step, [RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3)), RNG.normal(size=3)], (0, 1))
    check_forward(average_step, [RNG.normal(size=(2, 4, 2, 3)), np.array([0.5, 1.0, 2.0])], (0, 1))


KNOTS = np.array([-1.0, -0.2, 0.4, 1.1, 2.0])
LSTSQ_B = np.array([1.0, 2.0, 0.5, -1.0])


def interp_step(x, fp):
    # (below | above on values unpacked from a differentiated call: refused)
    return rt.interp_slope(x, KNOTS, fp)


def lstsq_step(t, a):
    # (its tuple result set an attribute on a tuple subclass: refused)
    return rt.lstsq_tangent(t, a, LSTSQ_B, np.linalg.lstsq(a, LSTSQ_B, rcond=None))[0]


def matrix_norm_step(x):
    # (the norm's kind, unpacked with the matrix from one call, counted as
    # differentiated: np.sum's axis was refused; vmap(jacrev(vmap(jacrev(f))))
    # of np.linalg.norm differentiates this helper)
    return rt.matrix_norm_slope(x, 1) * x


def batched_roll_step(t):
    # (vmap's helper of merged helpers has **options and imports inside: forward
    # mode applies it to each tangent row, rules.LINEAR_HELPERS; through it
    # vmap(jacrev(vmap(jacrev(f)))) of np.concatenate was refused)
    return rt.vmerged_where_shared(2, rt.roll_tangent, t, (np.array([1, 1]),), (True,), axis=np.array([0, 0]))


def test_tangent_helpers_of_interp_and_lstsq_differentiate_again():
    # jacfwd(jacfwd(f)) of np.interp(x, xp, fp) and np.linalg.lstsq(a, b) with
    # both arguments differentiated (found by tools/third_order_audit.py --mode vmap-fwd2)
    check_forward(interp_step, [np.array([0.1, -0.5, 0.9, 3.0]), RNG.normal(size=5)], (0, 1))
    a = np.array([[1.0, 2.0], [0.5, -1.0], [0.3, 0.2], [1.5, 0.1]])
    check_forward(lstsq_step, [RNG.normal(size=(2, 4, 2)), a], (0, 1))
    check_forward(batched_roll_step, [RNG.normal(size=(2, 3, 4))], (0,))
    check_forward(matrix_norm_step, [np.array([[3.0, 1.0], [0.5, -1.0]])], (0,))  # (no tie between columns)


SVD_A = RNG.normal(size=(3, 2))
SVD_Z = np.linalg.svd(SVD_A, full_matrices=False)
SVD_G = (RNG.normal(size=(2, 3, 2)), RNG.normal(size=(2, 2)), RNG.normal(size=(2, 2, 2)))


def svd_step(t_s):
    return rt.svd_adjoint_tangent((None, t_s, None), SVD_G, SVD_A, SVD_Z, full_matrices=False)


def test_third_order_through_svd_factors_differentiates_the_second_order_helper():
    # (it was refused: svd_adjoint_tangent is a complex step; its tangent rule,
    # rules/runtime_arrays.py, is linear along the factors' tangent, checked
    # here against differences of the helper; tests/test_svd_third_order.py
    # checks the whole third derivative against autograd)
    t_s = RNG.normal(size=(2, 2))
    got = adjoint.jacfwd(svd_step)(t_s)
    step = 1e-3  # (linear in t_s: differences are exact to rounding)
    for k in range(t_s.size):
        e = np.zeros(t_s.size)
        e[k] = step
        e = e.reshape(t_s.shape)
        want = (svd_step(t_s + e) - svd_step(t_s - e)) / (2 * step)
        np.testing.assert_allclose(got[..., k // 2, k % 2], want, rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------ namedtuple field

def test_the_missing_second_tangent_of_a_field_has_the_outer_axis():
    # jacfwd(hessian(f)) of f reading a namedtuple's field raised ValueError
    # (reshape) in jacfwd: the zeros standing for a field's missing second
    # tangent had an outer axis of 1, not the number of tangents
    item = np.zeros(3)
    zeros = rt.attribute_tangent_tangent((None, None), None, item, "first", 4, 5)
    assert zeros.shape == (5, 4, 3) and not zeros.any()


# ------------------------------------------- vmap of helpers of third order

def test_batched_helpers_of_third_order_code_match_each_example():
    # the batching rules added for vmap(jacfwd(hessian(f))) through pinv/outer
    # and vmap(jacrev(vmap(jacrev(f)))): against the unbatched helper per example
    rng = np.random.default_rng(0)
    t, a, b, g = (rng.normal(size=s) for s in [(2, 4, 3), (2, 3), (2, 5), (2, 6, 3, 5)])
    stack = lambda helper, *args: np.stack([helper(*[x[w] for x in args]) for w in range(2)])  # noqa: E731
    np.testing.assert_allclose(rt.vouter_tangent_left(t, a, b), stack(rt.outer_tangent_left, t, a, b))
    tb = rng.normal(size=(2, 4, 5))
    np.testing.assert_allclose(rt.vouter_tangent_right(tb, a, b), stack(rt.outer_tangent_right, tb, a, b))
    np.testing.assert_allclose(rt.vouter_adjoint_left_tangent(tb, g, a, b),
                               stack(rt.outer_adjoint_left_tangent, tb, g, a, b))
    np.testing.assert_allclose(rt.vouter_adjoint_right_tangent(t, g, a, b),
                               stack(rt.outer_adjoint_right_tangent, t, g, a, b))
    # vmatmul's tangent: each tangent row in its operand's place, vmatmul per example
    m, v = rng.normal(size=(6, 2, 3)), rng.normal(size=(6, 3))
    tm = rng.normal(size=(4, 6, 2, 3))
    tv = rng.normal(size=(4, 6, 3))
    np.testing.assert_allclose(rt.tangent_of_vmatmul(tm, m, v), np.stack([rt.vmatmul(r, v) for r in tm]))
    np.testing.assert_allclose(rt.tangent_of_vmatmul(tv, m, v, wrt_b=True), np.stack([rt.vmatmul(m, r) for r in tv]))
    m2 = rng.normal(size=(6, 5, 3, 2))  # (an example's stack of matrices against a matrix)
    tm2 = rng.normal(size=(4, 6, 5, 3, 2))
    np.testing.assert_allclose(rt.tangent_of_vmatmul(tm2, m, m2, wrt_b=True),
                               np.stack([rt.vmatmul(m, r) for r in tm2]))
    np.testing.assert_allclose(rt.tangent_of_vmatmul(tm, m, m2), np.stack([rt.vmatmul(r, m2) for r in tm]))
    # over_examples and vv_call against the helper per example
    gb = rng.normal(size=(6, 5, 2))
    tg = rng.normal(size=(4, 6, 5, 2))
    np.testing.assert_allclose(rt.over_examples(rt.vmatmul_adjoint_right, 0, tg, (gb, m, v)),
                               np.stack([rt.vmatmul_adjoint_right(r, m, v) for r in tg]))
    ww = rng.normal(size=(2, 6, 2, 3)), rng.normal(size=(2, 6, 3))
    np.testing.assert_allclose(rt.vv_call(rt.vmatmul, ww), np.stack([rt.vmatmul(ww[0][w], ww[1][w]) for w in range(2)]))


def pinv_of_outer(x):
    return np.sum(np.linalg.pinv(np.outer(x, x) + C + 3.0 * np.eye(3)) ** 2)


def pinv_of_outer_twin(x):
    return anp.sum(anp.linalg.inv(anp.outer(x, x) + C + 3.0 * anp.eye(3)) ** 2)


def test_vmap_of_the_tangent_of_pinvs_unbroadcast_helper():
    # vmap(jacfwd(hessian(f))) through pinv crashed in the batched forward code
    # of _ra_unbroadcast (rt._shape of a batched value was batched): that code
    # alone, against the unbatched helper per example
    rng = np.random.default_rng(1)
    rows, likes = rng.normal(size=(2, 4, 3, 3, 2)), np.zeros((2, 1, 2))
    derivative = adjoint.jacfwd(rt._ra_unbroadcast)  # (its source, as forward mode reads it at third order)
    got = no_loop(lambda: adjoint.vmap(derivative)(rows, likes))
    want = np.stack([derivative(r, like) for r, like in zip(rows, likes)])
    np.testing.assert_allclose(got, want)
    # each output element is the sum of the 3 input rows it came from
    np.testing.assert_allclose(got[0].reshape(4 * 3 * 2, -1).sum(axis=-1), 3.0)


# ---------------------------------------------------------- vmap of vmap code

def tanh_layer(x):
    return np.sum(np.tanh(C @ x) ** 2)


def tanh_layer_twin(x):
    return anp.sum(anp.tanh(anp.dot(C, x)) ** 2)


def test_vmap_of_jacrev_of_vmap_of_jacrev_runs_on_the_batch():
    batches = np.random.default_rng(2).normal(size=(2, 4, 3))
    got = no_loop(lambda: adjoint.vmap(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(tanh_layer))))(batches))
    assert got.shape == (2, 4, 3, 4, 3)
    hessian = autograd.hessian(tanh_layer_twin)
    for b in range(2):  # each example's Hessian on the diagonal of the inner batch, zeros off it
        for i in range(4):
            np.testing.assert_allclose(got[b, i, :, i, :], hessian(batches[b, i]), rtol=1e-12, atol=1e-14)
            for j in range(4):
                if j != i:
                    assert not np.any(got[b, i, :, j, :])


# --------------------------------------------------------- recursion and r_/c_

def power_sine(x, n):
    if n == 0:
        return x
    return np.sin(power_sine(x, n - 1)) * x


def recursive(x):
    return np.sum(power_sine(x, 3))


def power_sine_twin(x, n):
    if n == 0:
        return x
    return anp.sin(power_sine_twin(x, n - 1)) * x


def test_vmap_of_jacrev_of_a_recursive_function_runs_on_the_batch():
    batch = np.random.default_rng(3).uniform(0.5, 1.5, size=(3, 3))
    got = no_loop(lambda: adjoint.vmap(adjoint.jacrev(recursive))(batch))
    gradient = autograd.grad(lambda x: anp.sum(power_sine_twin(x, 3)))
    np.testing.assert_allclose(got, np.stack([gradient(x) for x in batch]), rtol=1e-12)


def joined(x):
    return np.sum(np.r_[x, x ** 2, 1.0] ** 2)


def test_vmap_of_second_forward_derivative_through_r_runs_on_the_batch():
    # the tangent of np.r_ / np.c_'s join was differentiated from its source
    # (a branch on each item's kind, per example); it has a rule now
    batch = np.random.default_rng(4).normal(size=(2, 3))
    got = no_loop(lambda: adjoint.vmap(adjoint.jacfwd(adjoint.jacfwd(joined)))(batch))
    # analytic: sum(x^2 + x^4) + 1 has the diagonal Hessian 2 + 12 x^2
    np.testing.assert_allclose(got, np.stack([np.diag(2 + 12 * x ** 2) for x in batch]), rtol=1e-12)


def test_examples_that_branch_differently_run_one_by_one():
    # generated code tests a saved flag with rt.uniform_test; when the
    # examples disagree, the function runs once per example (with a warning),
    # values that are the same for every example (a flag, a count) passed as they are
    from adjoint.backend.uniform_branches import UniformOrLooped

    def batched(batch, residuals, x):
        flags, count = residuals
        return x * count if rt.uniform_test(flags) else -x

    def one(residuals, x):
        flags, count = residuals
        return x * count if flags else -x

    run = UniformOrLooped(batched, one, (0, 1), [(7, "an if whose test depends on the batched values")], "f.py")
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(run(2, (np.array([True, True]), 3.0), x), 3.0 * x)
    with pytest.warns(RuntimeWarning, match="f.py:7: an if .* took different branches"):
        got = run(2, (np.array([True, False]), 3.0), x)
    np.testing.assert_array_equal(got, [[3.0, 6.0], [-3.0, -4.0]])
