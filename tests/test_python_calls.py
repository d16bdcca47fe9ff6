"""What real programs call with: ``*args`` / ``**kwargs`` parameters and
call-site unpacking over values built anywhere, ``map`` / ``filter``,
``functools.partial`` as a value, closures made by factories, lambdas in
containers, ``try`` / ``except`` / ``finally`` and ``with`` blocks, and the
attributes of the user's objects.

Every program is checked in reverse mode (jacrev, grad, vjp) and forward
mode (jacfwd, jvp) against central finite differences (an independent
reference), and vmap against a Python loop over the examples; what stays
unsupported raises an error naming the user's line."""
import functools
import inspect
import warnings

import numpy as np
import pytest

import adjoint
from conftest import assert_trees_close, numerical_jacobian

X = np.array([0.3, -0.2, 0.5])
Y = np.array([0.7, 0.1, -0.4])


def check(program, *args, argnums=0, vmapped=True):
    """jacrev, jacfwd and grad-by-vjp against finite differences, jvp against
    jacfwd's directions, and vmap against a loop over examples."""
    argnums_tuple = argnums if isinstance(argnums, tuple) else (argnums,)
    expected = [numerical_jacobian(program, args, argnum=a) for a in argnums_tuple]
    if not isinstance(argnums, tuple):
        expected = expected[0]
    else:
        expected = tuple(expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert_trees_close(adjoint.jacrev(program, argnums=argnums)(*args), expected, rtol=1e-5, atol=1e-7)
        assert_trees_close(adjoint.jacfwd(program, argnums=argnums)(*args), expected, rtol=1e-5, atol=1e-7)
        # the plain call and the transforms' forward passes agree
        output, _ = adjoint.vjp(program, *args)
        np.testing.assert_allclose(output, program(*args))
        tangents = tuple(np.ones_like(a) if i in argnums_tuple else np.zeros_like(a)
                         for i, a in enumerate(args))
        value, tangent = adjoint.jvp(program, args, tangents)
        np.testing.assert_allclose(value, program(*args))
        blocks = expected if isinstance(argnums, tuple) else (expected,)
        want = sum(np.asarray(b).reshape(np.shape(value) + (-1,)).sum(axis=-1) for b in blocks)
        np.testing.assert_allclose(tangent, want, rtol=1e-5, atol=1e-7)
        if vmapped:
            batch = [np.stack([a, a * 0.5 + 0.1]) for a in args]
            got = adjoint.vmap(program)(*batch)
            loop = np.stack([program(*[b[i] for b in batch]) for i in range(2)])
            np.testing.assert_allclose(got, loop)


# ---------------------------------------------------------------- *args, **kwargs parameters

def sum_of_sines(*values):
    total = 0.0
    for value in values:
        total = total + np.sin(value)
    return total


def weighted(x, **weights):
    return x * weights["a"] + weights.get("b", 1.0) * np.cos(x) + weights.get("c", 0.5)


def calls_varargs_callee(x):
    return sum_of_sines(x, x * 2.0, x ** 2)


def calls_kwargs_callee(x):
    return weighted(x, a=np.sin(x), b=2.0)


def varargs_twice(x):
    # two specializations of the same function, by their number of arguments
    return sum_of_sines(x) * sum_of_sines(x, np.exp(x))


def varargs_and_keyword_only(x, *rest, scale=2.0):
    return scale * x * rest[0] + len(rest) * rest[-1]


def star_outer(*xs):
    return xs[0] * np.tanh(xs[1])


@pytest.mark.parametrize("program", [calls_varargs_callee, calls_kwargs_callee, varargs_twice])
def test_variadic_callees(program):
    check(program, X)


def test_the_differentiated_function_has_star_args():
    check(star_outer, X, Y, argnums=(0, 1))
    check(star_outer, X, Y, argnums=1)
    check(lambda x, y: varargs_and_keyword_only(x, y, y * x, scale=3.0), X, Y, argnums=(0, 1))


def test_star_args_callee_was_silently_zero():
    # a differentiated value passed to *args got no derivative at all
    jacobian = adjoint.jacrev(calls_varargs_callee)(X)
    expected = np.diag(np.cos(X) + 2 * np.cos(2 * X) + 2 * X * np.cos(X ** 2))
    np.testing.assert_allclose(jacobian, expected)


def test_kwargs_of_the_differentiated_function():
    def f(x, **options):
        return x * options["k"] + np.sin(x)

    np.testing.assert_allclose(adjoint.jacrev(f)(X, k=3.0), np.diag(3.0 + np.cos(X)))
    np.testing.assert_allclose(adjoint.jacfwd(f)(X, k=3.0), np.diag(3.0 + np.cos(X)))
    np.testing.assert_allclose(adjoint.grad(lambda x: np.sum(f(x, k=2.0)))(X), 2.0 + np.cos(X))


# ---------------------------------------------------------------- unpacking at call sites

def two(a, b):
    return a * np.sin(b)


def with_keywords(x, a=1.0, b=2.0):
    return x * a + b * np.cos(x)


def star_of_a_literal(x):
    pair = (x, x * 2.0)
    return two(*pair)


def star_of_a_list_built_on_paths(x):
    params = [x, x * 2.0]
    if np.sum(x) > 100.0:
        params = [x * 3.0, x]
    return two(*params)


def star_of_rows(x):
    rows = np.stack([x, 2.0 * x])
    return two(*rows)


def star_of_an_argument(x, params):
    return two(*params) + x


def star_of_a_shape(x):
    # *x.shape (ints, no derivative) at a call of a NumPy function
    return np.ones(*x.shape) * x + np.reshape(x, (*x.shape, 1))[:, 0]


def dstar_of_a_literal(x):
    cfg = {"a": x, "b": 3.0}
    return with_keywords(x, **cfg)


def dstar_built_on_paths(x):
    cfg = {"a": np.sin(x)}
    if np.sum(x) > 100.0:
        cfg = {"a": x, "b": x}
    return with_keywords(x, **cfg)


def dstar_of_an_argument(x, cfg):
    return with_keywords(x, **cfg)


def star_into_star(x):
    values = [x, np.sin(x)]
    if np.sum(x) > 100.0:
        values = [x]
    return sum_of_sines(*values, x * 3.0)


def method_with_star(x):
    rows = [x, x * x]
    if np.sum(x) > 100.0:
        rows = [x, x]
    return Box(2.0).combine(*rows)


class Box:
    def __init__(self, scale):
        self.scale = scale

    def combine(self, a, b):
        return self.scale * a * b


@pytest.mark.parametrize("program", [star_of_a_literal, star_of_a_list_built_on_paths, star_of_rows,
                                     star_of_a_shape, dstar_of_a_literal, dstar_built_on_paths,
                                     star_into_star, method_with_star])
def test_unpacking_at_call_sites(program):
    check(program, X, vmapped=program not in (dstar_built_on_paths,))


def test_unpacking_of_arguments():
    params = [X, Y]
    got = adjoint.jacrev(star_of_an_argument, argnums=(0, 1))(X, params)
    expected = (numerical_jacobian(star_of_an_argument, (X, params), 0),
                numerical_jacobian(star_of_an_argument, (X, params), 1))
    assert_trees_close(got, expected, rtol=1e-5)
    got = adjoint.jacfwd(star_of_an_argument, argnums=(0, 1))(X, params)
    assert_trees_close(got, expected, rtol=1e-5)
    cfg = {"a": Y, "b": X * 2.0}
    got = adjoint.jacrev(dstar_of_an_argument, argnums=1)(X, cfg)
    assert_trees_close(got, numerical_jacobian(dstar_of_an_argument, (X, cfg), 1), rtol=1e-5)
    got = adjoint.jacfwd(dstar_of_an_argument, argnums=(0, 1))(X, cfg)
    assert_trees_close(got, (numerical_jacobian(dstar_of_an_argument, (X, cfg), 0),
                             numerical_jacobian(dstar_of_an_argument, (X, cfg), 1)), rtol=1e-5)


def test_random_state_with_a_starred_shape():
    def noisy(x):
        rs = np.random.RandomState(0)
        return x * rs.randn(*x.shape)

    noise = np.random.RandomState(0).randn(*X.shape)
    np.testing.assert_allclose(adjoint.jacrev(noisy)(X), np.diag(noise))
    np.testing.assert_allclose(adjoint.jacfwd(noisy)(X), np.diag(noise))


def test_keyword_given_twice_is_refused_at_the_line():
    def twice(x):
        cfg = {"a": x}
        return with_keywords(x, a=x, **cfg)

    with pytest.raises(adjoint.TransformError, match=r"test_python_calls.py:\d+: keyword argument 'a' given twice"):
        adjoint.jacrev(twice)(X)


# ---------------------------------------------------------------- functions known when the code runs

def apply_twice(f, x):
    return f(f(x))


def passes_functions(x):
    return apply_twice(np.sin, x) + apply_twice(lambda v: v * v, x)


def activations_in_a_list(x):
    acts = [np.tanh, lambda z: z ** 2, np.sin]
    h = x
    for a in acts:
        h = a(h)
    return h


class Affine:
    def __init__(self, w):
        self.w = w

    def __call__(self, x):
        return self.w * np.sin(x)


MODEL = Affine(np.array([1.5, -0.5, 2.0]))


def calls_a_callable_object(x):
    return MODEL(x) + x


def calls_given_object(x, model):
    return model(x) * 2.0


@pytest.mark.parametrize("program", [passes_functions, activations_in_a_list, calls_a_callable_object])
def test_functions_known_when_the_code_runs(program):
    check(program, X)


def test_forward_mode_of_an_object_passed_in():
    got = adjoint.jacfwd(calls_given_object)(X, MODEL)
    np.testing.assert_allclose(got, np.diag(2.0 * MODEL.w * np.cos(X)))
    got = adjoint.jacrev(calls_given_object)(X, MODEL)
    np.testing.assert_allclose(got, np.diag(2.0 * MODEL.w * np.cos(X)))


# ---------------------------------------------------------------- map and filter

def scale_by_three(v):
    return 3.0 * np.sin(v)


def map_of_a_lambda(x):
    return sum(map(lambda v: v * v, [x, 2.0 * x, np.cos(x)]))


def map_of_a_module_function(x):
    return np.stack(list(map(scale_by_three, [x, x ** 2])))


def map_over_two_sequences(x):
    weights = [1.0, 2.0, 3.0]
    return sum(map(lambda w, v: w * v, weights, [x, np.sin(x), x * x]))


def map_of_a_closure_over_differentiated_values(x):
    shift = np.tanh(x)
    return np.stack(tuple(map(lambda v: v + shift * v, [x, 2.0 * x])))


def map_of_a_numpy_function_in_a_loop(x):
    total = 0.0
    for y in map(np.exp, [x, -x]):
        total = total + y
    return total


def filter_of_items(x):
    kept = list(filter(lambda v: v is not None, [x, None, 2.0 * x]))
    return kept[0] * kept[1]


def filter_by_value(x):
    # which items pass depends on the values: the path taken is followed
    kept = list(filter(lambda v: np.sum(v) > 0.0, [x, -x, x * x]))
    return sum(kept)


@pytest.mark.parametrize("program", [map_of_a_lambda, map_of_a_module_function, map_over_two_sequences,
                                     map_of_a_closure_over_differentiated_values,
                                     map_of_a_numpy_function_in_a_loop, filter_of_items, filter_by_value])
def test_map_and_filter(program):
    check(program, X)


# ---------------------------------------------------------------- try / except / finally

def fallback(x):
    return 2.0 * x + np.sin(x)


def matrix_of(x, shift):
    return np.outer(x, x) + shift * np.eye(x.shape[0])


def cholesky_or_fallback(x, shift):
    try:
        y = np.linalg.cholesky(matrix_of(x, shift))[:, 0]
    except np.linalg.LinAlgError:
        y = fallback(x)
    return y * x


def several_statements_and_clauses(x, shift):
    scale = 1.5
    try:
        L = np.linalg.cholesky(matrix_of(x, shift))
        scale = np.sum(np.diag(L))  # not reached when cholesky raises
        y = L @ x
    except (ValueError, np.linalg.LinAlgError) as error:
        message = str(error)
        y = fallback(x) * len(message) / len(message)
    else:
        y = y * 2.0
    finally:
        y = y + scale * x
    return y


def which_handler(x, shift):
    try:
        y = np.linalg.cholesky(matrix_of(x, shift))[:, 1]
    except KeyError:
        y = x * 100.0
    except np.linalg.LinAlgError:
        y = np.cos(x)
    except Exception:
        y = x * 1000.0
    return y * np.tanh(x)


def returns_inside_try(x, shift):
    try:
        return np.linalg.cholesky(matrix_of(x, shift))[:, 0] * x
    except np.linalg.LinAlgError:
        pass
    return fallback(x)


def try_in_a_loop(x, shift):
    total = np.zeros_like(x)
    for k in range(3):
        try:
            total = total + np.linalg.cholesky(matrix_of(x * (k + 1), shift + k))[:, 0]
        except np.linalg.LinAlgError:
            total = total + np.sin(x) * k
    return total


def inverse_or_pinv(x, shift):
    A = np.diag(x) * shift
    try:
        B = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        B = np.eye(3) * np.sum(x)
    return B @ x


TRY_PROGRAMS = [cholesky_or_fallback, several_statements_and_clauses, which_handler, returns_inside_try,
                try_in_a_loop]


@pytest.mark.parametrize("program", TRY_PROGRAMS)
@pytest.mark.parametrize("shift", [10.0, -10.0], ids=["no_exception", "caught"])
def test_try_follows_the_path_taken(program, shift):
    check(lambda x: program(x, shift), X)


def test_exception_raised_in_the_forward_pass_picks_the_handler():
    # A(x) is not positive definite: the derivative is the fallback's
    expected = np.diag(2.0 + np.cos(X)) * X[:, None] + np.diag(fallback(X))
    np.testing.assert_allclose(adjoint.jacrev(cholesky_or_fallback)(X, -10.0), expected)
    np.testing.assert_allclose(adjoint.jacfwd(cholesky_or_fallback)(X, -10.0), expected)
    # at a singular point (finite differences would step off it): B = sum(x) I, y = sum(x) x
    singular = np.array([0.3, 0.0, 0.5])
    expected = np.sum(singular) * np.eye(3) + np.outer(singular, np.ones(3))
    np.testing.assert_allclose(adjoint.jacrev(inverse_or_pinv)(singular, 1.0), expected)
    np.testing.assert_allclose(adjoint.jacfwd(inverse_or_pinv)(singular, 1.0), expected)
    check(lambda x: inverse_or_pinv(x, 1.0), X)


def test_second_derivatives_through_try():
    def scalar(x):
        return np.sum(cholesky_or_fallback(x, -10.0) ** 2)

    def reference(x):
        return np.sum((fallback(x) * x) ** 2)

    np.testing.assert_allclose(adjoint.hessian(scalar)(X), adjoint.hessian(reference)(X))
    expected = numerical_jacobian(adjoint.grad(reference), (X,))
    np.testing.assert_allclose(adjoint.hessian(scalar)(X), expected, rtol=1e-5)


def test_uncaught_exception_propagates():
    def raises(x):
        try:
            y = np.linalg.cholesky(-np.eye(3) * np.sum(x))
        except KeyError:
            y = x
        return y

    with pytest.raises(np.linalg.LinAlgError):
        adjoint.jacrev(raises)(X)
    with pytest.raises(np.linalg.LinAlgError):
        adjoint.jacfwd(raises)(X)


def test_exception_caught_inside_a_block_of_the_try_is_an_error_at_its_line():
    def loop_in_try(x):
        y = x
        try:
            for k in range(3):
                y = y * 2.0
                if k == 1:
                    y = np.linalg.cholesky(-np.eye(3))[:, 0] * y
        except np.linalg.LinAlgError:
            y = y + 1.0
        return y

    line = inspect.getsourcelines(loop_in_try)[1] + 3
    with pytest.raises(RuntimeError, match=rf"test_python_calls.py:{line}: the exception LinAlgError"):
        adjoint.jacrev(loop_in_try)(X)
    with pytest.raises(RuntimeError, match="cannot tell which of that block's assignments ran"):
        adjoint.jacfwd(loop_in_try)(X)


# ---------------------------------------------------------------- with blocks

def log_with_errstate(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(x * x) + np.sqrt(np.abs(x))
    return y * np.cos(x)


def with_several_context_managers(x):
    with warnings.catch_warnings(), np.errstate(all="ignore") as state:
        warnings.simplefilter("ignore")
        y = np.sin(x) / x
        settings = state
    return y * 2.0


def with_in_a_loop_and_branch(x):
    h = x
    for _ in range(2):
        with np.errstate(over="ignore"):
            if np.sum(h) > 0:
                h = np.exp(h) * 0.5
            else:
                h = h * h
    return h


@pytest.mark.parametrize("program", [log_with_errstate, with_several_context_managers, with_in_a_loop_and_branch])
def test_with_blocks(program):
    check(program, X)


def test_errstate_holds_in_the_forward_pass():
    def divides(x):
        with np.errstate(divide="raise"):
            return np.sum(1.0 / x)

    with pytest.raises(FloatingPointError):
        adjoint.grad(divides)(np.array([1.0, 0.0]))
    np.testing.assert_allclose(adjoint.grad(divides)(X), -1.0 / X ** 2)


# ---------------------------------------------------------------- closures made by factories

def make(scale):
    return lambda x: scale * x


def make_layer(weight, bias):
    shifted = bias + 1.0

    def layer(h):
        return np.tanh(weight * h + shifted)

    return layer


def make_late(scale):
    f = lambda x: scale * x  # noqa: E731
    scale = scale * 2.0  # a closure reads its cell when called: the doubled value
    return f


def closure_of_a_differentiated_value(s, x):
    g = make(s)
    return g(x)


def closure_called_in_place(s, x):
    return make(np.sin(s))(x) + make_layer(s, x)(x)


def closures_in_a_loop(s, x):
    h = x
    for k in range(3):
        layer = make_layer(s * (k + 1.0), s)
        h = layer(h)
    return h


def late_binding(s, x):
    return make_late(s)(x)


@pytest.mark.parametrize("program", [closure_of_a_differentiated_value, closure_called_in_place,
                                     closures_in_a_loop, late_binding])
def test_closures_made_by_factories(program):
    check(program, X, Y, argnums=(0, 1))


def test_closure_value_is_what_python_computes():
    np.testing.assert_allclose(adjoint.jacrev(late_binding)(X, Y), np.diag(2.0 * Y))


# ---------------------------------------------------------------- objects

import dataclasses  # noqa: E402


@dataclasses.dataclass
class Dense:
    weight: np.ndarray
    bias: np.ndarray
    calls: int = 0

    def __call__(self, h):
        self.calls += 1  # an attribute set to a value without derivative
        return np.tanh(self.weight @ h + self.bias)

    def twice(self, h):
        return self(self(h))


LAYER = Dense(np.array([[0.5, -0.2, 0.1], [0.3, 0.8, -0.5], [0.0, 0.4, 0.9]]), np.array([0.1, -0.1, 0.2]))


def uses_a_dataclass_model(x):
    return LAYER.twice(x) + LAYER(x)


def model_given_as_argument(x, model):
    return model(x) * 2.0


def test_objects_with_call_and_attributes():
    check(uses_a_dataclass_model, X)
    layer = Dense(LAYER.weight * 2.0, LAYER.bias)
    expected = numerical_jacobian(model_given_as_argument, (X, layer), 0)
    np.testing.assert_allclose(adjoint.jacrev(model_given_as_argument)(X, layer), expected, rtol=1e-6)
    np.testing.assert_allclose(adjoint.jacfwd(model_given_as_argument)(X, layer), expected, rtol=1e-6)
    assert layer.calls > 0  # the forward pass did what the plain call does


class Stateful:
    def __init__(self, w):
        self.w = w

    def apply(self, x):
        self.h = np.sin(self.w * x)  # MARK: set
        return self.h


def object_made_from_differentiated_values(x):
    model = Stateful(x)  # MARK: made
    return model.apply(x)


def method_stores_a_differentiated_value(x):
    return Stateful(2.0).apply(x)


def dataclass_made_from_differentiated_values(x):
    layer = Dense(np.outer(x, x), x)  # MARK: dataclass
    return layer(x)


def line_of(func, marker):
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, text in enumerate(lines) if marker in text)


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_objects_holding_differentiated_values_are_differentiated(transform):
    # Refused at their line before objects were followed (tests/test_objects.py has the rest).
    for func in (object_made_from_differentiated_values, dataclass_made_from_differentiated_values,
                 method_stores_a_differentiated_value):
        np.testing.assert_allclose(transform(func)(X), numerical_jacobian(func, (X,)), rtol=1e-6, atol=1e-8)


def test_vmap_of_objects_made_per_example_runs_once_per_example():
    with pytest.warns(RuntimeWarning, match="an object of class Dense made from batched values"):
        got = adjoint.vmap(dataclass_made_from_differentiated_values)(np.stack([X, Y]))
    np.testing.assert_allclose(got, np.stack([dataclass_made_from_differentiated_values(v) for v in (X, Y)]))
