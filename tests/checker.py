"""Derivative checks against central finite differences, in float64.

``check_vjp`` tests the adjoint identity ``<v, J u> == <u, vjp(v)>`` for
random directions ``u`` (shaped like the inputs) and ``v`` (shaped like the
output), where ``J u`` is a central difference: one identity per random pair
checks the whole Jacobian at the cost of two function calls.
``check_jacobian`` compares ``adjoint.jacrev`` element by element with a
finite-difference Jacobian, and checks that ``chunk_size`` does not change
the result.

Both take the arguments as float arrays (or Python floats) and accept an
output that is an array or a tuple/list/dict of arrays. Failures raise
``AssertionError``, so the checks can themselves be tested
(``tests/test_checker.py``).
"""
import numpy as np

import adjoint

STEP = 1e-6
RTOL = 1e-6
ATOL = 1e-7
CHUNK_SIZES = (None, 1, 2, 3)


def leaves(tree):
    """The arrays of an output, depth first (dicts in insertion order)."""
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in leaves(item)]
    return [np.asarray(tree, dtype=np.float64)]


def as_float64(args):
    return [np.asarray(arg, dtype=np.float64) for arg in args]


def directional_derivative(f, args, directions, step=STEP):
    """``J u`` by central differences, one array per output leaf."""
    plus = leaves(f(*[a + step * u for a, u in zip(args, directions, strict=True)]))
    minus = leaves(f(*[a - step * u for a, u in zip(args, directions, strict=True)]))
    return [(p - m) / (2 * step) for p, m in zip(plus, minus, strict=True)]


def tolerance(terms, values, rtol=RTOL, atol=ATOL):
    """Allowed error of a finite-difference result: relative to the size of
    the terms summed (cancellation does not shrink it) plus an absolute part
    that grows with the function's values (their rounding is divided by the
    step)."""
    scale = max([1.0] + [float(np.max(np.abs(v), initial=0.0)) for v in values])
    return rtol * terms + atol * scale


def check_vjp(f, args, seed=0, trials=2, step=STEP, rtol=RTOL, atol=ATOL):
    """Assert ``<v, J u> == <u, vjp(v)>`` for ``trials`` random pairs.

    Every argument is differentiated (as ``adjoint.vjp`` does).
    """
    args = as_float64(args)
    rng = np.random.default_rng(seed)
    output, vjp_fn = adjoint.vjp(f, *args)
    out_leaves = leaves(output)
    for trial in range(trials):
        directions = [rng.standard_normal(a.shape) for a in args]
        cotangent_leaves = [rng.standard_normal(o.shape) for o in out_leaves]
        cotangent = rebuild(output, cotangent_leaves)
        input_bars = vjp_fn(cotangent)
        assert len(input_bars) == len(args), f"vjp returned {len(input_bars)} adjoints for {len(args)} inputs"
        for bar, arg in zip(input_bars, args, strict=True):
            assert np.shape(bar) == arg.shape, f"adjoint shape {np.shape(bar)} != input shape {arg.shape}"
        jvp = directional_derivative(f, args, directions, step)
        forward_side = sum(np.vdot(v, ju) for v, ju in zip(cotangent_leaves, jvp, strict=True))
        reverse_side = sum(np.vdot(u, bar) for u, bar in zip(directions, input_bars, strict=True))
        terms = sum(np.vdot(np.abs(v), np.abs(ju)) for v, ju in zip(cotangent_leaves, jvp, strict=True))
        allowed = tolerance(terms, out_leaves, rtol, atol)
        assert abs(forward_side - reverse_side) <= allowed, (
            f"adjoint identity fails (trial {trial}): <v, J u> = {forward_side!r} by finite "
            f"differences, <u, vjp(v)> = {reverse_side!r}, allowed error {allowed:.3g}"
        )


def rebuild(output, items):
    """``items`` (one per leaf) in the structure of ``output``."""
    items = iter(items)

    def build(tree):
        if isinstance(tree, dict):
            return {key: build(value) for key, value in tree.items()}
        if isinstance(tree, (tuple, list)):
            return type(tree)(build(item) for item in tree)
        return next(items)

    return build(output)


def numerical_jacobian(f, args, argnum, step=STEP):
    """``d f / d args[argnum]`` by central differences, one array per output
    leaf, each shaped ``output.shape + input.shape``."""
    x = args[argnum]
    columns = []
    for position in range(x.size):
        direction = np.zeros(x.size)
        direction[position] = 1.0
        directions = [np.zeros_like(a) for a in args]
        directions[argnum] = direction.reshape(x.shape)
        columns.append(directional_derivative(f, args, directions, step))
    out_leaves = leaves(f(*args))
    return [
        np.stack([column[k] for column in columns], axis=-1).reshape(out.shape + x.shape)
        if columns else np.zeros(out.shape + x.shape)
        for k, out in enumerate(out_leaves)
    ]


def check_jacobian(f, args, argnums=0, step=STEP, rtol=RTOL, atol=ATOL):
    """Assert ``adjoint.jacrev(f, argnums)`` matches finite differences and
    gives the same result for every chunk size in ``CHUNK_SIZES``.

    Returns the Jacobian blocks (one per output leaf and argnum, output
    major), so callers can compare them with another library.
    """
    args = as_float64(args)
    positions = argnums if isinstance(argnums, tuple) else (argnums,)
    results = [leaves(adjoint.jacrev(f, argnums, chunk_size=size)(*args)) for size in CHUNK_SIZES]
    for size, blocks in zip(CHUNK_SIZES[1:], results[1:], strict=True):
        for block, reference in zip(blocks, results[0], strict=True):
            np.testing.assert_array_equal(block, reference, err_msg=f"chunk_size={size} differs from None")
    out_values = leaves(f(*args))
    numerical = [numerical_jacobian(f, args, p, step) for p in positions]
    expected = [per_arg[k] for k in range(len(out_values)) for per_arg in numerical]
    assert len(results[0]) == len(expected), f"jacrev gave {len(results[0])} blocks, expected {len(expected)}"
    for block, reference in zip(results[0], expected, strict=True):
        assert block.shape == reference.shape, f"Jacobian block shape {block.shape} != {reference.shape}"
        np.testing.assert_allclose(block, reference, rtol=rtol, atol=tolerance(0.0, out_values, rtol, atol))
    return results[0]
