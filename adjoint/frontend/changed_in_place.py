"""The names of a function whose arrays its code may change in place without
assigning them: what the normalizer must not compute once for two places.

The normalizer computes a pure primitive on the same SSA names once
(``y - 1`` written twice is one op). A value NumPy changes in place keeps
its name: after ``np.copyto(y, 3.0)``, ``y.fill(3.0)``,
``np.multiply(y, 2, y)`` or ``np.add(a, b, out=y)`` (allowed on values that
carry no derivative), ``y - 1`` is another number, and reading the first
one gave a silently wrong value and derivative.

``changed_in_place(node)`` takes a function's AST (gast) and returns the
user's names (as written, nested functions included) that such a change
may reach: every name read by a call written as a statement (its result
unused: called for what it does), by a call with ``out=``, by a NumPy ufunc
given more positional arguments than it takes inputs (the rest are
outputs), by a method that changes its object (``.sort()``, ``.fill()``),
or passed to a function defined inside this one; then every name joined to
one of those by an assignment (``v = y[:2]``: a view; ``w = v``), both
ways, since they may share memory. Conservative: a name it returns only
loses the sharing of equal expressions.
"""
import gast
import numpy as np
from .gastutil import walk as walk_tree

#: methods of an array that change it in place
_CHANGING_METHODS = frozenset({"sort", "fill", "resize", "put", "partition", "itemset", "setfield",
                               "setflags", "byteswap", "__setitem__", "__iadd__", "__isub__", "__imul__",
                               "__itruediv__"})


def _names(node):
    return {n.id for n in walk_tree(node) if isinstance(n, gast.Name)}


def _ufunc_outputs(call):
    """Whether ``call`` (``np.multiply(a, b, out)``) passes a ufunc an output by position."""
    func = call.func
    if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)):
        return False
    ufunc = getattr(np, func.attr, None)
    return isinstance(ufunc, np.ufunc) and len(call.args) > ufunc.nin


def _reads_only(func):
    """Whether a call of ``func`` run as a statement only reads its arguments:
    ``print``, and the checks derivative code makes (``rt.check_bound``,
    ``rt.refuse_complex_arguments``)."""
    if isinstance(func, gast.Name):
        return func.id == "print"
    return (isinstance(func, gast.Attribute) and func.attr.startswith(("check_", "refuse_"))
            and isinstance(func.value, gast.Name) and func.value.id.startswith("rt"))


def changed_in_place(node):
    """The names of function ``node`` whose arrays may change in place (see the module's text)."""
    local_defs = {n.name for n in walk_tree(node) if isinstance(n, gast.FunctionDef) and n is not node}
    changed = set()
    for child in walk_tree(node):
        if isinstance(child, gast.Expr) and isinstance(child.value, gast.Call):
            if not _reads_only(child.value.func):
                changed |= _names(child.value)
        elif isinstance(child, gast.Call):
            func = child.func
            if (any(k.arg == "out" for k in child.keywords) or _ufunc_outputs(child)
                    or (isinstance(func, gast.Attribute) and func.attr in _CHANGING_METHODS)
                    or (isinstance(func, gast.Name) and func.id in local_defs)):
                changed |= _names(child)
    if not changed:
        return changed
    pairs = []
    for child in walk_tree(node):
        if isinstance(child, (gast.Assign, gast.AnnAssign, gast.AugAssign, gast.NamedExpr)) and child.value is not None:
            targets = child.targets if isinstance(child, gast.Assign) else [child.target]
            written = set().union(*(_names(t) for t in targets))
            pairs.append((written, _names(child.value)))
        elif isinstance(child, gast.For):
            pairs.append((_names(child.target), _names(child.iter)))
    grew = True
    while grew:
        grew = False
        for written, read in pairs:
            group = written | read
            if group & changed and not group <= changed:
                changed |= group
                grew = True
    return changed
