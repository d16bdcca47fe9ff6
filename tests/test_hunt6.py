"""Wrong numbers and crashes found by hunting this session's new features
(issue 9, sixth round), as tests. Each test names what failed before its fix.
"""
import numpy as np
import pytest

import adjoint
from adjoint.frontend import parse


def _step(x, y):
    v = np.sin(x) * y
    try:
        if v[1] > 0.0:
            raise ValueError("positive")
        w = np.exp(0.3 * v)
    except ValueError:
        w = np.sin(y)
    return w * w


def _caught(x, y):
    return np.sum(_step(x * 1.0, y * 1.0))


def _reraise(x):
    try:
        return np.sum(x ** 2)
    except ValueError as problem:
        raise problem


def _central(f, x, eps=1e-6):
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    return np.stack(columns, axis=-1)


def test_third_read_of_a_function_keeps_except_names():
    """frontend/parse_block.py kept the first read as an ast tree and
    converted it on the second; gast's nodes are ast.AST too, so every later
    read converted the gast tree again, wrapping ``except E as e``'s name in
    one more Name each time (AttributeError inside the front end on the
    third read: a Hessian through a callee whose generated code catches)."""
    for _ in range(3):
        handler = parse.parse_function(_reraise).node.body[0].handlers[0]
        assert handler.name.id == "problem"


def test_hessian_through_a_callee_with_try():
    """hessian of a function calling one with try/except (raised on the
    third read of the callee's generated code); against central differences
    of the gradient."""
    x = np.array([0.5, -0.2, 0.3])
    y = np.array([0.1, 0.4, 0.9])
    grad = adjoint.grad(_caught)
    np.testing.assert_allclose(adjoint.hessian(_caught)(x, y), _central(lambda v: grad(v, y), x),
                               rtol=1e-6, atol=1e-7)


class _Layer:
    def __init__(self, w):
        self.w = w


class _Block:
    def __init__(self, layer):
        self.layer = layer


_BLOCK = _Block(_Layer(np.ones(3)))
_SET_ALIKE = _Block(_Layer(np.ones(3)))


def _reads_then_changes(x):
    out = _BLOCK.layer.w * x
    _BLOCK.layer.w = _BLOCK.layer.w + x
    return out


def _sets_alike(x):
    _SET_ALIKE.layer.w = _SET_ALIKE.layer.w * 2.0 + 0.0 * np.sum(x)
    return x * _SET_ALIKE.layer.w


def test_vmap_refuses_examples_sharing_a_module_object_through_another():
    """vmap ran a function changing ``module_object.block.layer.w`` with
    batched values once per example on the one object, so the second example
    read what the first stored (rows 1.. silently not f(x_i)); the change
    through another object escaped the front end's check. Now refused at the
    user's line, naming the object, and the object is left as before."""
    xs = np.arange(6.0).reshape(2, 3)
    with pytest.warns(RuntimeWarning):
        with pytest.raises(adjoint.errors.UnsupportedSyntaxError, match="'_BLOCK'") as caught:
            adjoint.vmap(_reads_then_changes)(xs)
    assert "_BLOCK.layer.w = _BLOCK.layer.w + x" in str(caught.value)
    np.testing.assert_array_equal(_BLOCK.layer.w, np.ones(3))


def test_vmap_per_example_loop_keeps_a_change_made_alike():
    """Examples that each start from the module object's state and leave
    it alike are one change (each example read the state before the call:
    w = 2, not 2, 4, 8)."""
    with pytest.warns(RuntimeWarning):
        out = adjoint.vmap(_sets_alike)(np.ones((3, 3)))
    np.testing.assert_array_equal(out, np.full((3, 3), 2.0))
    np.testing.assert_array_equal(_SET_ALIKE.layer.w, np.full(3, 2.0))


def _cube_root_of_item(x):
    return np.cbrt(x[0] ** 3) + x[1]


def _cube_root_of_sum(x):
    return np.cbrt(x[0] ** 3 + np.sum(x[1:] ** 3))


def test_jacfwd_zero_slope_meets_infinite_slope_through_items_and_sums():
    """docs/supported.md (Zeros and infinite slopes): a zero tangent that a
    zero slope computed meets an infinite slope as the chain rule has it,
    0 * inf = NaN, in both modes; the seed's own zeros stay exact. jacfwd
    gave 0 (a wrong slope: cbrt(x0 ** 3) = x0) once the tangent went
    through x[0] (rt.as_tangent made the marked tangent a plain array), a
    sum (np.sum dropped the marks) or a sum of two terms (a tangent with no
    zero of the seed left was made plain)."""
    zero = np.zeros(3)
    with np.errstate(all="ignore"):
        item = adjoint.jacfwd(_cube_root_of_item)(zero[:2])
        summed = adjoint.jacfwd(_cube_root_of_sum)(zero)
        summed_rev = adjoint.jacrev(_cube_root_of_sum)(zero)
    # the chain rule at 0: (1 / (3 * 0 ** 2)) * (3 * 0 ** 2) = NaN; x1 enters with slope 1
    assert np.isnan(item[0]) and item[1] == 1.0
    assert np.isnan(summed).all() and np.isnan(summed_rev).all()
    # away from 0 the marks change nothing: both slopes are 1 where only x0 moves
    np.testing.assert_allclose(adjoint.jacfwd(_cube_root_of_item)(np.array([0.5, 0.0])), [1.0, 1.0])


def _writes_into(x, y):
    v = y * 3.0 + x
    y[3] = np.mean(y)
    return np.sum(v * x)


def test_derivative_of_a_vmap_writing_into_its_argument_is_refused():
    """jacrev(vmap(f)) of an f that changes its argument in place: the
    value pass wrote into the caller's array and the tangent pass read it
    (d/dx3 used the new y[3]: silently wrong, found by tools/fuzz_features.py
    NEWER=1, seed 96168; the right slope is 3 * y + 2 * x). Refused, naming
    the argument, before anything runs."""
    xs = np.arange(8.0).reshape(2, 4)
    ys = np.linspace(0.0, 1.0, 8).reshape(2, 4)
    with pytest.raises(adjoint.errors.TransformError, match="'y' in place"):
        adjoint.jacrev(adjoint.vmap(_writes_into))(xs, ys)
    np.testing.assert_array_equal(ys, np.linspace(0.0, 1.0, 8).reshape(2, 4))
