"""Small helpers on gast trees shared by the passes: node constructors and a
fast copy (``copy.deepcopy`` spends most of its time on bookkeeping that
plain trees do not need)."""
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


def load(name):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def store(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


def constant(value):
    return gast.Constant(value=value, kind=None)
