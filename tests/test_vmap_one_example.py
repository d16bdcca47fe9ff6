"""Batched values read only through their first example are computed on it
alone (backend/one_example.py): the pass by the text it writes, and the
derivatives it speeds up against analytic ones and autograd."""
import autograd
import autograd.numpy as anp
import gast
import numpy as np
import pytest

import adjoint
from adjoint import runtime as rt
from adjoint.backend.compile import unparse
from adjoint.backend.one_example import on_first_example


def rewritten(source, batched=("x",), keep=("x",)):
    body = gast.parse(source).body
    module = gast.Module(body=on_first_example(body, set(batched), "batch", "rt", "np", set(keep)), type_ignores=[])
    return unparse(gast.gast_to_ast(module)).strip()


def test_a_chain_read_only_for_its_shape_runs_on_the_first_example():
    text = rewritten("t = rt.vmatmul(rt.to_batched(A, batch), x)\n"
                     "out = np.sin(t)\n"
                     "out_bar = rt.output_basis(rt.first_example(out))\n"
                     "g = np.cos(x)\n"
                     "return rt.vjacobian_from_rows(g, out, x)", batched=("x", "t", "out", "g"))
    assert "t = rt.vmatmul(rt.to_batched(A, 1), rt.first_rows(x))" in text
    assert "out = np.sin(rt.first_rows(t))" in text
    assert "g = np.cos(x)" in text  # (read whole by the Jacobian)


@pytest.mark.parametrize("source", [
    "out = np.sin(x)\ny = out * 2.0\nreturn rt.vjacobian_from_rows(y, out, x)",  # read whole
    "out = np.sin(x, out=buffer)\nreturn rt.vjacobian_from_rows(g, out, x)",  # writes into an operand
    "out = user_function(x)\nreturn rt.vjacobian_from_rows(g, out, x)",  # unknown: may write in place
    "out = np.copyto(buffer, x)\nreturn rt.vjacobian_from_rows(g, out, x)",  # NumPy writing into an argument
    "global out\nout = np.sin(x)\nreturn rt.vjacobian_from_rows(g, out, x)",  # a name the caller sees
    "out = np.sin(x)\nout = np.cos(out)\nreturn rt.vjacobian_from_rows(g, out, x)",  # assigned twice
    "return rt.vjacobian_from_rows(g, out, x)",  # a parameter's rows: the caller's
])
def test_values_needed_whole_or_made_in_place_are_left_alone(source):
    assert rewritten(source, batched=("x", "out", "y"), keep=("x", "out") if "out = " not in source else ("x",)) \
        == unparse(gast.gast_to_ast(gast.parse(source))).strip()


def sine(x):
    return np.sin(x)


def sine_of_scaled(x):
    return np.sin(SCALE * x)


SCALE = 2.0


def test_vmap_of_jacrev_of_sine_is_exact_and_skips_the_sine_of_the_batch():
    x = np.linspace(-2.0, 2.0, 15).reshape(3, 5)
    jacobians = adjoint.vmap(adjoint.jacrev(sine))(x)
    np.testing.assert_allclose(jacobians, np.stack([np.diag(np.cos(row)) for row in x]), rtol=1e-14)
    assert "out = np.sin(rt.first_rows(x))" in adjoint.source(adjoint.vmap(adjoint.jacrev(sine)))
    # a batch of one, none, and float32 keep their shapes and dtype
    assert adjoint.vmap(adjoint.jacrev(sine))(x[:1]).shape == (1, 5, 5)
    assert adjoint.vmap(adjoint.jacrev(sine))(x[:0]).shape == (0, 5, 5)
    assert adjoint.vmap(adjoint.jacrev(sine))(x.astype(np.float32)).dtype == np.float32


@pytest.mark.filterwarnings("ignore:vmap of:RuntimeWarning")  # (loops the batched code already had)
def test_the_batched_code_differentiated_again_is_exact():
    x = np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.7]])
    expected = np.zeros((2, 3, 3, 2, 3))
    for b in range(2):
        for i in range(3):
            expected[b, i, i, b, i] = -np.sin(x[b, i])
    np.testing.assert_allclose(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(sine)))(x), expected, rtol=1e-14)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.vmap(adjoint.jacrev(sine)))(x), expected, rtol=1e-14)
    stacked = np.stack([x, 2 * x])
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(sine))))(stacked),
                               np.stack([expected, adjoint.jacrev(adjoint.vmap(adjoint.jacrev(sine)))(2 * x)]),
                               rtol=1e-14)


def test_a_rebound_global_still_gives_fresh_results():
    global SCALE
    x = np.array([[0.2, -0.4], [1.0, 0.5], [-1.3, 0.9]])
    derivative = adjoint.vmap(adjoint.jacrev(sine_of_scaled))
    try:
        for scale in (2.0, -3.0):
            SCALE = scale
            reference = autograd.jacobian(lambda row: anp.sin(scale * row))
            np.testing.assert_allclose(derivative(x), np.stack([reference(row) for row in x]), rtol=1e-14)
    finally:
        SCALE = 2.0


def test_first_rows_of_containers():
    batch = {"a": np.arange(6.0).reshape(3, 2), "b": (np.ones((3, 1)), None)}
    rows = rt.first_rows(batch)
    np.testing.assert_array_equal(rows["a"], [[0.0, 1.0]])
    assert rows["b"][0].shape == (1, 1) and rows["b"][1] is None
    assert rt.vfirst_rows(np.zeros((4, 3, 2))).shape == (4, 1, 2)
