"""A lint of the runtime helpers that forward mode differentiates by their
own source (a helper of generated code with no tangent rule: the tangent
and second-order helpers, met again by third and fourth derivatives, and
the einsum helpers). Such code must stay in the subset the front end
transforms, or a new helper breaks higher order only when someone asks for
it. Flagged: an import inside a function, ``next(...)`` over a generator
expression, and a ``for`` loop over ``zip(...)`` or ``enumerate(...)``
(iterators whose items cannot carry derivatives: loop by index)."""
import ast
import inspect
import textwrap
import types

import pytest

from adjoint import rules, runtime

#: the modules whose helpers higher-order derivatives transform by source
MODULES = [m for m in runtime.FAMILIES
           if m.__name__.rsplit(".", 1)[1].startswith(("tangent_", "second_order_")) or m is runtime.einsums]

#: constructs found before this lint, each reached only with values that are
#: not differentiated (so not refused today); fixing one removes its entry.
KNOWN = {
    ("tangent_reductions", "interp_adjoint_x_tangent_fp"): {"import"},
    ("second_order_arrays", "_ra_einsum_pair"): {"next over a generator"},
    ("second_order_arrays", "_diagonal_gather"): {"for over enumerate"},
    ("second_order_math", "tuple_tangent"): {"for over zip"},
    ("second_order_math", "unpack_tangent_adjoint"): {"for over enumerate"},
}


def refused_constructs(function_node):
    """The constructs of the lint in one function's AST, as a set of names."""
    found = set()
    for node in ast.walk(function_node):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.add("import")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "next"
              and node.args and isinstance(node.args[0], ast.GeneratorExp)):
            found.add("next over a generator")
        elif (isinstance(node, ast.For) and isinstance(node.iter, ast.Call)
              and isinstance(node.iter.func, ast.Name) and node.iter.func.id in ("zip", "enumerate")):
            found.add(f"for over {node.iter.func.id}")
    return found


def differentiated_by_source(module):
    """``(name, function AST)`` of the module's helpers with no tangent rule."""
    rules.load_optional_rules()
    for node in ast.parse(inspect.getsource(module)).body:
        function = getattr(module, getattr(node, "name", ""), None)
        if (isinstance(node, ast.FunctionDef) and isinstance(function, types.FunctionType)
                and rules.helper_by_source(function)):
            yield node.name, node


def test_the_lint_finds_each_construct():
    bad = textwrap.dedent('''
        def helper(t, operands):
            from math import prod
            first = next(o for o in operands if o is not None)
            for a, b in zip(t, operands):
                first = first + a * b
            for i, a in enumerate(t):
                first = first + a
            return first
        ''')
    assert refused_constructs(ast.parse(bad).body[0]) == {
        "import", "next over a generator", "for over zip", "for over enumerate"}
    good = textwrap.dedent('''
        def helper(t, operands):
            total = None
            for i in range(len(t)):
                total = t[i] if total is None else total + t[i]
            return total
        ''')
    assert refused_constructs(ast.parse(good).body[0]) == set()


def test_modules_are_found():
    names = {m.__name__.rsplit(".", 1)[1] for m in MODULES}
    assert {"einsums", "second_order_arrays", "second_order_math", "tangent_linalg"} <= names


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_helpers_differentiated_by_source_stay_in_the_subset(module):
    short = module.__name__.rsplit(".", 1)[1]
    for name, node in differentiated_by_source(module):
        found = refused_constructs(node)
        known = KNOWN.get((short, name), set())
        assert found == known, (
            f"adjoint/runtime/{short}.py: {name} has {sorted(found - known) or 'no longer'} "
            f"{sorted(known - found) if known - found else ''}: forward mode transforms this helper's source "
            "at higher order; write it by index (no import inside, no next(genexpr), no for over zip / "
            "enumerate), or give it a tangent rule; update KNOWN when fixing an old entry.")
