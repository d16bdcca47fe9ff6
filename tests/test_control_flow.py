"""A catalogue of small programs with control flow (branches, loops, break,
continue, early returns), each differentiated by jacrev and checked three
ways: against central finite differences, against autograd (the same program
written with ``autograd.numpy`` right after it; autograd follows Python
control flow natively), and for ``chunk_size`` None, 1 and 3 giving the same
Jacobian.

A program whose path depends on its input appears once per path, with inputs
chosen away from the switching points so that finite differences stay on the
same path; ``test_each_side_of_every_branch_is_taken`` checks that they do
reach every side.

New construct = new row in ``PROGRAMS``.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.tracer import getval

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

#: appended to by ``logged_forward`` every time its forward pass runs.
FORWARD_CALLS = []


# ----------------------------------------------------------------- programs
# Each program comes as a NumPy version (differentiated by adjoint) and an
# autograd.numpy twin written right after it.

# --- branches

def if_elif_else(x):
    s = np.sum(x)
    if s > 1.0:
        y = np.sin(x) * s
    elif s > -1.0:
        y = x ** 2 + s
    else:
        y = np.exp(x) / s
    return y * x


def if_elif_else_ag(x):
    s = anp.sum(x)
    if s > 1.0:
        y = anp.sin(x) * s
    elif s > -1.0:
        y = x ** 2 + s
    else:
        y = anp.exp(x) / s
    return y * x


def nested_branches(x):
    y = np.tanh(x)
    if x[0] > 0.0:
        if x[1] > 0.0:
            y = y * x[0] * x[1]
        else:
            y = y - x[1] ** 2
    else:
        if np.max(x) > 0.5:
            y = np.cos(y)
        y = y + x[0]
    return y


def nested_branches_ag(x):
    y = anp.tanh(x)
    if x[0] > 0.0:
        if x[1] > 0.0:
            y = y * x[0] * x[1]
        else:
            y = y - x[1] ** 2
    else:
        if anp.max(x) > 0.5:
            y = anp.cos(y)
        y = y + x[0]
    return y


def conditional_expressions(x):
    scale = np.sum(x ** 2)
    y = np.sin(x) * scale if np.sum(x) > 0.0 else np.cos(x) / scale
    return y + (x if scale > 1.0 else -x * scale)


def conditional_expressions_ag(x):
    scale = anp.sum(x ** 2)
    y = anp.sin(x) * scale if anp.sum(x) > 0.0 else anp.cos(x) / scale
    return y + (x if scale > 1.0 else -x * scale)


def branch_assigns_on_one_side(x):
    y = x * 2.0
    if np.min(x) < 0.0:
        y = np.abs(x) * y
    return np.exp(y) - x


def branch_assigns_on_one_side_ag(x):
    y = x * 2.0
    if anp.min(x) < 0.0:
        y = anp.abs(x) * y
    return anp.exp(y) - x


def branch_on_static_argument(x, mode):
    if mode == "square":
        y = x ** 2
    elif mode == "sine":
        y = np.sin(x)
    else:
        y = x
    return y * x[0]


def branch_on_static_argument_ag(x, mode):
    if mode == "square":
        y = x ** 2
    elif mode == "sine":
        y = anp.sin(x)
    else:
        y = x
    return y * x[0]


# --- for loops

def range_static(x):
    y = x
    for i in range(4):
        y = np.sin(y) * (i + 1.0) + x
    return y


def range_static_ag(x):
    y = x
    for i in range(4):
        y = anp.sin(y) * (i + 1.0) + x
    return y


def range_start_stop_step(x):
    total = x[0]
    for i in range(1, 7, 2):
        total = total + x[i] * x[i - 1]
    return total * x


def range_start_stop_step_ag(x):
    total = x[0]
    for i in range(1, 7, 2):
        total = total + x[i] * x[i - 1]
    return total * x


def range_of_argument(x, steps):
    y = x
    for _ in range(steps):
        y = np.sin(y) + x
    return y


def range_of_argument_ag(x, steps):
    y = x
    for _ in range(steps):
        y = anp.sin(y) + x
    return y


def range_from_input_value(x):
    steps = int(np.abs(x[0]) * 3.0) + 1
    y = x
    for _ in range(steps):
        y = np.sin(y) + x
    return y


def range_from_input_value_ag(x):
    steps = int(np.abs(getval(x[0])) * 3.0) + 1
    y = x
    for _ in range(steps):
        y = anp.sin(y) + x
    return y


def range_of_length(x):
    total = 0.0
    for i in range(len(x)):
        total = total + x[i] ** 2 * (i + 1)
    return total * x


def range_of_length_ag(x):
    total = 0.0
    for i in range(len(x)):
        total = total + x[i] ** 2 * (i + 1)
    return total * x


def rows_of_matrix(x):
    total = np.zeros(x.shape[1])
    for row in x:
        total = total + np.sin(row) * row
    return total


def rows_of_matrix_ag(x):
    total = anp.zeros(x.shape[1])
    for row in x:
        total = total + anp.sin(row) * row
    return total


def list_of_layers(layers, x):
    h = x
    for weights in layers:
        h = np.tanh(h @ weights)
    return h


def list_of_layers_ag(layers, x):
    h = x
    for weights in layers:
        h = anp.tanh(anp.dot(h, weights))
    return h


def tuple_literal_of_arrays(x):
    total = x[0]
    for part in (x[1:], x[:-1] ** 2, np.sin(x[::2])):
        total = total + np.sum(part * part)
    return total * x


def tuple_literal_of_arrays_ag(x):
    total = x[0]
    for part in (x[1:], x[:-1] ** 2, anp.sin(x[::2])):
        total = total + anp.sum(part * part)
    return total * x


def zip_weights_biases(weights, biases, x):
    h = x
    for w, b in zip(weights, biases):
        h = np.tanh(h @ w + b)
    return h


def zip_weights_biases_ag(weights, biases, x):
    h = x
    for w, b in zip(weights, biases):
        h = anp.tanh(anp.dot(h, w) + b)
    return h


def enumerate_with_start(x):
    total = np.zeros(x.shape[1])
    for i, row in enumerate(x, start=1):
        total = total + row ** i / i
    return total


def enumerate_with_start_ag(x):
    total = anp.zeros(x.shape[1])
    for i, row in enumerate(x, start=1):
        total = total + row ** i / i
    return total


def enumerate_list(layers, x):
    h = x
    for depth, weights in enumerate(layers):
        h = h + np.sin(h @ weights) / (depth + 1)
    return h


def enumerate_list_ag(layers, x):
    h = x
    for depth, weights in enumerate(layers):
        h = h + anp.sin(anp.dot(h, weights)) / (depth + 1)
    return h


def nested_loops(x):
    total = np.zeros(x.shape[1])
    for i in range(x.shape[0]):
        for j in range(i + 1):
            total = total + x[i] * np.cos(x[j])
    return total


def nested_loops_ag(x):
    total = anp.zeros(x.shape[1])
    for i in range(x.shape[0]):
        for j in range(i + 1):
            total = total + x[i] * anp.cos(x[j])
    return total


def nested_rows_and_while(x):
    total = np.zeros(x.shape[1])
    for row in x:
        y = row
        while np.sum(y ** 2) < 4.0:
            y = y * 1.7
        total = total + y
    return total


def nested_rows_and_while_ag(x):
    total = anp.zeros(x.shape[1])
    for row in x:
        y = row
        while anp.sum(y ** 2) < 4.0:
            y = y * 1.7
        total = total + y
    return total


def branch_inside_loop(x):
    y = x
    for _ in range(5):
        if np.sum(y) > 1.0:
            y = y * 0.5
        else:
            y = np.sin(y) + x
    return y


def branch_inside_loop_ag(x):
    y = x
    for _ in range(5):
        if anp.sum(y) > 1.0:
            y = y * 0.5
        else:
            y = anp.sin(y) + x
    return y


def loop_inside_branch(x):
    if np.sum(x) > 0.0:
        for _ in range(3):
            x = x * np.cos(x)
    else:
        while np.sum(x) < 1.0:
            x = x + np.exp(x)
    return x


def loop_inside_branch_ag(x):
    if anp.sum(x) > 0.0:
        for _ in range(3):
            x = x * anp.cos(x)
    else:
        while anp.sum(x) < 1.0:
            x = x + anp.exp(x)
    return x


def loop_variable_after_loop(x):
    for row in x:
        last = np.sin(row)
    return last * row


def loop_variable_after_loop_ag(x):
    for row in x:
        last = anp.sin(row)
    return last * row


def loop_reassigns_its_sequence(x):
    for row in x:  # iterates over the rows of the x passed in, as Python does
        x = x + np.sin(row)
    return x


def loop_reassigns_its_sequence_ag(x):
    for row in x:
        x = x + anp.sin(row)
    return x


def conditional_expression_updates_its_target(x):
    y = x[0]
    for row in x:
        y = y * row if np.sum(row) > 0.0 else y + row
    return y


def conditional_expression_updates_its_target_ag(x):
    y = x[0]
    for row in x:
        y = y * row if anp.sum(row) > 0.0 else y + row
    return y


# --- while, break, continue

def while_data_dependent(x):
    y = x
    count = 0
    while np.sum(y ** 2) < 10.0:
        y = y * 1.5 + 0.1 * np.sin(y)
        count = count + 1
    return y * count


def while_data_dependent_ag(x):
    y = x
    count = 0
    while anp.sum(y ** 2) < 10.0:
        y = y * 1.5 + 0.1 * anp.sin(y)
        count = count + 1
    return y * count


def while_counter_with_break(x):
    y = x
    n = 0
    while n < 10:
        y = np.cos(y) + x
        if np.max(y) > 1.5:
            break
        n += 1
    return y * (n + 1)


def while_counter_with_break_ag(x):
    y = x
    n = 0
    while n < 10:
        y = anp.cos(y) + x
        if anp.max(y) > 1.5:
            break
        n += 1
    return y * (n + 1)


def break_on_active_value(x):
    total = np.zeros(x.shape[1])
    for row in x:
        if np.sum(row) > 1.0:
            break
        total = total + row ** 2
    return total


def break_on_active_value_ag(x):
    total = anp.zeros(x.shape[1])
    for row in x:
        if anp.sum(row) > 1.0:
            break
        total = total + row ** 2
    return total


def continue_on_active_value(x):
    total = np.zeros(x.shape[1])
    for row in x:
        if np.sum(row) < 0.0:
            continue
        total = total + np.exp(row)
    return total


def continue_on_active_value_ag(x):
    total = anp.zeros(x.shape[1])
    for row in x:
        if anp.sum(row) < 0.0:
            continue
        total = total + anp.exp(row)
    return total


def overwritten_ten_times(x):
    h = x
    for _ in range(10):
        h = np.sin(h) + 0.5 * x
    return h


def overwritten_ten_times_ag(x):
    h = x
    for _ in range(10):
        h = anp.sin(h) + 0.5 * x
    return h


def fibonacci_tuple_state(x):
    a, b = x, np.sin(x)
    for _ in range(6):
        a, b = b, a + b
    return b * a


def fibonacci_tuple_state_ag(x):
    a, b = x, anp.sin(x)
    for _ in range(6):
        a, b = b, a + b
    return b * a


# --- early returns

def return_inside_loop(x):
    total = x[0]
    for row in x[1:]:
        total = total * row
        if np.sum(total) > 2.0:
            return total * 10.0
    return total


def return_inside_loop_ag(x):
    total = x[0]
    for row in x[1:]:
        total = total * row
        if anp.sum(total) > 2.0:
            return total * 10.0
    return total


def return_inside_branch(x):
    y = np.sin(x)
    if np.sum(y) > 0.0:
        return y * x
    z = np.cos(y)
    return z * y


def return_inside_branch_ag(x):
    y = anp.sin(x)
    if anp.sum(y) > 0.0:
        return y * x
    z = anp.cos(y)
    return z * y


def several_returns(x):
    s = np.sum(x)
    if s > 2.0:
        return np.exp(x) * s
    if s > 0.0:
        return x ** 3
    if s > -2.0:
        return np.sin(x) / (1.0 + s * s)
    return -x


def several_returns_ag(x):
    s = anp.sum(x)
    if s > 2.0:
        return anp.exp(x) * s
    if s > 0.0:
        return x ** 3
    if s > -2.0:
        return anp.sin(x) / (1.0 + s * s)
    return -x


def return_inside_while(x):
    y = x
    while True:
        y = y * 1.3 + 0.2
        if np.sum(y) > 3.0:
            return y * x
        if np.min(y) < -3.0:
            return np.sin(y)


def return_inside_while_ag(x):
    y = x
    while True:
        y = y * 1.3 + 0.2
        if anp.sum(y) > 3.0:
            return y * x
        if anp.min(y) < -3.0:
            return anp.sin(y)


# --- control flow across calls, in-place updates and list.append

def damped_step(y, x):
    if np.sum(y) > 1.0:
        return y * 0.5
    return np.sin(y) + x


def damped_step_ag(y, x):
    if anp.sum(y) > 1.0:
        return y * 0.5
    return anp.sin(y) + x


def loops_over_iterators(x):
    # reversed(...) is looped over as an iterator; its generated code, differentiated
    # again (Hessians), must not index a name bound to the iterator
    s = 0.0
    for i in reversed(range(3)):
        s = s * x[i] + np.sin(x[i])
    r = range(2)
    for i in r:
        s = s + x[i] * x[i + 1]
    return s


def loops_over_iterators_ag(x):
    s = 0.0
    for i in reversed(range(3)):
        s = s * x[i] + anp.sin(x[i])
    r = range(2)
    for i in r:
        s = s + x[i] * x[i + 1]
    return s


def user_function_in_loop(x):
    y = x
    for _ in range(5):
        y = damped_step(y, x)
    return y


def user_function_in_loop_ag(x):
    y = x
    for _ in range(5):
        y = damped_step_ag(y, x)
    return y


def power_by_recursion(x, n):
    if n == 0:
        return np.ones_like(x)
    return x * power_by_recursion(x, n - 1)


def power_by_recursion_ag(x, n):
    if n == 0:
        return anp.ones_like(x)
    return x * power_by_recursion_ag(x, n - 1)


def in_place_update_in_loop(x):
    y = np.zeros_like(x)
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            y[i] = x[i] ** 2
        else:
            y[i] = np.sin(x[i])
    return y * x[0]


def in_place_update_in_loop_ag(x):
    return anp.where(x > 0.0, x ** 2, anp.sin(x)) * x[0]


def append_in_loop(x):
    rows = []
    for row in x:
        if np.sum(row) > 0.0:
            continue
        rows.append(np.exp(row) * row[0])
    return np.stack(rows)


def append_in_loop_ag(x):
    rows = []
    for row in x:
        if anp.sum(row) > 0.0:
            continue
        rows.append(anp.exp(row) * row[0])
    return anp.stack(rows)


# --- has_aux, side effects, long loops (used by the tests after the table)

def loss_with_iteration_count(x):
    y = x
    steps = 0
    while np.sum(y ** 2) > 0.5:
        y = y * 0.8
        steps += 1
    if steps > 3:
        y = np.sin(y)
    return np.sum(y * x), {"steps": steps}


def vector_with_iteration_count(x):
    y = x
    steps = 0
    for row in x:
        if np.sum(row) > 0.0:
            y = y * row
            steps += 1
    return y, steps


def logged_forward(x):
    FORWARD_CALLS.append("forward")
    y = x
    for _ in range(3):
        y = np.sin(y) + x
    return y


def printed_forward(x):
    print("forward pass")
    y = x
    for _ in range(3):
        if np.sum(y) > 0.0:
            y = np.sin(y) + x
    return y


def ten_thousand_steps(x):
    for i in range(10000):
        x = x * 0.9999 + 0.0001 * np.sin(x)
    return x


def ten_thousand_steps_while(x):
    i = 0
    while i < 10000:
        x = x * 0.9999 + 0.0001 * np.sin(x)
        i += 1
    return np.sum(x ** 2)


def scalar_loop_loss(w, x):
    loss = 0.0
    for row in x:
        prediction = np.tanh(row @ w)
        if prediction > 0.0:
            loss = loss + (prediction - 1.0) ** 2
        else:
            loss = loss + prediction ** 2
    return loss


def scalar_loop_loss_ag(w, x):
    loss = 0.0
    for row in x:
        prediction = anp.tanh(anp.dot(row, w))
        if prediction > 0.0:
            loss = loss + (prediction - 1.0) ** 2
        else:
            loss = loss + prediction ** 2
    return loss


def shape_grows_in_loop(x):
    # y's shape changes between iterations, so y * x broadcasts differently
    # in each of them (x has one element).
    y = x
    total = 0.0
    for _ in range(3):
        total = total + np.sum(np.sin(y * x))
        y = np.concatenate([y, y])
    return total


def shape_grows_in_loop_ag(x):
    y = x
    total = 0.0
    for _ in range(3):
        total = total + anp.sum(anp.sin(y * x))
        y = anp.concatenate([y, y])
    return total


def accumulator_becomes_an_array(x):
    # total starts as the number 0.0 and takes x's shape in the first iteration.
    total = 0.0
    for i in range(3):
        total = total + np.sin(x) * (i + 1.0)
    return total


def accumulator_becomes_an_array_ag(x):
    total = 0.0
    for i in range(3):
        total = total + anp.sin(x) * (i + 1.0)
    return total


def branches_of_different_shapes(x):
    # The merged name is a row on one side and a scalar on the other.
    if np.sum(x) > 0:
        y = x[0]
    else:
        y = np.sum(x, axis=0)
    return np.tanh(y * x)


def branches_of_different_shapes_ag(x):
    if anp.sum(x) > 0:
        y = x[0]
    else:
        y = anp.sum(x, axis=0)
    return anp.tanh(y * x)


def mlp_logits(params, inputs):
    # outputs is bound only in the body and read after the loop; its shape
    # changes with each layer's width.
    for W, b in params:
        outputs = inputs @ W + b
        inputs = np.tanh(outputs)
    return outputs - np.log(np.sum(np.exp(outputs)))


def mlp_logits_ag(params, inputs):
    for W, b in params:
        outputs = anp.dot(inputs, W) + b
        inputs = anp.tanh(outputs)
    return outputs - anp.log(anp.sum(anp.exp(outputs)))


def prefix_grows_in_loop(x):
    for i in range(1, 4):
        y = np.outer(x[:i], x[:i])
        z = np.sum(y)
    return y * z


def prefix_grows_in_loop_ag(x):
    for i in range(1, 4):
        y = anp.outer(x[:i], x[:i])
        z = anp.sum(y)
    return y * z


def _mlp_params(seed, widths):
    rng = _rng(seed)
    return [(rng.normal(size=(m, n)) / np.sqrt(m), rng.normal(size=n)) for m, n in zip(widths[:-1], widths[1:])]


# ----------------------------------------------------------------- the table

def _rng(seed):
    return np.random.default_rng(seed)


def _vec(*values):
    return np.array(values, dtype=np.float64)


def _layers(seed, sizes):
    rng = _rng(seed)
    return [rng.normal(size=(m, n)) / np.sqrt(m) for m, n in zip(sizes[:-1], sizes[1:])]


#: Inputs on each side of the branches (sums, minima and signs kept well away
#: from the thresholds so a finite-difference step stays on the same path).
IF_HIGH = _vec(0.8, 0.6, 0.4)        # sum 1.8
IF_MIDDLE = _vec(0.3, -0.5, 0.1)     # sum -0.1
IF_LOW = _vec(-0.9, -0.6, -0.4)      # sum -1.9
NESTED_PP = _vec(0.7, 0.4, -0.2)
NESTED_PM = _vec(0.7, -0.4, 0.2)
NESTED_M_HIGH = _vec(-0.7, 0.4, 0.9)
NESTED_M_LOW = _vec(-0.7, 0.4, 0.1)
COND_POSITIVE_LARGE = _vec(0.9, 0.8, -0.3)   # sum 1.4, squares 1.54
COND_NEGATIVE_SMALL = _vec(-0.5, 0.2, -0.4)  # sum -0.7, squares 0.45
MIN_NEGATIVE = _vec(0.5, -0.3, 0.8)
MIN_POSITIVE = _vec(0.5, 0.3, 0.8)
WHILE_START = _vec(0.3, -0.2, 0.4)
MIXED_ROWS = np.array([[0.5, 0.4], [-0.9, 0.2], [0.3, 0.6]])
BREAK_ROWS = np.array([[0.1, 0.2, -0.3], [0.4, -0.1, 0.2], [0.9, 0.5, 0.3], [2.0, 1.0, 0.5]])
CONTINUE_ROWS = np.array([[0.1, 0.2, -0.1], [-0.4, -0.1, 0.2], [0.9, -0.5, 0.3], [-2.0, 1.0, 0.5]])
LOOP_RETURNS_EARLY = np.array([[1.2, 1.1], [1.3, 1.2], [1.4, 1.5], [0.5, 0.5]])
LOOP_RUNS_THROUGH = np.array([[0.5, 0.4], [0.9, 0.8], [0.7, 1.1], [0.6, 0.5]])
RETURNS = {"exp": _vec(1.5, 0.9, 0.4), "cube": _vec(0.6, -0.3, 0.4),
           "sine": _vec(-0.6, -0.3, 0.4), "negate": _vec(-1.5, -0.9, -0.4)}
WHILE_RETURNS = {"first": _vec(0.5, 0.3, 0.4), "second": _vec(-0.9, -0.7, -0.8)}


PROGRAMS = [
    # branches
    Program("if_elif_else_first", if_elif_else, if_elif_else_ag, lambda: (IF_HIGH,), 0),
    Program("if_elif_else_second", if_elif_else, if_elif_else_ag, lambda: (IF_MIDDLE,), 0),
    Program("if_elif_else_third", if_elif_else, if_elif_else_ag, lambda: (IF_LOW,), 0),
    Program("nested_branches_pp", nested_branches, nested_branches_ag, lambda: (NESTED_PP,), 0),
    Program("nested_branches_pm", nested_branches, nested_branches_ag, lambda: (NESTED_PM,), 0),
    Program("nested_branches_m_high", nested_branches, nested_branches_ag, lambda: (NESTED_M_HIGH,), 0),
    Program("nested_branches_m_low", nested_branches, nested_branches_ag, lambda: (NESTED_M_LOW,), 0),
    Program("conditional_expressions_true", conditional_expressions, conditional_expressions_ag,
            lambda: (COND_POSITIVE_LARGE,), 0),
    Program("conditional_expressions_false", conditional_expressions, conditional_expressions_ag,
            lambda: (COND_NEGATIVE_SMALL,), 0),
    Program("branch_assigns_taken", branch_assigns_on_one_side, branch_assigns_on_one_side_ag,
            lambda: (MIN_NEGATIVE,), 0),
    Program("branch_assigns_skipped", branch_assigns_on_one_side, branch_assigns_on_one_side_ag,
            lambda: (MIN_POSITIVE,), 0),
    Program("branch_on_static_argument_square", branch_on_static_argument,
            branch_on_static_argument_ag, lambda: (_rng(1).normal(size=3), "square"), 0),
    Program("branch_on_static_argument_else", branch_on_static_argument,
            branch_on_static_argument_ag, lambda: (_rng(1).normal(size=3), "identity"), 0),
    # for loops
    Program("range_static", range_static, range_static_ag, lambda: (_rng(2).normal(size=4),), 0),
    Program("range_start_stop_step", range_start_stop_step, range_start_stop_step_ag,
            lambda: (_rng(3).normal(size=7),), 0),
    Program("range_of_argument", range_of_argument, range_of_argument_ag,
            lambda: (_rng(4).normal(size=3), 4), 0),
    Program("range_of_argument_zero_steps", range_of_argument, range_of_argument_ag,
            lambda: (_rng(4).normal(size=3), 0), 0),
    Program("range_from_input_value_two", range_from_input_value, range_from_input_value_ag,
            lambda: (_vec(0.5, 0.2, -0.3),), 0),
    Program("range_from_input_value_four", range_from_input_value, range_from_input_value_ag,
            lambda: (_vec(-1.2, 0.2, -0.3),), 0),
    Program("range_of_length", range_of_length, range_of_length_ag, lambda: (_rng(5).normal(size=4),), 0),
    Program("rows_of_matrix", rows_of_matrix, rows_of_matrix_ag, lambda: (_rng(6).normal(size=(4, 3)),), 0),
    Program("list_of_layers", list_of_layers, list_of_layers_ag,
            lambda: (_layers(7, [3, 4, 4, 2]), _rng(8).normal(size=(2, 3))), 0),
    Program("list_of_layers_wrt_x", list_of_layers, list_of_layers_ag,
            lambda: (_layers(7, [3, 4, 4, 2]), _rng(8).normal(size=(2, 3))), 1),
    Program("tuple_literal_of_arrays", tuple_literal_of_arrays, tuple_literal_of_arrays_ag,
            lambda: (_rng(9).normal(size=5),), 0),
    Program("zip_wrt_weights_tuple", zip_weights_biases, zip_weights_biases_ag,
            lambda: (tuple(_layers(10, [3, 4, 2])), [_rng(11).normal(size=4), _rng(12).normal(size=2)],
                     _rng(13).normal(size=3)), 0),
    Program("zip_wrt_biases_list", zip_weights_biases, zip_weights_biases_ag,
            lambda: (tuple(_layers(10, [3, 4, 2])), [_rng(11).normal(size=4), _rng(12).normal(size=2)],
                     _rng(13).normal(size=3)), 1),
    Program("enumerate_with_start", enumerate_with_start, enumerate_with_start_ag,
            lambda: (_rng(14).normal(size=(4, 3)),), 0),
    Program("enumerate_list", enumerate_list, enumerate_list_ag,
            lambda: (_layers(15, [3, 3, 3, 3]), _rng(16).normal(size=3)), 0),
    Program("nested_loops", nested_loops, nested_loops_ag, lambda: (_rng(17).normal(size=(3, 4)),), 0),
    Program("nested_rows_and_while", nested_rows_and_while, nested_rows_and_while_ag,
            lambda: (np.array([[0.3, 0.4], [1.0, -0.9], [0.05, 0.1]]),), 0),
    Program("branch_inside_loop", branch_inside_loop, branch_inside_loop_ag,
            lambda: (_vec(0.9, 0.3, 0.2),), 0),
    Program("loop_inside_branch_for", loop_inside_branch, loop_inside_branch_ag,
            lambda: (_vec(0.4, 0.3, -0.2),), 0),
    Program("loop_inside_branch_while", loop_inside_branch, loop_inside_branch_ag,
            lambda: (_vec(-0.4, -0.3, 0.2),), 0),
    Program("loop_variable_after_loop", loop_variable_after_loop, loop_variable_after_loop_ag,
            lambda: (_rng(18).normal(size=(3, 2)),), 0),
    Program("loop_reassigns_its_sequence", loop_reassigns_its_sequence, loop_reassigns_its_sequence_ag,
            lambda: (_rng(21).normal(size=(3, 2)),), 0),
    Program("conditional_expression_updates_its_target", conditional_expression_updates_its_target,
            conditional_expression_updates_its_target_ag, lambda: (MIXED_ROWS,), 0),
    # while, break, continue
    Program("while_data_dependent", while_data_dependent, while_data_dependent_ag,
            lambda: (WHILE_START,), 0),
    Program("while_counter_with_break", while_counter_with_break, while_counter_with_break_ag,
            lambda: (_vec(0.3, 0.5, 0.6),), 0),
    Program("while_counter_runs_out", while_counter_with_break, while_counter_with_break_ag,
            lambda: (_vec(0.1, -0.2, 0.2),), 0),
    Program("break_on_active_value", break_on_active_value, break_on_active_value_ag,
            lambda: (BREAK_ROWS,), 0),
    Program("continue_on_active_value", continue_on_active_value, continue_on_active_value_ag,
            lambda: (CONTINUE_ROWS,), 0),
    Program("overwritten_ten_times", overwritten_ten_times, overwritten_ten_times_ag,
            lambda: (_rng(19).normal(size=4),), 0),
    Program("fibonacci_tuple_state", fibonacci_tuple_state, fibonacci_tuple_state_ag,
            lambda: (_rng(20).normal(size=3),), 0),
    # early returns
    Program("return_inside_loop_early", return_inside_loop, return_inside_loop_ag,
            lambda: (LOOP_RETURNS_EARLY,), 0),
    Program("return_inside_loop_falls_through", return_inside_loop, return_inside_loop_ag,
            lambda: (LOOP_RUNS_THROUGH,), 0),
    Program("return_inside_branch_taken", return_inside_branch, return_inside_branch_ag,
            lambda: (_vec(0.5, 0.2, -0.1),), 0),
    Program("return_inside_branch_skipped", return_inside_branch, return_inside_branch_ag,
            lambda: (_vec(-0.5, 0.2, -0.1),), 0),
    # control flow across calls, in-place updates and list.append
    Program("user_function_in_loop", user_function_in_loop, user_function_in_loop_ag,
            lambda: (_vec(0.9, 0.3, 0.2),), 0),
    Program("loops_over_iterators", loops_over_iterators, loops_over_iterators_ag,
            lambda: (_vec(0.9, -0.3, 0.4),), 0),
    Program("power_by_recursion", power_by_recursion, power_by_recursion_ag,
            lambda: (_rng(22).normal(size=3), 4), 0),
    Program("in_place_update_in_loop", in_place_update_in_loop, in_place_update_in_loop_ag,
            lambda: (_vec(0.5, -0.4, 0.3, -0.2),), 0),
    Program("append_in_loop", append_in_loop, append_in_loop_ag, lambda: (CONTINUE_ROWS,), 0),
    # a name whose shape differs between iterations or branches
    Program("shape_grows_in_loop", shape_grows_in_loop, shape_grows_in_loop_ag, lambda: (_vec(0.7),), 0),
    Program("accumulator_becomes_an_array", accumulator_becomes_an_array, accumulator_becomes_an_array_ag,
            lambda: (_vec(0.3, -0.4),), 0),
    Program("branches_of_different_shapes_row", branches_of_different_shapes,
            branches_of_different_shapes_ag, lambda: (np.array([[0.5, 0.2], [0.1, -0.3]]),), 0),
    Program("branches_of_different_shapes_sum", branches_of_different_shapes,
            branches_of_different_shapes_ag, lambda: (np.array([[-0.5, 0.2], [0.1, -0.3]]),), 0),
    # widths 3, 4, 2: the shapes do not broadcast; 3, 1, 3: they do (silently wrong)
    Program("mlp_logits_wrt_input", mlp_logits, mlp_logits_ag,
            lambda: (_mlp_params(23, [3, 4, 2]), _rng(24).normal(size=3)), 1),
    Program("mlp_logits_wrt_params", mlp_logits, mlp_logits_ag,
            lambda: (_mlp_params(23, [3, 4, 2]), _rng(24).normal(size=3)), 0),
    Program("mlp_logits_width_one_wrt_input", mlp_logits, mlp_logits_ag,
            lambda: (_mlp_params(25, [3, 1, 3]), _rng(26).normal(size=(2, 3))), 1),
    Program("mlp_logits_width_one_wrt_params", mlp_logits, mlp_logits_ag,
            lambda: (_mlp_params(25, [3, 1, 3]), _rng(26).normal(size=(2, 3))), 0),
    Program("prefix_grows_in_loop", prefix_grows_in_loop, prefix_grows_in_loop_ag,
            lambda: (_vec(0.3, -0.5, 0.7),), 0),
] + [
    Program(f"several_returns_{name}", several_returns, several_returns_ag, lambda x=x: (x,), 0)
    for name, x in RETURNS.items()
] + [
    Program(f"return_inside_while_{name}", return_inside_while, return_inside_while_ag, lambda x=x: (x,), 0)
    for name, x in WHILE_RETURNS.items()
]


@pytest.fixture(params=PROGRAMS, ids=[p.name for p in PROGRAMS])
def program(request):
    return request.param


def test_matches_finite_differences(program):
    check_against_finite_differences(program)


def test_matches_autograd(program):
    check_against_autograd(program)


def test_chunk_sizes_agree(program):
    check_chunk_sizes_agree(program, (1, 3))


def test_forward_mode_equals_reverse_mode(program):
    check_forward_mode(program)


def test_second_derivative(program):
    check_second_derivative(program)


def test_catalogue_names_are_unique():
    names = [p.name for p in PROGRAMS]
    assert len(names) == len(set(names))


def test_each_side_of_every_branch_is_taken():
    """The inputs above do reach the sides their names claim (and stay away
    from the thresholds by more than a finite-difference step)."""
    assert np.sum(IF_HIGH) > 1.1 and -0.9 < np.sum(IF_MIDDLE) < 0.9 and np.sum(IF_LOW) < -1.1
    assert NESTED_PP[0] > 0 and NESTED_PP[1] > 0 and NESTED_PM[0] > 0 and NESTED_PM[1] < 0
    assert NESTED_M_HIGH[0] < 0 < NESTED_M_HIGH.max() - 0.5 and NESTED_M_LOW.max() < 0.5
    assert np.sum(COND_POSITIVE_LARGE) > 0 and np.sum(COND_POSITIVE_LARGE ** 2) > 1
    assert np.sum(COND_NEGATIVE_SMALL) < 0 and np.sum(COND_NEGATIVE_SMALL ** 2) < 1
    assert MIN_NEGATIVE.min() < 0 < MIN_POSITIVE.min()
    assert [int(abs(x) * 3.0) + 1 for x in (0.5, -1.2)] == [2, 4]
    # break after two rows; continue skips rows 1 and 3
    assert [np.sum(row) > 1.0 for row in BREAK_ROWS] == [False, False, True, True]
    assert [np.sum(row) < 0.0 for row in CONTINUE_ROWS] == [False, True, False, True]
    assert return_inside_loop(LOOP_RETURNS_EARLY)[0] > 10.0 > return_inside_loop(LOOP_RUNS_THROUGH)[0]
    np.testing.assert_allclose(several_returns(RETURNS["exp"]), np.exp(RETURNS["exp"]) * 2.8)
    np.testing.assert_allclose(several_returns(RETURNS["cube"]), RETURNS["cube"] ** 3)
    np.testing.assert_allclose(several_returns(RETURNS["negate"]), -RETURNS["negate"])
    assert np.sum(RETURNS["sine"]) < 0
    # the while loop returns from its first and its second return
    assert np.all(return_inside_while(WHILE_RETURNS["first"]) > 0)
    assert np.all(return_inside_while(WHILE_RETURNS["second"]) < 0)


def _steps_of_while_data_dependent(x):
    y, count = x, 0
    while np.sum(y ** 2) < 10.0:
        y = y * 1.5 + 0.1 * np.sin(y)
        count += 1
    return count, np.sum(y ** 2)


def test_while_inputs_are_away_from_a_trip_count_change():
    count, final = _steps_of_while_data_dependent(WHILE_START)
    assert count > 3 and final > 10.1
    before = WHILE_START
    for _ in range(count - 1):
        before = before * 1.5 + 0.1 * np.sin(before)
    assert np.sum(before ** 2) < 9.9


# ----------------------------------------------------------------- trip counts that change

def test_trip_count_of_an_argument_differs_between_calls():
    """The same jacrev-wrapped function, called with different trip counts:
    each call follows its own path (nothing is specialised to the first)."""
    x = _rng(40).normal(size=3)
    jacobian_fn = adjoint.jacrev(range_of_argument)
    results = {}
    for steps in (2, 5, 0, 2):
        jacobian = jacobian_fn(x, steps)
        assert_trees_close(jacobian, numerical_jacobian(range_of_argument, (x, steps)), rtol=1e-5, atol=1e-6)
        if steps in results:
            np.testing.assert_array_equal(jacobian, results[steps])
        results[steps] = jacobian
    np.testing.assert_array_equal(results[0], np.eye(3))
    assert not np.allclose(results[2], results[5])


def test_trip_count_from_input_values_differs_between_calls():
    jacobian_fn = adjoint.jacrev(range_from_input_value, chunk_size=2)
    for x in (_vec(0.5, 0.2, -0.3), _vec(-1.2, 0.2, -0.3), _vec(0.1, 0.2, 0.3), _vec(0.5, 0.2, -0.3)):
        assert_trees_close(jacobian_fn(x), numerical_jacobian(range_from_input_value, (x,)),
                           rtol=1e-5, atol=1e-6)


def test_while_trip_count_differs_between_calls():
    jacobian_fn = adjoint.jacrev(while_data_dependent)
    counts = set()
    for x in (WHILE_START, WHILE_START * 3.0, _vec(2.0, 2.0, 2.0)):
        counts.add(_steps_of_while_data_dependent(x)[0])
        assert_trees_close(jacobian_fn(x), numerical_jacobian(while_data_dependent, (x,)),
                           rtol=1e-5, atol=1e-6)
    assert len(counts) == 3


def test_branch_side_differs_between_calls_of_one_function():
    jacobian_fn = adjoint.jacrev(if_elif_else, chunk_size=1)
    for x in (IF_HIGH, IF_LOW, IF_MIDDLE, IF_HIGH):
        assert_trees_close(jacobian_fn(x), numerical_jacobian(if_elif_else, (x,)), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------- long loops

def test_ten_thousand_iterations():
    """No recursion limit: a 10,000-step loop differentiates correctly (its
    cost is the benchmark's to measure, not a timed test's)."""
    x = _vec(0.3, -1.2, 2.0)
    jacobian = adjoint.jacrev(ten_thousand_steps)(x)
    gradient = adjoint.grad(ten_thousand_steps_while)(x)
    # The map is elementwise: its Jacobian is diagonal; check it against a
    # central difference of each component.
    eps = 1e-6
    expected = np.diag((ten_thousand_steps(x + eps) - ten_thousand_steps(x - eps)) / (2 * eps))
    np.testing.assert_allclose(jacobian, expected, rtol=1e-6, atol=1e-9)
    step = np.eye(3) * eps
    expected_gradient = [(ten_thousand_steps_while(x + s) - ten_thousand_steps_while(x - s)) / (2 * eps)
                         for s in step]
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-6)


# ----------------------------------------------------------------- grad (one row)

def test_grad_of_a_loop_with_branches():
    rng = _rng(41)
    w, x = rng.normal(size=3), rng.normal(size=(6, 3))
    gradient = adjoint.grad(scalar_loop_loss)(w, x)
    assert gradient.shape == w.shape
    np.testing.assert_allclose(gradient, autograd.grad(scalar_loop_loss_ag)(w, x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gradient, numerical_jacobian(scalar_loop_loss, (w, x)), rtol=1e-6, atol=1e-8)
    # vjp with a unit cotangent and jacrev of the scalar agree with grad
    output, vjp_fn = adjoint.vjp(scalar_loop_loss, w, x)
    np.testing.assert_allclose(vjp_fn(np.float64(1.0))[0], gradient, rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacrev(scalar_loop_loss)(w, x), gradient, rtol=1e-12)


def test_vjp_of_a_loop_wrt_every_argument():
    layers, x = _layers(42, [3, 4, 2]), _rng(43).normal(size=(2, 3))
    output, vjp_fn = adjoint.vjp(list_of_layers, layers, x)
    cotangent = _rng(44).normal(size=output.shape)
    layers_bar, x_bar = vjp_fn(cotangent)
    expected_layers, expected_x = autograd.grad(
        lambda ls, xs: anp.sum(list_of_layers_ag(ls, xs) * cotangent), argnum=(0, 1))(layers, x)
    for got, want in zip(layers_bar, expected_layers, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x_bar, expected_x, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------- has_aux

def test_has_aux_with_a_while_loop():
    for x in (_vec(0.9, -0.8, 0.7), _vec(0.3, 0.2, -0.1)):
        expected_steps = 0
        y = x
        while np.sum(y ** 2) > 0.5:
            y, expected_steps = y * 0.8, expected_steps + 1
        gradient, aux = adjoint.grad(loss_with_iteration_count, has_aux=True)(x)
        assert aux == {"steps": expected_steps}
        numerical = numerical_jacobian(lambda v: loss_with_iteration_count(v)[0], (x,))
        np.testing.assert_allclose(gradient, numerical, rtol=1e-6, atol=1e-8)
        jacobian, aux = adjoint.jacrev(loss_with_iteration_count, has_aux=True, chunk_size=1)(x)
        assert aux == {"steps": expected_steps}
        np.testing.assert_allclose(jacobian, gradient, rtol=1e-12)


def test_has_aux_with_a_branch_in_a_loop():
    x = MIXED_ROWS
    for chunk_size in (None, 1, 3):
        jacobian, steps = adjoint.jacrev(vector_with_iteration_count, has_aux=True,
                                         chunk_size=chunk_size)(x)
        assert steps == 2 and type(steps) is int
        numerical = numerical_jacobian(lambda v: vector_with_iteration_count(v)[0], (x,))
        assert_trees_close(jacobian, numerical, rtol=1e-5, atol=1e-6)
    output, vjp_fn, steps = adjoint.vjp(vector_with_iteration_count, x, has_aux=True)
    assert steps == 2
    np.testing.assert_allclose(output, vector_with_iteration_count(x)[0], rtol=1e-15)


# ----------------------------------------------------------------- side effects

def test_forward_side_effect_runs_once_per_jacrev_call():
    """The forward pass runs once per call; the backward pass, repeated per
    chunk, never re-runs it."""
    x = _rng(45).normal(size=4)
    FORWARD_CALLS.clear()
    jacobian = adjoint.jacrev(logged_forward, chunk_size=1)(x)
    assert FORWARD_CALLS == ["forward"]
    assert jacobian.shape == (4, 4)
    adjoint.jacrev(logged_forward, chunk_size=3)(x)
    adjoint.jacrev(logged_forward)(x)
    assert len(FORWARD_CALLS) == 3
    output, vjp_fn = adjoint.vjp(logged_forward, x)
    vjp_fn(np.ones(4))
    vjp_fn(np.ones(4))
    assert len(FORWARD_CALLS) == 4


def test_forward_print_runs_once_per_jacrev_call(capsys):
    x = np.abs(_rng(46).normal(size=5))
    capsys.readouterr()
    adjoint.jacrev(printed_forward, chunk_size=1)(x)
    assert capsys.readouterr().out == "forward pass\n"
    adjoint.jacrev(printed_forward, chunk_size=2)(x)
    assert capsys.readouterr().out == "forward pass\n"


def fills_a_history(x, steps):
    history = np.zeros((steps + 1, x.shape[0]))
    history[0] = x
    for t in range(steps):
        history[t + 1] = 0.9 * history[t] + 0.1 * np.sin(history[t])
    return history[-1]


def returns_the_filled_array(x):
    history = np.zeros((3, 2))
    history[0] = x
    for t in range(2):
        history[t + 1] = history[t] * 2.0 + x
    return history


def writes_a_row_twice(x):
    rows = np.zeros((4, 2))
    for t in range(3):
        rows[t] = x * (t + 1.0)
        rows[t + 1] = rows[t] * np.sin(x)
        rows[t] = rows[t] + 1.0
    return rows[1:] * rows[:-1]


def test_filling_an_array_updates_its_adjoint_in_place_and_stays_exact():
    x = np.array([0.3, -0.7])
    for func, args in ((fills_a_history, (x, 6)), (returns_the_filled_array, (x,)), (writes_a_row_twice, (x,))):
        expected = numerical_jacobian(func, args, 0)
        for chunk_size in (None, 1):
            assert_trees_close(adjoint.jacrev(func, chunk_size=chunk_size)(*args), expected,
                               rtol=1e-6, atol=1e-8)
    # The adjoint of the history is made by the backward pass: zeroed in place.
    assert "in_place=True" in adjoint.source(fills_a_history)
    # Returned whole, its adjoint is the caller's cotangent: never changed.
    assert "in_place=True" not in adjoint.source(returns_the_filled_array)
    cotangent = np.ones((3, 2))
    adjoint.vjp(returns_the_filled_array, x)[1](cotangent)
    assert np.array_equal(cotangent, np.ones((3, 2)))


def hands_one_adjoint_to_two_names(x):
    a = np.sin(x)
    b = np.cos(x)
    head = a[0:1]
    total = a + b  # a's and b's adjoints are the same array here
    return total[0:2] + head  # ... and a's gets more added in place


def test_an_adjoint_handed_to_two_names_is_not_updated_in_place():
    x = np.array([0.3, -0.7, 0.5])
    assert_trees_close(adjoint.jacrev(hands_one_adjoint_to_two_names)(x),
                       numerical_jacobian(hands_one_adjoint_to_two_names, (x,), 0), rtol=1e-6, atol=1e-8)


# ----- found by fuzzing: crashes in generated code after an early return

def nested_def_in_a_branch_after_an_early_return(x):
    if np.sum(x) > 10.0:
        return x
    if np.sum(x) > 0.0:
        def double(t):
            return t * 2.0
        y = double(x)
    else:
        y = x
    return y


def while_that_runs_zero_times_after_an_early_return(x):
    if np.sum(x) > 10.0:
        return x
    i = 0
    while i < 0:
        z = x * 2.0  # first bound in the loop: unbound after it
        i = i + 1
    return x * 3.0


def for_that_runs_zero_times_after_an_early_return(x):
    if np.sum(x) > 10.0:
        return x
    for i in range(0):
        z = x * 2.0  # noqa: F841
    return np.sin(x)


def loop_target_keeps_its_value_when_the_loop_runs_zero_times(x):
    item = x * 2.0
    if np.sum(x) > 10.0:
        return x
    for item in [x * 3.0, x * 4.0][:0]:
        pass
    return x * item


def dict_item_rebound_to_another_shape_and_returned(x):
    d = {"a": x, "b": x * 2.0}
    d["a"] = np.outer(x, x)
    return d


def list_item_rebound_to_another_shape_and_read(x):
    items = [x, np.sin(x)]
    items[0] = np.stack([x, x * x])
    return items[0] * items[1]


@pytest.mark.parametrize("func", [
    nested_def_in_a_branch_after_an_early_return, while_that_runs_zero_times_after_an_early_return,
    for_that_runs_zero_times_after_an_early_return, loop_target_keeps_its_value_when_the_loop_runs_zero_times,
    dict_item_rebound_to_another_shape_and_returned, list_item_rebound_to_another_shape_and_read,
], ids=lambda f: f.__name__)
def test_found_by_fuzzing_crashes_after_early_returns_and_rebound_items(func):
    x = np.array([0.3, -0.7, 0.5])
    expected = numerical_jacobian(func, (x,), 0)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        assert_trees_close(transform(func)(x), expected, rtol=1e-6, atol=1e-8)


def bound_in_a_branch_of_a_loop(x):
    for i in range(3):
        if i < 2:
            y = np.sin(x) * (i + 1)  # the last iteration keeps the previous y
    return y


def test_a_name_bound_in_a_branch_of_a_loop_keeps_its_value_where_the_branch_does_not_run():
    """It became None on the iteration whose branch did not run ("returned no array")."""
    x = np.array([0.3, 0.7])
    expected = np.diag(2.0 * np.cos(x))
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(transform(bound_in_a_branch_of_a_loop)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(adjoint.vmap(bound_in_a_branch_of_a_loop)(np.stack([x, 2 * x])),
                               np.stack([bound_in_a_branch_of_a_loop(x), bound_in_a_branch_of_a_loop(2 * x)]))
