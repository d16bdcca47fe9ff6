"""vmap of every primitive of the rule table (tests/test_rules.py, one row
per primitive): the result is the per-example stack, and no per-example loop
runs without vmap's warning naming the construct (SPEC.md section 3: the
batched code calls NumPy once on the whole batch; a loop only where a
construct cannot be batched, announced). ``rt.PER_EXAMPLE_LOOPS`` counts the
loops (every one goes through ``rt.stack_examples``). The derivatives under
vmap are audited the same way by ``tools/vmap_audit.py`` (slower).
"""
import types
import warnings

import numpy as np

import adjoint
from adjoint import runtime as rt
from conftest import tree_leaves
import test_rules as table

B = 2


def _one_row_per_primitive():
    seen, rows = set(), []
    for row in table.ROWS:
        if row.skip or id(row.prim) in seen:
            continue
        seen.add(id(row.prim))
        rows.append(row)
    return rows


def _batch(row):
    rng = np.random.default_rng(0)
    return [np.stack([a] + [a + 0.01 * rng.standard_normal(np.shape(a)) for _ in range(B - 1)])
            for a in row.arguments()]


def _fresh(func):
    """A new function object with ``func``'s code: vmap transforms it anew."""
    if isinstance(func, types.FunctionType):
        return types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__,
                                  func.__closure__)
    return func


def silent_loops(rows):
    """The rows whose vmap ran a per-example loop without a warning, and
    those whose result is not the per-example stack."""
    silent, wrong = [], []
    for row in rows:
        args = _batch(row)
        before = rt.PER_EXAMPLE_LOOPS[0]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = adjoint.vmap(_fresh(row.func))(*args)
        loops = rt.PER_EXAMPLE_LOOPS[0] - before
        if loops and not any("once per example" in str(w.message) for w in caught):
            silent.append(row.id)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            examples = [row.func(*[a[i] for a in args]) for i in range(B)]
        for position, leaf in enumerate(tree_leaves(got)):
            expected = np.stack([np.asarray(tree_leaves(e)[position]) for e in examples])
            if np.shape(leaf) != expected.shape or not np.allclose(leaf, expected, rtol=1e-10, atol=1e-12,
                                                                   equal_nan=True):
                wrong.append(row.id)
                break
    return silent, wrong


def test_no_primitive_loops_over_the_examples_without_a_warning():
    silent, wrong = silent_loops(_one_row_per_primitive())
    assert not silent, f"vmap ran a per-example loop without a warning: {silent}"
    assert not wrong, f"vmap differs from the per-example stack: {wrong}"


def test_the_audit_finds_a_silent_loop(monkeypatch):
    # a batching helper that loops over the examples without saying so is reported
    # (rt.stack_examples, which every loop of the runtime calls, announces its loop)
    def looping(a, b, rcond=None):
        rt.count_per_example_loop()  # (rt.stack_examples would announce it)
        results = [np.linalg.lstsq(a[i], b[i], rcond=rcond) for i in range(len(a))]
        return tuple(np.stack([np.asarray(r[k]) for r in results]) for k in range(4))

    monkeypatch.setattr(rt, "vlstsq", looping)
    rows = [row for row in _one_row_per_primitive() if row.prim is np.linalg.lstsq]
    assert rows and silent_loops(rows) == ([rows[0].id], [])


def test_hessian_of_a_function_of_copied_sequences_runs_once_on_the_batch():
    # the tangent of a list of arrays NumPy reads as one array (rt.as_tangent) is
    # stacked for the whole batch (it ran once per example, without a warning)
    def func(x, y):
        pair = list((x, y * 2.0))
        rows = tuple(np.stack([x, y]))
        return np.sum(pair[0] * pair[1] * rows[1] + np.sum(list((x, np.sin(y))), axis=0))

    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    hess = adjoint.hessian(func, argnums=(0, 1))
    before = rt.PER_EXAMPLE_LOOPS[0]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*once per example.*")
        got = adjoint.vmap(hess)(x, y)
    assert rt.PER_EXAMPLE_LOOPS[0] == before
    for i in range(2):
        for j in range(2):
            expected = np.stack([hess(x[k], y[k])[i][j] for k in range(3)])
            np.testing.assert_allclose(got[i][j], expected, rtol=1e-12, atol=1e-12)
    # d2/dy2 of sum(2 x y^2 + sin y) per element: 4 x - sin y (an analytic check)
    np.testing.assert_allclose(np.diagonal(got[1][1][0]), 4.0 * x[0] - np.sin(y[0]), rtol=1e-12)
