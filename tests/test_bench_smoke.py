"""The benchmark's workloads are right before they are timed: adjoint and the
hand-written reference agree on every workload, the reference agrees with
autograd (an independent library) on the same code, and the comparison the
benchmark relies on fails on a wrong derivative. No timing, no jax."""
import importlib.util
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
    assert np.shape(result) == reference.shape
    assert np.allclose(result, reference)


@pytest.mark.parametrize("workload", CASES)
def test_hand_written_derivative_matches_autograd(workload):
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as autograd_numpy

    args = workload.arguments(seed=1)
    function = workloads.with_numpy(workload.function, autograd_numpy)
    transform = autograd.grad if workload.scalar_output else autograd.jacobian
    expected = transform(function, workload.argnum)(*args)
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
