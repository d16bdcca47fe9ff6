"""The modules split to stay under 800 lines (runtime/batched_scipy_linalg.py,
runtime/in_place.py, rules/shape_helpers.py, errors_jacobians.py,
tools/fuzz_common.py) and the repetitions folded with them: the size rule
itself, the moved helpers still self-contained for an exported module, the
one helper of map/filter/reduce, and the fuzzers' shared command line."""
import functools
import importlib.util
import pathlib
import sys

import numpy as np
import pytest

import adjoint
from adjoint import errors, runtime
from adjoint.backend.compile import runtime_helpers

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_every_module_of_the_library_and_its_tools_is_under_800_lines():
    # (DESIGN.md: a module over that is two ideas; tests may be longer)
    long = {str(path.relative_to(ROOT)): n for path in sorted([*ROOT.glob("adjoint/**/*.py"), *ROOT.glob("tools/*.py")])
            if (n := len(path.read_text(encoding="utf-8").splitlines())) >= 800}
    assert not long, long


def _top_level_imports():
    """``{module: modules of adjoint it imports when it is imported}``: the
    imports at module level (a function's own imports run when it is
    called), an import of a package's submodule counted as that submodule's,
    and the packages a module sits in left out (Python imports them first)."""
    import ast

    modules = {}
    for path in ROOT.glob("adjoint/**/*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        parents = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        edges = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ImportFrom):
                continue
            parts = package.split(".")
            base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else (node.module or "")
            subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
            edges.update(subs if len(subs) == len(node.names) else [base, *subs])
        graph[name] = {m for m in edges if m in modules and m != name and m not in parents}
    return graph


def test_the_import_graph_has_no_cycle():
    # (issue 8: imports run one way, front end -> analyses -> transforms -> back end -> api)
    graph, state, cycles = _top_level_imports(), {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def test_moved_names_resolve_where_generated_code_and_callers_look():
    for name in ("vmatrix_function", "vmatrix_pair", "vsolve_triangular", "vcho_factor", "vcho_solve",
                 "check_unshared", "check_not_array", "check_basic_index", "entry_value", "write_back",
                 "InPlaceRefused"):
        assert runtime.is_helper(getattr(runtime, name)), name
    for name in ("format_bytes", "retitled", "jacobian_too_large_error", "chunk_too_large_error",
                 "out_of_memory_error", "tall_reverse_warning", "scipy_missing_error", "sparse_structure_error",
                 "value_dependent_pattern_warning", "executor_type_error", "executor_source_error",
                 "executor_rerun_warning"):
        assert callable(getattr(errors, name)), name
    assert errors.format_bytes(3 << 20) == "3 MiB"
    assert isinstance(errors.jacobian_too_large_error("jacrev", "f", 10, 10, 800, 100), adjoint.MemoryBudgetError)


def test_moved_in_place_helpers_run_as_an_exported_module_carries_them():
    # an exported module holds the helpers' source and NumPy alone: the
    # class the checks raise must come along with them
    source = "rt.check_unshared(a, m, s, n, o)\nrt.check_basic_index(i, m)\nrt.write_back(c, v)\nrt.entry_value(x)"
    names = dict(runtime_helpers(source, "rt"))
    assert {"check_unshared", "InPlaceRefused", "_arrays_in", "_overlaps", "write_back", "entry_value"} <= set(names)
    namespace = {"np": np}
    exec(compile("\n\n".join(names.values()), "<exported>", "exec"), namespace)
    caller = np.zeros(3)
    namespace["write_back"](caller, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(caller, [1.0, 2.0, 3.0])
    held = np.arange(6.0)
    with pytest.raises(namespace["InPlaceRefused"], match="shares memory with x"):
        namespace["check_unshared"](held[2:4], "refused: {other}", {"x": held}, [("x", "x")])
    namespace["check_unshared"](held[2:4].copy(), "refused: {other}", {"x": held}, [("x", "x")])
    with pytest.raises(namespace["InPlaceRefused"]):
        namespace["check_basic_index"]([0, 1], "not a view")


def _scaled(a, u, v):
    return a * np.sin(u) * v


def _map_of_partial(x):
    return np.sum(np.stack(list(map(functools.partial(_scaled, 2.0), [x, x * x], [x, 1.0 + x]))))


def _reduce_of_partial(x):
    return functools.reduce(functools.partial(_scaled, 0.5), [x, 2.0 * x, x * x])


def _map_with_zip_rebound(x):
    zip = None  # noqa: F841 (the map below needs Python's zip)
    return np.sum(np.stack(list(map(functools.partial(_scaled, 2.0), [x, x * x], [x, 1.0 + x]))))


def test_map_and_reduce_call_a_partial_made_once():
    x = np.array([0.3, -0.7])
    # by hand: sum of 2 sin(x) x + 2 sin(x^2) (1 + x); and 0.5 sin(0.5 sin(x) 2x) x^2 elementwise
    want = 2 * np.cos(x) * x + 2 * np.sin(x) + 4 * x * np.cos(x * x) * (1 + x) + 2 * np.sin(x * x)
    np.testing.assert_allclose(adjoint.grad(_map_of_partial)(x), want, rtol=1e-12)
    inner = 0.5 * np.sin(x) * 2 * x
    d_inner = np.cos(x) * x + np.sin(x)
    want = np.diag(0.5 * np.cos(inner) * d_inner * x * x + 0.5 * np.sin(inner) * 2 * x)
    np.testing.assert_allclose(adjoint.jacrev(_reduce_of_partial)(x), want, rtol=1e-12)
    # the refusal names map(...), not the temporary that holds the partial
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=r"test_split\.py:\d+: map\(\.\.\.\) over several"):
        adjoint.grad(_map_with_zip_rebound)(x)


def test_the_fuzzers_print_their_usage(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("fuzz_compose", ROOT / "tools" / "fuzz_compose.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["fuzz_compose.py", "--help"])
    module.main()
    printed = capsys.readouterr().out
    assert printed.startswith("Random-program fuzzer for compositions of transforms.")
    assert "Usage: python tools/fuzz_compose.py" in printed
