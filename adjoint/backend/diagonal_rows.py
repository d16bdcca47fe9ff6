"""Diagonal cotangent rows times a shared matrix, without the diagonals.

In ``vmap(jacrev(f))`` the backward pass starts from the identity basis over
the output (``out_bar = rt.output_basis(...)``), shared by every example;
its first elementwise product with a factor per example
(``rt.vmultiply_shared(out_bar, factor)``) is a batch of diagonal matrices.
When the next operation is the adjoint of a product with a matrix the
examples share (``np.tanh(W @ x)``: ``rt.vmatmul_adjoint_right(t_bar, W, x)``),
a hand-written Jacobian scales the rows of ``W`` instead
(``factor[:, :, None] * W``); the batched code built the diagonals and
multiplied their zeros.

``fuse_diagonal_rows`` rewrites that pair of statements of a batched body:

    t_bar = rt.vmultiply_shared(out_bar, F)
    x_bar = rt.vmatmul_adjoint_right(t_bar, W, x)

becomes

    t_bar_factor = F
    x_bar = rt.vdiagonal_matmul_adjoint_right(out_bar, t_bar_factor, W, x)

where ``out_bar`` is assigned once by ``rt.output_basis`` and ``t_bar`` is
assigned once and read only there. The helper checks at run time that the
basis is the identity, the factor and the matrix finite and the matrix
shared, and otherwise computes the two original calls: the result is the
same either way (a zero may differ in sign).

Preconditions: ``body`` is the top level of a batched function in which
every name is assigned once (the normal form).
"""
import gast

from ..frontend.gastutil import load, store


def fuse_diagonal_rows(body, rt_name, namer, keep):
    """``body`` with each product of diagonal rows and a shared matrix fused
    (see the module's text). ``keep``: names whose values are needed as they
    are (the parameters)."""
    bases = {target for stmt in body if (target := _assigned_call(stmt, rt_name, "output_basis"))}
    reads, stores = _counts(body)
    uses = {}  # the statement reading each diagonal-rows name as its cotangent
    for i, stmt in enumerate(body):
        if _assigned_call(stmt, rt_name, "vmatmul_adjoint_right") and stmt.value.args:
            first = stmt.value.args[0]
            if isinstance(first, gast.Name):
                uses[first.id] = i
    body = list(body)
    for i, stmt in enumerate(body):
        target = _assigned_call(stmt, rt_name, "vmultiply_shared")
        if target is None or target in keep or stores.get(target) != 1 or reads.get(target) != 1:
            continue
        if target not in uses or uses[target] < i or len(stmt.value.args) != 2 or stmt.value.keywords:
            continue
        left, right = stmt.value.args
        if isinstance(left, gast.Name) and left.id in bases and stores.get(left.id) == 1:
            basis, factor = left, right
        elif isinstance(right, gast.Name) and right.id in bases and stores.get(right.id) == 1:
            basis, factor = right, left
        else:
            continue
        use = body[uses[target]]
        if len(use.value.args) != 3 or use.value.keywords:
            continue
        factor_name = namer.fresh(f"{target}_factor")
        body[i] = gast.Assign(targets=[store(factor_name)], value=factor, type_comment=None)
        func = gast.Attribute(value=load(rt_name), attr="vdiagonal_matmul_adjoint_right", ctx=gast.Load())
        call = gast.Call(func=func, args=[load(basis.id), load(factor_name)] + use.value.args[1:], keywords=[])
        body[uses[target]] = gast.Assign(targets=use.targets, value=call, type_comment=None)
    return body


def _assigned_call(stmt, rt_name, helper):
    """The target of ``target = rt.<helper>(...)``, else None."""
    if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)
            and isinstance(stmt.value, gast.Call) and isinstance(stmt.value.func, gast.Attribute)
            and isinstance(stmt.value.func.value, gast.Name) and stmt.value.func.value.id == rt_name
            and stmt.value.func.attr == helper):
        return stmt.targets[0].id
    return None


def _counts(body):
    """How many times each name is read and bound anywhere in ``body``."""
    reads, stores = {}, {}
    for stmt in body:
        for node in gast.walk(stmt):
            if isinstance(node, gast.Name):
                counts = reads if isinstance(node.ctx, gast.Load) else stores
                counts[node.id] = counts.get(node.id, 0) + 1
    return reads, stores
