"""Objects held by other objects (normalize_held): ``self.layer.h = v``,
``self.layer(x)``, ``a.b.c.step(x)`` on objects the function makes. Checked
against autograd running the same program written with autograd.numpy and
plain arrays, and against central finite differences; a second holder of
the held object (a name of the user's) is refused at the user's line."""
import dataclasses
import inspect

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian
from held_elsewhere import step_elsewhere  # a function of another module

RNG = np.random.default_rng(11)
W = RNG.normal(size=(3, 3)) * 0.5
U = RNG.normal(size=(3, 3)) * 0.5
X = RNG.normal(size=3)


def line_of(func, marker):
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, text in enumerate(lines) if marker in text)


class Layer:
    def __init__(self, W):
        self.W = W
        self.h = np.zeros(3)

    def __call__(self, x):
        self.h = np.tanh(self.W @ x + self.h)
        return self.h

    def step(self, x):
        self.h = np.tanh(self.W @ x)


class Net:
    def __init__(self, W):
        self.layer = Layer(W)
        self.total = 0.0

    def forward(self, x):
        y = self.layer(x)  # the held object called: its __call__ sets self.h
        self.layer.h = self.layer.h * 2.0  # set through the chain
        self.layer.h += x  # updated through the chain
        return y


class Deep:
    def __init__(self, W):
        self.net = Net(W)


def net_twice(x):
    n = Net(W)
    a = n.forward(x)
    b = n.forward(a)
    return a + b + n.layer.h


def net_twice_ag(x):
    h1 = anp.tanh(W @ x)
    h = h1 * 2.0 + x
    h2 = anp.tanh(W @ h1 + h)
    h = h2 * 2.0 + h1
    return h1 + h2 + h


def three_links_in_a_loop(x):
    d = Deep(W)
    for t in range(3):
        d.net.layer.step(x * t)
        d.net.layer.h = d.net.layer.h + np.sin(x)
    d.net.total = np.sum(d.net.layer.h)
    return d.net.layer.h * d.net.total


def three_links_in_a_loop_ag(x):
    h = anp.tanh(W @ (x * 2)) + anp.sin(x)
    return h * anp.sum(h)


def placed_by_name_then_only_through_the_holder(x):
    layer = Layer(W)
    n = Net(U)
    n.layer = layer
    n.layer.step(x)
    return n.layer.h


def in_a_branch(x):
    n = Net(W)
    if x[0] > 0:
        n.layer.step(x)
    else:
        n.layer.h = np.cos(x)
    return n.layer.h * x


def in_a_branch_ag(x):
    return (anp.tanh(W @ x) if x[0] > 0 else anp.cos(x)) * x


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
@pytest.mark.parametrize("func, reference", [
    (net_twice, net_twice_ag),
    (three_links_in_a_loop, three_links_in_a_loop_ag),
    (placed_by_name_then_only_through_the_holder, lambda x: anp.tanh(W @ x)),
    (in_a_branch, in_a_branch_ag),
])
def test_changes_through_a_held_object(transform, func, reference):
    for x in (X, -X):
        got = transform(func)(x)
        np.testing.assert_allclose(got, autograd.jacobian(reference)(x), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got, numerical_jacobian(func, (x,)), rtol=1e-6, atol=1e-8)


def test_second_order_through_a_held_object():
    def loss(x):
        return np.sum(net_twice(x) ** 2)

    def loss_ag(x):
        return anp.sum(net_twice_ag(x) ** 2)

    expected = autograd.hessian(loss_ag)(X)
    np.testing.assert_allclose(adjoint.hessian(loss)(X), expected, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacrev(loss))(X), expected, rtol=1e-9, atol=1e-11)


def the_object_after_a_call(x):
    n = Net(W)
    n.forward(x)
    return n


def test_the_forward_pass_sets_the_held_attributes_as_python_does():
    plain = the_object_after_a_call(X)
    value, _ = adjoint.vjp(lambda x: the_object_after_a_call(x).layer.h, X)
    np.testing.assert_allclose(value, plain.layer.h, rtol=1e-15)


def kept_under_another_name_before_the_change(x):
    n = Net(U)
    kept = n.layer
    n.layer.step(x)
    return kept.h


def placed_by_name_and_read_after(x):
    layer = Layer(W)
    n = Net(U)
    n.layer = layer
    n.layer.step(x)
    return layer.h


STEP_LINE = line_of(Layer.step, "self.h = np.tanh")


@pytest.mark.parametrize("func", [kept_under_another_name_before_the_change, placed_by_name_and_read_after])
def test_a_second_holder_of_a_held_object_is_refused(func):
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with pytest.raises(adjoint.UnsupportedSyntaxError,
                           match=rf"test_objects_held.py:{STEP_LINE}: attribute .h set on an object of class "
                                 "Layer that is held elsewhere"):
            transform(func)(X)


# --- an object changed inside a function it is passed to


XS = RNG.normal(size=(4, 3))


class State:
    def __init__(self, W):
        self.W = W
        self.h = np.zeros(3)


def step(state, x):
    state.h = np.tanh(state.W @ x + state.h)


def run(xs, state):
    for t in range(xs.shape[0]):
        step(state, xs[t])  # a function that changes its argument, called by one that is passed it
    return state.h


def changed_in_callees(xs):
    s = State(W)
    out = run(xs, state=s)  # (by keyword)
    step(s, xs[0])
    return out + s.h


def changed_in_callees_ag(xs):
    h = anp.zeros(3)
    for t in range(xs.shape[0]):
        h = anp.tanh(W @ xs[t] + h)
    return h + anp.tanh(W @ xs[0] + h)


class Holder:
    def __init__(self, W):
        self.state = State(W)


def held_object_changed_in_a_callee(xs):
    holder = Holder(W)
    for t in range(xs.shape[0]):
        step(holder.state, xs[t])
    return holder.state.h


def last_state_ag(xs):
    h = anp.zeros(3)
    for t in range(xs.shape[0]):
        h = anp.tanh(W @ xs[t] + h)
    return h


MODULE_STATE = State(W)


def module_object_changed_in_a_callee(xs):
    MODULE_STATE.h = np.zeros(3)
    return run(xs, MODULE_STATE)


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
@pytest.mark.parametrize("func, reference", [
    (changed_in_callees, changed_in_callees_ag),
    (held_object_changed_in_a_callee, last_state_ag),
    (module_object_changed_in_a_callee, last_state_ag),
])
def test_an_object_changed_in_a_function_it_is_passed_to(transform, func, reference):
    got = transform(func)(XS)
    np.testing.assert_allclose(got, autograd.jacobian(reference)(XS), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, numerical_jacobian(func, (XS,)), rtol=1e-6, atol=1e-8)


def step_then_read(xs, state):
    step(state, xs[0])
    return state.h


def test_an_argument_changed_in_a_function_it_is_passed_to():
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        state = State(W)
        got = transform(step_then_read)(XS, state)
        np.testing.assert_allclose(got, autograd.jacobian(lambda xs: anp.tanh(W @ xs[0]))(XS), rtol=1e-10,
                                   atol=1e-12)
        np.testing.assert_allclose(state.h, np.tanh(W @ XS[0]), rtol=1e-15)  # changed once, as in Python


def changed_by_a_function_of_another_module(xs):
    s = State(W)
    step_elsewhere(s, xs[0])
    return s.h


def test_a_function_of_another_module_changing_the_object_is_refused_at_its_line():
    import held_elsewhere

    line = line_of(held_elsewhere.step_elsewhere, "MARK: elsewhere")
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match=rf"held_elsewhere.py:{line}: attribute .h set"):
            transform(changed_by_a_function_of_another_module)(XS)


# --- lists of objects, and lists held by objects


class Stack:
    """A layered model: self.layers, each layer stepped in a loop over them."""

    def __init__(self):
        self.layers = [Layer(W), Layer(W * 2.0), Layer(U)]

    def __call__(self, x):
        h = x
        for layer in self.layers:
            h = layer(h)
        return h


def layered_model_called_twice(x):
    s = Stack()
    y = s(x)
    return y + s(y) + s.layers[0].h * s.layers[-1].h


def layered_model_called_twice_ag(x):
    weights, hs = [W, W * 2.0, U], [anp.zeros(3)] * 3

    def run(v):
        for i in range(3):
            hs[i] = anp.tanh(weights[i] @ v + hs[i])
            v = hs[i]
        return v

    y = run(x)
    return y + run(y) + hs[0] * hs[-1]


def items_of_a_local_list(x):
    cells = [Layer(W), Layer(U)]
    cells[0].h = np.sin(x)
    y = cells[1](x)
    for cell in cells:
        cell.step(cell.h)
    return cells[0].h * 2.0 + y + cells[-1].h


def items_of_a_local_list_ag(x):
    y = anp.tanh(U @ x)
    return anp.tanh(W @ anp.sin(x)) * 2.0 + y + anp.tanh(U @ y)


class Recorder:
    def __init__(self):
        self.hs = []
        self.h0 = np.zeros(3)

    def step(self, x):
        previous = self.hs[-1] if len(self.hs) > 0 else self.h0  # items read counted from the front
        self.hs.append(np.tanh(W @ x + previous))


def list_attribute_grown_in_a_method(xs):
    r = Recorder()
    for t in range(xs.shape[0]):
        r.step(xs[t])
    return np.stack(r.hs) + r.hs[0]


def recorded_ag(xs):
    h, hs = anp.zeros(3), []
    for t in range(xs.shape[0]):
        h = anp.tanh(W @ xs[t] + h)
        hs.append(h)
    return hs


def list_attribute_grown_in_a_method_ag(xs):
    hs = recorded_ag(xs)
    return anp.stack(hs) + hs[0]


def only_some_items_read(xs):
    r = Recorder()
    for t in range(xs.shape[0]):
        r.step(xs[t])
    return r.hs[1] * 2.0  # the others get no adjoint


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
@pytest.mark.parametrize("func, reference, point", [
    (layered_model_called_twice, layered_model_called_twice_ag, X),
    (items_of_a_local_list, items_of_a_local_list_ag, X),
    (list_attribute_grown_in_a_method, list_attribute_grown_in_a_method_ag, XS),
    (only_some_items_read, lambda xs: recorded_ag(xs)[1] * 2.0, XS),
])
def test_lists_of_objects_and_lists_held_by_objects(transform, func, reference, point):
    got = transform(func)(point)
    np.testing.assert_allclose(got, autograd.jacobian(reference)(point), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, numerical_jacobian(func, (point,)), rtol=1e-6, atol=1e-8)


def test_second_order_of_a_layered_model():
    def loss(x):
        return np.sum(layered_model_called_twice(x) ** 2)

    def loss_ag(x):
        return anp.sum(layered_model_called_twice_ag(x) ** 2)

    np.testing.assert_allclose(adjoint.hessian(loss)(X), autograd.hessian(loss_ag)(X), rtol=1e-9, atol=1e-11)


def appended_after_it_was_read_whole(xs):
    r = Recorder()
    r.step(xs[0])
    first = np.stack(r.hs)
    r.step(xs[1])
    return first


def appended_after_another_name_took_it(xs):
    r = Recorder()
    kept = r.hs
    r.step(xs[0])
    return np.stack(kept)


APPEND_LINE = line_of(Recorder.step, "self.hs.append")


@pytest.mark.parametrize("func", [appended_after_it_was_read_whole, appended_after_another_name_took_it])
def test_a_list_attribute_grown_after_it_was_used_whole_is_refused(func):
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with pytest.raises(adjoint.UnsupportedSyntaxError,
                           match=rf"test_objects_held.py:{APPEND_LINE}: list.append on a list held by an object"):
            transform(func)(XS)


def item_kept_under_a_name_then_changed(x):
    cells = [Layer(W), Layer(U)]
    first = cells[0]
    cells[0].step(x)
    return first.h


def test_an_item_kept_under_another_name_is_refused():
    with pytest.raises(adjoint.UnsupportedSyntaxError,
                       match=rf"test_objects_held.py:{STEP_LINE}: attribute .h set on an object of class Layer "
                             "that is held elsewhere"):
        adjoint.jacrev(item_kept_under_a_name_then_changed)(X)


class Built:
    """Layers made by a comprehension, outputs collected in a list attribute (the docs' example)."""

    def __init__(self, weights):
        self.layers = [Layer(w) for w in weights]
        self.outputs = []

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.outputs.append(x)
        return x


def built_by_a_comprehension(x):
    model = Built([W, U])
    model(x)
    model(x * 2.0)
    return np.sum(np.stack(model.outputs) ** 2)


def built_by_a_comprehension_ag(x):
    hs, outputs = [anp.zeros(3), anp.zeros(3)], []
    for v in (x, x * 2.0):
        for i, w in enumerate((W, U)):
            hs[i] = anp.tanh(w @ v + hs[i])
            v = hs[i]
        outputs.append(v)
    return anp.sum(anp.stack(outputs) ** 2)


def test_layers_made_by_a_comprehension():
    for transform in (adjoint.grad, adjoint.jacfwd):
        got = transform(built_by_a_comprehension)(X)
        np.testing.assert_allclose(got, autograd.grad(built_by_a_comprehension_ag)(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(adjoint.hessian(built_by_a_comprehension)(X),
                               autograd.hessian(built_by_a_comprehension_ag)(X), rtol=1e-9, atol=1e-11)


# --- super() and dataclass fields made by a factory


class Base:
    def __init__(self, x, scale=2.0):
        self.a = x * scale

    def energy(self):
        return np.sum(self.a ** 2)


class Child(Base):
    def __init__(self, x):
        super().__init__(x, scale=3.0)
        self.b = np.sin(x)

    def energy(self):
        return super().energy() + np.sum(self.b)


def made_with_super(x):
    c = Child(x)
    c.a = c.a * c.b
    return c.energy()


def made_with_super_ag(x):
    return anp.sum((x * 3.0 * anp.sin(x)) ** 2) + anp.sum(anp.sin(x))


@dataclasses.dataclass
class History:
    w: np.ndarray
    hs: list = dataclasses.field(default_factory=list)
    state: np.ndarray = dataclasses.field(default_factory=lambda: np.ones(3))

    def step(self, x):
        self.state = np.tanh(self.w * x + self.state)
        self.hs.append(self.state)


def dataclass_with_factories(x):
    h = History(x)
    h.step(x)
    h.step(2.0 * x)
    return np.stack(h.hs)


def dataclass_with_factories_ag(x):
    s1 = anp.tanh(x * x + anp.ones(3))
    return anp.stack([s1, anp.tanh(x * 2.0 * x + s1)])


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
@pytest.mark.parametrize("func, reference", [
    (made_with_super, made_with_super_ag),
    (dataclass_with_factories, dataclass_with_factories_ag),
])
def test_super_and_dataclass_factories(transform, func, reference):
    got = transform(func)(X)
    np.testing.assert_allclose(got, autograd.jacobian(reference)(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, numerical_jacobian(func, (X,)), rtol=1e-6, atol=1e-8)
    # a second call makes a new list with the factory (the first call's items are not in it)
    np.testing.assert_allclose(transform(func)(X), got, rtol=1e-15)


# --- objects given by keyword


class Counter:
    def __init__(self):
        self.h = np.zeros(3)
        self.steps = 0

    def step(self, x):
        self.h = np.tanh(W @ x + self.h)
        self.steps += 1


def step_a_keyword_object(x, model=None):
    model.step(x)
    return model.h * 2.0


def step_star_objects(x, *models):
    models[0].step(x)  # MARK: star
    return models[0].h


def test_an_object_given_by_keyword_is_followed():
    expected = autograd.jacobian(lambda x: 2.0 * anp.tanh(W @ x))(X)
    for transform in (adjoint.jacrev, adjoint.jacfwd, lambda f: adjoint.jacfwd(f, chunk_size=1)):
        model = Counter()
        np.testing.assert_allclose(transform(step_a_keyword_object)(X, model=model), expected, rtol=1e-10,
                                   atol=1e-12)
        assert model.steps == 1  # stepped once, as by the plain call (chunks run on copies but the last)
        np.testing.assert_allclose(model.h, np.tanh(W @ X), rtol=1e-15)


def test_objects_given_through_star_args():
    # (refused before; tests/test_objects_real.py has more, and the forms still refused)
    model = Counter()
    np.testing.assert_allclose(adjoint.jacrev(step_star_objects)(X, model),
                               autograd.jacobian(lambda x: anp.tanh(W @ x))(X), rtol=1e-10, atol=1e-12)
    assert model.steps == 1


# --- forward mode twice, and vmap of derivatives of functions using objects


def loss_of_net_twice(x):
    return np.sum(net_twice(x) ** 2)


def loss_of_net_twice_ag(x):
    return anp.sum(net_twice_ag(x) ** 2)


def test_forward_mode_differentiated_again():
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(loss_of_net_twice))(X),
                               autograd.hessian(loss_of_net_twice_ag)(X), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(changed_in_callees))(XS),
                               autograd.jacobian(autograd.jacobian(changed_in_callees_ag))(XS), rtol=1e-9, atol=1e-11)


def test_forward_mode_twice_through_a_list_of_objects():
    # (refused before: the zero tangent of a list of objects was made of arrays, not of dicts)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(built_by_a_comprehension))(X),
                               autograd.hessian(built_by_a_comprehension_ag)(X), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacrev(built_by_a_comprehension))(X),
                               autograd.hessian(built_by_a_comprehension_ag)(X), rtol=1e-9, atol=1e-11)


def test_vmap_of_a_derivative_runs_once_per_example():
    points = np.stack([X, -X, 0.5 * X])
    for transform in (adjoint.grad, adjoint.jacfwd, adjoint.hessian):
        reference = autograd.hessian if transform is adjoint.hessian else autograd.grad
        with pytest.warns(RuntimeWarning, match="attribute .* on an object holding batched values"):
            got = adjoint.vmap(transform(loss_of_net_twice))(points)
        expected = np.stack([reference(loss_of_net_twice_ag)(p) for p in points])
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)
