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
* the name (and, where an op of the function may change an array in
  place, every name the expression reads) is used in the forward pass
  only by other arithmetic ops, as inputs of a NumPy ufunc called without
  an output argument, or as arguments of a NumPy function whose
  result is always new (``_FRESH``, without ``out=``); a name bound to one
  of them by ``a = b`` counts as it: nothing can change them in place
  (``np.copyto(y, v)``, ``y.fill(v)``, ``np.multiply(y, 2, y)``, a write
  through a view), hand them to a function that might, or return them (an
  output the caller could change before the backward pass runs). (A read
  changed in place after the value was made would give the derivative code
  the value from before the change.)

``reuse`` leaves alone every name the derivative code assigns itself (a
loop's backward body unpacks its tape into the forward's names), and
replaces bottom-up, so ``-(x ** 2)`` becomes ``t3`` where the forward pass
has ``t2 = x ** 2`` and ``t3 = -t2``. ``reuse_in_order`` does the same in
forward mode's one body, after the statement that assigns each name.
"""
import gast
import numpy as np

from ..frontend.gastutil import clone, load, walk
from ..frontend.ir import MethodCall, StarredCall, UserCall, walk_ops

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


#: NumPy functions whose result is always a new array (never a view of an
#: argument) and that change no argument unless given ``out=``
_FRESH = frozenset({np.sum, np.mean, np.prod, np.dot, np.inner, np.outer, np.vdot, np.max, np.min,
                    np.amax, np.amin, np.std, np.var, np.trace, np.cumsum, np.cumprod,
                    np.linalg.norm, np.linalg.det, np.linalg.inv, np.linalg.solve})


def _plain_use(op):
    """Whether ``op`` only reads its names to make a new value (arithmetic,
    a NumPy ufunc without an output argument, or a function of ``_FRESH``
    without ``out=``): it neither changes them in place nor makes a view of
    them."""
    if op.compound or op.kind != "assign" or op.statement is not None or op.call_forward is not None:
        return False
    if _arithmetic(op.value):
        return True
    if not isinstance(op.value, gast.Call) or any(isinstance(a, gast.Starred) for a in op.value.args):
        return False
    if isinstance(op.prim, np.ufunc):  # (a third positional argument of np.multiply is its output)
        return not op.kwargs and len(op.value.args) <= op.prim.nin
    try:
        fresh = op.prim in _FRESH
    except TypeError:  # (an unhashable callable)
        return False
    # (two positional arguments at most: np.dot(a, b, out) and np.max(a, axis, out) take an output third)
    return (fresh and len(op.value.args) <= 2 and "out" not in op.kwargs
            and not any(k.arg is None for k in op.value.keywords))


def _may_change(op):
    """Whether ``op`` may change an array in place (a call run for its
    effect other than a check, an output argument, a call of a method or of
    the user's function, a statement kept as it is)."""
    if op.compound:
        return False  # (its ops are walked)
    if op.kind == "expr":
        func = op.value.func if isinstance(op.value, gast.Call) else None
        return not (isinstance(func, gast.Attribute) and func.attr.startswith("check"))
    if op.kind not in ("assign", "unpack") or op.statement is not None or op.call_forward is not None:
        return True
    if "out" in op.kwargs or isinstance(op.prim, (MethodCall, UserCall, StarredCall)):
        return True
    return (isinstance(op.prim, np.ufunc) and isinstance(op.value, gast.Call)
            and len(op.value.args) > op.prim.nin)


def _aliased(normalized, unsafe):
    """``unsafe`` with every name bound to another by ``a = b`` (the same
    array: a change through one is a change of the other) joined to it."""
    pairs = [(op.targets[0], op.value.id) for op in walk_ops(normalized.ops)
             if op.kind == "assign" and len(op.targets) == 1 and isinstance(op.value, gast.Name)]
    changed = True
    while changed:
        changed = False
        for a, b in pairs:
            if (a in unsafe) != (b in unsafe):
                unsafe |= {a, b}
                changed = True
    return unsafe


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
    unsafe = _aliased(normalized, unsafe)
    # (where nothing changes an array in place, the names an expression reads
    # keep their values: they may be read by anything, views included)
    guarded_reads = unsafe if any(_may_change(op) for op in walk_ops(normalized.ops)) else set()
    known = {}
    for op in normalized.ops:
        if (op.compound or op.kind != "assign" or op.statement is not None or op.call_forward is not None
                or len(op.targets) != 1 or isinstance(op.value, gast.Name) or not _arithmetic(op.value)):
            continue
        name = op.targets[0]
        reads = _names(op.value)
        if (not reads or name in unsafe or reads & guarded_reads or counts.get(name) != 1
                or any(counts.get(r) != 1 for r in reads)):
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
