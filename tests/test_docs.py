"""The documentation lists every primitive that has a rule, and the README
shows the two set-up commands."""
import pathlib

import pytest

from adjoint import rules

ROOT = pathlib.Path(__file__).parent.parent
INTERNAL = {"getitem", "identity", "transpose_attribute", "attribute", "setitem", "append", "astype"}  # reached through syntax


# (rules of the runtime helpers generated code calls are for transforming
# that code again; they are not functions a user calls)
DOCUMENTED = [p.__name__ for p in rules.ADJOINT_RULES
              if p.__name__ not in INTERNAL and not getattr(p, "__module__", "").startswith("adjoint.runtime")]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_rule_is_documented(name):
    assert name in (ROOT / "docs" / "supported.md").read_text()


def test_readme_shows_the_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def _table_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("supported_table", ROOT / "tools" / "supported_table.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_the_generated_table_of_rules_is_current():
    # The committed table is generated with NumPy 2 and SciPy: other
    # versions name other functions (np.concat, np.acos are NumPy 2's).
    import numpy as np

    pytest.importorskip("scipy", reason="the table lists SciPy's rules: SciPy is needed to generate it")
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        pytest.skip(f"the table is generated with NumPy 2; this is NumPy {np.__version__}")
    tool = _table_tool()
    text = (ROOT / "docs" / "supported.md").read_text()
    assert tool.updated(text) == text, "docs/supported.md is stale: run python tools/supported_table.py"


def test_the_table_tool_notices_a_stale_table(tmp_path, monkeypatch):
    tool = _table_tool()
    stale = tmp_path / "supported.md"
    stale.write_text(f"before\n{tool.BEGIN}\n| `np.nothing` | yes |\n{tool.END}\nafter\n")
    monkeypatch.setattr(tool, "DOC", stale)
    assert tool.main(["--check"]) == 1
    assert tool.main([]) == 0 and tool.main(["--check"]) == 0
    assert stale.read_text().startswith("before\n") and "`np.sum`" in stale.read_text()
