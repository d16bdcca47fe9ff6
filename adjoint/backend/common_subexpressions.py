"""Common subexpressions of generated code computed once.

Derivative rules write each partial from the op's inputs, so two adjoints of
one value often hold the same product: Rosenbrock's backward pass computed
``200.0 * t4`` in the slope of ``x[:-1]`` and again in the adjoint of
``t4``. ``eliminate`` assigns such an expression once to a named temporary
(``t11 = 200.0 * t4``), just before the statement that first computes it,
and reads the name at every occurrence.

What it takes: the top-level statements of one generated function (the
backward body, or forward mode's body) and the function's namer. What it
guarantees: the code computes the same values, minus the repeated
computations; its text is the same in every run (occurrences are met in a
fixed walk order).

An expression is a candidate when it is pure: arithmetic operators
(``+ - * / // % ** @``, unary ``-``, ``+``, ``~``) and NumPy ufuncs called
without keywords (``np.cos(x)``; a ufunc without ``out=`` makes a new
value), over names and number literals, reading at least one name, and not
inside a slice (index arithmetic stays as written), a conditional
expression, a boolean operator, a lambda or a comprehension (which may not
evaluate it). Two occurrences are one value when no statement from the
first to the second (the first's own target excepted, which is bound after
its value is computed) re-binds a name the expression reads, or may change
in place one of those names or a name assigned from an occurrence (which
may hold the very value the temporary shares). What may change a name in
place: a store into a subscript or attribute, an augmented assignment, a
call of a NumPy function with ``out=`` or of a runtime helper not known to
leave its arguments alone (``READERS``) that is passed a name that may
share memory with it. Names may share memory when one was assigned from an
expression over the other that is not pure (a call, a slice, a plain copy
of the name; tuple unpacking relates all its targets and sources). A call
of anything else (a function of the user's, a method), a compound
statement, ``global``/``nonlocal`` and ``:=`` may change any value:
nothing is shared across them.

``drop_unread`` removes, from forward mode's body, the tangents that nothing
reads: the fused tangent code (``fuse_tangents``) writes a chain's sum where
it is read and leaves the statements of its links, each a pass over the
batch of tangents (``jacfwd`` of ``x ** 2 + 3.0 * x ** 3`` computed
``t1_dot``, ``t2_dot`` and ``t3_dot``, then ``t4_dot`` from ``x_dot``
alone). Only a top-level assignment of one tangent name by a pure
expression (above) that no later statement reads and that is not returned
is removed; the primal statements all stay.
"""
import gast
import numpy as np

from ..frontend.gastutil import load, store, walk
from .one_example import NUMPY_WRITERS, PURE_HELPERS

_OPERATORS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.FloorDiv, gast.Mod, gast.Pow, gast.MatMult)
_UNARY = (gast.USub, gast.UAdd, gast.Invert)
_OPAQUE = (gast.IfExp, gast.BoolOp, gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp,
           gast.GeneratorExp)

#: runtime helpers that read their arguments and write into none of them
#: (the result may be an argument or a view of one: see the aliasing above)
READERS = PURE_HELPERS | frozenset({
    "unbroadcast", "unreduce", "times_tangent", "getitem_adjoint", "matmul_adjoint_left",
    "matmul_adjoint_right", "transpose_adjoint", "extremum_adjoint", "output_basis", "scalar_seed",
    "batch_size", "gradient_from_row", "jacobian_from_rows",
})


def _is_np(node, np_name):
    return isinstance(node, gast.Name) and node.id == np_name


def _ufunc(call, np_name):
    func = call.func
    return (isinstance(func, gast.Attribute) and _is_np(func.value, np_name)
            and isinstance(getattr(np, func.attr, None), np.ufunc)
            and not call.keywords and not any(isinstance(a, gast.Starred) for a in call.args))


def _pure(node, np_name):
    if isinstance(node, gast.Name):
        return True
    if isinstance(node, gast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, gast.BinOp):
        return isinstance(node.op, _OPERATORS) and _pure(node.left, np_name) and _pure(node.right, np_name)
    if isinstance(node, gast.UnaryOp):
        return isinstance(node.op, _UNARY) and _pure(node.operand, np_name)
    if isinstance(node, gast.Call):
        return _ufunc(node, np_name) and all(_pure(a, np_name) for a in node.args)
    return False


def _names(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name)}


def _candidates(node, np_name, found):
    """Pure, non-trivial subexpressions of ``node`` reading a name, outermost first."""
    if isinstance(node, _OPAQUE):
        return
    if isinstance(node, gast.Subscript):
        _candidates(node.value, np_name, found)
        return
    if isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Call)) and _pure(node, np_name) and _names(node):
        found.append(node)
    for child in gast.iter_child_nodes(node):
        _candidates(child, np_name, found)


def _calls_writing(stmt, np_name, rt_name):
    """Arguments of calls in ``stmt`` that may write into them."""
    passed = set()
    for node in walk(stmt):
        if not isinstance(node, gast.Call) or _ufunc(node, np_name):
            continue
        func = node.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name):
            module, attr = func.value.id, func.attr
            if module == rt_name and attr in READERS:
                continue
            if (module == np_name and attr not in NUMPY_WRITERS
                    and not any(k.arg == "out" for k in node.keywords)):
                continue
        for part in node.args + [k.value for k in node.keywords] + [func]:
            passed |= _names(part)
    return passed


def _stores(stmt):
    """Names ``stmt`` re-binds, and names it changes in place by a store or ``+=``."""
    bound, changed = set(), set()
    targets = stmt.targets if isinstance(stmt, gast.Assign) else (
        [stmt.target] if isinstance(stmt, (gast.AugAssign, gast.AnnAssign)) else [])
    for target in targets:
        for node in walk(target):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                bound.add(node.id)
            elif isinstance(node, (gast.Subscript, gast.Attribute)):
                changed |= _names(node.value)
    if isinstance(stmt, gast.AugAssign):
        changed |= _names(stmt.target)
    return bound, changed


class _Aliases:
    """Which names may share memory (union of sets, grown statement by statement)."""

    def __init__(self):
        self.parent = {}

    def find(self, name):
        while self.parent.get(name, name) != name:
            name = self.parent[name]
        return name

    def join(self, names):
        names = [self.find(n) for n in names]
        for n in names[1:]:
            if n != names[0]:
                self.parent[n] = names[0]

    def closure(self, names):
        roots = {self.find(n) for n in names}
        return {n for n in set(self.parent) | set(names) if self.find(n) in roots} | set(names)


def _barrier(stmt, np_name, rt_name):
    """Whether ``stmt`` may change what any name holds: a compound statement,
    ``:=``, or a call of anything other than a NumPy function or a runtime
    helper (a function of the user's, a method, another transform's code may
    change a global array or an object's state)."""
    if not isinstance(stmt, (gast.Assign, gast.AugAssign, gast.Expr, gast.Return)):
        return True
    for node in walk(stmt):
        if isinstance(node, (gast.NamedExpr, gast.Global, gast.Nonlocal, gast.Yield, gast.Await)):
            return True
        if isinstance(node, gast.Call):
            func = node.func
            while isinstance(func, gast.Attribute):
                func = func.value
            if not (isinstance(func, gast.Name) and func.id in (np_name, rt_name)
                    and isinstance(node.func, gast.Attribute)):
                return True
    return False


class _Replace(gast.NodeTransformer):
    def __init__(self, replaced):
        self.replaced = replaced  # id(node) -> name

    def visit(self, node):
        name = self.replaced.get(id(node))
        if name is not None:
            return load(name)
        return self.generic_visit(node)


def eliminate(body, namer, np_name, rt_name):
    """``body`` with each repeated pure expression computed once (see the module's text)."""
    body = list(body)
    for _ in range(64):  # each round removes one repetition; bodies that need more keep the rest
        group = _first_repetition(body, np_name, rt_name)
        if group is None:
            return body
        first, occurrences = group
        name = namer.temp()
        value = occurrences[0]
        replaced = {id(node): name for node in occurrences}
        body = [_Replace(replaced).visit(stmt) for stmt in body]
        body.insert(first, gast.Assign(targets=[store(name)], value=value, type_comment=None))
    return body


def _first_repetition(body, np_name, rt_name):
    """The largest expression computed more than once as one value (the
    earliest among equals): (index of the statement first computing it, its
    occurrences), or None."""
    aliases = _Aliases()
    open_groups = {}  # dump -> (first index, occurrences, names read, names that may hold it)
    closed = []

    def close(keys):
        for key in keys:
            group = open_groups.pop(key)
            if len(group[1]) > 1:
                closed.append(group)

    for i, stmt in enumerate(body):
        if _barrier(stmt, np_name, rt_name):
            close(list(open_groups))
            continue
        bound, changed = _stores(stmt)
        written_here = aliases.closure(_calls_writing(stmt, np_name, rt_name) | changed)
        close([key for key, group in open_groups.items() if (group[2] | group[3]) & written_here])
        found = []
        if stmt.value is not None:
            _candidates(stmt.value, np_name, found)
        for node in found:
            names = _names(node)
            if names & written_here:
                continue
            key = gast.dump(node)
            if key not in open_groups:
                open_groups[key] = (i, [], names, set())
            open_groups[key][1].append(node)
            open_groups[key][3].update(bound)  # (names that may hold the shared value itself)
        close([key for key, group in open_groups.items() if group[2] & bound])
        if isinstance(stmt, gast.Assign) and not (_pure(stmt.value, np_name)
                                                  and not isinstance(stmt.value, gast.Name)):
            aliases.join(sorted(bound | _names(stmt.value)))
    close(list(open_groups))
    if not closed:
        return None
    size, first, occurrences = max(
        ((sum(1 for _ in walk(group[1][0])), -group[0], group[1]) for group in closed),
        key=lambda entry: entry[:2])
    return -first, occurrences


def drop_unread(body, tangents, returned, np_name):
    """``body`` without the top-level assignments of a name in ``tangents``
    by a pure expression that no later statement reads and that is not in
    ``returned`` (see the module's text)."""
    if any(isinstance(n, (gast.Global, gast.Nonlocal)) for stmt in body for n in walk(stmt)):
        return list(body)
    live = set(returned)
    kept = []
    for stmt in reversed(body):
        if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)
                and stmt.targets[0].id in tangents and stmt.targets[0].id not in live
                and _pure(stmt.value, np_name)):
            continue
        live |= _names(stmt)
        kept.append(stmt)
    return kept[::-1]
