"""Generated code does not depend on PYTHONHASHSEED: the same functions give
the same source text (reverse, forward and vmap) in a process with another
string-hash seed. Sets of names are iterated in a different order under
each seed; where such an order reached the generated code, independent
statements (the adjoints a call hands to each item of a list) swapped
places between runs. The functions are in hash_seed_programs.py."""
import os
import pathlib
import subprocess
import sys

import hash_seed_programs

TESTS = pathlib.Path(__file__).resolve().parent


def other_seed():
    """A seed other than this process's: one more than a fixed one; under
    a random seed (PYTHONHASHSEED unset or "random") any fixed one."""
    own = os.environ.get("PYTHONHASHSEED", "random")
    return str(int(own) + 1) if own.isdigit() else "1"


def test_generated_code_is_the_same_under_another_hash_seed():
    environment = dict(os.environ, PYTHONHASHSEED=other_seed(),
                       PYTHONPATH=os.pathsep.join([str(TESTS.parent), str(TESTS)]))
    # the other process works while this one generates the same texts
    child = subprocess.Popen([sys.executable, "-W", "ignore", str(TESTS / "hash_seed_programs.py")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        here = hash_seed_programs.sources()
    finally:
        there, errors = child.communicate(timeout=120)
    assert child.returncode == 0, errors
    # every case was generated (and a vmap that runs once per example shows why)
    for function, _, modes in hash_seed_programs.CASES:
        for mode in modes:
            assert f"### {function.__name__} {mode}\n" in here
    assert "def spreads_a_list_filled_in_a_loop_backward" in here
    assert "# vmap of branch_and_loop runs once per example" in here
    assert here.splitlines() == there.splitlines()
