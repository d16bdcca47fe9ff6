"""Every exception adjoint raises, and every user-facing message it builds
(those about whole Jacobians, the memory budget, sparse Jacobians and
executors, in errors_jacobians.py, whose names this module re-exports).

Errors about the user's code carry a location (file and line of the user's
source) and read: ``file:line: what went wrong. why. what to do.``  Errors
about argument values keep the standard ``TypeError`` / ``ValueError`` types
(as torch.func does) so ``except TypeError`` in user code keeps working.
"""


class AdjointError(Exception):
    """Base class of the errors that only adjoint raises."""


class SourceLocation:
    """A place in the user's source: file, line and the text of that line."""

    __slots__ = ("filename", "lineno", "line")

    def __init__(self, filename, lineno, line=""):
        self.filename = filename
        self.lineno = lineno
        self.line = line.strip()

    def __str__(self):
        cell = notebook_cell(self.filename)
        if cell is not None:
            return f"Cell In[{cell}], line {self.lineno}"
        return f"{self.filename}:{self.lineno}"


def notebook_cell(filename):
    """The number of the notebook cell (IPython's ``In[n]``) whose code
    IPython compiled under ``filename`` (a file of the kernel's temporary
    folder), or None: a place in a cell is named as IPython's own
    tracebacks name it, not by that file."""
    import sys

    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        shell = ipython.get_ipython()
        return shell.compile._filename_map.get(filename) if shell is not None else None
    except (AttributeError, TypeError):
        return None


class TransformError(AdjointError):
    """The user's function cannot be transformed.

    ``location`` is the user's file and line, ``construct`` what was found
    there, ``reason`` why it cannot be differentiated and ``fix`` what to do.
    """

    def __init__(self, location, construct, reason, fix=""):
        self.location = location
        self.construct = construct
        self.reason = reason
        self.fix = fix
        where = f"{location}: " if location is not None else ""
        text = f"{where}{construct}: {reason}"
        if fix:
            text += f" {fix}"
        if location is not None and location.line:
            text += f"\n    {location.line}"
        if location is not None and in_library(getattr(location, "filename", "")):
            text += ("\n(That line is in adjoint's own helper code, which the derivative of your function "
                     "runs and transforms again, not in your code: a limitation of adjoint. Another order "
                     "of the transforms (jacfwd(jacrev(f)) for jacrev(jacfwd(f))) may avoid it; please "
                     "report it.)")
        super().__init__(text)


class UnsupportedSyntaxError(TransformError):
    """A Python construct outside the subset that adjoint differentiates."""


class InPlaceChangeError(UnsupportedSyntaxError):
    """A change made in place that the derivative cannot follow: NumPy would
    change a value that something else (the caller, a view, another name)
    also holds. A call of a function that raises it changes what it is given,
    so the call matters even where its result is not used."""


class ArgumentChangedError(InPlaceChangeError):
    """A function changes one of its arguments in place (its caller's value)."""


class NoRuleError(TransformError):
    """A function applied to a differentiated value has no derivative rule."""


class UndefinedNameError(TransformError, NameError):
    """A name the function calls is bound nowhere: Python's NameError, with
    the user's file and line."""


class SourceUnavailableError(AdjointError):
    """The source of a function cannot be read (built-in, REPL, exec)."""


class MemoryBudgetError(AdjointError, MemoryError):
    """A Jacobian, or one chunk of the passes that compute it, does not fit
    in the memory budget (``adjoint.set_memory_budget``). A MemoryError, so
    that ``except MemoryError`` still catches it."""


def memory_error_in_derivative_code(exc, place, transform):
    """NumPy's MemoryError raised while generated derivative code ran, as a
    MemoryBudgetError that says where and what to do."""
    where = f"{place[0]}:{place[1]}: " if place and not str(place[0]).startswith("<adjoint") else ""
    return MemoryBudgetError(
        f"{where}{transform}: NumPy could not allocate the memory the derivative code asked for ({exc}). "
        "A transform of a derivative (vmap(jacrev(f)), jacrev(jacrev(f)), hessian under vmap, ...) builds "
        "the inner derivative's identity basis and Jacobian in full for every call of it, where the memory "
        "budget's chunking does not reach. For large inputs, compute products with the Jacobian instead "
        "(adjoint.vjp / adjoint.jvp, or grad of a weighted sum), map over fewer examples at once "
        "(vmap(..., chunk_size=k)), or differentiate fewer inputs (argnums).")


def no_rule_that_ran(message):
    """A NoRuleError for a call without a rule in a branch that ran
    (``message`` names the user's line and what to do)."""
    error = NoRuleError(None, "", message)
    error.args = (message,)
    return error


def refused_that_ran(message):
    """An UnsupportedSyntaxError for an in-place update that a check made
    when the code ran refused (``message`` names the user's line and what to do)."""
    error = UnsupportedSyntaxError(None, "", message)
    error.args = (message,)
    return error


#: functions with rules that compute what a method of a ufunc computes
UFUNC_METHOD_ALTERNATIVES = {
    "np.multiply.outer": "x[..., None] * y (np.outer for vectors)",
    "np.add.outer": "x[..., None] + y", "np.subtract.outer": "x[..., None] - y",
}


def _is_ufunc_method(name):
    parts = name.split(".")
    return len(parts) == 3 and parts[0] == "np" and parts[2] in ("reduce", "accumulate", "outer", "reduceat", "at")


def no_tangent_rule_fix(name):
    if _is_ufunc_method(name):
        return no_rule_fix(name)
    return f"Use jacrev, or register a tangent rule with adjoint.defjvp({name}, ...)."


def no_rule_fix(name):
    if _is_ufunc_method(name):
        instead = UFUNC_METHOD_ALTERNATIVES.get(name)
        use = f"Use {instead} instead" if instead else (
            "Write it with functions that have rules (np.sum, np.prod, np.cumsum, broadcasting; "
            "docs/supported.md lists them)")
        return (
            f"{use}, or wrap the value in adjoint.stop_gradient(...) if no derivative should flow "
            "through it."
        )
    return (
        f"Register a derivative with adjoint.defvjp({name}, ...) "
        "(one maker per positional argument), or wrap the value in "
        "adjoint.stop_gradient(...) if no derivative should flow through it."
    )


# ----- messages of SPEC.md section 2; the phrases are part of the contract.

def argnums_type_error(argnums):
    return TypeError(
        "argnums must be int or Tuple[int, ...], "
        f"got {type(argnums).__name__} ({argnums!r})."
    )


def argnum_element_error(argnum):
    return TypeError(
        f"argnum must be int, got {type(argnum).__name__} ({argnum!r}) in argnums."
    )


def argnum_range_error(argnum, nargs):
    return ValueError(
        f"Got argnum={argnum}, but only {nargs} positional inputs were passed "
        "to the function."
    )


def argnums_empty_error():
    return ValueError("argnums must be non-empty: select at least one argument.")


def argnums_unique_error(argnums):
    return ValueError(
        f"argnums elements must be unique, got {argnums!r} "
        "(negative values wrap before the check)."
    )


def chunk_size_error(chunk_size):
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        return TypeError(
            f"chunk_size must be None or an int, got {type(chunk_size).__name__} "
            f"({chunk_size!r})."
        )
    return ValueError(f"chunk_size should be greater than 0, got {chunk_size}.")


def aux_error(result):
    return TypeError(
        "With has_aux=True, the output of func should be a tuple: (output, aux) "
        f"if has_aux is True; got {type(result).__name__}."
    )


def not_float_input_error(argnum, path, dtype):
    return TypeError(
        f"only floating point inputs can be differentiated: argument {argnum}"
        f"{path} has dtype {dtype}. Convert it with .astype(float), or leave it "
        "out of argnums."
    )


def not_array_input_error(argnum, path, value):
    """A selected argument (or leaf) that is not an array at all: a Python
    int, None, a string, an object of the user's class."""
    kind = type(value).__name__
    if isinstance(value, (int, bool)):
        return TypeError(
            f"only floating point inputs can be differentiated: argument {argnum}{path} is the "
            f"{kind} {value!r}. Pass a float ({float(value)!r}) or a float array, or leave it out of argnums."
        )
    if value is None or isinstance(value, (str, bytes, complex)):
        return TypeError(
            f"only floating point inputs can be differentiated: argument {argnum}{path} is "
            f"{value!r} ({kind}), not an array. Pass a float array, or leave it out of argnums."
        )
    return TypeError(
        f"only floating point inputs can be differentiated: argument {argnum}{path} is a {kind} "
        "object, not an array. adjoint differentiates float arrays, floats, and tuples, lists, dicts "
        "and namedtuples of them: pass the arrays the object holds (as a tuple or a dict) and build "
        "the object inside the function, or leave the argument out of argnums."
    )


def not_array_output_error(path, value):
    return TypeError(
        f"expected func to return only arrays (or floats) but output{path} is "
        f"{type(value).__name__}. Return NumPy arrays, or use has_aux=True for "
        "other values."
    )


def integer_output_error(path, dtype):
    return TypeError(
        f"outputs of func must be floating-point to be differentiated, but "
        f"output{path} has dtype {dtype}. Convert it with .astype(float)."
    )


def complex_error(where, path):
    return TypeError(
        f"complex values are not supported yet: {where}{path} is complex. "
        "Split it into real and imaginary parts."
    )


def complex_derivative_error():
    return TypeError(
        "a derivative came out complex: a real value received a complex derivative from a function "
        "whose rule does not take the real part for it (a rule written for real values only). Make the "
        "real value complex first (x + 0j), or keep that step real (split it into real and imaginary "
        "parts); docs/complex.md says what is differentiated."
    )


def cotangent_leaf_error(path, leaf):
    return TypeError(
        f"cotangent leaf {path} is {type(leaf).__name__}: vjp_fn needs a float array (or a "
        "number) for each leaf of the output."
    )


def empty_output_error():
    return ValueError(
        "a derivative needs a non-empty output: func returned no array (None or an "
        "empty container)."
    )


def non_scalar_grad_error(what):
    """``what``: "shape (3,)", or the container the function returned."""
    return ValueError(
        f"grad requires func to return a single 0-d value, got an output of "
        f"{what}. Use jacrev for the full Jacobian, or reduce the output "
        "(for example with .sum())."
    )


def cotangent_mismatch_error(expected, got, what=None):
    if what is not None:
        return ValueError(
            f"jvp: {what} must have the structure and shapes of its primal: expected {expected}, got {got}."
        )
    return ValueError(
        "The cotangent passed to vjp_fn must have the structure and shapes of "
        f"the output: expected {expected}, got {got}."
    )


def user_line_note(filename, lineno):
    """The note added to an error raised while generated code ran: where in
    the user's code (the generated file's own line is in the traceback)."""
    import linecache

    text = linecache.getline(filename, lineno).strip()
    where = "in adjoint's own helper code (not yours)" if in_library(filename) else "in your code"
    note = f"adjoint: raised at {filename}:{lineno} {where}, while running its derivative code"
    return f"{note}:\n    {text}" if text else note + "."


def add_user_line_note(exc, place):
    """Add ``user_line_note`` to ``exc`` once (``add_note`` from Python 3.11;
    on 3.10 the note is appended to a string message)."""
    if place is None or getattr(exc, "_adjoint_user_line", False):
        return
    note = user_line_note(*place)
    try:
        exc._adjoint_user_line = True
    except AttributeError:
        return
    add_note(exc, note)


def add_note(exc, note):
    """``exc.add_note(note)`` (Python 3.11 on); on 3.10 the note is appended
    to a string message."""
    if callable(getattr(exc, "add_note", None)):
        exc.add_note(note)
    elif exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]}\n{note}",) + exc.args[1:]


def stale_source_error(name, filename, lineno):
    return SourceUnavailableError(
        f"{filename}:{lineno}: the source of {name} in {filename} changed after it was imported, so "
        "the code that runs is not the text in the file, and adjoint differentiates the text. "
        "Reload the module (importlib.reload, or restart Python), or undo the edit."
    )


def changed_argument_twice_error(name, kind, parameter, location, purpose="derivative"):
    if purpose == "vmap":
        return TransformError(
            location, f"vmap of adjoint.{kind}({name})",
            f"{name} changes its argument {parameter!r} in place, and vmap batches the code of its "
            "derivative, which cannot make that change in the caller's array for each example.",
            f"To vmap its derivative, work on a copy in {name}: {parameter} = {parameter}.copy().",
        )
    return TransformError(
        location, f"a derivative of adjoint.{kind}({name})",
        f"{name} changes its argument {parameter!r} in place, and the passes of a derivative of its "
        "derivative would each change the caller's array again.",
        f"To differentiate it twice, work on a copy in {name}: {parameter} = {parameter}.copy().",
    )


def changed_argument_at_call_error(location, callee, parameter, where):
    return UnsupportedSyntaxError(
        location, f"call of {callee}",
        f"{callee} changes its argument {parameter!r} in place ({where}: {where.line}), so NumPy "
        "changes the value passed here too, and adjoint cannot follow changes made in place.",
        f"In {callee}, work on a copy ({parameter} = {parameter}.copy()) or make a new value "
        f"({parameter} = {parameter} + ...).",
    )


def value_and_grad_transformed_error(name, location=None):
    return UnsupportedSyntaxError(
        location, f"adjoint.value_and_grad({name})",
        "its result is a pair (value, gradient), and a derivative is transformed again only as one "
        "that returns an array.",
        f"Transform adjoint.grad({name}) instead, and compute the value with {name} itself.",
    )


def undefined_name_error(location, name):
    error = UndefinedNameError(
        location, f"name {name!r} is not defined",
        f"the function calls {name}, which is not a parameter, a local name, a global of its module "
        "or a builtin.",
        f"Define or import {name} in the function's module (or pass it as an argument), or fix the "
        "spelling.",
    )
    error.name = name
    return error


def namedtuple_replace_error(location, construct):
    """``p._replace(**fields)`` (or with positional arguments) on a
    differentiated namedtuple: which fields it replaces is known only when
    the code runs. (``p._replace(a=v)`` with the fields named is followed.)"""
    return UnsupportedSyntaxError(
        location, construct,
        "namedtuple's _replace is followed only with the fields it replaces named as keywords "
        "(p._replace(a=v)); here they are known only when the code runs, so the values it copies and "
        "the ones it puts in would get no derivative.",
        "Name each field replaced: p._replace(a=v, b=w), or build the new tuple with its class, "
        "P(a=v, b=p.b).",
    )


def library_callable_error(location, name, vectorized=False):
    """A callable object of NumPy (or another library) whose Python code is
    that library's internals: ``np.vectorize(f)`` above all."""
    if vectorized:
        return NoRuleError(
            location, name,
            "np.vectorize runs the function it wraps element by element in NumPy's own Python loop, "
            "which adjoint does not differentiate.",
            "Call the function on the whole array instead (NumPy operations and adjoint's rules work "
            "elementwise already), or map it over an axis with adjoint.vmap(func).",
        )
    return NoRuleError(
        location, name,
        "it is a library's callable object: its Python code is the library's internals, which "
        "adjoint does not differentiate.",
        f"Register its derivative with adjoint.defvjp({name.split('(')[0]}, ...) (one maker per positional "
        "argument), or call a function of your own instead.",
    )


def with_location(error, place):
    """``error`` (a TransformError raised without a location, while
    generated code ran) naming the user's ``(file, line)``."""
    import linecache

    filename, lineno = place
    location = SourceLocation(filename, lineno, linecache.getline(filename, lineno))
    error.__init__(location, error.construct, error.reason, error.fix)
    return error


def value_refused_at(error, place):
    """``error`` (a ``runtime.ValueRefused``: a helper of generated code
    refused a value, such as dirichlet's x without its last category) with
    the user's ``file:line`` first in its message and their source line
    after it, as the transforms' own refusals read."""
    import linecache

    if place is None or not error.args or getattr(error, "_adjoint_user_line", False):
        return error
    filename, lineno = place
    line = linecache.getline(filename, lineno).strip()
    error.args = (f"{filename}:{lineno}: {error.args[0]}" + (f"\n    {line}" if line else ""),) + error.args[1:]
    error._adjoint_user_line = True
    return error


def located_in_user_code(error):
    """``error`` (a TransformError placed in generated code, refused when a
    derivative was differentiated again) placed at the user's line that
    code comes from, with the generated line kept in a note; unchanged when
    its place is the user's already or has no user's line."""
    location = error.location
    if not str(location.filename).startswith("<adjoint"):
        return error
    place = user_line(location.filename, location.lineno)
    if place is None:
        return error
    generated = f"{location}: {location.line}" if location.line else str(location)
    with_location(error, place)
    add_note(error, f"adjoint: refused in the derivative code made from that line, at {generated}")
    return error


def outside_item_update_error(location, name):
    """``counts["f"] += 1`` where ``counts`` is not the function's own
    (a global, a closure's value): an update of state kept outside it."""
    return UnsupportedSyntaxError(
        location, f"update of an item of {name!r}",
        f"{name} is not made by the function (it is a global or a closure's value), and adjoint "
        "updates items in place only in arrays, lists and dicts that the differentiated function makes "
        "itself: its derivative code would not run the update as Python does.",
        f"Keep such state outside the differentiated function (update {name} in a function that calls "
        "it, or after the call), or in an attribute (obj.calls += 1), which runs as written; a value "
        "that is differentiated is better returned.",
    )


def not_a_function_error(transform, func):
    """``adjoint.jacrev(f(x))``: a transform handed a value, not a function."""
    kind = type(func).__name__
    right, wrong = {"vjp": ("adjoint.vjp(f, x)", "adjoint.vjp(f(x), x)"),
                    "jvp": ("adjoint.jvp(f, (x,), (t,))", "adjoint.jvp(f(x), (x,), (t,))"),
                    "source": ("adjoint.source(f)", "adjoint.source(f(x))")}.get(
        transform, (f"adjoint.{transform}(f)(x)", f"adjoint.{transform}(f(x))"))
    return TypeError(
        f"adjoint.{transform} expects a function, got a value of type {kind} (the result of calling "
        f"a function, perhaps). Pass the function itself: {right}, not {wrong}."
    )


# ------------------------------------------------------------------ generated lines -> user lines

#: generated file name -> (the user's file, {generated line: user line}),
#: written when generated code is compiled (backend.compile)
USER_LINES = {}


def user_line(filename, lineno):
    """``(file, line)`` of the user's code that line ``lineno`` of the
    generated ``filename`` comes from (following generated code made from
    generated code back to the user's), or None."""
    found = None
    for _ in range(32):
        entry = USER_LINES.get(filename)
        if entry is None or lineno not in entry[1]:
            return found
        filename, lineno = entry[0], entry[1][lineno]
        found = (filename, lineno)
    return found


def user_line_of_traceback(tb):
    """The user's ``(file, line)`` of the innermost frame of ``tb`` that runs
    generated code, or None."""
    found = library = None
    while tb is not None:
        place = user_line(tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        if place is not None:
            # (a helper of adjoint's own that it differentiates is not the
            # user's code: the line of theirs that called it is named)
            if in_library(place[0]):
                library = place
            else:
                found = place
        tb = tb.tb_next
    return found or library


def in_library(filename):
    """Whether ``filename`` is a source file of adjoint itself."""
    import os

    package = os.path.dirname(os.path.abspath(__file__))
    try:
        return os.path.commonpath([package, os.path.abspath(filename)]) == package
    except ValueError:  # (another drive, a pseudo-filename)
        return False


def vmap_changed_shared_argument(location, what):
    """An in-place update, under vmap, of an argument that is the same array
    for every example (in_dims None) to values that differ between examples."""
    return UnsupportedSyntaxError(
        location, f"in-place update of {what} under vmap",
        "that argument is one array shared by every example (in_dims None), and the examples give it "
        "different values, which one array cannot hold (torch.func's vmap refuses this too).",
        "Give that argument a batch dimension (in_dims=0, with one row per example), or work on a copy "
        "in the function (y = y.copy()) and return it.",
    )


def outside_list_grown(location, construct, name):
    """``LOG.append(h)`` with differentiated values, on a list of the module
    or of a closure (made before the call)."""
    shown = f"{name!r}" if name else "the list"
    return InPlaceChangeError(
        location, f"{construct} on {shown}, a list made before the call (of the module or a closure)",
        "what the function puts there stays in the list after the call, where it would be read without its "
        "derivative, and every pass a derivative makes (jacfwd's chunks, hessian's passes) would put it there "
        "again.",
        "Collect the values in a list made in the function and return it (items = []; ...; "
        "return out, items, with has_aux=True), or append outside the differentiated function "
        "(adjoint.value_and_grad gives the value).",
    )


def vmap_changed_shared_object(location, what):
    """vmap of a function that sets attributes of an object given with
    in_dims None, and the examples leave it in different states."""
    return UnsupportedSyntaxError(
        location, f"attribute set under vmap on the object given as {what}",
        "that object is one object shared by every example (in_dims None); each example ran on its own "
        "copy of it, and the examples left different values in it, which one object cannot hold.",
        "Return the values the examples compute instead of storing them on the object, or call the "
        "function in a loop over the examples with an object of their own each "
        "([f(x, Model(...)) for x in xs]).",
    )


def vmap_changed_module_object(location, name, kind=None):
    """vmap of a function that sets attributes of an object of its module or
    closure (``kind``: "list" or "dict" for an item of one set)."""
    what = (f"item of {name!r}, a {kind} of the module or a closure, set under vmap" if kind else
            f"attribute set under vmap on {name!r}, an object of the module or a closure")
    return UnsupportedSyntaxError(
        location, what,
        "every example would change that one object in turn, and each would then read what the "
        "previous example stored there, which a batch of independent examples does not do.",
        f"Pass the object to the function as an argument (vmap(f, in_dims=(0, None))(xs, {name})), where "
        "each example runs on its own copy of it, or make the object inside the function.",
    )


def vmap_changed_module_state(location):
    """vmap of a derivative of a function that sets an attribute of an
    object of its module (or an item of a list of it) to a differentiated
    value (``vmap(jacrev(f))``)."""
    what = ("item of a list of the module" if isinstance(location, ModuleListLocation)
            else "attribute of an object of the module")
    return UnsupportedSyntaxError(
        location, f"{what} set to a differentiated value under vmap",
        "every example would change that one object in turn, and each would then read what the previous "
        "example stored there, which a batch of independent examples does not do.",
        "Pass the object to the function as an argument, or make it inside the function, or call the "
        "derivative in a loop over the examples.")


class ModuleListLocation(SourceLocation):
    """The place of ``LAYERS[k] = v`` on a list of the module (see
    ``outside_object_change_error``)."""

    __slots__ = ()


def outside_object_change_error(location):
    """A function called by the one being differentiated sets an attribute
    of an object it did not make (``cell.step(x)`` on a cell of the module),
    or an item of a list of the module (``LAYERS[0] = W * x``)."""
    if isinstance(location, ModuleListLocation):
        return UnsupportedSyntaxError(
            location, "item of a list of the module set to a differentiated value in a function that another "
            "one calls",
            "the caller reads the list's items as they are when it runs, so this value would reach it without "
            "its derivative.",
            "Change the list in the function being differentiated itself, or return the value from this "
            "function and use the returned value.")
    return UnsupportedSyntaxError(
        location, "attribute of an object the function did not make, set to a differentiated value in a "
        "function that another one calls",
        "the caller reads the object's attributes as they are when it runs, so this value would reach it "
        "without its derivative.",
        "Call the method that changes the object in the function being differentiated itself, or return the "
        "value from this function and use the returned value.")


def looped_vmap_differentiated(reason):
    """A derivative of a vmap whose function runs once per example
    (``reason``: the TransformError that names the user's line that made it
    so, or None)."""
    location = getattr(reason, "location", None)
    if location is not None and in_library(getattr(location, "filename", "")):
        location = None  # (never a helper of adjoint's own as the user's line)
    construct = getattr(reason, "construct", None)
    return TransformError(
        location, f"a vmap differentiated: {construct}" if construct else "a vmap differentiated",
        "this makes the vmapped function run once per example (control flow on the batched values, "
        "a Python loop over the batch), and that loop is not differentiated.",
        "Differentiate the function first and vmap the derivative (vmap(jacrev(f)) rather than "
        "jacrev(vmap(f))), or write this step without control flow on the values (np.where, a mask).",
    )


def complex_refused(construct):
    """A function whose derivative rule holds for real values only, met with
    a complex value inside the differentiated function (docs/complex.md)."""
    return (
        f"{construct} of a complex value: its derivative rule holds for real values only "
        "(complex values inside a function are differentiated through np.fft, arithmetic, "
        "np.real, np.imag, np.conj, np.abs and np.angle). Take the real values it needs first "
        "(np.abs(z) ** 2 for a squared modulus, np.real(z), np.imag(z)), or stop the derivative "
        "there with adjoint.stop_gradient(...)."
    )


def complex_arguments_refused(location, name):
    """A function of the user's that makes no complex value itself, whose
    derivative code is therefore written for real values, called with one."""
    where = f"{location.filename}:{location.lineno}: " if location is not None else ""
    return (
        f"{where}{name} was called with a complex argument while it was differentiated, and it makes "
        "no complex value itself, so its derivative code was written for real values. Make the "
        "complex values in this function (it may receive real and imaginary parts, or mark an "
        "argument with z = z + 0j), or inline its body into the caller (docs/complex.md)."
    )


def list_operator_with_array(symbol):
    """A list built in the function joined (``+``) or repeated (``*``) with what is an array when it runs."""
    meant = "joins two lists" if symbol == "+" else "repeats a list"
    return (f"a list built in the function {symbol} a NumPy array: NumPy reads the list as an array here, "
            f"but adjoint took {symbol} for Python's, which {meant}, as the other operand was not known to be "
            f"an array. Write np.asarray([...]) {symbol} a to mean NumPy's {symbol}.")


# The messages about whole Jacobians (memory budget, sparse, executors) live in
# errors_jacobians.py; they are part of this module's names.
from .errors_jacobians import (  # noqa: E402,F401 (re-exported)
    format_bytes, retitled, jacobian_too_large_error, chunk_too_large_error, out_of_memory_error,
    tall_reverse_warning, scipy_missing_error, sparse_structure_error, value_dependent_pattern_warning,
    executor_type_error, executor_source_error, executor_rerun_warning,
)
