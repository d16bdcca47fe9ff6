"""Static shape equalities between names, without knowing any shape.

``same_shape_classes(ops)`` groups names whose arrays are certain to have the
same shape whatever the inputs. Only names assigned once count (a name
that merges branches or carries a value between loop iterations may take
values of different shapes). A unary elementwise function keeps its
input's shape, an arithmetic operator with a Python number on one side keeps
the other side's shape, two operands already known to match give their
shape to the result, and a copy is its source. Values of shape () (Python
numbers, full reductions, and what is computed from them alone, loop
accumulators included) form one class, and act like numbers in broadcasting.
Two slices of one argument that keep the same count of each axis's ends
(``x[1:]`` and ``x[:-1]``) have the same shape too. The reverse transformer uses
this to drop ``rt.unbroadcast`` where it is certain to do nothing, and the
optimizer to merge scalings of adjoints that have the same shape.
"""
import gast
import numpy as np

from .. import runtime as rt
from ..frontend.ir import NONDIFF

UNARY_ELEMENTWISE = {
    np.sin, np.cos, np.tan, np.arcsin, np.arccos, np.arctan, np.sinh, np.cosh,
    np.tanh, np.exp, np.exp2, np.log, np.log2, np.log10, np.log1p, np.expm1,
    np.sqrt, np.square, np.reciprocal, np.abs, np.negative, np.positive,
    rt.identity, np.copy, np.sign,
}
BINARY_ELEMENTWISE = {
    np.add, np.subtract, np.multiply, np.divide, np.power, np.maximum,
    np.minimum, np.arctan2, np.mod,
}


def _is_number(node):
    """A literal number, or ``-literal``."""
    return (isinstance(node, gast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


class ShapeClasses:
    def __init__(self):
        self.parent = {}

    def find(self, name):
        root = name
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        return root

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)

    def same(self, a, b):
        return a == b or self.find(a) == self.find(b)


#: reductions whose result is a single value when no axis is given.
FULL_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std}
#: keyword arguments that leave a full reduction's result a single value.
_REDUCTION_KEYWORDS = {"dtype", "ddof"}
#: the class of every value known to have shape ().
SCALAR = ("scalar",)


def _is_none_or_false(node):
    return isinstance(node, gast.Constant) and (node.value is None or node.value is False)


def _scalar_result(op, is_scalar):
    """Whether ``op`` gives a value of shape (), given ``is_scalar(atom)``
    for its arguments."""
    prim, args = op.prim, op.args
    if prim is NONDIFF:  # a constant: total = 0.0
        return len(args) == 1 and _is_number(args[0]) and not op.kwargs
    if op.kwargs and prim not in FULL_REDUCTIONS:
        return False
    if prim in UNARY_ELEMENTWISE or prim in BINARY_ELEMENTWISE:
        return all(is_scalar(a) for a in args)
    if prim in FULL_REDUCTIONS:
        return len(args) == 1 and all(key in _REDUCTION_KEYWORDS or
                                      (key in ("axis", "keepdims") and _is_none_or_false(value))
                                      for key, value in op.kwargs.items())
    if prim is float or getattr(prim, "__module__", None) == "math":
        return True  # a Python float (or int) whatever the argument
    return False


def scalar_names(ops, is_number=lambda name: False):
    """Names certain to hold a value of shape () whenever they are read.

    The largest set of names whose every assignment gives a scalar if the
    names it reads from the set do: a loop accumulator ``total = 0.0``,
    ``total = total + np.sum(...)`` is one, since each iteration keeps it
    scalar. Arguments are not in it (they can be anything)."""
    definitions = {}
    for op in ops:
        for target in op.targets:
            if isinstance(target, str):
                definitions.setdefault(target, []).append(op)
    candidates = {name for name, defs in definitions.items() if all(d.kind == "assign" for d in defs)}

    def is_scalar(atom):
        return _is_number(atom) or (isinstance(atom, gast.Name)
                                    and (atom.id in candidates or is_number(atom.id)))

    changed = True
    while changed:
        changed = False
        for name in sorted(candidates):
            if not all(_scalar_result(op, is_scalar) for op in definitions[name]):
                candidates.discard(name)
                changed = True
    return candidates


def same_shape_classes(ops, is_number=lambda name: False):
    """``is_number(name)``: the name is a global bound to a Python number
    (a constant for shapes; the compiled code checks it stays one)."""
    ops = list(ops)
    classes = ShapeClasses()
    scalars = scalar_names(ops, is_number)
    for name in scalars:
        classes.union(name, SCALAR)
    definitions = {}
    for op in ops:
        for target in op.targets:
            if isinstance(target, str):
                definitions[target] = definitions.get(target, 0) + 1

    def is_constant(atom):
        return _is_number(atom) or (isinstance(atom, gast.Name) and (is_number(atom.id) or atom.id in scalars))

    slices = {}  # (array name, _slice_key) -> the first target taking that slice
    for op in ops:
        if op.kind != "assign" or not op.args:
            continue
        target = op.targets[0]
        if definitions[target] > 1:
            # A merge of branches or a loop-carried name: its values come from
            # several places (or iterations) whose shapes may differ.
            continue
        names = [a for a in op.args if isinstance(a, gast.Name) and not is_constant(a)]
        numbers = [a for a in op.args if is_constant(a)]
        if op.prim in UNARY_ELEMENTWISE and len(op.args) == 1 and names and not op.kwargs:
            classes.union(target, names[0].id)
        elif op.prim in BINARY_ELEMENTWISE and len(op.args) == 2 and not op.kwargs:
            if len(names) == 1 and len(numbers) == 1:
                classes.union(target, names[0].id)
            elif len(names) == 2 and classes.same(names[0].id, names[1].id):
                classes.union(target, names[0].id)
        elif op.prim is rt.getitem and len(op.args) == 2 and not op.kwargs and isinstance(op.args[0], gast.Name):
            source, key = op.args[0].id, _slice_key(op.args[1])
            if key is not None and definitions.get(source, 0) == 0:  # (an argument or a free name: one value)
                classes.union(target, slices.setdefault((source, key), target))
    return classes


def _slice_bound(node):
    """A literal int bound of a slice (``-k`` included), else None."""
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        inner = _slice_bound(node.operand)
        return None if inner is None else -inner
    if isinstance(node, gast.Constant) and type(node.value) is int:
        return node.value
    return None


def _slice_key(index):
    """For an index ``np.s_[a:-b, ...]`` made of slices only, each with a
    literal start ``a >= 0`` (or none) and a literal stop ``-b < 0`` (or
    none) and no step: the tuple of ``a + b`` per axis (trailing zeros
    dropped); else None. Such a slice keeps ``max(0, n - a - b)`` of an
    axis of length ``n`` (Python's and NumPy's slicing clamp both ends), so
    two slices of one value with the same key have the same shape:
    ``x[1:]`` and ``x[:-1]`` (the neighbours of a stencil), ``x[2:]``,
    ``x[1:-1]`` and ``x[:-2]``."""
    if not (isinstance(index, gast.Subscript) and isinstance(index.value, gast.Attribute)
            and index.value.attr == "s_" and isinstance(index.value.value, gast.Name)):
        return None
    parts = index.slice.elts if isinstance(index.slice, gast.Tuple) else [index.slice]
    key = []
    for part in parts:
        if not isinstance(part, gast.Slice) or part.step is not None:
            return None
        start = 0 if part.lower is None else _slice_bound(part.lower)
        stop = 0 if part.upper is None else _slice_bound(part.upper)
        if start is None or stop is None or start < 0 or stop > 0 or (part.upper is not None and stop == 0):
            return None
        key.append(start - stop)
    while key and key[-1] == 0:
        key.pop()
    return tuple(key)
