"""A quick way to read one top-level ``def`` out of a large module.

``parse.parse_function`` parses the whole file once (and keeps the tree), so
that the first call of a function in a 1,000-line module pays for parsing
1,000 lines it never reads. A ``def`` that starts at column 0 (its first
decorator, or the ``def`` line itself) is a top-level statement, and its
text ends before the next line that starts at column 0 outside a string,
a bracket or a backslash continuation. ``quick_definition`` cuts the text
there and parses only that block. Each cut is checked by the parser itself:
a cut inside a string, a bracket or a continuation does not parse, so the
first cut that parses to one ``def`` of the function's name is its end.

The stale-source check (is the text the code that runs?) is made the same
way as ``parse._source_runs`` does it, on the block and the file's import
lines (the compiler reads which global names are imported modules); only an
exact match of the compiled code counts. Anything else (no match, a file
that does not cut, a nested def, a lambda, pytest's rewritten asserts)
returns None, and the caller parses the whole file as before: this path can
only say yes to what the whole-file path says yes to, sooner.
"""
import ast
import collections
import functools

import gast

from .code_match import code_objects as _code_objects, same_code as _same_code
from .gastutil import clone

#: Cuts tried before giving up (a docstring with many lines at column 0).
_MAX_CUTS = 12

#: (filename, text, code) -> the definition's ast node (first read), its
#: gast node (cloned on later reads), or None (not read this way).
_FOUND = collections.OrderedDict()
_FOUND_SIZE = 256
_TEXTS = {}  # filename -> the text last read from it

_NOT_A_START = " \t\f\r\n#"


def quick_definition(filename, lines, text, code):
    """The gast ``FunctionDef`` of ``code`` (a top-level def) read from
    ``lines`` alone (``text`` is their join), when its text compiles to
    ``code`` exactly; else None."""
    if code.co_name == "<lambda>":
        return None
    start = code.co_firstlineno - 1
    if not 0 <= start < len(lines) or not lines[start].startswith(("def ", "@")):
        return None
    known = _TEXTS.get(filename)
    if known == text:
        text = known  # (one copy of a file's text held by all its keys)
    else:
        if len(_TEXTS) >= _FOUND_SIZE:
            _TEXTS.clear()
        _TEXTS[filename] = text
    key = (filename, text, code)
    if key in _FOUND:
        _FOUND.move_to_end(key)
        found = _FOUND[key]
        if found is None:
            return None
        # (its second read: keep a converted copy from now on. gast's nodes are
        # ast.AST too, so the test names ast's own class: converting a gast
        # tree again wraps ``except E as e``'s name in a second Name)
        if isinstance(found, ast.FunctionDef):
            found = _FOUND[key] = gast.ast_to_gast(found)
        return clone(found)
    node = _block(lines, start, code.co_name)
    if node is not None and not _runs(filename, text, node, code):
        node = None
    # The ast node is kept, converted on a second read only (most functions
    # are read once); None: the whole-file path decides.
    _FOUND[key] = node
    if len(_FOUND) > _FOUND_SIZE:
        _FOUND.popitem(last=False)
    return None if node is None else gast.ast_to_gast(node)


def _block(lines, start, name):
    """The ``ast.FunctionDef`` of the def at line index ``start`` with the
    file's line numbers, or None when no cut of at most _MAX_CUTS parses."""
    cuts = 0
    end = start + 1
    while True:
        while end < len(lines) and (not lines[end] or lines[end][0] in _NOT_A_START):
            end += 1
        try:
            tree = ast.parse("".join(lines[start:end]))
        except (SyntaxError, ValueError):
            tree = None
        if tree is not None:
            node = tree.body[0] if len(tree.body) == 1 else None
            if isinstance(node, ast.FunctionDef) and node.name == name:
                ast.increment_lineno(tree, start)
                return node
            return None
        cuts += 1
        if end >= len(lines) or cuts >= _MAX_CUTS:
            return None
        end += 1


@functools.lru_cache(maxsize=64)
def _import_lines(filename, text):
    """The file's import statements that start at column 0, parsed one by
    one with their line numbers (a parenthesized import over several lines
    is read to its end); the ones that do not parse alone are left out."""
    lines = text.splitlines(keepends=True)
    found = []
    for index, line in enumerate(lines):
        if not line.startswith(("import ", "from ")):
            continue
        for end in range(index + 1, min(index + 40, len(lines)) + 1):
            try:
                tree = ast.parse("".join(lines[index:end]))
            except SyntaxError:
                continue
            ast.increment_lineno(tree, index)
            found.extend(tree.body)
            break
    return tuple(found)


def _runs(filename, text, node, code):
    """Whether ``node`` compiled with the file's import lines holds exactly
    ``code`` (``compile`` reads the tree and leaves it as it was)."""
    imports = [s for s in _import_lines(filename, text) if s.lineno < node.lineno or s.lineno > node.end_lineno]
    future = [s for s in imports if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
    body = future + [s for s in imports if s not in future] + [node]
    try:
        compiled = _code_objects(compile(ast.Module(body=body, type_ignores=[]), filename, "exec",
                                         dont_inherit=True))
    except (SyntaxError, ValueError):
        return False
    candidates = compiled.get((code.co_name, code.co_firstlineno), [])
    return any(_same_code(code, candidate) for candidate in candidates)
