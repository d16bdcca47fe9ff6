"""Objects changed by the function, in the places real programs put them
(issue 9, section 2): under vmap (an object made inside, one given with
in_dims None, one of the module), through two levels of holders of an
argument, in a loop over objects given through ``*args``, in lists made
before the call, and ``vmap(hessian(f, 1), in_dims=(None, 0))`` of an
object. Checked against autograd running the same program on plain arrays,
against analytic derivatives, or against the plain call; what is refused
is refused at the user's line."""
import inspect
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

RNG = np.random.default_rng(9)
W = RNG.normal(size=(3, 3)) * 0.5
V = RNG.normal(size=(3, 3)) * 0.5
XS = RNG.normal(size=(3, 3))  # three examples of three values


def line_of(func, marker):
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, text in enumerate(lines) if marker in text)


class Layer:
    def __init__(self, W):
        self.W = W
        self.h = np.zeros(3)
        self.calls = 0

    def __call__(self, x):
        self.h = np.tanh(self.W @ x + self.h)
        return self.h


# --- an attribute read again after a change, on an object reached through a list


class Box:
    def __init__(self):
        self.h = np.zeros(3)


def reset_through_a_list(x, boxes):
    boxes[0].h = boxes[0].h * 0.0 + 1.0  # no derivative stored: allowed on any object
    return np.sum(x * boxes[0].h)  # reads the new value (it was the old one: a zero gradient)


def test_an_attribute_read_again_after_a_change_reads_the_new_value():
    x = np.arange(3.0)
    np.testing.assert_allclose(adjoint.grad(reset_through_a_list)(x, [Box()]), np.ones(3))


# --- vmap of a function that changes an object's fields


def made_inside(x):
    layer = Layer(W)
    layer.h = layer.h + x
    layer(x)
    return np.sum(layer(x) ** 2)


def made_inside_ag(x):
    h = anp.tanh(W @ x + x)
    h = anp.tanh(W @ x + h)
    return anp.sum(h ** 2)


def test_vmap_of_an_object_made_inside_is_exact_per_example():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (it runs once per example, and says so)
        values = adjoint.vmap(made_inside)(XS)
    np.testing.assert_allclose(values, [made_inside_ag(x) for x in XS], rtol=1e-12)
    # (vmap of derivatives of such functions: tests/test_objects_held.py, test_objects_real.py)


def counted(x, layer):
    layer.calls = layer.calls + 1  # the same change in every example
    return np.sum(np.tanh(layer.W @ x) ** 2)


def counted_ag(x):
    return anp.sum(anp.tanh(W @ x) ** 2)


def stepped(x, layer):
    layer.h = layer.h + x  # a different value in every example
    return np.sum(layer(x))


def test_vmap_of_a_shared_object_each_example_on_its_own_copy():
    layer = Layer(W)
    h, weights = layer.h, layer.W
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = adjoint.vmap(counted, in_dims=(0, None))(XS, layer)
        grads = adjoint.vmap(adjoint.grad(counted), in_dims=(0, None))(XS, layer)
    np.testing.assert_allclose(values, [counted_ag(x) for x in XS], rtol=1e-12)
    np.testing.assert_allclose(grads, [autograd.grad(counted_ag)(x) for x in XS], rtol=1e-10)
    # every example made the same change, so the caller's object takes it once (as for an array
    # given with in_dims None), and keeps its own arrays
    assert layer.calls == 2 and layer.h is h and layer.W is weights


def test_vmap_of_a_shared_object_left_different_by_the_examples_is_refused_at_the_line():
    # (a derivative under vmap: test_vmap_of_a_hessian_with_respect_to_the_values_given_with_an_object)
    layer = Layer(W)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(adjoint.UnsupportedSyntaxError) as info:
            adjoint.vmap(stepped, in_dims=(0, None))(XS, layer)
    text = str(info.value)
    assert f":{line_of(stepped, 'layer.h = layer.h + x')}:" in text
    assert "argument 'layer'" in text and "attribute .h" in text and "in_dims None" in text
    np.testing.assert_array_equal(layer.h, np.zeros(3))  # the caller's object is left as it was


SHARED = Layer(W)


def steps_the_module_layer(x):
    SHARED.h = SHARED.h + x
    return SHARED.h


def counts_on_the_module_layer(x):
    SHARED.calls += 1  # no batched value: the same for the whole batch
    return x * 2.0


def test_vmap_changing_an_object_of_the_module_is_refused_at_the_line():
    with pytest.raises(adjoint.UnsupportedSyntaxError) as info:
        adjoint.vmap(steps_the_module_layer)(XS)
    assert f":{line_of(steps_the_module_layer, 'SHARED.h = SHARED.h + x')}:" in str(info.value)
    assert "in_dims=(0, None)" in str(info.value)
    calls = SHARED.calls
    np.testing.assert_allclose(adjoint.vmap(counts_on_the_module_layer)(XS), XS * 2.0)
    assert SHARED.calls == calls + 1


class Cell:
    def __init__(self):
        self.h = np.zeros(3)

    def step(self, x):
        self.h = self.h + x


def step_held_by_a_list(x, cells):
    cells[0].step(x * 0.0 + 1.0)  # (a method of an object the list holds: not followed)
    return x * cells[0].h


def store_held_by_a_list(x, cells):
    cells[0].h = x * 2.0
    return np.sum(cells[0].h)


def test_vmap_of_objects_held_by_a_shared_list():
    cells = [Cell()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(adjoint.vmap(step_held_by_a_list, in_dims=(0, None))(XS, cells), XS)
        np.testing.assert_allclose(cells[0].h, np.ones(3))  # stepped once: the same step in each example
        with pytest.raises(adjoint.UnsupportedSyntaxError, match="argument 'cells'"):
            adjoint.vmap(store_held_by_a_list, in_dims=(0, None))(XS, cells)  # (it gave every example the last x)


# --- vmap(hessian(f, 1), in_dims=(None, 0)) with argument 0 an object


class Model:
    def __init__(self, W):
        self.W = W
        self.h = np.zeros(3)

    def energy(self, x):
        return np.sum(np.tanh(self.W @ x) ** 2)

    def step(self, x):
        self.h = np.tanh(self.W @ x)
        return self.h


def model_energy(model, x):
    return model.energy(x) + np.sum(x ** 3)  # a method of the object given, only called


def model_energy_ag(x):
    return anp.sum(anp.tanh(W @ x) ** 2) + anp.sum(x ** 3)


def model_stepped(model, x):
    model.step(x)
    return np.sum(model.h ** 2) + np.sum(x ** 3)


def test_vmap_of_a_hessian_with_respect_to_the_values_given_with_an_object():
    model = Model(W)
    # (a method of an object given was a call known only when the code runs: refused at second order)
    hessians = adjoint.vmap(adjoint.hessian(model_energy, 1), in_dims=(None, 0))(model, XS[:2])
    np.testing.assert_allclose(hessians, [autograd.hessian(model_energy_ag)(x) for x in XS[:2]], rtol=1e-10,
                               atol=1e-12)
    # (hessian(model_stepped, 1) without vmap: tests/test_objects_more.py)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(adjoint.UnsupportedSyntaxError) as info:
            adjoint.vmap(adjoint.grad(model_stepped, 1), in_dims=(None, 0))(model, XS)
    assert f":{line_of(Model.step, 'self.h = np.tanh')}:" in str(info.value)
    assert "argument 'model' (its attribute .h)" in str(info.value)
    np.testing.assert_array_equal(model.h, np.zeros(3))


# --- two-level changes through an argument: model.block.layer.W = v, self.a.layer.h += v in a method


class Inner:
    def __init__(self, W):
        self.W = W
        self.h = np.zeros(3)
        self.total = 0.0

    def __call__(self, x):
        self.h = np.tanh(self.W @ x + self.h)
        return self.h


class Block:
    def __init__(self, W):
        self.layer = Inner(W)


class Deep:
    def __init__(self):
        self.block = Block(W)
        self.a = Block(V)

    def bump(self, x):
        self.a.layer.h = self.a.layer.h + x  # two links down
        self.a.layer.total += np.sum(x)  # (a number: += binds a new one)
        return self.a.layer.h * self.a.layer.total


def two_levels(x, model):
    model.block.layer.W = W * x[0]
    y = model.block.layer(x)
    z = model.bump(y)
    return z * model.block.layer.h


def two_levels_ag(x):
    y = anp.tanh((W * x[0]) @ x)
    return y * anp.sum(y) * y


def test_changes_two_levels_down_in_an_argument():
    x = XS[0]
    model = Deep()
    np.testing.assert_allclose(adjoint.jacrev(two_levels)(x, model), autograd.jacobian(two_levels_ag)(x),
                               rtol=1e-10, atol=1e-12)
    # the caller's objects changed as the plain call changes them, once
    plain = Deep()
    two_levels(x, plain)
    for got, expected in [(model.block.layer.W, plain.block.layer.W), (model.block.layer.h, plain.block.layer.h),
                          (model.a.layer.h, plain.a.layer.h), (model.a.layer.total, plain.a.layer.total)]:
        np.testing.assert_allclose(got, expected, rtol=1e-15)
    # (second derivatives through objects an argument holds: tests/test_objects_real.py)


# --- a loop over objects given through *args


def through_star_layers(x, *layers):
    h = x
    for layer in layers:
        h = layer(h)  # each layer's __call__ sets its .h
    return h * layers[0].h


def through_star_layers_ag(x):
    h1 = anp.tanh(W @ x)
    h2 = anp.tanh(V @ h1)
    return h2 * h1


def star_layers_kept(x, *layers):
    for layer in layers:
        x = layer(x)
    return x + layer.h  # (the loop's name read after the loop: the loop is left as it is)


def test_a_loop_over_objects_given_through_star_args():
    x = XS[1]
    first, second = Inner(W), Inner(V)
    np.testing.assert_allclose(adjoint.jacrev(through_star_layers)(x, first, second),
                               autograd.jacobian(through_star_layers_ag)(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(second.h, np.tanh(V @ np.tanh(W @ x)), rtol=1e-15)  # set once, as Python does
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=r"test_objects_changes.py:\d+: attribute .h set"):
        adjoint.jacrev(star_layers_kept)(x, Inner(W), Inner(V))


# --- lists made before the call, grown by the function: refused at the line, saying what to do

LOG = []


def grows_the_module_list(x):
    LOG.append(np.sin(x))
    return LOG[-1] * 2.0


def closure_growing_a_list():
    seen = []

    def grows(x):
        seen.append(np.sin(x))
        return seen[-1] * 2.0
    return grows


def grows_an_argument_list(x, items):
    items.append(np.sin(x))
    return items[-1] * 2.0


@pytest.mark.parametrize("func, marker, message", [
    (grows_the_module_list, "LOG.append", "on 'LOG', a list made before the call .*has_aux=True"),
    (closure_growing_a_list(), "seen.append", "on 'seen', a list made before the call"),
    (grows_an_argument_list, "items.append", "'items' is an argument of the function.*list\\(\\.\\.\\.\\)"),
])
def test_a_list_made_before_the_call_grown_with_differentiated_values_is_refused_at_the_line(func, marker,
                                                                                             message):
    args = ([],) if func is grows_an_argument_list else ()
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=rf":{line_of(func, marker)}: .*{message}"):
        adjoint.jacrev(func)(XS[0], *args)
    assert LOG == [] and args in ((), ([],))  # nothing was appended
