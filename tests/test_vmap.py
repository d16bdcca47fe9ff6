"""vmap (SPEC.md section 3): batched code that runs NumPy once per op on
the whole batch, torch.func's in_dims/out_dims/chunk_size meaning, clear
errors, the per-example fallback for control flow on batched values, and
compositions with the derivative transforms. Every result is checked
against a Python loop over the examples."""
import warnings

import numpy as np
import pytest

import adjoint
from conftest import Program  # noqa: F401 (the catalogues below reuse the test programs)

import test_control_flow
import test_programs

RNG = np.random.default_rng(11)
A = RNG.normal(size=(8, 5))


def mlp(x):
    return np.tanh(A @ x)


def two_args(x, y):
    z = np.sin(x) * y + x ** 2
    return z / 2.0 - y


def with_branch(x):
    if np.sum(x) > 0:
        return x * 2.0
    return -x


def indexing_and_update(x):
    y = np.zeros(4)
    y[0] = x[0] * x[1]
    y[1:3] = x[1:3] ** 2
    return y + x[2]


def looped_sum(x):
    total = 0.0
    for i in range(3):
        total = total + x[i] * np.cos(x)
    return total


def _loop(func, in_dims, args):
    """The reference: func called on each example, stacked on axis 0."""
    per_arg = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
    size = next(np.shape(a)[d] for a, d in zip(args, per_arg, strict=True) if d is not None)
    results = []
    for i in range(size):
        example = [a if d is None else np.take(a, i, axis=d) for a, d in zip(args, per_arg, strict=True)]
        results.append(func(*example))
    return np.stack(results)


def _no_loop_warnings():
    catcher = warnings.catch_warnings()
    catcher.__enter__()
    warnings.simplefilter("error", RuntimeWarning)
    return catcher


@pytest.mark.parametrize("func, in_dims, shapes", [
    (mlp, 0, [(6, 5)]),
    (two_args, (0, None), [(6, 3), (3,)]),
    (two_args, (1, 0), [(3, 6), (6, 3)]),
    (two_args, (None, 0), [(3,), (6, 3)]),
    (indexing_and_update, 0, [(6, 4)]),
    (looped_sum, -1, [(3, 6)]),
])
def test_vmap_equals_a_loop_over_examples(func, in_dims, shapes):
    args = [RNG.normal(size=shape) for shape in shapes]
    expected = _loop(func, in_dims, args)
    for chunk_size in (None, 1, 4):
        got = adjoint.vmap(func, in_dims=in_dims, chunk_size=chunk_size)(*args)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_out_dims_place_the_batch_axis():
    x = RNG.normal(size=(6, 3))
    got = adjoint.vmap(two_args, in_dims=(0, None), out_dims=1)(x, np.ones(3))
    np.testing.assert_allclose(got, _loop(two_args, (0, None), [x, np.ones(3)]).T)


def test_pytree_in_dims_prefix():
    def weighted(params, x):
        return params["w"] * x + params["b"]

    params = {"w": RNG.normal(size=(5, 3)), "b": np.array([1.0, 2.0, 3.0])}
    x = RNG.normal(size=(5, 3))
    got = adjoint.vmap(weighted, in_dims=({"w": 0, "b": None}, 0))(params, x)
    expected = np.stack([params["w"][i] * x[i] + params["b"] for i in range(5)])
    np.testing.assert_allclose(got, expected)


def test_control_flow_on_batched_values_runs_per_example_with_a_warning():
    x = np.array([[1.0, 2.0], [-3.0, 1.0], [0.5, -2.0]])
    with pytest.warns(RuntimeWarning, match="an if whose test depends on the batched values"):
        got = adjoint.vmap(with_branch)(x)
    np.testing.assert_allclose(got, _loop(with_branch, 0, [x]))


def test_errors_are_clear():
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match="different sizes"):
        adjoint.vmap(two_args)(x, np.ones((5, 3)))
    with pytest.raises(ValueError, match="in_dims=2 for argument 0"):
        adjoint.vmap(mlp, in_dims=2)(np.ones((4, 5)))
    with pytest.raises(ValueError, match="at least one argument must be mapped over"):
        adjoint.vmap(mlp, in_dims=None)(np.ones(5))
    with pytest.raises(ValueError, match="one entry per argument"):
        adjoint.vmap(two_args, in_dims=(0,))(x, x)
    with pytest.raises(ValueError, match="must be an int, None"):
        adjoint.vmap(mlp, in_dims="0")
    with pytest.raises(ValueError, match="chunk_size should be greater than 0"):
        adjoint.vmap(mlp, chunk_size=0)


def test_vmap_of_vmap_merges_the_batch_axes():
    x = RNG.normal(size=(2, 4, 3))
    got = adjoint.vmap(adjoint.vmap(two_args, in_dims=(0, None)), in_dims=(0, None))(x, np.ones(3))
    expected = np.stack([_loop(two_args, (0, None), [x[i], np.ones(3)]) for i in range(2)])
    np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "grad", "hessian"])
def test_per_example_derivatives(transform):
    X = RNG.normal(size=(7, 5))

    def energy(x):
        return np.sum(np.tanh(A @ x) ** 2)

    func = energy if transform in ("grad", "hessian") else mlp
    derivative = getattr(adjoint, transform)(func)
    got = adjoint.vmap(derivative)(X)
    np.testing.assert_allclose(got, np.stack([derivative(x) for x in X]), rtol=1e-10, atol=1e-12)


def test_per_example_jacobians_are_vectorised():
    X = RNG.normal(size=(16, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no per-example loop anywhere
        for derivative in (adjoint.jacrev(np.sin), adjoint.jacrev(mlp)):
            got = adjoint.vmap(derivative)(X)
            np.testing.assert_allclose(got, np.stack([derivative(x) for x in X]), rtol=1e-12)


def test_derivatives_of_vmap():
    X, y = RNG.normal(size=(4, 3)), np.array([1.0, 2.0, 0.5])
    batched = adjoint.vmap(two_args, in_dims=(0, None))
    step = 1e-6
    numeric = np.stack([(batched(X + step * e.reshape(X.shape), y) - batched(X - step * e.reshape(X.shape), y))
                        / (2 * step) for e in np.eye(X.size)], axis=-1).reshape(X.shape + X.shape)
    np.testing.assert_allclose(adjoint.jacrev(batched)(X, y), numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacfwd(batched)(X, y), numeric, rtol=1e-6, atol=1e-8)


ARRAY_PROGRAMS = [p for p in test_programs.PROGRAMS + test_control_flow.PROGRAMS
                  if all(isinstance(a, np.ndarray) for a in p.make_args())]


@pytest.mark.parametrize("program", ARRAY_PROGRAMS, ids=[p.name for p in ARRAY_PROGRAMS])
def test_catalogue_programs_batch_exactly(program):
    """vmap(f)(X) == stack([f(x) for x in X]) on every program of the
    catalogues (loops and branches inside; a per-example fallback allowed)."""
    args = program.make_args()
    batched_args = [np.stack([a, a * 0.9 + 0.05, a * 1.1]) for a in args]
    expected = [program.func(*[b[i] for b in batched_args]) for i in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = adjoint.vmap(program.func)(*batched_args)
    for i in range(3):
        for got_leaf, expected_leaf in zip(_leaves(got, i), _leaves(expected[i]), strict=True):
            np.testing.assert_allclose(got_leaf, expected_leaf, rtol=1e-12, atol=1e-14)


def _leaves(tree, row=None):
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item, row)]
    return [np.asarray(tree if row is None else tree[row])]


def method_calls(x):
    return x.sum(axis=0) * x.std() + x.max()


def test_methods_of_batched_values_see_one_example():
    """x.sum(axis=0) on a batched x reduces each example's first axis (a
    method bound to the whole batch reduced over the batch axis)."""
    X = RNG.normal(size=(5, 3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = adjoint.vmap(method_calls)(X)
    np.testing.assert_allclose(got, _loop(method_calls, 0, [X]), rtol=1e-12)
    jacobian = adjoint.jacrev(adjoint.vmap(method_calls))(X)  # block diagonal over the examples
    for i in range(len(X)):
        np.testing.assert_allclose(jacobian[i, :, i], adjoint.jacrev(method_calls)(X[i]), rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(jacobian[i, :, (i + 1) % len(X)], 0.0)


def _sin(x):
    return np.sin(x)


def _gather_argmax(x):
    j = np.argmax(x, axis=1)
    return x[np.arange(3), j]


def _column_of_argmin(x):
    k = np.argmin(x[0])
    return x[:, k]


def _count_positive(x):
    return np.where(x > 0)[0].size + x.sum()


def test_found_by_hunting_for_wrong_numbers():
    """Each of these gave wrong values silently."""
    # a transform of a vmap took the vmap's markers (functools.wraps copied them) and ran the vmap
    A = np.arange(12.0).reshape(2, 3, 2) / 10
    inner = adjoint.jacrev(adjoint.vmap(_sin))
    got = adjoint.vmap(inner)(A)
    assert got.shape == (2, 3, 2, 3, 2)
    np.testing.assert_allclose(got, np.stack([inner(a) for a in A]))
    # an index expression mixing a batched index with a fixed one
    X = np.arange(24.0).reshape(2, 3, 4) % 5
    np.testing.assert_allclose(adjoint.vmap(_gather_argmax)(X), _loop(_gather_argmax, 0, [X]))
    X = np.array([[[1.0, 0.0], [5.0, 6.0]], [[0.0, 1.0], [7.0, 8.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(adjoint.vmap(_column_of_argmin)(X), _loop(_column_of_argmin, 0, [X]))
        # np.where of one argument is not elementwise: its results differ in size per example
        X = np.array([[1.0, -2.0, 3.0, 4.0, 5.0], [-1.0, -2.0, 3.0, -4.0, -5.0]])
        with pytest.raises(ValueError):  # ragged per-example results cannot form one batch
            adjoint.vmap(lambda x: np.where(x > 0)[0])(X)
        np.testing.assert_allclose(adjoint.vmap(_count_positive)(X), _loop(_count_positive, 0, [X]))
    # an inner out_dims out of range is refused, as for a single vmap
    with pytest.raises(ValueError, match="out_dims=2"):
        adjoint.vmap(adjoint.vmap(_sin, out_dims=2))(np.ones((2, 4, 3)))


def test_source_shows_batched_code():
    text = adjoint.source(two_args, argnums=(0,), mode="vmap")
    assert "def two_args_vmap(batch, /, x, y):" in text
    assert "for " not in text  # one NumPy call per op, no loop over examples
    # the code shown is the code that runs: executing it gives the loop's values
    X, y = RNG.normal(size=(6, 3)), RNG.normal(size=3)
    np.testing.assert_allclose(adjoint.vmap(two_args, in_dims=(0, None))(X, y),
                               np.stack([two_args(x, y) for x in X]), rtol=1e-12)
    with pytest.raises(ValueError, match="'vmap' \\(batched\\)"):
        adjoint.source(two_args, mode="batched")


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def softmax_reversed(x):
    e = np.exp(x - np.max(x))
    return e[::-1] / np.sum(e)


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian"])
@pytest.mark.parametrize("func", [rosenbrock, softmax_reversed, indexing_and_update, mlp])
def test_vmap_of_derivatives_with_indexing_is_vectorised(transform, func):
    """The derivative code's helpers (lifting, indexing adjoints, zeros,
    containers of tangents, helpers applied to tangents of cotangents) batch
    without a per-example loop."""
    X = RNG.normal(size=(6, 5))
    if func is indexing_and_update:
        X = X[:, :4]
    if transform == "hessian" and func is not rosenbrock:
        derivative = adjoint.jacfwd(adjoint.jacrev(func))
    else:
        derivative = getattr(adjoint, transform)(func)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no per-example loop anywhere
        got = adjoint.vmap(derivative)(X)
    np.testing.assert_allclose(got, np.stack([derivative(x) for x in X]), rtol=1e-10, atol=1e-12)


SINGLE_ARRAY_PROGRAMS = [p for p in ARRAY_PROGRAMS if len(p.make_args()) == 1]


@pytest.mark.parametrize("index", range(len(SINGLE_ARRAY_PROGRAMS)), ids=[p.name for p in SINGLE_ARRAY_PROGRAMS])
def test_vmap_of_derivatives_on_the_catalogues(index):
    """vmap(jacrev(f)) and, on alternate programs of the catalogue,
    vmap(jacfwd(f)) or vmap(hessian(f)) equal a loop of the derivative over
    the examples (a per-example fallback allowed where control flow depends
    on the values); where the output is a container a clear refusal is the
    one other outcome allowed. (Each transform of generated code costs a
    first call: the other two programs' worth of transforms are spread over
    the catalogue rather than repeated on every program.)"""
    program = SINGLE_ARRAY_PROGRAMS[index]
    a, = program.make_args()
    X = np.stack([a, a * 0.9 + 0.05, a * 1.1])
    container_output = isinstance(program.func(a), (dict, list, tuple))
    for transform in (adjoint.jacrev, (adjoint.jacfwd, adjoint.hessian)[index % 2]):
        derivative = transform(program.func)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                expected = [derivative(x) for x in X]
                got = adjoint.vmap(derivative)(X)
            except TypeError as exc:
                if container_output and "containers are not supported there yet" in str(exc):
                    continue
                raise
        for i in range(3):
            for got_leaf, expected_leaf in zip(_leaves(got, i), _leaves(expected[i]), strict=True):
                np.testing.assert_allclose(got_leaf, expected_leaf, rtol=1e-9, atol=1e-11)


def replaces_list_and_dict_items(x):
    items = [x, x]
    items[0] = x * 2.0
    d = {}
    for k in ("a", "b"):
        d[k] = x * items[0]
    return items[0] + items[1] + d["a"] * d["b"]


def test_item_assignment_on_containers_made_here_keeps_its_key():
    """items[0] = v and d[k] = v on a list or dict the function made: the
    position or key is the same for every example, not broadcast over the batch."""
    X = RNG.normal(size=(4, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no per-example loop
        got = adjoint.vmap(replaces_list_and_dict_items)(X)
    np.testing.assert_allclose(got, _loop(replaces_list_and_dict_items, 0, (X,)), rtol=1e-12)


def updates_a_dict(x):
    d = dict(a=x[0])
    d.update(b=x[1])
    return d["a"] * d["b"]


def test_a_method_that_changes_its_receiver_runs_the_function_per_example():
    """d.update(...) run on each example's copy of d changed nothing the
    function read again (KeyError 'b')."""
    X = RNG.normal(size=(4, 3))
    with pytest.warns(RuntimeWarning, match=r"\.update\(\) on a value that holds batched values"):
        got = adjoint.vmap(updates_a_dict)(X)
    np.testing.assert_allclose(got, [updates_a_dict(x) for x in X], rtol=1e-14)
