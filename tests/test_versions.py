"""What differs between the Python and NumPy versions adjoint runs on.

Picking a lambda out of several on one line (Python 3.11+ reads columns from
the code object, 3.10 the names the lambda uses), the message for a function
that has no source because it was typed at the prompt or given to python -c,
and the rules of functions NumPy 1 does not have.
"""
import os
import subprocess
import sys
import types

import numpy as np
import pytest

import adjoint
from adjoint.frontend import parse
from adjoint.rules import ADJOINT_RULES

TWO_ON_A_LINE = [lambda x: x * np.sin(x), lambda x: np.cos(x) * 2.0]
SAME_NAMES = [lambda x: x * 2.0, lambda x: x * 3.0]


def without_positions(code):
    """``code`` as Python 3.10 shows it: no ``co_positions``."""
    fields = ("co_name", "co_filename", "co_firstlineno", "co_argcount", "co_varnames",
              "co_names", "co_freevars", "co_consts")
    return types.SimpleNamespace(**{name: getattr(code, name) for name in fields})


def test_jacrev_of_lambdas_taken_from_a_list():
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(adjoint.jacrev(TWO_ON_A_LINE[0])(x), np.diag(np.sin(x) + x * np.cos(x)))
    np.testing.assert_allclose(adjoint.jacrev(TWO_ON_A_LINE[1])(x), np.diag(-2.0 * np.sin(x)))


@pytest.mark.parametrize("columns", [True, False], ids=["co_positions", "names (Python 3.10)"])
def test_each_lambda_on_a_line_is_found(columns):
    if columns and not hasattr(TWO_ON_A_LINE[0].__code__, "co_positions"):
        pytest.skip("Python 3.10 code objects have no co_positions")
    for func, marker in zip(TWO_ON_A_LINE, ["np.sin", "np.cos"], strict=True):
        code = func.__code__ if columns else without_positions(func.__code__)
        lines = open(code.co_filename).readlines()
        parsed = parse._parse_file(code.co_filename, "".join(lines))
        node = parse._find_lambda(parsed, code, code.co_filename)
        assert marker in lines[code.co_firstlineno - 1][node.col_offset:node.end_col_offset]


def test_lambdas_using_the_same_names_are_refused_without_columns():
    code = without_positions(SAME_NAMES[1].__code__)
    parsed = parse._parse_file(code.co_filename, "".join(open(code.co_filename).readlines()))
    with pytest.raises(adjoint.SourceUnavailableError, match="several lambdas on this line"):
        parse._find_lambda(parsed, code, code.co_filename)


PROGRAM = (
    "import numpy as np, adjoint\n"
    "def f(x):\n"
    "    return np.sin(x)\n"
    "print(adjoint.jacrev(f)(np.zeros(2)).tolist())\n"
)
NO_SOURCE = "typed at the interactive prompt or given to python -c"


def run(args, stdin=None):
    root = os.path.dirname(os.path.dirname(os.path.abspath(adjoint.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=root, timeout=120)


def test_python_c_says_to_put_the_function_in_a_file():
    done = run(["-c", PROGRAM])
    if sys.version_info >= (3, 13):  # python -c keeps its source for tracebacks: it just works
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[[1.0, 0.0], [0.0, 1.0]]"
        return
    assert done.returncode != 0
    assert NO_SOURCE in done.stderr and "Put the function in a file" in done.stderr, done.stderr
    assert "defvjp" not in done.stderr


def test_a_program_read_from_stdin_says_to_put_the_function_in_a_file():
    done = run(["-"], stdin=PROGRAM)
    assert done.returncode != 0
    assert NO_SOURCE in done.stderr and "Put the function in a file" in done.stderr, done.stderr


def test_rules_exist_for_what_this_numpy_has():
    assert (np.trapezoid in ADJOINT_RULES) if hasattr(np, "trapezoid") else True
    assert (np.linalg.svdvals in ADJOINT_RULES) if hasattr(np.linalg, "svdvals") else True
    assert np.linalg.solve in ADJOINT_RULES and np.linalg.svd in ADJOINT_RULES


@pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) >= "2.0.0", reason="NumPy 1 only: np.trapz")
def test_numpy_1_trapz_has_no_rule_and_says_so():
    with pytest.raises(adjoint.NoRuleError):
        adjoint.jacrev(lambda y: np.trapz(y))(np.ones(3))


def _diagflat(x):
    return np.diagflat(x)


def test_diagflat_of_a_numpy_scalar():
    # NumPy 1 gives a NumPy scalar for np.diagflat of a NumPy scalar (NumPy 2 a 1x1 matrix); the
    # derivative follows the value NumPy gives (it raised inside the library under NumPy 1)
    value = _diagflat(np.float64(0.5))
    jacobian = adjoint.jacrev(_diagflat)(np.float64(0.5))
    assert np.shape(jacobian) == np.shape(value)
    np.testing.assert_array_equal(np.ravel(jacobian), [1.0])
