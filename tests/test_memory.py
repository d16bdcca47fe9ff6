"""Memory of long-running programs: the cache of compiled transforms never
keeps a function (or the arrays its closure captured) alive, and is bounded;
Jacobians are computed in chunks under a memory budget; large constants are
exported beside the module.

Derivatives are checked against analytic values or central finite
differences (conftest.numerical_jacobian), never against adjoint itself."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import adjoint
from adjoint.backend import cache
from adjoint.backend import pipeline as transform


def make_loss(data):
    def loss(w):
        return np.sum((data @ w) ** 2)
    return loss


def loss_gradient(data, w):
    return 2.0 * data.T @ (data @ w)


def make_map(data):
    def mapped(w):
        return np.tanh(data @ w)
    return mapped


def make_recursive(data):
    def power(w, n):
        if n == 0:
            return np.sum(data * w)
        return power(w * w, n - 1)
    return power


def make_caller(data):
    def inner(w):
        return data @ w

    def outer(w):
        return np.sum(np.sin(inner(w)))
    return outer


def _collected(run):
    """Run ``run(data)`` on a fresh array and closure; whether the closure
    and the array are freed once dropped."""
    data = np.random.default_rng(0).normal(size=(50, 4))
    func_ref, data_ref = run(data)
    del data
    gc.collect()
    return func_ref() is None, data_ref() is None


W = np.array([0.3, -0.2, 0.5, 0.1])


def _grad(data):
    loss = make_loss(data)
    np.testing.assert_allclose(adjoint.grad(loss)(W), loss_gradient(data, W), rtol=1e-10)
    return weakref.ref(loss), weakref.ref(data)


def _jacrev(data):
    mapped = make_map(data)
    expected = (1 - np.tanh(data @ W) ** 2)[:, None] * data
    np.testing.assert_allclose(adjoint.jacrev(mapped)(W), expected, rtol=1e-10)
    return weakref.ref(mapped), weakref.ref(data)


def _jacfwd(data):
    mapped = make_map(data)
    expected = (1 - np.tanh(data @ W) ** 2)[:, None] * data
    np.testing.assert_allclose(adjoint.jacfwd(mapped)(W), expected, rtol=1e-10)
    return weakref.ref(mapped), weakref.ref(data)


def _hessian(data):
    loss = make_loss(data)
    np.testing.assert_allclose(adjoint.hessian(loss)(W), 2.0 * data.T @ data, rtol=1e-10)
    return weakref.ref(loss), weakref.ref(data)


def _vmap(data):
    mapped = make_map(data)
    batch = np.stack([W, 2 * W, -W])
    np.testing.assert_allclose(adjoint.vmap(mapped)(batch), np.tanh(batch @ data.T), rtol=1e-12)
    return weakref.ref(mapped), weakref.ref(data)


def _vmap_of_grad(data):
    loss = make_loss(data)
    batch = np.stack([W, 2 * W])
    expected = np.stack([loss_gradient(data, w) for w in batch])
    np.testing.assert_allclose(adjoint.vmap(adjoint.grad(loss))(batch), expected, rtol=1e-10)
    return weakref.ref(loss), weakref.ref(data)


def _recursive(data):
    power = make_recursive(data)
    # power(w, 2) = sum(data * w**4): gradient 4 w**3 * sum(data, axis=0)
    np.testing.assert_allclose(adjoint.grad(power)(W, 2), 4 * W ** 3 * data.sum(axis=0), rtol=1e-10)
    return weakref.ref(power), weakref.ref(data)


def _caller(data):
    outer = make_caller(data)
    np.testing.assert_allclose(adjoint.grad(outer)(W), data.T @ np.cos(data @ W), rtol=1e-10)
    return weakref.ref(outer), weakref.ref(data)


@pytest.mark.parametrize("run", [_grad, _jacrev, _jacfwd, _hessian, _vmap, _vmap_of_grad, _recursive, _caller],
                         ids=lambda run: run.__name__.strip("_"))
def test_closure_and_its_data_are_freed(run):
    assert _collected(run) == (True, True)


def test_memory_stays_flat_over_many_closures():
    # 40 closures over ~2 MB arrays, one transform each: a cache that kept
    # them would grow by 80 MB; the bound leaves room for a few arrays.
    rng = np.random.default_rng(1)
    w = rng.normal(size=128)
    tracemalloc.start()
    try:
        for i in range(40):
            data = rng.normal(size=(2048, 128))  # 2 MiB
            gradient = adjoint.grad(make_loss(data))(w)
            if i == 0:
                np.testing.assert_allclose(gradient, loss_gradient(data, w), rtol=1e-9)
            del data, gradient
            if i == 4:
                gc.collect()
                start = tracemalloc.get_traced_memory()[0]
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert growth < 6 * 2 ** 20, f"memory grew by {growth / 2 ** 20:.1f} MiB over 35 closures"


def test_the_cache_still_hits_for_the_same_function():
    data = np.random.default_rng(2).normal(size=(20, 4))
    loss = make_loss(data)
    adjoint.grad(loss)(W)
    count = dict(transform.TRANSFORM_COUNT)
    for _ in range(3):
        np.testing.assert_allclose(adjoint.grad(loss)(W), loss_gradient(data, W), rtol=1e-10)  # new wrappers
    mapped = make_map(data)
    adjoint.jacfwd(mapped)(W)
    adjoint.vmap(mapped)(np.stack([W, W]))
    after = dict(transform.TRANSFORM_COUNT)
    adjoint.jacfwd(mapped)(W)
    adjoint.vmap(mapped)(np.stack([W, W]))
    assert transform.TRANSFORM_COUNT == after
    assert after["vjp"] == count["vjp"]


def test_the_cache_is_bounded_per_code_object(monkeypatch):
    monkeypatch.setattr(cache, "MAX_FUNCTIONS_PER_CODE", 4)
    rng = np.random.default_rng(3)
    datas = [rng.normal(size=(10, 4)) for _ in range(7)]
    losses = [make_loss(d) for d in datas]  # all kept alive
    for loss in losses:
        adjoint.grad(loss)(W)
    kept = cache.cached_functions(make_loss(datas[0]).__code__)
    assert len(kept) == 4
    assert kept == losses[-4:]  # the least recently used lost theirs
    # An evicted function is transformed again, right.
    count = transform.TRANSFORM_COUNT["vjp"]
    np.testing.assert_allclose(adjoint.grad(losses[0])(W), loss_gradient(datas[0], W), rtol=1e-10)
    assert transform.TRANSFORM_COUNT["vjp"] == count + 1
    # A function used again moves to the back of the line.
    adjoint.grad(losses[4])(W)
    adjoint.grad(make_loss(datas[1]))(W)
    assert losses[4] in cache.cached_functions(losses[4].__code__)


def test_a_wrapper_made_with_functools_wraps_has_transforms_of_its_own():
    import functools

    data = np.random.default_rng(4).normal(size=(6, 4))
    loss = make_loss(data)
    adjoint.grad(loss)(W)

    @functools.wraps(loss)  # copies loss.__dict__, the cache entries with it
    def doubled(w):
        return 2.0 * loss(w)

    np.testing.assert_allclose(adjoint.grad(doubled)(W), 2.0 * loss_gradient(data, W), rtol=1e-10)
    np.testing.assert_allclose(adjoint.grad(loss)(W), loss_gradient(data, W), rtol=1e-10)


def test_a_pickled_function_carries_no_transforms():
    import pickle

    data = np.random.default_rng(5).normal(size=(6, 4))
    loss = make_loss(data)
    adjoint.grad(loss)(W)
    entries = loss.__dict__[cache._SLOT]
    assert len(entries) == 1
    assert len(pickle.loads(pickle.dumps(entries))) == 0


# ------------------------------------------------------------------ memory budget

TALL_A = np.random.default_rng(10).normal(size=(60000, 3))


def tall(p):
    return np.sin(TALL_A @ p) * p[0]


def tall_jacobian(p):
    expected = (np.cos(TALL_A @ p) * p[0])[:, None] * TALL_A
    expected[:, 0] += np.sin(TALL_A @ p)
    return expected


@pytest.fixture
def budget():
    """Set the memory budget for one test; restored after it."""
    previous = adjoint.set_memory_budget(None)
    yield adjoint.set_memory_budget
    adjoint.set_memory_budget(previous)


def test_tall_jacobian_by_forward_mode():
    # The reverse basis would be 60,000 x 60,000 (26.8 GiB); forward mode needs 3 columns.
    p = np.array([0.3, -0.1, 0.7])
    np.testing.assert_allclose(adjoint.jacfwd(tall)(p), tall_jacobian(p), rtol=1e-12, atol=1e-12)


def test_tall_jacobian_over_budget_by_reverse_mode_is_a_clear_error(budget):
    # The Jacobian (1.4 MB) fits in 3 MiB, and so does a forward pass over one
    # column (~1 MB); a reverse pass over one basis row (60,000 outputs and
    # the adjoints it flows through, ~1.8 MB) does not.
    p = np.array([0.3, -0.1, 0.7])
    budget(3 * 2 ** 20)
    with pytest.raises(adjoint.MemoryBudgetError) as caught:
        adjoint.jacrev(tall)(p)
    message = str(caught.value)
    assert "jacrev of tall" in message and "60,000" in message and "3 MiB" in message
    assert "adjoint.jacfwd" in message and "set_memory_budget" in message
    assert isinstance(caught.value, MemoryError)  # (never NumPy's own, but still a MemoryError)
    np.testing.assert_allclose(adjoint.jacfwd(tall)(p), tall_jacobian(p), rtol=1e-12, atol=1e-12)


def test_a_jacobian_larger_than_the_budget_names_its_size(budget):
    p = np.array([0.3, -0.1, 0.7])
    budget(2 ** 20)  # the Jacobian is 60,000 x 3 float64: 1.4 MB
    for transform_ in (adjoint.jacrev, adjoint.jacfwd):
        with pytest.raises(adjoint.MemoryBudgetError, match=r"60,000 x 3 = 180,000 elements \(1\.4 MiB\)"):
            transform_(tall)(p)


def wide(x):
    return np.tanh(x[:40] * x[10:]) @ np.ones((40, 3)) + np.sum(x ** 2)


def wide_jacobian(x):
    d = 1 - np.tanh(x[:40] * x[10:]) ** 2
    inner = np.zeros((40, 50))
    inner[np.arange(40), np.arange(40)] += d * x[10:]
    inner[np.arange(40), np.arange(10, 50)] += d * x[:40]
    return np.ones((3, 40)) @ inner + 2 * x


def test_chunks_under_a_small_budget_give_the_unchunked_jacobian(budget, monkeypatch):
    from adjoint.api import bases

    x = np.linspace(-1.0, 1.2, 50)
    expected = wide_jacobian(x)
    unchunked_rev, unchunked_fwd = adjoint.jacrev(wide)(x), adjoint.jacfwd(wide)(x)
    np.testing.assert_allclose(unchunked_rev, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(unchunked_fwd, expected, rtol=1e-12, atol=1e-12)
    rows, columns = [], []
    basis_chunk, input_basis = bases._basis_chunk, bases._input_basis
    monkeypatch.setattr(bases, "_basis_chunk", lambda *a: rows.append(a[3] - a[2]) or basis_chunk(*a))
    monkeypatch.setattr(bases, "_input_basis", lambda *a: columns.append(a[2] - a[1]) or input_basis(*a))
    budget(8192)  # the 3 x 50 Jacobian is 1,200 bytes: a few passes per chunk
    np.testing.assert_allclose(adjoint.jacrev(wide)(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(wide)(x), expected, rtol=1e-12, atol=1e-12)
    assert len(rows) > 1 and sum(rows) == 3
    assert len(columns) > 2 and sum(columns) == 50
    # Finite differences agree too.
    from conftest import numerical_jacobian

    np.testing.assert_allclose(adjoint.jacfwd(wide)(x), numerical_jacobian(wide, (x,)), atol=1e-6)


def test_reverse_mode_chunked_over_a_tall_output_warns(budget):
    x = np.linspace(-1.0, 1.2, 4)

    def many(x):
        return np.outer(np.sin(x), np.ones(300)).ravel()

    expected = np.kron(np.diag(np.cos(x)), np.ones((300, 1)))
    budget(128 * 2 ** 10)
    with pytest.warns(RuntimeWarning, match=r"jacrev of .*many: the reverse pass runs over 1,200 basis rows"):
        jacobian = adjoint.jacrev(many)(x)
    np.testing.assert_allclose(jacobian, expected, rtol=1e-12)


def test_residual_elements_of_a_long_tape_are_estimated_from_a_sample():
    from adjoint.api.budget import LONG_LIST, _array_elements

    nested = ({"a": np.ones(3), "b": [np.ones((2, 2)), (np.ones(5), 2.0, (4,))]}, np.float64(1.0))
    assert _array_elements(nested) == 3 + 4 + 5  # short: exact
    uniform = [(np.ones(7), (7,), 0.5) for _ in range(10 * LONG_LIST)]
    assert _array_elements(uniform) == 7 * 10 * LONG_LIST
    growing = [np.ones(k) for k in range(1, 1001)]  # a loop whose arrays grow
    assert abs(_array_elements(growing) - 1000 * 1001 // 2) < 0.05 * 1000 * 1001 // 2


def test_a_long_loops_residuals_count_against_the_budget(budget, monkeypatch):
    from adjoint.api import bases

    def loop(x):
        for _ in range(300):  # 300 tape entries of 400-element residuals
            x = np.sin(x) * 1.5
        return x

    x = np.linspace(-1.0, 1.0, 400)
    expected = adjoint.jacfwd(loop)(x)
    rows = []
    basis_chunk = bases._basis_chunk
    monkeypatch.setattr(bases, "_basis_chunk", lambda *a: rows.append(a[3] - a[2]) or basis_chunk(*a))
    # The 400 x 400 Jacobian (1.2 MiB) and one pass over all 400 rows fit in
    # 32 MiB only if the residuals (over 120,000 elements, each batched in a
    # pass) are left out of the estimate.
    budget(32 * 2 ** 20)
    np.testing.assert_allclose(adjoint.jacrev(loop)(x), expected, rtol=1e-12, atol=1e-300)
    assert len(rows) > 1 and sum(rows) == 400


def test_memory_budget_from_the_environment(budget, monkeypatch):
    monkeypatch.setenv("ADJOINT_MEMORY_BUDGET", "512MiB")
    assert adjoint.get_memory_budget() == 512 * 2 ** 20
    monkeypatch.setenv("ADJOINT_MEMORY_BUDGET", "1000")
    assert adjoint.get_memory_budget() == 1000
    budget(2 ** 20)  # set explicitly: wins
    assert adjoint.get_memory_budget() == 2 ** 20
    budget(None)
    monkeypatch.setenv("ADJOINT_MEMORY_BUDGET", "lots")
    with pytest.raises(ValueError, match="ADJOINT_MEMORY_BUDGET='lots' is not a memory size"):
        adjoint.get_memory_budget()
    monkeypatch.delenv("ADJOINT_MEMORY_BUDGET")
    assert adjoint.get_memory_budget() == 256 * 2 ** 20
    with pytest.raises(ValueError, match="greater than 0"):
        adjoint.set_memory_budget(0)
    with pytest.raises(TypeError, match="number of bytes"):
        adjoint.set_memory_budget(1.5e9)


# ------------------------------------------------------------------ export of large constants

LARGE_MODEL = '''
import numpy as np

WEIGHTS = np.random.default_rng(7).normal(size=(300, 200))  # 60,000 elements: beside the module
OFFSET = np.array([0.5, -0.25, 1.0])                        # small: a literal


def layer(x):
    return np.tanh(WEIGHTS @ x)[:3] * OFFSET
'''


def test_export_writes_large_constants_beside_the_module(tmp_path):
    import subprocess
    import sys
    import textwrap

    from conftest import numerical_jacobian

    model = tmp_path / "large_model.py"
    model.write_text(LARGE_MODEL)
    out = tmp_path / "layer_grad.py"
    done = subprocess.run([sys.executable, "-m", "adjoint", "show", f"{model}:layer", "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 .npy file" in done.stderr
    text = out.read_text()
    assert out.stat().st_size < 30_000  # the literal alone would be over 1 MB
    assert "WEIGHTS = _load_constant('layer_grad_WEIGHTS.npy')" in text
    assert "OFFSET = np.array([0.5, -0.25, 1.0]" in text
    assert (tmp_path / "layer_grad_WEIGHTS.npy").exists()
    x = np.linspace(-0.01, 0.02, 200)
    np.save(tmp_path / "x.npy", x)
    # Imported from elsewhere, without adjoint: the constant is found beside the module.
    script = textwrap.dedent(f'''
        import sys
        sys.modules["adjoint"] = None
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import layer_grad
        jx, = layer_grad.layer_jacobian(np.load({str(tmp_path / "x.npy")!r}))
        np.save({str(tmp_path / "jx.npy")!r}, jx)
    ''')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                          cwd=elsewhere, timeout=120)
    assert done.returncode == 0, done.stderr
    exported = np.load(tmp_path / "jx.npy")
    namespace = {}
    exec(compile(LARGE_MODEL, str(model), "exec"), namespace)
    weights, offset = namespace["WEIGHTS"], namespace["OFFSET"]
    by_hand = ((1 - np.tanh(weights @ x) ** 2)[:3] * offset)[:, None] * weights[:3]
    np.testing.assert_allclose(exported, by_hand, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(exported, numerical_jacobian(namespace["layer"], (x,)), atol=1e-7)
    np.testing.assert_allclose(exported, adjoint.jacrev(namespace["layer"])(x), rtol=1e-12, atol=1e-14)
