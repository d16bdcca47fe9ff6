"""Whether generated derivative code only scales its seed elementwise.

After the clean-up passes, the backward pass of an elementwise body reads
its seed once, in ``x_bar = out_bar * factor`` (or ``out_bar / d``,
``-out_bar``), with a factor that reads primal values only, and returns
that adjoint; the tangent code of such a body reads its tangent once, in
``out_dot = x_dot * factor``, and returns it. The derivative is then
``seed * factor``: linear in the seed, elementwise. When the output and the
argument have the same shape, the Jacobian is the diagonal matrix of
``factor`` (broadcast to that shape), which one pass over a seed of ones
gives (``1 * factor``) instead of a pass over the whole identity basis
(``n`` times the work, and an ``n x n`` product). api/diagonal_seed.py uses
it for the short paths of ``jacrev`` and ``jacfwd``.
"""
import gast

from ..frontend.gastutil import walk
from . import optimize


def _reads(node, name):
    return sum(1 for n in walk(node) if isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Load))


def _is_name(node, name):
    return isinstance(node, gast.Name) and node.id == name


def _scales(value, seed, rt_name):
    """Whether ``value`` is ``seed * factor``, ``factor * seed``, ``seed / d``,
    ``-seed`` or ``rt.times_tangent(seed, factor)`` (the seed read once)."""
    if (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and _is_name(value.func.value, rt_name) and value.func.attr == "times_tangent"
            and len(value.args) == 2 and not value.keywords):
        return _is_name(value.args[0], seed)
    if isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub):
        return _is_name(value.operand, seed)
    if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Mult):
        return _is_name(value.left, seed) or _is_name(value.right, seed)
    if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Div):
        return _is_name(value.left, seed)
    return False


def single_scaling(body, seed, returned, rt_name, unread=()):
    """Whether ``body`` (straight-line assignments) reads ``seed`` once, in
    ``returned = <seed scaled>`` (the only statement that binds
    ``returned``), binds ``seed`` only by unpacking (the tangent code's
    ``x_dot, = tangents[1:]``), and reads none of ``unread`` (the batch size)."""
    if not isinstance(returned, gast.Name):
        return False
    target = returned.id
    found = False
    for stmt in body:
        if optimize._is_comment(stmt):
            continue
        if not isinstance(stmt, gast.Assign) or len(stmt.targets) != 1:
            return False
        if any(_reads(stmt, name) for name in unread):
            return False
        assigned = {n.id for n in walk(stmt.targets[0]) if isinstance(n, gast.Name)}
        reads = _reads(stmt.value, seed)
        if target in assigned:
            if found or not (reads == 1 and _is_name(stmt.targets[0], target) and _scales(stmt.value, seed, rt_name)):
                return False
            found = True
        elif reads or seed in assigned and not isinstance(stmt.targets[0], gast.Tuple):
            return False
    return found
