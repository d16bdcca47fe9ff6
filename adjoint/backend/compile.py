"""Generated gast tree -> source text -> live functions.

``to_source`` prints a gast module (``printer.source``, or astor where that
printer leaves a form alone) and turns comment markers into real comments.
``load_module`` compiles the text once under a file name of its own,
registers it with ``linecache`` (tracebacks and pdb show the generated lines)
and executes it in the given namespace. ``export_module`` writes the same
code as a standalone module that needs NumPy alone: the runtime helpers it
calls are copied into it.
"""
import ast
import difflib
import functools
import inspect
import linecache
import os
import re
import warnings

import astor
import gast

from .. import errors, runtime
from ..frontend.gastutil import store, walk
from . import printer
from .to_ast import gast_to_ast

_MARKER = re.compile(r"^(\s*)__adjoint_comment_(\d+)__$")


class _SourceGenerator(astor.code_gen.SourceGenerator):
    """astor's printer, with positional-only parameters placed right: astor
    0.8.1 gives them the first defaults even when the defaults belong to the
    last ordinary parameters (``def f(tangents, /, t, p=2)`` came out as
    ``def f(tangents=2, /, t, p)``)."""

    def visit_arguments(self, node):
        posonly = list(getattr(node, "posonlyargs", []) or [])
        if not posonly:
            return super().visit_arguments(node)
        want_comma = []

        def write_comma():
            if want_comma:
                self.write(", ")
            else:
                want_comma.append(True)

        positional = posonly + list(node.args)
        defaults = [None] * (len(positional) - len(node.defaults)) + list(node.defaults)
        astor.code_gen.set_precedence(astor.code_gen.Precedence.Comma, node.defaults)
        for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
            self.write(write_comma, arg)
            self.conditional_write("=", default)
            if i == len(posonly) - 1:
                self.write(write_comma, "/")
        self.conditional_write(write_comma, "*", node.vararg)
        kwonlyargs = self.get_kwonlyargs(node)
        if kwonlyargs:
            if node.vararg is None:
                self.write(write_comma, "*")
            astor.code_gen.set_precedence(astor.code_gen.Precedence.Comma, node.kw_defaults)
            for arg, default in zip(kwonlyargs, node.kw_defaults, strict=True):
                self.write(write_comma, arg)
                self.conditional_write("=", default)
        self.conditional_write(write_comma, "**", node.kwarg)


class _AstorStyle(ast._Unparser):
    """``ast.unparse`` writing the text astor writes for the trees adjoint
    generates, the same on Python 3.10 to 3.14: a tuple whose place allows it
    (a return value, either side of ``=``, a ``for`` target) goes without
    parentheses, and a def after other statements is set off by two blank
    lines at the top level and one inside a block."""

    def __init__(self, **options):
        super().__init__(**options)
        self._signed_exponents = set()

    def visit_Return(self, node):
        if node.value is not None:
            self.set_precedence(ast._Precedence.TUPLE, node.value)
        super().visit_Return(node)

    def visit_Assign(self, node):
        self.set_precedence(ast._Precedence.TUPLE, node.value, *node.targets)
        super().visit_Assign(node)

    def visit_comprehension(self, node):
        self.set_precedence(ast._Precedence.TUPLE, node.target)
        super().visit_comprehension(node)

    def visit_For(self, node):
        self.set_precedence(ast._Precedence.TUPLE, node.target)
        super().visit_For(node)

    def visit_Tuple(self, node):
        # As Python 3.11+ writes it (3.10 puts every tuple in parentheses).
        with self.delimit_if("(", ")", not node.elts or self.get_precedence(node) > ast._Precedence.TUPLE):
            self.items_view(self.traverse, node.elts)

    def visit_BinOp(self, node):
        if isinstance(node.op, ast.Pow) and isinstance(node.right, ast.UnaryOp):
            self._signed_exponents.add(id(node.right))  # 2 ** -x, not 2 ** (-x)
        super().visit_BinOp(node)

    def visit_UnaryOp(self, node):
        if id(node) in self._signed_exponents:
            self.set_precedence(ast._Precedence.FACTOR, node)
        super().visit_UnaryOp(node)

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Tuple):
            self.fill()
            self.set_precedence(ast._Precedence.TUPLE, node.value)
            self.traverse(node.value)
        else:
            super().visit_Expr(node)

    def _write_constant(self, value):
        if isinstance(value, (float, complex)):
            self.write(_astor_number(value))
        else:
            super()._write_constant(value)

    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, (int, float, complex)):
            # (3).bit_length(), not 3 .bit_length()
            self.write(f"({_astor_number(node.value.value)}).{node.attr}")
            return
        super().visit_Attribute(node)

    def _function_helper(self, node, fill_suffix):
        if self._source and not self._indent:
            self.write("\n")  # ast.unparse sets a def off by one blank line; astor by two at the top level
        super()._function_helper(node, fill_suffix)


_astor_number = printer.astor_number
_negative = printer.negative


def _signed(tree):
    """``tree`` with each negative number constant (folded by the transform,
    or a rule's default) replaced by the unary minus it is printed as: both
    printers write a Constant's text as it is, so ``Constant(-2.0) ** 2``
    came out as ``-2.0 ** 2``, which Python reads as ``-(2.0 ** 2)``. As a
    UnaryOp the printers put the parentheses that operator precedence needs.
    (One walk that changes the fields in place: a NodeTransformer rebuilds
    every list of the tree, a fifth of the printing time.)"""
    for node in walk(tree):
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                for index, item in enumerate(value):
                    if type(item) is ast.Constant and _negative(item.value):
                        value[index] = _minus(item)
            elif type(value) is ast.Constant and _negative(value.value):
                setattr(node, field, _minus(value))
    return tree


def _minus(node):
    return ast.copy_location(ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-node.value)), node)


def _unparse(tree):
    # ast.unparse reads line numbers (for type comments); astor reads none.
    return _AstorStyle().visit(ast.fix_missing_locations(_signed(tree))) + "\n"


def _astor(tree):
    # One statement per line, never wrapped: long lines read better than astor's breaks.
    tree = _signed(tree)
    return astor.to_source(tree, pretty_source=lambda parts: "".join(parts), source_generator_class=_SourceGenerator)


def unparse(tree):
    """Python source of an ``ast`` tree: astor's, or where astor no longer
    works (it renders through ast.Num and ast.Str, which Python 3.14 removed)
    the same text from ``ast.unparse``."""
    return _astor(tree) if _astor_works() else _unparse(tree)


@functools.cache
def _astor_works():
    probe = ast.parse("def f(x, s=-1.5):\n    y = x[1:, None] * 2 ** -s\n    return y, f'{x}', 'a'\n")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # ast.Str, Python 3.12 and 3.13
            _astor(probe)
    except Exception:  # noqa: BLE001 (astor failing in any way means: do not use it)
        return False
    return True


#: ADJOINT_CHECK_PRINTER=1 (a development switch, read once): every module
#: printer.source prints is printed the old way too, and a difference raises;
#: =both: compared with astor's text and with ast.unparse's (what Python 3.14 uses)
_CHECK_PRINTER = os.environ.get("ADJOINT_CHECK_PRINTER", "0").strip().lower()
_CHECK_PRINTER = "" if _CHECK_PRINTER in ("", "0") else _CHECK_PRINTER


def print_module(module):
    """The source text of a generated gast module: ``printer.source``, which
    reads the gast tree directly, or for a form it leaves alone the old path
    (the tree converted to ``ast``, then astor or ``ast.unparse``)."""
    try:
        text = printer.source(module)
    except printer.Unsupported:
        return unparse(gast_to_ast(module))
    except Exception:  # noqa: BLE001 (a tree it did not expect: the old path prints it)
        if _CHECK_PRINTER:
            raise
        return unparse(gast_to_ast(module))
    if _CHECK_PRINTER:
        _check_printer(module, text)
    return text


def _check_printer(module, text):
    olds = {"the old printer": unparse}
    if _CHECK_PRINTER == "both":
        olds = {"astor": _astor, "ast.unparse": _unparse} if _astor_works() else {"ast.unparse": _unparse}
    for name, old in olds.items():
        expected = old(gast_to_ast(module))
        if text != expected:
            diff = "\n".join(difflib.unified_diff(expected.splitlines(), text.splitlines(),
                                                  name, "printer.source", lineterm=""))
            raise AssertionError(f"printer.source differs from {name}:\n{diff}")


def to_source(module, comments):
    text = print_module(module)
    lines = []
    last = {}  # indentation -> the last comment written at it
    for line in text.splitlines():
        body = line.lstrip()
        indent = len(line) - len(body)
        if last:
            for depth in [d for d in last if d > indent]:
                del last[depth]  # a block ended: its comments no longer apply
        match = _MARKER.match(line) if body.startswith("__adjoint_comment_") else None
        if match:
            comment = f"{match.group(1)}# {comments[int(match.group(2))]}"
            if last.get(indent) == comment:
                continue  # the statements below still belong to the line just named
            last[indent] = comment
            lines.append(comment)
        else:
            if body.rstrip().endswith(":"):
                last.pop(indent, None)  # a compound statement: its body starts afresh
            lines.append(line)
    return "\n".join(lines) + "\n"


def unique_filename(filename, source):
    """``filename``, or ``filename`` numbered (``<... #2>``) if linecache
    already holds another text under it: two transforms of one function
    (other arguments differentiated, for a caller or not) or two lambdas
    named alike each keep their own text, which the next transform of the
    generated code reads back."""
    base, number = filename, 1
    while True:
        entry = linecache.cache.get(filename)
        if entry is None or len(entry) < 3 or "".join(entry[2]) == source:
            return filename
        number += 1
        filename = f"{base[:-1]} #{number}>" if base.endswith(">") else f"{base} #{number}"


def load_module(source, filename, namespace, user_file=None):
    """Compile and run ``source`` under ``filename``, registered with
    linecache; ``user_file``: the file its ``# line N:`` comments point into
    (see ``errors.user_line``)."""
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    if user_file is not None:
        register_lines(filename, source, user_file)
    exec(code, namespace)
    return namespace


# --------------------------------------------------- generated line -> user's line

_LINE_COMMENT = re.compile(r"^(\s*)# line (\d+): ")
#: generated file name -> (the file its comments name, {generated line: line there})


def register_lines(filename, source, user_file):
    """Which line of ``user_file`` each line of the generated ``source``
    comes from: the ``# line N:`` comment above it at its indentation or an
    enclosing one (the comment heads the statements that follow at its
    depth, and the blocks nested in them)."""
    lines = {}
    comments = []  # (indent, user line) of the comments in force
    for number, line in enumerate(source.splitlines(), start=1):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        match = _LINE_COMMENT.match(line)
        if match is None and line.lstrip().startswith("#"):
            continue
        while comments and comments[-1][0] > indent:
            comments.pop()  # a deeper block ended
        if match is not None:
            if comments and comments[-1][0] == indent:
                comments.pop()
            comments.append((indent, int(match.group(2))))
            continue
        if comments:
            lines[number] = comments[-1][1]
    errors.USER_LINES[filename] = (user_file, lines)


def runtime_helpers(source, rt_name):
    """Source of the runtime helpers ``source`` calls, with what they call."""
    wanted = set(re.findall(rf"\b{re.escape(rt_name)}\.(\w+)", source))
    functions = {
        name: obj for name, obj in vars(runtime).items()
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and runtime.is_helper(obj)
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
        pending.extend(n for n in re.findall(r"\b(\w+)\b", body) if n in functions)
    return [(name, inspect.getsource(functions[name])) for name in order if name in needed]


def normalized_source(normalized):
    """The normalized body as Python text, one op per line (for tests and
    debugging; the forward pass prints the same statements)."""
    lines = []
    for op in normalized.ops:
        if op.statement is not None:
            node = op.statement
        elif op.kind == "expr":
            node = gast.Expr(value=op.value)
        else:
            node = gast.Assign(targets=[store(op.targets[0])], value=op.value, type_comment=None)
        lines.append(unparse(gast.gast_to_ast(node)).strip())
    lines.append(f"return {unparse(gast.gast_to_ast(gast.Expr(value=normalized.result))).strip()}")
    return "\n".join(lines)


class ExportError(Exception):
    """The generated code refers to something that cannot be written out."""


def _literal(value):
    """Python source for a number, string, or list or tuple of them: repr,
    but infinities and NaN as expressions (repr writes ``inf``, a name the
    exported module does not have)."""
    if isinstance(value, (float, complex)) and not isinstance(value, bool):
        return _astor_number(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


#: arrays with more elements than this are written by export_module beside
#: the module as .npy files (when it is given ``arrays``) instead of as literals
LARGE_CONSTANT = 1000

#: the function an exported module loads its large constants with
_LOADER = "_load_constant"


def _global_definition(name, value, np_module, arrays=None, prefix="constants", large=LARGE_CONSTANT):
    """A line of Python that re-creates global ``name`` in an exported module.
    ``arrays``: a dict that receives ``{file name: array}`` for a numeric
    array of more than ``large`` elements, which the line then loads
    from that file beside the module (None: every array a literal)."""
    import numpy as np
    import types

    if (arrays is not None and isinstance(value, np.ndarray) and value.size > large
            and value.dtype.kind in "biufc"):
        filename = f"{prefix}_{name}.npy"
        held = arrays.get(filename)
        if held is not None and held is not value and not (
                held.shape == value.shape and held.dtype == value.dtype and np.array_equal(held, value)):
            raise ExportError(f"{name!r} means different things in the functions involved.")
        arrays[filename] = value
        return f"{name} = {_LOADER}({filename!r})"

    if isinstance(value, types.ModuleType):
        if value.__name__.split(".")[0] not in ("numpy", "math"):
            raise ExportError(
                f"the derivative code reads the module {value.__name__!r} (as {name!r}), which a "
                "module that runs with NumPy alone cannot import. Read the values you need from it "
                "into globals of your file, or pass them as arguments."
            )
        if value.__name__ == name:
            return f"import {name}"
        return f"import {value.__name__} as {name}"
    if isinstance(value, np.generic):  # before float: np.float64 is one, and divides by 0 differently
        return f"{name} = {np_module}.{type(value).__name__}({_literal(value.item())})"
    if value is None or isinstance(value, (bool, int, float, complex, str)):
        return f"{name} = {_literal(value)}"
    if isinstance(value, np.ndarray):
        return f"{name} = {np_module}.array({_literal(value.tolist())}, dtype={np_module}.{value.dtype.name})"
    if isinstance(value, tuple) and all(isinstance(v, (bool, int, float, str, type(None))) for v in value):
        return f"{name} = {_literal(value)}"
    module = getattr(value, "__module__", None) or ""
    attr = getattr(value, "__name__", None)
    if module.startswith("numpy") and attr is not None and getattr(np, attr, None) is value:
        return f"{name} = {np_module}.{attr}"
    if module == "builtins" and attr == name:
        return None
    raise ExportError(
        f"the derivative code uses the global {name!r} ({type(value).__name__}), which "
        "cannot be written into a standalone module. Pass it as an argument instead."
    )


def _is_custom_rule(value):
    from .. import rules

    try:
        if value in rules.CUSTOM_VJPS:
            return True
    except TypeError:  # unhashable
        pass
    return isinstance(value, (rules.CustomVJP, rules.Maker))


def _mentions(source, name):
    """Whether generated code (its comments aside) uses ``name``."""
    code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    return re.search(rf"\b{re.escape(name)}\b", code) is not None


def _reads(source, name):
    """Whether generated code reads the variable ``name`` (``np.linalg.norm``
    does not read a global ``norm``)."""
    code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", code) is not None


def transforms_reached(compiled):
    """``compiled`` and every transform its generated code calls, in order."""
    found, pending = [], [compiled]
    while pending:
        current = pending.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        pending.extend(current.callee_transforms)
        derivative = getattr(current, "derivative_transform", None)
        if derivative is not None:  # a derivative called inside (api/derivatives.JacobianVJP)
            pending.append(derivative())
        for value in getattr(current, "namespace", {}).values():  # (none: a vmap run once per example)
            reached = getattr(value, "compiled_transform", None)
            if reached is not None:  # a recursive call's stand-in
                pending.append(reached())
    return found


def _signature_and_call(source, name):
    """The parameter list of function ``name`` in ``source``, defaults
    included, and the arguments that pass each parameter on."""
    definition = next(node for node in ast.parse(source).body
                      if isinstance(node, ast.FunctionDef) and node.name == name)
    args = definition.args
    call = [a.arg for a in args.posonlyargs + args.args]
    if args.vararg:
        call.append("*" + args.vararg.arg)
    call.extend(f"{a.arg}={a.arg}" for a in args.kwonlyargs)
    if args.kwarg:
        call.append("**" + args.kwarg.arg)
    return ast.unparse(args), ", ".join(call)


def _generated_functions(transform):
    """The generated functions of a transform: forward and backward (reverse
    mode), or the tangent function (forward mode)."""
    return [function for function in (transform.forward, transform.backward, getattr(transform, "jvp", None))
            if function is not None]


def export_module(compiled, has_aux=False, arrays=None, prefix="constants", large=LARGE_CONSTANT,
                  define_loader=True):
    """Standalone module text for a compiled VJP (or JVP: its tangent
    function, without the Jacobian wrapper) and the transforms of the
    functions it calls: NumPy is all it imports. ``arrays``: a dict that
    receives ``{file name: array}`` for the numeric arrays of more than
    LARGE_CONSTANT elements the code reads, which the module loads with
    ``np.load`` from files of those names beside itself (``prefix`` starts
    their names; the caller writes them); None writes every array as a
    literal. ``large``: the size above which an array goes to ``arrays``;
    ``define_loader=False`` leaves ``_load_constant(filename)`` for whoever
    runs the text to define (adjoint.api.parallel gives it the arrays it ships)."""
    import numpy as np

    transforms = transforms_reached(compiled)
    if any(getattr(t, "derivative_transform", None) is not None for t in transforms):
        raise ExportError(
            "the function calls a derivative (jacrev(f)(x), grad(f)(x) inside it); its "
            "derivative runs forward mode over that derivative when called, which a standalone "
            "module cannot do. Export the derivative of a function that calls no derivative."
        )
    if any(_mentions(t.source, name) for t in transforms
           for name in ("method_forward", "function_forward", "starred_forward", "starred_jvp", "dynamic_tangent")):
        raise ExportError(
            "the derivative calls methods of objects known only at run time; they are "
            "transformed when called, which a standalone module cannot do. Call a "
            "module-level function instead."
        )
    np_module = next((n for n, v in compiled.namespace.items() if v is np), "np")
    if len({t.rt_name for t in transforms}) != 1:
        raise ExportError("the functions involved use different names for the runtime helpers.")
    helpers = runtime_helpers("\n".join(t.source for t in transforms), compiled.rt_name)
    reverse = compiled.forward is not None  # else forward mode: the tangent function alone
    func_name = getattr(compiled.func, "__name__", None) or (
        compiled.forward.__name__[: -len("_forward")] if reverse else compiled.jvp.__name__[: -len("_jvp")])
    wrt = ", ".join(compiled.wrt)
    if reverse:
        about = [
            f'"""Reverse-mode derivative of {func_name} with respect to {wrt}.',
            "",
            "Generated by adjoint; needs NumPy alone.",
            "",
            f"{compiled.forward.__name__}(...) runs the function once and returns",
            "(result, residuals). "
            f"{compiled.backward.__name__}(residuals, output_bar) takes cotangents",
            "with a leading batch axis, shape (B,) + output.shape, and returns one",
            "adjoint per differentiated argument, shape (B,) + argument.shape (None",
            f"where the output does not depend on it). {func_name}_jacobian(...) uses",
            "both to return the Jacobian of an array-valued function.",
        ]
    else:
        about = [
            f'"""Forward-mode derivative of {func_name} with respect to {wrt}.',
            "",
            "Generated by adjoint; needs NumPy alone.",
            "",
            f"{compiled.jvp.__name__}((B, *tangents), ...) runs the function and returns",
            "(result, tangent of the result): one tangent per differentiated argument,",
            "each with a leading batch axis of B.",
        ]
    lines = about + [
        '"""',
        "import contextlib",
        "import math",
        "import types",
        "",
        f"import numpy as {np_module}" if np_module != "numpy" else "import numpy",
        "",
    ]
    if np_module != "np":
        lines.append("np = " + np_module)
    else:
        lines.append("")
    for _, text in helpers:
        lines.extend(["", text.rstrip(), ""])
    if any(re.search(r"\b_IDENTITIES\b", text) for _, text in helpers):
        # (the runtime's shared identity bases, which helpers recognise to skip a product
        # with them: the exported code makes its own, so none is shared here)
        lines.extend(["", "_IDENTITIES = {}", ""])
    members = ", ".join(f"{name}={name}" for name, _ in helpers)
    lines.append(f"{compiled.rt_name} = types.SimpleNamespace({members})")
    lines.append("")

    generated = {}  # id of a generated function -> its name in the module
    sources = {id(t): t.source for t in transforms}  # with functions renamed where needed
    defined = {}
    for transform in transforms:
        for function in _generated_functions(transform):
            defined.setdefault(function.__name__, []).append(transform)
    everything = "\n".join(sources.values())
    for transform in transforms:
        for function in _generated_functions(transform):
            name = function.__name__
            if len(defined[name]) > 1:
                # One function differentiated with respect to different
                # arguments: each version gets a name of its own, and the
                # callers reach them through the aliases written below.
                source = sources[id(transform)]
                if _mentions(re.sub(rf"^def {name}\(.*$", "", source, flags=re.M), name):
                    raise ExportError(
                        f"two transforms define {name!r} (one function differentiated with "
                        "respect to different arguments) and one calls itself; export them separately."
                    )
                number = 1
                while f"{name}_v{number}" in generated.values() or _mentions(everything, f"{name}_v{number}"):
                    number += 1
                sources[id(transform)] = re.sub(rf"^def {name}\(", f"def {name}_v{number}(", source, flags=re.M)
                name = f"{name}_v{number}"
            generated[id(function)] = name
    definitions, aliases = {}, {}
    for transform in transforms:
        skip = {transform.rt_name, np_module, "np", "__builtins__"}
        for name, value in sorted(transform.namespace.items()):
            if getattr(value, "compiled_transform", None) is not None:  # a recursive call's stand-in
                value = value.resolve()
            if name in skip or generated.get(id(value)) == name:
                continue
            if id(value) in generated:
                if not _reads(sources[id(transform)], name):
                    continue  # its own (renamed) functions, or a name the code does not use
                text = f"{name} = {generated[id(value)]}"
                target_dict = aliases
            elif name in transform.resolver.free:
                if not _reads(transform.source, name):
                    continue  # resolved for the transform, not used by the generated code
                text = _global_definition(name, value, np_module, arrays, prefix, large)
                target_dict = definitions
            elif _is_custom_rule(value):
                raise ExportError(
                    f"the derivative code calls {name!r}, a rule registered with adjoint.defvjp, "
                    "which cannot be written into a standalone module."
                )
            else:  # a value fixed at transform time: a partial's argument, a bound method's object
                if not _reads(transform.source, name):
                    continue
                try:
                    text = _global_definition(name, value, np_module, arrays, prefix, large)
                except ExportError:
                    raise ExportError(
                        f"the derivative code uses {name!r}, a {type(value).__name__} fixed when the "
                        "function was transformed (a functools.partial argument or the object of a "
                        "bound method), which cannot be written into a standalone module. Call a "
                        "module-level function and pass the object as an argument."
                    ) from None
                target_dict = definitions
            if text is None:
                continue
            if target_dict.get(name, text) != text:
                raise ExportError(f"{name!r} means different things in the functions involved.")
            target_dict[name] = text
    taken = {name: "a generated function" for name in generated.values()}
    taken.update({name: "a runtime helper" for name, _ in helpers})
    taken.update({compiled.rt_name: "the runtime helpers", "math": "the math module", "types": "the types module"})
    if define_loader and any(text.startswith(f"{name} = {_LOADER}(") for name, text in definitions.items()):
        taken[_LOADER] = "the function that loads large constants"
        lines.extend([
            f"def {_LOADER}(filename):",
            '    """A large constant, saved beside this module (a .npy file)."""',
            "    import os",
            "",
            f"    return {np_module}.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), filename),",
            "                   allow_pickle=False)",
            "",
            "",
        ])
    for name in definitions:
        if name in taken:
            raise ExportError(
                f"the global {name!r} that the derivative code reads has the name of {taken[name]} in "
                "the exported module. Rename it in your code to export."
            )
    lines.extend(definitions[name] for name in sorted(definitions))
    for transform in reversed(transforms):
        lines.extend(["", "", sources[id(transform)].rstrip()])
    lines.extend(["", ""] + [aliases[name] for name in sorted(aliases)] + ["", ""])
    if not reverse:
        return "\n".join(lines)
    forward, backward = generated[id(compiled.forward)], generated[id(compiled.backward)]
    signature, call = _signature_and_call(sources[id(compiled)], forward)
    # The wrapper's own names keep clear of the function's parameters.
    local = {}
    for word in ("result", "residuals", "output", "basis", "adjoints", "arguments", "bar", "argument", "blocks"):
        name = word
        while name in compiled.params or name in local.values():
            name += "_"
        local[word] = name
    v = local
    output = f"{v['result']}[0]" if has_aux else v['result']
    lines.extend([
        f"def {func_name}_jacobian({signature}):",
        f'    """Jacobian of {func_name} with respect to {wrt}: a tuple with one',
        '    block per argument, shaped output.shape + argument.shape' + (
            ', and the aux value."""' if has_aux else '."""'),
        f"    {v['result']}, {v['residuals']} = {forward}({call})",
        f"    if not isinstance({output}, (np.ndarray, float)) or not all(",
        f"            isinstance({v['argument']}, (np.ndarray, float)) for {v['argument']} in ({', '.join(compiled.wrt)},)):",
        f"        raise TypeError('{func_name}_jacobian takes arrays and returns the Jacobian of one array; '",
        f"                        'for containers, call {forward} and {backward} directly.')",
        f"    {v['output']} = np.asarray({output})",
        f"    {v['basis']} = np.eye({v['output']}.size, dtype={v['output']}.dtype).reshape("
        f"({v['output']}.size,) + {v['output']}.shape)",
        f"    {v['adjoints']} = {backward}({v['residuals']}, {v['basis']})",
        f"    {v['arguments']} = ({', '.join(compiled.wrt)},)",
        f"    {v['blocks']} = tuple(",
        f"        np.zeros({v['output']}.shape + np.shape({v['argument']}), dtype=np.result_type({v['argument']}))",
        f"        if {v['bar']} is None",
        f"        else np.reshape({v['bar']}, {v['output']}.shape + np.shape({v['argument']}))",
        f"        for {v['bar']}, {v['argument']} in zip({v['adjoints']}, {v['arguments']})",
        "    )",
        f"    return ({v['blocks']}, {v['result']}[1])" if has_aux else f"    return {v['blocks']}",
        "",
    ])
    return "\n".join(lines)
