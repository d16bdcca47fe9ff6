"""Objects of the user's classes passed in as arguments whose methods set
attributes to differentiated values (``model.step(x)`` storing ``self.h``):
followed like the objects the function makes (normalize_objects), the
transform made for the argument's class. The forward pass changes the
caller's object exactly as the plain call does. Checked against autograd
(on a copy of the program written with autograd.numpy) and finite
differences; the forms still refused fail at the user's line."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

RNG = np.random.default_rng(7)
W = RNG.standard_normal((3, 4)) * 0.5
U = RNG.standard_normal((3, 3)) * 0.4
X = RNG.standard_normal(4)
XS = RNG.standard_normal((5, 4))


class Cell:
    def __init__(self, W, U):
        self.W, self.U = W, U
        self.h = np.zeros(3)
        self.steps = 0

    def step(self, x):
        self.h = np.tanh(self.W @ x + self.U @ self.h)
        self.steps += 1

    def __call__(self, x):
        self.step(x)
        return self.h


def step_then_read(model, x):
    model.step(x)
    return np.sum(model.h ** 2)


def step_then_read_ag(x, h0=np.zeros(3)):
    return anp.sum(anp.tanh(W @ x + U @ h0) ** 2)


def rnn_over_a_sequence(xs, model):
    for t in range(xs.shape[0]):
        model.step(xs[t])
    return model.h


def rnn_ag(xs):
    h = anp.zeros(3)
    for t in range(xs.shape[0]):
        h = anp.tanh(W @ xs[t] + U @ h)
    return h


def called_like_a_function(model, x):
    return model(x) * 2.0 + model.h


def set_directly(model, x):
    model.h = np.sin(x)
    return model.h * model.h[0]


def fd(f, x, step=1e-6):
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = step
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * step))
    return np.stack(columns, axis=-1).reshape(np.shape(f(x)) + x.shape)


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd, adjoint.grad])
def test_method_of_an_argument_sets_a_differentiated_attribute(transform):
    model = Cell(W, U)
    got = transform(step_then_read, 1)(model, X)
    np.testing.assert_allclose(got, autograd.grad(step_then_read_ag)(X), rtol=1e-10, atol=1e-12)
    # the caller's object changed as the plain call changes it: once
    plain = Cell(W, U)
    step_then_read(plain, X)
    np.testing.assert_allclose(model.h, plain.h, rtol=1e-15)
    assert model.steps == plain.steps == 1


def test_the_state_carries_over_between_calls_as_in_python():
    model, plain = Cell(W, U), Cell(W, U)
    grad = adjoint.grad(step_then_read, 1)
    grad(model, XS[0])
    step_then_read(plain, XS[0])
    h0 = plain.h.copy()
    got = grad(model, XS[1])  # starts from the state the first call left
    np.testing.assert_allclose(got, autograd.grad(step_then_read_ag)(XS[1], h0), rtol=1e-10, atol=1e-12)
    step_then_read(plain, XS[1])
    np.testing.assert_allclose(model.h, plain.h, rtol=1e-15)
    assert model.steps == 2


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_rnn_cell_passed_in_stepped_over_a_sequence(transform):
    model = Cell(W, U)
    got = transform(rnn_over_a_sequence)(XS, model)
    np.testing.assert_allclose(got, autograd.jacobian(rnn_ag)(XS), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.h, rnn_ag(XS), rtol=1e-14)
    assert model.steps == XS.shape[0]
    np.testing.assert_allclose(got, fd(lambda xs: rnn_over_a_sequence(xs, Cell(W, U)), XS),
                               rtol=1e-6, atol=1e-8)


def test_reverse_chunks_replay_without_stepping_again():
    model = Cell(W, U)
    got = adjoint.jacrev(rnn_over_a_sequence, chunk_size=1)(XS, model)
    np.testing.assert_allclose(got, autograd.jacobian(rnn_ag)(XS), rtol=1e-10, atol=1e-12)
    assert model.steps == XS.shape[0]


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_call_and_direct_store_on_an_argument(transform):
    model = Cell(W, U)
    got = transform(called_like_a_function, 1)(model, X)
    expected = 3.0 * autograd.jacobian(lambda x: anp.tanh(W @ x))(X)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert model.steps == 1
    model = Cell(W, U)
    got = transform(set_directly, 1)(model, X)
    np.testing.assert_allclose(got, autograd.jacobian(lambda x: anp.sin(x) * anp.sin(x[0]))(X), rtol=1e-12)
    np.testing.assert_allclose(model.h, np.sin(X), rtol=1e-15)


def test_value_and_grad():
    # (vjp and jvp differentiate every argument they are given: an object is
    # not one; close over it there, as the objects of a closure are followed)
    model = Cell(W, U)
    value, got = adjoint.value_and_grad(step_then_read, 1)(model, X)
    np.testing.assert_allclose(value, step_then_read_ag(X), rtol=1e-14)
    np.testing.assert_allclose(got, autograd.grad(step_then_read_ag)(X), rtol=1e-10, atol=1e-12)
    assert model.steps == 1


class Squares:
    def step(self, x):
        self.h = x * x


class Sines:
    def step(self, x):
        self.h = np.sin(x)


def step_any(model, x):
    model.step(x)
    return model.h


def test_an_argument_of_another_class_gets_its_own_transform():
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(transform(step_any, 1)(Squares(), X), np.diag(2 * X), rtol=1e-12)
        np.testing.assert_allclose(transform(step_any, 1)(Sines(), X), np.diag(np.cos(X)), rtol=1e-12)


class Layer:
    def __init__(self):
        self.h = None


class Net:
    def __init__(self):
        self.layer = Layer()
        self.hs = []

    def nested(self, x):
        self.layer.h = np.tanh(W @ x)

    def record(self, x):
        self.hs.append(np.tanh(W @ x))


def through_a_held_object(model, x):
    model.nested(x)  # MARK: nested
    return np.sum(model.layer.h)


def through_a_list_attribute(model, x):
    model.record(x)  # MARK: record
    return np.sum(model.hs[-1])


def line_of(func, mark):
    import inspect

    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, text in enumerate(lines) if mark in text)


def test_a_change_through_a_held_object_of_an_argument():
    # (refused before; more in tests/test_objects_real.py)
    model = Net()
    np.testing.assert_allclose(adjoint.jacrev(through_a_held_object, 1)(model, X),
                               autograd.grad(lambda x: anp.sum(anp.tanh(W @ x)))(X), rtol=1e-12)
    np.testing.assert_allclose(model.layer.h, np.tanh(W @ X), rtol=1e-15)


@pytest.mark.parametrize("func, mark", [(through_a_list_attribute, "self.hs.append(np.tanh")])
def test_changes_through_held_lists_refused_at_the_line(func, mark):
    # (the method is read in place of the call, so the refusal names the append in it)
    line = line_of(Net.record, mark)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with pytest.raises(adjoint.UnsupportedSyntaxError,
                           match=rf"test_objects_more.py:{line}: method .\w+\(\) \(its result unused\).*"
                                 r"not self.hs.append\(h\) on a list made before the call"):
            transform(func, 1)(Net(), X)


def test_hessian_through_an_argument_object():
    # (refused before; tests/test_objects_real.py checks chunks, sparse Hessians and a second call)
    model = Cell(W, U)
    np.testing.assert_allclose(adjoint.hessian(step_then_read, 1)(model, X),
                               autograd.hessian(step_then_read_ag)(X), rtol=1e-10, atol=1e-12)
    assert model.steps == 1
