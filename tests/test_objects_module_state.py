"""Objects and module state, the remaining forms: a list of the module
whose items the function replaces (``LAYERS[-1] *= 2`` on a list another
function filled), objects given through ``*args`` and walked with
enumerate / zip, attribute chains four objects deep on an argument, and,
under vmap, a function of the module that changes an object it is given
(``step(HOLDER["c"], x)``) or a list of the module. Checked against
autograd, central differences and the per-example loop; the forms refused
fail at the user's line and leave the module's state as it was."""
import inspect
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

W1 = np.array([[1.0, 2.0], [0.5, -1.0]])
W2 = np.array([[0.3, 0.1], [-0.2, 0.4]])
X = np.array([0.2, -0.4])
XS = np.stack([X, 2.0 * X, -X])


def central(fn, x, eps=1e-6, before=lambda: None):
    """Central differences of ``fn`` at ``x`` (``before`` resets state)."""
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        before()
        up = fn(x + e)
        before()
        cols.append((up - fn(x - e)) / (2 * eps))
    before()
    return np.stack(cols, -1)


def line_of(fn, text):
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


# ------------------------------------------------------------ a list of the module

LAYERS = []
A1, A2 = W1.copy(), W2.copy()


def register(W):
    LAYERS.append(W)


def reset_layers():
    A1[:], A2[:] = W1, W2
    LAYERS[:] = []
    register(A1)
    register(A2)


def doubled_last(x):
    LAYERS[-1] *= 2  # in place, as NumPy does: A2 itself doubles
    y = x
    for W in LAYERS:
        y = np.tanh(W @ y)
    return y


def doubled_last_ag(x):
    return anp.tanh((2.0 * W2) @ anp.tanh(W1 @ x))


def shifted_in_a_loop(x):
    for i in range(len(LAYERS)):
        LAYERS[i] = LAYERS[i] + x[i]  # a differentiated value stored in the module's list
    return np.sum(LAYERS[0] @ x) + np.sum(LAYERS[1] * LAYERS[0])


def appended_here(x):
    LAYERS[0] = LAYERS[0] * 2.0
    LAYERS.append(np.eye(2))
    return x


def bump_last():
    LAYERS[-1] *= 2


def changed_here_and_by_a_callee(x):
    LAYERS[0] = LAYERS[0] + 1.0
    bump_last()
    return LAYERS[-1] @ x


def changed_by_a_callee(x):
    bump_last()  # a change with no derivative: the caller reads the module's list after it
    return np.tanh(LAYERS[-1] @ x)


def reads_the_array_under_another_name(x):
    y = A2 @ x
    LAYERS[-1] *= 2
    return y


def stores_a_derivative(x):
    LAYERS[-1] = LAYERS[-1] * x[0]
    return x


def calls_one_that_stores(x):
    return stores_a_derivative(x) * 2.0


def test_items_of_a_module_list_changed_by_the_function():
    expected = autograd.jacobian(doubled_last_ag)(X)
    # (in chunks the code runs once per chunk: each pass but the last from the state before the call)
    for transform in (adjoint.jacrev, adjoint.jacfwd, lambda f: adjoint.jacfwd(f, chunk_size=1)):
        reset_layers()
        np.testing.assert_allclose(transform(doubled_last)(X), expected, atol=1e-12)
        # the module's list changed as the plain call changes it: its array doubled in place
        assert LAYERS[-1] is A2 and LAYERS[0] is A1
        np.testing.assert_array_equal(A2, 2.0 * W2)
    reset_layers()
    fd = central(shifted_in_a_loop, X, before=reset_layers)
    plain = [W + X[i] for i, W in enumerate((W1, W2))]
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        reset_layers()
        np.testing.assert_allclose(transform(shifted_in_a_loop)(X), fd, atol=1e-7)
        np.testing.assert_allclose(LAYERS, plain, atol=1e-15)
        np.testing.assert_array_equal(A1, W1)  # (a new item put in the slot: the old array is not changed)
    reset_layers()
    fd = central(changed_by_a_callee, X, before=reset_layers)
    np.testing.assert_allclose(adjoint.jacrev(changed_by_a_callee)(X), fd, atol=1e-7)
    np.testing.assert_array_equal(A2, 2.0 * W2)


def test_vmap_of_a_function_changing_a_module_list():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reset_layers()
        batched = adjoint.vmap(adjoint.jacrev(doubled_last))(XS)
        # the same change for the whole batch: made once, every example computed from the state before
        np.testing.assert_allclose(batched, [autograd.jacobian(doubled_last_ag)(x) for x in XS], atol=1e-12)
        np.testing.assert_array_equal(A2, 2.0 * W2)
        reset_layers()
        with pytest.raises(adjoint.UnsupportedSyntaxError, match="a list of the module") as info:
            adjoint.vmap(shifted_in_a_loop)(XS)  # each example leaves another list
    assert f"{__file__}:{line_of(shifted_in_a_loop, 'LAYERS[i] = ')}:" in str(info.value)
    np.testing.assert_array_equal(LAYERS, [W1, W2])  # left as before the call


@pytest.mark.parametrize("fn, text, match", [
    (appended_here, "LAYERS.append", "its length does not change"),
    (changed_here_and_by_a_callee, "bump_last()", "uses LAYERS too"),
    (reads_the_array_under_another_name, "*= 2", "shares memory with an array the function also reads"),
    (calls_one_that_stores, "LAYERS[-1] = ", "item of a list of the module set to a differentiated value"),
])
def test_module_list_changes_refused_at_the_users_line(fn, text, match):
    reset_layers()
    source = fn if fn is not calls_one_that_stores else stores_a_derivative
    with pytest.raises(adjoint.AdjointError, match=match) as info:
        adjoint.jacrev(fn)(X)
    assert f"{__file__}:{line_of(source, text)}:" in str(info.value)
    np.testing.assert_array_equal(A1, W1)


class Counter:
    def __init__(self):
        self.n = 0


COUNTER = Counter()


def counted(x):
    COUNTER.n += 1  # no derivative: still a change the plain call makes once
    return np.sin(x)


def test_a_module_object_changed_once_by_a_jacobian_in_chunks():
    COUNTER.n = 0
    np.testing.assert_allclose(adjoint.jacfwd(counted, chunk_size=1)(X), np.diag(np.cos(X)), atol=1e-12)
    assert COUNTER.n == 1  # (was one per chunk)


# ------------------------------------------------------------ objects through *args

class Dense:
    def __init__(self, W):
        self.W = W

    def __call__(self, x):
        return np.tanh(self.W @ x)


def through_enumerate(x, *layers):
    for i, layer in enumerate(layers):
        x = layer(x) * (i + 1.0)
    return x


def through_zip(xs, *layers):
    out = 0.0
    for layer, x in zip(layers, xs):
        out = out + np.sum(layer(x) ** 2)
    return out


def through_enumerate_ag(x):
    return anp.tanh(W2 @ anp.tanh(W1 @ x)) * 2.0


def through_zip_ag(xs):
    return anp.sum(anp.tanh(W1 @ xs[0]) ** 2) + anp.sum(anp.tanh(W2 @ xs[1]) ** 2)


def test_enumerate_and_zip_over_objects_given_through_star_args():
    layers = (Dense(W1), Dense(W2))
    pair = XS[:2]
    expected = autograd.jacobian(through_enumerate_ag)(X)
    np.testing.assert_allclose(adjoint.jacrev(through_enumerate)(X, *layers), expected, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(through_enumerate)(X, *layers), expected, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacrev(through_zip)(pair, *layers), autograd.grad(through_zip_ag)(pair),
                               atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        batched = adjoint.vmap(adjoint.jacrev(through_enumerate), in_dims=(0, None, None))(XS, *layers)
    np.testing.assert_allclose(batched, [autograd.jacobian(through_enumerate_ag)(x) for x in XS], atol=1e-12)


# ------------------------------------------------------------ chains four objects deep

class Leaf:
    def __init__(self, W):
        self.W = W


class Holder:
    def __init__(self, inner):
        self.inner = inner


def deep_model(W):
    return Holder(Holder(Holder(Holder(Leaf(W.copy())))))  # model.inner.inner.inner.inner.W


def set_four_deep(x, model):
    model.inner.inner.inner.inner.W = model.inner.inner.inner.inner.W * np.sum(x)
    return np.tanh(model.inner.inner.inner.inner.W @ x)


def set_four_deep_ag(x):
    return anp.tanh((W1 * anp.sum(x)) @ x)


def test_attribute_chains_four_objects_deep():
    expected = autograd.jacobian(set_four_deep_ag)(X)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        model = deep_model(W1)
        np.testing.assert_allclose(transform(set_four_deep)(X, model), expected, atol=1e-12)
        # the caller's object changed as the plain call changes it
        np.testing.assert_allclose(model.inner.inner.inner.inner.W, W1 * np.sum(X), atol=1e-15)
    looped = adjoint.vmap(adjoint.jacrev(set_four_deep), in_dims=(0, None))
    with warnings.catch_warnings(), pytest.raises(adjoint.UnsupportedSyntaxError, match="shared by every example"):
        warnings.simplefilter("ignore", RuntimeWarning)
        looped(XS, deep_model(W1))  # each example leaves another W in the one object


# ------------------------------------------------------------ vmap: objects changed by a function of the module

class State:
    def __init__(self):
        self.h = np.zeros(2)
        self.calls = 0


CELL = State()
HOLDER = {"cell": CELL}


def step(state, x):
    state.h = np.tanh(state.h + x)


def touch(state, x):
    state.calls = 1  # the same for every example
    return np.sin(x)


def steps_a_dict_item(x):
    step(HOLDER["cell"], x)
    return HOLDER["cell"].h * 2.0


def steps_an_alias(x):
    cell = CELL
    step(cell, x)
    return cell.h


def touches_an_alias(x):
    cell = CELL
    return touch(cell, x) * 2.0 + x


def test_vmap_watches_objects_a_module_function_changes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for fn in (steps_a_dict_item, steps_an_alias):
            CELL.h = np.zeros(2)
            with pytest.raises(adjoint.UnsupportedSyntaxError, match="set under vmap") as info:
                adjoint.vmap(fn)(XS)  # each example would step the one cell after the one before
            assert f"{__file__}:{line_of(fn, 'step(')}:" in str(info.value)
            np.testing.assert_array_equal(CELL.h, np.zeros(2))  # left as before the call
        CELL.calls = 0
        batched = adjoint.vmap(adjoint.jacrev(touches_an_alias))(XS)
    np.testing.assert_allclose(batched, [np.diag(2.0 * np.cos(x) + 1.0) for x in XS], atol=1e-12)
    assert CELL.calls == 1  # every example left the same state: the caller's object takes it


# ------------------------------------------------------------ __call__ writing into an array the caller holds

class Scale:
    def __call__(self, out, x):
        out[:] = out * x
        return out


SCALE = Scale()


def calls_into_its_own_array(x, a):
    return SCALE(a, a) + x  # out and x are one array


def test_call_of_an_object_writing_into_an_array_the_caller_holds():
    with pytest.raises(adjoint.UnsupportedSyntaxError, match="'out'") as info:
        adjoint.jacrev(calls_into_its_own_array)(X, X.copy())
    assert f"{__file__}:{line_of(calls_into_its_own_array, 'SCALE(a, a)')}:" in str(info.value)
