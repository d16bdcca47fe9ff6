"""``progress=True`` on jacrev and jacfwd: progress over chunks on stderr
(through tqdm when it is installed), nothing by default."""
import sys
import time
import types

import numpy as np
import pytest

import adjoint


def slow(x):
    """A function that takes its time (a sleep per call of the code)."""
    time.sleep(0.001)
    return np.sin(x) * 2.0


X = np.linspace(0.0, 1.0, 20)
EXPECTED = np.diag(2.0 * np.cos(X))


@pytest.mark.parametrize("transform, unit", [(adjoint.jacrev, "rows"), (adjoint.jacfwd, "columns")])
def test_plain_lines_on_stderr_without_tqdm(transform, unit, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails
    jacobian = transform(slow, chunk_size=2, progress=True)(X)
    np.testing.assert_allclose(jacobian, EXPECTED, rtol=1e-12)
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[-1] == f"adjoint.{transform.__name__}(slow): 20/20 {unit} (100%)"
    assert lines[0] == f"adjoint.{transform.__name__}(slow): 2/20 {unit} (10%)"
    assert 2 <= len(lines) <= 11  # at most one line per tenth of the work


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd])
def test_silent_by_default(transform, capsys):
    np.testing.assert_allclose(transform(slow, chunk_size=2)(X), EXPECTED, rtol=1e-12)
    assert capsys.readouterr() == ("", "")


def test_one_chunk_reports_once(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    np.testing.assert_allclose(adjoint.jacrev(slow, progress=True)(X), EXPECTED, rtol=1e-12)
    assert capsys.readouterr().err == "adjoint.jacrev(slow): 20/20 rows (100%)\n"


def test_a_bar_through_tqdm_when_it_is_installed(monkeypatch):
    bars = []

    class FakeBar:
        def __init__(self, total, desc, unit, file):
            self.total, self.desc, self.updates, self.closed = total, desc, [], False
            bars.append(self)

        def update(self, n):
            self.updates.append(n)

        def close(self):
            self.closed = True

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=FakeBar))
    np.testing.assert_allclose(adjoint.jacrev(slow, chunk_size=6, progress=True)(X), EXPECTED, rtol=1e-12)
    bar, = bars
    assert (bar.total, bar.desc, bar.updates, bar.closed) == (20, "adjoint.jacrev(slow)", [6, 6, 6, 2], True)


def test_progress_must_be_a_bool():
    with pytest.raises(TypeError, match="progress must be True or False"):
        adjoint.jacrev(slow, progress="yes")
