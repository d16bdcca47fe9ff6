"""vmap of recursive functions and of their derivatives, np.zeros_like and
its kin under vmap, and vmap of the backward pass of a function with several
outputs: each against a Python loop over the examples (and the derivatives
against finite differences)."""
import warnings

import numpy as np
import pytest

import adjoint


def power_by_recursion(x, n):
    if n == 0:
        return np.ones_like(x)
    return x * power_by_recursion(x, n - 1)


def halving_sum(x):
    """Recursion on the size of the argument (a shape: the same for every example)."""
    if x.shape[0] == 1:
        return np.sin(x[0])
    half = x.shape[0] // 2
    return halving_sum(x[:half]) * halving_sum(x[half:]) + np.sum(x)


def loop(func, X, *rest):
    return np.stack([func(x, *rest) for x in X])


def central_difference(func, x, *rest, step=1e-6):
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step
        columns.append((np.asarray(func(x + e, *rest)) - np.asarray(func(x - e, *rest))) / (2 * step))
    return np.stack(columns, axis=-1)


X = np.random.default_rng(3).uniform(0.5, 1.5, size=(5, 4))


def test_vmap_of_a_recursive_function_is_one_batched_call():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no loop over the examples anywhere
        got = adjoint.vmap(power_by_recursion, in_dims=(0, None))(X, 3)
        np.testing.assert_allclose(got, X ** 3, rtol=1e-14)
        np.testing.assert_allclose(adjoint.vmap(halving_sum)(X), loop(halving_sum, X), rtol=1e-14)


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian"])
def test_vmap_of_derivatives_of_a_recursive_function(transform):
    derivative = getattr(adjoint, transform)(power_by_recursion)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (branches of the backward pass may run per example)
        got = adjoint.vmap(derivative, in_dims=(0, None))(X, 3)
    np.testing.assert_allclose(got, loop(derivative, X, 3), rtol=1e-12)
    first = adjoint.jacrev(power_by_recursion)
    reference = (loop(lambda x, n: central_difference(power_by_recursion, x, n), X, 3) if transform != "hessian"
                 else loop(lambda x, n: central_difference(first, x, n), X, 3))
    np.testing.assert_allclose(got, reference, rtol=1e-6, atol=1e-8)


def like_functions(x):
    a = np.ones_like(x) * x
    b = np.zeros_like(x, shape=(2,)) + x[0]
    c = np.full_like(x, 2.5) * x
    d = np.empty_like(x, shape=3)
    d[:] = 1.5
    return a + c + np.sum(b) + d * x, np.ones_like(x, dtype=int)


def first_output(x):
    return like_functions(x)[0]


def test_zeros_like_and_its_kin_batch_without_a_loop():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = adjoint.vmap(like_functions)(X[:, :3])
    expected = [np.stack(r) for r in zip(*[like_functions(x) for x in X[:, :3]], strict=True)]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)
        assert g.dtype == e.dtype


def test_vmap_of_the_backward_pass_of_a_function_with_several_outputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = adjoint.vmap(adjoint.jacrev(first_output))(X[:, :3])
    np.testing.assert_allclose(got, loop(lambda x: central_difference(first_output, x), X[:, :3]),
                               rtol=1e-7, atol=1e-9)


def test_numpy_running_out_of_memory_in_a_derivative_under_vmap_is_a_clear_error():
    """The inner derivative's identity basis (300,000 x 300,000 here: 720 GB) is built
    in its generated code, where the memory budget's chunks do not reach:
    NumPy's MemoryError becomes adjoint's, saying what to do."""
    try:
        with open("/proc/sys/vm/overcommit_memory") as setting:
            if setting.read().strip() == "1":
                pytest.skip("the kernel grants every allocation here (vm.overcommit_memory=1)")
    except OSError:
        pass

    def sines(x):
        return np.sin(x) * x[0]

    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with pytest.raises(adjoint.MemoryBudgetError, match=r"vmap of sines: NumPy could not allocate.*"
                                                            r"adjoint.vjp / adjoint.jvp"):
            adjoint.vmap(transform(sines))(np.ones((2, 300_000)))


def returns_what_add_at_returns(x):
    return np.add.at(np.zeros(3), [0, 1, 1], x[:3])


def test_a_function_returning_none_under_vmap_is_a_clear_error():
    with pytest.raises(ValueError, match=r"vmap: the function returned None.*np.add.at.*return the array"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            adjoint.vmap(returns_what_add_at_returns)(np.ones((4, 5)))


def sine_times_first(x):
    return np.sin(x) * x[0]


def test_source_of_a_vmapped_derivative_and_of_a_derivative_of_vmap():
    """source() follows the chain of transforms to the user's function's
    parameters (their wrappers take *args)."""
    text = adjoint.source(adjoint.vmap(adjoint.jacrev(sine_times_first)))
    assert "def sine_times_first_jacrev_vmap(batch, /, x):" in text
    # (the forward and backward passes are written into the jacrev function, api/inlined.py)
    assert "out_bar = rt.output_basis(rt.first_example(out))" in text
    text = adjoint.source(adjoint.jacrev(adjoint.vmap(sine_times_first)))
    assert "def sine_times_first_vmapped_jvp(" in text
