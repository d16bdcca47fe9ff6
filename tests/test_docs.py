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
