"""A catalogue of small straight-line programs, each differentiated by jacrev
and checked three ways: against central finite differences, against autograd
(the same program written with ``autograd.numpy`` right next to it), and for
``chunk_size=1`` against ``chunk_size=None``.

New construct = new row in ``PROGRAMS``.
"""

import autograd.numpy as anp
import numpy as np
import pytest

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

#: a module-level constant read by ``weighted_exp_sum``.
WEIGHTS = np.linspace(0.5, 2.0, 6)


# ----------------------------------------------------------------- programs
# Each program comes as a NumPy version (differentiated by adjoint) and an
# autograd.numpy twin written right after it.

def mlp_layer(x, weights, bias):
    return np.tanh(x @ weights + bias)


def mlp_layer_ag(x, weights, bias):
    return anp.tanh(x @ weights + bias)


def two_layer_mlp_loss(params, x, target):
    hidden = np.tanh(x @ params['W1'] + params['b1'])
    prediction = hidden @ params['W2'] + params['b2']
    return np.mean((prediction - target) ** 2)


def two_layer_mlp_loss_ag(params, x, target):
    hidden = anp.tanh(x @ params['W1'] + params['b1'])
    prediction = hidden @ params['W2'] + params['b2']
    return anp.mean((prediction - target) ** 2)


def affine_list_params(params, x):
    weights, bias = params[0], params[1]
    return np.sin(x @ weights) + bias


def affine_list_params_ag(params, x):
    weights, bias = params[0], params[1]
    return anp.sin(x @ weights) + bias


def softmax_cross_entropy(logits, labels):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_norm = np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    log_probs = shifted - log_norm
    return -np.mean(np.sum(labels * log_probs, axis=1))


def softmax_cross_entropy_ag(logits, labels):
    shifted = logits - anp.max(logits, axis=1, keepdims=True)
    log_norm = anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
    log_probs = shifted - log_norm
    return -anp.mean(anp.sum(labels * log_probs, axis=1))


def softmax(logits):
    exps = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)


def softmax_ag(logits):
    exps = anp.exp(logits - logits.max(axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_ag(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def pairwise_distances(points):
    diff = points[:, None, :] - points[None, :, :]
    return np.sqrt(np.sum(diff ** 2, axis=-1) + 1e-2)


def pairwise_distances_ag(points):
    diff = points[:, None, :] - points[None, :, :]
    return anp.sqrt(anp.sum(diff ** 2, axis=-1) + 1e-2)


def coulomb_energy(points):
    count = points.shape[0]
    diff = points[:, None, :] - points[None, :, :]
    squared = np.sum(diff * diff, axis=-1) + np.eye(count)
    inverse_r = 1.0 / np.sqrt(squared)
    return 0.5 * np.sum(inverse_r * (1.0 - np.eye(count)))


def coulomb_energy_ag(points):
    count = points.shape[0]
    diff = points[:, None, :] - points[None, :, :]
    squared = anp.sum(diff * diff, axis=-1) + anp.eye(count)
    inverse_r = 1.0 / anp.sqrt(squared)
    return 0.5 * anp.sum(inverse_r * (1.0 - anp.eye(count)))


def repeated_doubling(x):
    h = np.sin(x)
    h = h * 2
    h = h * 2
    h = h * 2
    h = h * 2
    h = h * 2
    h = h * 2
    h = h * 2
    h = h * 2
    h = h * 2
    h = h * 2
    return h * x


def repeated_doubling_ag(x):
    h = anp.sin(x)
    for _ in range(10):
        h = h * 2
    return h * x


def augmented_assignment(x, y):
    total = x * y
    total += np.exp(x)
    total *= y
    total -= x / y
    total /= 3.0
    return total


def augmented_assignment_ag(x, y):
    total = x * y
    total = total + anp.exp(x)
    total = total * y
    total = total - x / y
    total = total / 3.0
    return total


def tuple_unpacking(x):
    first, second = x
    sine, cosine = np.sin(first), np.cos(second)
    total, (left, right) = sine + cosine, (sine * cosine, first * second)
    return total + left - right


def tuple_unpacking_ag(x):
    first, second = x[0], x[1]
    sine, cosine = anp.sin(first), anp.cos(second)
    total, (left, right) = sine + cosine, (sine * cosine, first * second)
    return total + left - right


def keyword_arguments(x, y):
    column_sums = np.sum(x * y, axis=0)
    clipped = np.clip(x, a_min=-0.5, a_max=0.5)
    row_means = np.mean(clipped, axis=1)
    joined = np.concatenate([column_sums, row_means], axis=0)
    return np.transpose(np.stack([joined, joined ** 2], axis=0), axes=(1, 0))


def keyword_arguments_ag(x, y):
    column_sums = anp.sum(x * y, axis=0)
    clipped = anp.clip(x, a_min=-0.5, a_max=0.5)
    row_means = anp.mean(clipped, axis=1)
    joined = anp.concatenate([column_sums, row_means], axis=0)
    return anp.transpose(anp.stack([joined, joined ** 2], axis=0), axes=(1, 0))


def standardize(x):
    mean = x.mean(axis=1, keepdims=True)
    centered = x - mean
    variance = np.mean(centered ** 2, axis=1, keepdims=True)
    return centered / np.sqrt(variance + 1e-5)


def standardize_ag(x):
    mean = x.mean(axis=1, keepdims=True)
    centered = x - mean
    variance = anp.mean(centered ** 2, axis=1, keepdims=True)
    return centered / anp.sqrt(variance + 1e-5)


def reductions(x):
    column_max = np.max(x, axis=0, keepdims=True)
    row_product = np.prod(x, axis=1, keepdims=True)
    return x * column_max + row_product + x.sum(axis=(0, 1), keepdims=True)


def reductions_ag(x):
    column_max = anp.max(x, axis=0, keepdims=True)
    row_product = anp.prod(x, axis=1, keepdims=True)
    return x * column_max + row_product + x.sum(axis=(0, 1), keepdims=True)


def method_chains(x, y):
    gram = x.T.dot(y).sum(axis=0).reshape(1, -1)
    flat = x.reshape(2, -1).T.ravel()
    return gram * flat.sum() + flat.reshape(3, 2).T.sum(axis=0).mean()


def method_chains_ag(x, y):
    gram = anp.dot(x.T, y).sum(axis=0).reshape(1, -1)
    flat = x.reshape(2, -1).T.ravel()
    return gram * flat.sum() + flat.reshape(3, 2).T.sum(axis=0).mean()


def slicing(x):
    strided = x[1:, ::2]
    corner = x[:3, -3:]
    first_column = x[..., 0]
    third_row = x[2]
    column_view = x[:, None, 1]
    reversed_column = x[::-1, 4]
    return ((strided * corner).sum(axis=1) + first_column[1:] * third_row[:3]
            + column_view[1:, 0] - reversed_column[:3] ** 2)


def slicing_ag(x):
    strided = x[1:, ::2]
    corner = x[:3, -3:]
    first_column = x[..., 0]
    third_row = x[2]
    column_view = x[:, None, 1]
    reversed_column = x[::-1, 4]
    return ((strided * corner).sum(axis=1) + first_column[1:] * third_row[:3]
            + column_view[1:, 0] - reversed_column[:3] ** 2)


def weighted_exp_sum(x):
    return np.sum(WEIGHTS * np.exp(x)) + WEIGHTS @ x ** 2


def weighted_exp_sum_ag(x):
    return anp.sum(WEIGHTS * anp.exp(x)) + anp.dot(WEIGHTS, x ** 2)


def make_quadratic_form(matrix, offset):
    def quadratic_form(x):
        shifted = x - offset
        return shifted @ matrix @ shifted + np.sum(np.sin(shifted))

    return quadratic_form


def make_quadratic_form_ag(matrix, offset):
    def quadratic_form(x):
        shifted = x - offset
        return anp.dot(anp.dot(shifted, matrix), shifted) + anp.sum(anp.sin(shifted))

    return quadratic_form


QUADRATIC_MATRIX = np.arange(16.0).reshape(4, 4) / 10.0
QUADRATIC_OFFSET = np.array([0.1, -0.2, 0.3, -0.4])


def pytree_outputs(x):
    energy = np.sum(x ** 2)
    return {'energy': energy, 'parts': (np.sin(x), [np.cos(x[:2]) * energy])}


def pytree_outputs_ag(x):
    energy = anp.sum(x ** 2)
    return {'energy': energy, 'parts': (anp.sin(x), [anp.cos(x[:2]) * energy])}


def piecewise(x):
    relu = np.maximum(x, 0.0)
    mixed = np.where(x > 0.0, x ** 2, -x)
    return relu * mixed + np.abs(x) / (1.0 + x ** 2)


def piecewise_ag(x):
    relu = anp.maximum(x, 0.0)
    mixed = anp.where(x > 0.0, x ** 2, -x)
    return relu * mixed + anp.abs(x) / (1.0 + x ** 2)


def outer_and_powers(x, y):
    table = np.outer(x, y)
    return np.log1p(table ** 2) + np.exp(-np.square(y)) + x[:, None] ** 3


def outer_and_powers_ag(x, y):
    table = anp.outer(x, y)
    return anp.log1p(table ** 2) + anp.exp(-anp.square(y)) + x[:, None] ** 3


# ----------------------------------------------------------------- the table

def _rng(seed):
    return np.random.default_rng(seed)


def _away_from(values, points, margin=0.05):
    """Shift values that fall near a kink so finite differences stay valid."""
    values = np.array(values)
    for point in points:
        close = np.abs(values - point) < margin
        values[close] += 2 * margin
    return values


def _mlp_params():
    rng = _rng(1)
    return {'W1': rng.normal(size=(3, 5)), 'b1': rng.normal(size=5),
            'W2': rng.normal(size=(5, 2)), 'b2': rng.normal(size=2)}


def _mlp_layer_args():
    rng = _rng(0)
    return rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)


def _labels():
    labels = np.zeros((4, 5))
    labels[np.arange(4), [0, 3, 1, 4]] = 1.0
    return labels


PROGRAMS = [
    Program("mlp_layer_wrt_x", mlp_layer, mlp_layer_ag, _mlp_layer_args, 0),
    Program("mlp_layer_wrt_weights", mlp_layer, mlp_layer_ag, _mlp_layer_args, 1),
    Program("mlp_layer_wrt_bias", mlp_layer, mlp_layer_ag, _mlp_layer_args, 2),
    Program("two_layer_mlp_dict_params", two_layer_mlp_loss, two_layer_mlp_loss_ag,
            lambda: (_mlp_params(), _rng(2).normal(size=(6, 3)), _rng(3).normal(size=(6, 2))), 0),
    Program("affine_list_params", affine_list_params, affine_list_params_ag,
            lambda: ([_rng(4).normal(size=(3, 2)), _rng(5).normal(size=2)], _rng(6).normal(size=(4, 3))), 0),
    Program("softmax_cross_entropy", softmax_cross_entropy, softmax_cross_entropy_ag,
            lambda: (_rng(7).normal(size=(4, 5)), _labels()), 0),
    Program("softmax", softmax, softmax_ag, lambda: (_rng(8).normal(size=(2, 4)),), 0),
    Program("rosenbrock", rosenbrock, rosenbrock_ag, lambda: (_rng(9).normal(size=6),), 0),
    Program("pairwise_distances", pairwise_distances, pairwise_distances_ag,
            lambda: (_rng(10).normal(size=(4, 3)),), 0),
    Program("coulomb_energy", coulomb_energy, coulomb_energy_ag,
            lambda: (_rng(11).normal(size=(5, 3)),), 0),
    Program("repeated_doubling", repeated_doubling, repeated_doubling_ag,
            lambda: (_rng(12).normal(size=5),), 0),
    Program("augmented_assignment_wrt_x", augmented_assignment, augmented_assignment_ag,
            lambda: (_rng(13).normal(size=4), 1.0 + _rng(14).random(4)), 0),
    Program("augmented_assignment_wrt_y", augmented_assignment, augmented_assignment_ag,
            lambda: (_rng(13).normal(size=4), 1.0 + _rng(14).random(4)), 1),
    Program("tuple_unpacking", tuple_unpacking, tuple_unpacking_ag,
            lambda: (_rng(15).normal(size=(2, 3)),), 0),
    Program("keyword_arguments", keyword_arguments, keyword_arguments_ag,
            lambda: (_away_from(_rng(16).normal(size=(3, 4)), [-0.5, 0.5]), _rng(17).normal(size=(3, 4))), 0),
    Program("standardize_keepdims", standardize, standardize_ag,
            lambda: (_rng(18).normal(size=(3, 4)),), 0),
    Program("reductions_keepdims", reductions, reductions_ag,
            lambda: (_rng(19).normal(size=(3, 4)),), 0),
    Program("method_chains", method_chains, method_chains_ag,
            lambda: (_rng(20).normal(size=(3, 2)), _rng(21).normal(size=(3, 4))), 0),
    Program("slicing", slicing, slicing_ag, lambda: (_rng(22).normal(size=(4, 5)),), 0),
    Program("module_constant", weighted_exp_sum, weighted_exp_sum_ag,
            lambda: (_rng(23).normal(size=6),), 0),
    Program("closure_constant", make_quadratic_form(QUADRATIC_MATRIX, QUADRATIC_OFFSET),
            make_quadratic_form_ag(QUADRATIC_MATRIX, QUADRATIC_OFFSET),
            lambda: (_rng(24).normal(size=4),), 0),
    Program("pytree_outputs", pytree_outputs, pytree_outputs_ag,
            lambda: (_rng(25).normal(size=3),), 0),
    Program("piecewise", piecewise, piecewise_ag,
            lambda: (_away_from(_rng(26).normal(size=6), [0.0]),), 0),
    Program("outer_and_powers_wrt_y", outer_and_powers, outer_and_powers_ag,
            lambda: (_rng(27).normal(size=3), _rng(28).normal(size=4)), 1),
]


@pytest.fixture(params=PROGRAMS, ids=[p.name for p in PROGRAMS])
def program(request):
    return request.param


def test_matches_finite_differences(program):
    check_against_finite_differences(program)


def test_matches_autograd(program):
    check_against_autograd(program)


def test_chunk_size_one_equals_all_rows(program):
    check_chunk_sizes_agree(program, (1,))


def test_forward_mode_equals_reverse_mode(program):
    check_forward_mode(program)


def test_second_derivative(program):
    check_second_derivative(program)


def test_catalogue_names_are_unique():
    names = [p.name for p in PROGRAMS]
    assert len(names) == len(set(names))


# ----------------------------------------------------------------- the checker itself

def _wrong_sin(x):
    return np.sin(x)


def test_numerical_jacobian_can_fail():
    """The finite-difference helper must reject a wrong derivative."""
    x = _rng(30).normal(size=3)
    wrong = np.diag(np.sin(x))
    with pytest.raises(AssertionError):
        assert_trees_close(wrong, numerical_jacobian(_wrong_sin, (x,)), rtol=1e-5, atol=1e-6)
    assert_trees_close(np.diag(np.cos(x)), numerical_jacobian(_wrong_sin, (x,)), rtol=1e-6, atol=1e-8)


def test_tree_comparison_checks_structure():
    with pytest.raises(AssertionError):
        assert_trees_close((np.ones(2),), [np.ones(2)])
    with pytest.raises(AssertionError):
        assert_trees_close({'a': np.ones(2)}, {'b': np.ones(2)})
