"""Objects held by other objects: ``self.layer.h = v``, ``self.layer(x)``,
``net.layer.W @ x`` on a followed object (normalize_objects) whose
attribute holds another followed object (``self.layer = Layer(W)`` in its
``__init__``).

The object an attribute holds is followed under that attribute: which
objects (tokens) a version's attribute may hold is known from the stores
made so far (``attribute_holds``). A change through a chain is written as
Python runs it, with the holder read into a name of its own and written
back after the change:

    self.layer.h = v    ->    t = self.layer; t.h = v; self.layer = t

At run time the write back sets the attribute to the object it already
holds (nothing changes); in the derivative it carries the new version of
the held object into the holder's, so a later ``self.layer.h`` read gets
its derivative. Deeper chains (``a.b.c.h = v``) write back link by link.

What stays exact is checked with the other objects (``check_objects``): a
held object that another name holds too (``l = Layer(W); self.layer = l``
and ``l`` used after, or ``l = self.layer`` kept under a name of the user's)
counts as passed on, so a change after it is refused at the user's line.
"""
import gast

from .. import runtime as rt
from .gastutil import clone


class Held:
    """Methods of ``normalize.Normalizer`` (through ``normalize_objects.Objects``)."""

    def init_held(self):
        self.attribute_holds = {}  # (token, attribute name) -> tokens of the objects it may hold
        self.attribute_mixed = set()  # (token, attribute name) also given a value that is not followed
        self.chain_names = set()  # names of the holders read for a change through a chain (t above)
        self.held_reads = []  # (tokens of the holder, attribute name, op, tokens read) of reads that gave a followed object

    def track_held(self, op):
        """Which objects an attribute holds, from the stores; a read of it
        holds them too."""
        if not op.targets or not op.args or not isinstance(op.args[0], gast.Name):
            return
        holders = self.object_tokens.get(op.args[0].id)
        if not holders:
            return
        if op.prim in (rt.store_attribute, rt.init_attribute) and len(op.args) == 3:
            name, value = op.args[1].value, op.args[2]
            held = self.object_tokens.get(value.id) if isinstance(value, gast.Name) else None
            for token in holders:
                if held:
                    self.attribute_holds[(token, name)] = self.attribute_holds.get((token, name), frozenset()) | held
                else:
                    self.attribute_mixed.add((token, name))
        elif op.prim is rt.attribute and isinstance(op.args[1], gast.Constant):
            found = self.attribute_tokens(holders, op.args[1].value)
            if found:
                self.object_tokens[op.targets[0]] = self.object_tokens.get(op.targets[0], frozenset()) | found
                self.held_reads.append((holders, op.args[1].value, op, found))

    def attribute_tokens(self, holders, name):
        if any((token, name) in self.attribute_mixed for token in holders):
            return frozenset()
        return frozenset().union(*(self.attribute_holds.get((token, name), frozenset()) for token in holders))

    def held_tokens(self, node):
        """The followed objects ``node`` (a name, or an attribute chain on a
        followed object) may hold, found without emitting anything."""
        if isinstance(node, gast.Name):
            version = self.version.get(node.id)
            return self.object_tokens.get(version, frozenset()) if version is not None else frozenset()
        if isinstance(node, gast.Attribute):
            holders = self.held_tokens(node.value)
            return self.attribute_tokens(holders, node.attr) if holders else frozenset()
        return frozenset()

    def held_chain(self, node):
        """``node`` an attribute chain (``self.layer``, ``a.b.c``) whose value
        is a followed object held by a followed object."""
        return (self.follow_objects and isinstance(node, gast.Attribute) and isinstance(node.ctx, gast.Load)
                and bool(self.held_tokens(node)))

    def read_holder(self, node):
        """``t = <node>`` under a name of its own (as messages name it:
        ``self.layer``); returns the name."""
        described = describe(node, self.user_names)
        name = self.namer.fresh(described.replace(".", "_"))
        self.user_names[name] = described
        self.chain_names.add(name)
        self.assign(gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None), clone(node))
        return name

    def write_back(self, node, name):
        """``<node> = t``: the holder's new version carried up the chain."""
        target = clone(node)
        for child in gast.walk(target):
            if hasattr(child, "ctx"):
                child.ctx = gast.Load()
        target.ctx = gast.Store()
        self.assign(target, gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None))

    def store_through_holder(self, target, value, helper):
        """``a.b.h = v`` with ``a.b`` a held object: True if done here."""
        if not self.held_chain(target.value):
            return False
        stored = self.atom(value)  # (Python computes the value before it reads the holder)
        name = self.read_holder(target.value)
        self.store_object_attribute(gast.Attribute(value=gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                                                   type_comment=None),
                                                   attr=target.attr, ctx=gast.Store()), stored, helper)
        self.write_back(target.value, name)
        return True

    def call_through_holder(self, node, receiver_node):
        """``a.b.step(x)`` or ``a.b(x)``: the held object read under a name of
        its own, the call made on it, written back if the call changed it."""
        name = self.read_holder(receiver_node)
        before = self.read(name)
        func = gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)
        if isinstance(node.func, gast.Attribute) and node.func.value is receiver_node:
            func = gast.Attribute(value=func, attr=node.func.attr, ctx=gast.Load())
        call = gast.copy_location(gast.Call(func=func, args=node.args, keywords=node.keywords), node)
        found = self.object_call(call)
        if found is None:  # (a callable attribute of the held object: a plain call of it)
            found = self.call(call)
        if self.read(name) != before:
            self.write_back(receiver_node, name)
        return found


def describe(node, user_names):
    if isinstance(node, gast.Name):
        return user_names.get(node.id, node.id)
    if isinstance(node, gast.Attribute):
        return f"{describe(node.value, user_names)}.{node.attr}"
    return "value"
