"""The faster first call: a top-level def is read from its own lines
(frontend/parse_block.py) and gives the node the whole-file parse gives;
the printer's gast -> ast conversion (backend/to_ast.py) and the tree walk
(gastutil.walk) give what gast's and ast's do. Each is compared with the
library it replaces, on code made to trip it."""
import ast
import importlib
import sys
import textwrap

import gast
import numpy as np
import pytest

import adjoint
from adjoint.backend import to_ast
from adjoint.frontend import gastutil, parse, parse_block

MODULE = textwrap.dedent('''\
    from __future__ import annotations

    import numpy as np
    from numpy import (
        tanh,
    )


    def documented(x, scale=(
    2.0)):
        """A docstring with lines at column 0:
    def documented(x):
    return x
    """
        y = np.sin(x) * scale \\
    + tanh(x)
        return y


    @staticmethod
    def decorated(x):
        return np.exp(x)  # a comment

    # a comment at column 0 between two defs
    def last(x: np.ndarray) -> np.ndarray:
        z = [np.cos(v) for v in x]
        return np.stack(z) * x


    def guarded(x):
        try:
            y = np.log(x)
        except FloatingPointError as err:
            y = x
        return y
''') + "".join(f"\n\ndef filler_{i}(x):\n    return x * {i}\n" for i in range(60))


@pytest.fixture
def module(tmp_path, monkeypatch):
    name = "first_call_module"
    path = tmp_path / f"{name}.py"
    path.write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    imported = importlib.import_module(name)
    yield imported, path
    sys.modules.pop(name, None)


def dump(node):
    return gast.dump(node, include_attributes=True)


def test_a_top_level_def_is_read_from_its_lines_alone_and_as_the_file_gives_it(module, monkeypatch):
    imported, _ = module
    functions = [imported.documented, imported.decorated.__func__, imported.last, imported.guarded,
                 imported.filler_41]
    quick = {}
    with monkeypatch.context() as patched:
        def whole_file(*args):
            raise AssertionError("the whole file was parsed")
        patched.setattr(parse, "_parse_file", whole_file)
        for func in functions:
            quick[func.__name__] = parse.parse_function(func).node
            for _ in range(2):  # (the kept copy, cloned; a third read once converted it again)
                again = parse.parse_function(func).node
                assert dump(again) == dump(quick[func.__name__])
                assert again is not quick[func.__name__]
    for func in functions:
        code = func.__code__
        lines = parse._source_of(func)[1]
        node, runs = parse._locate(parse._source_of(func)[0], lines, code)
        node.decorator_list = []
        assert runs
        assert dump(quick[func.__name__]) == dump(node), func.__name__
    x = np.array([0.3, -0.7, 1.1])
    expected = np.diag(np.cos(x) * 2.0 + 1.0 - np.tanh(x) ** 2)
    np.testing.assert_allclose(adjoint.jacrev(imported.documented)(x), expected, rtol=1e-12)


def test_an_edited_def_is_not_read_quickly_and_is_refused(module):
    imported, path = module
    path.write_text(path.read_text().replace("np.exp(x)  # a comment", "np.cos(x)  # a comment"))
    with pytest.raises(adjoint.SourceUnavailableError, match="changed after it was imported"):
        adjoint.jacrev(imported.decorated.__func__)(np.array([0.3]))
    # Text that does not cut into one def (an unclosed string) is left to the whole-file path.
    lines = ["def f(x):\n", '    s = """\n', "open\n"] * 1
    assert parse_block._block(lines, 0, "f") is None


def test_the_converter_and_the_walk_match_gast_and_ast():
    source = textwrap.dedent('''\
        import numpy as np
        def f(x: float, *args, k=-1, **kw) -> float:
            try:
                y = [v ** -2.0 for v in args if v]
            except (ValueError, TypeError) as error:
                raise RuntimeError(str(error)) from None
            with open("f") as handle, open("g"):
                pass
            class C(object, metaclass=type):
                a: int = 1
            g = lambda a, b=2: a[1:, None, ...] * b
            return {**kw, "x": x}, (yield x), f"{x!r:>{k}}", not x, -x, x if x else -1.5
        async def h():
            async for item in h():
                await item
    ''')
    tree = gast.ast_to_gast(ast.parse(source))
    assert ast.dump(to_ast.gast_to_ast(tree), include_attributes=True) == \
        ast.dump(gast.gast_to_ast(tree), include_attributes=True)
    assert [id(n) for n in gastutil.walk(tree)] == [id(n) for n in ast.walk(tree)]


def _sin_product(x, y):
    return np.sin(x) * y[0] + x ** 3


def _ignores_y(x, y):
    return np.sum(np.exp(x))


def test_a_reverse_transform_serves_its_caller_too_unless_an_adjoint_is_none():
    from adjoint.backend import pipeline

    x, y = np.array([0.4, -1.2]), np.array([2.0, 0.5])
    count = pipeline.TRANSFORM_COUNT["vjp"]
    np.testing.assert_allclose(adjoint.jacrev(_sin_product)(x, y), np.diag(np.cos(x) * y[0] + 3 * x ** 2))
    hessian = adjoint.jacfwd(adjoint.jacrev(_sin_product))(x, y)  # (its caller's version: the same code)
    expected = np.zeros((2, 2, 2))
    expected[[0, 1], [0, 1], [0, 1]] = -np.sin(x) * y[0] + 6 * x  # (d J[i, j] / d x[k]: i == j == k only)
    np.testing.assert_allclose(hessian, expected, atol=1e-14)
    assert pipeline.TRANSFORM_COUNT["vjp"] == count + 1
    # y's adjoint is None in jacrev's transform and zeros in its caller's: two transforms.
    first = adjoint.jacrev(_ignores_y, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(first[1], np.zeros(2))
    second = adjoint.jacfwd(adjoint.jacrev(_ignores_y, argnums=(0, 1)), argnums=1)(x, y)
    np.testing.assert_allclose(second[0], np.zeros((2, 2)))
    np.testing.assert_allclose(second[1], np.zeros((2, 2)))
    assert pipeline.TRANSFORM_COUNT["vjp"] == count + 3
