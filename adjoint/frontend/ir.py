"""The intermediate form that ``normalize`` produces and later passes read:
``Op`` (one primitive application, or a branch or loop holding ops), the
markers for values without derivative, the tables that map syntax to
primitives, and ``render`` (the ops as text, for tests and debugging)."""
import inspect
import operator
import sys
import types

import gast
import numpy as np

from .. import runtime as rt
from .gastutil import loaded_names

NONDIFF = "nondifferentiable"
#: marks ``a, b = value``; its adjoint is built by the transformer.
UNPACK = "unpack"
#: marks expressions kept whole in the forward pass (comprehensions, and/or).
OPAQUE = "opaque"
#: the construct of an OPAQUE call with *args of a length not known when transformed

BINARY_OPERATORS = {
    gast.Add: np.add, gast.Sub: np.subtract, gast.Mult: np.multiply,
    gast.Div: np.divide, gast.Pow: np.power, gast.MatMult: np.matmul,
    gast.Mod: np.mod, gast.FloorDiv: np.floor_divide,
    gast.BitAnd: np.bitwise_and, gast.BitOr: np.bitwise_or, gast.BitXor: np.bitwise_xor,
}
UNARY_OPERATORS = {
    gast.USub: np.negative, gast.UAdd: np.positive, gast.Not: operator.not_,
    gast.Invert: np.invert,
}
COMPARISONS = {
    gast.Lt: np.less, gast.LtE: np.less_equal, gast.Gt: np.greater,
    gast.GtE: np.greater_equal, gast.Eq: np.equal, gast.NotEq: np.not_equal,
}
#: array methods -> the NumPy function with the same meaning (array first).
ARRAY_METHODS = {
    "sum": np.sum, "mean": np.mean, "prod": np.prod, "max": np.max, "min": np.min,
    "reshape": np.reshape, "ravel": np.ravel, "flatten": np.ravel,
    "transpose": np.transpose, "swapaxes": np.swapaxes, "squeeze": np.squeeze,
    "dot": np.dot, "clip": np.clip, "copy": rt.copy,
    "argmax": np.argmax, "argmin": np.argmin, "argsort": np.argsort,
    "any": np.any, "all": np.all, "var": np.var, "std": np.std, "cumsum": np.cumsum,
    "cumprod": np.cumprod, "trace": np.trace, "diagonal": np.diagonal, "repeat": np.repeat, "take": np.take,
    "round": np.round, "astype": rt.astype, "conj": np.conjugate, "conjugate": np.conjugate,
    "item": rt.item,
}
#: methods whose positional arguments after the first form one tuple.
VARARG_METHODS = {"reshape", "transpose"}
NONDIFF_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes"}


#: functions whose result is a new array or list nobody else holds.
OWNED_RESULTS = {
    np.zeros, np.ones, np.empty, np.full, np.zeros_like, np.ones_like, np.empty_like, np.eye,
    np.identity, np.arange, np.linspace, np.copy, np.array, rt.setitem, rt.append, rt.make_list,
    rt.make_dict, rt.replace_item, rt.copy, rt.add_at, rt.concat_items, rt.repeat_items, list, dict,
    rt.array_to_list,
}
#: functions (besides ufuncs) whose result is always a new array, never a
#: view of an argument. Anything else may share memory with its arguments
#: (np.flip, np.einsum, np.diag, ... can return views), so an in-place update
#: of either is refused.
FRESH_RESULTS = {
    np.sum, np.mean, np.prod, np.max, np.amax, np.min, np.amin, np.var, np.std, np.cumsum,
    np.cumprod, np.trace, np.linalg.norm, np.dot, np.matmul, np.outer, np.tensordot, np.kron,
    np.linalg.inv, np.linalg.solve, np.linalg.det, np.concatenate, np.stack, np.hstack, np.vstack,
    np.where, np.clip, np.tile, np.repeat, np.take, np.sort, np.pad, np.roll, np.copy, np.array,
    float, abs,
}


def fresh_result(prim, kwargs=None):
    """Whether ``prim`` called with ``kwargs`` (atoms) returns a new value.
    ``np.array(x, copy=False)`` (or ``copy=None``, or a copy flag known only
    when the code runs) returns ``x`` itself when NumPy need not copy, as
    ``np.asarray(x)`` does; ``np.asarray(x, copy=True)`` copies."""
    if prim is np.array or prim is np.asarray:
        copy = (kwargs or {}).get("copy")
        if copy is not None or prim is np.asarray:
            return isinstance(copy, gast.Constant) and copy.value is True
    try:
        return isinstance(prim, np.ufunc) or prim in FRESH_RESULTS or prim in OWNED_RESULTS
    except TypeError:  # unhashable
        return False


class Op:
    """One step of the normalized function.

    kind: "assign" (``targets[0] = value``), "unpack" (``t1, t2 = value``),
    "expr" (a call run for its effect), "stmt" (a statement kept as is),
    "break", or a compound op: "if" (``value`` is the test atom, ops in
    ``body`` and ``orelse``; ``guard`` set for a try statement), "with"
    (ops in ``body``; ``args`` the context managers, ``targets`` the names
    bound by ``as``, ``statement`` the With to wrap the body in), "for" (``targets[0]`` the loop variable,
    ``value`` the iterable) and "while" (``value`` the test name). A loop's
    ``body`` holds the user's statements; its ``latch`` the copies that carry
    values to the next iteration (and, for ``while``, the test computed
    again); its ``exit_check`` the final ``if broke: break``, if any.
    ``carried`` names the loop-carried names (the phi names of SSA);
    ``loop_target`` is the user's own target of a loop run over an iterator.
    """

    __slots__ = ("kind", "targets", "value", "prim", "args", "kwargs", "lineno",
                 "no_grad", "construct", "keys", "statement", "body", "orelse",
                 "latch", "exit_check", "carried", "tape", "tape_values", "call_forward", "loop_target",
                 "guard", "cast", "attribute_sources")

    def __init__(self, kind, targets, value, prim, args=(), kwargs=None, lineno=None,
                 no_grad=False, construct="", keys=None, statement=None):
        self.kind = kind
        self.targets = list(targets)
        self.value = value
        self.prim = prim
        self.args = list(args)
        self.kwargs = dict(kwargs or {})
        self.lineno = lineno
        self.no_grad = no_grad
        self.construct = construct
        self.keys = keys
        self.statement = statement
        self.body = []
        self.orelse = []
        self.latch = []
        self.exit_check = []
        self.carried = []
        self.tape = None
        self.tape_values = []
        self.call_forward = None
        self.loop_target = None  # a loop over an iterator: its own target (names, tuples)
        self.guard = None  # an "if" made from try/except: see Guard
        # the dtype= argument of a primitive when it is known only when the code runs: its
        # derivative is then cast (nothing through integers or booleans, see normalize.cast_to)
        self.cast = None
        # obj.name of an object followed attribute by attribute: the values stored under
        # that name (normalize_objects), the only ones the read varies with (activity)
        self.attribute_sources = None

    @property
    def compound(self):
        return self.kind in ("if", "for", "while", "with")

    def reads(self):
        if self.kind == "break":
            return set()
        node = self.statement if self.statement is not None else self.value
        return loaded_names(node)


class Guard:
    """An "if" op that stands for one statement of a try block: the forward
    pass runs its body's first ``count`` ops (the statement) in ``try:``, sets
    the test name when they finish, and otherwise runs the handler the
    exception matches: ``handlers`` is one ``(type atom or None, flag name or
    None, name bound by ``as`` or None)`` per except clause; the flag of each
    but the last is set when it is the one taken (``orelse`` tests them in
    order). ``compound``: the statement is a block (if, loop, with), whose
    assignments before the exception the derivative cannot tell apart, so an
    exception caught there is an error at run time."""

    def __init__(self, count, handlers, compound, location):
        self.count = count
        self.handlers = handlers
        self.compound = compound
        self.location = location


def try_statements(op, guarded, rest, orelse, rt_name):
    """The forward statements of an "if" op with a ``guard``: ``try:`` around
    ``guarded`` (the statement's code), then ``if test: rest else: orelse``."""
    test = op.value.id
    guard = op.guard
    clauses = []
    for position, (kind, flag, bound) in enumerate(guard.handlers):
        caught = f"{test}_exception_{position}"
        if guard.compound:
            body = [gast.Raise(exc=gast.Call(
                func=gast.Attribute(value=gast.Name(id=rt_name, ctx=gast.Load(), annotation=None, type_comment=None),
                                    attr="exception_in_block", ctx=gast.Load()),
                args=[gast.Constant(value=guard.location, kind=None),
                      gast.Name(id=caught, ctx=gast.Load(), annotation=None, type_comment=None)], keywords=[]),
                cause=None)]
        else:
            body = []
            if flag is not None:
                body.append(gast.Assign(targets=[gast.Name(id=flag, ctx=gast.Store(), annotation=None,
                                                           type_comment=None)],
                                        value=gast.Constant(value=True, kind=None), type_comment=None))
            if bound is not None:
                body.append(gast.Assign(targets=[gast.Name(id=bound, ctx=gast.Store(), annotation=None,
                                                           type_comment=None)],
                                        value=gast.Name(id=caught, ctx=gast.Load(), annotation=None,
                                                        type_comment=None), type_comment=None))
            body = body or [gast.Pass()]
        clauses.append(gast.ExceptHandler(type=kind, name=gast.Name(id=caught, ctx=gast.Store(), annotation=None,
                                                                    type_comment=None), body=body))
    done = gast.Assign(targets=[gast.Name(id=test, ctx=gast.Store(), annotation=None, type_comment=None)],
                       value=gast.Constant(value=True, kind=None), type_comment=None)
    attempt = gast.Try(body=list(guarded) + [done], handlers=clauses, orelse=[], finalbody=[])
    return [attempt, gast.If(test=op.value, body=list(rest) or [gast.Pass()], orelse=list(orelse))]


def with_statement(op, body):
    """The forward statement of a "with" op around ``body``."""
    statement = op.statement
    items = [gast.withitem(context_expr=item.context_expr, optional_vars=item.optional_vars)
             for item in statement.items]
    return gast.With(items=items, body=list(body) or [gast.Pass()], type_comment=None)


def kept_constant(op, statements, rt_name):
    """``statements`` (what generated code runs for ``op``) inside ``with
    rt.no_grad():`` when ``op`` was computed in a ``no_grad`` block: the next
    transform of the generated code (a Hessian, ``jacrev(vmap(f))``) reads
    its values as constants too, as the first one did."""
    if not op.no_grad or op.compound or op.prim is NONDIFF or op.kind == "break" or not statements:
        return statements
    context = gast.Call(func=gast.Attribute(value=gast.Name(id=rt_name, ctx=gast.Load(), annotation=None,
                                                            type_comment=None),
                                            attr="no_grad", ctx=gast.Load()), args=[], keywords=[])
    block = gast.With(items=[gast.withitem(context_expr=context, optional_vars=None)], body=list(statements),
                      type_comment=None)
    block.no_grad_block = True
    return [block]


def merged_constant_blocks(statements):
    """``statements`` with adjacent ``with rt.no_grad():`` blocks of
    ``kept_constant`` written as one."""
    merged = []
    for statement in statements:
        if getattr(statement, "no_grad_block", False) and merged and getattr(merged[-1], "no_grad_block", False):
            merged[-1].body.extend(statement.body)
        else:
            merged.append(statement)
    return merged


def walk_ops(ops):
    """Every op, nested ones included, in program order."""
    for op in ops:
        yield op
        if op.compound:
            yield from walk_ops(op.body)
            yield from walk_ops(op.orelse)
            yield from walk_ops(op.latch)
            yield from walk_ops(op.exit_check)


def assigned_names(stmts):
    """User names assigned anywhere in ``stmts`` (same function)."""
    names = set()
    stack = list(stmts)
    while stack:
        node = stack.pop()
        if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef)):
            continue
        if isinstance(node, gast.comprehension):  # its variables are its own
            stack.extend([node.iter] + node.ifs)
            continue
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            names.add(node.id)
        # In-place updates give the updated name a new version too
        # (``items[k][i] = v`` updates ``items``).
        if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store):
            base = node.value
            while isinstance(base, gast.Subscript):
                base = base.value
            if isinstance(base, gast.Name):
                names.add(base.id)
        if (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and node.func.attr == "append" and isinstance(node.func.value, gast.Name)):
            names.add(node.func.value.id)
        # ``np.add.at(y, i, v)`` and ``np.fill_diagonal(y, v)`` give y a new version too
        # (normalize_inplace), which a loop must carry to its next iteration
        if (isinstance(node, gast.Call) and node.args and isinstance(node.args[0], gast.Name) and (
                getattr(node.func, "attr", None) in ("at", "fill_diagonal")
                or getattr(node.func, "id", None) == "fill_diagonal")):
            names.add(node.args[0].id)
        stack.extend(gast.iter_child_nodes(node))
    return names


class Normalized:
    """The result of ``normalize``: the ops and what the function returns."""

    def __init__(self, name, params, ops, output, result):
        self.name = name
        self.params = params
        self.ops = ops
        self.output = output  # the atom that is differentiated
        self.result = result  # the expression the forward pass returns
        self.augmented_params = {}  # parameter -> location of ``param += v`` on it
        self.immutable = set()  # names certain to hold numbers or flags
        self.prologue = []  # statements run first: *args and **kwargs taken apart
        self.module_names = {}  # "np", "rt" -> the names the normalized code reads them by


def is_atom(node):
    if isinstance(node, (gast.Name, gast.Constant)):
        return True
    if isinstance(node, gast.Attribute):
        return is_atom(node.value) and isinstance(node.value, (gast.Name, gast.Attribute))
    return False


def lambda_as_def(node):
    body = gast.copy_location(gast.Return(value=node.body), node.body)
    function = gast.FunctionDef(name="lambda", args=node.args, body=[body], decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
    return gast.copy_location(function, node)


class UserCall:
    """The primitive of a call to the user's own Python function: it is
    differentiated by transforming that function in turn. ``leading`` are the
    atoms passed before the call's own arguments (a bound method's object, a
    functools.partial's arguments, bound in the namespace as ``bound``)."""

    def __init__(self, function, leading, bound, keywords=None):
        self.function = function
        self.leading = leading
        self.bound = bound
        self.keywords = keywords or {}
        self.name = function.__name__ if function.__name__ != "<lambda>" else "lambda"
        #: for a function with *args or **kwargs: (number of positional
        #: arguments, keyword names) of this call, its transform's specialization
        self.arity = None

    def differentiated(self, args, kwargs, carries):
        """``(position, parameter, atom)`` for each argument of this call that
        ``carries(atom)`` selects, in parameter order. Positions count the
        parameters of ``specialized_parameters`` (for a function without *args
        and **kwargs: the positional parameters, then the keyword-only ones).
        TypeError if the call does not match the parameters."""
        names = specialized_parameters(self.function, len(args), tuple(kwargs))
        bound = inspect.signature(self.function, follow_wrapped=False).bind(*args, **kwargs)
        code = self.function.__code__
        star = code.co_varnames[code.co_argcount + code.co_kwonlyargcount] if code.co_flags & inspect.CO_VARARGS \
            else None
        found = []
        for name, value in bound.arguments.items():
            if name == star:
                items = [(f"{name}[{i}]", atom) for i, atom in enumerate(value)]
            elif isinstance(value, dict):  # **kwargs
                items = [(f"{name}[{key!r}]", atom) for key, atom in value.items()]
            else:
                items = [(name, value)]
            for label, atom in items:
                if isinstance(atom, gast.AST) and carries(atom):
                    found.append((names.index(label), label, atom))
        return sorted(found, key=lambda item: item[0])


def is_variadic(function):
    """Whether a Python function has ``*args`` or ``**kwargs`` parameters."""
    code = getattr(function, "__code__", None)
    return code is not None and bool(code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))


def known_defaults(function):
    """``{parameter: default}`` of ``function``'s parameters whose default is
    a function or a module (``def f(x, act=np.tanh)``, ``def f(x, xp=np)``):
    a call that leaves one out calls that function (or the module's), known
    before the code runs."""
    code = getattr(function, "__code__", None)
    if code is None:
        return {}
    found = {}
    defaults = getattr(function, "__defaults__", None) or ()
    positional = code.co_varnames[:code.co_argcount]
    for name, value in zip(positional[len(positional) - len(defaults):], defaults, strict=True):
        if _known_default(value):
            found[name] = value
    for name, value in (getattr(function, "__kwdefaults__", None) or {}).items():
        if _known_default(value):
            found[name] = value
    return found


def _known_default(value):
    return isinstance(value, types.ModuleType) or (callable(value) and not isinstance(value, type))


def arity_of(function, nargs, keywords):
    """The specialization of ``function``'s transform for a call with
    ``nargs`` positional arguments and ``keywords``: None for a function
    without ``*args`` / ``**kwargs`` or defaults that are functions or modules (one
    transform serves every call). A function default left out by the call
    is the function it calls there (see ``known_defaults``)."""
    if not is_variadic(function) and not known_defaults(function):
        return None
    return (nargs, tuple(keywords))


def specialized_parameters(function, nargs, keywords):
    """The parameters a transform of ``function`` differentiates, for a call
    with ``nargs`` positional arguments and ``keywords``: the positional
    ones, one per item of ``*args`` (``"args[0]"``, ...), the keyword-only
    ones, then one per keyword that ``**kwargs`` takes (``"kwargs['k']"``)."""
    code = function.__code__
    positional = list(code.co_varnames[:code.co_argcount])
    kwonly = list(code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount])
    position = code.co_argcount + code.co_kwonlyargcount
    names = list(positional)
    if code.co_flags & inspect.CO_VARARGS:
        star = code.co_varnames[position]
        position += 1
        names += [f"{star}[{i}]" for i in range(max(0, nargs - len(positional)))]
    names += kwonly
    if code.co_flags & inspect.CO_VARKEYWORDS:
        double = code.co_varnames[position]
        posonly = set(positional[:code.co_posonlyargcount])
        named = (set(positional) - posonly) | set(kwonly)
        names += [f"{double}[{key!r}]" for key in keywords if key not in named]
    return names


class MethodCall:
    """The primitive of a call whose callee is known only when the code runs:
    ``obj.name(...)`` on an object passed in (``name`` the method), or
    ``fn(...)`` with ``fn`` a function passed in (``name`` None; the callee is
    the first argument). It is looked up and transformed then
    (``rt.method_forward``, ``rt.function_forward``), like a UserCall."""

    def __init__(self, name):
        self.name = name

    @property
    def label(self):
        return self.name or "function"


class StarredCall:
    """The primitive of a call whose arguments are laid out only when it runs:
    ``f(*seq)`` or ``f(**mapping)`` over a sequence or mapping whose length
    or keys the transform cannot know. ``spec`` says what each argument atom
    is (``""`` an argument, ``"*"`` a sequence, ``"**"`` a mapping, a name: a
    keyword argument; ``"self"`` first: the call is of the method ``method``
    of that atom); ``callee`` is the expression of the function (None for a
    method). The function is transformed when the code runs, for the
    arguments that carry derivatives (``rt.starred_forward``,
    ``rt.starred_jvp``)."""

    def __init__(self, spec, callee, method=None, function=None):
        self.spec = tuple(spec)
        self.callee = callee
        self.method = method
        self.function = function  # (the callee's value, where the transform knows it: zip)
        self.name = method or "call"
        self.label = "call"


#: packages whose functions are primitives (a rule or adjoint.defvjp), never
#: transformed: their source is not the user's to differentiate line by line.
LIBRARIES = {"numpy", "adjoint", "autograd", "jax", "scipy", "sklearn", "pandas", "torch",
             "tensorflow", "numba", "numexpr"}


#: functions of those packages written in NumPy, differentiated from their
#: source like the user's own: module -> function names.
TRANSFORMED_LIBRARY_FUNCTIONS = {
    "scipy.optimize._optimize": {"rosen", "rosen_der"},
}


class UndefinedName(str):
    """The construct of a call of a name bound nowhere (``undefined_fn(x)``):
    Python raises NameError there when it runs."""


def is_library(function):
    full = getattr(function, "__module__", "") or ""
    if getattr(function, "__name__", None) in TRANSFORMED_LIBRARY_FUNCTIONS.get(full, ()):
        return False
    module = full.split(".")[0]
    return module in LIBRARIES or module in sys.stdlib_module_names


def symbol(op):
    return {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
            gast.MatMult: "@", gast.Mod: "%", gast.FloorDiv: "//", gast.BitOr: "|", gast.BitAnd: "&",
            gast.BitXor: "^", gast.LShift: "<<", gast.RShift: ">>"}.get(type(op), type(op).__name__)


def dotted(node):
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    if isinstance(node, gast.Call):
        return f"{dotted(node.func)}(...)"
    if isinstance(node, gast.Subscript):
        return f"{dotted(node.value)}[...]"
    return type(node).__name__


def callable_name(obj):
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, np.ufunc) and getattr(np, owner.__name__, None) is owner:
        return f"np.{owner.__name__}.{obj.__name__}"  # np.add.reduce, as the user wrote it
    stats = sys.modules.get("scipy.stats")
    if (stats is not None and isinstance(getattr(owner, "name", None), str)
            and getattr(stats, owner.name, None) is owner):
        return f"scipy.stats.{owner.name}.{obj.__name__}"  # scipy.stats.gamma.sf, not rv_continuous.sf
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    if module.startswith("numpy"):
        return f"np.{name}" if getattr(np, name, None) is obj else f"{module}.{name}"
    if module == "builtins":
        return name
    if rt.is_helper(obj):
        return f"rt.{name}"  # as generated code calls it
    return f"{module}.{name}" if module else name

