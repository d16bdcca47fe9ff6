"""Generated gast tree -> source text -> live functions.

``to_source`` prints a gast module with astor and turns comment markers into
real comments. ``load_module`` compiles the text once under a file name of its
own, registers it with ``linecache`` (tracebacks and pdb show the generated
lines) and executes it in the given namespace. ``export_module`` writes the
same code as a standalone module that needs NumPy alone: the runtime helpers
it calls are copied into it.
"""
import ast
import inspect
import linecache
import re

import astor
import gast

from . import runtime

_MARKER = re.compile(r"^(\s*)__adjoint_comment_(\d+)__$")


def to_source(module, comments):
    tree = gast.gast_to_ast(module)
    ast.fix_missing_locations(tree)
    text = astor.to_source(tree)
    lines = []
    for line in text.splitlines():
        match = _MARKER.match(line)
        if match:
            lines.append(f"{match.group(1)}# {comments[int(match.group(2))]}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def load_module(source, filename, namespace):
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, namespace)
    return namespace


def runtime_helpers(source, rt_name):
    """Source of the runtime helpers ``source`` calls, with what they call."""
    wanted = set(re.findall(rf"\b{re.escape(rt_name)}\.(\w+)", source))
    functions = {
        name: obj for name, obj in vars(runtime).items()
        if inspect.isfunction(obj) and obj.__module__ == runtime.__name__
    }
    order = list(functions)
    needed = set()
    pending = list(wanted)
    while pending:
        name = pending.pop()
        if name in needed or name not in functions:
            continue
        needed.add(name)
        body = inspect.getsource(functions[name])
        pending.extend(n for n in re.findall(r"\b(\w+)\(", body) if n in functions)
    return [(name, inspect.getsource(functions[name])) for name in order if name in needed]
