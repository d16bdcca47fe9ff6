"""A matrix shared by every example times a batch, without its batched view.

Batched code (``transforms/batching.py``) writes ``W @ x``, for ``W`` the
same in every example and ``x`` batched, as
``rt.vmatmul(rt.to_batched(W, batch), x)``: a stride-0 view of ``W`` with a
batch axis, which ``rt.vmatmul`` recognises and multiplies as one matrix
product. Building the view costs about as much as the product itself on a
few examples (``vmap(jacrev(f))`` of a small layer).

``shared_matmuls`` rewrites such a call to ``rt.vshared_matmul(x, W)``,
which computes the product without the view (the same matrix product, so
the same values). It is applied to the batched code of a derivative (a body
that builds an output basis, ``rt.output_basis``) only: that code is
differentiated again by forward mode alone (a derivative of a derivative
is written in forward mode), for which ``rt.vshared_matmul`` has its rule;
the batched code of a user's function is also differentiated by reverse
mode (``jacrev(vmap(f))``), and keeps ``rt.vmatmul``.

Preconditions: ``body`` is the top level of a batched function;
``batch_name`` the name of its batch size (a statement computed on the
first example alone, ``backend/one_example.py``, reads the constant 1 in
its place, with its batched operands sliced to that example).
"""
import gast

from ..frontend.gastutil import load, walk as walk_tree


def shared_matmuls(body, rt_name, batch_name):
    """``body`` with ``rt.vmatmul(rt.to_batched(W, batch), x)`` written
    ``rt.vshared_matmul(x, W)`` in the batched code of a derivative (see
    the module's text)."""
    if not any(_helper_call(node, rt_name, "output_basis") for stmt in body for node in walk_tree(stmt)):
        return body
    rewriter = _Rewriter(rt_name, batch_name)
    return [rewriter.visit(stmt) for stmt in body]


def _helper_call(node, rt_name, helper):
    return (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
            and isinstance(node.func.value, gast.Name) and node.func.value.id == rt_name
            and node.func.attr == helper)


class _Rewriter(gast.NodeTransformer):
    def __init__(self, rt_name, batch_name):
        self.rt_name = rt_name
        self.batch_name = batch_name

    def visit_Call(self, node):  # noqa: N802 (the visitor's naming)
        node = self.generic_visit(node)
        if not (_helper_call(node, self.rt_name, "vmatmul") and len(node.args) == 2 and not node.keywords):
            return node
        view, x = node.args
        if not (_helper_call(view, self.rt_name, "to_batched") and len(view.args) == 2 and not view.keywords):
            return node
        matrix, count = view.args
        first_rows = _helper_call(x, self.rt_name, "first_rows")
        if not (isinstance(count, gast.Name) and count.id == self.batch_name
                or first_rows and isinstance(count, gast.Constant) and count.value == 1):
            return node  # (a view of another length: left as it is)
        func = gast.Attribute(value=load(self.rt_name), attr="vshared_matmul", ctx=gast.Load())
        return gast.Call(func=func, args=[x, matrix], keywords=[])
