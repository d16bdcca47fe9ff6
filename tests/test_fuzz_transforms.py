"""A few fixed seeds of the random-program fuzzer (tools/fuzz_transforms.py):
programs mixing loops, branches, early returns, nested functions,
comprehensions, containers, in-place updates (of arguments too), *args calls,
try blocks and factory closures, each checked in every transform against
central differences (two step sizes), a Python loop for vmap, and the plain
call for values and the caller's arrays. The tool runs many more seeds."""
import importlib.util
import pathlib

import numpy as np
import pytest

TOOL = pathlib.Path(__file__).resolve().parent.parent / "tools" / "fuzz_transforms.py"


def _fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_transforms", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKS = ["jacrev", "jacfwd", "jvp", "vjp", "hessian", "vmap", "vmap2"]


@pytest.mark.parametrize("seed", [1, 7, 11, 13])
def test_random_program_in_every_transform(seed, tmp_path):
    fuzz = _fuzzer()
    source = fuzz.Builder(np.random.default_rng(seed)).program(8)
    module = fuzz.load(str(tmp_path / f"fuzzed_{seed}.py"), source, f"fuzzed_{seed}")
    results = fuzz.check(module, np.random.default_rng(10_000 + seed), CHECKS)
    assert not isinstance(results, str), results  # the seeds are chosen to run (no kink, no error)
    wrong = [(name, result) for name, result in results if result.startswith(("WRONG", "CRASH"))]
    assert not wrong, source + "\n" + "\n".join(f"{name}: {result}" for name, result in wrong)
    assert sum(result == "ok" for _, result in results) >= 3, results
