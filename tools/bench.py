"""`make bench`: adjoint against the hand-written derivative and its peers.

For every workload of ``tools/workloads.py`` this measures, in one run, the
median time of one Jacobian (or gradient) computed by: the derivative written
by hand in NumPy (the reference), adjoint (transform cached by a warm-up
call), ``autograd.jacobian`` / ``autograd.grad``, ``jax.jacrev`` /
``jax.grad`` eager, and the same under ``jax.jit`` after its compilation;
also one plain run of the function, for scale (the "adjoint/f" column).
Every method's result is first checked against the reference; a mismatch is
reported and the run exits with status 1. Then it measures first calls
(transform or trace, compile and run): adjoint after ``adjoint.backend.cache.clear()``
and jax.jit after ``jax.clear_caches()`` per workload, and both on fresh
10-line functions imported from new module files.

The sparse workloads (names starting "sparse") time adjoint's
``jacfwd(sparse=True)`` against a sparse Jacobian written by hand with
``scipy.sparse``, in a table of their own. Their dense Jacobians (10^8
entries) are measured only with ``--dense``: adjoint's dense ``jacfwd``
(its memory budget raised to DENSE_MEMORY_BUDGET for the call) and autograd;
otherwise the table says why they are missing. JAX's dense ``jacfwd``
(eager and jit) is measured whenever jax is installed.

jax.jit is measured in a child process per workload (first call, result,
later calls), killed when its first call (compile and run) takes longer than
``--jit-timeout`` seconds: unrolling a Python loop of a few hundred steps can
make XLA compile for many minutes. The table then says "compile > N s".

Everything runs in float64 on one thread. Repeats are adaptive: each median
comes from about ``--budget`` seconds of calls (batches of several calls when
one call is short), the methods of a workload taking turns batch by batch,
with the garbage collector off while timing, as timeit does. A method takes
at least 5 samples unless they would take more than SLOW_SECONDS; a slower
method takes as many single calls as fit in SLOW_SECONDS, at least one (the
call that sized its batches). A first call longer than SLOW_FIRST_CALL is
measured once instead of 3 times.

    python tools/bench.py [--quick] [--filter NAME] [--budget SECONDS] [--jit-timeout SECONDS] [--dense]
"""
import os

# Before NumPy or jax is imported: their thread pools are sized at import.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import adjoint  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads  # noqa: E402

try:
    import autograd
    import autograd.numpy as autograd_numpy
except ImportError:
    autograd = None

try:
    import jax
    import jax.numpy as jax_numpy

    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = None

NOT_INSTALLED = "not installed"
METHODS = ("hand", "adjoint", "autograd", "jax", "jax.jit")
SPARSE_METHODS = ("hand", "adjoint", "adjoint dense", "autograd", "jax", "jax.jit")

DENSE_MEMORY_BUDGET = 2 ** 31
"""adjoint's memory budget (bytes) while it computes a sparse workload's
Jacobian densely (with ``--dense``): the 10^4 x 10^4 result is 763 MiB, over
the default budget of 256 MiB; 2 GiB lets it run in a few chunks."""

SLOW_SECONDS = 2.0
"""A method whose minimum number of samples would take longer than this (or
than the budget, if larger) takes fewer: as many single calls as fit, at least
one. jax.jacrev eager takes ~10 s per call on the Lorenz workload."""

SLOW_FIRST_CALL = 1.0
"""A first call longer than this many seconds is measured once, not 3 times."""

JIT_TIMEOUT = 120.0
"""Default ``--jit-timeout``: seconds allowed to jax.jit's first call (trace,
compile, run) of one workload, and again to the rest of its measurement."""

QUICK_JIT_TIMEOUT = 20.0
"""Default ``--jit-timeout`` with ``--quick``."""

JIT_START_TIMEOUT = 60.0
"""Seconds allowed to jax.jit's child process to import jax and warm it up."""


# ------------------------------------------------------------------ timing

def _batch_time(call, number):
    start = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - start) / number


def median_times(calls, budget, min_repeats, slow_seconds=SLOW_SECONDS):
    """Name -> median seconds per call of each ``calls[name]()``, from about
    ``budget`` seconds of calls each.

    Calls shorter than a twentieth of the budget are timed in batches, so the
    clock's resolution and loop overhead do not count. The methods take turns,
    batch by batch, so a burst of load from elsewhere on the machine hits them
    all alike instead of one method's whole measurement.

    A method whose ``min_repeats`` samples would take longer than
    ``max(slow_seconds, budget)`` is slow: it takes as many single calls as
    fit in that time, at least one, and the call that measured it counts."""
    if not calls:
        return {}
    patience = max(slow_seconds, budget)
    numbers, repeats = {}, {}
    samples = {name: [] for name in calls}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name, call in calls.items():
            single = max(_batch_time(call, 1), 1e-9)
            for _ in range(2):
                # The batch size is set by the quickest of three calls: a call
                # after the warm-up may still do one-time work (hessian plans
                # its compressed passes at its second call), and batches sized
                # by it would be of a call or two each, run cold between the
                # other methods' batches.
                if single < budget / 20:
                    single = max(min(single, _batch_time(call, 1)), 1e-9)
            numbers[name] = max(1, int(budget / 20 / single))
            repeats[name] = max(min_repeats, round(budget / (numbers[name] * single)))
            if numbers[name] * single * repeats[name] > patience:
                numbers[name] = 1
                samples[name].append(single)
                repeats[name] = max(1, min(repeats[name], int(patience / single))) - 1
        rounds = max(repeats.values())
        for turn in range(rounds):
            for name, call in calls.items():
                # Spread each method's repeats evenly over the rounds.
                if (turn + 1) * repeats[name] // rounds > turn * repeats[name] // rounds:
                    samples[name].append(_batch_time(call, numbers[name]))
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: statistics.median(times) for name, times in samples.items()}


def first_call_time(prepare, call, samples, on_first=None):
    """Median of ``samples`` times of ``call()`` right after ``prepare()``;
    one time only if the first is longer than SLOW_FIRST_CALL. ``on_first``,
    if given, receives the first time and the first call's result."""
    times = []
    for _ in range(samples):
        prepare()
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
        if on_first is not None and len(times) == 1:
            on_first(times[0], result)
        if times[0] > SLOW_FIRST_CALL:
            break
    return statistics.median(times)


# ------------------------------------------------------------------ methods

def jax_derivative(workload):
    return workloads.derivative_of(workload, jax, workloads.with_numpy(workload.function, jax_numpy))


def blocking(function, args):
    """A call of ``function(*args)`` that waits for jax's asynchronous result."""
    return lambda: jax.block_until_ready(function(*args))


def dense_skipped(args):
    """Why a sparse workload's dense Jacobian is not measured."""
    entries = np.prod([np.size(arg) for arg in args[:1]]) ** 2
    exponent = int(np.log10(entries))
    exact = 10 ** exponent == entries
    size = f"10^{exponent}" if exact else f"{entries:,}"
    return f"n/a: dense {size} entries ({entries * 8 / 2 ** 20:,.0f} MiB; --dense)"


def adjoint_dense_call(workload, args):
    """adjoint's dense ``jacfwd`` of a sparse workload, flattened to the sparse
    result's shape, its memory budget raised to DENSE_MEMORY_BUDGET for the call."""
    dense = workloads.derivative_of(workload, adjoint, workload.function, dense=True)

    def call():
        before = adjoint.get_memory_budget()
        adjoint.set_memory_budget(DENSE_MEMORY_BUDGET)
        try:
            return dense(*args)
        finally:
            adjoint.set_memory_budget(before)

    return call


def method_calls(workload, args, dense=False):
    """Method name -> zero-argument call returning the derivative, or a status
    string (NOT_INSTALLED, or why it is not measured). Not jax.jit: see
    ``jit_measurement``. A sparse workload has an "adjoint dense" method, and
    it and autograd run only with ``dense``."""
    derivative = workload.adjoint_derivative()
    calls = {
        "hand": lambda: workload.derivative(*args),
        "adjoint": lambda: derivative(*args),
    }
    if workload.sparse:
        calls["adjoint dense"] = adjoint_dense_call(workload, args) if dense else dense_skipped(
            [args[workload.argnum]])
    if autograd is None:
        calls["autograd"] = NOT_INSTALLED
    elif workload.sparse and not dense:
        calls["autograd"] = dense_skipped([args[workload.argnum]])
    else:
        autograd_derivative = workloads.derivative_of(
            workload, autograd, workloads.with_numpy(workload.function, autograd_numpy))
        calls["autograd"] = lambda: autograd_derivative(*args)
    if jax is None:
        calls["jax"] = NOT_INSTALLED
    else:
        jax_args = tuple(jax_numpy.asarray(arg) for arg in args)
        eager = jax_derivative(workload)
        calls["jax"] = blocking(eager, jax_args)
    return calls


def adjoint_first_call(workload, args, samples):
    """adjoint's first call, its cache cleared, in seconds."""
    derivative = workload.adjoint_derivative()
    return first_call_time(adjoint.backend.cache.clear, lambda: derivative(*args), samples)


# ------------------------------------------------------------------ jax.jit in a child process

JIT_CHILD_CODE = (
    "import sys; sys.path.insert(0, {tools!r}); import bench; bench.jit_child(sys.argv[1])"
).format(tools=str(Path(__file__).resolve().parent))


def _write_json(path, value):
    """Write ``value`` to ``path`` whole or not at all (the parent polls it)."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(value))
    os.replace(partial, path)


def jit_child(directory):
    """The child's side of ``jit_measurement``: reads job.json and args.npz
    in ``directory``; writes ready.json once jax is warm, result.npy and
    first.json after the first call, done.json at the end."""
    directory = Path(directory)
    job = json.loads((directory / "job.json").read_text())
    workload = {workload.name: workload for workload in workloads.WORKLOADS}[job["workload"]]
    with np.load(directory / "args.npz") as saved:
        args = tuple(saved[f"arg_{i}"] for i in range(len(saved.files)))
    jax_args = tuple(jax_numpy.asarray(arg) for arg in args)
    # jax's tracing, lowering and compiling machinery, warmed on another function
    # as it is in a process that has used jax before.
    warm = jax.jit(jax.jacrev(lambda x: jax_numpy.sin(x) * x))
    jax.block_until_ready(warm(jax_numpy.ones(3)))
    _write_json(directory / "ready.json", {})
    jitted = {}

    def fresh_jit():
        jax.clear_caches()
        jitted["call"] = jax.jit(jax_derivative(workload))

    def call():
        return jax.block_until_ready(jitted["call"](*jax_args))

    def first_done(seconds, result):
        np.save(directory / "result.npy", np.asarray(result))
        _write_json(directory / "first.json", {"first": seconds})

    first = first_call_time(fresh_jit, call, job["samples"], on_first=first_done)
    later = median_times({"jax.jit": call}, job["budget"], job["min_repeats"])["jax.jit"]
    _write_json(directory / "done.json", {"first": first, "later": later})


def _wait_for_child(process, directory, timeout, poll=0.05):
    """Wait for the child; kill it when a stage outlasts its time: "start"
    (import, warm-up) JIT_START_TIMEOUT, "compile" (the first call) and
    "later" (the rest) ``timeout`` seconds. None if it exited by itself, else
    the stage it was killed in. A first call that ended between two polls but
    took longer than ``timeout`` by the child's clock also counts as killed
    in "compile", so the verdict does not depend on the polling."""
    stage, limit = "start", time.monotonic() + JIT_START_TIMEOUT
    while True:
        try:
            process.wait(timeout=poll)
        except subprocess.TimeoutExpired:
            pass
        else:
            return "compile" if _first_call_seconds(directory) > timeout else None
        now = time.monotonic()
        if stage == "start" and (directory / "ready.json").exists():
            stage, limit = "compile", now + timeout
        if stage == "compile" and (directory / "first.json").exists():
            stage, limit = "later", now + timeout
            if _first_call_seconds(directory) > timeout:
                stage, limit = "compile", now
        if now > limit:
            process.kill()
            process.wait()
            return stage


def _first_call_seconds(directory):
    """The child's first call in seconds, 0 if it has not written it."""
    path = directory / "first.json"
    return json.loads(path.read_text())["first"] if path.exists() else 0.0


def jit_measurement(workload, args, budget, min_repeats, samples, timeout):
    """jax.jit's later calls and first call (seconds, or a status string), its
    result (None if there is none), and the child's error output if it failed."""
    if jax is None:
        return NOT_INSTALLED, NOT_INSTALLED, None, None
    with tempfile.TemporaryDirectory(prefix="adjoint-bench-jit-") as name:
        directory = Path(name)
        np.savez(directory / "args.npz", **{f"arg_{i}": np.asarray(arg) for i, arg in enumerate(args)})
        _write_json(directory / "job.json", {
            "workload": workload.name, "budget": budget, "min_repeats": min_repeats, "samples": samples,
        })
        with open(directory / "output.txt", "wb") as output:
            process = subprocess.Popen([sys.executable, "-c", JIT_CHILD_CODE, str(directory)],
                                       stdin=subprocess.DEVNULL, stdout=output, stderr=output)
            killed_in = _wait_for_child(process, directory, timeout)
        result = np.load(directory / "result.npy") if (directory / "first.json").exists() else None
        if killed_in == "start":
            return f"start > {JIT_START_TIMEOUT:g} s", f"start > {JIT_START_TIMEOUT:g} s", None, None
        if killed_in == "compile":
            return f"compile > {timeout:g} s", f"compile > {timeout:g} s", None, None
        if killed_in == "later":
            first = json.loads((directory / "first.json").read_text())["first"]
            return f"later > {timeout:g} s", first, result, None
        if process.returncode != 0 or not (directory / "done.json").exists():
            error = (directory / "output.txt").read_text(errors="replace")
            return "FAILED", "FAILED", None, f"exit status {process.returncode}\n{error}"
        done = json.loads((directory / "done.json").read_text())
        return done["later"], done["first"], result, None


# ------------------------------------------------------------------ fresh functions

FRESH_FUNCTION = "fresh 10-line function"
FRESH_SOURCE = textwrap.dedent('''\
    import numpy as np


    def layer_{serial}(x, W):
        hidden = np.tanh(W @ x)
        wave = np.sin(hidden) * np.exp(-hidden ** 2)
        soft = np.log(1.0 + hidden * hidden)
        mixed = wave * soft + hidden ** 3
        centred = mixed - mixed.max()
        scale = np.sqrt(np.sum(mixed * mixed) / mixed.shape[0] + 1.0)
        normalised = centred / scale
        gated = normalised * (1.0 / (1.0 + np.exp(-mixed)))
        return gated + 0.5 * np.cos(hidden) * wave
''')


#: Other functions written after the measured one in the "large module"
#: row, 1,000 lines in all: the first call should not grow with the module.
FILLER_SOURCE = textwrap.dedent('''\


    def filler_{serial}_{index}(x, W):
        hidden = np.tanh(W @ x + {index}.0)
        for _ in range(3):
            hidden = hidden * np.sin(hidden) + x[0]
        return np.sum(hidden ** 2)
''')
LARGE_MODULE_LINES = 1000


class FreshFunctions:
    """Never-seen functions for first-call timings: each ``next()`` writes the
    same 10-line body under a new name to a new module file and imports it
    (adjoint needs real source, and a new function defeats every cache).
    With ``large=True`` the module also holds other functions, 1,000 lines
    in all."""

    def __init__(self, directory, large=False):
        self.directory = Path(directory)
        self.serial = 0
        self.large = large

    def next(self):
        self.serial += 1
        name = f"adjoint_bench_fresh_{self.serial}"
        path = self.directory / f"{name}.py"
        text = FRESH_SOURCE.format(serial=self.serial)
        index = 0
        while self.large and text.count("\n") < LARGE_MODULE_LINES:
            text += FILLER_SOURCE.format(serial=self.serial, index=index)
            index += 1
        path.write_text(text)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, f"layer_{self.serial}")


def fresh_function_times(samples, budget, min_repeats):
    """Rows (method, first call, later calls) for a new 10-line function."""
    rng = np.random.default_rng(1)
    args = (rng.standard_normal(30), rng.standard_normal((20, 30)) / np.sqrt(30))
    first, later = {}, {}
    with tempfile.TemporaryDirectory() as directory:
        fresh = FreshFunctions(directory)
        current = {}

        def new_adjoint():
            current["adjoint"] = adjoint.jacrev(fresh.next())

        later["adjoint"] = lambda: current["adjoint"](*args)
        first["adjoint"] = first_call_time(new_adjoint, later["adjoint"], samples)
        in_large = FreshFunctions(directory + "/large", large=True)
        Path(directory, "large").mkdir()

        def new_adjoint_in_large_module():
            current["adjoint large"] = adjoint.jacrev(in_large.next())

        later["adjoint large"] = lambda: current["adjoint large"](*args)
        first["adjoint large"] = first_call_time(new_adjoint_in_large_module, later["adjoint large"], samples)
        if jax is None:
            first["jax.jit"] = NOT_INSTALLED
        else:
            jax_args = tuple(jax_numpy.asarray(arg) for arg in args)

            def new_jit():
                jax.clear_caches()
                current["jax.jit"] = jax.jit(jax.jacrev(workloads.with_numpy(fresh.next(), jax_numpy)))

            later["jax.jit"] = lambda: jax.block_until_ready(current["jax.jit"](*jax_args))
            first["jax.jit"] = first_call_time(new_jit, later["jax.jit"], samples)
        later = median_times(later, budget, min_repeats)
    return [
        (label, first[method], later.get(method, NOT_INSTALLED))
        for label, method in (("adjoint.jacrev", "adjoint"),
                              (f"adjoint.jacrev, in a {LARGE_MODULE_LINES:,}-line module", "adjoint large"),
                              ("jax.jit(jax.jacrev)", "jax.jit"))
    ]


# ------------------------------------------------------------------ one workload

class Failures:
    """Mismatches and exceptions, reported after the tables."""

    def __init__(self):
        self.messages = []

    def add(self, message):
        self.messages.append(message)

    def add_exception(self, workload_name, method):
        self.messages.append(f"{workload_name}: {method} raised\n{traceback.format_exc()}")


def run_workload(workload, budget, min_repeats, first_call_samples, jit_timeout, failures, dense=False):
    """Method -> seconds per call (or a status string), and first-call times."""
    args = workload.arguments()
    reference = workload.derivative(*args)
    times = {}
    # One plain run of the function, for scale: no derivative, nothing to check.
    if workload.kind in ("vmap(jacrev)", "vmap(hessian)"):  # for scale: the function on one example
        checked = {"function": lambda: workload.function(*[arg[0] for arg in args])}
    else:
        checked = {"function": lambda: workload.function(*args)}
    checked["function"]()
    for method, call in method_calls(workload, args, dense).items():
        if isinstance(call, str):
            times[method] = call
            continue
        try:
            result = call()  # the warm-up: adjoint's transform, jax's compilation
            workloads.check_close(method, workload.name, result, reference)
        except workloads.DerivativeMismatch as mismatch:
            times[method] = "WRONG"
            failures.add(str(mismatch))
            continue
        except Exception:
            times[method] = "FAILED"
            failures.add_exception(workload.name, method)
            continue
        checked[method] = call
    times.update(median_times(checked, budget, min_repeats))
    first = {}
    try:
        first["adjoint"] = adjoint_first_call(workload, args, first_call_samples)
    except Exception:
        failures.add_exception(workload.name, "adjoint's first-call measurement")
        first["adjoint"] = "FAILED"
    try:
        times["jax.jit"], first["jax.jit"], result, error = jit_measurement(
            workload, args, budget, min_repeats, first_call_samples, jit_timeout)
    except Exception:
        failures.add_exception(workload.name, "jax.jit's measurement")
        times["jax.jit"] = first["jax.jit"] = "FAILED"
        result = error = None
    if error is not None:
        failures.add(f"{workload.name}: jax.jit's child process failed, {error}")
    if result is not None:
        try:
            workloads.check_close("jax.jit", workload.name, result, reference)
        except workloads.DerivativeMismatch as mismatch:
            times["jax.jit"] = "WRONG"
            failures.add(str(mismatch))
    return times, first


# ------------------------------------------------------------------ report

def format_time(seconds):
    if isinstance(seconds, str):
        return seconds
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def format_ratio(numerator, denominator):
    """``numerator / denominator``; adjoint's status if it has no time, "n/a"
    if the other method has none (not installed, timed out, failed)."""
    if isinstance(numerator, str):
        return numerator
    if isinstance(denominator, str):
        return "n/a"
    ratio = numerator / denominator
    return f"{ratio:.2f}x" if ratio >= 0.01 else f"{ratio:.1e}x"


def time_and_ratio(seconds, reference):
    if isinstance(seconds, str):
        return seconds
    return f"{format_time(seconds)} ({format_ratio(seconds, reference)})"


def print_table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, ["-" * width for width in widths], *rows]
    for line in lines:
        cells = [str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
                 for i, (cell, width) in enumerate(zip(line, widths, strict=True))]
        print("  ".join(cells).rstrip())


def installed_version(distribution, imported=True):
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        imported = False
    return f"{distribution} {version if imported else NOT_INSTALLED}"


def print_environment(args):
    versions = ", ".join([
        installed_version("numpy"),
        installed_version("adjoint"),
        installed_version("autograd", autograd is not None),
        installed_version("jax", jax is not None),
    ])
    print(f"Python {platform.python_version()}, {versions}")
    print(f"float64, one thread (OMP/OPENBLAS/MKL_NUM_THREADS=1, XLA_FLAGS={os.environ['XLA_FLAGS']!r})")
    print(f"median of about {args.budget:g} s of calls per method, at least {args.min_repeats} sample(s) "
          f"unless they take over {max(SLOW_SECONDS, args.budget):g} s (then as many single calls as fit, "
          f"at least 1); first calls: median of {args.first_call_samples}, 1 if over {SLOW_FIRST_CALL:g} s")
    print(f"jax.jit measured in a child process per workload, its first call (trace, compile, run) "
          f"stopped after {args.jit_timeout:g} s")
    print("ratios in parentheses are time / time of the hand-written derivative")
    print()


def report(results, fresh_rows, sparse=()):
    """The tables; ``sparse`` names the sparse workloads among ``results``,
    which have a table of their own (``report_sparse``)."""
    sparse_results = {name: result for name, result in results.items() if name in sparse}
    results = {name: result for name, result in results.items() if name not in sparse}
    if sparse_results:
        report_sparse(sparse_results)
        if results or fresh_rows:
            print()
    if not results:
        return print_fresh_function(fresh_rows) if fresh_rows else None
    print_table(
        ["workload", *METHODS],
        [
            [name, format_time(times["hand"])]
            + [time_and_ratio(times[method], times["hand"]) for method in METHODS[1:]]
            for name, (times, _) in results.items()
        ],
    )
    print()
    print("adjoint/X = adjoint's time / X's time (below 1x: adjoint is faster); "
          "adjoint/f = adjoint's time / one plain run of the function")
    print_table(
        ["workload", "adjoint/autograd", "adjoint/jax", "adjoint/jax.jit", "adjoint/f", "adjoint 1st call",
         "jax.jit 1st call"],
        [
            [
                name,
                format_ratio(times["adjoint"], times["autograd"]),
                format_ratio(times["adjoint"], times["jax"]),
                format_ratio(times["adjoint"], times["jax.jit"]),
                format_ratio(times["adjoint"], times["function"]),
                format_time(first["adjoint"]),
                format_time(first["jax.jit"]),
            ]
            for name, (times, first) in results.items()
        ],
    )
    if fresh_rows:
        print()
        print_fresh_function(fresh_rows)


def report_sparse(results):
    print("Sparse Jacobians, (output size, input size): adjoint = jacfwd(sparse=True), a scipy.sparse CSR matrix; "
          "hand = written with scipy.sparse; the others dense")
    print_table(
        ["workload", *SPARSE_METHODS],
        [
            [name, format_time(times["hand"])]
            + [time_and_ratio(times[method], times["hand"]) for method in SPARSE_METHODS[1:]]
            for name, (times, _) in results.items()
        ],
    )
    print()
    print("adjoint/X = adjoint's sparse Jacobian time / X's time (below 1x: adjoint is faster); "
          "adjoint/f = adjoint's time / one plain run of the function; 1st call = pattern, colouring, passes")
    print_table(
        ["workload", "adjoint/dense", "adjoint/autograd", "adjoint/jax", "adjoint/jax.jit", "adjoint/f",
         "adjoint 1st call"],
        [
            [
                name,
                format_ratio(times["adjoint"], times["adjoint dense"]),
                format_ratio(times["adjoint"], times["autograd"]),
                format_ratio(times["adjoint"], times["jax"]),
                format_ratio(times["adjoint"], times["jax.jit"]),
                format_ratio(times["adjoint"], times["function"]),
                format_time(first["adjoint"]),
            ]
            for name, (times, first) in results.items()
        ],
    )


def print_fresh_function(rows):
    print(f"A {FRESH_FUNCTION} (Jacobian 20x30); first call = transform or trace, compile, run:")
    print_table(
        ["method", "1st call", "later calls"],
        [[method, format_time(first), format_time(later)] for method, first, later in rows],
    )


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke test, not a measurement")
    parser.add_argument("--filter", metavar="NAME", default="",
                        help="only the workloads whose name contains NAME (case-insensitive)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of calls per median (default 0.2, 0.01 with --quick)")
    parser.add_argument("--jit-timeout", type=float, default=None, metavar="SECONDS",
                        help=f"seconds allowed to jax.jit's first call (trace, compile, run) of a workload "
                             f"(default {JIT_TIMEOUT:g}, {QUICK_JIT_TIMEOUT:g} with --quick)")
    parser.add_argument("--dense", action="store_true",
                        help="also time the sparse workloads' dense Jacobians by adjoint (memory budget raised "
                             "to 2 GiB) and autograd: 10^8 entries, seconds per call")
    args = parser.parse_args(argv)
    if args.budget is None:
        args.budget = 0.01 if args.quick else 0.2
    if args.jit_timeout is None:
        args.jit_timeout = QUICK_JIT_TIMEOUT if args.quick else JIT_TIMEOUT
    args.min_repeats = 1 if args.quick else 5
    args.first_call_samples = 1 if args.quick else 3
    return args


def main(argv=None):
    args = parse_arguments(argv)
    min_repeats = args.min_repeats
    first_call_samples = args.first_call_samples
    selected = [workload for workload in workloads.WORKLOADS if args.filter.lower() in workload.name.lower()]
    with_fresh_function = args.filter.lower() in FRESH_FUNCTION.lower()
    if not selected and not with_fresh_function:
        names = ", ".join([workload.name for workload in workloads.WORKLOADS] + [FRESH_FUNCTION])
        sys.exit(f"--filter {args.filter!r} matches no workload; the workloads are: {names}")
    print_environment(args)
    failures = Failures()
    results = {}
    for workload in selected:
        results[workload.name] = run_workload(workload, args.budget, min_repeats, first_call_samples,
                                              args.jit_timeout, failures, args.dense)
    fresh_rows = []
    if with_fresh_function:
        try:
            fresh_rows = fresh_function_times(first_call_samples, args.budget, min_repeats)
        except Exception:
            failures.add_exception(FRESH_FUNCTION, "the first-call measurement")
    report(results, fresh_rows, {workload.name for workload in selected if workload.sparse})
    if failures.messages:
        print(file=sys.stderr)
        print(f"{len(failures.messages)} failure(s):", file=sys.stderr)
        for message in failures.messages:
            print(message.rstrip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
