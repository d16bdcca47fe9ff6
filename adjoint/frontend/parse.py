"""Function -> gast tree.

``parse_function(func)`` finds the definition of ``func`` in its source file
(a ``def`` at any nesting depth, or a ``lambda``) and returns a
``ParsedFunction`` whose ``node`` is a ``gast.FunctionDef`` with the real line
numbers of the user's file and no decorators. A lambda becomes a
``FunctionDef`` whose body is one ``return``. NumPy functions and other
primitives without Python source get a one-line wrapper (``jacrev(np.sin)``).

A top-level ``def`` is read from its own lines alone when they compile to
the code that runs (``parse_block``: a large module is not parsed whole for
one function). Otherwise whole files are parsed once (by the standard
library's parser) and kept, keyed by file name and text; only the function
transformed is converted to gast, found by descending into the nodes that
hold its first line.
"""
import ast
import collections
import functools
import linecache
import types

import gast

from .. import errors
from ..made import of
from .gastutil import clone, walk as walk_tree
from .code_match import code_objects as _code_objects, same_code as _same_code
from .parse_block import quick_definition


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


@functools.lru_cache(maxsize=64)
def _parse_file(filename, text):
    # The standard library's parser (in C); only the function that is
    # transformed is converted to gast, so the first call does not grow with
    # the size of the file.
    return ast.parse(text, filename)


def _first_line(node):
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])


def _nodes_on_line(tree, lineno, kinds):
    """The nodes of ``kinds`` in ``tree`` that start on ``lineno`` (a def
    starts at its first decorator), found by descending only into the nodes
    whose lines hold ``lineno``."""
    found = []
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            start = getattr(child, "lineno", None)
            if start is not None:
                if isinstance(child, kinds) and lineno in (_first_line(child), start):
                    found.append(child)
                if not _first_line(child) <= lineno <= (child.end_lineno or start):
                    continue
            stack.append(child)
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    return found


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
    code = func.__code__
    node = quick_definition(filename, lines, "".join(lines), code)
    if node is not None:  # (a top-level def read without parsing the whole file)
        node.decorator_list = []
        return ParsedFunction(func, node, filename, lines)
    try:
        node, runs = _locate(filename, lines, code)
    except errors.SourceUnavailableError:
        if not _reread(filename):
            raise
        reread = True
    else:
        reread = not runs and _reread(filename)
    if reread:
        # linecache kept the text it read first: the file was edited and run
        # again since (exec of the new text, a notebook's %run), so read it anew
        lines = linecache.getlines(filename, func.__globals__) or lines
        node, runs = _locate(filename, lines, code)
    if not runs:
        raise errors.stale_source_error(getattr(func, "__qualname__", code.co_name), filename,
                                        code.co_firstlineno)
    node.decorator_list = []
    return ParsedFunction(func, node, filename, lines)


#: (id of a parsed file's tree, code object) -> (the tree, the gast node of
#: the code's definition or None, whether the text compiles to that code):
#: a function is parsed once for each transform made of it (each argnums,
#: forward and reverse mode, for a caller or not). The tree kept in the
#: value keeps its id from being reused while the entry lives.
_LOCATED = collections.OrderedDict()
_LOCATED_SIZE = 256


def _locate(filename, lines, code):
    """``_located`` in the text ``lines``, parsed (a file that does not parse
    is an error that says so)."""
    text = "".join(lines)
    try:
        tree = _parse_file(filename, text)
    except SyntaxError as exc:
        raise errors.SourceUnavailableError(
            f"cannot parse {filename}: {exc}. Is the file on disk the one that was run?"
        ) from None
    return _located(tree, code, filename, text)


def _located(tree, code, filename, text):
    """``(gast node of the definition, whether the text is the code that
    runs)``; the node is the caller's own (transforms change it). A
    function parsed once (most generated code) is converted once; from its
    second parse on, a converted copy is kept and cloned, which costs less."""
    key = (id(tree), code)
    found = _LOCATED.get(key)
    if found is not None:
        _LOCATED.move_to_end(key)
        if found[1] is not None:
            return clone(found[1]), found[2]
    node = _find_lambda(tree, code, filename) if code.co_name == "<lambda>" else _find_def(tree, code, filename)
    if found is None:
        _LOCATED[key] = (tree, None, _source_runs(code, filename, text))
        if len(_LOCATED) > _LOCATED_SIZE:
            _LOCATED.popitem(last=False)
        return node, _LOCATED[key][2]
    _LOCATED[key] = (tree, node, found[2])
    return clone(node), found[2]


def _reread(filename):
    """Drop linecache's text of ``filename`` if the file changed on disk
    since it was read; whether it did."""
    entry = linecache.cache.get(filename)
    linecache.checkcache(filename)
    return entry is not None and linecache.cache.get(filename) is not entry


# ------------------------------------------- is the source the code that runs?

def _has_import(statement):
    """Whether a top-level statement binds a module name: an import, or a
    block (if, try, with, a loop) holding one; expressions are not entered."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return False
    blocks = [getattr(statement, field, None) or [] for field in ("body", "orelse", "finalbody")]
    blocks += [handler.body for handler in getattr(statement, "handlers", ())]
    blocks += [case.body for case in getattr(statement, "cases", ())]
    return any(_has_import(inner) for block in blocks if isinstance(block, list) for inner in block)


@functools.lru_cache(maxsize=64)
def _import_statements(filename, text):
    """Indices of the top-level statements of ``text`` that bind module names."""
    return frozenset(i for i, s in enumerate(_parse_file(filename, text).body) if _has_import(s))


def _compiled_statement(filename, text, lineno):
    """Code objects of the top-level statement of ``text`` that holds line
    ``lineno``, compiled with the file's imports (the compiler reads how a
    global name was bound: ``np.sin(x)`` compiles differently when ``np`` is
    an imported module), keyed by (name, first line); None if it does not
    compile on its own. A large module need not be compiled whole for one
    function."""
    tree = _parse_file(filename, text)
    for index, statement in enumerate(tree.body):
        if _first_line(statement) <= lineno <= (statement.end_lineno or statement.lineno):
            return _compiled_top_level(filename, text, index)
    return None


@functools.lru_cache(maxsize=256)
def _compiled_top_level(filename, text, index):
    """``_compiled_statement`` for the top-level statement at ``index`` (kept:
    the lambdas of one large statement, a table of test cases, share it)."""
    tree = _parse_file(filename, text)
    imports = _import_statements(filename, text)
    body = [s for i, s in enumerate(tree.body) if i == index or i in imports]
    try:
        return _code_objects(compile(ast.Module(body=body, type_ignores=[]), filename, "exec", dont_inherit=True))
    except (SyntaxError, ValueError):
        return None


@functools.lru_cache(maxsize=64)
def _compiled_file(filename, text):
    """The same for the whole file."""
    try:
        return _code_objects(compile(text, filename, "exec", dont_inherit=True))
    except (SyntaxError, ValueError):
        return None


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
    differentiated in its place. The top-level statement that holds the
    function is compiled first; the whole file only when that does not
    match."""
    statement = _compiled_statement(filename, text, code.co_firstlineno)
    if statement is not None and _matches(code, statement):
        return True
    compiled = _compiled_file(filename, text)
    if compiled is None:
        return True  # (text that only runs in a context of its own: nothing to compare)
    return _matches(code, compiled)


def _matches(code, compiled):
    """Whether ``compiled`` holds ``code``. Code that a tool rewrote at
    import (pytest rewrites assert statements, with names that start with
    "@") must still hold every name and constant of the text."""
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


def _find_def(tree, code, filename):
    for node in _nodes_on_line(tree, code.co_firstlineno, (ast.FunctionDef, ast.AsyncFunctionDef)):
        if node.name == code.co_name:
            if isinstance(node, ast.AsyncFunctionDef):
                raise errors.UnsupportedSyntaxError(
                    errors.SourceLocation(filename, node.lineno),
                    f"async def {node.name}",
                    "coroutines cannot be differentiated.",
                    "Differentiate a plain def.",
                )
            return gast.ast_to_gast(node)
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
    return ({n.id for n in walk_tree(node) if isinstance(n, gast.Name)}
            | {n.attr for n in walk_tree(node) if isinstance(n, gast.Attribute)})


def _find_lambda(tree, code, filename):
    arg_names = code.co_varnames[: code.co_argcount]
    candidates = [
        gast.ast_to_gast(node)
        for node in _nodes_on_line(tree, code.co_firstlineno, (ast.Lambda,))
        if node.lineno == code.co_firstlineno and tuple(a.arg for a in node.args.args) == arg_names
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
