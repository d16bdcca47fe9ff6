"""Derivative code that reads a value the forward pass computed, instead of
computing it again.

A derivative rule writes a partial from the op's inputs (``3 * x ** 2`` for
``x ** 3``, ``-(t1 * t4) * (2 * x)`` for a product of an exponential), so the
code of an elementwise chain recomputes values the forward pass already
holds (``t2 = x ** 2``, ``t5 = t1 * t4``): on a small array each is one more
NumPy call, a large part of a small derivative's time. ``reuse`` replaces
every subexpression of the derivative code that is, node for node, the right
side of such a forward assignment by the name it was assigned to (the
backward pass then reads it as one more residual).

What ``forward_values`` takes as a known value ``name = expr`` (and why the
name then holds exactly what ``expr`` would compute again):

* an op at the top level of the function (not in a branch or loop: it ran,
  once), assigning one name an arithmetic expression (``+ - * / // % **
  @``, unary ``-`` and ``+``) over names and number literals: an operator
  returns a new value, never a view of an operand;
* the name and every name the expression reads are assigned once in the
  whole function (parameters: never), so each means one value everywhere;
* the name is used in the forward pass only by other arithmetic ops or as
  an argument of a NumPy ufunc called without keywords (which make new
  arrays): nothing can change it in place, hand it to a function that
  might, or return it (an output the caller could change before the
  backward pass runs).

``reuse`` leaves alone every name the derivative code assigns itself (a
loop's backward body unpacks its tape into the forward's names), and
replaces bottom-up, so ``-(x ** 2)`` becomes ``t3`` where the forward pass
has ``t2 = x ** 2`` and ``t3 = -t2``. ``reuse_in_order`` does the same in
forward mode's one body, after the statement that assigns each name.
"""
import gast
import numpy as np

from ..frontend.gastutil import clone, load, walk
from ..frontend.ir import walk_ops

_OPERATORS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.FloorDiv, gast.Mod, gast.Pow, gast.MatMult)


def _arithmetic(node):
    """Whether ``node`` is an arithmetic expression over names and numbers."""
    if isinstance(node, gast.Name):
        return True
    if isinstance(node, gast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, gast.BinOp):
        return isinstance(node.op, _OPERATORS) and _arithmetic(node.left) and _arithmetic(node.right)
    if isinstance(node, gast.UnaryOp):
        return isinstance(node.op, (gast.USub, gast.UAdd)) and _arithmetic(node.operand)
    return False


def _key(node):
    return gast.dump(node)


def _names(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name)}


def _plain_use(op):
    """Whether ``op`` only reads its names to make a new value (arithmetic,
    or a NumPy ufunc without keywords)."""
    if op.compound or op.kind != "assign" or op.statement is not None or op.call_forward is not None:
        return False
    if _arithmetic(op.value):
        return True
    return isinstance(op.prim, np.ufunc) and not op.kwargs and isinstance(op.value, gast.Call) and not any(
        isinstance(a, gast.Starred) for a in op.value.args)


def forward_values(normalized):
    """``{dump of expr: (name, names expr reads)}``: the values the forward pass of ``normalized``
    (the normalized function) computes that derivative code may read
    instead of computing them again (see the module's text)."""
    counts = {name: 1 for name in normalized.params}
    unsafe = set()  # names used by something other than a plain op
    for op in walk_ops(normalized.ops):
        for target in op.targets:
            counts[target] = counts.get(target, 0) + 1
        if op.tape:
            counts[op.tape] = counts.get(op.tape, 0) + 1
        if not _plain_use(op):
            for part in [op.value, op.statement, *op.args, *op.kwargs.values()]:
                if isinstance(part, gast.AST):
                    unsafe |= _names(part)
    unsafe |= _names(normalized.result) if isinstance(normalized.result, gast.AST) else set()
    known = {}
    for op in normalized.ops:
        if (op.compound or op.kind != "assign" or op.statement is not None or op.call_forward is not None
                or len(op.targets) != 1 or isinstance(op.value, gast.Name) or not _arithmetic(op.value)):
            continue
        name = op.targets[0]
        reads = _names(op.value)
        if not reads or name in unsafe or counts.get(name) != 1 or any(counts.get(r) != 1 for r in reads):
            continue
        known.setdefault(_key(op.value), (name, frozenset(reads)))
    return known


class _Reuse(gast.NodeTransformer):
    """Replaces known expressions in place, bottom-up; the nodes of the
    forward pass's own statements (``shared``, by id) are never changed."""

    def __init__(self, known, shared):
        self.known, self.shared = known, shared

    def generic_visit(self, node):
        if id(node) in self.shared:
            return node
        node = super().generic_visit(node)
        if isinstance(node, (gast.BinOp, gast.UnaryOp)):
            name = self.known.get(_key(node))
            if name is not None:  # (the forward pass's name for it)
                return load(name)
        return node


def forward_nodes(normalized):
    """The ids of the nodes the forward pass's ops hold (their statements
    may share them with derivative code: those are left as they are)."""
    ids = set()
    parts = [normalized.result, *normalized.prologue]
    for op in walk_ops(normalized.ops):
        parts.extend([op.value, op.statement, op.loop_target, *op.args, *op.kwargs.values()])
    for part in parts:
        if isinstance(part, gast.AST):
            ids.update(id(n) for n in walk(part))
    return ids


def reuse(body, known, shared):
    """``body`` (derivative code: statements) with each expression that the
    forward pass computed (``known``, from ``forward_values``) replaced by
    the name holding it; names ``body`` assigns are never read from there.
    ``shared``: ``forward_nodes(normalized)``."""
    if not known:
        return body
    assigned = {n.id for stmt in body for n in walk(stmt)
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    usable = {key: name for key, (name, reads) in known.items() if name not in assigned and not reads & assigned}
    if not usable:
        return body
    transformer = _Reuse(usable, shared)
    return [transformer.visit(stmt) for stmt in body]  # (in place: the builder holds some of these nodes)


def reuse_in_order(body, known, shared):
    """``reuse`` for code that computes the forward values itself (forward
    mode: primal and tangent statements in one body): an expression is
    replaced only in the statements after the top-level one that assigns
    its name, which is left as it is."""
    if not known:
        return body
    stores = {}
    for stmt in body:
        for n in walk(stmt):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                stores[n.id] = stores.get(n.id, 0) + 1
    by_name = {name: key for key, (name, reads) in known.items()
               if stores.get(name) == 1 and all(stores.get(r, 0) <= 1 for r in reads)}
    available = {}
    out = []
    for stmt in body:
        target = (stmt.targets[0].id if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                  and isinstance(stmt.targets[0], gast.Name) else None)
        defines = target in by_name and _key(stmt.value) == by_name[target]
        if available and not defines:
            # (a copy: the tangent code shares subtrees between statements, and a
            # statement before the one assigning a name must not read it)
            stmt = _Reuse(available, shared).visit(clone(stmt))
        out.append(stmt)
        if defines:
            available[by_name[target]] = target
    return out
