"""Objects in real programs (issue 9): ``functools.cached_property``, the
loop name of a loop over a list of objects read after the loop, objects
given through ``*args``, second derivatives of functions given an object,
third order and forward mode twice through objects. Checked against
autograd (the same program written with autograd.numpy) and finite
differences."""
import dataclasses
import functools

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

RNG = np.random.default_rng(11)
W = RNG.standard_normal((3, 3)) * 0.5
U = RNG.standard_normal((3, 3)) * 0.4
X = RNG.standard_normal(3)
POINTS = np.stack([X, -0.5 * X])


def numerical_jacobian(f, x, step=1e-6):
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = step
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * step))
    return np.stack(columns, axis=-1).reshape(np.shape(f(x)) + x.shape)


# --- functools.cached_property: computed once per object, then read


class Springs:
    def __init__(self, x):
        self.x = x
        self.calls = 0

    @functools.cached_property
    def energy(self):
        self.calls += 1
        return np.sum(np.sin(self.x) ** 2) * self.x[0]


def cached_then_stale(x):
    s = Springs(x)
    first = s.energy          # computed here, and stored on s
    s.x = s.x * 3.0           # a change the cached value does not see (as in Python)
    if s.x[0] > -100.0:
        first = first + s.energy * s.x[1]   # read again: the stored value
    return first + s.energy + s.calls


def cached_then_stale_ag(x):
    e = anp.sum(anp.sin(x) ** 2) * x[0]
    return e + e * 3.0 * x[1] + e + 1


class Model:
    def __init__(self, x):
        self.springs = Springs(x)   # a held object with a cached property


def cached_on_a_held_object(x):
    m = Model(x)
    a = m.springs.energy
    m.springs.x = np.cos(x)
    return a * m.springs.energy + m.springs.x


def cached_on_a_held_object_ag(x):
    e = anp.sum(anp.sin(x) ** 2) * x[0]
    return e * e + anp.cos(x)


def test_cached_property_first_order():
    for func, reference in ((cached_then_stale, cached_then_stale_ag),
                            (cached_on_a_held_object, cached_on_a_held_object_ag)):
        expected = autograd.jacobian(reference)(X)
        assert np.allclose(func(X), reference(X), rtol=1e-14)   # Python's meaning (the stale value)
        transform = adjoint.jacfwd if func is cached_then_stale else adjoint.jacrev
        np.testing.assert_allclose(transform(func)(X), expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(expected, numerical_jacobian(func, X), rtol=1e-6, atol=1e-8)


def test_cached_property_second_order():
    np.testing.assert_allclose(adjoint.hessian(cached_then_stale)(X), autograd.hessian(cached_then_stale_ag)(X),
                               rtol=1e-9, atol=1e-11)


def test_cached_property_stored_for_the_caller():
    def keep(x):
        s = Springs(x)
        return s.energy * 2.0, s

    expected = 2.0 * autograd.grad(lambda v: anp.sum(anp.sin(v) ** 2) * v[0])(X)
    got, s = adjoint.grad(keep, has_aux=True)(X)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert s.calls == 1 and "energy" in vars(s)   # computed once, kept on the object as Python keeps it
    np.testing.assert_allclose(s.energy, np.sum(np.sin(X) ** 2) * X[0], rtol=1e-14)


# --- the loop name of a loop over a list of objects, read after the loop


class Layer:
    def __init__(self, W):
        self.W, self.h = W, np.zeros(3)

    def __call__(self, x):
        self.h = np.tanh(self.W @ x + self.h)
        return self.h


class Stack:
    def __init__(self, weights):
        self.layers = [Layer(w) for w in weights]

    def __call__(self, x):
        h = x
        for layer in self.layers:
            h = layer(h)
        return h * layer.h[0] + layer.W @ h   # layer: the last one, as Python leaves it


def loop_name_read_after(x):
    s = Stack([W, U])
    return s(x) + s(x * 0.5)


def loop_name_read_after_ag(x):
    hs = [anp.zeros(3), anp.zeros(3)]

    def run(v):
        for i, w in enumerate((W, U)):
            hs[i] = anp.tanh(w @ v + hs[i])
            v = hs[i]
        return v * hs[1][0] + U @ v

    return run(x) + run(x * 0.5)


def loop_name_after_an_empty_loop(x):
    s = Stack([])
    layer = Layer(W)
    layer.h = np.sin(x)
    for layer in s.layers:    # no layers: layer keeps the one above
        x = layer(x)
    return layer.h * x


def test_the_loop_name_after_a_loop_over_objects():
    expected = autograd.jacobian(loop_name_read_after_ag)(X)
    np.testing.assert_allclose(loop_name_read_after(X), loop_name_read_after_ag(X), rtol=1e-14)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(transform(loop_name_read_after)(X), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(expected, numerical_jacobian(loop_name_read_after, X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacrev(loop_name_after_an_empty_loop)(X), np.diag(np.cos(X) * X + np.sin(X)),
                               rtol=1e-12)


def loop_name_read_after_a_change(x):
    s = Stack([W, U])
    for layer in s.layers:
        x = layer(x)
    s.layers[1].h = np.sin(x)  # MARK: change
    return layer.h              # the same object: Python reads sin(x) here


def test_the_loop_name_read_after_a_change_of_its_object_is_refused_at_the_line():
    import inspect

    lines, first = inspect.getsourcelines(loop_name_read_after_a_change)
    line = first + next(i for i, text in enumerate(lines) if "MARK: change" in text)
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=rf"test_objects_real.py:{line}: attribute .h set on an "
                                                             "object of class Layer that is held elsewhere"):
        adjoint.jacrev(loop_name_read_after_a_change)(X)


# --- third order through an object's method called in a loop


class Accumulator:
    def __init__(self):
        self.total = 0.0     # a constant at first: its higher tangents start as holes

    def add(self, v):
        self.total += v


def accumulated(x):
    acc = Accumulator()
    for i in range(1, 3):
        acc.add(np.sin(x[i] * x[0]))
    return acc.total


def accumulated_ag(x):
    total = 0.0
    for i in range(1, 3):
        total = total + anp.sin(x[i] * x[0])
    return total


def test_third_order_through_a_method_called_in_a_loop():
    expected = autograd.jacobian(autograd.hessian(accumulated_ag))(X)
    assert np.abs(expected).max() > 0.1
    got = adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(accumulated)))(X)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


# --- forward mode twice through a list of objects, and under vmap


class Chain:
    def __init__(self):
        self.layers = [Layer(W), Layer(U)]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def through_a_list_of_objects(x):
    c = Chain()
    return np.sum(c(x) ** 2)


def through_a_list_of_objects_ag(x):
    return anp.sum(anp.tanh(U @ anp.tanh(W @ x)) ** 2)


def test_forward_mode_twice_through_a_list_of_objects():
    # (refused before: the zero tangent of a list of objects was built of arrays, not of attribute dicts)
    jfjf = adjoint.jacfwd(adjoint.jacfwd(through_a_list_of_objects))
    np.testing.assert_allclose(jfjf(X), autograd.hessian(through_a_list_of_objects_ag)(X), rtol=1e-9, atol=1e-11)


# --- second derivatives of a function given an object whose method changes it


class Cell:
    def __init__(self):
        self.h = np.zeros(3)
        self.steps = 0

    def step(self, x):
        self.h = np.tanh(W @ x + self.h)
        self.steps += 1


def step_the_model(model, x):
    model.step(x * x[0])
    return np.sum(model.h ** 2)


def stepped_from(h):
    return lambda x: anp.sum(anp.tanh(W @ (x * x[0]) + h) ** 2)


def test_second_derivatives_of_a_function_given_an_object():
    for transform in (lambda f: adjoint.hessian(f, 1),
                      lambda f: adjoint.jacfwd(adjoint.jacrev(f, 1), 1, chunk_size=1)):   # several passes
        model = Cell()
        got = transform(step_the_model)(model, X)
        got = got.toarray() if hasattr(got, "toarray") else got
        np.testing.assert_allclose(got, autograd.hessian(stepped_from(np.zeros(3)))(X), rtol=1e-10, atol=1e-12)
        assert model.steps == 1    # stepped once, as by the plain call
        np.testing.assert_allclose(model.h, np.tanh(W @ (X * X[0])), rtol=1e-15)
    before = model.h.copy()        # a second call starts from the state the first left, as in Python
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacfwd(step_the_model, 1), 1)(model, X),
                               autograd.hessian(stepped_from(before))(X), rtol=1e-10, atol=1e-12)
    assert model.steps == 2


# --- objects given through *args


def step_the_objects(x, *cells):
    cells[0].step(x)
    cells[-1].step(np.sin(x))      # (the same object as cells[0] when there is one)
    return cells[0].h * cells[-1].h[0]


def step_the_objects_ag(x):
    h1 = anp.tanh(W @ x)
    h2 = anp.tanh(W @ anp.sin(x))
    return h1 * h2[0]


def loop_over_star_objects(x, *cells):
    for cell in cells:
        cell.step(x)
    return cells[0].h


def test_objects_given_through_star_args():
    first, second = Cell(), Cell()
    expected = autograd.jacobian(step_the_objects_ag)(X)
    np.testing.assert_allclose(adjoint.jacrev(step_the_objects)(X, first, second), expected, rtol=1e-10, atol=1e-12)
    assert first.steps == 1 and second.steps == 1
    np.testing.assert_allclose(second.h, np.tanh(W @ np.sin(X)), rtol=1e-15)
    np.testing.assert_allclose(adjoint.jacfwd(step_the_objects)(X, Cell(), Cell()), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(expected, numerical_jacobian(lambda x: step_the_objects(x, Cell(), Cell()), X),
                               rtol=1e-6, atol=1e-8)


def test_a_loop_over_star_objects_is_written_out():
    # (refused before; a loop whose name is read after it stays refused: tests/test_objects_changes.py)
    cell = Cell()
    np.testing.assert_allclose(adjoint.jacrev(loop_over_star_objects)(X, cell),
                               autograd.jacobian(lambda x: anp.tanh(W @ x))(X), rtol=1e-10, atol=1e-12)
    assert cell.steps == 1


# --- objects held by an argument, made before the call


class Net:
    def __init__(self):
        self.cell = Cell()          # made before the call, held by the argument
        self.scale = 2.0

    def forward(self, x):
        self.cell.step(x)           # a change of the held object, in a method
        self.cell.h = self.cell.h * self.scale    # and through the chain
        return self.cell.h


def run_the_net(net, x):
    y = net.forward(x)
    net.cell.step(y)                # in the function itself
    return y + net.cell.h


def run_the_net_ag(x):
    h1 = 2.0 * anp.tanh(W @ x)
    return h1 + anp.tanh(W @ h1 + h1)


def test_an_object_held_by_an_argument():
    expected = autograd.jacobian(run_the_net_ag)(X)
    net = Net()
    np.testing.assert_allclose(adjoint.jacrev(run_the_net, 1)(net, X), expected, rtol=1e-10, atol=1e-12)
    assert net.cell.steps == 2   # the caller's object changed as the plain call changes it
    np.testing.assert_allclose(net.cell.h, run_the_net_ag(X) - 2.0 * np.tanh(W @ X), rtol=1e-14)
    np.testing.assert_allclose(expected, numerical_jacobian(lambda x: run_the_net(Net(), x), X), rtol=1e-6,
                               atol=1e-8)
    net = Net()
    np.testing.assert_allclose(adjoint.hessian(net_loss, 1)(net, X),
                               autograd.hessian(lambda x: anp.sum(run_the_net_ag(x) ** 2))(X), rtol=1e-9,
                               atol=1e-11)
    assert net.cell.steps == 2


def net_loss(net, x):
    y = net.forward(x)
    net.cell.step(y)
    return np.sum((y + net.cell.h) ** 2)


class Twice:
    def __init__(self):
        self.a = self.b = Cell()    # one object under two attributes

    def forward(self, x):
        self.a.step(x)  # MARK: shared
        return self.b.h


def test_an_object_held_twice_by_an_argument_stays_refused_at_the_line():
    import inspect

    lines, start = inspect.getsourcelines(Twice.forward)
    line = start + next(i for i, text in enumerate(lines) if "MARK: shared" in text)
    with pytest.raises(adjoint.errors.InPlaceChangeError, match=rf"test_objects_real.py:{line}: method .step\(\)"):
        adjoint.jacrev(twice_forward, 1)(Twice(), X)
    once = Twice()
    once.b = Cell()                 # two objects: followed
    np.testing.assert_allclose(adjoint.jacrev(twice_forward, 1)(once, X), np.zeros((3, 3)))
    np.testing.assert_allclose(once.a.h, np.tanh(W @ X), rtol=1e-15)


def twice_forward(t, x):
    return t.forward(x)


def step_through_the_holder(net, cell, x):
    net.cell.step(x)  # MARK: also given
    return cell.h     # the same object: Python reads the new value


def test_an_object_held_by_an_argument_and_given_too_stays_refused_at_the_line():
    import inspect

    lines, start = inspect.getsourcelines(step_through_the_holder)
    line = start + next(i for i, text in enumerate(lines) if "MARK: also given" in text)
    net = Net()
    with pytest.raises(adjoint.errors.InPlaceChangeError, match=rf"test_objects_real.py:{line}: method .step\(\)"):
        adjoint.jacrev(step_through_the_holder, 2)(net, net.cell, X)


# --- vmap of functions whose objects are records (set once, then only read): on the whole batch


class Affine:
    def __init__(self, w, b):
        self.w = w
        self.b = b

    def apply(self, h):
        return np.tanh(self.w * h + self.b)


@dataclasses.dataclass(frozen=True)
class Scale:
    factor: np.ndarray
    offset: float = 0.5


def records_only(x):
    layer = Affine(x[::-1], np.sin(x))
    s = Scale(x * x)
    h = layer.apply(x) * s.factor + s.offset
    h = layer.apply(h) * s.factor
    return np.sum(h ** 2)


def records_only_ag(x):
    h = anp.tanh(x[::-1] * x + anp.sin(x)) * (x * x) + 0.5
    h = anp.tanh(x[::-1] * h + anp.sin(x)) * (x * x)
    return anp.sum(h ** 2)


def test_vmap_of_records_runs_on_the_whole_batch():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (a loop over the examples warns)
        got = adjoint.vmap(records_only)(POINTS)
        grads = adjoint.vmap(adjoint.grad(records_only))(POINTS)
    np.testing.assert_allclose(got, [records_only_ag(p) for p in POINTS], rtol=1e-13)
    np.testing.assert_allclose(grads, [autograd.grad(records_only_ag)(p) for p in POINTS], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(records_only)(X), numerical_jacobian(records_only, X), rtol=1e-6)


def made_and_called_at_once(x):
    return np.sum(Chain()(x) ** 2)   # the object made, then called, in one expression


def test_an_object_made_and_called_in_one_expression():
    # (refused before at the first order; the second order raised from inside the library)
    np.testing.assert_allclose(adjoint.hessian(made_and_called_at_once)(X),
                               autograd.hessian(through_a_list_of_objects_ag)(X), rtol=1e-9, atol=1e-11)
