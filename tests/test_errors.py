"""What adjoint cannot differentiate yet fails loudly, at the user's line.

Every unsupported construct raises a ``TransformError`` subclass whose message
names this file and the line of the construct (found from the source with
``inspect``, never hard-coded), for jacrev, vjp and grad alike, and the
traceback does not drag the library's internals along.
"""
import inspect
import math
import os
import re
import statistics
import sys
import traceback

import numpy as np
import pytest

import adjoint

THIS_FILE = os.path.basename(__file__)
PACKAGE_DIR = os.path.dirname(os.path.abspath(adjoint.__file__))

#: written by ``with_global_write`` if it ever ran.
LAST_INPUT_SUM = None


def line_of(func, marker):
    """The line number in this file of the first line of ``func`` containing
    ``marker``."""
    lines, first = inspect.getsourcelines(func)
    for offset, text in enumerate(lines):
        if marker in text:
            return first + offset
    raise AssertionError(f"{marker!r} not in the source of {func.__name__}")


# ----------------------------------------------------------------- programs

def with_yield(x):
    y = np.sin(x)
    yield y  # MARK


def generator_of_values(x):
    for row in x:
        yield np.sin(row)  # MARK


def apply_to(function, x):
    return function(x)


def with_capturing_lambda_passed_on(x):
    # differentiated since apply_to's body is inlined here (tests/test_real_programs_more.py)
    s = np.sin(x)
    return apply_to(lambda v: v * s, x)


def with_global_write(x):
    global LAST_INPUT_SUM  # MARK
    LAST_INPUT_SUM = np.sum(x)
    return np.sin(x)


def with_for_else(x):
    total = x
    for _ in range(3):  # MARK
        if np.sum(total) > 10.0:
            break
        total = total * x
    else:
        total = total + 1.0
    return total


def with_while_else(x):
    total = x
    count = 0
    while count < 3:  # MARK
        total = total * x
        count = count + 1
    else:
        total = total + 1.0
    return total


def with_nonlocal_write(x):
    total = np.sin(x)

    def accumulate(value):
        nonlocal total  # MARK
        total = total + value

    accumulate(x)
    return total


def with_del(x):
    y = np.sin(x)
    z = y * 2.0
    del y  # MARK
    return z


def with_set_comprehension(x):
    values = {v * 2.0 for v in x}  # MARK
    return sum(values)


def with_generator_kept(x):
    rows = (row * 2.0 for row in x)  # MARK
    return np.stack(list(rows))


def with_i0(x):
    y = x * 2.0
    return np.i0(y)  # MARK: a function without a rule


def _cubes(x):
    return np.sum(x ** 3)


def with_log_base(x):
    return math.log(float(x[0]), 3.0)  # MARK


SUBLIST = [0]


def with_einsum_sublists(x):
    return np.einsum(x, SUBLIST, x, SUBLIST)  # MARK (sublists not written as literal lists)


def with_add_at(x):
    y = x[:2]  # a view of x: np.add.at would change x too
    np.add.at(y, [0, 1, 0], x)  # MARK
    return y


def with_sort_in_place(x):
    y = x * 1.0
    y.sort()  # MARK
    return y


def with_out_argument(x):
    y = x * 1.0
    np.exp(y, out=y)  # MARK
    return y


def with_library_python_function(x):
    return statistics.fmean(np.sin(x))  # MARK


def with_sort_result_kept(x):
    y = np.sin(x)
    _ = y.sort()  # MARK
    return y


def with_output_by_position(x):
    y = np.sin(x)
    np.negative(x, y)  # MARK
    return y


def with_starred_sequence_of_unknown_length(x):
    parts = np.split(x, 3)
    return np.add(*parts[:2]) * x  # MARK


UNSUPPORTED = [
    with_sort_result_kept, with_output_by_position, with_library_python_function, with_add_at, with_sort_in_place, with_out_argument, with_log_base, with_einsum_sublists, with_yield, generator_of_values, with_global_write,
    with_nonlocal_write, with_for_else, with_while_else, with_del,
    with_set_comprehension, with_generator_kept, with_i0,
]

#: Python statements outside the subset: UnsupportedSyntaxError, never NoRuleError.
UNSUPPORTED_SYNTAX = [
    with_sort_result_kept, with_output_by_position, with_add_at, with_sort_in_place, with_out_argument, with_yield, generator_of_values, with_global_write,
    with_nonlocal_write, with_for_else, with_while_else, with_del,
]

TRANSFORMS = {
    "jacrev": lambda func, x: adjoint.jacrev(func)(x),
    "jacrev_chunk_1": lambda func, x: adjoint.jacrev(func, chunk_size=1)(x),
    "vjp": lambda func, x: adjoint.vjp(func, x)[1](np.ones(3)),
    "grad": lambda func, x: adjoint.grad(func)(x),
}


def _raise(transform, func):
    x = np.array([0.1, 0.2, 0.3])
    with pytest.raises(adjoint.TransformError) as info:
        result = TRANSFORMS[transform](func, x)
        pytest.fail(f"returned {result!r} instead of raising")
    return info.value


@pytest.mark.parametrize("transform", list(TRANSFORMS))
@pytest.mark.parametrize("func", UNSUPPORTED, ids=[f.__name__ for f in UNSUPPORTED])
def test_unsupported_construct_names_file_and_line(func, transform):
    error = _raise(transform, func)
    assert f"{THIS_FILE}:{line_of(func, '# MARK')}" in str(error)
    assert isinstance(error, (adjoint.UnsupportedSyntaxError, adjoint.NoRuleError))


def test_missing_rule_is_a_no_rule_error_naming_the_function():
    error = _raise("jacrev", with_i0)
    assert isinstance(error, adjoint.NoRuleError)
    assert "np.i0" in str(error) and "defvjp" in str(error)


@pytest.mark.parametrize("func", UNSUPPORTED_SYNTAX, ids=lambda f: f.__name__)
def test_statement_outside_the_subset_is_unsupported_syntax(func):
    assert isinstance(_raise("jacrev", func), adjoint.UnsupportedSyntaxError)


def test_loop_else_message_names_the_else_clause():
    for func in (with_for_else, with_while_else):
        assert "else" in str(_raise("jacrev", func))


@pytest.mark.parametrize("func", UNSUPPORTED, ids=[f.__name__ for f in UNSUPPORTED])
def test_traceback_drops_library_frames(func):
    error = _raise("jacrev", func)
    frames = traceback.extract_tb(error.__traceback__)
    inside = [frame for frame in frames if os.path.abspath(frame.filename).startswith(PACKAGE_DIR)]
    assert len(inside) <= 2, "".join(traceback.format_list(inside))
    assert error.__cause__ is None and error.__suppress_context__


def _uses_inner_grad(x):
    slope = adjoint.grad(_cubes)(x)
    return slope * x


@pytest.mark.parametrize("outer", ["jacrev", "grad", "vjp"])
@pytest.mark.parametrize("inner", ["jacrev", "grad"])
def test_a_derivative_differentiated_again_is_its_derivative_not_the_functions(outer, inner):
    # The derivative function wraps _cubes with functools.wraps; it must not be
    # mistaken for _cubes itself (that would return a first derivative).
    derivative = getattr(adjoint, inner)(_cubes)
    x = np.array([0.1, 0.2, 0.3])
    hessian = np.diag(6.0 * x)
    if outer == "vjp":
        _, pull = adjoint.vjp(derivative, x)
        np.testing.assert_allclose(pull(np.ones(3))[0], hessian @ np.ones(3))
    elif outer == "grad":
        np.testing.assert_allclose(adjoint.grad(lambda v: np.sum(derivative(v)))(x), 6.0 * x)
    else:
        np.testing.assert_allclose(adjoint.jacrev(derivative)(x), hessian)
    # and called inside a differentiated function
    np.testing.assert_allclose(adjoint.jacrev(_uses_inner_grad)(x), np.diag(3.0 * x ** 2) + np.diag(6.0 * x * x))


# ----------------------------------------------------------------- source unavailable

_EXEC_SOURCE = "def made_by_exec(x):\n    return x * 2.0\n"


def _exec_function():
    namespace = {}
    exec(compile(_EXEC_SOURCE, "<generated by a test>", "exec"), namespace)
    return namespace["made_by_exec"]


@pytest.mark.parametrize("transform", ["jacrev", "grad", "vjp"])
def test_function_without_source(transform):
    func = _exec_function()
    with pytest.raises(adjoint.SourceUnavailableError) as info:
        if transform == "jacrev":
            adjoint.jacrev(func)(np.ones(3))
        elif transform == "grad":
            adjoint.grad(func)(np.float64(1.0))
        else:
            adjoint.vjp(func, np.ones(3))
    message = str(info.value)
    assert "made_by_exec" in message and "source" in message
    frames = traceback.extract_tb(info.value.__traceback__)
    inside = [frame for frame in frames if os.path.abspath(frame.filename).startswith(PACKAGE_DIR)]
    assert len(inside) <= 2, "".join(traceback.format_list(inside))


def test_source_unavailable_is_an_adjoint_error():
    """SourceUnavailableError is an AdjointError, catchable as such."""
    func = _exec_function()
    with pytest.raises(adjoint.AdjointError):
        adjoint.jacrev(func)(np.ones(3))


def test_rule_messages_name_the_form_the_rule_takes():
    message = str(_raise("jacrev", with_log_base))
    assert "docs/supported.md" in message and "NumPy documents" not in message
    assert "subscripts string" in str(_raise("jacrev", with_einsum_sublists))


def test_a_library_function_with_source_is_a_primitive_to_register():
    # statistics.fmean has Python source, but it is not the user's code: adjoint
    # does not step into it; the error is at the user's call and says defvjp.
    error = _raise("jacrev", with_library_python_function)
    assert isinstance(error, adjoint.NoRuleError)
    assert "defvjp" in str(error) and "statistics.py" not in str(error)


def centred(x, robust=False):
    if robust:
        centre = np.i0(x).mean()  # MARK: no rule
    else:
        centre = np.mean(x)
    return x - centre


def test_a_missing_rule_in_a_branch_fails_only_if_the_branch_runs():
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(adjoint.jacrev(centred)(x), np.eye(3) - 1.0 / 3.0)
    with pytest.raises(adjoint.NoRuleError) as info:
        adjoint.jacrev(centred)(x, robust=True)
    assert f"{THIS_FILE}:{line_of(centred, '# MARK')}" in str(info.value) and "defvjp" in str(info.value)


# ----------------------------------------------------------------- found by a hunt for unclear errors

def complex_on_the_way(x):
    return np.abs(np.exp(1j * x) + x)


def turned(x):
    return x * np.exp(0.5j)


def through_a_complex_rule(x):
    return np.imag(turned(x) ** 2)


def reads_through_eval(x):
    return eval("x * 2.0")


def reads_through_locals(x):
    return locals()["x"] * 2.0


def one_argument(x):
    return x * 2.0


def no_arguments():
    return np.ones(2)


def cubed_by_rule(x):
    return x ** 3


def test_complex_values_on_the_way_are_differentiated_or_refused_not_cast():
    # |exp(ix) + x| is differentiated through its complex values (docs/complex.md):
    # d/dx = Re(conj(w) (i exp(ix) + 1)) / |w|, w = exp(ix) + x
    x = np.array([0.3, 0.4])
    w = np.exp(1j * x) + x
    expected = np.diag(np.real(np.conj(w) * (1j * np.exp(1j * x) + 1)) / np.abs(w))
    np.testing.assert_allclose(adjoint.jacrev(complex_on_the_way, chunk_size=1)(x), expected, rtol=1e-12)
    # a real input given a complex cotangent by a rule that does not take its real part (a
    # defvjp rule of the user's that sends back the holomorphic derivative): refused
    adjoint.defvjp(turned, lambda ans, x: lambda g: g * np.exp(0.5j))
    with pytest.raises(TypeError, match="a derivative came out complex"):
        adjoint.jacrev(through_a_complex_rule)(np.array([0.3]))


def test_values_read_through_eval_or_locals_are_refused():
    for func in (reads_through_eval, reads_through_locals):
        with pytest.raises(adjoint.UnsupportedSyntaxError, match=f"{THIS_FILE}:\\d+: (eval|locals)\\(\\)"):
            adjoint.jacrev(func)(np.ones(2))


def test_cotangent_leaves_must_be_numbers():
    _, vjp_fn = adjoint.vjp(np.sum, np.ones(3))
    for bad in (None, "1.0", [None]):
        with pytest.raises((TypeError, ValueError)):
            vjp_fn(bad)


def test_stop_gradient_differentiated_directly_has_no_derivative():
    np.testing.assert_array_equal(adjoint.jacrev(adjoint.stop_gradient)(np.ones(2)), np.zeros((2, 2)))
    assert adjoint.grad(adjoint.stop_gradient)(1.0) == 0.0


def test_calls_that_do_not_fit_the_function_name_it():
    with pytest.raises(TypeError, match=r"one_argument\(\): too many positional arguments"):
        adjoint.vjp(one_argument, np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match=r"one_argument\(\): got an unexpected keyword argument 'z'"):
        adjoint.jacrev(one_argument)(np.ones(2), z=1.0)
    with pytest.raises(ValueError, match="but only 0 positional inputs"):
        adjoint.source(no_arguments)


def test_makers_that_do_not_fit_are_named():
    saved = dict(adjoint.rules.CUSTOM_VJPS)
    try:
        adjoint.defvjp(cubed_by_rule, lambda ans, x: None)
        with pytest.raises(TypeError, match="maker for argument 0 returned NoneType"):
            adjoint.jacrev(cubed_by_rule)(np.ones(2))
        adjoint.defvjp(cubed_by_rule, lambda g: g)
        with pytest.raises(TypeError, match=r"could not be called as maker\(ans, \*args"):
            adjoint.jacrev(cubed_by_rule)(np.ones(2))
    finally:
        adjoint.rules.CUSTOM_VJPS.clear()
        adjoint.rules.CUSTOM_VJPS.update(saved)
        adjoint.backend.cache.clear()


def reads_flat(x):
    return x.flat[0] * 2.0 + x


def reads_real(x):
    return x.real * 2.0


def test_array_attributes_without_a_rule_are_refused_at_the_users_line():
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=f"{THIS_FILE}:\\d+: attribute \\.flat"):
        adjoint.jacrev(reads_flat)(np.ones(2))
    # x.real is np.real(x) (docs/complex.md)
    np.testing.assert_array_equal(adjoint.jacrev(reads_real)(np.ones(2)), 2.0 * np.eye(2))


# ------------------------------------------- errors raised while generated code runs

def shape_error_in_users_operation(x, A):
    y = np.sin(x)
    z = A @ y  # MARK
    return z


def index_error_in_a_loop(x):
    total = np.sum(x)
    for k in range(2):
        if k == 1:
            total = total + x[int(np.sum(x > 0)) + 5]  # MARK
    return total


def _message_and_notes(exc):
    return "\n".join([str(exc)] + list(getattr(exc, "__notes__", [])))


def test_errors_raised_in_generated_code_name_the_users_line():
    """An error NumPy raises in the user's own operation while the generated
    code runs names the user's file and line (the traceback alone shows the
    generated file's line)."""
    shape_line = line_of(shape_error_in_users_operation, "MARK")
    index_line = line_of(index_error_in_a_loop, "MARK")
    x, A = np.ones(3), np.ones((2, 4))
    cases = [
        (ValueError, shape_line, lambda: adjoint.jacrev(shape_error_in_users_operation)(x, A)),
        (ValueError, shape_line, lambda: adjoint.jacfwd(shape_error_in_users_operation)(x, A)),
        (ValueError, shape_line, lambda: adjoint.vjp(shape_error_in_users_operation, x, A)),
        (ValueError, shape_line, lambda: adjoint.jvp(shape_error_in_users_operation, (x, A),
                                                     (x, A))),
        (IndexError, index_line, lambda: adjoint.grad(index_error_in_a_loop)(x)),
        (IndexError, index_line, lambda: adjoint.hessian(index_error_in_a_loop)(x)),
        (IndexError, index_line, lambda: adjoint.jacrev(adjoint.jacrev(index_error_in_a_loop))(x)),
        (IndexError, index_line, lambda: adjoint.vmap(adjoint.grad(index_error_in_a_loop))(np.ones((2, 3)))),
    ]
    for kind, line, run in cases:
        with pytest.raises(kind) as caught:
            run()
        text = _message_and_notes(caught.value)
        assert f"{__file__}:{line}" in text, text
        assert text.count("adjoint: raised at") == 1, text


def test_user_line_note_without_add_note():
    """Python 3.10 has no ``add_note``: the note goes into the message."""
    class OldStyleError(ValueError):
        add_note = None

    error = OldStyleError("shapes do not match")
    adjoint.errors.add_user_line_note(error, (__file__, line_of(shape_error_in_users_operation, "MARK")))
    assert str(error).startswith("shapes do not match\nadjoint: raised at ")
    assert "z = A @ y" in str(error)


# ------------------------------------------- a module edited after it was imported

STALE_MODULE = "import numpy as np\n\n\ndef f(x):\n    return np.sin(x) * 0.5\n"


@pytest.mark.parametrize("edit", [("np.sin", "np.cos"), ("0.5", "0.7"), ("* 0.5", "* 0.5 + x")])
def test_source_edited_after_import_is_refused(tmp_path, monkeypatch, edit):
    """The function runs the code it was imported with; differentiating the
    new text would give the derivative of another function."""
    import importlib
    import sys

    name = f"stale_module_{abs(hash(edit))}"
    path = tmp_path / f"{name}.py"
    path.write_text(STALE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module(name)
    path.write_text(STALE_MODULE.replace(*edit))
    # (a later modification time, as an editor's save gives: an edit of the same size within the same second
    # would let reload take the bytecode cached at import, where bytecode is written)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    for transform in (adjoint.jacrev, adjoint.jacfwd, adjoint.vmap):
        with pytest.raises(adjoint.SourceUnavailableError,
                           match=rf"{path}:4: the source of f in .* changed after it was imported.*Reload"):
            transform(module.f)(np.array([0.3]))
    module = importlib.reload(module)  # now the text is the code
    x = np.array([0.3])
    expected = (module.f(x + 1e-6) - module.f(x - 1e-6)) / 2e-6
    np.testing.assert_allclose(adjoint.jacrev(module.f)(x), [expected], rtol=1e-6)
    sys.modules.pop(name, None)


def _asserting(x):
    assert x.ndim == 1, "a vector"  # rewritten by pytest at import
    return np.sin(x) * 2.0


def test_code_that_pytest_rewrote_is_not_stale():
    assert any(name.startswith("@") for name in _asserting.__code__.co_varnames + _asserting.__code__.co_names)
    np.testing.assert_allclose(adjoint.jacrev(_asserting)(np.array([0.3])), [[2.0 * np.cos(0.3)]])


def test_code_registered_with_linecache_is_not_stale():
    """Notebook cells and exec'd strings registered with linecache: their
    text is the code."""
    import linecache

    text = "import numpy as np\ndef g(x):\n    return np.sin(x) * 2.0\nh = lambda x: np.cos(x) * 3.0\n"
    filename = "<notebook-cell-stale-check>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {}
    exec(compile(text, filename, "exec"), namespace)
    np.testing.assert_allclose(adjoint.jacrev(namespace["g"])(np.array([0.3])), [[2.0 * np.cos(0.3)]])
    np.testing.assert_allclose(adjoint.jacrev(namespace["h"])(np.array([0.3])), [[-3.0 * np.sin(0.3)]])


def test_add_at_on_a_value_not_made_here_says_to_copy():
    error = _raise("jacrev", with_add_at)
    assert isinstance(error, adjoint.UnsupportedSyntaxError)
    assert "y.copy()" in str(error) and "np.add.at" in str(error)


# ------------------------------------------- messages found misleading (issue 10)

def calls_an_undefined_name(x):
    return undefined_function_of_the_test(x) * 2.0  # MARK  # noqa: F821


def calls_an_undefined_name_on_a_constant(x):
    return x * undefined_function_of_the_test(2.0)  # MARK  # noqa: F821


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd, adjoint.grad])
def test_an_undefined_name_called_is_a_name_error_at_the_users_line(transform):
    line = line_of(calls_an_undefined_name, "MARK")
    with pytest.raises(NameError, match=rf"{THIS_FILE}:{line}: name 'undefined_function_of_the_test' is "
                                        r"not defined.*Define or import") as info:
        transform(lambda x: np.sum(calls_an_undefined_name(x)))(np.array([1.0, 2.0]))
    assert not isinstance(info.value, adjoint.NoRuleError)
    assert info.value.name == "undefined_function_of_the_test"


def test_an_undefined_name_called_on_constants_raises_pythons_name_error_when_it_runs():
    with pytest.raises(NameError, match="undefined_function_of_the_test") as info:
        adjoint.jacrev(calls_an_undefined_name_on_a_constant)(np.array([1.0, 2.0]))
    line = line_of(calls_an_undefined_name_on_a_constant, "MARK")
    assert f"{THIS_FILE}:{line}" in "".join(traceback.format_exception(info.value))


def calls_a_parameter_and_a_nested_helper(x, fn):
    def helper(g, y):
        return g(y)
    return helper(np.sin, x) + fn(x)


def test_names_bound_as_parameters_and_in_nested_functions_are_not_undefined():
    x = np.array([0.5, 1.0])
    expected = np.diag(np.cos(x) + 3.0)
    np.testing.assert_allclose(adjoint.jacrev(calls_a_parameter_and_a_nested_helper)(x, lambda v: 3.0 * v),
                               expected)


VECTORIZED = np.vectorize(lambda t: t * 2.0)


def with_vectorize_made_inside(x):
    doubled = np.vectorize(lambda t: t * 2.0)
    return np.sum(doubled(x))  # MARK


def with_vectorize_of_the_module(x):
    return np.sum(VECTORIZED(x))  # MARK


@pytest.mark.parametrize("func", [with_vectorize_made_inside, with_vectorize_of_the_module])
@pytest.mark.parametrize("transform", [adjoint.grad, adjoint.jacfwd])
def test_np_vectorize_is_refused_at_the_users_line_not_in_numpy(func, transform):
    line = line_of(func, "MARK")
    with pytest.raises(adjoint.NoRuleError,
                       match=rf"{THIS_FILE}:{line}: np.vectorize\(<lambda>\): .*element by "
                             r"element.*adjoint.vmap") as info:
        transform(func)(np.array([1.0, 2.0]))
    assert str(info.value).startswith(os.path.abspath(__file__))  # not a line of NumPy's source


def test_np_vectorize_given_to_a_transform_is_refused():
    with pytest.raises(adjoint.NoRuleError, match=r"np.vectorize\(<lambda>\): .*adjoint.vmap") as info:
        adjoint.jacrev(VECTORIZED)(np.array([1.0, 2.0]))
    assert "_function_base" not in str(info.value)


CALL_COUNTS = {"f": 0}


def counts_its_calls_in_a_dict(x):
    CALL_COUNTS["f"] += 1  # MARK
    return np.sum(x ** 2)


def counts_its_calls_with_an_assignment(x):
    CALL_COUNTS["f"] = CALL_COUNTS["f"] + 1  # MARK
    return np.sum(x ** 2)


@pytest.mark.parametrize("func", [counts_its_calls_in_a_dict, counts_its_calls_with_an_assignment])
def test_a_counter_in_a_global_dict_gets_advice_about_state_not_np_where(func):
    line = line_of(func, "MARK")
    with pytest.raises(adjoint.UnsupportedSyntaxError,
                       match=rf"{THIS_FILE}:{line}: update of an item of 'CALL_COUNTS': CALL_COUNTS is not made "
                             r"by the function.*outside the differentiated function.*obj.calls \+= 1") as info:
        adjoint.grad(func)(np.array([1.0, 2.0]))
    assert "np.where" not in str(info.value)


class CountingModel:
    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return np.sum(x ** 2)


def test_a_counter_in_an_attribute_works():
    model = CountingModel()
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(adjoint.grad(model)(x), 2.0 * x)
    assert model.calls == 1


class Parameters:
    def __init__(self):
        self.w = np.ones(2)


def loss_of_parameters(params):
    return np.sum(params.w ** 2)


def test_an_object_where_an_array_is_expected_is_not_told_to_use_astype():
    with pytest.raises(TypeError, match="only floating point inputs can be differentiated: argument 0 is a "
                                        "Parameters object, not an array.*as a tuple or a dict") as info:
        adjoint.grad(loss_of_parameters)(Parameters())
    assert "astype" not in str(info.value) and "dtype" not in str(info.value)


@pytest.mark.parametrize("value, shown", [(3, r"the int 3\. Pass a float \(3\.0\)"),
                                          (None, r"None \(NoneType\), not an array"),
                                          ("ab", r"'ab' \(str\), not an array")])
def test_python_values_where_an_array_is_expected(value, shown):
    with pytest.raises(TypeError, match=shown) as info:
        adjoint.grad(np.sin)(value)
    assert "astype" not in str(info.value)


def test_an_integer_array_is_still_told_to_use_astype():
    with pytest.raises(TypeError, match=r"dtype int64\. Convert it with \.astype\(float\)"):
        adjoint.grad(lambda x: np.sum(x))(np.arange(3, dtype=np.int64))


@pytest.mark.parametrize("transform", [adjoint.jacrev, adjoint.jacfwd, adjoint.grad, adjoint.value_and_grad,
                                       adjoint.hessian, adjoint.vmap])
def test_a_value_instead_of_a_function_says_so(transform):
    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match=rf"adjoint.{transform.__name__} expects a function, got a value of "
                                        rf"type ndarray.*adjoint.{transform.__name__}\(f\)\(x\), not "
                                        rf"adjoint.{transform.__name__}\(f\(x\)\)") as info:
        transform(np.sin(x))
    assert "Python source" not in str(info.value)


def test_a_value_instead_of_a_function_in_vjp_and_jvp():
    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match=r"adjoint.vjp expects a function.*adjoint.vjp\(f, x\)"):
        adjoint.vjp(np.sin(x), x)
    with pytest.raises(TypeError, match=r"adjoint.jvp expects a function.*adjoint.jvp\(f, \(x,\), \(t,\)\)"):
        adjoint.jvp(np.sin(x), (x,), (x,))


def with_add_outer(x):
    return np.sum(np.add.outer(x, x))  # MARK


def with_hypot_accumulate(x):
    return np.sum(np.hypot.accumulate(x))  # MARK


# (np.add.reduce and the other reductions and scans of ufuncs have rules:
# they are differentiated as np.sum, np.cumsum, ...; np.maximum.accumulate
# as the running maximum, tests/test_numpy_more.py)
@pytest.mark.parametrize("func, name, advice", [
    (with_add_outer, "np.add.outer", "Use x[..., None] + y instead"),
    (with_hypot_accumulate, "np.hypot.accumulate", "Write it with functions that have rules"),
])
@pytest.mark.parametrize("transform", [adjoint.grad, adjoint.jacfwd])
def test_a_ufunc_method_is_named_as_written_and_not_suggested_as_code(func, name, advice, transform):
    line = line_of(func, "MARK")
    with pytest.raises(adjoint.NoRuleError, match=rf"{THIS_FILE}:{line}: {re.escape(name)}: .*{re.escape(advice)}") \
            as info:
        transform(func)(np.array([1.0, 2.0]))
    assert "ufunc." not in str(info.value) and "defvjp" not in str(info.value) and "defjvp" not in str(info.value)


def _penalty(w, alpha=1.0, power=2.0):
    return alpha * np.sum(np.abs(w) ** power)


def with_mapping_unpacked(w, config):
    return _penalty(w, **config)  # MARK


def with_literal_unpacked(w, config):
    return _penalty(w, **{"alpha": config["alpha"], "power": 3.0})


def test_second_derivative_through_a_call_laid_out_at_run_time():
    """Hessians through ``g(**mapping)`` of a mapping made elsewhere used to
    crash inside the transform (an IndexError), then were refused; the
    callee is now transformed when the call runs, as in first order."""
    w, config = np.array([0.5, -1.5]), {"alpha": 0.3, "power": 3.0}
    np.testing.assert_allclose(adjoint.grad(with_mapping_unpacked)(w, config), 0.9 * np.abs(w) * w)
    np.testing.assert_allclose(adjoint.hessian(with_mapping_unpacked)(w, config), np.diag(1.8 * np.abs(w)))
    np.testing.assert_allclose(adjoint.hessian(with_literal_unpacked)(w, config), np.diag(1.8 * np.abs(w)))


def test_errors_in_a_notebook_cell_name_the_cell(monkeypatch):
    """IPython compiles each cell into a temporary file and keeps which cell
    each file holds; a location in a cell is named as IPython names it."""
    import linecache
    import types

    filename = "/tmp/ipykernel_4242/123456789.py"
    source = "import numpy as np\n\ndef cell_function(x):\n    return np.sum(np.i0(x))\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)
    shell = types.SimpleNamespace(compile=types.SimpleNamespace(_filename_map={filename: 7}))
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    try:
        with pytest.raises(adjoint.NoRuleError) as info:
            adjoint.jacrev(namespace["cell_function"])(np.eye(2))
    finally:
        del linecache.cache[filename]
    assert str(info.value).startswith("Cell In[7], line 4: "), str(info.value)
    assert filename not in str(info.value)
