"""vmap of the products and matrix functions (the linalg family): each
primitive runs as one NumPy call on the whole batch (no per-example loop in
the generated code), and matches a loop over the examples, with the batch on
any axis and with one argument unbatched. Also vmap of jacrev of functions
built on products, whose generated backward code calls the product helpers
(matmul_adjoint_left, dot_adjoint_right, inv_adjoint, solve_transposed, ...)
with a cotangent that has its own rows after the batch axis.

Functions are lambdas, one per line: adjoint reads their source.
"""
import warnings
import zlib

import numpy as np
import pytest

import adjoint

NUMPY_2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
from adjoint.api import derivatives
from adjoint.backend import cache
from adjoint import runtime as rt

B = 4


class Case:
    def __init__(self, label, func, shapes, spd=False):
        self.label = label
        self.func = func
        self.shapes = shapes
        self.spd = spd  # the square arguments made symmetric positive definite

    def examples(self):
        rng = np.random.default_rng(zlib.crc32(self.label.encode()))
        out = []
        for _ in range(B):
            args = []
            for shape in self.shapes:
                value = rng.standard_normal(shape)
                if self.spd and len(shape) >= 2 and shape[-1] == shape[-2]:
                    value = value @ np.swapaxes(value, -1, -2) + shape[-1] * np.eye(shape[-1])
                args.append(value)
            out.append(args)
        return out


EYE3 = np.eye(3)

CASES = [
    # matmul, every combination of ranks
    Case("matmul-mv", lambda a, b: a @ b, [(3, 4), (4,)]),
    Case("matmul-vm", lambda a, b: a @ b, [(4,), (4, 3)]),
    Case("matmul-vv", lambda a, b: a @ b, [(4,), (4,)]),
    Case("matmul-mm", lambda a, b: np.matmul(a, b), [(3, 4), (4, 2)]),
    Case("matmul-stack-m", lambda a, b: a @ b, [(2, 3, 4), (4, 2)]),
    Case("matmul-stack-v", lambda a, b: a @ b, [(2, 3, 4), (4,)]),
    Case("matmul-v-stack", lambda a, b: a @ b, [(4,), (2, 4, 3)]),
    Case("matmul-m-stack", lambda a, b: a @ b, [(3, 4), (2, 4, 5)]),
    Case("matmul-stacks", lambda a, b: a @ b, [(2, 3, 4), (2, 4, 5)]),
    Case("matmul-broadcast-stacks", lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
    # dot
    Case("dot-0d", lambda a, b: np.dot(a, b), [(), (3,)]),
    Case("dot-vv", lambda a, b: np.dot(a, b), [(3,), (3,)]),
    Case("dot-mv", lambda a, b: np.dot(a, b), [(3, 4), (4,)]),
    Case("dot-mm", lambda a, b: np.dot(a, b), [(3, 4), (4, 2)]),
    Case("dot-nd-m", lambda a, b: np.dot(a, b), [(2, 3, 4), (4, 5)]),
    Case("dot-nd-nd", lambda a, b: np.dot(a, b), [(2, 3, 4), (2, 4, 5)]),
    Case("dot-v-nd", lambda a, b: np.dot(a, b), [(3,), (2, 3, 4)]),
    Case("dot-method", lambda a, b: a.dot(b), [(3, 4), (4,)]),
    # outer, inner, vdot
    Case("outer", lambda a, b: np.outer(a, b), [(3,), (4,)]),
    Case("outer-nd", lambda a, b: np.outer(a, b), [(2, 3), (4,)]),
    Case("inner-vv", lambda a, b: np.inner(a, b), [(3,), (3,)]),
    Case("inner-mm", lambda a, b: np.inner(a, b), [(2, 3), (4, 3)]),
    Case("inner-nd-v", lambda a, b: np.inner(a, b), [(2, 2, 3), (3,)]),
    Case("inner-0d", lambda a, b: np.inner(a, b), [(), (3, 4)]),
    Case("vdot", lambda a, b: np.vdot(a, b), [(3,), (3,)]),
    Case("vdot-nd", lambda a, b: np.vdot(a, b), [(2, 3), (3, 2)]),
    # tensordot
    Case("tensordot-2", lambda a, b: np.tensordot(a, b), [(2, 3, 4), (3, 4, 5)]),
    Case("tensordot-1", lambda a, b: np.tensordot(a, b, axes=1), [(2, 3), (3, 4)]),
    Case("tensordot-0", lambda a, b: np.tensordot(a, b, axes=0), [(2,), (3,)]),
    Case("tensordot-pairs", lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 0])), [(3, 2, 4), (4, 5, 3)]),
    Case("tensordot-neg", lambda a, b: np.tensordot(a, b, axes=([-1], [0])), [(2, 3), (3, 4)]),
    # einsum
    Case("einsum-mv", lambda a, b: np.einsum("ij,j->i", a, b), [(3, 4), (4,)]),
    Case("einsum-mm", lambda a, b: np.einsum("ij,jk->ik", a, b), [(3, 4), (4, 2)]),
    Case("einsum-implicit", lambda a, b: np.einsum("ij,jk", a, b), [(3, 4), (4, 2)]),
    Case("einsum-ellipsis", lambda a, b: np.einsum("...ij,...jk->...ik", a, b), [(2, 3, 4), (4, 2)]),
    Case("einsum-diagonal", lambda a: np.einsum("ii->i", a), [(3, 3)]),
    Case("einsum-trace", lambda a: np.einsum("ii", a), [(3, 3)]),
    Case("einsum-sum", lambda a: np.einsum("ij->", a), [(3, 4)]),
    Case("einsum-three", lambda a, b, c: np.einsum("ij,jk,k->i", a, b, c), [(3, 4), (4, 2), (2,)]),
    Case("einsum-optimize", lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c, optimize=True),
         [(3, 4), (4, 2), (2, 5)]),
    # kron, cross, diag, diagflat
    Case("kron", lambda a, b: np.kron(a, b), [(2, 3), (3, 2)]),
    Case("kron-1d", lambda a, b: np.kron(a, b), [(2,), (3,)]),
    Case("kron-ranks", lambda a, b: np.kron(a, b), [(2, 2), (3,)]),
    Case("cross", lambda a, b: np.cross(a, b), [(3,), (3,)]),
    Case("cross-broadcast", lambda a, b: np.cross(a, b), [(4, 3), (3,)]),
    Case("cross-axis", lambda a, b: np.cross(a, b, axis=0), [(3, 4), (3, 4)]),
    Case("cross-axes", lambda a, b: np.cross(a, b, axisa=0, axisb=-1, axisc=0), [(3, 4), (4, 3)]),
    Case("diag-1d", lambda v: np.diag(v), [(4,)]),
    Case("diag-1d-k", lambda v: np.diag(v, k=1), [(4,)]),
    Case("diag-1d-negk", lambda v: np.diag(v, -2), [(3,)]),
    Case("diag-2d", lambda v: np.diag(v), [(3, 4)]),
    Case("diag-2d-k", lambda v: np.diag(v, k=1), [(3, 4)]),
    Case("diagflat", lambda v: np.diagflat(v), [(2, 3)]),
    Case("diagflat-k", lambda v: np.diagflat(v, k=-1), [(3,)]),
    # matrix functions
    Case("inv", lambda a: np.linalg.inv(a), [(3, 3)], spd=True),
    Case("inv-stack", lambda a: np.linalg.inv(a), [(2, 3, 3)], spd=True),
    Case("solve-vector", lambda a, b: np.linalg.solve(a, b), [(3, 3), (3,)], spd=True),
    Case("solve-matrix", lambda a, b: np.linalg.solve(a, b), [(3, 3), (3, 2)], spd=True),
    *([Case("solve-stack-vector", lambda a, b: np.linalg.solve(a, b), [(2, 3, 3), (3,)], spd=True),] if NUMPY_2 else []),  # NumPy 2 only
    Case("solve-stack-b", lambda a, b: np.linalg.solve(a, b), [(3, 3), (2, 3, 4)], spd=True),
    Case("det", lambda a: np.linalg.det(a), [(3, 3)]),
    Case("det-stack", lambda a: np.linalg.det(a), [(2, 3, 3)]),
    Case("slogdet", lambda a: np.linalg.slogdet(a), [(3, 3)]),
    Case("slogdet-logdet", lambda a: np.linalg.slogdet(a)[1], [(2, 3, 3)]),
    Case("cholesky", lambda a: np.linalg.cholesky(a), [(3, 3)], spd=True),
    *([Case("cholesky-upper", lambda a: np.linalg.cholesky(a, upper=True), [(2, 3, 3)], spd=True),] if NUMPY_2 else []),  # NumPy 2 only
    Case("eigh", lambda a: np.linalg.eigh(a), [(3, 3)], spd=True),
    Case("eigh-upper", lambda a: np.linalg.eigh(a, UPLO="U")[0], [(3, 3)], spd=True),
    Case("eigvalsh", lambda a: np.linalg.eigvalsh(a), [(2, 3, 3)], spd=True),
    Case("pinv", lambda a: np.linalg.pinv(a), [(3, 4)]),
    Case("pinv-rcond", lambda a: np.linalg.pinv(a, rcond=1e-10), [(4, 3)]),
    Case("matrix_power", lambda a: np.linalg.matrix_power(a, 3), [(3, 3)]),
    Case("matrix_power-neg", lambda a: np.linalg.matrix_power(a, -2), [(2, 3, 3)], spd=True),
    Case("svd-values", lambda a: np.linalg.svd(a, compute_uv=False), [(3, 4)]),
    Case("svd", lambda a: np.linalg.svd(a, full_matrices=False), [(4, 3)]),
    *([Case("svdvals", lambda a: np.linalg.svdvals(a), [(2, 4, 3)]),] if NUMPY_2 else []),  # NumPy 2 only
    Case("qr", lambda a: np.linalg.qr(a), [(4, 3)]),
    Case("qr-r", lambda a: np.linalg.qr(a, mode="r"), [(2, 4, 3)]),
    Case("lstsq", lambda a, b: np.linalg.lstsq(a, b), [(5, 3), (5,)]),
    Case("lstsq-matrix", lambda a, b: np.linalg.lstsq(a, b, rcond=None), [(5, 3), (5, 2)]),
    Case("lstsq-x", lambda a, b: np.linalg.lstsq(a, b)[0], [(4, 4), (4,)]),
    Case("multi_dot", lambda a, b, c: np.linalg.multi_dot([a, b, c]), [(3, 4), (4, 5), (5,)]),
    Case("multi_dot-row", lambda a, b, c: np.linalg.multi_dot([a, b, c]), [(4,), (4, 3), (3, 2)]),
    # statistics, convolutions
    Case("cov", lambda m: np.cov(m), [(3, 5)]),
    Case("cov-1d", lambda m: np.cov(m), [(5,)]),
    Case("cov-rowvar", lambda m: np.cov(m, rowvar=False), [(5, 3)]),
    Case("cov-bias", lambda m: np.cov(m, bias=True), [(3, 5)]),
    Case("cov-ddof", lambda m: np.cov(m, ddof=2), [(2, 5)]),
    Case("corrcoef", lambda x: np.corrcoef(x), [(3, 5)]),
    Case("corrcoef-1d", lambda x: np.corrcoef(x), [(5,)]),
    Case("corrcoef-rowvar", lambda x: np.corrcoef(x, rowvar=False), [(5, 3)]),
    Case("convolve", lambda a, v: np.convolve(a, v), [(5,), (3,)]),
    Case("convolve-short-first", lambda a, v: np.convolve(a, v), [(3,), (5,)]),
    Case("convolve-same", lambda a, v: np.convolve(a, v, mode="same"), [(6,), (4,)]),
    Case("convolve-same-short", lambda a, v: np.convolve(a, v, "same"), [(4,), (6,)]),
    Case("convolve-valid", lambda a, v: np.convolve(a, v, mode="valid"), [(3,), (5,)]),
    Case("correlate", lambda a, v: np.correlate(a, v), [(5,), (3,)]),
    Case("correlate-full", lambda a, v: np.correlate(a, v, mode="full"), [(3,), (5,)]),
    Case("correlate-same", lambda a, v: np.correlate(a, v, "same"), [(6,), (4,)]),
    Case("correlate-same-short", lambda a, v: np.correlate(a, v, "same"), [(4,), (6,)]),
    Case("correlate-valid-short", lambda a, v: np.correlate(a, v, "valid"), [(3,), (5,)]),
]


def _sources(compiled, seen=None):
    seen = set() if seen is None else seen
    if id(compiled) in seen:
        return []
    seen.add(id(compiled))
    found = [compiled.source]
    for callee in getattr(compiled, "callee_transforms", ()):
        found.extend(_sources(callee, seen))
    return found


def _assert_no_loop(func, positions):
    for source in _sources(cache.get_vmap(func, positions)):
        assert "vmap_loop" not in source, source


def _dims_variants(case):
    """(label, in_dims): batch axis first, batch axis last, and (with several
    arguments) each argument unbatched in turn."""
    variants = [("dim0", (0,) * len(case.shapes)),
                ("dimlast", tuple(len(shape) for shape in case.shapes))]
    if len(case.shapes) > 1:
        for i in range(len(case.shapes)):
            variants.append((f"none{i}", tuple(None if j == i else 0 for j in range(len(case.shapes)))))
    return variants


def _stack(results):
    first = results[0]
    if isinstance(first, tuple):
        return tuple(_stack([r[i] for r in results]) for i in range(len(first)))
    return np.stack([np.asarray(r) for r in results])


def _assert_same(got, expected, label):
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected), (label, type(got))
        for g, e in zip(got, expected, strict=True):
            _assert_same(g, e, label)
        return
    got = np.asarray(got)
    assert got.shape == expected.shape, (label, got.shape, expected.shape)
    assert got.dtype == expected.dtype, (label, got.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13, err_msg=label)


def _run(func, examples, in_dims):
    args = []
    for position, dim in enumerate(in_dims):
        if dim is None:
            args.append(examples[0][position])
        else:
            args.append(np.moveaxis(np.stack([e[position] for e in examples]), 0, dim))
    expected = _stack([func(*[examples[0][p] if d is None else e[p] for p, d in enumerate(in_dims)])
                       for e in examples])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = adjoint.vmap(func, in_dims)(*args)
    return got, expected


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_vmap_linalg(case):
    examples = case.examples()
    for label, in_dims in _dims_variants(case):
        got, expected = _run(case.func, examples, in_dims)
        _assert_same(got, expected, label)
        positions = tuple(i for i, d in enumerate(in_dims) if d is not None)
        _assert_no_loop(case.func, positions)


def test_einsum_interleaved_form_still_right():
    f = lambda a, b: np.einsum(a, [0, 1], b, [1], [0])  # noqa: E731
    a, b = np.random.default_rng(0).standard_normal((B, 3, 4)), np.random.default_rng(1).standard_normal((B, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = adjoint.vmap(f)(a, b)
    np.testing.assert_allclose(got, np.stack([f(x, y) for x, y in zip(a, b)]), rtol=1e-12)


# ---------------------------------------------------------------- the helpers, edge cases

def test_vmatmul_batch_of_one_and_views():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((1, 3, 4)), rng.standard_normal((1, 4))
    np.testing.assert_allclose(rt.vmatmul(a, b), (a[0] @ b[0])[None], rtol=1e-14)
    matrix = rng.standard_normal((3, 4))
    xs = rng.standard_normal((6, 4))
    got = rt.vmatmul(rt.to_batched(matrix, 6), xs)
    np.testing.assert_allclose(got, xs @ matrix.T, rtol=1e-14)
    both = rt.vmatmul(rt.to_batched(matrix, 6), rt.to_batched(xs[0], 6))
    assert both.shape == (6, 3)
    np.testing.assert_allclose(both, np.broadcast_to(matrix @ xs[0], (6, 3)), rtol=1e-14)


HELPER_CASES = [
    # (helper, batched helper, shapes of the primal operands, result shape of one example, keyword arguments)
    ("matmul_adjoint_left", [(3, 4), (4,)], (3,), {}),
    ("matmul_adjoint_left", [(4,), (4, 3)], (3,), {}),
    ("matmul_adjoint_left", [(3, 4), (4, 2)], (3, 2), {}),
    ("matmul_adjoint_left", [(2, 3, 4), (4,)], (2, 3), {}),
    ("matmul_adjoint_left", [(1, 3, 4), (2, 4, 5)], (2, 3, 5), {}),
    ("matmul_adjoint_left", [(4,), (4,)], (), {}),
    ("matmul_adjoint_right", [(3, 4), (4,)], (3,), {}),
    ("matmul_adjoint_right", [(4,), (4, 3)], (3,), {}),
    ("matmul_adjoint_right", [(3, 4), (4, 2)], (3, 2), {}),
    ("matmul_adjoint_right", [(2, 3, 4), (4, 5)], (2, 3, 5), {}),
    ("matmul_adjoint_right", [(4,), (2, 4, 5)], (2, 5), {}),
    ("matmul_adjoint_right", [(4,), (4,)], (), {}),
    ("dot_adjoint_left", [(3, 4), (4,)], (3,), {}),
    ("dot_adjoint_left", [(2, 3, 4), (2, 4, 5)], (2, 3, 2, 5), {}),
    ("dot_adjoint_left", [(), (3,)], (3,), {}),
    ("dot_adjoint_right", [(3, 4), (4, 2)], (3, 2), {}),
    ("dot_adjoint_right", [(3,), (2, 3, 4)], (2, 4), {}),
    ("dot_adjoint_right", [(3,), ()], (3,), {}),
    ("outer_adjoint_left", [(2, 3), (4,)], (6, 4), {}),
    ("outer_adjoint_right", [(3,), (2, 2)], (3, 4), {}),
    ("tensordot_adjoint_left", [(2, 3, 4), (3, 4, 5)], (2, 5), {}),
    ("tensordot_adjoint_left", [(3, 2, 4), (4, 5, 3)], (2, 5), {"axes": ([0, 2], [2, 0])}),
    ("tensordot_adjoint_right", [(2, 3, 4), (3, 4, 5)], (2, 5), {}),
    ("tensordot_adjoint_right", [(3, 2, 4), (4, 5, 3)], (2, 5), {"axes": ([0, 2], [2, 0])}),
    ("tensordot_adjoint_right", [(2,), (3,)], (2, 3), {"axes": 0}),
]


@pytest.mark.parametrize("name, shapes, z_shape, kwargs", HELPER_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(HELPER_CASES)])
def test_batched_product_helpers(name, shapes, z_shape, kwargs):
    """The batched backward helper equals the helper on each example, with
    g of shape (B, N) + z.shape, each operand batched or not."""
    helper, batched = getattr(rt, name), getattr(rt, "v" + name)
    rng = np.random.default_rng(zlib.crc32(name.encode()) + len(shapes[0]))
    rows = 3
    g = rng.standard_normal((B, rows) + z_shape)
    operands = [rng.standard_normal((B,) + s) for s in shapes]
    for const in [(False, False, False), (False, True, False), (False, False, True), (True, False, True),
                  (True, True, False), (True, True, True)]:
        args = [rt.to_batched(v[0], B) if c else v for v, c in zip([g] + operands, const, strict=True)]
        expected = np.stack([helper(*[a[row] for a in args], **kwargs) for row in range(B)])
        got = batched(*args, **kwargs)
        assert got.shape == expected.shape, (const, got.shape, expected.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13, err_msg=str(const))


@pytest.mark.parametrize("stack", [(), (2,)])
@pytest.mark.parametrize("vector", [True, False])
def test_batched_matrix_function_helpers(stack, vector):
    if vector and stack and not NUMPY_2:
        pytest.skip("NumPy 1 reads a vector b against a stack of matrices as a stack of vectors")
    rng = np.random.default_rng(7)
    rows = 3
    a = rng.standard_normal((B,) + stack + (3, 3)) + 3 * np.eye(3)
    z = np.linalg.inv(a)
    g = rng.standard_normal((B, rows) + stack + (3, 3))
    b = rng.standard_normal((B,) + ((3,) if vector else stack + (3, 2)))
    gb = rng.standard_normal((B, rows) + np.linalg.solve(a[0], b[0]).shape)
    dets = np.linalg.det(a)
    gd = rng.standard_normal((B, rows) + stack)
    for const in (False, True):
        aa = rt.to_batched(a[0], B) if const else a
        zz = rt.to_batched(z[0], B) if const else z
        dd = rt.to_batched(dets[0], B) if const else dets
        np.testing.assert_allclose(rt.vinv_adjoint(g, zz), np.stack([rt.inv_adjoint(g[i], zz[i]) for i in range(B)]),
                                   rtol=1e-12)
        np.testing.assert_allclose(rt.vsolve_transposed(aa, gb, b),
                                   np.stack([rt.solve_transposed(aa[i], gb[i], b[i]) for i in range(B)]),
                                   rtol=1e-12)
        zb = rt.vsolve(aa, b)
        np.testing.assert_allclose(rt.vsolve_adjoint_matrix(gb, zb, aa, b),
                                   np.stack([rt.solve_adjoint_matrix(gb[i], zb[i], aa[i], b[i]) for i in range(B)]),
                                   rtol=1e-12)
        np.testing.assert_allclose(rt.vdet_adjoint(gd, dd, aa),
                                   np.stack([rt.det_adjoint(gd[i], dd[i], aa[i]) for i in range(B)]), rtol=1e-12)


# ---------------------------------------------------------------- vmap of derivatives

rng0 = np.random.default_rng(11)
A = rng0.standard_normal((8, 5))
S = rng0.standard_normal((4, 4)) + 4 * np.eye(4)
C = rng0.standard_normal((3, 4))


def mlp(x):
    return np.tanh(A @ x)


def quadratic(x):
    return x @ S @ x


def gram(x):
    return x @ np.cos(x)


def row_layer(x):
    return np.tanh(x @ C)


def dotted(x):
    return np.dot(S, np.sin(x)) * np.dot(x, x)


def outer_sum(x):
    return np.sum(np.outer(x, np.cos(x)), axis=0)


def contracted(x):
    return np.sum(np.tensordot(np.outer(x, x), S, axes=1), axis=0)


def inverse(x):
    return np.linalg.inv(x + 4 * np.eye(4))


def solved(x):
    return np.linalg.solve(S, x) + np.linalg.solve(np.outer(x, x) + S, x)


def determinant(x):
    return np.linalg.det(x + 4 * np.eye(4))


DERIVATIVE_CASES = [
    (mlp, (5,)), (quadratic, (4,)), (gram, (4, 4)), (row_layer, (3,)), (dotted, (4,)), (outer_sum, (4,)),
    (contracted, (4,)), (inverse, (4, 4)), (solved, (4,)), (determinant, (4, 4)),
]


@pytest.mark.parametrize("func, shape", DERIVATIVE_CASES, ids=[f.__name__ for f, _ in DERIVATIVE_CASES])
def test_vmap_jacrev_products(func, shape):
    rng = np.random.default_rng(zlib.crc32(func.__name__.encode()))
    xs = rng.standard_normal((6,) + shape)
    jac = adjoint.jacrev(func)
    expected = np.stack([jac(x) for x in xs])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = adjoint.vmap(jac)(xs)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)
    _assert_no_loop(derivatives.derivative_function(jac, 1), (0,))


def test_vmap_jacrev_mlp_is_one_gemm():
    """The key case: a constant matrix times a batch of vectors, forward and
    backward, runs as single matrix products, as the hand-written batched
    Jacobian does (its speed is the benchmark's to measure: tools/bench.py)."""
    xs = np.random.default_rng(5).standard_normal((64, 5))
    batched = adjoint.vmap(adjoint.jacrev(mlp))
    got = batched(xs)
    h = np.tanh(xs @ A.T)
    np.testing.assert_allclose(got, (1 - h ** 2)[:, :, None] * A, rtol=1e-12, atol=1e-14)
    sources = "\n".join(_sources(cache.get_vmap(derivatives.derivative_function(adjoint.jacrev(mlp), 1), (0,))))
    # (the forward product with A itself, backend/shared_matrix.py; the backward product meets the diagonal
    # rows of the output basis: scaled rows of A, backend/diagonal_rows.py)
    assert "rt.vshared_matmul(x, A)" in sources and "rt.vbasis_rows_matmul(" in sources, sources


TANGENT_SHAPES = [((3, 4), (4,)), ((4,), (4, 3)), ((4,), (4,)), ((3, 4), (4, 2)), ((2, 3, 4), (4,)),
                  ((4,), (2, 4, 3)), ((1, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5))]


@pytest.mark.parametrize("which", ["left", "right"])
@pytest.mark.parametrize("s1, s2", TANGENT_SHAPES, ids=[f"{a}-{b}" for a, b in TANGENT_SHAPES])
def test_batched_matmul_tangent_helpers(which, s1, s2):
    """Tangent code's matmul helpers with a tangent of shape (B, T) + x.shape."""
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal((B,) + s1), rng.standard_normal((B,) + s2)
    t = rng.standard_normal((B, 3) + (s1 if which == "left" else s2))
    helper, batched = getattr(rt, f"matmul_tangent_{which}"), getattr(rt, f"vmatmul_tangent_{which}")
    for const in [(0, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1), (1, 0, 0)]:
        args = [rt.to_batched(v[0], B) if c else v for v, c in zip([t, x1, x2], const, strict=True)]
        expected = np.stack([helper(*[a[i] for a in args]) for i in range(B)])
        got = batched(*args)
        assert got.shape == expected.shape, const
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13, err_msg=str(const))


@pytest.mark.parametrize("func, shape", [(mlp, (5,)), (quadratic, (4,)), (gram, (4, 4))],
                         ids=["mlp", "quadratic", "gram"])
def test_vmap_jacfwd_products(func, shape):
    xs = np.random.default_rng(9).standard_normal((6,) + shape)
    jac = adjoint.jacfwd(func)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = adjoint.vmap(jac)(xs)
    np.testing.assert_allclose(got, np.stack([jac(x) for x in xs]), rtol=1e-12, atol=1e-13)
