"""Objects held by other objects (normalize_held): ``self.layer.h = v``,
``self.layer(x)``, ``a.b.c.step(x)`` on objects the function makes. Checked
against autograd running the same program written with autograd.numpy and
plain arrays, and against central finite differences; a second holder of
the held object (a name of the user's) is refused at the user's line."""
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
