"""Generated gast tree -> source text, read directly (no ``ast`` conversion).

``source(module)`` returns the text that ``compile.unparse(gast_to_ast(module))``
writes for the trees the transforms generate, character for character, on
every Python the library supports: the same parentheses (astor's precedence
rules: a child is put in parentheses when its operator binds less tightly
than its place asks), numbers as astor writes them (infinities as 1e1000,
NaN as ``(1e1000-1e1000)``, complex with a real part in parentheses),
negative number constants as the unary minus ``compile._signed`` turns them
into, strings as ``repr``, tuples bare where their place allows, one
statement per line, a def set off by two blank lines at the top level and by
one inside a block.

It is a speed-up, not a second opinion: for any node type, field or form it
does not know to print the same on both of today's printers (astor, and
``ast.unparse`` through ``compile._AstorStyle`` where astor does not work),
it raises ``Unsupported`` and the caller prints the module the old way. That
covers what the transforms never generate (classes, async, f-strings,
yield, annotations of returns, type comments) and the forms the two old
printers write differently (a bare ``lambda: x``, ``f(x for x in y)``, a
statement after a def at the top level, ``a or b and c``, strings with a
newline or both quotes, an operator or number in a place astor leaves
without a precedence: a ``for`` iterable, a dict key, a comprehension's
element, a starred value, a ``with`` item).
``ADJOINT_CHECK_PRINTER=1`` makes ``compile.to_source`` print every module
both ways and raise where they differ (``=both``: compared with astor and
with ``ast.unparse``).
"""
import math

import gast


class Unsupported(Exception):
    """A node or form this printer leaves to the old path."""


# Precedences, in astor's order (a child is parenthesised when its own
# precedence is lower than the one its place asks for).
_ASSIGN, _EXPR, _TEST, _RETURN, _SLICE = 3, 5, 9, 11, 13
_TUPLE, _COMMA, _ASSERT, _ONE_ARG, _LAMBDA, _COMPREHENSION = 19, 21, 23, 25, 27, 29
_NOT, _CMP, _POW_RHS, _UNARY, _POW, _NUMBER = 35, 37, 51, 53, 55, 61
_ATOM = 63  # a place astor gives no precedence: the value of an attribute, a call's function, ...
_ODD = 64  # ... where ast.unparse would write an operator without parentheses: not printed here

_BINARY = {
    gast.BitOr: ("|", 39), gast.BitXor: ("^", 41), gast.BitAnd: ("&", 43),
    gast.LShift: ("<<", 45), gast.RShift: (">>", 45), gast.Add: ("+", 47), gast.Sub: ("-", 47),
    gast.Mult: ("*", 49), gast.Div: ("/", 49), gast.Mod: ("%", 49), gast.FloorDiv: ("//", 49),
    gast.MatMult: ("@", 49), gast.Pow: ("**", _POW),
}
_UNARY_OPS = {gast.Not: ("not ", _NOT), gast.Invert: ("~", _UNARY), gast.UAdd: ("+", _UNARY),
              gast.USub: ("-", _UNARY)}
_BOOL = {gast.And: (" and ", 33), gast.Or: (" or ", 31)}
_COMPARE = {gast.Eq: " == ", gast.NotEq: " != ", gast.Lt: " < ", gast.LtE: " <= ", gast.Gt: " > ",
            gast.GtE: " >= ", gast.Is: " is ", gast.IsNot: " is not ", gast.In: " in ", gast.NotIn: " not in "}
_NUMBERS = (int, float, complex)


def astor_number(value):
    """A float or complex as astor writes it: infinities as 1e1000, NaN as
    (1e1000-1e1000), 1.0j for 1j, a complex with a real part in parentheses."""
    def part(x, suffix=""):
        if math.isinf(x):
            return ("-1e1000" if x < 0 else "1e1000") + suffix
        if math.isnan(x):
            return f"(1e1000{suffix}-1e1000{suffix})"
        return repr(x) + suffix

    if not isinstance(value, complex):
        return part(value)
    imag = part(value.imag, "j")
    if value.real == 0:
        return imag
    if value.imag == 0:
        return f"({part(value.real)}+0j)"
    return f"({part(value.real)}{'' if imag.startswith('-') else '+'}{imag})"


def negative(value):
    """Whether a number constant is written with a leading minus sign."""
    if isinstance(value, bool) or not isinstance(value, (int, float, complex)):
        return False
    if isinstance(value, complex):
        # written as a bare imaginary part only when the real part is zero
        return value.real == 0 and not math.isnan(value.imag) and math.copysign(1.0, value.imag) < 0
    return not math.isnan(value) and math.copysign(1.0, value) < 0


def _wrap(text, own, place):
    if own >= place:
        return text
    if place == _ODD:
        raise Unsupported("an operator where the printers disagree on parentheses")
    return f"({text})"


# ------------------------------------------------------------------ expressions

def _name(node, place):
    return node.id


def _constant(node, place):
    value = node.value
    kind = type(value)
    if kind in _NUMBERS or kind is bool:
        if kind is not bool and negative(value):
            return _wrap("-" + _number(-value, _UNARY), _UNARY, place)
        return _number(value, place)
    if kind is str:
        if not value.isprintable() or ("'" in value and '"' in value):
            raise Unsupported("a string the printers may quote differently")
        return (getattr(node, "kind", None) or "") + repr(value)
    if value is None or kind is bytes:
        return repr(value)
    if value is Ellipsis:
        return "..."
    if kind is tuple and _plain(value):
        return repr(value)  # (a folded shape, say)
    raise Unsupported(f"a constant of type {kind.__name__}")


def _plain(value):
    """Whether a tuple constant holds only values whose repr both printers
    write (no infinity or NaN, which repr writes as names)."""
    for item in value:
        kind = type(item)
        if kind is float:
            if not math.isfinite(item):
                return False
        elif kind is tuple:
            if not _plain(item):
                return False
        elif not (kind in (int, bool, str, bytes) or item is None):
            return False
    return True


def _number(value, place):
    text = repr(value) if type(value) in (int, bool) else astor_number(value)
    if place > _NUMBER:
        if place != _ATOM:
            raise Unsupported("a number where the printers disagree on parentheses")
        return f"({text})"
    return text


def _attribute(node, place):
    return _expr(node.value, _ATOM) + "." + node.attr


def _subscript(node, place):
    value = node.value
    if type(value) is gast.Constant:
        raise Unsupported("a subscripted constant")
    return f"{_expr(value, _ATOM)}[{_expr(node.slice, _SLICE)}]"


def _slice(node, place):
    lower, upper, step = node.lower, node.upper, node.step
    text = ("" if lower is None else _expr(lower, _SLICE)) + ":"
    if upper is not None:
        text += _expr(upper, _SLICE)
    if step is not None:
        text += ":"
        if not (type(step) is gast.Name and step.id == "None"):
            text += _expr(step, _SLICE)
    return text


def _call(node, place):
    func, args, keywords = node.func, node.args, node.keywords
    if type(func) is gast.Constant:
        raise Unsupported("a called constant")
    inner = _COMMA if len(args) + len(keywords) > 1 else _ONE_ARG
    parts = [_expr(arg, inner) for arg in args]
    for keyword in keywords:
        value = _expr(keyword.value, _COMMA)
        parts.append(f"{keyword.arg}={value}" if keyword.arg else "**" + value)
    return f"{_expr(func, _ATOM)}({', '.join(parts)})"


def _starred(node, place):
    return "*" + _expr(node.value, _ODD)


def _binop(node, place):
    symbol, own = _BINARY[type(node.op)]
    if own == _POW:
        text = f"{_expr(node.left, _POW + 1)} ** {_expr(node.right, _POW_RHS)}"
    else:
        text = f"{_expr(node.left, own)} {symbol} {_expr(node.right, own + 1)}"
    return _wrap(text, own, place)


def _unaryop(node, place):
    symbol, own = _UNARY_OPS[type(node.op)]
    return _wrap(symbol + _expr(node.operand, own), own, place)


#: ast.unparse's precedence levels from ``or`` up, on this module's scale
_LEVELS = [31, 33, _NOT, _CMP, 39, 41, 43, 45, 47, 49, _UNARY, _POW, 57]


def _boolop(node, place):
    symbol, own = _BOOL[type(node.op)]
    values = node.values
    # ast.unparse asks each value of a BoolOp for one level more than the
    # one before it (``a or (b and c)``; astor: ``a or b and c``).
    start = _LEVELS.index(own) + 1
    for index in range(1, len(values)):
        value_own = _own(values[index])
        if value_own is not None and (value_own < own + 1) != (
                start + index >= len(_LEVELS) or value_own < _LEVELS[start + index]):
            raise Unsupported("a value of and/or that ast.unparse puts in parentheses")
    return _wrap(symbol.join([_expr(value, own + 1) for value in values]), own, place)


def _own(node):
    """The precedence of an operator node (None: an atom)."""
    kind = type(node)
    if kind is gast.BinOp:
        return _BINARY[type(node.op)][1]
    if kind is gast.UnaryOp:
        return _UNARY_OPS[type(node.op)][1]
    if kind is gast.BoolOp:
        return _BOOL[type(node.op)][1]
    if kind is gast.Compare:
        return _CMP
    if kind in (gast.IfExp, gast.Lambda):
        return _LAMBDA
    if kind is gast.Tuple:
        return _TUPLE
    if kind is gast.Constant and negative(node.value):
        return _UNARY
    return None


def _compare(node, place):
    parts = [_expr(node.left, _CMP + 1)]
    for op, right in zip(node.ops, node.comparators):
        parts.append(_COMPARE[type(op)])
        parts.append(_expr(right, _CMP + 1))
    return _wrap("".join(parts), _CMP, place)


def _ifexp(node, place):
    text = (f"{_expr(node.body, _LAMBDA + 1)} if {_expr(node.test, _LAMBDA + 1)} "
            f"else {_expr(node.orelse, _LAMBDA)}")
    return _wrap(text, _LAMBDA, place)


def _lambda(node, place):
    args = _arguments(node.args)
    if not args:
        raise Unsupported("a lambda without parameters (astor writes 'lambda :')")
    return _wrap(f"lambda {args}: {_expr(node.body, _LAMBDA)}", _LAMBDA, place)


def _tuple(node, place):
    elts = node.elts
    text = ", ".join([_expr(elt, _COMMA) for elt in elts])
    if len(elts) == 1:
        text += ","
    if not elts or _TUPLE < place:
        return f"({text})"
    return text


def _list(node, place):
    return "[" + ", ".join([_expr(elt, _COMMA) for elt in node.elts]) + "]"


def _set(node, place):
    if not node.elts:
        raise Unsupported("an empty set")
    return "{" + ", ".join([_expr(elt, _COMMA) for elt in node.elts]) + "}"


def _dict(node, place):
    parts = []
    for key, value in zip(node.keys, node.values):
        value = _expr(value, _COMMA)
        parts.append("**" + value if key is None else f"{_expr(key, _ODD)}: {value}")
    return "{" + ", ".join(parts) + "}"


def _generators(generators):
    parts = []
    for generator in generators:
        if generator.is_async:
            raise Unsupported("an async comprehension")
        parts.append(f" for {_expr(generator.target, _TUPLE)} in {_expr(generator.iter, _COMPREHENSION)}")
        parts.extend([" if " + _expr(test, _COMPREHENSION) for test in generator.ifs])
    return "".join(parts)


def _listcomp(node, place):
    return f"[{_expr(node.elt, _ODD)}{_generators(node.generators)}]"


def _setcomp(node, place):
    return f"{{{_expr(node.elt, _ODD)}{_generators(node.generators)}}}"


def _dictcomp(node, place):
    return f"{{{_expr(node.key, _ODD)}: {_expr(node.value, _ODD)}{_generators(node.generators)}}}"


def _generatorexp(node, place):
    if place == _ONE_ARG:
        raise Unsupported("a generator expression as the only argument")
    return f"({_expr(node.elt, _COMMA)}{_generators(node.generators)})"


_EXPRESSIONS = {
    gast.Name: _name, gast.Constant: _constant, gast.Attribute: _attribute, gast.Subscript: _subscript,
    gast.Slice: _slice, gast.Call: _call, gast.Starred: _starred, gast.BinOp: _binop,
    gast.UnaryOp: _unaryop, gast.BoolOp: _boolop, gast.Compare: _compare, gast.IfExp: _ifexp,
    gast.Lambda: _lambda, gast.Tuple: _tuple, gast.List: _list, gast.Set: _set, gast.Dict: _dict,
    gast.ListComp: _listcomp, gast.SetComp: _setcomp, gast.DictComp: _dictcomp,
    gast.GeneratorExp: _generatorexp,
}


def _expr(node, place):
    try:
        printer = _EXPRESSIONS[type(node)]
    except KeyError:
        raise Unsupported(f"a {type(node).__name__} expression") from None
    return printer(node, place)


def _parameter(name):
    if name.annotation is not None:
        return f"{name.id}: {_expr(name.annotation, _ODD)}"
    return name.id


def _arguments(args):
    """A parameter list as astor (with compile._SourceGenerator's fix of
    positional-only parameters) writes it."""
    posonly = args.posonlyargs or []
    positional = posonly + args.args
    defaults = args.defaults
    first_default = len(positional) - len(defaults)
    parts = []
    for index, name in enumerate(positional):
        text = _parameter(name)
        if index >= first_default:
            text += "=" + _expr(defaults[index - first_default], _COMMA)
        parts.append(text)
        if index == len(posonly) - 1:
            parts.append("/")
    if args.vararg is not None:
        parts.append("*" + _parameter(args.vararg))
    if args.kwonlyargs:
        if args.vararg is None:
            parts.append("*")
        for name, default in zip(args.kwonlyargs, args.kw_defaults):
            text = _parameter(name)
            parts.append(text if default is None else text + "=" + _expr(default, _COMMA))
    if args.kwarg is not None:
        parts.append("**" + _parameter(args.kwarg))
    return ", ".join(parts)


def _leftmost_string(node):
    """Whether the text of an expression statement may start with a string
    (astor writes a string at the start of a line in triple quotes)."""
    while True:
        kind = type(node)
        if kind is gast.Constant:
            return isinstance(node.value, str)
        if kind is gast.JoinedStr:
            return True
        if kind is gast.BinOp:
            node = node.left
        elif kind in (gast.Attribute, gast.Subscript):
            node = node.value
        elif kind is gast.Call:
            node = node.func
        elif kind is gast.Compare:
            node = node.left
        elif kind is gast.BoolOp:
            node = node.values[0]
        elif kind is gast.IfExp:
            node = node.body
        elif kind is gast.Tuple and node.elts:
            node = node.elts[0]
        else:
            return False


# ------------------------------------------------------------------ statements

class _Writer:
    """Statements, one per line, with astor's blank lines: a pending count of
    line breaks that the next line writes out, raised to three before and
    after a def at the top level and to two before a def inside a block."""

    def __init__(self):
        self.parts = []
        self.pending = 0
        self.depth = 0

    def line(self, text):
        self.parts.append("\n" * max(self.pending, 1) + "    " * self.depth + text)
        self.pending = 0

    def block(self, statements):
        self.depth += 1
        for statement in statements:
            self.statement(statement)
        self.depth -= 1

    def statement(self, node):
        try:
            method = _STATEMENTS[type(node)]
        except KeyError:
            raise Unsupported(f"a {type(node).__name__} statement") from None
        method(self, node)

    # --- simple statements

    def assign(self, node):
        if node.type_comment is not None:
            raise Unsupported("a type comment")
        targets = "".join([_expr(target, _ASSIGN) + " = " for target in node.targets])
        self.line(targets + _expr(node.value, _ASSIGN))

    def augassign(self, node):
        symbol = _BINARY[type(node.op)][0]
        self.line(f"{_expr(node.target, _EXPR)} {symbol}= {_expr(node.value, _EXPR)}")

    def expr(self, node):
        if _leftmost_string(node.value):
            raise Unsupported("a statement that starts with a string")
        self.line(_expr(node.value, _EXPR))

    def return_(self, node):
        self.line("return" if node.value is None else "return " + _expr(node.value, _RETURN))

    def pass_(self, node):
        self.line("pass")

    def break_(self, node):
        self.line("break")

    def continue_(self, node):
        self.line("continue")

    def delete(self, node):
        self.line("del " + ", ".join([_expr(target, _COMMA) for target in node.targets]))

    def global_(self, node):
        self.line("global " + ", ".join(node.names))

    def nonlocal_(self, node):
        self.line("nonlocal " + ", ".join(node.names))

    def assert_(self, node):
        text = "assert " + _expr(node.test, _ASSERT)
        if node.msg is not None:
            text += ", " + _expr(node.msg, _ASSERT)
        self.line(text)

    def raise_(self, node):
        text = "raise"
        if node.exc is not None:
            text += " " + _expr(node.exc, _ODD)
            if node.cause is not None:
                text += " from " + _expr(node.cause, _ODD)
        self.line(text)

    def import_(self, node):
        self.line("import " + _aliases(node.names))

    def importfrom(self, node):
        if node.level is None:
            raise Unsupported("an import without a level")
        self.line(f"from {'.' * node.level}{node.module or ''} import {_aliases(node.names)}")

    # --- compound statements

    def if_(self, node):
        self.line(f"if {_expr(node.test, _TEST)}:")
        self.block(node.body)
        orelse = node.orelse
        while len(orelse) == 1 and type(orelse[0]) is gast.If:
            node = orelse[0]
            self.line(f"elif {_expr(node.test, _TEST)}:")
            self.block(node.body)
            orelse = node.orelse
        self.else_(orelse)

    def else_(self, orelse):
        if orelse:
            self.line("else:")
            self.block(orelse)

    def for_(self, node):
        if node.type_comment is not None:
            raise Unsupported("a type comment")
        self.line(f"for {_expr(node.target, _TEST)} in {_expr(node.iter, _ODD)}:")
        self.block(node.body)
        self.else_(node.orelse)

    def while_(self, node):
        self.line(f"while {_expr(node.test, _TEST)}:")
        self.block(node.body)
        self.else_(node.orelse)

    def with_(self, node):
        if node.type_comment is not None:
            raise Unsupported("a type comment")
        items = []
        for item in node.items:
            text = _expr(item.context_expr, _ODD)
            if item.optional_vars is not None:
                text += " as " + _expr(item.optional_vars, _ODD)
            items.append(text)
        self.line(f"with {', '.join(items)}:")
        self.block(node.body)

    def try_(self, node):
        self.line("try:")
        self.block(node.body)
        for handler in node.handlers:
            text = "except"
            if handler.type is not None:
                text += " " + _expr(handler.type, _ODD)
                if handler.name is not None:
                    text += " as " + handler.name.id
            self.line(text + ":")
            self.block(handler.body)
        self.else_(node.orelse)
        if node.finalbody:
            self.line("finally:")
            self.block(node.finalbody)

    def functiondef(self, node):
        if node.returns is not None or node.type_comment is not None or getattr(node, "type_params", None):
            raise Unsupported("a def with a return annotation, type comment or type parameters")
        self.pending = max(self.pending, 2 if self.depth else 3)
        for decorator in node.decorator_list:
            self.line("@" + _expr(decorator, _ODD))
        self.line(f"def {node.name}({_arguments(node.args)}):")
        self.block(node.body)
        if not self.depth:
            self.pending = max(self.pending, 3)


def _aliases(names):
    return ", ".join([name.name if name.asname is None else f"{name.name} as {name.asname}" for name in names])


_STATEMENTS = {
    gast.Assign: _Writer.assign, gast.AugAssign: _Writer.augassign, gast.Expr: _Writer.expr,
    gast.Return: _Writer.return_, gast.Pass: _Writer.pass_, gast.Break: _Writer.break_,
    gast.Continue: _Writer.continue_, gast.Delete: _Writer.delete, gast.Global: _Writer.global_,
    gast.Nonlocal: _Writer.nonlocal_, gast.Assert: _Writer.assert_, gast.Raise: _Writer.raise_,
    gast.Import: _Writer.import_, gast.ImportFrom: _Writer.importfrom, gast.If: _Writer.if_,
    gast.For: _Writer.for_, gast.While: _Writer.while_, gast.With: _Writer.with_, gast.Try: _Writer.try_,
    gast.FunctionDef: _Writer.functiondef,
}


def source(module):
    """The source text of a gast Module (or a single statement), as
    ``compile.unparse(gast_to_ast(module))`` writes it; raises Unsupported
    where it cannot promise that."""
    writer = _Writer()
    if type(module) is gast.Module:
        after_def = False
        for statement in module.body:
            is_def = type(statement) is gast.FunctionDef
            if after_def and not is_def:
                raise Unsupported("a statement after a def at the top level")
            after_def = is_def
            writer.statement(statement)
    else:
        writer.statement(module)
    text = "".join(writer.parts).lstrip("\n")
    return text + "\n" if text else ""
