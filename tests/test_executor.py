"""``jacrev(..., executor=ex)`` and ``jacfwd(..., executor=ex)``: chunks of the
basis on a ``concurrent.futures.Executor`` (a thread pool, worker processes
that get the generated code as source, a local Dask cluster).

Every parallel Jacobian is compared with the serial one of the same
``chunk_size`` (exactly: the same arithmetic runs per chunk), and the serial
ones with finite differences or a formula, so that a result cannot agree
with itself only."""
import concurrent.futures as cf
import functools
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import adjoint
from adjoint.api import parallel

RNG = np.random.default_rng(11)
A = RNG.standard_normal((5, 4))


def layer(x, w):
    return np.tanh(A @ x + w) * np.cumsum(w)


def with_aux(x):
    y = np.sin(x) * x[0]
    return y, {"norm": np.sum(y ** 2)}


def pytree_function(params, scale):
    hidden = np.tanh(params["w"] * scale[0]) + params["b"][0]
    return (hidden * 2.0, np.sum(hidden ** 2) + params["b"][1] * scale[1])


def bad_row_maker(ans, x):
    def pull(g):
        if g.size > 2 and g[2] != 0.0:  # only the chunk holding row 2 fails
            raise ValueError("row 2 refused")
        return g * 3.0
    return pull


def custom_triple(x):
    return 3.0 * x


adjoint.defvjp(custom_triple, bad_row_maker)


def uses_custom(x):
    return custom_triple(x) + x


def raises_inside(x):
    y = np.sin(x)
    if np.any(y > 0.5):
        raise ValueError("y too large")  # the line the error must name
    return y


X = np.linspace(0.1, 0.9, 4)
W = np.linspace(-0.5, 0.5, 5)
PARAMS = {"w": np.linspace(0.1, 0.6, 6), "b": np.array([0.3, -0.2])}
SCALE = np.array([1.5, 2.0])


def finite_differences(f, x, eps=1e-6, columns=None):
    picked = range(x.size) if columns is None else columns
    columns = []
    for i in picked:
        step = np.zeros_like(x)
        step.flat[i] = eps
        columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * eps))
    return np.stack(columns, axis=-1)


def assert_same(a, b):
    """Equal leaf by leaf, exactly, with the same structure."""
    leaves_a, leaves_b = jax_like_flatten(a), jax_like_flatten(b)
    assert len(leaves_a) == len(leaves_b)
    for u, v in zip(leaves_a, leaves_b):
        assert type(u) is type(v) and np.shape(u) == np.shape(v)
        assert np.array_equal(u, v)


def jax_like_flatten(tree):
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in jax_like_flatten(tree[key])]
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in jax_like_flatten(item)]
    return [tree]


def error_text(error):
    """The message with its notes (Python 3.10 appends them to the message)."""
    return "\n".join([str(error)] + list(getattr(error, "__notes__", [])))


def no_rerun_warnings(record):
    return [w for w in record if "failed on the executor" in str(w.message)] == []


class PicklingExecutor(cf.Executor):
    """Runs each task here, at once, after a pickle round trip of the task
    and its arguments (as a process pool sends them); the chunks listed in
    ``broken`` fail as a lost worker's do."""

    def __init__(self, broken=()):
        self.broken = set(broken)
        self.calls = 0

    def submit(self, fn, *args):
        future = cf.Future()
        index, self.calls = self.calls, self.calls + 1
        if index in self.broken:
            future.set_exception(cf.BrokenExecutor(f"worker of chunk {index} lost"))
            return future
        fn, args = pickle.loads(pickle.dumps((fn, args)))
        try:
            future.set_result(fn(*args))
        except Exception as error:
            future.set_exception(error)
        return future


# ------------------------------------------------------------------ reference values

def test_serial_references_are_right():
    """The serial Jacobians the parallel ones are compared with, against
    finite differences."""
    jac = adjoint.jacrev(layer, argnums=1, chunk_size=2)(X, W)
    np.testing.assert_allclose(jac, finite_differences(lambda w: layer(X, w), W), rtol=1e-6, atol=1e-8)
    jac = adjoint.jacfwd(raises_inside, chunk_size=3)(X * 0.1)
    np.testing.assert_allclose(jac, np.diag(np.cos(X * 0.1)), rtol=1e-12)
    hessian = adjoint.jacfwd(adjoint.grad(energy), chunk_size=2)(X)
    second = -np.sin(X) * X ** 2 + 4 * X * np.cos(X) + 2 * np.sin(X)
    np.testing.assert_allclose(hessian, np.diag(second), rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ thread pool

@pytest.fixture(scope="module")
def threads():
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
@pytest.mark.parametrize("chunk_size", [1, 2, 3])
def test_thread_pool_equals_serial(threads, transform, chunk_size):
    serial = transform(layer, argnums=(0, 1), chunk_size=chunk_size)(X, W)
    pooled = transform(layer, argnums=(0, 1), chunk_size=chunk_size, executor=threads)(X, W)
    assert_same(pooled, serial)


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_thread_pool_aux_and_pytrees(threads, transform):
    serial = transform(with_aux, has_aux=True, chunk_size=3)(X)
    pooled = transform(with_aux, has_aux=True, chunk_size=3, executor=threads)(X)
    assert_same(pooled, serial)
    serial = transform(pytree_function, argnums=(0, 1), chunk_size=4)(PARAMS, SCALE)
    pooled = transform(pytree_function, argnums=(0, 1), chunk_size=4, executor=threads)(PARAMS, SCALE)
    assert_same(pooled, serial)
    assert set(pooled[0][0]) == {"w", "b"} and pooled[0][0]["w"].shape == (6, 6)


def test_thread_pool_progress_and_default_chunks(threads, capsys):
    jac = adjoint.jacrev(layer, executor=threads, progress=True, chunk_size=2)(X, W)
    assert "5/5 rows" in capsys.readouterr().err
    assert_same(adjoint.jacrev(layer, executor=threads)(X, W), jac)  # chunk_size=None: one chunk


def test_error_in_one_chunk_is_raised_once_naming_the_rule(threads):
    x = np.arange(1.0, 7.0)
    with pytest.raises(ValueError, match="row 2 refused") as serial:
        adjoint.jacrev(uses_custom, chunk_size=2)(x)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="row 2 refused") as pooled:
            adjoint.jacrev(uses_custom, chunk_size=2, executor=threads)(x)
    assert no_rerun_warnings(record)
    assert str(pooled.value) == str(serial.value)
    # the rule is right where it does not refuse: d(3x + x)/dx = 4
    assert np.array_equal(adjoint.jacrev(uses_custom, chunk_size=2)(np.zeros(2)), 4.0 * np.eye(2))


def test_error_in_user_code_names_the_line(threads):
    line = raises_inside.__code__.co_firstlineno + 3
    with pytest.raises(ValueError, match="y too large") as serial:
        adjoint.jacfwd(raises_inside, chunk_size=1)(X)
    with pytest.raises(ValueError, match="y too large") as pooled:
        adjoint.jacfwd(raises_inside, chunk_size=1, executor=threads)(X)
    assert error_text(pooled.value) == error_text(serial.value)
    assert f"test_executor.py:{line}" in error_text(pooled.value)


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_memory_budget_holds_with_an_executor(threads, transform):
    big = np.linspace(0.0, 1.0, 300)
    before = adjoint.set_memory_budget(100_000)  # the 300 x 300 Jacobian takes 720,000 bytes
    try:
        with pytest.raises(adjoint.MemoryBudgetError) as serial:
            transform(np.sin, chunk_size=50)(big)
        with pytest.raises(adjoint.MemoryBudgetError) as pooled:
            transform(np.sin, chunk_size=50, executor=threads)(big)
    finally:
        adjoint.set_memory_budget(before)
    assert str(pooled.value) == str(serial.value)


@pytest.mark.parametrize("bad", [object(), 4, "threads"])
def test_bad_executor_is_refused_clearly(bad):
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with pytest.raises(TypeError, match="executor must be None or a concurrent.futures.Executor"):
            transform(layer, executor=bad)


def test_sparse_results_with_an_executor_are_refused_clearly():
    with cf.ThreadPoolExecutor(2) as threads:
        for transform in (adjoint.jacrev, adjoint.jacfwd):
            with pytest.raises(ValueError, match="executor= is not available with sparse=True"):
                transform(layer, sparse=True, executor=threads)


# ------------------------------------------------------------------ plain executors: code as source

@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_source_shipping_through_pickle(transform):
    """A plain executor gets the code as source and the data by pickle."""
    parallel._CODE.clear()
    ex = PicklingExecutor()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        pooled = transform(pytree_function, argnums=(0, 1), chunk_size=3, executor=ex)(PARAMS, SCALE)
    assert no_rerun_warnings(record)
    assert_same(pooled, transform(pytree_function, argnums=(0, 1), chunk_size=3)(PARAMS, SCALE))
    assert ex.calls == (3 if transform is adjoint.jacrev else 4)  # 7 rows, 10 columns, in threes
    assert len(parallel._CODE) == 1  # compiled once for all chunks


GAIN = np.array([1.0, 2.0, 3.0])
OFFSET = 0.5


def uses_globals(x):
    return np.sin(x * GAIN) * OFFSET


def test_changed_globals_reach_the_workers():
    """The shipped text is reused while the globals are the same objects;
    an array changed in place, or a global bound anew, is what the next
    Jacobian uses."""
    global OFFSET
    x = np.array([0.1, 0.2, 0.3])
    ex = PicklingExecutor()
    first = adjoint.jacrev(uses_globals, chunk_size=1, executor=ex)(x)
    np.testing.assert_allclose(first, np.diag(np.cos(x * GAIN) * GAIN * OFFSET), rtol=1e-14)
    GAIN[1] = -4.0
    try:
        second = adjoint.jacrev(uses_globals, chunk_size=1, executor=ex)(x)
        np.testing.assert_allclose(second, np.diag(np.cos(x * GAIN) * GAIN * OFFSET), rtol=1e-14)
        OFFSET = 2.5
        for transform in (adjoint.jacrev, adjoint.jacfwd):
            third = transform(uses_globals, chunk_size=2, executor=ex)(x)
            np.testing.assert_allclose(third, np.diag(np.cos(x * GAIN) * GAIN * 2.5), rtol=1e-14)
    finally:
        GAIN[1] = 2.0
        OFFSET = 0.5


def fills_in_a_loop(x):
    for i in range(1, x.shape[0]):
        x[i] = x[i] + x[i - 1] * x[i]
    return x


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
@pytest.mark.parametrize("kind", ["threads", "pickling"])
def test_function_changing_its_argument_changes_the_callers_once(threads, transform, kind):
    ex = threads if kind == "threads" else PicklingExecutor()
    plain = np.array([0.5, 1.0, 1.5, 2.0])
    fills_in_a_loop(plain)
    serial_arg, pooled_arg = np.array([0.5, 1.0, 1.5, 2.0]), np.array([0.5, 1.0, 1.5, 2.0])
    serial = transform(fills_in_a_loop, chunk_size=1)(serial_arg)
    pooled = transform(fills_in_a_loop, chunk_size=1, executor=ex)(pooled_arg)
    assert_same(pooled, serial)
    assert np.array_equal(pooled_arg, plain) and np.array_equal(serial_arg, plain)


def energy(x):
    return np.sum(np.sin(x) * x ** 2)


def test_partials_and_derivatives_of_derivatives(threads):
    part = functools.partial(layer, X)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        for ex in (threads, PicklingExecutor()):
            assert_same(transform(part, chunk_size=2, executor=ex)(W), transform(part, chunk_size=2)(W))
        # the Hessian, by both modes over the generated gradient code
        assert_same(transform(adjoint.grad(energy), chunk_size=2, executor=threads)(X),
                    transform(adjoint.grad(energy), chunk_size=2)(X))
    with warnings.catch_warnings():
        # (a chunk that fails on the executor is computed again here, with a RuntimeWarning: the
        # shipped module must run as it is, its helpers' imports included)
        warnings.simplefilter("error", RuntimeWarning)
        assert_same(adjoint.jacfwd(adjoint.grad(energy), chunk_size=2, executor=PicklingExecutor())(X),
                    adjoint.jacfwd(adjoint.grad(energy), chunk_size=2)(X))
    # reverse mode over a gradient is not one generated function: refused for processes, clearly
    with pytest.raises(TypeError, match="cannot be sent to worker processes.*ThreadPoolExecutor"):
        adjoint.jacrev(adjoint.grad(energy), chunk_size=2, executor=PicklingExecutor())(X)


def apply(f, x):
    return f(x) * x


def test_callees_transformed_while_threads_run(threads):
    """The callee is known only when the code runs: the threads reach its
    transform at the same time (built one at a time)."""
    x = np.linspace(0.1, 0.8, 8)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        def callee(t):
            return np.sin(t) ** 2
        pooled = transform(apply, argnums=1, chunk_size=1, executor=threads)(callee, x)
        np.testing.assert_allclose(pooled, np.diag(np.sin(x) ** 2 + x * 2 * np.sin(x) * np.cos(x)), rtol=1e-12)


def test_lost_chunks_are_computed_again_here():
    ex = PicklingExecutor(broken={1, 2})
    with pytest.warns(RuntimeWarning, match=r"2 of 3 chunks failed on the executor .*BrokenExecutor"):
        pooled = adjoint.jacrev(layer, argnums=1, chunk_size=2, executor=ex)(X, W)
    assert_same(pooled, adjoint.jacrev(layer, argnums=1, chunk_size=2)(X, W))


def test_shut_down_executor_runs_here():
    pool = cf.ThreadPoolExecutor(1)
    pool.shutdown()
    with pytest.warns(RuntimeWarning, match="3 of 3 chunks failed.*after shutdown"):
        pooled = adjoint.jacfwd(layer, argnums=1, chunk_size=2, executor=pool)(X, W)
    assert_same(pooled, adjoint.jacfwd(layer, argnums=1, chunk_size=2)(X, W))


def test_code_that_cannot_travel_as_source_is_refused():
    refusal = r"cannot be sent to worker processes as source.*custom_triple.*ThreadPoolExecutor"
    with pytest.raises(TypeError, match=refusal):
        adjoint.jacrev(uses_custom, chunk_size=2, executor=PicklingExecutor())(X)


@pytest.fixture(scope="module")
def processes():
    # spawn: the workers start empty (nothing inherited), so they can only
    # have the code from its source
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def test_process_pool(processes):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        rev = adjoint.jacrev(layer, argnums=(0, 1), chunk_size=2, executor=processes)(X, W)
        fwd = adjoint.jacfwd(with_aux, has_aux=True, chunk_size=1, executor=processes)(X)
    assert no_rerun_warnings(record)
    assert_same(rev, adjoint.jacrev(layer, argnums=(0, 1), chunk_size=2)(X, W))
    assert_same(fwd, adjoint.jacfwd(with_aux, has_aux=True, chunk_size=1)(X))
    pids = {processes.submit(os.getpid).result() for _ in range(4)}
    assert os.getpid() not in pids
    loaded = processes.submit(_loaded_digests).result()
    assert loaded and all(len(d) == 64 for d in loaded)


def _loaded_digests():
    return list(parallel._CODE)


def _loaded_shipments():
    return list(parallel._LOADED)


def long_loop(x):
    for _ in range(50):  # residuals: 50 steps of 2,000-element arrays
        x = np.sin(x) * 1.1
    return x[:8] * x[8:16]


def test_a_process_pool_gets_the_residuals_once_per_worker(processes):
    """Each task pickles a small handle; the residuals (about 1.6 MB) are
    written once to a file that the worker reads once."""
    sizes, paths = [], set()
    submit = processes.submit

    def recording_submit(fn, *args):
        sizes.append(len(pickle.dumps(args)))
        paths.add(args[0].path)
        return submit(fn, *args)

    x = np.linspace(-1.0, 1.0, 2000)
    serial = adjoint.jacrev(long_loop, chunk_size=2)(x)
    processes.submit = recording_submit
    try:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            pooled = adjoint.jacrev(long_loop, chunk_size=2, executor=processes)(x)
    finally:
        del processes.submit
    assert no_rerun_warnings(record)
    assert_same(pooled, serial)
    assert len(sizes) == 4 and max(sizes) < 1000
    assert len(processes.submit(_loaded_shipments).result()) >= 1
    assert len(paths) == 1 and not os.path.exists(paths.pop())  # removed when done
    # The serial one against finite differences (central, one input).
    h = 1e-6
    e = np.zeros_like(x)
    e[3] = h
    np.testing.assert_allclose(serial[:, 3], (long_loop(x + e) - long_loop(x - e)) / (2 * h), atol=1e-6)


def test_error_on_a_process_is_raised_once_with_the_line(processes):
    line = raises_inside.__code__.co_firstlineno + 3
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="y too large") as pooled:
            adjoint.jacfwd(raises_inside, chunk_size=2, executor=processes)(X)
    assert no_rerun_warnings(record)
    assert f"test_executor.py:{line}" in error_text(pooled.value)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Python 3.10's ProcessPoolExecutor hangs after one of its "
                    "workers is killed with SIGKILL (seen in the version matrix); the recovery path itself is the "
                    "same code, tested on 3.11 and later")
def test_process_pool_worker_killed_mid_run():
    """A process pool whose worker dies breaks: the chunks it had not
    returned are computed here, and one warning says so."""
    x = np.linspace(-1.0, 1.0, 200)
    serial = adjoint.jacfwd(heavy, chunk_size=40)(x)
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(os.getpid).result()  # started

        class KillingExecutor(cf.Executor):
            def submit(self, fn, *args):
                future = pool.submit(fn, *args)
                if args[1] == 160:  # the last chunk: the first is running, the others queued
                    for process in list(pool._processes.values()):
                        os.kill(process.pid, signal.SIGKILL)
                return future

        with pytest.warns(RuntimeWarning, match="chunks failed on the executor .*BrokenProcessPool"):
            pooled = adjoint.jacfwd(heavy, chunk_size=40, executor=KillingExecutor())(x)
    assert_same(pooled, serial)  # (computed here, as the serial one)


# ------------------------------------------------------------------ Dask

@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_dask_cluster_equals_serial(dask_client):
    ex = dask_client.get_executor()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        rev = adjoint.jacrev(pytree_function, argnums=(0, 1), chunk_size=2, executor=ex)(PARAMS, SCALE)
        fwd = adjoint.jacfwd(layer, argnums=(0, 1), chunk_size=2, executor=ex)(X, W)
    assert no_rerun_warnings(record)
    assert_same(rev, adjoint.jacrev(pytree_function, argnums=(0, 1), chunk_size=2)(PARAMS, SCALE))
    assert_same(fwd, adjoint.jacfwd(layer, argnums=(0, 1), chunk_size=2)(X, W))
    loaded = dask_client.run(_loaded_digests)
    assert len(loaded) == 2 and all(loaded.values())  # both workers compiled the shipped code


B = RNG.standard_normal((200, 200)) / 15.0


def heavy(x):
    for _ in range(20):
        x = np.tanh(B @ x)
    return x


def test_dask_worker_killed_mid_run(dask_client):
    """A worker killed while chunks run: the scheduler runs its chunks
    again elsewhere, and the Jacobian is the serial one."""
    ex = dask_client.get_executor()
    x = np.linspace(-1.0, 1.0, 200)
    serial = adjoint.jacfwd(heavy, chunk_size=40)(x)
    np.testing.assert_allclose(serial[:, :3], finite_differences(heavy, x, columns=range(3)), rtol=1e-5, atol=1e-8)
    pids = dask_client.run(os.getpid)
    victim = sorted(pids.values())[0]
    submitted = threading.Event()

    class KillingExecutor(cf.Executor):
        def submit(self, fn, *args):
            future = ex.submit(fn, *args)
            if args[1] == 160:  # the last chunk: all are queued or running
                submitted.set()
            return future

    killed = []

    def kill():
        submitted.wait(30)
        os.kill(victim, signal.SIGKILL)
        killed.append(time.perf_counter())

    killer = threading.Thread(target=kill)
    killer.start()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        pooled = adjoint.jacfwd(heavy, chunk_size=40, executor=KillingExecutor())(x)
    returned = time.perf_counter()
    killer.join()
    assert killed and killed[0] < returned  # the worker died before the Jacobian was complete
    # Not bit for bit: Dask's workers run BLAS on one thread (its nanny sets
    # OMP_NUM_THREADS=1 and the like), this process on several, and the
    # 200 x 200 products sum in another order (see docs/parallel.md).
    np.testing.assert_allclose(pooled, serial, rtol=1e-12, atol=1e-15)
    assert no_rerun_warnings(record)
    assert victim not in dask_client.run(os.getpid).values()
