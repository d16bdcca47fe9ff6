"""``functools.cached_property`` on a followed object (normalize_objects):
computed once per object, then read, as Python does it.

A read ``obj.energy`` of such an attribute is written as Python runs it:

    if rt.has_stored(obj, "energy"):    # computed before: the stored value
        t = obj.energy
    else:                               # the first read: the getter, stored
        t = <the getter read in place, as a property's>
        obj.energy = t

so the first read on an object computes the value (with its derivative)
and stores it on the object, and every later read, in this function or
after it, gets that stored value, even when the attributes it was computed
from have changed since (Python's meaning). The test is a plain bool of
the object, so the derivative code takes the branch the forward pass took.
"""
import gast

from .. import runtime as rt
from .gastutil import clone, constant, load
from .ir import NONDIFF
from .normalize_held import describe

#: the marker a read made here carries (``read_as``): "stored" or "computed"
_READ_AS = "adjoint_cached_read"


def read_as(node):
    """How a read of a cached property is taken: "stored" (the attribute
    the object holds), "computed" (the getter), or None (not made here)."""
    return getattr(node, _READ_AS, None)


def _marked(node, how):
    read = gast.copy_location(gast.Attribute(value=clone(node.value), attr=node.attr, ctx=gast.Load()), node)
    setattr(read, _READ_AS, how)
    return read


class CachedProperties:
    """Methods of ``normalize.Normalizer`` (through ``normalize_objects.Objects``)."""

    def cached_property_read(self, node):
        """``obj.name`` (``obj`` a name of a followed object, ``name`` a
        ``functools.cached_property`` of its class): the branch above; the
        value as ``attribute`` returns it."""
        receiver = describe(node.value, self.user_names)
        held = self.namer.fresh(f"{receiver.replace('.', '_')}_{node.attr}")
        self.user_names[held] = f"{receiver}.{node.attr}"
        test = self.emit(gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="has_stored", ctx=gast.Load()),
                                   args=[clone(node.value), constant(node.attr)], keywords=[]),
                         NONDIFF, [clone(node.value)], construct=f"cached property .{node.attr}")

        def name(ctx):
            return gast.Name(id=held, ctx=ctx, annotation=None, type_comment=None)

        def assign(target, value):
            return gast.copy_location(gast.Assign(targets=[target], value=value, type_comment=None), node)

        stored_target = gast.Attribute(value=clone(node.value), attr=node.attr, ctx=gast.Store())
        branch = gast.copy_location(gast.If(
            test=test,
            body=[assign(name(gast.Store()), _marked(node, "stored"))],
            orelse=[assign(name(gast.Store()), _marked(node, "computed")),
                    assign(stored_target, name(gast.Load()))]), node)
        self.statement(branch, last=False)
        result = load(self.read(held))
        return result, rt.identity, [result], {}, f"attribute .{node.attr}", None
