"""A-normal form: one primitive application per assignment.

``normalize(parsed, resolver, namer, has_aux)`` turns the body of the user's
function into a flat list of ``Op``s. Each ``Op`` assigns the result of one
primitive (a NumPy function, an operator, an indexing, a container literal)
applied to atoms (names and constants) to fresh names, in SSA form: a name
assigned twice gets a new version (``h``, ``h_1``), so every value the
backward pass needs is still there when the forward pass ends.

Guarantees: every ``Op.value`` is an expression over atoms that computes what
the user's code computed; ``Op.prim`` is the live object a rule is looked up
under (``np.multiply`` for ``*``, ``rt.getitem`` for ``x[i]``), ``NONDIFF``
for values that carry no derivative by construction, ``OPAQUE`` for
expressions kept whole (their derivative, if ever needed, is an error), or
None for calls to callables unknown until run time. Syntax outside the
supported subset raises ``UnsupportedSyntaxError`` with the user's file:line.
"""
import builtins
import functools
import operator
import types

import gast
import numpy as np

from . import errors, rules
from .gastutil import clone, constant, load, store
from .lower import lower_jumps, lower_returns
from . import runtime as rt
from .resolve import UNRESOLVED, local_names

#: marks values that never carry a derivative (comparisons, ``x.shape``).
NONDIFF = "nondifferentiable"
#: marks ``a, b = value``; its adjoint is built by the transformer.
UNPACK = "unpack"
#: marks expressions kept whole in the forward pass (comprehensions, and/or).
OPAQUE = "opaque"

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
    "dot": np.dot, "clip": np.clip, "copy": np.copy,
    "argmax": np.argmax, "argmin": np.argmin, "argsort": np.argsort,
    "any": np.any, "all": np.all, "var": np.var, "std": np.std, "cumsum": np.cumsum,
    "cumprod": np.cumprod, "trace": np.trace, "repeat": np.repeat, "take": np.take,
    "round": np.round,
}
#: methods whose positional arguments after the first form one tuple.
VARARG_METHODS = {"reshape", "transpose"}
NONDIFF_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes"}


#: functions whose result is a new array or list nobody else holds.
OWNED_RESULTS = {
    np.zeros, np.ones, np.empty, np.full, np.zeros_like, np.ones_like, np.empty_like, np.eye,
    np.identity, np.arange, np.linspace, np.copy, np.array, rt.setitem, rt.append, rt.make_list,
    list,
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


def fresh_result(prim):
    try:
        return isinstance(prim, np.ufunc) or prim in FRESH_RESULTS or prim in OWNED_RESULTS
    except TypeError:  # unhashable
        return False


class Op:
    """One step of the normalized function.

    kind: "assign" (``targets[0] = value``), "unpack" (``t1, t2 = value``),
    "expr" (a call run for its effect), "stmt" (a statement kept as is),
    "break", or a compound op: "if" (``value`` is the test atom, ops in
    ``body`` and ``orelse``), "for" (``targets[0]`` the loop variable,
    ``value`` the iterable) and "while" (``value`` the test name). A loop's
    ``body`` holds the user's statements; its ``latch`` the copies that carry
    values to the next iteration (and, for ``while``, the test computed
    again); its ``exit_check`` the final ``if broke: break``, if any.
    ``carried`` names the loop-carried names (the phi names of SSA).
    """

    __slots__ = ("kind", "targets", "value", "prim", "args", "kwargs", "lineno",
                 "no_grad", "construct", "keys", "statement", "body", "orelse",
                 "latch", "exit_check", "carried", "tape", "tape_values", "call_forward")

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

    @property
    def compound(self):
        return self.kind in ("if", "for", "while")

    def reads(self):
        if self.kind == "break":
            return set()
        node = self.statement if self.statement is not None else self.value
        return {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


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
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            names.add(node.id)
        # In-place updates give the updated name a new version too.
        if (isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store)
                and isinstance(node.value, gast.Name)):
            names.add(node.value.id)
        if (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and node.func.attr == "append" and isinstance(node.func.value, gast.Name)):
            names.add(node.func.value.id)
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


def is_atom(node):
    if isinstance(node, (gast.Name, gast.Constant)):
        return True
    if isinstance(node, gast.Attribute):
        return is_atom(node.value) and isinstance(node.value, (gast.Name, gast.Attribute))
    return False


class Normalizer:
    def __init__(self, parsed, resolver, namer, has_aux, np_name, rt_name):
        self.rt_name = rt_name
        self.parsed = parsed
        self.resolver = resolver
        self.namer = namer
        self.has_aux = has_aux
        self.np_name = np_name
        self.ops = []
        self.version = {}
        self.defined = set()  # every name the normalized code assigns
        self.computed = {}  # (primitive, expression text) -> the name holding it
        self.lineno = parsed.node.lineno
        self.local_functions = {}  # version name -> FunctionDef of a nested def or lambda
        self.owners = {}  # version -> "owned" (made here, shared with nothing) or "shared"
        self.literal_items = {}  # version of a tuple/list literal -> its item atoms
        self.params = set()
        self.inline_stack = []  # nested functions being inlined (to catch recursion)
        self.inlining = []  # where each inlined function's return value goes
        self.no_grad = False
        self.output = None
        self.result = None

    # ------------------------------------------------------------ errors

    def unsupported(self, node, construct, reason, fix):
        return errors.UnsupportedSyntaxError(self.parsed.location(node), construct, reason, fix)

    # ------------------------------------------------------------ names

    def read(self, name):
        return self.version.get(name, name)

    def bind(self, name):
        """A new SSA version for an assignment to the user's ``name``."""
        if name in self.version:
            new = self.namer.fresh(name)
        else:
            new = name
        self.version[name] = new
        self.defined.add(new)
        return new

    def emit(self, value, prim, args=(), kwargs=None, target=None, construct="", keys=None):
        # The same pure primitive on the same values is computed once
        # (``x[:-1]`` written twice); names are SSA, so equal text is equal value.
        key = None
        if not self.no_grad and rules.lookup(prim) is not None and not isinstance(
                rules.lookup(prim), rules.CustomVJP):
            key = (id(prim), gast.dump(value))
            if key in self.computed:
                previous = load(self.computed[key])
                if target is None:
                    return previous
                return self.emit(previous, rt.identity, [previous], target=target, construct="copy")
        target = target or self.namer.temp()
        if key is not None:
            self.computed[key] = target
        self.defined.add(target)
        op = Op("assign", [target], value, prim, args, kwargs, self.lineno, self.no_grad, construct, keys)
        if isinstance(prim, UserCall):
            # The callee's residuals, kept for its backward pass.
            saved = self.namer.fresh(f"{prim.name}_saved")
            self.defined.add(saved)
            op.targets.append(saved)
        self.ops.append(op)
        self.track_ownership(op)
        if prim in (rt.make_tuple, rt.make_list) and not kwargs:
            self.literal_items[target] = list(args)
        return load(target)

    # ------------------------------------------------------------ statements

    def function(self):
        node = self.parsed.node
        args = node.args
        if args.vararg is not None or args.kwarg is not None:
            raise self.unsupported(node, "*args / **kwargs parameters",
                                   "a transformed function needs named parameters.",
                                   "Name each parameter.")
        params = [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]
        self.params = set(params)
        for name in params:
            self.version[name] = name
            self.defined.add(name)
        lower_returns(node, self.namer)
        self.block(node.body)
        if self.output is None:
            self.output = constant(None)
            self.result = constant(None)
        return Normalized(node.name, params, self.ops, self.output, self.result)

    def block(self, body):
        for position, stmt in enumerate(body):
            if self.output is not None:
                raise self.unsupported(stmt, "code after return", "it never runs.",
                                       "Remove it.")
            self.lineno = stmt.lineno
            self.statement(stmt, last=position == len(body) - 1)

    def statement(self, stmt, last):
        if isinstance(stmt, gast.Assign):
            if len(stmt.targets) == 1:
                self.assign(stmt.targets[0], stmt.value)
            else:
                value = self.atom(stmt.value)
                for target in stmt.targets:
                    self.assign(target, value)
        elif isinstance(stmt, gast.AnnAssign):
            if stmt.value is not None:
                self.assign(stmt.target, stmt.value)
        elif isinstance(stmt, gast.AugAssign):
            if isinstance(stmt.target, gast.Name):
                current = load(stmt.target.id)
                self.assign(stmt.target, gast.BinOp(left=current, op=stmt.op, right=stmt.value))
            elif isinstance(stmt.target, gast.Subscript):
                read = gast.Subscript(value=clone(stmt.target.value), slice=clone(stmt.target.slice),
                                      ctx=gast.Load())
                self.setitem(stmt.target, gast.BinOp(left=read, op=stmt.op, right=stmt.value))
            else:
                raise self.in_place(stmt)
        elif isinstance(stmt, gast.Expr):
            if isinstance(stmt.value, gast.Constant):
                return  # a docstring or a bare constant does nothing
            call = stmt.value
            if (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
                    and call.func.attr == "append" and isinstance(call.func.value, gast.Name)
                    and call.func.value.id in self.version and len(call.args) == 1 and not call.keywords):
                self.list_append(call)
                return
            value, prim, args, kwargs, construct, keys = self.operation(stmt.value)
            self.ops.append(Op("expr", [], value, prim, args, kwargs, self.lineno,
                               self.no_grad, construct, keys))
        elif isinstance(stmt, gast.Return):
            if not last or self.no_grad:
                raise self.unsupported(stmt, "return before the end of the function",
                                       "early returns are not supported yet.",
                                       "Assign the value and return it once, at the end.")
            self.returns(stmt)
        elif isinstance(stmt, gast.With):
            self.with_block(stmt)
        elif isinstance(stmt, gast.Pass):
            return
        elif isinstance(stmt, gast.Assert):
            kept = self.rename_opaque(stmt)
            self.ops.append(Op("stmt", [], None, NONDIFF, lineno=self.lineno,
                               construct="assert", statement=kept))
        elif isinstance(stmt, gast.If):
            self.if_statement(stmt)
        elif isinstance(stmt, (gast.For, gast.While)):
            if stmt.orelse:
                raise self.unsupported(stmt, f"{type(stmt).__name__.lower()} ... else",
                                       "a loop's else clause is not supported.",
                                       "Use a flag set before break instead.")
            before, stmt = lower_jumps(stmt, self.namer)
            for flag_init in before:
                self.statement(flag_init, last=False)
            self.lineno = stmt.lineno
            if isinstance(stmt, gast.For):
                self.for_statement(stmt)
            else:
                self.while_statement(stmt)
        elif isinstance(stmt, gast.Break):
            self.ops.append(Op("break", [], None, NONDIFF, lineno=self.lineno, construct="break"))
        elif isinstance(stmt, gast.FunctionDef) and not stmt.decorator_list:
            # A nested function: its calls are inlined where they happen, so
            # its closure over the enclosing function's values differentiates.
            self.local_functions[self.bind(stmt.name)] = stmt
        elif isinstance(stmt, (gast.Global, gast.Nonlocal)):
            kind = type(stmt).__name__.lower()
            raise self.unsupported(stmt, f"{kind} statement",
                                   f"a differentiated function cannot write {kind} variables: the "
                                   "derivative would miss the values they carry.",
                                   "Pass the value in as an argument and return the new value.")
        elif isinstance(stmt, gast.Try):
            raise self.unsupported(stmt, "try statement",
                                   "which statements ran would depend on exceptions, and the "
                                   "derivative cannot follow them.",
                                   "Test the condition with if, or move the try out of the function.")
        elif isinstance(stmt, gast.Delete):
            raise self.unsupported(stmt, "del statement",
                                   "deleting names or items is not supported in a differentiated function.",
                                   "Remove it; names go away when the function returns.")
        else:
            construct = type(stmt).__name__
            raise self.unsupported(stmt, f"{construct} statement",
                                   "this statement is not supported inside a "
                                   "differentiated function.",
                                   "Move it out of the function, or compute the "
                                   "value outside and pass it in.")

    # ------------------------------------------------------------ control flow

    def region(self, build):
        """Run ``build()`` collecting the ops it emits into a new list; values
        computed inside are not reused outside (they may not exist there)."""
        outer_ops, outer_computed = self.ops, self.computed
        self.ops, self.computed = [], dict(outer_computed)
        try:
            build()
            return self.ops
        finally:
            self.ops, self.computed = outer_ops, outer_computed

    def copy_op(self, target, source, construct="phi"):
        """A copy the normalizer adds (phi, merge): it moves the value, so
        ownership passes on."""
        atom = load(source) if isinstance(source, str) else source
        prim = rt.identity if self.is_local(atom) else NONDIFF
        self.defined.add(target)
        op = Op("assign", [target], atom, prim, [atom], lineno=self.lineno, no_grad=self.no_grad,
                construct=construct)
        self.track_ownership(op)
        return op

    def if_statement(self, stmt):
        test = self.atom(stmt.test)
        lineno = stmt.lineno
        before = dict(self.version)
        body = self.region(lambda: self.block(stmt.body))
        after_body, self.version = self.version, dict(before)
        orelse = self.region(lambda: self.block(stmt.orelse))
        after_else = self.version
        self.lineno = lineno
        self.version = self.merge(before, [(body, after_body), (orelse, after_else)])
        op = Op("if", [], test, NONDIFF, [test], lineno=lineno, construct="if")
        op.body, op.orelse = body, orelse
        self.ops.append(op)

    def merge(self, before, paths):
        """Versions after paths that join: a name bound differently on the
        paths gets a new version, assigned at the end of each path."""
        merged = dict(before)
        names = sorted(set().union(*(versions for _, versions in paths)))
        for name in names:
            versions = [v.get(name) for _, v in paths]
            if all(v == versions[0] for v in versions):
                merged[name] = versions[0]
                continue
            new = self.namer.fresh(name)
            for (ops, _), version in zip(paths, versions, strict=True):
                if version is None:  # unbound on this path, as in Python
                    ops.append(Op("assign", [new], constant(None), NONDIFF, [], lineno=self.lineno,
                                  construct="unbound"))
                else:
                    ops.append(self.copy_op(new, version))
            self.defined.add(new)
            merged[name] = new
        return merged

    def conditional_expression(self, node, target):
        test = self.atom(node.test)
        lineno = self.lineno
        body = self.region(lambda: self.assign_to(target, node.body))
        orelse = self.region(lambda: self.assign_to(target, node.orelse))
        op = Op("if", [], test, NONDIFF, [test], lineno=lineno, construct="conditional expression")
        op.body, op.orelse = body, orelse
        self.ops.append(op)
        self.defined.add(target)
        return load(target)

    def assign_to(self, target, node):
        if is_atom(node):
            self.ops.append(self.copy_op(target, self.atom(node)))
        else:
            self.expression(node, target=target)

    def loop_carried(self, stmt):
        """Phi names for the user's names that the loop body re-binds and
        that exist before the loop: ``h_1 = h`` before the loop."""
        carried = {}
        for name in sorted(assigned_names(stmt.body)):
            if name in self.version:
                phi = self.namer.fresh(name)
                self.ops.append(self.copy_op(phi, self.version[name]))
                self.version[name] = phi
                carried[name] = phi
        return carried

    def latch(self, carried):
        """Copies that carry this iteration's values into the phi names."""
        for name, phi in carried.items():
            if self.version.get(name) != phi:
                self.ops.append(self.copy_op(phi, self.version[name]))
            self.version[name] = phi
        # Values over the phi names change from here on.
        self.computed = {}

    def for_statement(self, stmt):
        lineno = stmt.lineno
        iterable = stmt.iter
        callee = self.resolver.value_of(iterable.func) if isinstance(iterable, gast.Call) else UNRESOLVED
        prefix = None
        plain_target = None
        if callee is range and isinstance(stmt.target, gast.Name) and not iterable.keywords:
            loop_iter = gast.Call(func=clone(iterable.func), args=[self.atom(a) for a in iterable.args],
                                  keywords=[])
        elif callee in (zip, enumerate) or isinstance(iterable, (gast.Name, gast.Attribute, gast.Subscript,
                                                                   gast.List, gast.Tuple)):
            loop_iter, prefix = self.indexed_iteration(stmt, callee)
        else:
            # Any other iterable (reversed(...), d.items(), an iterator) is run
            # as written; its items carry no derivative (checked by activity).
            loop_iter = self.atom(iterable)
            plain_target = stmt.target
        carried = self.loop_carried(stmt)
        body_exit = []

        def build_body():
            if plain_target is not None:
                target_node = clone(plain_target)
                for name_node in gast.walk(target_node):
                    if isinstance(name_node, gast.Name):
                        name_node.id = self.bind(name_node.id)
                loop_target.append(target_node)
            elif prefix is None:
                target = self.bind(stmt.target.id)
                loop_target.append(target)
            else:
                loop_target.append(prefix[0])
                prefix[1]()
            self.block(stmt.body)
            body_exit.append(self.split_exit_check())

        loop_target = []
        body = self.region(build_body)
        latch = self.region(lambda: self.latch(carried))
        self.lineno = lineno
        target = loop_target[0]
        if isinstance(target, gast.AST):  # a loop over an iterator: its own target names
            target_names = [n.id for n in gast.walk(target) if isinstance(n, gast.Name)]
            op = Op("for", target_names, loop_iter, NONDIFF, [], lineno=lineno, construct="for loop")
            op.keys = target
        else:
            op = Op("for", [target], loop_iter, NONDIFF, [], lineno=lineno, construct="for loop")
        op.body, op.latch, op.exit_check = body, latch, body_exit[0]
        op.carried = list(carried.values())
        self.ops.append(op)

    def split_exit_check(self):
        """Take the trailing ``if broke: break`` (from lower_jumps) off the body."""
        last = self.ops[-1] if self.ops else None
        if (last is not None and last.kind == "if" and len(last.body) == 1
                and last.body[0].kind == "break" and not last.orelse):
            return [self.ops.pop()]
        return []

    def indexed_iteration(self, stmt, callee):
        """``for target in seq`` as ``for index in range(n): target = seq[index]``,
        so values taken from a differentiated sequence get derivatives."""
        iterable = stmt.iter
        start = None
        zipped = False
        if callee is zip and not iterable.keywords:
            sequences = [self.atom(a) for a in iterable.args]
        elif callee is enumerate:
            inner = iterable.args[0]
            if (isinstance(inner, gast.Call) and not inner.keywords
                    and self.resolver.value_of(inner.func) is zip):
                sequences = [self.atom(a) for a in inner.args]
                zipped = True
            else:
                sequences = [self.atom(inner)]
            start = self.atom(iterable.args[1]) if len(iterable.args) > 1 else None
            for keyword in iterable.keywords:
                if keyword.arg == "start":
                    start = self.atom(keyword.value)
        else:
            sequences = [self.atom(iterable)]
        # The loop reads the sequences as they were when it started, even if
        # the body re-binds their names.
        snapshots = []
        for sequence in sequences:
            if isinstance(sequence, gast.Name) and sequence.id in self.version:
                snapshot = self.namer.fresh(f"{sequence.id}_items")
                self.ops.append(self.copy_op(snapshot, sequence, construct="copy"))
                sequence = load(snapshot)
            snapshots.append(sequence)
        sequences = snapshots
        length = self.emit(gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="loop_length",
                                                           ctx=gast.Load()),
                                     args=list(sequences), keywords=[]), NONDIFF, sequences,
                           construct="loop length")
        index = self.namer.fresh("index")
        self.defined.add(index)
        loop_iter = gast.Call(func=load("range"), args=[length], keywords=[])

        def bind_items():
            items = []
            for sequence in sequences:
                item = gast.Subscript(value=sequence, slice=load(index), ctx=gast.Load())
                items.append((item, sequence))
            values = [gast.Subscript(value=seq, slice=load(index), ctx=gast.Load()) for seq in sequences]
            if callee is zip:
                value_node = gast.Tuple(elts=values, ctx=gast.Load())
            elif callee is enumerate:
                counter = load(index) if start is None else gast.BinOp(left=load(index), op=gast.Add(),
                                                                        right=start)
                item = gast.Tuple(elts=values, ctx=gast.Load()) if zipped else values[0]
                value_node = gast.Tuple(elts=[counter, item], ctx=gast.Load())
            else:
                value_node = values[0]
            self.assign(stmt.target, value_node)

        return loop_iter, (index, bind_items)

    def while_statement(self, stmt):
        lineno = stmt.lineno
        carried = self.loop_carried(stmt)
        test_name = self.namer.fresh("loop_test")
        self.assign_to(test_name, stmt.test)
        body_exit = []

        def build_body():
            self.block(stmt.body)
            body_exit.append(self.split_exit_check())

        def build_latch():
            self.latch(carried)
            self.lineno = lineno
            self.assign_to(test_name, stmt.test)

        body = self.region(build_body)
        latch = self.region(build_latch)
        self.lineno = lineno
        op = Op("while", [], load(test_name), NONDIFF, [load(test_name)], lineno=lineno,
                construct="while loop")
        op.body, op.latch, op.exit_check = body, latch, body_exit[0]
        op.carried = list(carried.values())
        self.ops.append(op)

    def in_place(self, stmt):
        return self.unsupported(stmt, "in-place update of an element or attribute",
                                "assignments to x[...] or x.attr are not supported yet.",
                                "Build the new value instead (np.where, np.concatenate).")

    def assign(self, target, value):
        if isinstance(target, gast.Name) and isinstance(value, gast.Lambda):
            self.local_functions[self.bind(target.id)] = lambda_as_def(value)
            return
        if isinstance(target, gast.Name):
            if is_atom(value) or isinstance(value, gast.Name):
                atom = self.atom(value)
                prim = rt.identity if self.is_local(atom) else NONDIFF
                self.emit(atom, prim, [atom], target=self.bind(target.id), construct="copy")
            else:
                self.expression(value, target=None, user_name=target.id)
        elif isinstance(target, (gast.Tuple, gast.List)):
            if (isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts)
                    and not any(isinstance(e, gast.Starred) for e in target.elts + value.elts)):
                self.parallel_assign(target.elts, value.elts)
                return
            atom = self.atom(value)
            self.unpack(target, atom)
        elif isinstance(target, gast.Subscript):
            self.setitem(target, value)
        else:
            raise self.in_place(target)

    # ------------------------------------------------------------ in-place updates

    def check_owned(self, name, version, node, what):
        """An update in place is exact only on a value this function made and
        shared with nothing: elsewhere NumPy would change the other holders too."""
        if self.owners.get(version) == "owned":
            return
        if version in self.version.values() and version == name and name in self.params:
            why = f"{name!r} is an argument of the function, so the caller's value would change too."
        else:
            why = (f"{name!r} may share memory with another value (an argument, a view, "
                   "another name or a container), and NumPy would change that value too.")
        raise self.unsupported(node, f"{what} of {name!r}", why,
                               f"Work on a copy made in the function: {name} = {name}.copy() "
                               "(for a list: list(...)).")

    def setitem(self, target, value):
        if not isinstance(target.value, gast.Name) or target.value.id not in self.version:
            raise self.in_place(target)
        name = target.value.id
        new_value = self.atom(value)
        version = self.read(name)
        self.check_owned(name, version, target, "in-place update")
        index = self.index_value(self.index(target.slice))
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="setitem", ctx=gast.Load()),
                         args=[load(version), index, new_value], keywords=[])
        new = self.bind(name)
        self.emit(call, rt.setitem, [load(version), index, new_value], target=new, construct="in-place update")
        self.owners[new] = "owned"

    def list_append(self, call):
        name = call.func.value.id
        version = self.read(name)
        self.check_owned(name, version, call, "append to list")
        item = self.atom(call.args[0])
        position = self.emit(gast.Call(func=load("len"), args=[load(version)], keywords=[]), NONDIFF,
                             [load(version)], construct="len")
        append = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="append", ctx=gast.Load()),
                           args=[load(version), item], keywords=[])
        new = self.bind(name)
        self.emit(append, rt.append, [load(version), item, position], target=new, construct="list.append")
        self.owners[new] = "owned"

    def track_ownership(self, op):
        """Which values are owned by this function alone (may be updated in place)."""
        prim, target = op.prim, op.targets[0] if op.targets else None
        if target is None:
            return
        if op.construct in ("phi", "merge"):
            source = op.args[0].id if op.args and isinstance(op.args[0], gast.Name) else None
            if source is not None and self.owners.get(source) == "owned":
                self.owners[target] = "owned"
            return
        if fresh_result(prim):
            self.owners[target] = "owned"
        if prim is rt.getitem:
            # A view kept under a user's name shares memory with its source;
            # one used right away (``y[i] + 1``) does not outlive the statement.
            source = op.args[0]
            if isinstance(source, gast.Name) and target in self.version.values():
                self.owners[source.id] = "shared"
            return
        for arg in op.args:
            if isinstance(arg, gast.Name) and arg.id != target:
                if prim in (rt.setitem, rt.append) and arg is op.args[0]:
                    continue
                if fresh_result(prim) and prim not in (rt.setitem, rt.append, rt.make_list):
                    continue  # arithmetic reads a value without keeping it
                self.owners[arg.id] = "shared"

    def parallel_assign(self, targets, values):
        """``a, b = e1, e2``: every value is computed before any name is bound
        (so ``a, b = b, a`` swaps), each straight into its target's name."""
        if not all(isinstance(t, gast.Name) for t in targets):
            atoms = [self.atom(v) for v in values]
            for target, atom in zip(targets, atoms, strict=True):
                self.assign(target, atom)
            return
        names = []
        for target, value in zip(targets, values, strict=True):
            name = self.namer.fresh(target.id) if target.id in self.version else target.id
            if name == target.id:
                self.namer.taken.add(name)
            if is_atom(value):
                atom = self.atom(value)
                prim = rt.identity if self.is_local(atom) else NONDIFF
                self.emit(atom, prim, [atom], target=name, construct="copy")
            else:
                self.expression(value, target=name)
            names.append((target.id, name))
        for user_name, name in names:
            self.version[user_name] = name
            self.defined.add(name)

    def unpack(self, target, atom):
        names = []
        nested = []
        for element in target.elts:
            if isinstance(element, gast.Name):
                names.append(element.id)
            elif isinstance(element, (gast.Tuple, gast.List)):
                temp = self.namer.temp()
                names.append(None)
                nested.append((temp, element))
                names[-1] = temp
            else:
                raise self.unsupported(element, "starred or subscripted unpacking target",
                                       "only names and nested tuples of names can be unpacked into.",
                                       "Unpack into names first.")
        nested_temps = {temp for temp, _ in nested}
        targets = [n if n in nested_temps else self.bind(n) for n in names]
        self.defined.update(targets)
        statement = gast.Assign(targets=[gast.Tuple(elts=[store(t) for t in targets], ctx=gast.Store())],
                                value=atom, type_comment=None)
        self.ops.append(Op("unpack", targets, atom, UNPACK, [atom], None, self.lineno,
                           self.no_grad, "unpacking", statement=statement))
        for temp, element in nested:
            self.unpack(element, load(temp))

    def returns(self, stmt):
        value = stmt.value if stmt.value is not None else constant(None)
        if self.inlining:
            self.assign_to(self.inlining[-1], value)
            return
        if self.has_aux and isinstance(value, gast.Tuple) and len(value.elts) == 2:
            output = self.atom(value.elts[0])
            aux = self.atom(value.elts[1])
            self.output = output
            self.result = gast.Tuple(elts=[output, aux], ctx=gast.Load())
            return
        if is_atom(value) or isinstance(value, gast.Constant):
            result = self.atom(value)
        else:
            result = self.expression(value, target=self.namer.fresh("out"))
        self.result = result
        if self.has_aux:
            check = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="check_aux_result",
                                                  ctx=gast.Load()), args=[result], keywords=[])
            self.ops.append(Op("expr", [], check, NONDIFF, [result], lineno=self.lineno,
                               construct="has_aux check"))
            index = constant(0)
            self.output = self.emit(gast.Subscript(value=result, slice=index, ctx=gast.Load()),
                                    rt.getitem, [result, index], construct="indexing")
        else:
            self.output = result

    def with_block(self, stmt):
        from .api import no_grad

        items = stmt.items
        context = items[0].context_expr if len(items) == 1 else None
        if isinstance(context, gast.Call) and not context.args and not context.keywords:
            context = context.func
        if context is None or self.resolver.value_of(context) is not no_grad:
            raise self.unsupported(stmt, "with statement",
                                   "only `with adjoint.no_grad():` is supported inside a "
                                   "differentiated function.",
                                   "Move other context managers out of the function.")
        if items[0].optional_vars is not None:
            raise self.unsupported(stmt, "with no_grad() as ...", "no_grad() binds no value.",
                                   "Drop the `as` part.")
        outer = self.no_grad
        self.no_grad = True
        self.block(stmt.body)
        self.no_grad = outer

    # ------------------------------------------------------------ expressions

    def is_local(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.defined

    def atom(self, node):
        """The expression as an atom, emitting ops for its parts."""
        if isinstance(node, gast.Constant):
            return node
        if (isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd))
                and isinstance(node.operand, gast.Constant)
                and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool)):
            value = node.operand.value
            return constant(-value if isinstance(node.op, gast.USub) else value)
        if isinstance(node, gast.Name):
            if node.id in self.resolver.locals and node.id not in self.version:
                raise self.unsupported(node, f"name {node.id!r}",
                                       "it is read before it is assigned.",
                                       "Assign it first.")
            return load(self.read(node.id))
        if isinstance(node, gast.Attribute) and self.resolver.value_of(node) is not UNRESOLVED:
            return clone(node)
        return self.expression(node)

    def expression(self, node, target=None, user_name=None):
        if isinstance(node, gast.IfExp):
            if user_name is None:
                return self.conditional_expression(node, target or self.namer.temp())
            # Both arms read the name's current version; the new one is bound after.
            new = self.namer.fresh(user_name) if user_name in self.version else user_name
            self.namer.taken.add(new)
            result = self.conditional_expression(node, new)
            self.version[user_name] = new
            self.defined.add(new)
            return result
        local = self.local_function(node.func) if isinstance(node, gast.Call) else None
        if local is not None:
            # The body of a nested function, its result straight into the target.
            if user_name is None:
                return self.inline(local, node, target)
            new = self.namer.fresh(user_name) if user_name in self.version else user_name
            self.namer.taken.add(new)
            result = self.inline(local, node, new)
            self.version[user_name] = new
            self.defined.add(new)
            return result
        value, prim, args, kwargs, construct, keys = self.operation(node)
        if user_name is not None:
            target = self.bind(user_name)
        return self.emit(value, prim, args, kwargs, target=target, construct=construct, keys=keys)

    def local_function(self, func):
        """The FunctionDef of a lambda or nested function called by ``func``."""
        if isinstance(func, gast.Lambda):
            return lambda_as_def(func)
        if isinstance(func, gast.Name) and self.read(func.id) in self.local_functions:
            return self.local_functions[self.read(func.id)]
        return None

    def operation(self, node):
        """(value, prim, args, kwargs, construct, keys) for one expression."""
        if isinstance(node, gast.BinOp):
            left, right = self.atom(node.left), self.atom(node.right)
            prim = BINARY_OPERATORS.get(type(node.op), NONDIFF)
            value = gast.BinOp(left=left, op=node.op, right=right)
            return value, prim, [left, right], {}, f"operator {_symbol(node.op)}", None
        if isinstance(node, gast.UnaryOp):
            operand = self.atom(node.operand)
            prim = UNARY_OPERATORS[type(node.op)]
            return gast.UnaryOp(op=node.op, operand=operand), prim, [operand], {}, "unary operator", None
        if isinstance(node, gast.Compare):
            left = self.atom(node.left)
            rights = [self.atom(c) for c in node.comparators]
            value = gast.Compare(left=left, ops=node.ops, comparators=rights)
            return value, NONDIFF, [left] + rights, {}, "comparison", None
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, gast.Subscript):
            return self.subscript(node)
        if isinstance(node, gast.Attribute):
            return self.attribute(node)
        if isinstance(node, (gast.Tuple, gast.List)):
            elements = []
            for element in node.elts:
                if isinstance(element, gast.Starred):
                    raise self.unsupported(element, "starred element in a literal",
                                           "not supported yet.", "Build the container with + instead.")
                elements.append(self.atom(element))
            kind = gast.Tuple if isinstance(node, gast.Tuple) else gast.List
            prim = rt.make_tuple if kind is gast.Tuple else rt.make_list
            value = kind(elts=elements, ctx=gast.Load())
            return value, prim, elements, {}, "container literal", list(range(len(elements)))
        if isinstance(node, gast.Dict):
            keys, values = [], []
            for key, item in zip(node.keys, node.values, strict=True):
                if key is None:
                    raise self.unsupported(node, "**mapping in a dict literal",
                                           "not supported yet.", "Write the keys out.")
                keys.append(self.atom(key))
                values.append(self.atom(item))
            value = gast.Dict(keys=keys, values=values)
            return value, rt.make_dict, values, {}, "dict literal", keys
        if isinstance(node, (gast.Constant, gast.Name)) or is_atom(node):
            atom = self.atom(node)
            return atom, rt.identity if self.is_local(atom) else NONDIFF, [atom], {}, "copy", None
        if isinstance(node, (gast.Yield, gast.YieldFrom, gast.Await)):
            raise self.unsupported(node, type(node).__name__.lower(),
                                   "generators and coroutines cannot be differentiated.",
                                   "Return the values instead.")
        if isinstance(node, gast.NamedExpr):
            raise self.unsupported(node, "assignment expression (:=)", "not supported.",
                                   "Use a separate assignment.")
        construct = {
            gast.BoolOp: "and/or", gast.ListComp: "list comprehension",
            gast.GeneratorExp: "generator expression", gast.DictComp: "dict comprehension",
            gast.SetComp: "set comprehension", gast.Lambda: "lambda", gast.Set: "set literal",
            gast.JoinedStr: "f-string",
        }.get(type(node), type(node).__name__)
        return self.rename_opaque(node), OPAQUE, [], {}, construct, None

    def rename_opaque(self, node):
        """A copy of ``node`` reading the current versions of the user's names."""
        node = clone(node)
        bound = {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        for child in gast.walk(node):
            if isinstance(child, gast.Name) and isinstance(child.ctx, gast.Load) and child.id not in bound:
                child.id = self.read(child.id)
        return node

    def starred_items(self, starred):
        """The items of ``*seq`` in a call, when the function built ``seq``
        from a literal (so their number is known)."""
        value = starred.value
        if isinstance(value, (gast.Tuple, gast.List)):
            return list(value.elts)
        if isinstance(value, gast.Name) and self.read(value.id) in self.literal_items:
            return list(self.literal_items[self.read(value.id)])
        raise self.unsupported(starred, "*args in a call",
                               "the number of arguments must be known when the function is "
                               "transformed, and this sequence was not built here from a literal.",
                               "Pass the arguments one by one, or build the tuple in the function.")

    def call(self, node):
        if any(isinstance(arg, gast.Starred) for arg in node.args):
            args = []
            for arg in node.args:
                args.extend(self.starred_items(arg) if isinstance(arg, gast.Starred) else [arg])
            node = gast.Call(func=node.func, args=args, keywords=node.keywords)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.unsupported(node, "**kwargs in a call", "not supported yet.",
                                       "Pass the keyword arguments one by one.")
        func = node.func
        local = self.local_function(func)
        if local is not None:  # a call in statement position
            result = self.inline(local, node)
            return result, rt.identity, [result], {}, "call of a nested function", None
        if isinstance(func, gast.Attribute) and self.resolver.value_of(func.value) is UNRESOLVED:
            return self.method_call(node)
        callee = self.resolver.value_of(func)
        if callee in (builtins.max, builtins.min) and len(node.args) > 1 and not node.keywords:
            # max(a, b) is max((a, b)): one rule covers both forms.
            node = gast.Call(func=func, args=[gast.Tuple(elts=node.args, ctx=gast.Load())], keywords=[])
        args = [self.atom(a) for a in node.args]
        kwargs = {k.arg: self.atom(k.value) for k in node.keywords}
        value = gast.Call(func=clone(func) if callee is not UNRESOLVED else self.atom(func),
                          args=args, keywords=[gast.keyword(arg=k, value=v) for k, v in kwargs.items()])
        if isinstance(callee, type) and issubclass(callee, tuple) and hasattr(callee, "_fields"):
            # A namedtuple built from values: a container literal with named slots.
            fields = list(callee._fields)
            keys = list(range(len(args))) + [fields.index(k) if k in fields else k for k in kwargs]
            return value, rt.make_tuple, args + list(kwargs.values()), {}, f"{callee.__name__}(...)", keys
        prim = None if callee is UNRESOLVED else callee
        name = _callable_name(callee) if callee is not UNRESOLVED else _dotted(func)
        if callee is not UNRESOLVED and rules.lookup(callee) is None and not rules.is_nondifferentiable(callee):
            call = self.user_call(callee, func)
            if call is not None:
                return value, call, call.leading + args, {**call.keywords, **kwargs}, name, None
        return value, prim, args, kwargs, name, None

    def inline(self, function, call, result=None):
        """The body of a nested function or lambda, in place of its call."""
        if function in self.inline_stack:
            raise self.unsupported(call, f"recursive call of nested function {function.name!r}",
                                   "nested functions are inlined where they are called.",
                                   "Define the function at module level; recursion works there.")
        node = clone(function)
        renames = {name: self.namer.fresh(name) for name in sorted(local_names(node))}
        for child in gast.walk(node):
            if isinstance(child, gast.Name) and child.id in renames:
                child.id = renames[child.id]
        params = [a.id for a in node.args.posonlyargs + node.args.args]
        args = [self.atom(a) for a in call.args]
        keywords = {k.arg: k.value for k in call.keywords}
        defaults = dict(zip(params[len(params) - len(node.args.defaults):], node.args.defaults, strict=True))
        if len(args) > len(params) or node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
            raise self.unsupported(call, f"call of nested function {function.name!r}",
                                   "only positional and keyword arguments matching its parameters "
                                   "are supported.", "Pass one argument per parameter.")
        outer_version = dict(self.version)
        for position, param in enumerate(params):
            if position < len(args):
                value = args[position]
            elif param in keywords:
                value = keywords[param]
            elif param in defaults:
                value = defaults[param]
            else:
                raise self.unsupported(call, f"call of nested function {function.name!r}",
                                       f"parameter {param!r} gets no value.", "Pass it.")
            self.assign_to(param, value)
            self.version[param] = param
        lower_returns(node, self.namer)
        result = result or self.namer.temp()
        self.defined.add(result)
        self.inline_stack.append(function)
        self.inlining.append(result)
        try:
            self.block(node.body)
        finally:
            self.inlining.pop()
            self.inline_stack.pop()
            # The callee's names are its own; the caller's are unchanged by the call.
            self.version = {name: version for name, version in self.version.items()
                            if name in outer_version or name not in renames.values()}
            for name, version in outer_version.items():
                self.version[name] = version
        return load(result)

    def user_call(self, callee, func):
        """A UserCall if ``callee`` is the user's own Python code."""
        leading = []
        bound = {}
        keywords = {}
        while isinstance(callee, functools.partial):
            for value in reversed(callee.args):
                name = self.namer.fresh("partial_arg")
                bound[name] = value
                leading.insert(0, load(name))
            for key, value in callee.keywords.items():
                if key not in keywords:
                    name = self.namer.fresh(f"partial_{key}")
                    bound[name] = value
                    keywords[key] = load(name)
            callee = callee.func
        if isinstance(callee, types.MethodType) and isinstance(callee.__func__, types.FunctionType):
            if not isinstance(func, gast.Attribute):
                return None
            leading.insert(0, self.atom(func.value))
            callee = callee.__func__
        if not isinstance(callee, types.FunctionType) or _is_library(callee):
            return None
        return UserCall(callee, leading, bound, keywords)

    def method_call(self, node):
        func = node.func
        receiver = self.atom(func.value)
        args = [self.atom(a) for a in node.args]
        kwargs = {k.arg: self.atom(k.value) for k in node.keywords}
        value = gast.Call(func=gast.Attribute(value=receiver, attr=func.attr, ctx=gast.Load()),
                          args=args, keywords=[gast.keyword(arg=k, value=v) for k, v in kwargs.items()])
        prim = ARRAY_METHODS.get(func.attr)
        rule_args = list(args)
        if func.attr in VARARG_METHODS and len(args) > 1:
            rule_args = [gast.Tuple(elts=list(args), ctx=gast.Load())]
        return value, prim, [receiver] + rule_args, kwargs, f"method .{func.attr}()", None

    def subscript(self, node):
        container = self.atom(node.value)
        index = self.index(node.slice)
        value = gast.Subscript(value=container, slice=index, ctx=gast.Load())
        return value, rt.getitem, [container, self.index_value(index)], {}, "indexing", None

    def index(self, node):
        if isinstance(node, gast.Slice):
            parts = [None if p is None else self.atom(p) for p in (node.lower, node.upper, node.step)]
            return gast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
        if isinstance(node, gast.Tuple):
            return gast.Tuple(elts=[self.index(e) for e in node.elts], ctx=gast.Load())
        return self.atom(node)

    def index_value(self, index):
        """The index as an expression usable outside brackets (``np.s_[...]``)."""
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        if any(isinstance(p, gast.Slice) for p in parts):
            return gast.Subscript(value=gast.Attribute(value=load(self.np_name), attr="s_", ctx=gast.Load()),
                                  slice=clone(index), ctx=gast.Load())
        return clone(index)

    def attribute(self, node):
        receiver = self.atom(node.value)
        value = gast.Attribute(value=receiver, attr=node.attr, ctx=gast.Load())
        if node.attr == "T":
            return value, rt.transpose_attribute, [receiver], {}, "attribute .T", None
        if node.attr in NONDIFF_ATTRIBUTES:
            return value, NONDIFF, [receiver], {}, f"attribute .{node.attr}", None
        return value, rt.attribute, [receiver, constant(node.attr)], {}, f"attribute .{node.attr}", None


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


def _is_library(function):
    module = getattr(function, "__module__", "") or ""
    return module.split(".")[0] in ("numpy", "adjoint", "autograd", "jax")


def _symbol(op):
    return {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
            gast.MatMult: "@", gast.Mod: "%", gast.FloorDiv: "//"}.get(type(op), type(op).__name__)


def _dotted(node):
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return type(node).__name__


def _callable_name(obj):
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    if module.startswith("numpy"):
        return f"np.{name}" if getattr(np, name, None) is obj else f"{module}.{name}"
    if module == "builtins":
        return name
    return f"{module}.{name}" if module else name


def normalize(parsed, resolver, namer, has_aux, np_name, rt_name):
    return Normalizer(parsed, resolver, namer, has_aux, np_name, rt_name).function()


def render(normalized):
    """The normalized body as Python text, one op per line (for tests and
    debugging; the forward pass prints the same statements)."""
    import astor

    lines = []
    for op in normalized.ops:
        if op.statement is not None:
            node = op.statement
        elif op.kind == "expr":
            node = gast.Expr(value=op.value)
        else:
            node = gast.Assign(targets=[store(op.targets[0])], value=op.value, type_comment=None)
        lines.append(astor.to_source(gast.gast_to_ast(node)).strip())
    lines.append(f"return {astor.to_source(gast.gast_to_ast(gast.Expr(value=normalized.result))).strip()}")
    return "\n".join(lines)
