"""Sparse Jacobians and Hessians: detected patterns against hand-derived ones
and the dense Jacobian's non-zeros, colour counts, compressed values against
the dense transforms and finite differences, the SciPy recipes."""
import sys
import warnings

import numpy as np
import pytest

import adjoint
from adjoint.api import coloring
from adjoint.api import sparse as sparse_api

sp = pytest.importorskip("scipy.sparse")


# ------------------------------------------------------------------ functions and their hand-derived patterns

def diagonal(x):
    return np.sin(x) * 2.0 + x ** 2


def stencil(x):
    y = -2.0 * x
    y[1:] += x[:-1]
    y[:-1] += x[1:]
    return y * x


def arrowhead(x):
    head = np.sum(x ** 2)
    tail = x[1:] * x[0]
    return np.concatenate([np.array([head]), tail])


def blocks(x):
    b = x.reshape(-1, 2)
    return np.stack([b[:, 0] * b[:, 1], b[:, 0] + b[:, 1] ** 2], axis=1).ravel()


def _neighbour_sum(v):
    return v[1:] * v[:-1]


def calls_helper(x):
    return np.exp(_neighbour_sum(x))


def loop(x):
    out = []
    for i in range(1, x.shape[0]):
        out.append(x[i] * x[i - 1] + x[0])
    return np.stack(out)


def branch(x):
    if x[0] > 0:
        return x * 2.0
    return x[::-1] * 1.0


def hand_patterns(n):
    eye = np.eye(n, dtype=bool)
    tri = eye | np.eye(n, k=1, dtype=bool) | np.eye(n, k=-1, dtype=bool)
    arrow = np.zeros((n, n), dtype=bool)
    arrow[0] = True
    arrow[:, 0] = True
    arrow |= eye
    block = np.kron(np.eye(n // 2, dtype=bool), np.ones((2, 2), dtype=bool))
    pairs = (np.eye(n, k=1, dtype=bool) | eye)[:-1]  # y_i = x_i x_{i+1}
    chain = (eye | np.eye(n, k=-1, dtype=bool))[1:].copy()  # y_i = x_{i+1} x_i + x_0
    chain[:, 0] = True
    return {diagonal: eye, stencil: tri, arrowhead: arrow, blocks: block, calls_helper: pairs, loop: chain}


N = 8
POINTS = [np.random.default_rng(seed).normal(size=N) for seed in range(2)]


def dense(f, x):
    return np.asarray(adjoint.jacrev(f)(x)).reshape(-1, x.size)


def finite_differences(f, x, h=1e-6):
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((np.ravel(f(x + e)) - np.ravel(f(x - e))) / (2 * h))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("f", list(hand_patterns(N)), ids=lambda f: f.__name__)
def test_pattern_is_the_hand_derived_one_and_covers_the_dense_nonzeros(f):
    expected = hand_patterns(N)[f]
    for x in POINTS:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # none of these is value-dependent
            pattern = adjoint.sparsity(f)(x)
        assert sp.issparse(pattern) and pattern.dtype == bool and pattern.shape == expected.shape
        np.testing.assert_array_equal(pattern.toarray(), expected)
        assert not np.any((dense(f, x) != 0) & ~pattern.toarray())


@pytest.mark.parametrize("f", list(hand_patterns(N)), ids=lambda f: f.__name__)
def test_sparse_values_equal_dense_and_finite_differences(f):
    x = POINTS[1]
    reference = dense(f, x)
    forward = adjoint.jacfwd(f, sparse=True)(x)
    reverse = adjoint.jacrev(f, sparse=True)(x)
    for result in (forward, reverse):
        assert isinstance(result, sp.csr_matrix)
        np.testing.assert_array_equal(result.toarray(), reference)
        np.testing.assert_array_equal(result.toarray(), np.asarray(adjoint.jacfwd(f)(x)).reshape(-1, N))
    np.testing.assert_allclose(forward.toarray(), finite_differences(f, x), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(adjoint.jacfwd(f, sparse=True, chunk_size=1)(x).toarray(), reference)
    np.testing.assert_array_equal(adjoint.jacrev(f, sparse=True, chunk_size=1)(x).toarray(), reference)


def test_the_pattern_counts_through_a_zero_coefficient():
    def f(x):
        return x * np.array([0.0, 1.0, 0.0]) + x[::-1] * 0.0

    pattern = adjoint.sparsity(f)(np.array([0.0, 1.0, 2.0])).toarray()
    np.testing.assert_array_equal(pattern, np.eye(3, dtype=bool) | np.eye(3, dtype=bool)[::-1])


# ------------------------------------------------------------------ colourings

def _csr(dense_pattern):
    m = sp.csr_matrix(dense_pattern)
    return m.indptr, m.indices, m.shape


def test_colour_counts():
    eye = np.eye(50, dtype=bool)
    tri = eye | np.eye(50, k=1, dtype=bool) | np.eye(50, k=-1, dtype=bool)
    assert coloring.column_coloring(*_csr(eye))[1] == 1
    assert coloring.row_coloring(*_csr(eye))[1] == 1
    assert coloring.column_coloring(*_csr(tri))[1] == 3
    assert coloring.row_coloring(*_csr(tri))[1] == 3
    assert coloring.symmetric_coloring(*_csr(tri)[:2], 50)[1] == 3
    assert coloring.symmetric_coloring(*_csr(np.zeros((4, 4), bool))[:2], 4)[1] == 1  # the diagonal
    arrow = eye.copy()
    arrow[0] = arrow[:, 0] = True
    assert coloring.column_coloring(*_csr(arrow))[1] == 50  # row 0 touches every column
    rng = np.random.default_rng(3)
    random = rng.random((40, 30)) < 0.1
    for kind in (coloring.column_coloring, coloring.row_coloring):
        colors, count = kind(*_csr(random))
        target = random if kind is coloring.column_coloring else random.T
        assert coloring.check_columns(*_csr(target), colors)
        assert colors.max() < count
    bad = np.zeros(30, dtype=np.int64)  # one colour for all: the check must see the clash
    assert not coloring.check_columns(*_csr(random), bad)


def test_a_diagonal_jacobian_costs_one_pass_and_a_tridiagonal_one_three(monkeypatch):
    sizes = []
    original = sparse_api._forward_compressed

    def counting(compiled, inputs, kwargs, colors, count, *rest):
        sizes.append(count)
        return original(compiled, inputs, kwargs, colors, count, *rest)

    monkeypatch.setattr(sparse_api, "_forward_compressed", counting)
    x = np.linspace(0.1, 1.0, 200)
    adjoint.jacfwd(diagonal, sparse=True)(x)
    adjoint.jacfwd(stencil, sparse=True)(x)
    assert sizes == [1, 3]


# ------------------------------------------------------------------ value dependence and caching

def test_a_branch_on_x_warns_once_and_the_pattern_is_found_at_every_call():
    x = np.arange(1.0, 5.0)
    with pytest.warns(RuntimeWarning, match=r"test_sparse.py:\d+: a branch on a value"):
        up = adjoint.sparsity(branch)(x).toarray()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once only
        down = adjoint.sparsity(branch)(-x).toarray()
        values = adjoint.jacfwd(branch, sparse=True)(-x).toarray()
    np.testing.assert_array_equal(up, np.eye(4, dtype=bool))
    np.testing.assert_array_equal(down, np.eye(4, dtype=bool)[::-1])
    np.testing.assert_array_equal(values, adjoint.jacfwd(branch)(-x))


def test_global_patterns_are_cached_per_shape(monkeypatch):
    calls = []
    original = sparse_api._detect

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(sparse_api, "_detect", counting)

    def g(x):
        return x[1:] - x[:-1]

    f = adjoint.jacfwd(g, sparse=True)
    for x in (np.ones(5), np.zeros(5), np.ones(7)):
        f(x)
    assert len(calls) == 2  # shapes (5,) and (7,)

    def h(x):
        return np.maximum(x, 0.0) * 2.0

    with pytest.warns(RuntimeWarning, match=r"maximum \(it selects values"):
        adjoint.sparsity(h)(np.ones(3))
    adjoint.sparsity(h)(np.ones(3))
    assert len(calls) == 4  # value-dependent: found again


@pytest.mark.parametrize("body, construct", [
    ("def f(x):\n    return x[np.argmax(x)] * x\n", "np.argmax"),
    ("def f(x):\n    return np.where(x > 0, x, 2 * x)\n", "np.where"),
    ("def f(x):\n    n = int(x[0])\n    for i in range(n):\n        x = x * 2\n    return x\n", "number of steps"),
    ("def f(x):\n    return x * helper(x)\n\ndef helper(v):\n    if v[0] > 0:\n        return v\n    return -v\n",
     "branch"),
])
def test_value_dependent_constructs_are_found(tmp_path, monkeypatch, body, construct):
    module = tmp_path / "value_dependent_module.py"
    module.write_text("import numpy as np\n\n" + body)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("value_dependent_module", None)
    import value_dependent_module
    found = sparse_api._value_dependence(value_dependent_module.f, 1, frozenset({0}), frozenset())
    assert found is not None
    assert "value_dependent_module.py:" in found[0]
    assert construct in found[1]


def enumerated(x):
    out = []
    for i, v in enumerate(x):
        out.append(v * i + x[-1])
    return np.stack(out)


def test_shapes_lengths_loops_and_helpers_are_not_value_dependent():
    x = np.arange(1.0, 6.0)
    expected = np.eye(5, dtype=bool)
    expected[:, -1] = True
    np.testing.assert_array_equal(adjoint.sparsity(enumerated)(x).toarray(), expected)
    for f in (stencil, loop, calls_helper, blocks, enumerated):
        assert sparse_api._value_dependence(f, 1, frozenset({0}), frozenset()) is None


# ------------------------------------------------------------------ Hessians

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = x.size
    diagonal = np.zeros(n)
    diagonal[:-1] = 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    diagonal[1:] += 200
    off = -400 * x[:-1]
    return np.diag(diagonal) + np.diag(off, 1) + np.diag(off, -1)


def test_sparse_hessian_of_rosenbrock_is_its_analytic_tridiagonal_form():
    x = np.random.default_rng(4).normal(size=30)
    hessian = adjoint.hessian(rosenbrock, sparse=True)(x)
    assert isinstance(hessian, sp.csr_matrix) and hessian.shape == (30, 30)
    np.testing.assert_allclose(hessian.toarray(), rosenbrock_hessian(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(hessian.toarray(), adjoint.jacfwd(adjoint.jacrev(rosenbrock))(x))
    assert hessian.nnz == 30 + 2 * 29


def _hessian_cases():
    def quartic(x):
        return np.sum(x ** 4) + np.sum(x[1:] * x[:-1])

    def logs(x):
        return np.sum(np.log(x) * x[::-1] ** 0 + np.sqrt(np.abs(x)))

    def max_based(x):
        return np.sum(np.maximum(x, 0.0) ** 3)

    def dense_coupled(x):
        return np.sum(x) ** 2 + np.sum(np.sin(x))

    return [quartic, logs, max_based, dense_coupled, rosenbrock]


@pytest.mark.parametrize("f", _hessian_cases(), ids=lambda f: f.__name__)
def test_dense_hessian_with_compressed_passes_equals_the_dense_passes(f):
    """hessian(f) switches to compressed passes from the second call: the
    result must equal jacfwd(jacrev(f)) on every call, including points
    where the Hessian has NaN or inf entries (the dense passes are used then)."""
    h = adjoint.hessian(f)
    reference = adjoint.jacfwd(adjoint.jacrev(f))
    rng = np.random.default_rng(5)
    points = [np.abs(rng.normal(size=12)) + 0.1 for _ in range(3)]
    nan_point = points[0].copy()
    nan_point[3] = -1.0  # log: NaN
    inf_point = points[1].copy()
    inf_point[5] = 0.0  # log, sqrt: inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x in points + [nan_point, inf_point] + points:
            with np.errstate(all="ignore"):
                np.testing.assert_array_equal(h(x), reference(x))


def test_dense_hessian_uses_the_compressed_passes_for_a_sparse_global_pattern(monkeypatch):
    used = []
    original = sparse_api._DenseHessian._compressed

    def spy(self, plan, args):
        result = original(self, plan, args)
        used.append(result is not None)
        return result

    monkeypatch.setattr(sparse_api._DenseHessian, "_compressed", spy)
    h = adjoint.hessian(rosenbrock)
    x = np.linspace(-1, 1, 40)
    for _ in range(3):
        np.testing.assert_allclose(h(x), rosenbrock_hessian(x), rtol=1e-12, atol=1e-10)
    assert used == [True, True]  # the first call is dense
    x32 = x.astype(np.float32)
    for _ in range(3):
        result = h(x32)
        assert result.dtype == np.float32
        np.testing.assert_array_equal(result, adjoint.jacfwd(adjoint.jacrev(rosenbrock))(x32))
    assert used[-1] is True
    assert adjoint.jacrev(adjoint.hessian(rosenbrock))(x[:4]).shape == (4, 4, 4)  # still differentiable


# ------------------------------------------------------------------ structures, aux, errors

def test_several_arguments_and_outputs_are_laid_out_as_jacrev_and_has_aux():
    def f(x, y):
        return {"a": x * y[0], "b": np.sin(y)}, "aux"

    x, y = np.arange(1.0, 4.0), np.array([0.5, 2.0])
    result, aux = adjoint.jacfwd(f, argnums=(0, 1), sparse=True, has_aux=True)(x, y)
    reference, _ = adjoint.jacrev(f, argnums=(0, 1), has_aux=True)(x, y)
    assert aux == "aux"
    for key in ("a", "b"):
        for block, dense_block in zip(result[key], reference[key]):
            assert sp.issparse(block)
            np.testing.assert_array_equal(block.toarray(), dense_block.reshape(block.shape))
    patterns = adjoint.sparsity(f, argnums=(0, 1), has_aux=True)(x, y)
    np.testing.assert_array_equal(patterns["b"][0].toarray(), np.zeros((2, 3), bool))
    reverse, _ = adjoint.jacrev(f, argnums=(0, 1), sparse=True, has_aux=True)(x, y)
    np.testing.assert_array_equal(reverse["a"][1].toarray(), reference["a"][1])


def test_bad_input_gets_clear_errors(monkeypatch):
    with pytest.raises(TypeError, match="sparse must be True or False"):
        adjoint.jacfwd(diagonal, sparse=1)
    with pytest.raises(ValueError, match="progress=True is not available with sparse=True"):
        adjoint.jacrev(diagonal, sparse=True, progress=True)
    with pytest.raises(TypeError, match="argnums must be one int"):
        adjoint.hessian(rosenbrock, argnums=(0,), sparse=True)
    with pytest.raises(TypeError, match="floating-point"):
        adjoint.jacfwd(lambda x: np.arange(3), sparse=True)(np.ones(3))
    with pytest.raises(TypeError, match="float"):
        adjoint.sparsity(diagonal)(np.arange(3))
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    with pytest.raises(ImportError, match="pip install scipy"):
        adjoint.jacrev(diagonal, sparse=True)(np.ones(3))


# ------------------------------------------------------------------ the SciPy recipes of docs/sparse.md

def diffusion_reaction(t, u):
    du = np.zeros_like(u)
    du[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
    du[0] = u[1] - 2.0 * u[0]
    du[-1] = u[-2] - 2.0 * u[-1]
    return 50.0 * du - u ** 3


def test_solve_ivp_bdf_with_a_sparse_jacobian():
    integrate = pytest.importorskip("scipy.integrate")
    n = 60
    u0 = np.sin(np.linspace(0, np.pi, n))
    jacobian = adjoint.jacfwd(diffusion_reaction, argnums=1, sparse=True)
    with_jac = integrate.solve_ivp(diffusion_reaction, (0.0, 1.0), u0, method="BDF", jac=jacobian,
                                   rtol=1e-8, atol=1e-10)
    without = integrate.solve_ivp(diffusion_reaction, (0.0, 1.0), u0, method="BDF", rtol=1e-8, atol=1e-10)
    assert with_jac.success and without.success
    np.testing.assert_allclose(with_jac.y[:, -1], without.y[:, -1], rtol=1e-5, atol=1e-8)
    assert with_jac.njev < without.nfev


def test_least_squares_with_a_sparse_jacobian_and_its_sparsity():
    optimize = pytest.importorskip("scipy.optimize")

    def residuals(x):
        return np.concatenate([10.0 * (x[1:] - x[:-1] ** 2), 1.0 - x[:-1]])

    x0 = np.full(20, -0.5)
    jac = adjoint.jacfwd(residuals, sparse=True)
    pattern = adjoint.sparsity(residuals)(x0)
    result = optimize.least_squares(residuals, x0, jac=jac, jac_sparsity=None, method="trf", x_scale=1.0)
    assert result.success
    np.testing.assert_allclose(result.x, np.ones(20), atol=1e-6)
    # jac_sparsity alone: SciPy's finite differences grouped by the pattern
    grouped = optimize.least_squares(residuals, x0, jac_sparsity=pattern, method="trf")
    np.testing.assert_allclose(grouped.x, np.ones(20), atol=1e-6)


# ------------------------------------------------------------------ many inputs: residue probes

_PICK = np.random.default_rng(7).integers(0, 300, size=(2, 300))


def scattered(x):
    return x[_PICK[0]] * x[_PICK[1]] + np.cos(x)


def laplacian(u):
    grid = u.reshape(17, 17)
    padded = np.pad(grid, 1)
    return (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:] - 4.0 * grid).ravel()


@pytest.mark.parametrize("f", [stencil, arrowhead, calls_helper, scattered, laplacian, blocks],
                         ids=lambda f: f.__name__)
def test_many_inputs_probed_by_residue_classes_give_the_column_by_column_pattern(f, monkeypatch):
    x = np.random.default_rng(8).normal(size=289 if f is laplacian else 300)
    assert x.size > sparse_api.SMALL_INPUT
    probed = adjoint.sparsity(f)(x).toarray()
    monkeypatch.setattr(sparse_api, "SMALL_INPUT", 10 ** 9)
    sparse_api._patterns.clear()
    one_by_one = adjoint.sparsity(f)(x).toarray()
    np.testing.assert_array_equal(probed, one_by_one)
    if f in hand_patterns(300):
        np.testing.assert_array_equal(probed, hand_patterns(300)[f])
    if f is scattered:
        expected = np.eye(300, dtype=bool)
        expected[np.arange(300), _PICK[0]] = True
        expected[np.arange(300), _PICK[1]] = True
        np.testing.assert_array_equal(probed, expected)
    np.testing.assert_array_equal(adjoint.jacfwd(f, sparse=True)(x).toarray(), dense(f, x))


def test_residue_candidates_hold_every_true_entry_and_refuse_dense_patterns():
    rng = np.random.default_rng(9)
    truth = rng.random((50, 400)) < 0.02
    primes = coloring.probe_primes(400)
    marks = {p: np.stack([truth[:, np.arange(400) % p == r].any(axis=1) for r in range(p)]) for p in primes}
    rows, cols = coloring.residue_candidates(marks, primes, 400, 10 ** 7)
    candidates = np.zeros_like(truth)
    candidates[rows, cols] = True
    assert not np.any(truth & ~candidates)
    assert coloring.residue_candidates(marks, primes, 400, 10) is None


# ------------------------------------------------------------------ module state

FLAG = "diagonal"


def switched_by_a_module_flag(x):
    if FLAG == "diagonal":
        return np.sum(x ** 3)
    return np.sum(x) ** 3


def test_a_branch_on_module_state_keys_the_pattern(monkeypatch):
    """A module flag re-bound between calls changes which branch runs: its
    value is part of the pattern cache's key, so the pattern (and the dense
    Hessian's compressed passes) follow it."""
    x = np.linspace(0.1, 1.0, 10)
    hessian = adjoint.hessian(switched_by_a_module_flag)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for flag, expected in (("diagonal", np.diag(6 * x)), ("sum", np.full((10, 10), 6 * np.sum(x))),
                               ("diagonal", np.diag(6 * x))):
            monkeypatch.setattr(sys.modules[__name__], "FLAG", flag)
            pattern = adjoint.sparsity(adjoint.grad(switched_by_a_module_flag))(x).toarray()
            np.testing.assert_array_equal(pattern, expected != 0)
            for _ in range(3):
                np.testing.assert_allclose(hessian(x), expected, rtol=1e-12)


STEPS = 9


def chain_over_a_module_constant(x):
    total = 0.0
    for i in range(STEPS):
        total = total + (x[i + 1] - x[i] ** 2) ** 2
    return total


def test_a_module_constant_keys_the_pattern_instead_of_tainting_it(monkeypatch):
    """A loop bound read from a module constant decides the structure: the
    pattern is global for each value of the constant, found again when it
    changes (no warning), and the Hessian is right for both."""
    x = np.linspace(0.1, 1.0, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = adjoint.sparsity(adjoint.grad(chain_over_a_module_constant))(x).toarray()
        hessian = adjoint.hessian(chain_over_a_module_constant)
        for _ in range(4):
            np.testing.assert_allclose(hessian(x), adjoint.jacfwd(adjoint.jacrev(chain_over_a_module_constant))(x),
                                       rtol=1e-12, atol=1e-12)
        monkeypatch.setattr(sys.modules[__name__], "STEPS", 4)
        second = adjoint.sparsity(adjoint.grad(chain_over_a_module_constant))(x).toarray()
        for _ in range(4):
            np.testing.assert_allclose(hessian(x), adjoint.jacfwd(adjoint.jacrev(chain_over_a_module_constant))(x),
                                       rtol=1e-12, atol=1e-12)
    tridiagonal = np.abs(np.subtract.outer(np.arange(10), np.arange(10))) <= 1
    np.testing.assert_array_equal(first, tridiagonal)
    np.testing.assert_array_equal(second, tridiagonal & (np.add.outer(np.arange(10), np.zeros(10)) <= 4)
                                  & (np.add.outer(np.zeros(10), np.arange(10)) <= 4))
