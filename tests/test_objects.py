"""Objects of the user's classes that hold differentiated values: made in
the function (``State(x)``, dataclasses), and objects of the module or of a
closure whose methods set ``self.h = ...`` (an RNN cell stepped over a
sequence). Checked against autograd (the same program written with
autograd.numpy) and central finite differences; the forward pass must set
the attributes as the plain call does. What stays refused is refused at
the user's line."""
import collections
import dataclasses
import inspect

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian

RNG = np.random.default_rng(7)
X = np.array([0.3, -0.2, 0.5])
XS = RNG.normal(size=(5, 2))
W = RNG.normal(size=(3, 2))
U = RNG.normal(size=(3, 3)) * 0.5


def fd(func, x):
    return numerical_jacobian(func, (x,))


def line_of(func, marker):
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, text in enumerate(lines) if marker in text)


# --- (a) a plain class made in the function


class State:
    def __init__(self, x, scale=2.0):
        self.a = x * scale
        self.b = np.sin(x)
        self.label = "state"  # an attribute that carries no derivative

    def energy(self):
        return np.sum(self.a * self.b) + np.sum(self.a) ** 2

    def scaled(self, c):
        return self.b * c + self.a


def state_energy(x):
    s = State(x)
    return s.energy() * s.scaled(x)


def state_energy_ag(x):
    a, b = x * 2.0, anp.sin(x)
    return (anp.sum(a * b) + anp.sum(a) ** 2) * (b * x + a)


def made_and_used_at_once(x):
    return State(x, scale=3.0).scaled(1.5)


# --- (b) dataclasses


@dataclasses.dataclass
class Params:
    w: np.ndarray
    b: float = 0.5

    def apply(self, x):
        return np.tanh(self.w * x + self.b)


@dataclasses.dataclass(frozen=True)
class Pair:
    left: np.ndarray
    right: np.ndarray


@dataclasses.dataclass
class Normalized:
    raw: np.ndarray

    def __post_init__(self):
        self.unit = self.raw / np.sqrt(np.sum(self.raw ** 2))


def dataclasses_of_arrays(x):
    p = Params(x * 2.0)
    q = Params(w=np.cos(x), b=x[0])
    pair = Pair(np.sin(x), x ** 2)
    return p.apply(x) + q.apply(1.0) + pair.left * pair.right + Normalized(x).unit


def dataclasses_of_arrays_ag(x):
    unit = x / anp.sqrt(anp.sum(x ** 2))
    return anp.tanh(x * 2.0 * x + 0.5) + anp.tanh(anp.cos(x) + x[0]) + anp.sin(x) * x ** 2 + unit


def attributes_by_name_and_in_closures(x):
    s = State(x)
    setattr(s, "a", getattr(s, "b") * x)
    scale = lambda t: s.a * t  # noqa: E731 (a closure over the object, inlined)

    def triple():
        s.b = s.b * 3.0

    triple()
    return scale(2.0) + s.b


def attributes_by_name_and_in_closures_ag(x):
    return anp.sin(x) * x * 2.0 + anp.sin(x) * 3.0


Pose = collections.namedtuple("Pose", "position velocity")


def namedtuple_of_arrays(x):
    pose = Pose(np.sin(x), velocity=x * 2.0)
    return pose.position * pose.velocity + pose[0]


def namedtuple_of_arrays_ag(x):
    return anp.sin(x) * x * 2.0 + anp.sin(x)


# --- (c) self.h = ... in methods: RNN cells


class Cell:
    def __init__(self, W, U):
        self.W = W
        self.U = U
        self.h = np.zeros(3)
        self.steps = 0

    def reset(self):
        self.h = np.zeros(3)
        self.steps = 0

    def step(self, x):
        self.h = np.tanh(self.W @ x + self.U @ self.h)
        self.steps += 1
        return self.h

    def __call__(self, x):
        return self.step(x)


CELL = Cell(W, U)


def rnn_of_the_module(xs):
    CELL.reset()
    total = 0.0
    for t in range(xs.shape[0]):
        total = total + np.sum(CELL.step(xs[t]) ** 2)
    return total + np.sum(CELL.h)


def rnn_ag(xs, W=W):
    h = anp.zeros(3)
    total = 0.0
    for t in range(xs.shape[0]):
        h = anp.tanh(W @ xs[t] + U @ h)
        total = total + anp.sum(h ** 2)
    return total + anp.sum(h)


def rnn_made_here(w):
    cell = Cell(w.reshape(3, 2), U)
    total = 0.0
    for t in range(XS.shape[0]):
        total = total + np.sum(cell(XS[t]) ** 2)
    return total + np.sum(cell.h)


def rnn_made_here_ag(w):
    return rnn_ag(XS, anp.reshape(w, (3, 2)))


def make_stepper():
    cell = Cell(W, U)

    def run(xs):
        cell.reset()
        for t in range(xs.shape[0]):
            cell.step(xs[t])
        return cell.h

    return run, cell


RUN_CLOSED_OVER, CLOSED_CELL = make_stepper()


def rnn_last_state_ag(xs):
    h = anp.zeros(3)
    for t in range(xs.shape[0]):
        h = anp.tanh(W @ xs[t] + U @ h)
    return h


class Accumulator:
    def __init__(self):
        self.total = 0.0
        self.count = 0

    def add(self, v):
        self.total += v
        self.count += 1


def accumulate_with_branches(x):
    acc = Accumulator()
    for i in range(3):
        if x[i] > 0:
            acc.add(x[i] ** 2)
        else:
            acc.add(np.sin(x[i]))
    acc.scale = 2.0
    acc.total = acc.total * acc.scale
    return acc.total / acc.count


def accumulate_with_branches_ag(x):
    total = 0.0
    for i in range(3):
        total = total + (x[i] ** 2 if x[i] > 0 else anp.sin(x[i]))
    return total * 2.0 / 3


# --- tests


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
@pytest.mark.parametrize("func, reference", [
    (state_energy, state_energy_ag),
    (dataclasses_of_arrays, dataclasses_of_arrays_ag),
    (accumulate_with_branches, accumulate_with_branches_ag),
    (namedtuple_of_arrays, namedtuple_of_arrays_ag),  # (a container already: stays so)
    (attributes_by_name_and_in_closures, attributes_by_name_and_in_closures_ag),
])
def test_objects_made_in_the_function(transform, func, reference):
    for x in (X, -X):
        got = transform(func)(x)
        np.testing.assert_allclose(got, autograd.jacobian(reference)(x), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got, fd(func, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(transform(made_and_used_at_once)(X), fd(made_and_used_at_once, X),
                               rtol=1e-6, atol=1e-8)


def test_grad_of_an_object_made_in_the_function():
    def loss(x):
        return np.sum(state_energy(x))

    def loss_ag(x):
        return anp.sum(state_energy_ag(x))

    np.testing.assert_allclose(adjoint.grad(loss)(X), autograd.grad(loss_ag)(X), rtol=1e-10)


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_rnn_cell_of_the_module_stepped_over_a_sequence(transform):
    got = transform(rnn_of_the_module)(XS)
    np.testing.assert_allclose(got, autograd.grad(rnn_ag)(XS), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, fd(rnn_of_the_module, XS), rtol=1e-6, atol=1e-8)
    # The forward pass did what the plain call does, once: the cell holds the last state.
    CELL.reset()
    expected_h = Cell(W, U)
    for t in range(XS.shape[0]):
        expected_h.step(XS[t])
    transform(rnn_of_the_module)(XS)
    np.testing.assert_allclose(CELL.h, expected_h.h, rtol=1e-14)
    assert CELL.steps == XS.shape[0]


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_rnn_cell_made_in_the_function_with_call(transform):
    w = W.ravel()
    np.testing.assert_allclose(transform(rnn_made_here)(w), autograd.grad(rnn_made_here_ag)(w),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_rnn_cell_of_a_closure(transform):
    got = transform(RUN_CLOSED_OVER)(XS)
    np.testing.assert_allclose(got, autograd.jacobian(rnn_last_state_ag)(XS), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(CLOSED_CELL.h, rnn_last_state_ag(XS), rtol=1e-14)


def test_the_state_carries_over_between_calls_as_in_python():
    # Without reset the cell starts where the previous call left it, in the
    # derivative's forward pass as in the plain call.
    cell = Cell(W, U)

    def step_once(x):
        cell.step(x)
        return cell.h

    plain = Cell(W, U)
    plain.step(XS[0])
    cell.step(XS[0])
    h0 = plain.h.copy()
    got = adjoint.jacrev(step_once)(XS[1])
    expected = (1 - np.tanh(W @ XS[1] + U @ h0) ** 2)[:, None] * W
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    plain.step(XS[1])
    np.testing.assert_allclose(cell.h, plain.h, rtol=1e-14)


def cell_in_a_comprehension(xs):
    c = Cell(W, U)
    return np.stack([c(xs[t]) for t in range(xs.shape[0])])[-1]


def cell_in_a_while_loop(xs):
    c = Cell(W, U)
    t = 0
    while t < xs.shape[0]:
        c.step(xs[t])
        t += 1
    return c.h


def cell_stepped_by_a_nested_function_in_branches(xs):
    c = Cell(W, U)

    def go(x):
        c.step(x)

    for t in range(xs.shape[0]):
        if t % 2 == 0:
            go(xs[t])
        else:
            c(xs[t])
    return c.h


@pytest.mark.parametrize("func", [cell_in_a_comprehension, cell_in_a_while_loop,
                                  cell_stepped_by_a_nested_function_in_branches])
def test_the_loop_carries_the_object_whatever_changes_it(func):
    expected = autograd.jacobian(rnn_last_state_ag)(XS)
    np.testing.assert_allclose(adjoint.jacrev(func)(XS), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(func)(XS), expected, rtol=1e-10, atol=1e-12)


def hessian_of_rnn_made_here(w):
    return rnn_made_here(w)


def test_second_order():
    w = W.ravel()
    expected = autograd.hessian(rnn_made_here_ag)(w)
    np.testing.assert_allclose(adjoint.hessian(hessian_of_rnn_made_here)(w), expected, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacrev(rnn_made_here))(w), expected, rtol=1e-9,
                               atol=1e-11)

    def loss(x):
        return np.sum(dataclasses_of_arrays(x) ** 2)

    def loss_ag(x):
        return anp.sum(dataclasses_of_arrays_ag(x) ** 2)

    np.testing.assert_allclose(adjoint.hessian(loss)(X), autograd.hessian(loss_ag)(X), rtol=1e-9, atol=1e-11)


# --- refused: at the user's line, never a wrong number


def changed_through_another_name(x):
    s = Cell(W, U)
    t = s  # MARK: alias
    t.step(x)
    return s.h


def changed_after_put_in_a_list(x):
    s = Cell(W, U)
    held = [s]
    s.step(x)
    return held[0].h


def changed_in_a_loop_after_it_was_kept(x):
    s = Cell(W, U)
    kept = []
    for t in range(2):
        kept.append(s)
        s.step(x)
    return kept[0].h


def helper_steps_the_module_cell(x):
    CELL.step(x)
    return np.sum(x)


def caller_of_the_helper(x):
    y = helper_steps_the_module_cell(x)
    return CELL.h * y


def changes_an_object_passed_in(x, cell):
    cell.step(x)  # MARK: passed in
    return cell.h


def changes_an_object_passed_in_and_uses_the_result(x, cell):
    h = cell.step(x)
    return h + cell.h


STEP_LINE = line_of(Cell.step, "self.h = np.tanh")


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_refused_when_another_holder_would_miss_the_change(transform):
    for func in (changed_through_another_name, changed_after_put_in_a_list, changed_in_a_loop_after_it_was_kept):
        with pytest.raises(adjoint.UnsupportedSyntaxError,
                           match=rf"py:{STEP_LINE}: attribute .h set on an object of class Cell that is held "
                                 "elsewhere"):
            transform(func)(XS[0])


def test_kept_after_its_last_change_is_fine():
    def kept_after(x):
        s = Cell(W, U)
        s.step(x)
        held = [s]
        return held[0].h

    np.testing.assert_allclose(adjoint.jacrev(kept_after)(XS[0]), fd(kept_after, XS[0]), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_refused_when_a_called_function_changes_an_object_of_the_module(transform):
    with pytest.raises(adjoint.UnsupportedSyntaxError,
                       match=rf"py:{STEP_LINE}: attribute of an object the function did not make"):
        transform(caller_of_the_helper)(XS[0])


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_an_object_passed_in_is_followed(transform):
    # (more in test_objects_more.py) the transform is made for the argument's class
    slope = (1 - np.tanh(W @ XS[0]) ** 2)[:, None] * W
    for func, times in ((changes_an_object_passed_in, 1), (changes_an_object_passed_in_and_uses_the_result, 2)):
        cell = Cell(W, U)
        np.testing.assert_allclose(transform(func)(XS[0], cell), times * slope, rtol=1e-12)
        np.testing.assert_allclose(cell.h, np.tanh(W @ XS[0]), rtol=1e-15)
        assert cell.steps == 1


class WithSuper(State):
    def __init__(self, x):
        super().__init__(x)  # (read in place too: test_objects_held.py)
        self.c = x


def made_with_super(x):
    s = WithSuper(x)
    return s.energy()


class WithStarArgs(State):
    def __init__(self, *parts):
        State.__init__(self, parts[0])


def made_with_star_args(x):
    s = WithStarArgs(x)  # MARK: star
    return s.energy()


def test_refused_for_a_class_whose_init_cannot_be_read_in_place():
    np.testing.assert_allclose(adjoint.jacrev(made_with_super)(X), fd(made_with_super, X), rtol=1e-6, atol=1e-8)
    line = line_of(made_with_star_args, "MARK: star")
    with pytest.raises(adjoint.UnsupportedSyntaxError,
                       match=rf"py:{line}: an object of class WithStarArgs made from differentiated values"):
        adjoint.jacrev(made_with_star_args)(X)


class Charged:
    def __init__(self, x):
        self.q = np.sin(x)
        self.r = x * 3.0

    @property
    def energy(self):
        return np.sum(self.q ** 2) * self.r


def property_of_an_object_made_here(x):
    c = Charged(x)
    return c.energy


def property_of_an_object_made_here_ag(x):
    return anp.sum(anp.sin(x) ** 2) * x * 3.0


def make_charged(x):
    return Charged(x)


def property_through_a_call(x):
    return make_charged(x).energy


def make_charged_from(*xs):
    return Charged(xs[0])


def property_through_a_call_not_followed(x):
    return make_charged_from(x).energy  # (a function with *args is not read in place)


def property_through_a_list(x):
    held = [Charged(x)]
    return held[0].energy


def stored_attributes_through_a_call(x):
    c = make_charged(x)
    return c.q * c.r


def dict_of_an_object(x):
    c = Charged(x)
    return sum(np.sum(v) for v in c.__dict__.values())  # MARK: dict


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_properties_and_objects_returned_by_calls(transform):
    np.testing.assert_allclose(transform(property_of_an_object_made_here)(X),
                               autograd.jacobian(property_of_an_object_made_here_ag)(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(transform(stored_attributes_through_a_call)(X),
                               fd(stored_attributes_through_a_call, X), rtol=1e-6, atol=1e-8)
    # A property of an object held by a list made here: followed (test_objects_held.py)
    np.testing.assert_allclose(transform(property_through_a_list)(X),
                               autograd.jacobian(property_of_an_object_made_here_ag)(X), rtol=1e-10, atol=1e-12)
    # A function of the module returning an object it makes is read in place: the object is followed
    np.testing.assert_allclose(transform(property_through_a_call)(X),
                               autograd.jacobian(property_of_an_object_made_here_ag)(X), rtol=1e-10, atol=1e-12)
    # A property read where the object is not followed: refused, never a zero.
    with pytest.raises(TypeError, match=r"cannot differentiate .energy of a Charged read through"):
        transform(property_through_a_call_not_followed)(X)
    line = line_of(dict_of_an_object, "MARK: dict")
    with pytest.raises(adjoint.UnsupportedSyntaxError,
                       match=rf"py:{line}: attribute .__dict__ of an object of class Charged holding"):
        transform(dict_of_an_object)(X)


class Shifted:
    def __init__(self, x):
        self.a = x

    def bump(self):
        self.a += 1.0  # MARK: bump


def array_attribute_updated_in_place(x):
    s = Shifted(x)
    s.bump()
    return s.a * 2.0


def test_array_attribute_updated_in_place_is_refused_where_numpy_would_change_the_argument():
    # Python changes the caller's x through s.a; the refusal names the attribute.
    line = line_of(Shifted.bump, "MARK: bump")
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=rf"py:{line}: augmented assignment to 'self.a'"):
        adjoint.jacrev(array_attribute_updated_in_place)(X.copy())


class Squares:
    def __init__(self):
        self.h = np.zeros(3)

    def step(self, x):
        self.h = x ** 2


class Sines(Squares):
    def step(self, x):
        self.h = np.sin(x)


HOLDER = Squares()


def step_the_holder(x):
    HOLDER.step(x)
    return HOLDER.h


def test_an_object_of_the_module_replaced_by_another_class_is_transformed_again(monkeypatch):
    # The inlined methods are the old class's: the transform must not be reused.
    import test_objects

    for transform in (adjoint.jacrev, adjoint.jacfwd):
        monkeypatch.setattr(test_objects, "HOLDER", Squares())
        np.testing.assert_allclose(transform(step_the_holder)(X), np.diag(2 * X), rtol=1e-12)
        monkeypatch.setattr(test_objects, "HOLDER", Sines())
        np.testing.assert_allclose(transform(step_the_holder)(X), np.diag(np.cos(X)), rtol=1e-12)
