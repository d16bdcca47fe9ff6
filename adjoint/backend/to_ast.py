"""gast -> ast for printing, faster than ``gast.gast_to_ast``.

The printers read standard ``ast`` trees, and every transform converts the
module it generated once. gast's converter is an ``ast.NodeTransformer``
that, for each node, builds the name of its visit method, looks the method
up, asks the ``ast`` module for the class of the same name and copies the
fields and attributes it finds; that bookkeeping is most of its time.

``gast_to_ast`` here makes the same tree: it is gast's own converter class
(every ``visit_X`` of it, which handles what differs between gast and the
running Python's ast: Name, arguments, Assign, FunctionDef, ExceptHandler,
...) with the per-node bookkeeping done once per node class: the method a
class dispatches to, and for the other classes the ``ast`` class, fields
and attributes to copy.
"""
import ast

import gast

try:
    from gast.ast3 import GAstToAst3
except ImportError:  # (a gast that moved its converter: use it as it is)
    GAstToAst3 = None

_AST = ast.AST


class _Converter(GAstToAst3 or object):
    """gast's converter with its dispatch and generic copy kept per class."""

    _methods = {}  # gast class -> bound-method name, or None for the generic copy
    _generic = {}  # gast class -> (ast class or None, fields, attributes)

    def _visit(self, node):
        if isinstance(node, _AST):
            return self.visit(node)
        if isinstance(node, list):
            return [self._visit(n) for n in node]
        return node

    def visit(self, node):
        cls = node.__class__
        try:
            method = self._methods[cls]
        except KeyError:
            name = "visit_" + cls.__name__
            method = self._methods[cls] = name if hasattr(self, name) else None
        if method is None:
            return self.generic_visit(node)
        return getattr(self, method)(node)

    def generic_visit(self, node):
        cls = node.__class__
        try:
            target, fields, attributes = self._generic[cls]
        except KeyError:
            target = getattr(ast, cls.__name__, None)
            fields, attributes = cls._fields, cls._attributes
            self._generic[cls] = (target, fields, attributes)
        if target is None:
            return None  # (as gast: a node that is not part of the ast)
        visit = self._visit
        values = {}
        for field in fields:
            try:
                value = getattr(node, field)
            except AttributeError:
                continue
            values[field] = visit(value)
        new_node = target(**values)
        for attr in attributes:
            try:
                setattr(new_node, attr, getattr(node, attr))
            except AttributeError:
                pass
        return new_node


def gast_to_ast(node):
    """The ``ast`` tree ``gast.gast_to_ast(node)`` makes."""
    if GAstToAst3 is None:
        return gast.gast_to_ast(node)
    return _Converter().visit(node)
