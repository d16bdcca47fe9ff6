"""Python's own constructs over differentiated values: list, dict and
generator comprehensions (nested, filtered, consumed by sum/max/min/tuple/
dict/np.stack), iteration over dicts (keys, items, values), zip, enumerate,
reversed and sorted, and/or/not and conditional expressions.

Each program of the catalogue is differentiated by jacrev and checked
against central finite differences and against autograd running the very
same code with ``autograd.numpy`` in place of NumPy (autograd follows Python
natively), for chunk sizes, forward mode (jacfwd) and vmap (against a loop
over the examples). The forward pass must compute what Python computes:
each program's value is compared with the plain call too.
"""
import types
import warnings

import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from conftest import (
    Program,
    assert_trees_close,
    check_against_autograd,
    check_against_finite_differences,
    check_chunk_sizes_agree,
    check_forward_mode,
    check_second_derivative,
    numerical_jacobian,
)


def _twin(func):
    """``func`` running on autograd.numpy: the same code, an independent derivative."""
    return types.FunctionType(func.__code__, {**func.__globals__, "np": anp}, func.__name__,
                              func.__defaults__, func.__closure__)


def _rng(seed):
    return np.random.default_rng(seed)


X43 = _rng(1).normal(size=(4, 3))
X33 = _rng(2).normal(size=(3, 3))
H = _rng(3).normal(size=3)
WS = [_rng(4).normal(size=(3, 3)) / 2, _rng(5).normal(size=(3, 3)) / 2, _rng(6).normal(size=(3, 3)) / 2]
VEC = np.array([0.7, -0.4, 1.3, -1.1, 0.2])


# ----------------------------------------------------------------- comprehensions

def generator_sum_over_zip(ws, xs):
    return sum(w * x for w, x in zip(ws, xs))


def list_comprehension_of_layers(h, Ws):
    return np.stack([np.tanh(h @ W) for W in Ws])


def generator_of_layer_sums(h, Ws):
    return sum(np.sum(np.tanh(h @ W) ** 2) for W in Ws)


def stack_rows(X):
    return np.stack([np.sin(r) * r for r in X])


def array_of_indexed_items(x):
    n = x.shape[0]
    return np.array([x[i] * i for i in range(n)])


def nested_with_condition(X):
    n = X.shape[0]
    return np.array([[X[i, j] * X[j, i] for j in range(n) if j != i] for i in range(n)])


def two_generators(X):
    return sum(X[i, j] * np.sin(X[j, i]) for i in range(3) for j in range(i, 3) if i + j != 2)


def filter_on_differentiated_values(x):
    return sum(v ** 2 for v in x if v > 0.0) + np.sum(np.array([v * 3.0 for v in x if v < 0.0]))


def dict_comprehension(x):
    d = {"a": x, "b": x * 2.0}
    e = {k: v * np.sin(v) for k, v in d.items()}
    return e["a"] * e["b"]


def dict_comprehension_over_range(x):
    powers = {i: x ** i for i in range(1, 4)}
    return powers[1] + powers[2] * powers[3]


def tuple_of_generator(x):
    parts = tuple(np.sin(v) * x for v in x[:2])
    return parts[0] + parts[1]


def dict_of_generator_and_zip(x):
    names = ("a", "b", "c")
    first = dict((name, x[i] * x) for i, name in enumerate(names))
    second = dict(zip(names, [np.cos(x), x ** 2, x]))
    return first["a"] * second["a"] + first["c"] * second["b"] + second["c"]


def max_and_min_of_generators(X):
    return max(np.sum(r ** 2) for r in X) - min(np.sum(r) * 2.0 for r in X)


def enumerate_in_comprehension(X):
    return sum(i * r + r ** 2 for i, r in enumerate(X, start=1))


def comprehension_variable_does_not_leak(X):
    r = X[0] * 3.0
    rows = [r * 2.0 for r in X]
    return r + rows[1] + sum(np.cos(r) for r in rows)


def comprehension_reads_and_rebinds_its_own_name(X):
    rows = list(X)
    rows = [np.exp(r) for r in rows]
    rows.append(X[0] ** 2)
    return np.stack(rows)


def comprehension_in_loop_and_branch(X):
    total = np.zeros(3)
    for step in range(2):
        if np.sum(X) > 0.0:
            parts = [np.tanh(r + total) for r in X]
        else:
            parts = [r * step for r in X]
        total = total + sum(parts)
    return total


def loop_over_comprehension(X):
    total = 0.0
    for y in [np.sin(r) for r in X if np.sum(r) > -5.0]:
        total = total + y * y[0]
    return total


# ----------------------------------------------------------------- iteration

def for_key_in_dict(params):
    total = 0.0
    for key in params:
        total = total + np.sum(params[key] ** 2) * len(key)
    return total


def for_items_of_dict(params):
    total = 0.0
    for name, value in params.items():
        total = total + np.sum(np.sin(value)) * len(name)
    return total


def for_values_of_dict(params):
    total = 1.0
    for value in params.values():
        total = total * np.sum(value)
    return total


def items_of_a_dict_made_here(x):
    d = {"a": x[0] * x, "b": np.exp(x)}
    total = 0.0
    for key in d:
        d[key] = d[key] * 2.0
        total = total + d[key]
    return total + sum(v[1] for v in d.values())


def reversed_list(x):
    xs = [x, x ** 2, np.sin(x)]
    total = 0.0
    for i, y in enumerate(reversed(xs)):
        total = total * y + i
    return total + np.stack(list(reversed(xs)))[0]


def reversed_rows(X):
    out = X[0]
    for r in reversed(X):
        out = np.tanh(out * r)
    return out


def sorted_by_a_differentiated_key(X):
    rows = sorted(X, key=lambda r: r[0])
    return np.stack(rows) * np.arange(1.0, 1.0 + X.shape[0])[:, None]


def sorted_values_and_reverse(x):
    values = sorted(list(x), reverse=True)
    return np.array(values) * np.arange(1.0, 1.0 + x.shape[0])


def sorted_by_a_constant_key(x):
    weights = {"c": 3.0, "a": 1.0, "b": 2.0}
    parts = {"a": x[0], "b": x[1] * x[2], "c": np.sin(x[3])}
    total = 0.0
    for position, name in enumerate(sorted(parts, key=weights.get)):
        total = total + parts[name] * (position + 1.0)
    return total


def sorted_pairs(x):
    pairs = sorted(zip([2, 0, 1], [x[0], x[1] ** 2, np.exp(x[2])]))
    return np.array([value * (key + 1.0) for key, value in pairs])


def max_and_min_by_key(X):
    biggest = max(X, key=lambda r: np.sum(r))
    smallest = min(X[0], X[1], X[2], key=np.linalg.norm)
    return biggest * 2.0 + smallest


def tuple_keys_and_reversed_dict(x):
    d = {(0, 1): x[0], (1, 2): x[1] * x[2]}
    total = sum(d[i, j] * x[j] for (i, j) in d)
    for position, key in enumerate(reversed(d)):
        d[key] = d[key] * (position + 2.0)
    return total + d[0, 1] * d[1, 2]


def max_with_default(x):
    empty = max((v for v in x if v > 100.0), default=x[0] * 2.0)
    full = min((v for v in x), key=lambda v: -v, default=0.0)
    return empty * full * x


def comprehension_as_a_statement(x):
    out = []
    [out.append(v * 2.0) for v in x if v > 0.0]
    return np.array(out) * x[0]


def zip_and_enumerate(ws, xs):
    total = 0.0
    for i, (w, x) in enumerate(zip(ws, xs)):
        total = total + (i + 1.0) * w * x
    return total


def iterate_a_numpy_call(x):
    total = 0.0
    for part in np.split(x, 2):
        total = total + np.prod(part)
    for row in x.reshape(2, 3):
        total = total + row[0] * row[2]
    return total


# ----------------------------------------------------------------- and, or, not

def and_or_values(x):
    a = x[0] * x[1]
    b = a > 0.0 and np.sin(a) or np.cos(a)
    c = (a < 0.0 or x[2]) * x[1]
    return b * x + c


def and_returns_the_falsy_operand(x):
    flags = np.sum(x) > 100.0
    return (flags and x[0]) + x[1] * (0.0 or x[2]) + (x[0] and x[1])


def or_picks_a_default(x, scale=None):
    s = scale or x[0] * 2.0
    return x * s


def not_and_conditional_expression(x):
    y = x ** 2 if not x[0] < 0.0 else -x
    z = np.sin(x) if not (x[1] > 0.0 and x[2] > 0.0) else np.cos(x)
    return y * z + (x[0] if x[0] > x[1] else x[1])


def short_circuit_skips_the_second_operand(x, items):
    # items[5] would raise: Python never evaluates it
    return (len(items) > 5 and items[5]) or x[0] * items[0]


PROGRAMS = [
    Program("generator_sum_over_zip_ws", generator_sum_over_zip, _twin(generator_sum_over_zip),
            lambda: ([H, H * 2.0, H ** 2], [np.cos(H), H, H + 1.0]), 0),
    Program("generator_sum_over_zip_xs", generator_sum_over_zip, _twin(generator_sum_over_zip),
            lambda: ([H, H * 2.0, H ** 2], [np.cos(H), H, H + 1.0]), 1),
    Program("list_comprehension_of_layers_h", list_comprehension_of_layers, _twin(list_comprehension_of_layers),
            lambda: (H, WS), 0),
    Program("list_comprehension_of_layers_Ws", list_comprehension_of_layers,
            _twin(list_comprehension_of_layers), lambda: (H, WS), 1),
    Program("generator_of_layer_sums", generator_of_layer_sums, _twin(generator_of_layer_sums),
            lambda: (H, WS), 0),
    Program("stack_rows", stack_rows, _twin(stack_rows), lambda: (X43,), 0),
    Program("array_of_indexed_items", array_of_indexed_items, _twin(array_of_indexed_items),
            lambda: (VEC,), 0),
    Program("nested_with_condition", nested_with_condition, _twin(nested_with_condition), lambda: (X33,), 0),
    Program("two_generators", two_generators, _twin(two_generators), lambda: (X33,), 0),
    Program("filter_on_differentiated_values", filter_on_differentiated_values,
            _twin(filter_on_differentiated_values), lambda: (VEC,), 0),
    Program("dict_comprehension", dict_comprehension, _twin(dict_comprehension), lambda: (H,), 0),
    Program("dict_comprehension_over_range", dict_comprehension_over_range,
            _twin(dict_comprehension_over_range), lambda: (H,), 0),
    Program("tuple_of_generator", tuple_of_generator, _twin(tuple_of_generator), lambda: (H,), 0),
    Program("dict_of_generator_and_zip", dict_of_generator_and_zip, _twin(dict_of_generator_and_zip),
            lambda: (H,), 0),
    Program("max_and_min_of_generators", max_and_min_of_generators, _twin(max_and_min_of_generators),
            lambda: (X43,), 0),
    Program("enumerate_in_comprehension", enumerate_in_comprehension, _twin(enumerate_in_comprehension),
            lambda: (X43,), 0),
    Program("comprehension_variable_does_not_leak", comprehension_variable_does_not_leak,
            _twin(comprehension_variable_does_not_leak), lambda: (X43,), 0),
    Program("comprehension_reads_and_rebinds_its_own_name", comprehension_reads_and_rebinds_its_own_name,
            _twin(comprehension_reads_and_rebinds_its_own_name), lambda: (X43,), 0),
    Program("comprehension_in_loop_and_branch_positive", comprehension_in_loop_and_branch,
            _twin(comprehension_in_loop_and_branch), lambda: (np.abs(X43),), 0),
    Program("comprehension_in_loop_and_branch_negative", comprehension_in_loop_and_branch,
            _twin(comprehension_in_loop_and_branch), lambda: (-np.abs(X43),), 0),
    Program("loop_over_comprehension", loop_over_comprehension, _twin(loop_over_comprehension),
            lambda: (X43,), 0),
    Program("for_key_in_dict", for_key_in_dict, _twin(for_key_in_dict),
            lambda: ({"bb": H, "a": np.array(0.7), "ccc": X33}, ), 0),
    Program("for_items_of_dict", for_items_of_dict, _twin(for_items_of_dict),
            lambda: ({"bb": H, "a": np.array(0.7), "ccc": X33}, ), 0),
    Program("for_values_of_dict", for_values_of_dict, _twin(for_values_of_dict),
            lambda: ({"bb": H, "a": np.array(0.7), "ccc": X33}, ), 0),
    Program("items_of_a_dict_made_here", items_of_a_dict_made_here, _twin(items_of_a_dict_made_here),
            lambda: (H,), 0),
    Program("reversed_list", reversed_list, _twin(reversed_list), lambda: (H,), 0),
    Program("reversed_rows", reversed_rows, _twin(reversed_rows), lambda: (X43,), 0),
    Program("sorted_by_a_differentiated_key", sorted_by_a_differentiated_key,
            _twin(sorted_by_a_differentiated_key), lambda: (X43,), 0),
    Program("sorted_values_and_reverse", sorted_values_and_reverse, _twin(sorted_values_and_reverse),
            lambda: (VEC,), 0),
    Program("sorted_by_a_constant_key", sorted_by_a_constant_key, _twin(sorted_by_a_constant_key),
            lambda: (VEC,), 0),
    Program("sorted_pairs", sorted_pairs, _twin(sorted_pairs), lambda: (H,), 0),
    Program("max_and_min_by_key", max_and_min_by_key, _twin(max_and_min_by_key), lambda: (X43,), 0),
    Program("tuple_keys_and_reversed_dict", tuple_keys_and_reversed_dict, _twin(tuple_keys_and_reversed_dict),
            lambda: (VEC,), 0),
    Program("max_with_default", max_with_default, _twin(max_with_default), lambda: (VEC,), 0),
    Program("comprehension_as_a_statement", comprehension_as_a_statement, _twin(comprehension_as_a_statement),
            lambda: (VEC,), 0),
    Program("zip_and_enumerate", zip_and_enumerate, _twin(zip_and_enumerate),
            lambda: ([H, H * 2.0, np.sin(H)], (H ** 2, np.cos(H))), 1),
    Program("iterate_a_numpy_call", iterate_a_numpy_call, _twin(iterate_a_numpy_call),
            lambda: (np.array([0.5, -1.2, 0.8, 1.5, -0.3, 0.9]),), 0),
    Program("and_or_values_positive", and_or_values, _twin(and_or_values), lambda: (np.array([0.8, 0.6, 1.3]),), 0),
    Program("and_or_values_negative", and_or_values, _twin(and_or_values),
            lambda: (np.array([0.8, -0.6, 1.3]),), 0),
    Program("and_returns_the_falsy_operand", and_returns_the_falsy_operand, _twin(and_returns_the_falsy_operand),
            lambda: (np.array([0.8, -0.6, 1.3]),), 0),
    Program("or_picks_a_default", or_picks_a_default, _twin(or_picks_a_default), lambda: (H,), 0),
    Program("or_keeps_a_given_scale", or_picks_a_default, _twin(or_picks_a_default), lambda: (H, 1.5), 0),
    Program("not_and_conditional_expression_first", not_and_conditional_expression,
            _twin(not_and_conditional_expression), lambda: (np.array([0.8, 0.6, 1.3]),), 0),
    Program("not_and_conditional_expression_second", not_and_conditional_expression,
            _twin(not_and_conditional_expression), lambda: (np.array([-0.8, 0.6, -1.3]),), 0),
    Program("short_circuit_skips_the_second_operand", short_circuit_skips_the_second_operand,
            _twin(short_circuit_skips_the_second_operand), lambda: (H, [0.5, 1.5]), 0),
]


@pytest.fixture(params=PROGRAMS, ids=[p.name for p in PROGRAMS])
def program(request):
    return request.param


def test_forward_pass_computes_what_python_computes(program):
    args = program.make_args()
    expected = program.func(*args)
    value, _ = adjoint.vjp(program.func, *args)
    assert_trees_close(value, expected, rtol=0, atol=0)


def test_matches_finite_differences(program):
    check_against_finite_differences(program)


def test_matches_autograd(program):
    check_against_autograd(program)


def test_chunk_sizes_agree(program):
    check_chunk_sizes_agree(program, (1, 3))


def test_forward_mode_equals_reverse_mode(program):
    check_forward_mode(program)


def test_catalogue_names_are_unique():
    names = [p.name for p in PROGRAMS]
    assert len(names) == len(set(names))


ARRAY_PROGRAMS = [p for p in PROGRAMS if all(isinstance(a, np.ndarray) for a in p.make_args())]


def _leaves(tree):
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [np.asarray(tree)]


@pytest.mark.parametrize("program", ARRAY_PROGRAMS, ids=[p.name for p in ARRAY_PROGRAMS])
def test_vmap_equals_a_loop_over_examples(program):
    """vmap(f) and vmap(jacrev(f)) against f and jacrev(f) called on each
    example (the per-example fallback is allowed)."""
    args = program.make_args()
    batched_args = [np.stack([a, a * 0.9 + 0.05, a * 1.1]) for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = adjoint.vmap(program.func)(*batched_args)
        got_jacobians = adjoint.vmap(adjoint.jacrev(program.func, argnums=program.argnum))(*batched_args)
    for i in range(3):
        example = [b[i] for b in batched_args]
        for got_leaf, expected in zip(_leaves(got), _leaves(program.func(*example)), strict=True):
            np.testing.assert_allclose(got_leaf[i], expected, rtol=1e-12, atol=1e-14)
        expected = numerical_jacobian(program.func, example, program.argnum)
        for got_leaf, expected_leaf in zip(_leaves(got_jacobians), _leaves(expected), strict=True):
            np.testing.assert_allclose(got_leaf[i], expected_leaf, rtol=1e-5, atol=1e-6)


def test_second_derivative(program):
    check_second_derivative(program)


# ----------------------------------------------------------------- what Python does, and clear refusals

def adds_keys_while_iterating(x):
    d = {"a": x}
    for key in d:
        d[key + "b"] = d[key] * 2.0
    return d["a"]


def changes_values_while_iterating(x):
    d = {"a": x, "b": x * 2.0}
    for key, value in d.items():
        d["b"] = d["b"] * value  # a later item, changed: Python's view sees the new value
    return d["a"] + d["b"]


def test_a_dict_that_gains_keys_while_iterated_stops_the_loop_as_in_python():
    x = np.array([0.3, 0.5])
    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        adds_keys_while_iterating(x)
    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        adjoint.jacrev(adds_keys_while_iterating)(x)


def test_items_read_the_values_the_body_wrote():
    x = np.array([0.3, 0.5])
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(transform(changes_values_while_iterating)(x),
                                   numerical_jacobian(changes_values_while_iterating, (x,), 0), rtol=1e-6, atol=1e-8)


def test_comprehension_variables_do_not_leak_or_clash():
    def uses_its_own_names(x):
        row = x * 10.0
        rows = [row * 2.0 for row in [x, x ** 2]]
        return row + rows[1]

    x = np.array([0.3, 0.5])
    np.testing.assert_allclose(adjoint.jacrev(uses_its_own_names)(x), np.diag(10.0 + 4.0 * x))
    np.testing.assert_allclose(adjoint.jacfwd(uses_its_own_names)(x), np.diag(10.0 + 4.0 * x))


def sorted_by_a_nested_function(X):
    def first(row):
        return row[0]
    return np.stack(sorted(X, key=first))  # MARK nested key


def generator_handed_to_np_stack(X):
    return np.stack(r * 2.0 for r in X)  # MARK generator


def set_comprehension(x):
    return sum({v * 2.0 for v in x})  # MARK set


def loops_over_a_dict_without_indexing_it(params):
    total = 0.0
    for name in params:
        total = total + len(name)
    return total * params["a"]


def indexes_a_list_by_its_floats(x, weights):
    total = 0.0
    for w in weights:
        total = total + weights[w] * x
    return total


def _line(func, mark):
    import inspect

    lines, start = inspect.getsourcelines(func)
    return start + next(i for i, line in enumerate(lines) if mark in line)


@pytest.mark.parametrize("func, mark, phrase", [
    (sorted_by_a_nested_function, "# MARK nested key", "no function object"),
    (generator_handed_to_np_stack, "# MARK generator", "list comprehension"),
    (set_comprehension, "# MARK set", "a set has no order"),
])
def test_unsupported_constructs_are_refused_at_the_users_line(func, mark, phrase):
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match=phrase) as error:
            transform(func)(X43)
        assert f"test_python_constructs.py:{_line(func, mark)}" in str(error.value)


def test_loops_that_cannot_be_read_as_over_keys_fail_clearly():
    with pytest.raises(TypeError, match="For a dict, loop over d.keys"):
        adjoint.grad(loops_over_a_dict_without_indexing_it)({"a": np.array(2.0)})
    # read as a loop over indices, but the items are floats (Python raises a TypeError too)
    with pytest.raises(TypeError, match="floating-point values"):
        adjoint.jacrev(indexes_a_list_by_its_floats)(np.array([0.3, 0.5]), [0.0, 1.0])


def sorts_with_a_lambda_whose_parameter_shadows(x):
    x = x * 2.0
    order = sorted([3, 1, 2], key=lambda x: -x)
    return x * order[0]


def test_a_lambda_parameter_is_not_read_as_the_enclosing_name():
    """key=lambda x: -x in a function that re-binds x: the lambda's x is its
    own (it was refused as capturing the differentiated x)."""
    x = np.array([0.3, 0.5])
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(transform(sorts_with_a_lambda_whose_parameter_shadows)(x), 6.0 * np.eye(2))
