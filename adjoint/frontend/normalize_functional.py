"""Calls that stand for a loop or a chain of other calls, written as that
loop or chain before they are normalized (``Calls.call`` hands them here):

- ``np.select(condlist, choicelist, default)``: the first choice whose
  condition holds, else ``default``, which is
  ``np.where(c0, x0, np.where(c1, x1, ... default))``. With the lists written
  in the call the chain is written out; with lists built elsewhere it is a
  loop over their positions from the last. The derivative then flows through
  the chosen choices by np.where's rules (adjoint, tangent and batching, at
  any order), and the forward pass computes what np.select computes.
- ``functools.reduce(f, iterable[, initial])``: ``acc = initial`` (else the
  first item), then ``acc = f(acc, item)`` for each further item, as Python
  does; each call of ``f`` (a lambda, a nested function, a function of the
  user's, an operator function) is differentiated like any call.
- ``np.sqrt(np.sum(x ** 2, axis))`` written in one expression:
  ``rt.root_sum_squares(x, axis)``, the same numbers with the norm's
  subgradient 0 where the sum is 0 (not the NaN of inf * 0).
- ``np.linalg.qr(a, mode='r')``: ``np.linalg.qr(a)[1]``, the same R (LAPACK's
  factorization is the same, the reduced mode only adds Q), whose
  derivative reads Q: differentiated at any order.
"""
import builtins
import functools

import gast
import numpy as np

from .gastutil import clone, load, walk as walk_tree
from .resolve import UNRESOLVED

SELECT_PARAMETERS = ("condlist", "choicelist", "default")
REDUCE_PARAMETERS = ("function", "iterable", "initial")


def _name(identifier, ctx=None):
    return gast.Name(id=identifier, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _call(func, *args):
    return gast.Call(func=func, args=list(args), keywords=[])


def _bound(calls, node, parameters, construct, required):
    """The call's arguments by parameter name (positional or keyword), or a
    clear refusal for forms Python would refuse or that are not followed."""
    if any(isinstance(a, gast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise calls.unsupported(node, f"{construct} with * or ** arguments",
                                "its arguments must be visible to be written as the loop it performs.",
                                "Pass the arguments one by one.")
    bound = dict(zip(parameters, node.args))
    for keyword in node.keywords:
        if keyword.arg not in parameters or keyword.arg in bound or len(node.args) > len(parameters):
            raise calls.unsupported(node, construct, f"the call does not match {construct}'s parameters "
                                    f"({', '.join(parameters)}).", "Fix the call.")
        bound[keyword.arg] = keyword.value
    missing = [p for p in parameters[:required] if p not in bound]
    if missing or len(node.args) > len(parameters):
        raise calls.unsupported(node, construct, f"the call does not match {construct}'s parameters "
                                f"({', '.join(parameters)}).", "Fix the call.")
    return bound


def _located(tree, node):
    for child in walk_tree(tree):
        if "lineno" in child._attributes:
            gast.copy_location(child, node)
    return tree


def _emit_statements(calls, statements, node):
    lineno = calls.lineno
    for statement in statements:
        calls.statement(_located(statement, node), last=False)
        calls.lineno = lineno


def select_as_where(calls, node):
    """``np.select(...)`` as np.where calls: the expression to normalize in
    its place (a Call of np.where, or the name the loop's result is bound to)."""
    bound = _bound(calls, node, SELECT_PARAMETERS, "np.select", required=2)
    for builtin in ("len", "range"):
        if calls.resolver.lookup(builtin) is not getattr(builtins, builtin):
            raise calls.unsupported(node, "np.select", f"the name {builtin} is bound to something else here.",
                                    "Write the choice out with np.where.")
    conditions, choices = bound["condlist"], bound["choicelist"]
    default = bound.get("default", gast.Constant(value=0, kind=None))
    where = gast.Attribute(value=load(calls.np_name), attr="where", ctx=gast.Load())
    if (isinstance(conditions, (gast.List, gast.Tuple)) and isinstance(choices, (gast.List, gast.Tuple))
            and not any(isinstance(e, gast.Starred) for e in conditions.elts + choices.elts)):
        if len(conditions.elts) != len(choices.elts):
            raise calls.unsupported(node, "np.select", "list of cases must be same length as list of "
                                    "conditions (NumPy raises ValueError).", "Give one choice per condition.")
        # evaluated in Python's order (conditions, choices, default), then chosen from the last
        conditions = [calls.atom(c) for c in conditions.elts]
        choices = [calls.atom(c) for c in choices.elts]
        value = calls.atom(default)
        for condition, choice in reversed(list(zip(conditions, choices))):
            value = _call(clone(where), condition, choice, value)
        return value
    conditions, choices = calls.atom(bound["condlist"]), calls.atom(bound["choicelist"])
    result, position = calls.namer.fresh("selected"), calls.namer.fresh("case")
    count = _call(_name("len"), clone(conditions))
    backwards = _call(_name("range"), gast.BinOp(left=count, op=gast.Sub(), right=gast.Constant(value=1, kind=None)),
                      gast.Constant(value=-1, kind=None), gast.Constant(value=-1, kind=None))
    chosen = _call(clone(where), gast.Subscript(value=clone(conditions), slice=_name(position), ctx=gast.Load()),
                   gast.Subscript(value=clone(choices), slice=_name(position), ctx=gast.Load()), _name(result))
    statements = [
        gast.Assign(targets=[_name(result, gast.Store())], value=default, type_comment=None),
        gast.For(target=_name(position, gast.Store()), iter=backwards,
                 body=[gast.Assign(targets=[_name(result, gast.Store())], value=chosen, type_comment=None)],
                 orelse=[], type_comment=None),
    ]
    _emit_statements(calls, statements, node)
    return load(calls.read(result))


def _function_once(calls, func):
    """The function argument ``func`` of map, filter or functools.reduce as
    the loop written for it calls it: a ``functools.partial(h, x)`` made
    once (its calls then read as h's), a lambda, a nested function, a
    function the resolver knows or a partial held in a name as written,
    anything else evaluated once, before the items."""
    if calls.is_partial_call(func):
        name = calls.namer.temp()
        calls.local_partial(name, func)
        return load(name)
    if not (isinstance(func, gast.Lambda) or calls.local_function(func) is not None
            or calls.resolver.value_of(func) is not UNRESOLVED
            or isinstance(func, gast.Name) and func.id in calls.version
            and calls.read(func.id) in calls.local_partials):
        return calls.atom(func)
    return func


def reduce_as_loop(calls, node):
    """``functools.reduce(f, iterable[, initial])`` as the loop it performs;
    the name its result is bound to."""
    bound = _bound(calls, node, REDUCE_PARAMETERS, "functools.reduce", required=2)
    func = _function_once(calls, bound["function"])
    for builtin in ("len", "range", "list", "TypeError"):
        if calls.resolver.lookup(builtin) is not getattr(builtins, builtin):
            raise calls.unsupported(node, "functools.reduce", f"the name {builtin} is bound to something "
                                    "else here.", "Write the loop out.")
    result, item, items = calls.namer.fresh("reduced"), calls.namer.fresh("item"), calls.namer.fresh("items")
    if "initial" in bound:
        iterable = bound["iterable"]
        statements = [gast.Assign(targets=[_name(result, gast.Store())], value=bound["initial"], type_comment=None)]
    else:
        # reduce of an empty iterable without an initial value: TypeError, as Python raises it
        statements = [
            gast.Assign(targets=[_name(items, gast.Store())], value=_call(_name("list"), bound["iterable"]),
                        type_comment=None),
            # (len(items) == 0, not `not items`: a count, the same for every example under vmap)
            gast.If(test=gast.Compare(left=_call(_name("len"), _name(items)), ops=[gast.Eq()],
                                      comparators=[gast.Constant(value=0, kind=None)]),
                    body=[gast.Raise(exc=_call(_name("TypeError"), gast.Constant(
                        value="reduce() of empty iterable with no initial value", kind=None)), cause=None)],
                    orelse=[]),
            gast.Assign(targets=[_name(result, gast.Store())],
                        value=gast.Subscript(value=_name(items), slice=gast.Constant(value=0, kind=None),
                                             ctx=gast.Load()), type_comment=None),
        ]
        iterable = gast.Subscript(value=_name(items), slice=gast.Slice(lower=gast.Constant(value=1, kind=None),
                                                                       upper=None, step=None), ctx=gast.Load())
    statements.append(gast.For(target=_name(item, gast.Store()), iter=iterable, body=[
        gast.Assign(targets=[_name(result, gast.Store())], value=_call(clone(func), _name(result), _name(item)),
                    type_comment=None)], orelse=[], type_comment=None))
    _emit_statements(calls, statements, node)
    return load(calls.read(result))


def map_or_filter(calls, node, callee):
    """``map(f, xs, ...)`` and ``filter(f, xs)`` as the loop they stand
    for, building a list (which every consumer of the iterator accepts):
    each call of ``f`` is then differentiated like any call, a lambda's
    or nested function's inlined."""
    name = callee.__name__
    if node.keywords or any(isinstance(a, gast.Starred) for a in node.args) or len(node.args) < 2 or (
            callee is builtins.filter and len(node.args) != 2):
        raise calls.unsupported(node, f"{name}(...)", "only map(f, iterable, ...) and filter(f, iterable) "
                               "with their arguments written out are differentiated.",
                               "Write the loop out, or pass the iterables one by one.")
    func = node.args[0]
    if isinstance(func, gast.Constant) and func.value is None and callee is builtins.filter:
        func = None
    else:
        func = _function_once(calls, func)
    sequences = [calls.atom(a) for a in node.args[1:]]
    result = calls.namer.fresh(f"{name}_result")
    items = [calls.namer.fresh("item") for _ in sequences]

    def name_node(identifier, ctx=None):
        return gast.Name(id=identifier, ctx=ctx or gast.Load(), annotation=None, type_comment=None)

    def located(tree):
        for child in walk_tree(tree):
            if "lineno" in child._attributes:
                gast.copy_location(child, node)
        return tree

    if len(items) == 1:
        target, iterable = name_node(items[0], gast.Store()), sequences[0]
    else:
        target = gast.Tuple(elts=[name_node(i, gast.Store()) for i in items], ctx=gast.Store())
        iterable = gast.Call(func=name_node("zip"), args=list(sequences), keywords=[])
    if func is None:
        called = name_node(items[0])
    else:
        called = gast.Call(func=clone(func), args=[name_node(i) for i in items], keywords=[])

    def append(value):
        return gast.Expr(value=gast.Call(func=gast.Attribute(value=name_node(result), attr="append",
                                                             ctx=gast.Load()), args=[value], keywords=[]))

    if callee is builtins.map:
        body = [append(called)]
    else:
        body = [gast.If(test=called, body=[append(name_node(items[0]))], orelse=[])]
    statements = [gast.Assign(targets=[name_node(result, gast.Store())], value=gast.List(elts=[], ctx=gast.Load()),
                              type_comment=None),
                  gast.For(target=target, iter=iterable, body=body, orelse=[], type_comment=None)]
    zip_shadowed = len(items) > 1 and calls.resolver.lookup("zip") is not builtins.zip
    if zip_shadowed:
        raise calls.unsupported(node, f"{name}(...) over several iterables",
                               "the name zip is bound to something else here.", "Write the loop out.")
    lineno = calls.lineno
    for statement in statements:
        calls.statement(located(statement), last=False)
        calls.lineno = lineno
    return load(calls.read(result))


def is_select(value):
    return value is np.select


def is_reduce(value):
    return value is functools.reduce


def _squared(calls, node):
    """``E`` when ``node`` is ``E ** 2`` or ``E * E`` (the same expression
    twice, a name or attribute chain), else None."""
    if not isinstance(node, gast.BinOp):
        return None
    if (isinstance(node.op, gast.Pow) and isinstance(node.right, gast.Constant)
            and type(node.right.value) in (int, float) and node.right.value == 2):
        return node.left
    if (isinstance(node.op, gast.Mult) and isinstance(node.left, (gast.Name, gast.Attribute))
            and gast.dump(node.left) == gast.dump(node.right)):
        return node.left
    return None


def root_sum_squares(calls, node, callee):
    """``np.sqrt(np.sum(E ** 2[, axis][, keepdims]))`` (or ``E * E``) written
    in one expression, as ``rt.root_sum_squares(E, axis, keepdims)``: the
    same numbers, with the norm's subgradient 0 where the sum is 0 (through
    np.sqrt the chain rule meets inf * 0 there, a NaN). The Call to normalize
    in its place, or None for other calls."""
    if callee is not np.sqrt or len(node.args) != 1 or node.keywords:
        return None
    inner = node.args[0]
    if not (isinstance(inner, gast.Call) and calls.resolver.value_of(inner.func) is np.sum and inner.args
            and len(inner.args) <= 2 and not any(isinstance(a, gast.Starred) for a in inner.args)
            and all(k.arg in ("axis", "keepdims") for k in inner.keywords)):
        return None
    base = _squared(calls, inner.args[0])
    if base is None:
        return None
    keywords = list(inner.keywords)
    if len(inner.args) == 2:
        keywords.insert(0, gast.keyword(arg="axis", value=inner.args[1]))
    func = gast.Attribute(value=load(calls.rt_name), attr="root_sum_squares", ctx=gast.Load())
    return gast.Call(func=func, args=[base], keywords=keywords)


def qr_r_alone(node, callee):
    """``np.linalg.qr(a, mode='r')`` (``a`` and the literal ``'r'`` by
    position or keyword) as ``np.linalg.qr(a)[1]``: the R of the reduced
    factorization, the same numbers, whose derivatives at every order read
    the Q that mode 'r' does not return. The expression to normalize in its
    place, or None."""
    if callee is not np.linalg.qr or any(isinstance(a, gast.Starred) for a in node.args):
        return None
    given = dict(zip(("a", "mode"), node.args))
    for keyword in node.keywords:
        if keyword.arg not in ("a", "mode") or keyword.arg in given:
            return None  # (**options, or a call Python refuses: left as written)
        given[keyword.arg] = keyword.value
    mode = given.get("mode")
    if "a" not in given or not (isinstance(mode, gast.Constant) and mode.value == "r"):
        return None
    reduced = gast.Call(func=node.func, args=[given["a"]], keywords=[])
    return gast.Subscript(value=reduced, slice=gast.Constant(value=1, kind=None), ctx=gast.Load())
