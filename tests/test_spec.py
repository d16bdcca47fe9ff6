"""SPEC.md sections 1, 2, 3 (vjp, grad, stop_gradient, no_grad), 5 and 6,
pinned: every argument check with its exact phrase and exception type, the
result structure of jacrev, the value errors, and user rules (defvjp)."""
import ast
import collections
import functools
import inspect
import os

import numpy as np
import pytest

import adjoint
from adjoint import rules
from conftest import assert_trees_close, numerical_jacobian

THIS_FILE = os.path.basename(__file__)

Point = collections.namedtuple("Point", "x y")


# ----------------------------------------------------------------- functions under test

def sin_of(x):
    return np.sin(x)


def product(x, y):
    return x * y


def three_args(x, y, z):
    return x * y + z


def multi_output(x, weights):
    """Outputs of several shapes; 3*4 + 3 + 1 + 2 = 18 elements, so chunk
    sizes 2, 3 and 7 all leave a remainder or split leaves."""
    hidden = np.sin(x) @ weights
    return {'hidden': hidden, 'norms': (np.sum(x ** 2, axis=1), np.sum(hidden)), 'head': [x[0, :2] * 3.0]}


def separate_outputs(x, y):
    return np.sin(x), np.cos(y) * 2.0


def depends_on_y_only(x, y):
    return y * 2.0


# ----------------------------------------------------------------- argnums

@pytest.mark.parametrize("argnums", [[0], 0.0, None, [0, 1]], ids=["list", "float", "None", "list2"])
def test_argnums_bad_type(argnums):
    jacobian_fn = adjoint.jacrev(product, argnums=argnums)  # checked only when called
    with pytest.raises(TypeError, match=r"argnums must be int or Tuple\[int, \.\.\.\]"):
        jacobian_fn(np.ones(2), np.ones(2))


@pytest.mark.parametrize("argnums", [(0, 1.0), (None,), (0, "1")], ids=["float", "None", "str"])
def test_argnums_element_not_int(argnums):
    with pytest.raises(TypeError, match="argnum must be int"):
        adjoint.jacrev(product, argnums=argnums)(np.ones(2), np.ones(2))


def test_argnum_out_of_range():
    with pytest.raises(ValueError, match="Got argnum=2, but only 1 positional inputs"):
        adjoint.jacrev(sin_of, argnums=2)(np.ones(2))


def test_argnum_out_of_range_in_tuple():
    with pytest.raises(ValueError, match="Got argnum=2, but only 2 positional inputs"):
        adjoint.jacrev(product, argnums=(0, 2))(np.ones(2), np.ones(2))


def test_negative_argnum_out_of_range():
    with pytest.raises(ValueError, match="Got argnum=-2, but only 1 positional inputs"):
        adjoint.jacrev(sin_of, argnums=-2)(np.ones(2))


def test_argnums_empty():
    with pytest.raises(ValueError, match="argnums must be non-empty"):
        adjoint.jacrev(product, argnums=())(np.ones(2), np.ones(2))


@pytest.mark.parametrize("argnums", [(0, 0), (0, -2), (1, -1), (-1, 1, 0)])
def test_argnums_unique_after_wrapping(argnums):
    with pytest.raises(ValueError, match="argnums elements must be unique"):
        adjoint.jacrev(product, argnums=argnums)(np.ones(2), np.ones(2))


def test_negative_argnums_wrap():
    x, y, z = np.arange(1.0, 3.0), np.arange(3.0, 5.0), np.arange(5.0, 7.0)
    np.testing.assert_array_equal(adjoint.jacrev(three_args, argnums=-2)(x, y, z),
                                  adjoint.jacrev(three_args, argnums=1)(x, y, z))
    np.testing.assert_array_equal(adjoint.jacrev(three_args, argnums=-2)(x, y, z), np.diag(x))
    wrapped = adjoint.jacrev(three_args, argnums=(-1, -3))(x, y, z)
    assert isinstance(wrapped, tuple) and len(wrapped) == 2
    np.testing.assert_array_equal(wrapped[0], np.eye(2))
    np.testing.assert_array_equal(wrapped[1], np.diag(y))


# ----------------------------------------------------------------- chunk_size

@pytest.mark.parametrize("chunk_size", [0, -1, -10])
def test_chunk_size_not_positive(chunk_size):
    with pytest.raises(ValueError, match="chunk_size should be greater than 0"):
        adjoint.jacrev(sin_of, chunk_size=chunk_size)  # eager: no call needed


@pytest.mark.parametrize("chunk_size", [1.0, 2.5, True, False, "2"])
def test_chunk_size_not_int(chunk_size):
    with pytest.raises(TypeError):
        adjoint.jacrev(sin_of, chunk_size=chunk_size)


def test_chunk_size_does_not_change_result():
    rng = np.random.default_rng(0)
    x, weights = rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    reference = adjoint.jacrev(multi_output, argnums=(0, 1))(x, weights)
    expected = {
        'hidden': (numerical_jacobian(lambda a: np.sin(a) @ weights, (x,)),
                   numerical_jacobian(lambda w: np.sin(x) @ w, (weights,))),
    }
    assert_trees_close(reference['hidden'], expected['hidden'], rtol=1e-6, atol=1e-7)
    for chunk_size in [1, 2, 3, 7, 18, 1000]:
        chunked = adjoint.jacrev(multi_output, argnums=(0, 1), chunk_size=chunk_size)(x, weights)
        assert_trees_close(chunked, reference, rtol=1e-13, atol=1e-15)


# ----------------------------------------------------------------- has_aux

def with_aux(x, tag, payload):
    out = np.sin(x) * 2.0
    return out, {'tag': tag, 'payload': payload, 'count': 3, 'out': out, 'none': None}


def aux_not_tuple(x):
    return np.sin(x)


def aux_three_tuple(x):
    return np.sin(x), x, x


def aux_list(x):
    return [np.sin(x), x]


def test_has_aux_returns_jacobian_and_aux_untouched():
    x = np.array([0.1, 0.2, 0.3])
    payload = object()
    jacobian, aux = adjoint.jacrev(with_aux, has_aux=True)(x, "label", payload)
    np.testing.assert_allclose(jacobian, np.diag(2.0 * np.cos(x)), rtol=1e-14)
    assert aux['tag'] == "label" and aux['payload'] is payload
    assert aux['count'] == 3 and aux['none'] is None
    np.testing.assert_array_equal(aux['out'], np.sin(x) * 2.0)


@pytest.mark.parametrize("func", [aux_not_tuple, aux_three_tuple, aux_list])
def test_has_aux_requires_two_tuple(func):
    with pytest.raises(TypeError, match=r"should be a tuple: \(output, aux\) if has_aux is True"):
        adjoint.jacrev(func, has_aux=True)(np.ones(3))


# ----------------------------------------------------------------- result structure

def matrix_output(x):
    return np.outer(x, np.ones(4))[:, :, None] * x.sum()


def test_block_shape_is_output_shape_plus_input_shape():
    x = np.arange(1.0, 4.0)
    jacobian = adjoint.jacrev(matrix_output)(x)
    assert jacobian.shape == (3, 4, 1, 3)
    assert_trees_close(jacobian, numerical_jacobian(matrix_output, (x,)), rtol=1e-6)


def mixed_precision(x):
    return x * np.ones(3)  # float32 input, float64 output


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_dtype_is_input_dtype(dtype):
    x = np.arange(1.0, 4.0, dtype=dtype)
    jacobian = adjoint.jacrev(sin_of)(x)
    assert jacobian.dtype == dtype
    np.testing.assert_allclose(jacobian, np.diag(np.cos(x)), rtol=1e-6)


def test_block_dtype_is_input_dtype_when_output_is_wider():
    x = np.arange(1.0, 4.0, dtype=np.float32)
    assert mixed_precision(x).dtype == np.float64
    jacobian = adjoint.jacrev(mixed_precision)(x)
    assert jacobian.dtype == np.float32
    np.testing.assert_array_equal(jacobian, np.eye(3, dtype=np.float32))


def test_outputs_outer_inputs_inner():
    x, y = np.array([0.5, 1.0]), np.array([1.5, 2.0, 2.5])
    jacobian = adjoint.jacrev(separate_outputs, argnums=(0, 1))(x, y)
    assert isinstance(jacobian, tuple) and len(jacobian) == 2
    (sin_wrt_x, sin_wrt_y), (cos_wrt_x, cos_wrt_y) = jacobian
    assert sin_wrt_x.shape == (2, 2) and sin_wrt_y.shape == (2, 3)
    assert cos_wrt_x.shape == (3, 2) and cos_wrt_y.shape == (3, 3)
    np.testing.assert_allclose(sin_wrt_x, np.diag(np.cos(x)), rtol=1e-14)
    np.testing.assert_allclose(cos_wrt_y, np.diag(-2.0 * np.sin(y)), rtol=1e-14)


def test_blocks_of_independent_outputs_are_exact_zeros():
    x, y = np.array([0.5, 1.0]), np.array([1.5, 2.0, 2.5])
    (_, sin_wrt_y), (cos_wrt_x, _) = adjoint.jacrev(separate_outputs, argnums=(0, 1))(x, y)
    assert np.all(sin_wrt_y == 0.0) and np.all(cos_wrt_x == 0.0)
    independent = adjoint.jacrev(depends_on_y_only, argnums=0)(x, y)
    assert independent.shape == (3, 2) and np.all(independent == 0.0)


def dict_output(x):
    return {'sin': np.sin(x), 'sum': np.sum(x)}


def list_output(x):
    return [np.sin(x), np.sum(x)]


def tuple_output(x):
    return np.sin(x), np.sum(x)


def namedtuple_output(x):
    return Point(np.sin(x), np.sum(x))


def namedtuple_output_keywords(x):
    return Point(y=np.sum(x), x=np.sin(x))


@pytest.mark.parametrize("func,container", [
    (dict_output, dict), (list_output, list), (tuple_output, tuple), (namedtuple_output, Point),
    (namedtuple_output_keywords, Point),
])
def test_output_containers(func, container):
    x = np.array([0.1, 0.2, 0.3])
    jacobian = adjoint.jacrev(func)(x)
    assert type(jacobian) is container
    leaves = list(jacobian.values()) if container is dict else list(jacobian)
    np.testing.assert_allclose(leaves[0], np.diag(np.cos(x)), rtol=1e-14)
    np.testing.assert_array_equal(leaves[1], np.ones(3))
    assert leaves[1].shape == (3,)
    if container is dict:
        assert list(jacobian) == ['sin', 'sum']


def dict_input(params):
    return params['scale'] * np.sin(params['x'])


def list_input(params):
    return params[0] * np.sin(params[1])


def tuple_input(params):
    return params[0] * np.sin(params[1])


def namedtuple_input(params):
    return params.x * np.sin(params.y)


def namedtuple_input_indexed(params):
    return params[0] * np.sin(params[1])


@pytest.mark.parametrize("func,make", [
    (dict_input, lambda a, b: {'scale': a, 'x': b}),
    (list_input, lambda a, b: [a, b]),
    (tuple_input, lambda a, b: (a, b)),
    (namedtuple_input, lambda a, b: Point(a, b)),
    (namedtuple_input_indexed, lambda a, b: Point(a, b)),
])
def test_input_containers(func, make):
    scale, values = np.float64(1.5), np.array([0.1, 0.2, 0.3])
    params = make(scale, values)
    jacobian = adjoint.jacrev(func)(params)
    assert type(jacobian) is type(params)
    expected = numerical_jacobian(func, (params,))
    assert_trees_close(jacobian, expected, rtol=1e-6, atol=1e-8)
    leaves = list(jacobian.values()) if isinstance(jacobian, dict) else list(jacobian)
    assert leaves[0].shape == (3,) and leaves[1].shape == (3, 3)


def nested_params(params, x):
    layer = params['layers'][0]
    return np.tanh(x @ layer['W'] + layer['b']) * params['gain']


def test_nested_input_and_dict_insertion_order():
    rng = np.random.default_rng(3)
    params = {'layers': [{'W': rng.normal(size=(2, 3)), 'b': rng.normal(size=3)}], 'gain': np.float64(2.0)}
    x = rng.normal(size=(4, 2))
    jacobian = adjoint.jacrev(nested_params)(params, x)
    assert list(jacobian) == ['layers', 'gain'] and list(jacobian['layers'][0]) == ['W', 'b']
    assert jacobian['layers'][0]['W'].shape == (4, 3, 2, 3)
    assert_trees_close(jacobian, numerical_jacobian(nested_params, (params, x)), rtol=1e-6, atol=1e-8)


def test_tuple_argnums_give_tuples_even_of_one():
    x, y = np.array([0.5, 1.0]), np.array([1.5, 2.0])
    single = adjoint.jacrev(product, argnums=(0,))(x, y)
    assert isinstance(single, tuple) and len(single) == 1
    np.testing.assert_array_equal(single[0], np.diag(y))
    per_output = adjoint.jacrev(dict_output, argnums=(0,))(x)
    assert isinstance(per_output['sin'], tuple) and len(per_output['sin']) == 1
    assert isinstance(per_output['sum'], tuple) and len(per_output['sum']) == 1
    reordered = adjoint.jacrev(product, argnums=(1, 0))(x, y)
    np.testing.assert_array_equal(reordered[0], np.diag(x))
    np.testing.assert_array_equal(reordered[1], np.diag(y))


# ----------------------------------------------------------------- value errors

def test_integer_input_rejected():
    with pytest.raises(TypeError, match="only floating point inputs can be differentiated"):
        adjoint.jacrev(sin_of)(np.arange(3))


def test_integer_input_rejected_names_argument():
    with pytest.raises(TypeError, match="only floating point inputs can be differentiated") as info:
        adjoint.jacrev(product, argnums=1)(np.ones(3), np.arange(3))
    assert "argument 1" in str(info.value) or "'y'" in str(info.value)


@pytest.mark.parametrize("value", [3, np.array([True, False]), np.int32(2)], ids=["int", "bool", "int32"])
def test_non_float_inputs_rejected(value):
    with pytest.raises(TypeError, match="only floating point inputs can be differentiated"):
        adjoint.jacrev(sin_of)(value)


def test_integer_leaf_in_pytree_rejected():
    with pytest.raises(TypeError, match="only floating point inputs can be differentiated"):
        adjoint.jacrev(dict_input)({'scale': np.float64(1.0), 'x': np.arange(3)})


def test_complex_input_rejected():
    with pytest.raises(TypeError):
        adjoint.jacrev(sin_of)(np.ones(3, dtype=complex))


def complex_output(x):
    return x * 1j


def test_complex_output_rejected():
    with pytest.raises(TypeError):
        adjoint.jacrev(complex_output)(np.ones(3))


def returns_none(x):
    return None


def returns_empty_tuple(x):
    return ()


def returns_string(x):
    return "not an array"


def returns_array_and_none(x):
    return np.sin(x), None


def returns_array_and_string(x):
    return np.sin(x), "label"


def returns_int(x):
    return x.shape[0]


def returns_int_array(x):
    return np.argmax(x) + np.zeros(2, dtype=int)


@pytest.mark.parametrize("func", [returns_none, returns_empty_tuple])
def test_empty_output_rejected(func):
    with pytest.raises(ValueError, match="non-empty output"):
        adjoint.jacrev(func)(np.ones(3))


@pytest.mark.parametrize("func", [returns_string, returns_array_and_none, returns_array_and_string])
def test_non_array_output_rejected(func):
    with pytest.raises(TypeError, match="expected func to return only arrays"):
        adjoint.jacrev(func)(np.ones(3))


@pytest.mark.parametrize("func", [returns_int, returns_int_array])
def test_integer_output_rejected(func):
    with pytest.raises(TypeError, match="outputs of func must be floating-point"):
        adjoint.jacrev(func)(np.ones(3))


def uses_passthrough_args(x, power, key, table, anything):
    return x ** power * table[key]


def test_unselected_arguments_may_be_anything():
    x = np.array([1.0, 2.0])
    jacobian = adjoint.jacrev(uses_passthrough_args)(x, 3, "scale", {'scale': 0.5}, object())
    np.testing.assert_allclose(jacobian, np.diag(1.5 * x ** 2), rtol=1e-14)


def with_defaults(x, scale=3.0, offset=np.float64(1.0)):
    return x * scale + offset


def test_function_defaults_apply():
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(adjoint.jacrev(with_defaults)(x), 3.0 * np.eye(2))
    np.testing.assert_array_equal(adjoint.jacrev(with_defaults, argnums=1)(x, 2.0), x)


def cube(x):
    return x ** 3


def test_python_float_is_a_0d_float64():
    jacobian = adjoint.jacrev(cube)(2.0)
    assert np.shape(jacobian) == () and np.result_type(jacobian) == np.float64
    assert float(jacobian) == pytest.approx(12.0, rel=1e-14)
    scalar = adjoint.jacrev(cube)(np.float64(2.0))
    assert np.shape(scalar) == () and float(scalar) == pytest.approx(12.0, rel=1e-14)


def test_float_mixed_with_array_input():
    x = np.array([1.0, 2.0])
    jacobian = adjoint.jacrev(product, argnums=(0, 1))(x, 2.0)
    np.testing.assert_array_equal(jacobian[0], 2.0 * np.eye(2))
    np.testing.assert_array_equal(jacobian[1], x)
    assert jacobian[1].shape == (2,)


# ----------------------------------------------------------------- wrapping and decorators

def documented(x):
    """Square the input."""
    return x ** 2


def test_functools_wraps_preserved():
    jacobian_fn = adjoint.jacrev(documented)
    assert jacobian_fn.__name__ == "documented"
    assert jacobian_fn.__qualname__ == documented.__qualname__
    assert jacobian_fn.__doc__ == "Square the input."


@adjoint.jacrev
def decorated(x):
    return np.sin(x) * 2.0


@functools.partial(adjoint.jacrev, argnums=1)
def decorated_partial(x, y):
    return x * np.exp(y)


def test_decorator_usage():
    x, y = np.array([0.1, 0.2]), np.array([0.3, 0.4])
    np.testing.assert_allclose(decorated(x), np.diag(2.0 * np.cos(x)), rtol=1e-14)
    np.testing.assert_allclose(decorated_partial(x, y), np.diag(x * np.exp(y)), rtol=1e-14)
    assert decorated.__name__ == "decorated" and decorated_partial.__name__ == "decorated_partial"


def test_numpy_function_directly():
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(adjoint.jacrev(np.sin)(x), np.diag(np.cos(x)), rtol=1e-14)
    y = np.array([2.0, 3.0, 4.0])
    np.testing.assert_allclose(adjoint.jacrev(np.multiply, argnums=1)(x, y), np.diag(x), rtol=1e-14)


def lambda_in_variable_holder():
    return lambda x: np.exp(x) * 2.0


def test_lambda():
    square_exp = lambda_in_variable_holder()
    x = np.array([0.1, 0.2])
    np.testing.assert_allclose(adjoint.jacrev(square_exp)(x), np.diag(2.0 * np.exp(x)), rtol=1e-14)


# ----------------------------------------------------------------- vjp

def vjp_target(x, y):
    return {'a': np.sin(x) * y, 'b': np.sum(x ** 2)}


def test_vjp_output_and_many_calls():
    x, y = np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0])
    output, vjp_fn = adjoint.vjp(vjp_target, x, y)
    np.testing.assert_allclose(output['a'], np.sin(x) * y, rtol=1e-14)
    for weight in [1.0, -2.0, 0.5]:
        cotangent = {'a': weight * np.array([1.0, 0.5, -1.0]), 'b': np.float64(weight * 2.0)}
        x_bar, y_bar = vjp_fn(cotangent)
        np.testing.assert_allclose(x_bar, cotangent['a'] * np.cos(x) * y + cotangent['b'] * 2 * x, rtol=1e-14)
        np.testing.assert_allclose(y_bar, cotangent['a'] * np.sin(x), rtol=1e-14)
        assert x_bar.shape == x.shape and y_bar.shape == y.shape


def test_vjp_result_is_tuple_per_primal():
    output, vjp_fn = adjoint.vjp(sin_of, np.array([0.1, 0.2]))
    result = vjp_fn(np.ones(2))
    assert isinstance(result, tuple) and len(result) == 1
    np.testing.assert_allclose(result[0], np.cos(np.array([0.1, 0.2])), rtol=1e-14)


def test_vjp_pytree_primal():
    params = {'scale': np.float64(1.5), 'x': np.array([0.1, 0.2])}
    output, vjp_fn = adjoint.vjp(dict_input, params)
    (params_bar,) = vjp_fn(np.ones(2))
    assert list(params_bar) == ['scale', 'x']
    np.testing.assert_allclose(params_bar['scale'], np.sum(np.sin(params['x'])), rtol=1e-14)
    np.testing.assert_allclose(params_bar['x'], 1.5 * np.cos(params['x']), rtol=1e-14)


@pytest.mark.parametrize("cotangent", [
    {'a': np.ones(2), 'b': np.float64(1.0)},             # wrong shape
    {'a': np.ones(3)},                                  # missing key
    (np.ones(3), np.float64(1.0)),                      # wrong container
    {'a': np.ones(3), 'b': np.float64(1.0), 'c': 1.0},  # extra key
], ids=["shape", "missing", "container", "extra"])
def test_vjp_cotangent_mismatch(cotangent):
    _, vjp_fn = adjoint.vjp(vjp_target, np.array([0.1, 0.2, 0.3]), np.ones(3))
    with pytest.raises(ValueError):
        vjp_fn(cotangent)


def test_vjp_has_aux_gives_three_tuple():
    x = np.array([0.1, 0.2])
    output, vjp_fn, aux = adjoint.vjp(aux_pair, x, has_aux=True)
    np.testing.assert_allclose(output, np.sin(x), rtol=1e-14)
    assert aux == {'tag': 'first'}
    (x_bar,) = vjp_fn(np.ones(2))
    np.testing.assert_allclose(x_bar, np.cos(x), rtol=1e-14)


def aux_pair(x):
    return np.sin(x), {'tag': 'first'}


# ----------------------------------------------------------------- grad

def scalar_loss(x, y):
    return np.sum(np.sin(x) * y) + np.sum(x ** 2)


def test_grad_of_scalar_function():
    x, y = np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0])
    gradient = adjoint.grad(scalar_loss)(x, y)
    np.testing.assert_allclose(gradient, np.cos(x) * y + 2 * x, rtol=1e-14)
    x_grad, y_grad = adjoint.grad(scalar_loss, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(y_grad, np.sin(x), rtol=1e-14)
    np.testing.assert_allclose(x_grad, gradient, rtol=1e-14)


def plain_sum(x):
    return np.sum(x)


def column_sums(x):
    return np.sum(x, axis=0)


def item_sum(params):
    return np.sum(params["a"])


def test_results_are_arrays_the_caller_can_write():
    # The adjoint of a sum is its cotangent broadcast back; a large one is a
    # read-only view inside the backward pass, never in what the user gets.
    x = np.ones(5000)
    gradient = adjoint.grad(plain_sum)(x)
    _, vjp_fn = adjoint.vjp(plain_sum, x)
    pulled, = vjp_fn(np.float64(2.0))
    results = [gradient, pulled, adjoint.grad(plain_sum, argnums=(0,))(x)[0],
               adjoint.jacrev(column_sums)(np.ones((5000, 2))),
               adjoint.jacrev(column_sums, chunk_size=1)(np.ones((5000, 2))),
               adjoint.grad(item_sum)({"a": x})["a"]]
    for result in results:
        assert result.flags.writeable
        result.flat[0] = 5.0  # in a view with stride 0 every entry would change
        assert np.count_nonzero(result == 5.0) == 1


def scalar_with_aux(x):
    return np.sum(x ** 2), x.shape


def test_grad_has_aux():
    gradient, aux = adjoint.grad(scalar_with_aux, has_aux=True)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(gradient, [2.0, 4.0])
    assert aux == (2,)


def sum_in_a_tuple(x):
    return (np.sum(x),)


def test_grad_of_non_scalar_output():
    with pytest.raises(ValueError, match="jacrev|sum") as info:
        adjoint.grad(sin_of)(np.array([0.1, 0.2]))
    assert "of shape (2,)" in str(info.value)
    with pytest.raises(ValueError, match="got an output of a ") as info:
        adjoint.grad(sum_in_a_tuple)(np.array([0.1, 0.2]))
    assert "shape a" not in str(info.value)


# ----------------------------------------------------------------- stop_gradient, no_grad

def uses_stop_gradient(x):
    frozen = adjoint.stop_gradient(x)
    return x * frozen + adjoint.stop_gradient(np.sin(x))


def uses_no_grad(x):
    with adjoint.no_grad():
        squared = x ** 2
        shifted = squared + np.sin(x)
    return shifted * x


def test_stop_gradient_is_a_constant():
    x = np.array([0.5, 1.5, -2.0])
    np.testing.assert_allclose(uses_stop_gradient(x), x * x + np.sin(x), rtol=1e-14)
    np.testing.assert_allclose(adjoint.jacrev(uses_stop_gradient)(x), np.diag(x), rtol=1e-14)


def test_no_grad_block_is_a_constant():
    x = np.array([0.5, 1.5, -2.0])
    np.testing.assert_allclose(uses_no_grad(x), (x ** 2 + np.sin(x)) * x, rtol=1e-14)
    np.testing.assert_allclose(adjoint.jacrev(uses_no_grad)(x), np.diag(x ** 2 + np.sin(x)), rtol=1e-14)


def test_no_grad_around_a_transform_changes_nothing():
    x = np.array([0.5, 1.5])
    with adjoint.no_grad():
        jacobian = adjoint.jacrev(sin_of)(x)
    np.testing.assert_allclose(jacobian, np.diag(np.cos(x)), rtol=1e-14)


# ----------------------------------------------------------------- defvjp

@pytest.fixture
def restore_rules():
    """defvjp registers globally; put the registry back after the test."""
    saved = dict(rules.CUSTOM_VJPS)
    yield
    rules.CUSTOM_VJPS.clear()
    rules.CUSTOM_VJPS.update(saved)
    adjoint.backend.cache.clear()


MAKER_CALLS = []


def cube_with_loop(x):
    """A Python function whose source adjoint cannot transform (a loop):
    only its registered rule can differentiate it."""
    result = x
    for _ in range(2):
        result = result * x
    return result


def cube_with_loop_vjp(ans, x):
    MAKER_CALLS.append(np.shape(x))
    return lambda g: g * 3.0 * x ** 2


def calls_cube(x):
    return np.sin(cube_with_loop(x))


def weighted_cube(x, weight=1.0):
    return weight * x ** 3


def calls_weighted_cube(x):
    return weighted_cube(x, weight=2.0) + x


def calls_fabs(x):
    return np.fabs(x) * 2.0  # a ufunc with a built-in rule, replaced by defvjp below


def calls_ldexp(x):
    return np.ldexp(x, 2) * 2.0  # a ufunc without a built-in rule


def calls_fabs_mixed(x, y):
    return np.fabs(x * y) + y


def calls_i0(x):
    return np.i0(x)  # no rule


def test_registered_python_function_rule_wins_over_source(restore_rules):
    x = np.array([0.3, -0.7, 1.1])
    MAKER_CALLS.clear()
    adjoint.defvjp(cube_with_loop, cube_with_loop_vjp)
    jacobian = adjoint.jacrev(calls_cube)(x)
    np.testing.assert_allclose(jacobian, numerical_jacobian(calls_cube, (x,)), rtol=1e-6, atol=1e-8)
    assert MAKER_CALLS, "the registered maker was never called"


def test_registered_python_function_differentiated_directly(restore_rules):
    x = np.array([0.3, -0.7, 1.1])
    MAKER_CALLS.clear()
    adjoint.defvjp(cube_with_loop, cube_with_loop_vjp)
    np.testing.assert_allclose(adjoint.jacrev(cube_with_loop)(x), np.diag(3.0 * x ** 2), rtol=1e-14)
    assert MAKER_CALLS, "the registered maker was never called"


def test_registered_rule_receives_keyword_arguments(restore_rules):
    adjoint.defvjp(weighted_cube, lambda ans, x, weight=1.0: lambda g: g * 3.0 * weight * x ** 2)
    x = np.array([0.3, -0.7])
    jacobian = adjoint.jacrev(calls_weighted_cube)(x)
    np.testing.assert_allclose(jacobian, np.diag(6.0 * x ** 2 + 1.0), rtol=1e-12)


def test_ufunc_without_rule_is_an_error_before_registration():
    assert np.ldexp not in rules.ADJOINT_RULES and np.ldexp not in rules.CUSTOM_VJPS
    line = inspect.getsourcelines(calls_ldexp)[1] + 1
    with pytest.raises(adjoint.NoRuleError) as info:
        adjoint.jacrev(calls_ldexp)(np.array([1.0, -8.0]))
    message = str(info.value)
    assert "ldexp" in message and "defvjp" in message
    assert f"{THIS_FILE}:{line}" in message


def test_i0_has_no_rule():
    assert np.i0 not in rules.ADJOINT_RULES
    line = inspect.getsourcelines(calls_i0)[1] + 1
    with pytest.raises(adjoint.NoRuleError) as info:
        adjoint.jacrev(calls_i0)(np.array([0.3, 0.4]))
    message = str(info.value)
    assert "i0" in message and "defvjp" in message and f"{THIS_FILE}:{line}" in message


@pytest.mark.parametrize("batched, chunk_size", [(False, None), (False, 1), (False, 2), (True, None), (True, 2)])
def test_defvjp_ufunc(restore_rules, batched, chunk_size):
    seen_shapes = []

    def fabs_vjp(ans, x):
        def pull_back(g):
            seen_shapes.append(np.shape(g))
            return g * np.sign(x)
        return pull_back

    adjoint.defvjp(np.fabs, fabs_vjp, batched=batched)
    x = np.array([1.0, -8.0, 27.0])
    jacobian = adjoint.jacrev(calls_fabs, chunk_size=chunk_size)(x)
    np.testing.assert_allclose(jacobian, numerical_jacobian(calls_fabs, (x,)), rtol=1e-6)
    if not batched:
        expected = {x.shape}  # one cotangent at a time
    else:
        expected = {(3, 3)} if chunk_size is None else {(2, 3), (1, 3)}  # the chunk's leading batch axis
    assert set(seen_shapes) == expected


def log_volume(A):
    sign, logdet = np.linalg.slogdet(A @ A.T + np.eye(3))
    return 2.0 * logdet * A


@pytest.mark.parametrize("batched", [False, True])
def test_defvjp_of_a_function_returning_a_tuple(restore_rules, batched):
    # slogdet returns (sign, logdet); only logdet is used, so the sign's
    # cotangent reaches the maker's function as zeros.
    def slogdet_vjp(ans, S):
        def pull_back(g):
            g_sign, g_logdet = g
            assert np.shape(g_sign) == np.shape(g_logdet)
            scale = g_logdet[:, None, None] if batched else g_logdet
            return scale * np.linalg.inv(S).T
        return pull_back

    adjoint.defvjp(np.linalg.slogdet, slogdet_vjp, batched=batched)
    A = np.random.default_rng(3).standard_normal((3, 3))
    for chunk_size in (None, 1):
        np.testing.assert_allclose(adjoint.jacrev(log_volume, chunk_size=chunk_size)(A),
                                   numerical_jacobian(log_volume, (A,)), rtol=1e-6, atol=1e-8)


def test_defvjp_through_broadcast_and_two_inputs(restore_rules):
    adjoint.defvjp(np.fabs, lambda ans, x: lambda g: g * np.sign(x), batched=True)
    x, y = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -2.0])
    jacobian = adjoint.jacrev(calls_fabs_mixed, argnums=(0, 1))(x, y)
    assert_trees_close(jacobian[0], numerical_jacobian(calls_fabs_mixed, (x, y), 0), rtol=1e-6)
    assert_trees_close(jacobian[1], numerical_jacobian(calls_fabs_mixed, (x, y), 1), rtol=1e-6)


def two_arg_primitive(x, p):
    return x ** p


def calls_two_arg_primitive(x, p):
    return two_arg_primitive(x, p) * 2.0


def test_defvjp_none_maker(restore_rules):
    adjoint.defvjp(two_arg_primitive, lambda ans, x, p: lambda g: g * p * x ** (p - 1), None)
    x = np.array([1.0, 2.0])
    jacobian = adjoint.jacrev(calls_two_arg_primitive)(x, 3.0)
    np.testing.assert_allclose(jacobian, np.diag(6.0 * x ** 2), rtol=1e-14)


def scaled_rows(x, y):
    """``x`` broadcast against ``y``: its rule must sum the cotangent back."""
    return x * y


def calls_scaled_rows(x, y):
    return scaled_rows(x, y) + 1.0


@pytest.mark.parametrize("batched", [False, True])
def test_defvjp_contribution_of_the_wrong_shape_is_named(restore_rules, batched):
    # The maker for x forgets that x was broadcast: it returns g * y, shaped like g.
    adjoint.defvjp(scaled_rows, lambda ans, x, y: lambda g: g * y, lambda ans, x, y: lambda g: g * x,
                   batched=batched)
    x, y = np.ones(3), np.ones((2, 3, 3))
    batch = r"\d+, " if batched else ""  # batched shapes lead with the batch size
    message = (rf"defvjp rule of scaled_rows.*positional argument 0.*shape \({batch}2, 3, 3\).*"
               rf"argument's shape, \({batch}3,?\)")
    for call in (lambda: adjoint.jacrev(calls_scaled_rows)(x, y),
                 lambda: adjoint.vjp(calls_scaled_rows, x, y)[1](np.ones((2, 3, 3)))):
        with pytest.raises(ValueError, match=message) as info:
            call()
        assert "reshape" not in str(info.value)


FORWARD_CALLS = []
FORWARD_CALLS = []


def counted_sin(x):
    FORWARD_CALLS.append(np.shape(x))
    return np.sin(x)


def calls_counted_sin(x):
    return counted_sin(x) * 2.0


def test_forward_pass_runs_once(restore_rules):
    adjoint.defvjp(counted_sin, lambda ans, x: lambda g: g * np.cos(x))
    x = np.array([0.1, 0.2])
    FORWARD_CALLS.clear()
    output, vjp_fn = adjoint.vjp(calls_counted_sin, x)
    first = vjp_fn(np.ones(2))[0]
    second = vjp_fn(np.full(2, 3.0))[0]
    assert len(FORWARD_CALLS) == 1
    np.testing.assert_allclose(output, 2.0 * np.sin(x), rtol=1e-14)
    np.testing.assert_allclose(first, 2.0 * np.cos(x), rtol=1e-14)
    np.testing.assert_allclose(second, 6.0 * np.cos(x), rtol=1e-14)
    FORWARD_CALLS.clear()
    jacobian = adjoint.jacrev(calls_counted_sin, chunk_size=1)(x)
    assert len(FORWARD_CALLS) == 1
    np.testing.assert_allclose(jacobian, np.diag(2.0 * np.cos(x)), rtol=1e-14)


# ----------------------------------------------------------------- source (section 6)

def readable(x, weights):
    hidden = np.tanh(x @ weights)
    return np.sum(hidden ** 2)


def test_source_is_deterministic_valid_python_with_line_comments():
    text = adjoint.source(readable)
    assert isinstance(text, str)
    assert text == adjoint.source(readable)
    ast.parse(text)
    assert "hidden" in text  # names derived from the user's names
    first = inspect.getsourcelines(readable)[1]
    for lineno in (first + 1, first + 2):
        assert any(str(lineno) in line for line in text.splitlines() if line.strip().startswith("#"))


def test_source_with_tuple_argnums():
    text = adjoint.source(readable, argnums=(0, 1))
    ast.parse(text)
    assert "weights" in text


def ridge_loss(w, X, y, lam=0.1):
    return np.sum((X @ w - y) ** 2) + lam * np.sum(w ** 2)


def scaled_prediction(w, X, *, scale=1.0):
    return scale * np.tanh(X @ w)


def test_keyword_arguments_are_passed_through_undifferentiated():
    rng = np.random.default_rng(7)
    w, X, y = rng.standard_normal(3), rng.standard_normal((4, 3)), rng.standard_normal(4)
    np.testing.assert_allclose(adjoint.grad(ridge_loss)(w, X, y, lam=0.5),
                               2.0 * X.T @ (X @ w - y) + 2.0 * 0.5 * w)
    expected = 3.0 * (1.0 - np.tanh(X @ w) ** 2)[:, None] * X
    np.testing.assert_allclose(adjoint.jacrev(scaled_prediction)(w, X, scale=3.0), expected)
    np.testing.assert_allclose(adjoint.jacrev(scaled_prediction, chunk_size=1)(w, X, scale=3.0), expected)


def squares(x):
    return x * x


def exponentials(x):
    return np.exp(x)


def test_vjp_fn_is_not_changed_by_later_in_place_changes():
    x = np.array([1.0, 2.0])
    _, vjp_fn = adjoint.vjp(squares, x)
    x[:] = 10.0
    np.testing.assert_allclose(vjp_fn(np.ones(2))[0], [2.0, 4.0])
    output, vjp_fn = adjoint.vjp(exponentials, np.array([1.0, 2.0]))
    output[:] = 0.0
    np.testing.assert_allclose(vjp_fn(np.ones(2))[0], np.exp([1.0, 2.0]))


def test_complex_cotangent_is_refused():
    _, vjp_fn = adjoint.vjp(squares, np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="complex"):
        vjp_fn(np.array([1.0 + 5.0j, 1.0]))


def largest(x):
    return np.max(x)


def test_max_with_a_nan_sends_the_derivative_to_the_nan():
    # NumPy's max is the NaN; as in torch, the NaN's position gets the cotangent.
    np.testing.assert_allclose(adjoint.grad(largest)(np.array([np.nan, 1.0, 2.0])), [1.0, 0.0, 0.0])


def rectified(x):
    return np.maximum(x, 0.0)


def smaller(x, y):
    return np.minimum(x, y)


def test_maximum_and_minimum_send_the_derivative_to_a_nan_as_max_does():
    np.testing.assert_array_equal(adjoint.jacrev(rectified)(np.array([np.nan, -1.0, 2.0, 0.0])),
                                  np.diag([1.0, 0.0, 1.0, 0.5]))
    dx, dy = adjoint.jacrev(smaller, argnums=(0, 1))(np.array([np.nan, 1.0, np.nan]),
                                                     np.array([1.0, np.nan, np.nan]))
    np.testing.assert_array_equal(dx, np.diag([1.0, 0.0, 0.5]))
    np.testing.assert_array_equal(dy, np.diag([0.0, 1.0, 0.5]))


def row_maxima(x):
    return np.max(x, axis=1)


def test_max_along_an_axis_with_a_nan_row_and_a_tied_row():
    # As many hits as rows, but not one per row: the NaN row has none, the
    # tied row two. The NaN gets its row's cotangent; the ties share theirs.
    x = np.array([[np.nan, 1.0, 0.0], [2.0, 2.0, 1.0], [0.0, 3.0, 1.0]])
    expected = np.zeros((3, 3, 3))
    expected[0, 0, 0] = 1.0
    expected[1, 1, :2] = 0.5
    expected[2, 2, 1] = 1.0
    np.testing.assert_array_equal(adjoint.jacrev(row_maxima)(x), expected)
    np.testing.assert_array_equal(adjoint.jacrev(row_maxima)(x[1:]), expected[1:, 1:])


def two_items(x, y):
    return np.sin(x), y * 2.0


def item_without_input(x):
    return {"a": np.sqrt(x), "b": np.ones(2) * 3.0}


@pytest.mark.parametrize("chunk_size", [None, 1])
def test_blocks_of_items_that_cannot_depend_on_an_input_are_exact_zeros(chunk_size):
    # NaN and infinite partial derivatives elsewhere must not leak into them (0 * nan).
    with np.errstate(all="ignore"):
        blocks = adjoint.jacrev(two_items, argnums=(0, 1), chunk_size=chunk_size)(
            np.array([np.nan, 1.0]), np.array([1.0, 2.0]))
        assert np.array_equal(blocks[1][0], np.zeros((2, 2))) and np.array_equal(blocks[0][1], np.zeros((2, 2)))
        assert np.isnan(blocks[0][0][0, 0])
        constant = adjoint.jacrev(item_without_input, chunk_size=chunk_size)(np.array([-1.0, 0.0]))
        assert np.array_equal(constant["b"], np.zeros((2, 2)))


# ----------------------------------------------------------------- lists read as arrays

MIXING = np.array([[1.0, 2.0], [3.0, 4.0]])


def mixes_sines(p):
    return MIXING @ np.sin(p)


def weighted_sum_of_items(ps):
    return np.sum(ps, axis=0) * np.array([1.0, 2.0, 3.0])


def sine_times_itself(p):
    return np.sum(np.sin(p) * np.asarray(p))


def test_a_list_argument_that_numpy_reads_as_an_array():
    # The list's adjoint comes back as one array (batch, items): each block
    # is the derivative by one item, not a row of the Jacobian.
    p = [0.3, 1.2]
    blocks = adjoint.jacrev(mixes_sines)(p)
    np.testing.assert_allclose(np.stack(blocks, axis=-1), MIXING * np.cos(p), rtol=1e-14)
    ps = [np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 0.0])]
    for block in adjoint.jacrev(weighted_sum_of_items)(ps):
        np.testing.assert_allclose(block, np.diag([1.0, 2.0, 3.0]))
    # Read both as an array (np.sin) and item by item (np.asarray): the two
    # kinds of adjoint add up item by item.
    expected = np.sin(p) + np.array(p) * np.cos(p)
    for result in (adjoint.grad(sine_times_itself)(p), adjoint.jacrev(sine_times_itself)(p),
                   adjoint.vjp(sine_times_itself, p)[1](np.float64(1.0))[0]):
        assert isinstance(result, list) and len(result) == 2
        np.testing.assert_allclose(np.array(result), expected, rtol=1e-14)


def pools_with(h, reduce):
    return np.sum(reduce(np.tanh(h), axis=0) ** 2)


def test_keyword_arguments_to_numpy_functions_called_as_values():
    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    for jacobian in (adjoint.jacrev(np.sum)(x, axis=0), adjoint.jacrev(functools.partial(np.sum, axis=0))(x)):
        # d sum(x, axis=0)[j] / d x[i, k] is 1 where j == k
        np.testing.assert_array_equal(jacobian, np.broadcast_to(np.eye(3)[:, None, :], (3, 2, 3)))
    # A NumPy function passed in as a value and called with keywords.
    for reduce in (np.mean, np.max, np.median, np.std):
        np.testing.assert_allclose(adjoint.grad(pools_with)(x, reduce),
                                   numerical_jacobian(lambda h: pools_with(h, reduce), (x,), 0),
                                   rtol=1e-6, atol=1e-8)