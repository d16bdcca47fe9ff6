"""Calls of the ``operator`` module's arithmetic functions as the
expressions they stand for.

``operator.mul(a, b)`` is ``a * b``: the normalizer rewrites the call into
that expression, so it gets every rule the operator has (arrays, Python
numbers, list concatenation and repetition) and nothing new to keep in step.
``operator.__mul__`` is the same object as ``operator.mul``, so both
spellings are covered. A call with keywords or ``*`` arguments is left
alone (the operator functions take neither).
"""
import operator

import gast

BINARY = {
    operator.add: gast.Add, operator.sub: gast.Sub, operator.mul: gast.Mult, operator.truediv: gast.Div,
    operator.floordiv: gast.FloorDiv, operator.mod: gast.Mod, operator.pow: gast.Pow,
    operator.matmul: gast.MatMult,
}
UNARY = {operator.neg: gast.USub, operator.pos: gast.UAdd}


def is_operator_function(value):
    """Whether ``value`` is one of the operator functions written as expressions."""
    try:
        return value in BINARY or value in UNARY
    except TypeError:  # unhashable: not one of them
        return False


def as_expression(callee, node):
    """The expression ``node`` (a call of ``callee``) stands for, or None."""
    if not is_operator_function(callee) or node.keywords or any(isinstance(a, gast.Starred) for a in node.args):
        return None
    if callee in BINARY and len(node.args) == 2:
        return gast.BinOp(left=node.args[0], op=BINARY[callee](), right=node.args[1])
    if callee in UNARY and len(node.args) == 1:
        return gast.UnaryOp(op=UNARY[callee](), operand=node.args[0])
    return None
