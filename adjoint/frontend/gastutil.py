"""Small helpers on gast trees shared by the passes: node constructors and a
fast copy (``copy.deepcopy`` spends most of its time on bookkeeping that
plain trees do not need)."""
import collections

import gast

_LOCATION = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def clone(node):
    """A deep copy of a gast node (or list of nodes)."""
    if isinstance(node, list):
        return [clone(child) for child in node]
    if not isinstance(node, gast.AST):
        return node
    copied = node.__class__.__new__(node.__class__)
    for field in node._fields:
        setattr(copied, field, clone(getattr(node, field, None)))
    for attribute in _LOCATION:
        if hasattr(node, attribute):
            setattr(copied, attribute, getattr(node, attribute))
    return copied


def loaded_names(node):
    """The ids of the names ``node`` reads (``Name`` nodes in Load context),
    what ``{n.id for n in gast.walk(node) if isinstance(n, gast.Name) and
    isinstance(n.ctx, gast.Load)}`` gives, about four times faster (the
    passes ask it of every statement, many times over)."""
    return _names(node, True)


def all_names(node):
    """The ids of every ``Name`` node in ``node`` (read, written or a parameter)."""
    return _names(node, False)


def _names(node, loads_only):
    found = set()
    stack = [node]
    pop, push = stack.pop, stack.append
    name_type, load_type, ast_type = gast.Name, gast.Load, gast.AST
    while stack:
        node = pop()
        if type(node) is name_type:
            if not loads_only or type(node.ctx) is load_type:
                found.add(node.id)
            if node.annotation is not None:
                push(node.annotation)
            continue
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast_type):
                        push(item)
            elif isinstance(value, ast_type):
                push(value)
    return found


def load(name):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def store(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


def constant(value):
    return gast.Constant(value=value, kind=None)


def walk(node):
    """The nodes of ``node``'s tree in the order ``ast.walk`` (``gast.walk``)
    gives them (breadth first, each node's children queued before it is
    yielded), about twice as fast: the fields are read directly rather than
    through ``ast.iter_child_nodes``."""
    todo = collections.deque((node,))
    pop, push, ast_type = todo.popleft, todo.append, gast.AST
    while todo:
        node = pop()
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast_type):
                        push(item)
            elif isinstance(value, ast_type):
                push(value)
        yield node


#: (visitor class, node class) -> the function ``visit`` calls for it.
_VISIT_METHODS = {}


class Transformer(gast.NodeTransformer):
    """``gast.NodeTransformer`` (``ast.NodeTransformer``) that does what it
    does, faster: the method a node class dispatches to is looked up once
    per visitor class (not by building its name for every node), and
    ``generic_visit`` reads the fields directly. Its methods must be plain
    methods of the class (as every visitor's are)."""

    def visit(self, node):
        key = (self.__class__, node.__class__)
        try:
            method = _VISIT_METHODS[key]
        except KeyError:
            method = getattr(self.__class__, "visit_" + node.__class__.__name__, None)
            if method is None:
                method = self.__class__.generic_visit
            method = _VISIT_METHODS[key] = method
        return method(self, node)

    def generic_visit(self, node):
        ast_type = gast.AST
        for field in node._fields:
            try:
                old_value = getattr(node, field)
            except AttributeError:
                continue
            if isinstance(old_value, list):
                new_values = []
                for value in old_value:
                    if isinstance(value, ast_type):
                        value = self.visit(value)
                        if value is None:
                            continue
                        if not isinstance(value, ast_type):
                            new_values.extend(value)
                            continue
                    new_values.append(value)
                old_value[:] = new_values
            elif isinstance(old_value, ast_type):
                new_node = self.visit(old_value)
                if new_node is None:
                    delattr(node, field)
                else:
                    setattr(node, field, new_node)
        return node


class Rename(gast.NodeTransformer):
    """Reads of the names in ``renamed`` made reads of their new names
    (``renamed[old]``); stores are left alone."""

    def __init__(self, renamed):
        self.renamed = renamed

    def visit_Name(self, node):
        if isinstance(node.ctx, gast.Load) and node.id in self.renamed:
            return load(self.renamed[node.id])
        return node
