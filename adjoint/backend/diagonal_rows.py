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

Batched code writes the factor of that product lifted to the rank of the
product, ``rt.vlift(F, r)`` with ``r = rt.result_rank((False, True),
out_bar, F)``. Then the lift goes into the call too, and the statement of
``r``, read nowhere else, goes:

    x_bar = rt.vbasis_rows_matmul(out_bar, F, W, x, batch)

when the matrix is ``rt.to_batched(W, batch)`` (the helper takes ``W``
itself), and a product with the basis that meets no such matrix,
``t_bar = rt.vmultiply_shared(out_bar, rt.vlift(F, r))`` (the whole Jacobian of
``np.sin``), becomes ``t_bar = rt.vbasis_product(out_bar, F)``. These
helpers (``runtime/batched_basis.py``) compute the original calls for any
other operand.

Preconditions: ``body`` is the top level of a batched function in which
every name is assigned once (the normal form).
"""
import gast

from ..frontend.gastutil import load, store, walk as walk_tree


def fuse_diagonal_rows(body, rt_name, namer, keep, batch_name=None):
    """``body`` with each product of diagonal rows and a shared matrix fused,
    and each product of the output basis with a lifted factor in one call
    (see the module's text). ``keep``: names whose values are needed as they
    are (the parameters); ``batch_name``: the batch size's name."""
    bases = {target for stmt in body if (target := _assigned_call(stmt, rt_name, "output_basis"))}
    ranks = {target: i for i, stmt in enumerate(body) if (target := _assigned_call(stmt, rt_name, "result_rank"))}
    reads, stores = _counts(body)
    uses = {}  # the statement reading each diagonal-rows name as its cotangent
    for i, stmt in enumerate(body):
        if _assigned_call(stmt, rt_name, "vmatmul_adjoint_right") and stmt.value.args:
            first = stmt.value.args[0]
            if isinstance(first, gast.Name):
                uses[first.id] = i
    body = list(body)
    dropped = set()
    for i, stmt in enumerate(body):
        target = _assigned_call(stmt, rt_name, "vmultiply_shared")
        if target is None or len(stmt.value.args) != 2 or stmt.value.keywords:
            continue
        left, right = stmt.value.args
        if isinstance(left, gast.Name) and left.id in bases and stores.get(left.id) == 1:
            basis, factor, basis_first = left, right, True
        elif isinstance(right, gast.Name) and right.id in bases and stores.get(right.id) == 1:
            basis, factor, basis_first = right, left, False
        else:
            continue
        lifted = _lifted(factor, basis.id, body, ranks, reads, stores, rt_name, keep) if basis_first else None
        use = None
        if target not in keep and stores.get(target) == 1 and reads.get(target) == 1 and uses.get(target, -1) > i:
            use = body[uses[target]]
            if len(use.value.args) != 3 or use.value.keywords:
                use = None
        if use is not None and lifted is not None and batch_name is not None and _is_call(
                use.value.args[1], rt_name, "to_batched", batch_name):
            # the lift, the diagonal rows and the shared matrix's view: one call
            factor_name, rank = lifted
            matrix = use.value.args[1].args[0]
            call = _rt_call(rt_name, "vbasis_rows_matmul",
                            [load(basis.id), load(factor_name), matrix, use.value.args[2], load(batch_name)])
            body[uses[target]] = gast.Assign(targets=use.targets, value=call, type_comment=None)
            dropped.update((i, rank))
        elif use is not None:
            factor_name = namer.fresh(f"{target}_factor")
            body[i] = gast.Assign(targets=[store(factor_name)], value=factor, type_comment=None)
            call = _rt_call(rt_name, "vdiagonal_matmul_adjoint_right",
                            [load(basis.id), load(factor_name)] + use.value.args[1:])
            body[uses[target]] = gast.Assign(targets=use.targets, value=call, type_comment=None)
        elif lifted is not None:
            factor_name, rank = lifted
            call = _rt_call(rt_name, "vbasis_product", [load(basis.id), load(factor_name)])
            body[i] = gast.Assign(targets=stmt.targets, value=call, type_comment=None)
            dropped.add(rank)
    return [stmt for i, stmt in enumerate(body) if i not in dropped]


def _lifted(factor, basis, body, ranks, reads, stores, rt_name, keep):
    """``(name, index)`` when ``factor`` is ``rt.vlift(name, rank)`` and
    ``rank`` is assigned once, by the statement at ``index``, as
    ``rt.result_rank((False, True), basis, name)`` and read only there
    (the lift of a factor to the rank of its product with the basis); else
    None."""
    if not (_is_call(factor, rt_name, "vlift") and len(factor.args) == 2
            and all(isinstance(arg, gast.Name) for arg in factor.args)):
        return None
    name, rank = factor.args[0].id, factor.args[1].id
    if (rank not in ranks or rank in keep or stores.get(rank) != 1 or reads.get(rank) != 1
            or stores.get(name) != 1):
        return None
    call = body[ranks[rank]].value
    if call.keywords or len(call.args) != 3:
        return None
    flags, first, second = call.args
    if not (isinstance(flags, gast.Tuple) and len(flags.elts) == 2
            and all(isinstance(e, gast.Constant) for e in flags.elts)
            and flags.elts[0].value is False and flags.elts[1].value is True):
        return None
    if not (isinstance(first, gast.Name) and first.id == basis and isinstance(second, gast.Name)
            and second.id == name):
        return None
    return name, ranks[rank]


def _is_call(node, rt_name, helper, *names):
    """Whether ``node`` is ``rt.<helper>(...)``, its arguments after the
    first, if ``names`` are given, exactly those names."""
    if not (isinstance(node, gast.Call) and not node.keywords and isinstance(node.func, gast.Attribute)
            and isinstance(node.func.value, gast.Name) and node.func.value.id == rt_name
            and node.func.attr == helper):
        return False
    if names:
        rest = node.args[1:]
        return len(rest) == len(names) and all(
            isinstance(arg, gast.Name) and arg.id == name for arg, name in zip(rest, names, strict=True))
    return True


def _rt_call(rt_name, helper, args):
    func = gast.Attribute(value=load(rt_name), attr=helper, ctx=gast.Load())
    return gast.Call(func=func, args=args, keywords=[])


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
        for node in walk_tree(stmt):
            if isinstance(node, gast.Name):
                counts = reads if isinstance(node.ctx, gast.Load) else stores
                counts[node.id] = counts.get(node.id, 0) + 1
    return reads, stores
