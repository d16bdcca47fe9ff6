"""The benchmark's workloads are right before they are timed: adjoint and the
hand-written reference agree on every workload, the reference agrees with
autograd (an independent library) on the same code, and the comparison the
benchmark relies on fails on a wrong derivative. Then the harness's own
bounds: a slow call is timed few times, and jax.jit's measurement is cut off
at its timeout (that one needs jax)."""
import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import pytest

WORKLOADS_PATH = Path(__file__).resolve().parents[1] / "tools" / "workloads.py"
_spec = importlib.util.spec_from_file_location("bench_workloads", WORKLOADS_PATH)
workloads = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(workloads)

CASES = [pytest.param(workload, id=workload.name) for workload in workloads.WORKLOADS]


@pytest.mark.parametrize("workload", CASES)
def test_adjoint_matches_hand_written_derivative(workload):
    args = workload.arguments()
    reference = workload.derivative(*args)
    result = workload.adjoint_derivative()(*args)
    if workload.sparse:  # scipy.sparse both: compared without densifying
        workloads.check_close("adjoint", workload.name, result, reference)
        return
    assert np.shape(result) == reference.shape
    assert np.allclose(result, reference)


@pytest.mark.parametrize("workload", CASES)
def test_hand_written_derivative_matches_autograd(workload):
    import autograd
    import autograd.numpy as autograd_numpy

    args = workload.small_arguments(seed=1)  # a sparse workload's dense Jacobian: small
    function = workloads.with_numpy(workload.function, autograd_numpy)
    expected = workloads.derivative_of(workload, autograd, function)(*args)
    workloads.check_close("autograd", workload.name, expected, workload.derivative(*args))


def test_check_close_accepts_the_reference():
    reference = np.arange(6.0).reshape(2, 3)
    workloads.check_close("method", "workload", reference + 1e-12, reference)


@pytest.mark.parametrize("wrong", [
    pytest.param(lambda r: r * (1 + 1e-5), id="scaled"),
    pytest.param(lambda r: np.where(r == r.max(), 0.5 * r, r), id="one element"),
    pytest.param(lambda r: r.T, id="transposed shape"),
    pytest.param(lambda r: r[None], id="extra axis"),
])
def test_check_close_rejects_a_wrong_derivative(wrong):
    reference = np.arange(6.0).reshape(2, 3)
    with pytest.raises(workloads.DerivativeMismatch):
        workloads.check_close("method", "workload", wrong(reference), reference)


# ------------------------------------------------------------------ the harness


@pytest.fixture(scope="module")
def bench():
    """tools/bench.py as a module; it sets thread variables in os.environ for
    itself (and its children), which are restored here."""
    environment = dict(os.environ)
    spec = importlib.util.spec_from_file_location("bench", WORKLOADS_PATH.with_name("bench.py"))
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(environment)
    return module


def counting(seconds):
    calls = []

    def call():
        calls.append(None)
        time.sleep(seconds)

    return call, calls


def test_a_slow_call_is_timed_once_and_a_fast_one_at_least_min_repeats_times(bench):
    # (a threshold well above a scheduling delay: on a loaded machine the fast call once took over 50 ms)
    slow, slow_calls = counting(0.25)
    fast, fast_calls = counting(0.0)
    times = bench.median_times({"slow": slow, "fast": fast}, budget=0.001, min_repeats=5, slow_seconds=0.2)
    assert len(slow_calls) == 1
    assert times["slow"] >= 0.25
    assert len(fast_calls) >= 5


def test_a_slow_first_call_is_measured_once(bench, monkeypatch):
    monkeypatch.setattr(bench, "SLOW_FIRST_CALL", 0.01)
    call, calls = counting(0.02)
    assert bench.first_call_time(lambda: None, call, samples=3) >= 0.02
    assert len(calls) == 1


def test_ratios_against_a_missing_time_say_so(bench):
    assert bench.format_ratio(2.0, 1.0) == "2.00x"
    assert bench.format_ratio(1.0, "compile > 120 s") == "n/a"
    assert bench.format_ratio("WRONG", 1.0) == "WRONG"


def test_jax_jit_measurement_stops_at_its_timeout(bench):
    pytest.importorskip("jax", reason="jax is a benchmark peer, installed by `make bench`, not by `make test`")
    workload = workloads.WORKLOADS[0]
    start = time.monotonic()
    later, first, result, error = bench.jit_measurement(
        workload, workload.arguments(), budget=0.01, min_repeats=1, samples=1, timeout=0.001)
    assert (later, first, result, error) == ("compile > 0.001 s", "compile > 0.001 s", None, None)
    assert time.monotonic() - start < bench.JIT_START_TIMEOUT


def test_jax_jit_measurement_returns_its_times_and_result(bench):
    pytest.importorskip("jax", reason="jax is a benchmark peer, installed by `make bench`, not by `make test`")
    workload = workloads.WORKLOADS[0]
    args = workload.arguments()
    later, first, result, error = bench.jit_measurement(
        workload, args, budget=0.01, min_repeats=1, samples=1, timeout=60)
    assert error is None
    assert later > 0 and first > 0
    workloads.check_close("jax.jit", workload.name, result, workload.derivative(*args))


def test_a_call_slow_only_once_after_the_warm_up_is_timed_in_full_batches(bench):
    """One-time work in the first timed call (adjoint's Hessian plans its
    compressed passes at its second call) must not size the batches."""
    calls = []

    def call():
        calls.append(None)
        if len(calls) == 1:
            time.sleep(0.01)

    times = bench.median_times({"once slow": call}, budget=0.4, min_repeats=5)
    assert times["once slow"] < 0.001
    assert len(calls) > 100
