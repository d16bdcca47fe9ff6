"""Batched values read only through their first example, computed on it alone.

Batched code (``transforms/batching.py``) computes every value for the whole
batch. Some values are then read only through one example: the output of
``vmap(jacrev(f))`` when the backward pass does not need it, which the
generated code reads only for the shape of the output basis
(``rt.output_basis(rt.first_example(out))``) and of the Jacobian
(``rt.vjacobian_from_rows(bar, out, x)``, which reads ``out.shape[1:]``).
For ``vmap(jacrev(np.sin))`` that is a whole ``np.sin`` of the batch that a
hand-written derivative never pays.

``on_first_example`` rewrites the statement defining such a value to compute
it on the first example alone: its batched operands are sliced to their
first row (``rt.first_rows(x)``, ``x[:1]`` for an array) and the batch size
it reads becomes 1. Batched code computes every example by the same
operations, so the batch of one gives the first example's value, shape and
dtype. The slices are themselves reads through the first example, so a
chain of statements feeding only such a value shrinks with it.

Preconditions: ``body`` is the top level of a batched function, whose
values flagged in ``batched`` carry the batch axis first; names assigned in
it are assigned once (the normal form). A statement is rewritten only when
its target is assigned once, at the top level, by an expression of
operations known to make a new value (NumPy functions without ``out=``,
other than those of ``NUMPY_WRITERS``; operators; the runtime helpers of
``PURE_HELPERS``): one that wrote into an argument in place would write
into the first example alone. A body with a ``global`` or ``nonlocal``
statement is left as it is.
"""
import gast

from ..frontend.gastutil import constant, load, walk as walk_tree

#: runtime helpers that read their argument at this position (or these
#: positions) through its first example alone
FIRST_EXAMPLE_READS = {"first_example": (0,), "first_rows": (0,), "vjacobian_from_rows": (1,)}

#: runtime helpers of batched code that return a new value (or a view) and
#: write into none of their arguments; a statement made of these may run on
#: the first example alone
PURE_HELPERS = frozenset({
    "first_example", "first_rows", "to_batched", "vlift", "result_rank", "vmultiply_shared", "vmatmul",
    "vmap_getitem", "vmap_attribute", "size_along", "example_shape",
})

#: NumPy functions that write into an argument
NUMPY_WRITERS = frozenset({"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis"})


def on_first_example(body, batched, batch_name, rt_name, np_name, keep):
    """``body`` with the values read only through their first example
    computed on it alone (see the module's text). ``batched``: the names
    carrying the batch axis; ``keep``: names whose whole value is needed
    (the parameters, the result)."""
    body = list(body)
    if any(isinstance(node, (gast.Global, gast.Nonlocal)) for stmt in body for node in walk_tree(stmt)):
        return body  # (a name bound there may be one the caller sees)
    rewritten = set()
    while True:
        reads, stores = _occurrences(body, rt_name)
        candidates = [i for i, stmt in enumerate(body) if _on_first_example(
            stmt, _single_target(stmt), batched, keep | rewritten, reads, stores, rt_name, np_name)]
        if not candidates:
            return body
        sliced = _Sliced(batched, batch_name, rt_name)
        for i in candidates:
            stmt = body[i]
            rewritten.add(_single_target(stmt))
            body[i] = gast.Assign(targets=stmt.targets, value=sliced.visit(stmt.value), type_comment=None)


def _on_first_example(stmt, target, batched, keep, reads, stores, rt_name, np_name):
    """Whether ``stmt`` may compute ``target`` on the first example alone."""
    return (target in batched and target not in keep and stores.get(target) == 1 and bool(reads.get(target))
            and all(kind == "first" for kind in reads[target]) and _pure(stmt.value, rt_name, np_name))


def _single_target(stmt):
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
        return stmt.targets[0].id
    return None


def _is_helper(func, rt_name, names):
    return (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and func.value.id == rt_name
            and func.attr in names)


def _occurrences(body, rt_name):
    """``(reads, stores)``: for each name, the kinds of its reads ("first"
    through its first example, "whole" otherwise) and how many times it is
    bound (assigned, a loop's target, deleted, ...) anywhere in ``body``."""
    reads, stores = {}, {}

    def visit(node):
        if isinstance(node, gast.Call) and _is_helper(node.func, rt_name, FIRST_EXAMPLE_READS):
            positions = FIRST_EXAMPLE_READS[node.func.attr]
            for i, arg in enumerate(node.args):
                if i in positions and isinstance(arg, gast.Name):
                    reads.setdefault(arg.id, []).append("first")
                else:
                    visit(arg)
            for keyword in node.keywords:
                visit(keyword.value)
            return
        if isinstance(node, gast.Name):
            if isinstance(node.ctx, gast.Load):
                reads.setdefault(node.id, []).append("whole")
            else:
                stores[node.id] = stores.get(node.id, 0) + 1
            return
        for child in gast.iter_child_nodes(node):
            visit(child)

    for stmt in body:
        visit(stmt)
    return reads, stores


def _pure(value, rt_name, np_name):
    """Whether ``value`` is made of operations that write into none of their operands."""
    for node in walk_tree(value):
        if isinstance(node, gast.Call):
            func = node.func
            if any(keyword.arg == "out" for keyword in node.keywords):
                return False
            if _is_helper(func, rt_name, PURE_HELPERS):
                continue
            if (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and func.value.id == np_name
                    and func.attr not in NUMPY_WRITERS):
                continue  # np.sin, np.tanh, np.matmul: new arrays
            return False
        if isinstance(node, (gast.Lambda, gast.NamedExpr, gast.Yield, gast.YieldFrom, gast.Await, gast.ListComp,
                             gast.SetComp, gast.DictComp, gast.GeneratorExp)):
            return False
    return True


class _Sliced(gast.NodeTransformer):
    """An expression of batched code, on the first example: batched names
    read through ``rt.first_rows``, the batch size 1."""

    def __init__(self, batched, batch_name, rt_name):
        self.batched = batched
        self.batch_name = batch_name
        self.rt_name = rt_name

    def visit_Name(self, node):  # noqa: N802 (the visitor's naming)
        if not isinstance(node.ctx, gast.Load):
            return node
        if node.id == self.batch_name:
            return constant(1)
        if node.id in self.batched:
            func = gast.Attribute(value=load(self.rt_name), attr="first_rows", ctx=gast.Load())
            return gast.Call(func=func, args=[load(node.id)], keywords=[])
        return node
