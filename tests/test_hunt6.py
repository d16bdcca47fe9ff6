"""Wrong numbers and crashes found by hunting this session's new features
(issue 9, sixth round), as tests. Each test names what failed before its fix.
"""
import numpy as np

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
