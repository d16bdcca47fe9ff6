"""What the generated code of a Hessian pays for, and that it stays exact.

The references are independent of adjoint: a hand-written Hessian,
autograd, and the gradient's finite differences.
"""
import gast
import numpy as np
import pytest

import adjoint
from adjoint.analysis.shapes import same_shape_classes

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = x.size
    hessian = np.zeros((n, n))
    diagonal = np.zeros(n)
    diagonal[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diagonal[1:] += 200.0
    hessian[np.arange(n), np.arange(n)] = diagonal
    hessian[np.arange(n - 1), np.arange(1, n)] = -400.0 * x[:-1]
    hessian[np.arange(1, n), np.arange(n - 1)] = -400.0 * x[:-1]
    return hessian


def _shape_classes(func, x):
    """The shape classes the reverse transform of ``func`` works with, and
    the ops it read them from, by target name."""
    import adjoint.transforms.reverse as reverse_module

    captured = {}

    def spy(ops, *rest):
        ops = list(ops)
        captured.setdefault("ops", ops)
        return same_shape_classes(ops, *rest)

    reverse_module.same_shape_classes = spy
    try:
        adjoint.grad(func)(x)
    finally:
        reverse_module.same_shape_classes = same_shape_classes
    ops = captured["ops"]
    slices = {}
    for op in ops:
        if op.kind == "assign" and getattr(op.prim, "__name__", "") == "getitem":
            index = op.args[1].slice
            parts = index.elts if isinstance(index, gast.Tuple) else [index]
            slices[tuple((_bound(p.lower), _bound(p.upper)) for p in parts)] = op.targets[0]
    return same_shape_classes(ops), slices


def _bound(node):
    if node is None:
        return None
    if isinstance(node, gast.UnaryOp):
        return -node.operand.value
    return node.value


def stencils(x):
    return np.sum(x[1:] * x[:-1]) + np.sum(x[2:] * x[1:-1] * x[:-2]) + np.sum(x[0:5] * x[1:6]) + np.sum(
        x[-2:] * x[:2])


def rebound(x):
    a = x[1:]
    x = x[1:] * 2.0
    b = x[:-1]
    return np.sum(a) + np.sum(b)


def test_slices_that_keep_as_many_elements_have_one_shape():
    classes, s = _shape_classes(stencils, np.arange(8.0))
    assert classes.same(s[((1, None),)], s[((None, -1),)])  # x[1:], x[:-1]
    assert classes.same(s[((2, None),)], s[((1, -1),)])  # x[2:], x[1:-1]
    assert classes.same(s[((2, None),)], s[((None, -2),)])  # x[2:], x[:-2]
    assert not classes.same(s[((1, None),)], s[((2, None),)])  # x[1:], x[2:]
    # a positive stop or a negative start: lengths that differ for some n
    assert not classes.same(s[((0, 5),)], s[((1, 6),)])
    assert not classes.same(s[((-2, None),)], s[((None, 2),)])


def test_slices_of_a_rebound_name_are_not_merged():
    classes, s = _shape_classes(rebound, np.arange(6.0))
    names = list(s.values())
    assert len(names) >= 2
    assert not any(classes.same(a, b) for a in names for b in names if a != b)


def test_rosenbrock_hessian_code_has_no_shape_helpers_and_the_right_values():
    """x[1:] and x[:-1] have one shape: the backward pass sums nothing back
    (no rt.unbroadcast) and the tangents broadcast nothing (no rt.lift
    between them); the Hessian is still the hand-written one."""
    x = np.random.default_rng(3).uniform(-1.5, 1.5, 30)
    for h in (adjoint.hessian(rosenbrock), adjoint.jacrev(adjoint.jacrev(rosenbrock))):
        for _ in range(3):  # the first call (dense) and the compressed ones after it
            np.testing.assert_allclose(h(x), rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)
        text = adjoint.source(h)
        assert "rt.unbroadcast" not in text
        assert "rt.lift(rt.as_tangent(t1_dot" not in text


def test_short_arrays_where_the_slices_are_empty():
    """``x[2:]``, ``x[1:-1]`` and ``x[:-2]`` are empty for n <= 2: the
    merged shapes must hold there too (autograd as the reference)."""
    def f(x):
        return np.sum(x[2:] * x[1:-1] ** 2 - np.sin(x[:-2]) * x[2:]) + np.sum(x ** 3)

    def f_autograd(x):
        return anp.sum(x[2:] * x[1:-1] ** 2 - anp.sin(x[:-2]) * x[2:]) + anp.sum(x ** 3)

    for n in (1, 2, 3):
        x = np.linspace(0.3, 1.1, n)
        np.testing.assert_allclose(adjoint.grad(f)(x), autograd.grad(f_autograd)(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(adjoint.hessian(f)(x), autograd.hessian(f_autograd)(x), rtol=1e-12,
                                   atol=1e-12)


def test_slices_of_a_matrix_along_both_axes():
    def f(X):
        return np.sum((X[1:, :] - X[:-1]) ** 2 * X[:-1, 1:].sum()) + np.sum(X[1:, :-1] * X[:-1, 1:] * X[1:, 1:])

    def f_autograd(X):
        return anp.sum((X[1:, :] - X[:-1]) ** 2 * X[:-1, 1:].sum()) + anp.sum(X[1:, :-1] * X[:-1, 1:] * X[1:, 1:])

    X = np.random.default_rng(5).normal(size=(4, 3))
    np.testing.assert_allclose(adjoint.grad(f)(X), autograd.grad(f_autograd)(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adjoint.hessian(f)(X), autograd.hessian(f_autograd)(X), rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ specialised to the shapes of a call


def _specialisations(h, x):
    """The specialised jvp functions ``h``'s compressed passes made so far."""
    from adjoint.api import sparse as sparse_api

    computer = next(c.cell_contents for c in h.__closure__
                    if isinstance(c.cell_contents, sparse_api._DenseHessian))
    plans = [p for p in computer.plans.values() if isinstance(p, tuple)]
    transforms = {id(c): c for c in (computer.find((x,), plan[0], False, ()) for plan in plans)}
    return [f for c in transforms.values() for f in getattr(c, "specialized", {}).values()]


def test_the_compressed_rosenbrock_passes_run_specialised_code_with_the_same_numbers():
    x = np.random.default_rng(4).uniform(-1.5, 1.5, 40)
    h = adjoint.hessian(rosenbrock)
    first = h(x)  # the dense passes
    for _ in range(2):
        np.testing.assert_array_equal(h(x), first)  # bit for bit
    np.testing.assert_allclose(first, rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)
    made = [f for f in _specialisations(h, x) if f is not None]
    assert len(made) == 1
    text = made[0].source
    # decided by the shapes: the seed, its broadcast, the gradient's own value, the checks
    for gone in ("output_basis", "unreduce", "np.sum", "jacobian_from_rows", "lift", "as_tangent", "item_tangent"):
        assert gone not in text
    assert len(text.splitlines()) <= 26
    y = np.random.default_rng(5).uniform(-1.5, 1.5, 40)  # new values, same shapes: the same code
    np.testing.assert_allclose(h(y), rosenbrock_hessian(y), rtol=1e-12, atol=1e-9)
    z = np.random.default_rng(6).uniform(-1.5, 1.5, 25)  # another shape: its own specialisation
    for _ in range(3):
        np.testing.assert_allclose(h(z), rosenbrock_hessian(z), rtol=1e-12, atol=1e-9)


WEIGHTS = np.linspace(0.5, 2.0, 12)


def weighted(x):
    return np.sum(WEIGHTS * np.sin(x[1:] * x[:-1])) + np.sum(np.exp(0.1 * x) * x ** 2)


def weighted_autograd(x, weights):
    return anp.sum(weights * anp.sin(x[1:] * x[:-1])) + anp.sum(anp.exp(0.1 * x) * x ** 2)


def test_code_that_reads_a_global_array_is_not_specialised_and_follows_it(monkeypatch):
    x = np.linspace(-1.0, 1.3, 13)
    h = adjoint.hessian(weighted)
    for _ in range(3):
        np.testing.assert_allclose(h(x), autograd.hessian(weighted_autograd)(x, WEIGHTS), rtol=1e-10, atol=1e-12)
    assert _specialisations(h, x) and not any(_specialisations(h, x))
    monkeypatch.setitem(globals(), "WEIGHTS", WEIGHTS[::-1].copy())
    for _ in range(2):
        np.testing.assert_allclose(h(x), autograd.hessian(weighted_autograd)(x, globals()["WEIGHTS"]),
                                   rtol=1e-10, atol=1e-12)


def smooth(x):
    y = np.tanh(x[2:] - 0.5 * x[:-2]) * np.log1p(x[1:-1] ** 2)
    return np.sum(y ** 2) / 4.0 + np.sum(np.cos(x)) - np.sum(x[1:] * x[:-1]) / 2.0


def smooth_autograd(x):
    y = anp.tanh(x[2:] - 0.5 * x[:-2]) * anp.log1p(x[1:-1] ** 2)
    return anp.sum(y ** 2) / 4.0 + anp.sum(anp.cos(x)) - anp.sum(x[1:] * x[:-1]) / 2.0


def test_a_banded_hessian_of_several_ufuncs_against_autograd():
    rng = np.random.default_rng(8)
    h = adjoint.hessian(smooth)
    for n in (16, 16, 16, 21, 21, 21):
        x = rng.normal(size=n)
        np.testing.assert_allclose(h(x), autograd.hessian(smooth_autograd)(x), rtol=1e-10, atol=1e-12)
    assert any(f is not None for f in _specialisations(h, x))


def test_exact_scaling_chains_fold_bit_for_bit_and_only_there():
    import ast
    from adjoint.backend.specialize import _exact_scalings, _live_only

    body = ast.parse(
        "a = -x\n"
        "b = 2 * a\n"
        "c = -b\n"  # c = 2 * x: a and b read once
        "d = 3.0 * x\n"
        "e = 2 * d\n"  # 3.0 is not a power of two: d stays
        "f = -x\n"
        "g = 4.0 * f\n"
        "h = f + g\n"  # f is read twice: g keeps reading it
        "k = c + -h\n"
        "out = k + e\n").body
    text = ast.unparse(ast.Module(body=_live_only(_exact_scalings(body) + [
        ast.Return(value=ast.Name(id="out", ctx=ast.Load()))]), type_ignores=[]))
    assert "c = 2 * x" in text and "a = " not in text and "b = " not in text
    assert "d = 3.0 * x" in text and "e = 2 * d" in text
    assert "g = 4.0 * f" in text
    assert "k = c - h" in text
    x = np.random.default_rng(9).normal(size=50) * 1e3

    def run(lines):
        scope = {"x": x}
        exec(lines, scope)
        return scope["out"]

    original = "\n".join(ast.unparse(s) for s in ast.parse(
        "a = -x\nb = 2 * a\nc = -b\nd = 3.0 * x\ne = 2 * d\nf = -x\ng = 4.0 * f\nh = f + g\nk = c + -h\n"
        "out = k + e\n").body)
    folded = "\n".join(line for line in text.splitlines() if not line.startswith("return")).replace("    ", "")
    np.testing.assert_array_equal(run(folded), run(original))


def test_float32_arguments_get_their_own_specialisation_and_the_dense_answer():
    x = np.random.default_rng(10).uniform(-1.5, 1.5, 30)
    h = adjoint.hessian(rosenbrock)
    for values in (x.astype(np.float32), x):
        first = h(values)  # a new shape key: the dense passes first
        for _ in range(2):
            again = h(values)
            assert again.dtype == first.dtype
            np.testing.assert_allclose(again, first, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(first, rosenbrock_hessian(x), rtol=1e-4, atol=1e-2)
    assert sum(f is not None for f in _specialisations(h, x)) == 2
