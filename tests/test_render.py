"""Generated code is rendered by astor where astor works and by the standard
library's ``ast.unparse`` where it does not (astor 0.8.1 goes through ast.Str
and ast.Num, which Python 3.14 removed): both paths write the same text."""
import ast
import copy
import pathlib

import gast
import numpy as np
import pytest

import adjoint
from adjoint.backend import compile as render
from adjoint.backend import cache
import golden_programs as programs

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = {
    "mlp": (programs.mlp, (0, 1)),
    "softmax_cross_entropy": (programs.softmax_cross_entropy, 0),
    "reassigned": (programs.reassigned, 0),
    "params_tree": (programs.params_tree, 0),
    "damped_iteration": (programs.damped_iteration, 0),
}
ASTOR_WORKS = render._astor_works()

#: statements whose spelling differs between astor and a plain ast.unparse,
#: or could: tuples, signed exponents, blank lines around defs, numbers.
SNIPPETS = [
    "def f(x):\n    return x,\n\n\ndef g(x):\n    a, b = x\n    return a, (b, x)\n",
    "def f(x):\n    if x:\n        y = 1\n    else:\n        y = 2\n    return y\n\n\ndef g(x):\n    for i, (a, b) in x:\n        pass\n",
    "def outer(x):\n\n    def inner(y):\n        return y\n    z = 1\n\n    def again(y):\n        return y\n    return z\n",
    "y = 2 ** -x\nz = -x ** 2\nw = (-x) ** 2\nv = x - -1\n",
    "t = 2, 3\nu = ()\nv = (1,)\nf((a, b))\nx[1:, None, ...] = y[()]\n",
    "z = (3).bit_length() + (1.5).real + 1e-10 + 1.5e+300\n",
    "s = 'it\\'s' + \"q\" + 'a\\nb' + f'{x!r:>10}{{y}}'\n",
    "z = a if b else c\nz = not a and b or c\nz = a < b < c\nz = x @ y.T\nz = lambda x, y=1: x + y\n",
    "z = [a for a, b in x]\nz = {k: v for k, (v, w) in x}\n",
    "z = [i for i in range(3) if i]\nz = {'a': 1, **d}\nz = {1, 2}\nz = f(*args, **kw)\nz = a - (b - c)\n",
]


def generated(name):
    func, argnums = CASES[name]
    cache.clear()
    try:
        return adjoint.source(func, argnums=argnums)
    finally:
        cache.clear()


@pytest.mark.parametrize("name", sorted(CASES))
def test_unparse_path_writes_the_golden_text(name, monkeypatch):
    monkeypatch.setattr(render, "_astor_works", lambda: False)
    assert generated(name) == (GOLDEN / f"{name}.txt").read_text()


@pytest.mark.skipif(not ASTOR_WORKS, reason="astor does not work on this Python")
@pytest.mark.parametrize("name", sorted(CASES))
def test_astor_path_writes_the_golden_text(name, monkeypatch):
    monkeypatch.setattr(render, "_astor_works", lambda: True)
    assert generated(name) == (GOLDEN / f"{name}.txt").read_text()


@pytest.mark.skipif(not ASTOR_WORKS, reason="astor does not work on this Python")
@pytest.mark.parametrize("name", sorted(CASES))
def test_astor_and_unparse_agree_on_the_golden_programs_trees(name, monkeypatch):
    modules = []
    real = render.print_module

    def keep(module):
        modules.append(copy.deepcopy(module))
        return real(module)

    monkeypatch.setattr(render, "print_module", keep)
    generated(name)
    assert modules
    for module in modules:
        tree = gast.gast_to_ast(module)
        assert render._unparse(copy.deepcopy(tree)) == render._astor(tree)


@pytest.mark.skipif(not ASTOR_WORKS, reason="astor does not work on this Python")
@pytest.mark.parametrize("source", SNIPPETS)
def test_astor_and_unparse_agree(source):
    assert render._unparse(ast.parse(source)) == render._astor(ast.parse(source))


CONSTANTS = [-1, -1.5, 2.0, 1e-300, 10 ** 30, float("inf"), -float("inf"), float("nan"),
             1j, -2j, complex(1, 2), complex(-1, -2), complex(3, 0)]


@pytest.mark.skipif(not ASTOR_WORKS, reason="astor does not work on this Python")
@pytest.mark.parametrize("place", ["z = N ** 2", "z = x ** N", "z = x - N", "z = f(N, axis=N)", "z = N.real",
                                   "z = -N", "z = x[N]", "z = N * x", "y, N", "z = (N, x)"])
def test_astor_and_unparse_write_numbers_alike(place):
    # Constants the transform makes (folded, or a rule's default) need not be
    # written in the source: they can be negative, infinite or complex.
    for value in CONSTANTS:
        tree = ast.parse(place)
        for node in ast.walk(tree):
            for field, child in ast.iter_fields(node):
                if isinstance(child, ast.Name) and child.id == "N":
                    setattr(node, field, ast.Constant(value))
                elif isinstance(child, list):
                    child[:] = [ast.Constant(value) if isinstance(c, ast.Name) and c.id == "N" else c for c in child]
        ast.fix_missing_locations(tree)
        assert render._unparse(copy.deepcopy(tree)) == render._astor(tree), value


def test_a_bare_expression_renders_alike_on_both_paths(monkeypatch):
    index = gast.Expr(value=gast.parse("np.s_[1:, None]").body[0].value)
    for works in (True, False) if ASTOR_WORKS else (False,):
        monkeypatch.setattr(render, "_astor_works", lambda works=works: works)
        assert render.unparse(gast.gast_to_ast(index)).strip() == "np.s_[1:, None]"


def test_astor_works_while_the_ast_module_has_str():
    # Python 3.10 to 3.13 keep ast.Str (3.12 and 3.13 deprecate it): astor is used there.
    if hasattr(ast, "Str"):
        assert ASTOR_WORKS


PRECEDENCE_PLACES = ["z = N ** 2", "z = N ** N", "z = x ** N", "z = -N", "z = x - N", "z = N.real", "z = N * x",
                     "z = N ** x ** N", "z = +N", "z = ~N", "z = x ** -N", "z = (N,)"]


@pytest.mark.parametrize("printer", ["_unparse", "_astor"])
@pytest.mark.parametrize("place", PRECEDENCE_PLACES)
def test_negative_constants_are_printed_with_the_parentheses_precedence_needs(printer, place):
    # A folded constant can be negative: Constant(-2.0) ** 2 was written
    # "-2.0 ** 2", which Python reads as -(2.0 ** 2).
    if printer == "_astor" and not ASTOR_WORKS:
        pytest.skip("astor does not work on this Python")
    values = [-1, -2, -1.5, -0.0, -float("inf"), -2j, complex(-1, -2), 3, 2.5]
    if "~" in place:
        values = [-1, -2, 3]
    for value in values:
        tree = ast.parse(place)
        for node in ast.walk(tree):
            for field, child in ast.iter_fields(node):
                if isinstance(child, ast.Name) and child.id == "N":
                    setattr(node, field, ast.Constant(value))
                elif isinstance(child, list):
                    child[:] = [ast.Constant(value) if isinstance(c, ast.Name) and c.id == "N" else c for c in child]
        ast.fix_missing_locations(tree)
        scope = {"x": 3, "f": lambda *a, **k: a}
        exec(compile(copy.deepcopy(tree), "<tree>", "exec"), dict(scope), expected := {})
        text = getattr(render, printer)(copy.deepcopy(tree))
        exec(compile(text, "<text>", "exec"), dict(scope), got := {})
        assert repr(got["z"]) == repr(expected["z"]), (value, text)


def test_a_negative_literal_raised_to_a_power_is_differentiated_as_written():
    def scaled(x):
        return x * (-2.0) ** 2

    def alternating(x):
        s = 0.0
        for i in range(5):
            s = s + (-1) ** i * x ** i
        return s

    x = 0.7
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        assert transform(scaled)(np.array([x]))[0, 0] == pytest.approx(4.0)
        # 1 - x + x**2 - x**3 + x**4; derivative -1 + 2x - 3x**2 + 4x**3
        assert transform(alternating)(x) == pytest.approx(-1 + 2 * x - 3 * x ** 2 + 4 * x ** 3)
    assert adjoint.vjp(alternating, x)[0] == pytest.approx(1 - x + x ** 2 - x ** 3 + x ** 4)
