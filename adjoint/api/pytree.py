"""Flatten and unflatten nested containers (pytrees).

Containers are tuple, list, dict (in insertion order) and namedtuple; every
other object is a leaf. ``flatten`` returns the leaves in depth-first order and
a ``TreeDef`` that ``unflatten`` uses to rebuild the same structure around new
leaves. Paths (``[0]['W']``) name leaves in error messages.
"""


def _is_namedtuple(value):
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


class TreeDef:
    """The shape of a pytree: a container kind with children, or a leaf."""

    __slots__ = ("kind", "meta", "children", "num_leaves")

    def __init__(self, kind, meta, children):
        self.kind = kind
        self.meta = meta
        self.children = children
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in children)

    def __eq__(self, other):
        return (
            isinstance(other, TreeDef)
            and self.kind == other.kind
            and self.meta == other.meta
            and self.children == other.children
        )

    def __repr__(self):
        if self.kind == "leaf":
            return "*"
        inner = ", ".join(map(repr, self.children))
        if self.kind == "tuple":
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        if self.kind == "list":
            return f"[{inner}]"
        if self.kind == "dict":
            return "{" + ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.meta, self.children, strict=True)) + "}"
        return f"{self.meta.__name__}({inner})"


LEAF = TreeDef("leaf", None, ())


def flatten(tree):
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    if _is_namedtuple(tree):
        return TreeDef("namedtuple", type(tree), tuple(_flatten(v, leaves) for v in tree))
    if isinstance(tree, tuple):
        return TreeDef("tuple", None, tuple(_flatten(v, leaves) for v in tree))
    if isinstance(tree, list):
        return TreeDef("list", None, tuple(_flatten(v, leaves) for v in tree))
    if isinstance(tree, dict):
        keys = tuple(tree)
        return TreeDef("dict", keys, tuple(_flatten(tree[k], leaves) for k in keys))
    leaves.append(tree)
    return LEAF


def unflatten(treedef, leaves):
    iterator = iter(leaves)
    tree = _unflatten(treedef, iterator)
    return tree


def _unflatten(treedef, iterator):
    kind = treedef.kind
    if kind == "leaf":
        return next(iterator)
    children = [_unflatten(c, iterator) for c in treedef.children]
    if kind == "tuple":
        return tuple(children)
    if kind == "list":
        return children
    if kind == "dict":
        return dict(zip(treedef.meta, children, strict=True))
    return treedef.meta(*children)


def leaf_paths(treedef):
    """The path of every leaf, in flatten order, as text like ``[0]['W']``."""
    paths = []
    _paths(treedef, "", paths)
    return paths


def _paths(treedef, prefix, paths):
    if treedef.kind == "leaf":
        paths.append(prefix)
        return
    if treedef.kind == "dict":
        keys = treedef.meta
    elif treedef.kind == "namedtuple":
        keys = treedef.meta._fields
    else:
        keys = range(len(treedef.children))
    for key, child in zip(keys, treedef.children, strict=True):
        step = f".{key}" if treedef.kind == "namedtuple" else f"[{key!r}]"
        _paths(child, prefix + step, paths)


def map_leaves(fn, tree):
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(leaf) for leaf in leaves])
