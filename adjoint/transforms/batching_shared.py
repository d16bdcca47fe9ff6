"""vmap of a call, run once per example, of a function of the user's that
changes what it is given (``step(s, x)`` setting ``s.h``).

When the batched code cannot batch such a call it runs it once per example
(``rt.vmap_loop``). An argument that is not batched is then one value for
the whole batch (an object of the module, a dict's item, an alias of one):
each example would change it in turn, and read what the previous example
left there, which no batch of independent examples does. The whole
function then runs once per example instead, each example from the state
the objects had before the call (backend/vmap_objects): vmap gives the
per-example loop's results, and examples that leave different states in
one object are refused at the line of the change.
"""
import types

import gast

from .. import errors
from .. import runtime as rt
from ..frontend.ir import is_library
from ..frontend.gastutil import walk as walk_tree

#: methods of lists, dicts and sets that change them in place
CONTAINER_CHANGES = frozenset(("append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault",
                               "add", "discard", "sort", "reverse", "popitem"))


def _root(node):
    """The name a chain ``a.b[i].c`` starts from, or None."""
    while isinstance(node, (gast.Attribute, gast.Subscript)):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


#: NumPy functions (and ufunc methods) that write into their first argument, and array methods that change theirs
_WRITES_FIRST = {"at", "copyto", "fill_diagonal", "put", "place", "putmask", "put_along_axis"}
_ARRAY_CHANGES = {"fill", "sort", "put", "partition", "resize", "itemset", "byteswap"}


def changed_parameters(function, seen=None):
    """The names of ``function``'s parameters whose contents its body
    changes: ``p.h = v``, ``p.a.b = v``, ``p[i] = v``, ``p.h += v``,
    ``p.items.append(v)``, or ``p`` passed on to a function of the user's that changes
    the parameter it lands in. Empty when the source is unavailable."""
    from ..frontend.parse import parse_function

    seen = set() if seen is None else seen
    if function in seen or not isinstance(function, types.FunctionType) or is_library(function):
        return set()
    seen.add(function)
    try:
        node = parse_function(function).node
    except (errors.AdjointError, OSError, TypeError):
        return set()
    arguments = node.args
    params = [a.id for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
    found = set()
    for child in walk_tree(node):
        targets = []
        if isinstance(child, gast.Assign):
            targets = list(child.targets)
        elif isinstance(child, (gast.AugAssign, gast.AnnAssign)):
            targets = [child.target]
        elif isinstance(child, gast.Delete):
            targets = list(child.targets)
        for target in targets:
            if isinstance(target, (gast.Attribute, gast.Subscript)) and _root(target) in params:
                found.add(_root(target))
        if not isinstance(child, gast.Call):
            continue
        func = child.func
        if isinstance(func, gast.Attribute) and _root(func.value) in params:
            if func.attr in CONTAINER_CHANGES or func.attr in _ARRAY_CHANGES:
                found.add(_root(func.value))
        # NumPy writing into its first argument (np.add.at(p, i, v), np.copyto(p, v)) or into out=p
        written = child.args[:1] if getattr(func, "attr", getattr(func, "id", None)) in _WRITES_FIRST else []
        written += [k.value for k in child.keywords if k.arg == "out"]
        for value in written:
            for part in (value.elts if isinstance(value, gast.Tuple) else [value]):
                if isinstance(part, (gast.Name, gast.Attribute, gast.Subscript)) and _root(part) in params:
                    found.add(_root(part))
        callee = function.__globals__.get(func.id) if isinstance(func, gast.Name) else None
        if isinstance(callee, types.FunctionType):  # helper(p, x), which changes its own parameter
            inner = changed_parameters(callee, seen)
            try:
                inner_params = callee.__code__.co_varnames[:callee.__code__.co_argcount]
            except AttributeError:
                continue
            for position, arg in enumerate(child.args):
                if (isinstance(arg, gast.Name) and arg.id in params and position < len(inner_params)
                        and inner_params[position] in inner):
                    found.add(arg.id)
            for keyword in child.keywords:
                if isinstance(keyword.value, gast.Name) and keyword.value.id in params and keyword.arg in inner:
                    found.add(keyword.value.id)
    return found


def check_shared_changes(builder, op, node, callee):
    """Raise ``Unbatchable`` (each example on its own copies) when the call
    ``node`` of ``callee``, about to run once per example, changes one of
    the arguments it is given unbatched (one value for the whole batch)."""
    from ..frontend.ir import UserCall
    from .batching import Unbatchable

    if callee is rt.outside_item_back and any(builder.is_batched(a) for a in node.args):
        # LAYERS[k] = v on a list of the module, with batched values: one list for the whole batch
        reason = Unbatchable(builder.parsed.location(op), f"{op.construct} with batched values")
        reason.changes_objects = True  # (each example from the list's state before the call)
        raise reason
    leading = 0
    if isinstance(callee, UserCall):  # (a bound method's object, a partial's arguments: one for the batch)
        leading, callee = len(callee.leading), callee.function
    if not isinstance(callee, types.FunctionType) or is_library(callee):
        return
    changed = changed_parameters(callee)
    if not changed:
        return
    code = callee.__code__
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    shared = [name for name in params[:leading] if name in changed]
    passed = [(params[leading + i], a) for i, a in enumerate(node.args) if leading + i < code.co_argcount]
    passed += [(k.arg, k.value) for k in node.keywords]
    shared += [name for name, arg in passed if name in changed and not builder.is_batched(arg)]
    # (a list or dict of batched values: each example's is a new one, which the change would miss)
    shared += [name for name, arg in passed if name in changed and builder.is_batched(arg) and isinstance(
        arg, gast.Name) and (arg.id in builder.containers or arg.id in builder.maybe_sequences)]
    if not shared:
        return
    reason = Unbatchable(builder.parsed.location(op), f"a call of {callee.__name__}, which changes its argument "
                         f"{shared[0]!r}, given a value shared by the batch, with batched values")
    reason.changes_objects = True  # (the whole function once per example, on copies: backend/vmap_objects)
    raise reason
