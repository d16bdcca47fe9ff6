"""Static shape equalities between names, without knowing any shape.

``same_shape_classes(ops)`` groups names whose arrays are certain to have the
same shape whatever the inputs. Only names assigned once count (a name
that merges branches or carries a value between loop iterations may take
values of different shapes). A unary elementwise function keeps its
input's shape, an arithmetic operator with a Python number on one side keeps
the other side's shape, two operands already known to match give their
shape to the result, and a copy is its source. The reverse transformer uses
this to drop ``rt.unbroadcast`` where it is certain to do nothing, and the
optimizer to merge scalings of adjoints that have the same shape.
"""
import gast
import numpy as np

from . import runtime as rt

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


def same_shape_classes(ops, is_number=lambda name: False):
    """``is_number(name)``: the name is a global bound to a Python number
    (a constant for shapes; the compiled code checks it stays one)."""
    classes = ShapeClasses()
    definitions = {}
    for op in ops:
        for target in op.targets:
            if isinstance(target, str):
                definitions[target] = definitions.get(target, 0) + 1
    for op in ops:
        if op.kind != "assign" or not op.args:
            continue
        target = op.targets[0]
        if definitions[target] > 1:
            # A merge of branches or a loop-carried name: its values come from
            # several places (or iterations) whose shapes may differ.
            continue
        names = [a for a in op.args if isinstance(a, gast.Name) and not is_number(a.id)]
        numbers = [a for a in op.args if _is_number(a) or (isinstance(a, gast.Name) and is_number(a.id))]
        if op.prim in UNARY_ELEMENTWISE and len(op.args) == 1 and names and not op.kwargs:
            classes.union(target, names[0].id)
        elif op.prim in BINARY_ELEMENTWISE and len(op.args) == 2 and not op.kwargs:
            if len(names) == 1 and len(numbers) == 1:
                classes.union(target, names[0].id)
            elif len(names) == 2 and classes.same(names[0].id, names[1].id):
                classes.union(target, names[0].id)
    return classes

