"""The sparse-Jacobian benchmark workloads and their comparison: the
hand-written scipy.sparse Jacobians agree with finite differences (an
independent reference), the sparse comparison of tools/workloads.py accepts
equal matrices, sparse or dense, and rejects a wrong value, a value outside
the pattern, a missing entry and a wrong shape; bench.py's sparse table says
why the dense peers are missing."""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

scipy_sparse = pytest.importorskip("scipy.sparse")

TOOLS = Path(__file__).resolve().parents[1] / "tools"
_spec = importlib.util.spec_from_file_location("bench_workloads_sparse", TOOLS / "workloads.py")
workloads = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(workloads)

SPARSE = [pytest.param(w, id=w.name) for w in workloads.WORKLOADS if w.sparse]


def test_there_are_two_sparse_workloads_of_ten_thousand_inputs():
    sizes = {w.name: np.size(w.arguments()[w.argnum]) for w in workloads.WORKLOADS if w.sparse}
    assert len(sizes) == 2 and set(sizes.values()) == {10_000}


@pytest.mark.parametrize("workload", SPARSE)
def test_hand_written_sparse_jacobian_matches_central_differences(workload):
    (u,) = workload.small_arguments(seed=2)
    reference = workload.derivative(u)
    assert scipy_sparse.issparse(reference)
    step = 1e-6
    columns = []
    for j in range(u.size):
        e = np.zeros(u.size)
        e[j] = step
        plus = workload.function(u + e.reshape(u.shape))
        minus = workload.function(u - e.reshape(u.shape))
        columns.append((plus - minus).reshape(-1) / (2 * step))
    differences = np.stack(columns, axis=1)
    assert reference.shape == differences.shape
    assert np.allclose(reference.toarray(), differences, rtol=1e-6, atol=1e-6)


def _pair():
    dense = np.array([[2.0, -1.0, 0.0], [0.0, 3.0, 0.5], [0.0, 0.0, 4.0]])
    return dense, scipy_sparse.csr_matrix(dense)


def test_sparse_comparison_accepts_equal_sparse_and_dense_results():
    dense, reference = _pair()
    workloads.check_close("m", "w", reference.copy(), reference)
    workloads.check_close("m", "w", dense + 1e-13, reference)
    # an explicitly stored zero is not a difference
    stored = scipy_sparse.csr_matrix((np.array([2.0, -1.0, 0.0, 3.0, 0.5, 4.0]),
                                      np.array([0, 1, 0, 1, 2, 2]), np.array([0, 2, 5, 6])), shape=(3, 3))
    workloads.check_close("m", "w", stored, reference)


@pytest.mark.parametrize("wrong", [
    pytest.param(lambda d: d * (1 + 1e-5), id="scaled"),
    pytest.param(lambda d: d + np.eye(3)[::-1] * 1e-3, id="outside the pattern"),
    pytest.param(lambda d: np.where(d == 0.5, 0.0, d), id="entry missing"),
    pytest.param(lambda d: d[:2], id="shape"),
])
@pytest.mark.parametrize("as_sparse", [True, False], ids=["sparse", "dense"])
def test_sparse_comparison_rejects_a_wrong_jacobian(wrong, as_sparse):
    dense, reference = _pair()
    result = wrong(dense)
    if as_sparse:
        result = scipy_sparse.csr_matrix(result)
    with pytest.raises(workloads.DerivativeMismatch):
        workloads.check_close("m", "w", result, reference)


@pytest.fixture(scope="module")
def bench():
    environment = dict(os.environ)
    spec = importlib.util.spec_from_file_location("bench_sparse", TOOLS / "bench.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(environment)
    return module


def test_dense_peers_say_why_they_are_not_measured(bench):
    workload = [w for w in bench.workloads.WORKLOADS if w.sparse][0]
    args = workload.arguments()
    calls = bench.method_calls(workload, args)
    assert calls["adjoint dense"] == "n/a: dense 10^8 entries (763 MiB; --dense)"
    if bench.autograd is not None:
        assert calls["autograd"] == calls["adjoint dense"]
    assert bench.format_ratio(1.0, calls["adjoint dense"]) == "n/a"
    assert bench.format_ratio(1.0, 40_000.0) == "2.5e-05x"  # a sparse Jacobian against a dense one


def test_dense_adjoint_of_a_small_sparse_workload_is_checked(bench):
    """The dense method bench.py times (memory budget raised for the call)
    gives the hand-written Jacobian on small arguments."""
    workload = [w for w in bench.workloads.WORKLOADS if w.sparse][1]
    args = workload.small_arguments()
    before = bench.adjoint.get_memory_budget()
    result = bench.adjoint_dense_call(workload, args)()
    assert bench.adjoint.get_memory_budget() == before
    bench.workloads.check_close("adjoint dense", workload.name, result, workload.derivative(*args))
