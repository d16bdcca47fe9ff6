"""Chains of elementwise scalings of tangents, fused (forward mode).

The generated tangent code of an elementwise body scales tangents by
primal values statement by statement (``t1_dot = x_dot * np.cos(x)``,
``t4_dot = t3_dot * t4``, ``t5_dot = t1_dot * t4 + t1 * t4_dot``). Each
statement is a pass over a batched array of shape ``(B,) + shape``: for
``jacfwd`` of an elementwise function of ``n`` elements, ``B = n``, so each
costs ``n**2`` operations where the primal statement beside it costs ``n``.
The backward pass's ``optimize.fuse_scalings`` keeps such values symbolic,
as sums of ``tangent * factor`` with factors that read only primal values,
and writes each out once, where something else reads it:
``out_dot = x_dot * (np.cos(x) * t4 + ...)``. The same pass runs here over
the tangent code, with one difference: in the backward pass the primal
values are residuals that nothing writes to, where here the primal
statements run between the tangent statements, and a zero-tangent guard
(``rt.times_tangent``) ends a chain (see ``form``). A factor is written
out later than the statement it came from, so:

* a primal statement that binds a name a pending factor reads writes that
  factor out first;
* any statement that may change an array in place, or do anything else
  than compute a new value (a call other than a NumPy ufunc on positional
  arguments, a store into a subscript or attribute, an augmented
  assignment, an expression statement) writes out every pending tangent
  first.

A body without such chains is written back as it was. Multiplication and
addition are associative and distributive under broadcasting, so the
result is the same up to rounding (as for the backward pass).
"""
import gast
import numpy as np

from ..frontend.gastutil import walk
from . import optimize


class _TangentScalings(optimize._Scalings):
    """``optimize._Scalings`` over tangent code, with the primal statements
    between (see the module's text)."""

    def __init__(self, batched, namer, rt_name, np_name=None):
        super().__init__(batched, namer, rt_name)
        self.np_name = np_name

    def nested(self):
        return _TangentScalings(self.batched, self.namer, self.rt_name, self.np_name)

    def form(self, node):
        # ``rt.times_tangent(t, partial)`` is written as it is (it ends a
        # chain): it tells a zero tangent from a nonzero one, and forward
        # mode tells the seed's zeros from the zeros a zero slope computed
        # (rt.guarding_zero_tangents) by the tangent it is given, which a
        # fused factor would no longer be
        if self.is_times_tangent(node):
            return None
        return super().form(node)

    def before_statement(self, stmt):
        """Called for each statement that is not a fused tangent, before it
        is written: pending tangents whose factors it may change are
        written out first."""
        if not self.pending or optimize._is_comment(stmt):
            return
        if not self.pure(stmt):
            self.flush()
            return
        target = stmt.targets[0].id
        for name in [n for n, form in self.pending.items() if self.form_reads(form, target)]:
            if name in self.pending:
                self.materialize(name)

    @staticmethod
    def form_reads(form, name):
        for factor in form.values():
            if factor is not None and name in optimize.reads(optimize._bare(factor)):
                return True
        return False

    def pure(self, stmt):
        """Whether ``stmt`` binds one name to a new value and changes nothing else."""
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)):
            return False
        for node in walk(stmt.value):
            if isinstance(node, (gast.Call)) and not self.ufunc_call(node):
                return False
            if isinstance(node, (gast.NamedExpr, gast.Lambda, gast.Yield, gast.YieldFrom, gast.Await)):
                return False
        return True

    def ufunc_call(self, node):
        func = node.func
        if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and func.value.id == self.np_name) or node.keywords:
            return False
        ufunc = getattr(np, func.attr, None)
        # (a positional argument past the inputs is ``out``: written in place)
        return isinstance(ufunc, np.ufunc) and len(node.args) == ufunc.nin and not any(
            isinstance(arg, gast.Starred) for arg in node.args)


def fuse_tangents(body, output_dot, tangent_names, namer, rt_name, np_name):
    """``(body, output_dot)`` with the chains of scalings of ``tangent_names``
    fused; ``output_dot`` (the tangent the function returns, an expression)
    reads the tangents written out at the end."""
    sink = namer.fresh("returned_dot")
    tail = gast.Assign(targets=[gast.Name(id=sink, ctx=gast.Store(), annotation=None, type_comment=None)],
                       value=output_dot, type_comment=None)
    fused = _TangentScalings(set(tangent_names), namer, rt_name, np_name).run(list(body) + [tail], live_out=set())
    if not fused or fused[-1] is not tail:
        return body, output_dot
    return fused[:-1], output_dot
