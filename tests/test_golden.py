"""The generated source of a few programs, pinned as text (DESIGN.md:
generated code is for people too). Regenerate after an intended change with
``ADJOINT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py``."""
import os
import pathlib

import pytest

import adjoint
import golden_programs as programs

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = {
    "mlp": (programs.mlp, (0, 1)),
    "softmax_cross_entropy": (programs.softmax_cross_entropy, 0),
    "reassigned": (programs.reassigned, 0),
    "params_tree": (programs.params_tree, 0),
    "damped_iteration": (programs.damped_iteration, 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_matches_golden(name):
    func, argnums = CASES[name]
    text = adjoint.source(func, argnums=argnums)
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("ADJOINT_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_is_deterministic_and_valid_python(name):
    func, argnums = CASES[name]
    first = adjoint.source(func, argnums=argnums)
    adjoint.backend.cache.clear()
    assert adjoint.source(func, argnums=argnums) == first
    compile(first, "<golden>", "exec")


def test_mlp_code_reads_like_a_hand_written_derivative():
    text = adjoint.source(programs.mlp, argnums=(0, 1))
    backward = text[text.index("def mlp_backward"):]
    assert "zeros" not in backward  # no zero arrays are built or added
    assert "hidden_bar" in backward and "W1_bar" in backward  # names follow the user's
    # Nothing the backward pass does not read is saved: b1 and b2 only shift values.
    residual_line = next(line for line in backward.splitlines() if "= residuals" in line)
    assert "b1" not in residual_line and "b2" not in residual_line
