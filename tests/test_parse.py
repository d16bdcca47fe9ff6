"""Reading one function out of a large module: only that function is
converted to gast and only its top-level statement is compiled for the
stale-source check, so a first call does not grow with the module; and
every kind of definition is still found and still checked."""
import importlib
import sys
import textwrap

import gast
import numpy as np
import pytest

import adjoint
from adjoint.frontend import parse

MODULE = textwrap.dedent('''\
    from __future__ import annotations

    import numpy as np
    try:
        import numpy.linalg as la
    except ImportError:
        la = None

    SCALE = 2.0


    def decorate(func):
        return func


    @decorate
    def decorated(x: np.ndarray) -> np.ndarray:
        return np.sin(x) * SCALE


    class Model:
        def energy(self, x):
            return np.sum(np.tanh(x) ** 2)

        def __call__(self, x):
            return la.norm(x) * np.exp(x)


    def outer(scale):
        def inner(x):
            return np.cos(x) * scale
        return inner


    pick = [lambda x: np.exp(x) * 3.0, lambda x: np.log(1.0 + x * x)]
''')

#: other functions after the ones tested, to make the module large
FILLER = textwrap.dedent('''\


    def filler_{index}(x):
        y = np.tanh(x + {index}.0)
        for _ in range(2):
            y = y * np.sin(y)
        return np.sum(y)
''')


@pytest.fixture
def large_module(tmp_path, monkeypatch):
    name = "large_module_for_parse"
    path = tmp_path / f"{name}.py"
    path.write_text(MODULE + "".join(FILLER.format(index=i) for i in range(150)))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module(name)
    yield module, path
    sys.modules.pop(name, None)


def functions_of(module):
    return {
        "decorated": module.decorated,
        "method": module.Model().energy,
        "callable object": module.Model(),
        "nested": module.outer(1.5),
        "first lambda": module.pick[0],
        "second lambda": module.pick[1],
        "filler": module.filler_120,
    }


def central_difference(func, x, step=1e-6):
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step
        columns.append((np.asarray(func(x + e)) - np.asarray(func(x - e))) / (2 * step))
    return np.stack(columns, axis=-1)


def test_every_kind_of_definition_is_found_and_differentiated(large_module):
    module, _ = large_module
    x = np.array([0.3, -0.7, 1.1])
    for label, func in functions_of(module).items():
        np.testing.assert_allclose(adjoint.jacrev(func)(x), central_difference(func, x), rtol=1e-6, atol=1e-8,
                                   err_msg=label)


def test_only_the_function_is_converted_and_only_its_statement_compiled(large_module, monkeypatch):
    module, _ = large_module
    converted = []
    real = gast.ast_to_gast

    def recording(node):
        converted.append(type(node).__name__)
        return real(node)

    def whole_file(*args):
        raise AssertionError("the whole file was compiled although the function's statement matched")

    monkeypatch.setattr(parse.gast, "ast_to_gast", recording)
    monkeypatch.setattr(parse, "_compiled_file", whole_file)
    for label, func in functions_of(module).items():
        converted.clear()
        adjoint.source(func)
        assert converted and "Module" not in converted, (label, converted)


@pytest.mark.parametrize("edit", [("np.sin(x) * SCALE", "np.cos(x) * SCALE"),
                                  ("y = y * np.sin(y)", "y = y * np.cos(y)")])
def test_an_edit_after_import_is_still_refused_in_a_large_module(large_module, edit):
    module, path = large_module
    path.write_text(path.read_text().replace(*edit))
    func = module.decorated if "SCALE" in edit[0] else module.filler_120
    with pytest.raises(adjoint.SourceUnavailableError, match="changed after it was imported"):
        adjoint.jacrev(func)(np.array([0.3]))
