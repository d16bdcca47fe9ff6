"""In-place updates of arguments have torch.func's meaning (SPEC.md section 4):
the caller's array changes exactly as the plain call changes it, and the
Jacobian is that of the function of the values at entry.

Each program is run plainly on a copy of the inputs; every transform must
leave its inputs as that plain call left its copy. Derivatives are checked
against central finite differences of the function applied to fresh copies
of the entry values (the reference never sees a changed input).
"""
import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian


def doubles_in_place(x):
    x *= 2.0
    return np.sin(x)


def sets_an_item(x):
    x[0] = 0.0
    return np.sin(x) * x[1]


def copies_into_its_second_argument(x, y):
    y[:] = x
    return y


def adds_to_a_slice(x):
    x[1:] += 1.0
    return x * x


def fills_in_a_loop(x):
    for i in range(1, x.shape[0]):
        x[i] = x[i] + x[i - 1] * x[i]
    return x


def updates_on_one_path(x, flag):
    if flag:
        x[1] = 7.0
    x *= 3.0
    return np.sum(x ** 2)


def rebinds_after_updating(x):
    x += 1.0
    x = x * 2.0  # a new array: the caller's keeps x + 1
    x[0] = 5.0
    return np.tanh(x)


def adds_to_a_number(x, t):
    t += 1.0  # a float argument: += re-binds it
    return x * t


def _entry_copies(f, args):
    return lambda *xs: f(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in xs])


CASES = [
    (doubles_in_place, lambda: (np.array([0.3, 0.5, 0.7]),), 0),
    (sets_an_item, lambda: (np.array([0.3, 0.5, 0.7]),), 0),
    (copies_into_its_second_argument, lambda: (np.array([0.3, 0.5, 0.7]), np.zeros(3)), 0),
    (copies_into_its_second_argument, lambda: (np.array([0.3, 0.5, 0.7]), np.ones(3)), 1),
    (adds_to_a_slice, lambda: (np.array([0.3, 0.5, 0.7]),), 0),
    (fills_in_a_loop, lambda: (np.array([0.3, 0.5, 0.7, -0.2]),), 0),
    (updates_on_one_path, lambda: (np.array([0.3, 0.5, 0.7]), True), 0),
    (updates_on_one_path, lambda: (np.array([0.3, 0.5, 0.7]), False), 0),
    (rebinds_after_updating, lambda: (np.array([0.3, 0.5, 0.7]),), 0),
    (adds_to_a_number, lambda: (np.array([0.3, 0.5]), 2.0), 0),
]
IDS = [f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(CASES)]


def _plain(func, make_args):
    args = make_args()
    func(*args)
    return args


@pytest.mark.parametrize("func, make_args, argnum", CASES, ids=IDS)
@pytest.mark.parametrize("transform", ["jacrev", "jacrev_chunks", "jacfwd", "jacfwd_chunks"])
def test_caller_changes_as_plain_call_and_jacobian_is_of_entry_values(func, make_args, argnum, transform):
    expected_args = _plain(func, make_args)
    reference = numerical_jacobian(_entry_copies(func, None), make_args(), argnum)
    args = make_args()
    make = {"jacrev": lambda: adjoint.jacrev(func, argnums=argnum),
            "jacrev_chunks": lambda: adjoint.jacrev(func, argnums=argnum, chunk_size=1),
            "jacfwd": lambda: adjoint.jacfwd(func, argnums=argnum),
            "jacfwd_chunks": lambda: adjoint.jacfwd(func, argnums=argnum, chunk_size=1)}[transform]
    jacobian = make()(*args)
    np.testing.assert_allclose(jacobian, reference, rtol=1e-6, atol=1e-8)
    for got, want in zip(args, expected_args, strict=True):
        np.testing.assert_array_equal(got, want)


def sums_after_setting_an_item(x, y):
    y[0] = x[1] * 3.0
    x *= y
    return np.sum(np.sin(x))


SCALAR_CASES = [
    (sums_after_setting_an_item, lambda: (np.array([0.3, 0.5, 0.7]), np.array([1.5, -0.5, 2.0])), 0),
    (sums_after_setting_an_item, lambda: (np.array([0.3, 0.5, 0.7]), np.array([1.5, -0.5, 2.0])), 1),
]


@pytest.mark.parametrize("func, make_args, argnum", SCALAR_CASES, ids=["x", "y"])
def test_grad_vjp_jvp_change_the_caller_once(func, make_args, argnum):
    expected_args = _plain(func, make_args)
    reference = numerical_jacobian(_entry_copies(func, None), make_args(), argnum)

    def check_caller(args):
        for got, want in zip(args, expected_args, strict=True):
            np.testing.assert_array_equal(got, want)

    args = make_args()
    np.testing.assert_allclose(adjoint.grad(func, argnums=argnum)(*args), reference, rtol=1e-6, atol=1e-8)
    check_caller(args)
    args = make_args()
    output, vjp_fn = adjoint.vjp(func, *args)
    check_caller(args)
    np.testing.assert_allclose(output, func(*make_args()))
    np.testing.assert_allclose(vjp_fn(1.0)[argnum], reference, rtol=1e-6, atol=1e-8)
    args = make_args()
    tangents = tuple(np.ones_like(a) if i == argnum else np.zeros_like(a) for i, a in enumerate(args))
    _, tangent_out = adjoint.jvp(func, args, tangents)
    np.testing.assert_allclose(tangent_out, np.sum(reference), rtol=1e-6, atol=1e-8)
    check_caller(args)


@pytest.mark.parametrize("in_dims", [0, 1])
def test_vmap_changes_the_callers_batch_as_the_plain_calls_do(in_dims):
    """Each example's slice changes as the plain call changes it."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims, in_dims)
    xs, ys = np.moveaxis(x, 0, dims[0]).copy(), (y.copy() if dims[1] is None else np.moveaxis(y, 0, dims[1]).copy())
    expected_x, expected_y = x.copy(), y.copy()
    for k in range(4):
        sums_after_setting_an_item(expected_x[k], expected_y if dims[1] is None else expected_y[k])
    adjoint.vmap(sums_after_setting_an_item, in_dims=dims)(xs, ys)
    np.testing.assert_allclose(np.moveaxis(xs, dims[0], 0), expected_x)
    np.testing.assert_allclose(ys if dims[1] is None else np.moveaxis(ys, dims[1], 0), expected_y)


def test_vmap_refuses_an_argument_shared_by_the_examples_that_they_change_differently():
    """An argument shared by the examples (in_dims None) is one array: the
    examples cannot each give it their own value (torch.func refuses this
    too). An update every example makes alike is made once."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=3)
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="argument 'y' under vmap"):
        adjoint.vmap(sums_after_setting_an_item, in_dims=(0, None))(x.copy(), y.copy())
    same = np.tile(x[:1], (4, 1))
    expected_x, expected_y = same.copy(), y.copy()
    for k in range(4):
        changed = y.copy()
        sums_after_setting_an_item(expected_x[k], changed)
    xs, ys = same.copy(), y.copy()
    adjoint.vmap(sums_after_setting_an_item, in_dims=(0, None))(xs, ys)
    np.testing.assert_allclose(xs, expected_x)
    np.testing.assert_allclose(ys, changed)


def sets_an_item_on_one_path(x, flag):
    if flag:
        x = np.zeros(3)
    x[0] = 5.0  # the caller's x changes only if flag is false
    return x


def rebinds_in_a_loop(x):
    for _ in range(3):
        x[0] = 1.0  # the caller's x only in the first iteration
        x = x * 2.0
    return x


def test_updates_of_what_is_the_callers_array_on_some_paths_only_are_refused():
    for func, args in ((sets_an_item_on_one_path, (np.ones(3), True)), (rebinds_in_a_loop, (np.ones(3),))):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match=r"test_argument_updates.py:\d+: in-place update of 'x'"):
            adjoint.jacrev(func)(*args)


def test_second_derivatives_of_functions_that_change_their_argument_are_refused():
    x = np.array([0.3, 0.5, 0.7])
    with pytest.raises(adjoint.TransformError, match=r"changes its argument 'x' in place.*x = x.copy\(\)"):
        adjoint.hessian(lambda v: np.sum(doubles_in_place(v)))(x)
    with pytest.raises(adjoint.TransformError, match=r"changes its argument 'x' in place"):
        adjoint.jacrev(adjoint.jacrev(doubles_in_place))(x)
    np.testing.assert_array_equal(x, [0.3, 0.5, 0.7])


def replaces_an_item_of_a_list(items):
    items[0] = items[0] * 2.0
    return items[0] + items[1]


def test_item_updates_of_list_arguments_are_refused():
    """jacrev hands the function lists of its own: the caller's list would
    not change as the plain call changes it."""
    items = [np.array([0.3]), np.array([0.5])]
    for transform in (adjoint.jacrev, adjoint.jacfwd, adjoint.vmap):
        with pytest.raises(adjoint.UnsupportedSyntaxError,
                           match=r"test_argument_updates.py:\d+: item assignment into argument 'items'.*list\(items\)"):
            transform(replaces_an_item_of_a_list)(items)


def fills_the_second_from_the_first(x, y):
    y[:] = 2.0 * x
    return np.sum(x * y)


@pytest.mark.parametrize("transform", ["grad", "jacrev", "jacfwd"])
def test_an_argument_changed_in_place_that_shares_memory_with_another_is_refused(transform):
    """f(a, a) where f writes into its second argument: NumPy changes the
    first too while f runs, so the derivative at the entry values would not
    be the plain call's (it was computed as if they were apart)."""
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    derivative = getattr(adjoint, transform)(fills_the_second_from_the_first)
    np.testing.assert_allclose(np.ravel(derivative(a.copy(), b.copy())), 4.0 * a)  # apart: d/dx 2 x.x
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="'y' is changed in place and .*argument 'x'"):
        derivative(a, a)
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="'y' is changed in place"):
        derivative(a, a[::-1])  # a view of it
