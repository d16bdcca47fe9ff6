"""Function -> gast tree.

``parse_function(func)`` finds the definition of ``func`` in its source file
(a ``def`` at any nesting depth, or a ``lambda``) and returns a
``ParsedFunction`` whose ``node`` is a ``gast.FunctionDef`` with the real line
numbers of the user's file and no decorators. A lambda becomes a
``FunctionDef`` whose body is one ``return``. NumPy functions and other
primitives without Python source get a one-line wrapper (``jacrev(np.sin)``).

Whole files are parsed once and kept, keyed by file name and text, with
their definitions and lambdas indexed by name and line.
"""
import functools
import linecache
import types

import gast

from .. import errors
from ..made import of
from .gastutil import clone


class ParsedFunction:
    __slots__ = ("func", "node", "filename", "lines")

    def __init__(self, func, node, filename, lines):
        self.func = func
        self.node = node
        self.filename = filename
        self.lines = lines

    def location(self, node):
        lineno = getattr(node, "lineno", None) or self.node.lineno
        line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        return errors.SourceLocation(self.filename, lineno, line)


class _ParsedFile:
    """A file's gast tree, with its definitions and lambdas indexed by
    (name, line) and (line), so that finding one function does not walk the
    whole tree again."""
    __slots__ = ("module", "defs", "lambdas")

    def __init__(self, module):
        self.module = module
        self.defs = {}
        self.lambdas = {}
        for node in gast.walk(module):
            if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)):
                self.defs.setdefault(node.name, []).append(node)
            elif isinstance(node, gast.Lambda):
                self.lambdas.setdefault(node.lineno, []).append(node)


@functools.lru_cache(maxsize=64)
def _parse_file(filename, text):
    return _ParsedFile(gast.parse(text))


def _source_of(func):
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    filename = code.co_filename
    lines = linecache.getlines(filename, func.__globals__)
    if not lines:
        return None
    return filename, lines


#: co_filename of code typed at the REPL (<python-input-N> from Python 3.13,
#: <console> in code.interact) or given to python -c (<string>).
_INTERACTIVE = ("<stdin>", "<string>", "<console>", "<python-input-")


def _typed_interactively(func):
    filename = getattr(getattr(func, "__code__", None), "co_filename", "")
    return filename.startswith(_INTERACTIVE)


def parse_function(func):
    """Parse ``func``; raise SourceUnavailableError when it has no source."""
    # A wrapper made with functools.wraps is differentiated as the wrapper
    # it is (its code calls the function it wraps), never as that function.
    made = of(func)
    made_by = made[1] if made is not None else None
    if made_by is not None:
        raise errors.TransformError(
            None, f"adjoint.{made_by}({getattr(func, '__qualname__', func)})",
            "differentiating a derivative (a higher-order derivative, or adjoint.grad / jacrev "
            "called inside a differentiated function) is not supported yet.",
            "Differentiate the original function, or write the derivative you need as a "
            "Python function of its own and differentiate that.",
        )
    found = _source_of(func)
    if found is None and _typed_interactively(func):
        raise errors.SourceUnavailableError(
            f"cannot read the source of {getattr(func, '__qualname__', func)!r}: it was typed at the "
            "interactive prompt or given to python -c, which keep no source, and adjoint transforms "
            "Python source. Put the function in a file (a module you import, or a script you run) "
            "and differentiate it from there."
        )
    if found is None:
        raise errors.SourceUnavailableError(
            f"cannot read the source of {getattr(func, '__qualname__', func)!r}: "
            "adjoint transforms Python source, so the function must be defined "
            "in a file (or a notebook cell). For a function without source, "
            "register its derivative with adjoint.defvjp."
        )
    filename, lines = found
    try:
        parsed = _parse_file(filename, "".join(lines))
    except SyntaxError as exc:
        raise errors.SourceUnavailableError(
            f"cannot parse {filename}: {exc}. Is the file on disk the one that was run?"
        ) from None
    code = func.__code__
    if code.co_name == "<lambda>":
        node = _find_lambda(parsed, code, filename)
    else:
        node = _find_def(parsed, code, filename)
    if not _source_runs(code, filename, "".join(lines)):
        raise errors.stale_source_error(getattr(func, "__qualname__", code.co_name), filename,
                                        code.co_firstlineno)
    node = _copy(node)
    node.decorator_list = []
    return ParsedFunction(func, node, filename, lines)


# ------------------------------------------- is the source the code that runs?

@functools.lru_cache(maxsize=64)
def _compiled_file(filename, text):
    """Code objects of ``text`` compiled as ``filename`` was, keyed by
    (name, first line); None if it does not compile on its own."""
    try:
        module = compile(text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    found = {}
    stack = [module]
    while stack:
        code = stack.pop()
        found.setdefault((code.co_name, code.co_firstlineno), []).append(code)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return found


def _same_code(a, b):
    if (a.co_code != b.co_code or a.co_names != b.co_names or a.co_varnames != b.co_varnames
            or a.co_freevars != b.co_freevars or len(a.co_consts) != len(b.co_consts)):
        return False
    for x, y in zip(a.co_consts, b.co_consts):
        if isinstance(x, types.CodeType) or isinstance(y, types.CodeType):
            if not (isinstance(x, types.CodeType) and isinstance(y, types.CodeType) and _same_code(x, y)):
                return False
        elif type(x) is not type(y) or (x != y and x == x):  # (nan != nan: the same constant)
            return False
    return True


def _names_and_constants(code):
    names = set(code.co_names) | set(code.co_varnames) | set(code.co_freevars)
    constants = set()
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            inner_names, inner_constants = _names_and_constants(const)
            names |= inner_names
            constants |= inner_constants
        else:
            constants.add((type(const).__name__, repr(const)))
    return names, constants


def _source_runs(code, filename, text):
    """Whether ``code`` is what ``text`` compiles to: a module edited after
    it was imported runs its old code, and its new text must not be
    differentiated in its place. Code that a tool rewrote at import (pytest
    rewrites assert statements, with names that start with "@") must still
    hold every name and constant of the text."""
    compiled = _compiled_file(filename, text)
    if compiled is None:
        return True  # (text that only runs in a context of its own: nothing to compare)
    candidates = compiled.get((code.co_name, code.co_firstlineno), [])
    if any(_same_code(code, candidate) for candidate in candidates):
        return True
    names, constants = _names_and_constants(code)
    if not any(name.startswith("@") for name in names):
        return False
    for candidate in candidates:  # (the rewriting adds names and constants, and removes none)
        text_names, text_constants = _names_and_constants(candidate)
        if text_names <= names and text_constants <= constants:
            return True
    return False


def _copy(node):
    # gast nodes are shared by the file cache; transforms get their own copy.
    
    return clone(node)


def _find_def(parsed, code, filename):
    for node in parsed.defs.get(code.co_name, ()):
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        if code.co_firstlineno in (first, node.lineno):
            if isinstance(node, gast.AsyncFunctionDef):
                raise errors.UnsupportedSyntaxError(
                    errors.SourceLocation(filename, node.lineno),
                    f"async def {node.name}",
                    "coroutines cannot be differentiated.",
                    "Differentiate a plain def.",
                )
            return node
    raise errors.SourceUnavailableError(
        f"cannot find the definition of {code.co_name} at {filename}:{code.co_firstlineno}: "
        "the file changed since it was imported. Reload the module."
    )


def _names_in_code(code):
    """Names a code object and the code nested in it use (locals, globals,
    attributes, free variables); the compiler's own (``.0``) left out."""
    names = set(code.co_names) | set(code.co_varnames) | set(code.co_freevars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_in_code(const)
    return {name for name in names if not name.startswith(".")}


def _names_in_node(node):
    """The same names, read from a lambda's tree."""
    return ({n.id for n in gast.walk(node) if isinstance(n, gast.Name)}
            | {n.attr for n in gast.walk(node) if isinstance(n, gast.Attribute)})


def _find_lambda(parsed, code, filename):
    arg_names = code.co_varnames[: code.co_argcount]
    candidates = [
        node
        for node in parsed.lambdas.get(code.co_firstlineno, ())
        if tuple(a.id for a in node.args.args) == arg_names
    ]
    if len(candidates) > 1 and hasattr(code, "co_positions"):  # Python 3.11+: columns
        columns = {p[2] for p in code.co_positions() if p[2] is not None}
        candidates = [n for n in candidates if n.body.col_offset in columns] or candidates
    elif len(candidates) > 1:  # Python 3.10 records no columns: the names each lambda uses
        names = _names_in_code(code)
        candidates = [n for n in candidates if _names_in_node(n) == names] or candidates
    if len(candidates) != 1:
        raise errors.SourceUnavailableError(
            f"{filename}:{code.co_firstlineno}: cannot tell which of several lambdas "
            "on this line to differentiate. Give it its own line, or use a def."
        )
    lam = candidates[0]
    ret = gast.Return(value=lam.body)
    gast.copy_location(ret, lam.body)
    node = gast.FunctionDef(
        name="lambda", args=lam.args, body=[ret], decorator_list=[],
        returns=None, type_comment=None, type_params=[],
    )
    return gast.copy_location(node, lam)
