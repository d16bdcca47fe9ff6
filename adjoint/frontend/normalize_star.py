"""Objects of the user's classes given through ``*args`` (``def f(x,
*models): models[0].step(x)``), followed like objects given by name
(normalize_objects).

The call specializes ``*models`` (normalize.parameters): each item is a
parameter of its own (``models_0``, ``models_1``), and ``models`` the tuple
of them. When the body uses ``models`` only through constant indices
(``models[0]``, ``models[-1]``), those reads are the items themselves, so
each is rewritten to its item's name: a method called on it then changes
that name's version as for any followed object, and a later
``models[0].h`` reads the new version. The tuple itself is then never read
(no other holder of the objects). A loop over the tuple (``for layer in
layers: h = layer(h)``; its length is known from the call) is written out
first, one copy of its body per item with ``layers[i]`` for the loop's
name, when the body neither rebinds that name nor jumps (``break``,
``continue``) and the name is not used after the loop. Any other use of
``models`` (``len``, passing it on, such a loop) keeps the items
unfollowed, as before: a change of them is refused at the user's line.
"""
import gast

from .. import runtime as rt
from .classes import method_of, mutates_self
from .gastutil import clone, walk as walk_tree


def star_object_key(vararg, index):
    """The name ``calling.object_arguments`` gives the object passed as item
    ``index`` of ``*vararg`` (no parameter can have it)."""
    return f"*{vararg}[{index}]"


def _constant_index(node, count):
    index = node.slice
    if isinstance(index, gast.UnaryOp) and isinstance(index.op, gast.USub) and isinstance(index.operand, gast.Constant):
        value = index.operand.value
        value = -value if type(value) is int else None
    else:
        value = index.value if isinstance(index, gast.Constant) else None
    if type(value) is not int or not -count <= value < count:
        return None
    return value % count


class StarObjects:
    """Methods of ``normalize.Normalizer`` (through ``normalize_objects.Objects``)."""

    def bind_star_objects(self, node):
        """Follow the objects given through ``*args`` whose methods set
        attributes, when the body reads them by constant index only."""
        vararg = node.args.vararg
        if vararg is None or not self.object_params:
            return
        star = vararg.id
        prefix = star_object_key(star, "")[:-1]
        classes = {int(key[len(prefix):-1]): cls for key, cls in self.object_params.items()
                   if key.startswith(prefix)}
        if not classes:
            return
        tuple_version = self.version.get(star)
        made = next((op for op in self.ops if op.prim is rt.make_tuple and op.targets
                     and op.targets[0] == tuple_version), None)
        if made is None:
            return
        items = [a.id for a in made.args]
        unroll_star_loops(node, star, len(items))  # for layer in layers: ... read by constant index
        reads, others = [], False
        for child in walk_tree(node):
            for field, value in gast.iter_fields(child):
                values = value if isinstance(value, list) else [value]
                for position, sub in enumerate(values):
                    if (isinstance(sub, gast.Subscript) and isinstance(sub.value, gast.Name) and sub.value.id == star
                            and isinstance(sub.ctx, gast.Load)):
                        index = _constant_index(sub, len(items))
                        if index is None:
                            others = True
                        else:
                            reads.append((child, field, position if isinstance(value, list) else None, sub, index))
        used = {id(r[3].value) for r in reads}
        if others or any(isinstance(n, gast.Name) and n.id == star and id(n) not in used and n is not vararg
                         for n in walk_tree(node)):
            return  # models used otherwise (a loop, len, passed on): not followed
        changed = False
        for index, cls in classes.items():
            if index >= len(items):
                continue
            if not any(r[4] == index for r in reads):
                continue
            called = self._called_names(node, star, index, len(items))
            if "" in called or any(method_of(cls, m) is not None and mutates_self(cls, method_of(cls, m))
                                   for m in called):
                changed = True
        if not changed:
            return
        for parent, field, position, sub, index in reads:
            name = gast.copy_location(gast.Name(id=items[index], ctx=gast.Load(), annotation=None,
                                                type_comment=None), sub)
            if position is None:
                setattr(parent, field, name)
            else:
                getattr(parent, field)[position] = name
            self.user_names[items[index]] = f"{star}[{index}]"
        for index, cls in classes.items():
            if index < len(items) and self.version.get(items[index]) == items[index]:
                self.new_token(items[index], cls, outside=True)
        self.unread_tuples.add(tuple_version)

    @staticmethod
    def _called_names(node, star, index, count):
        """The method names called on ``star[index]`` (and ``__call__`` when
        it is called itself; "" for an attribute set on it)."""
        found = set()
        for child in walk_tree(node):
            if (isinstance(child, gast.Attribute) and not isinstance(child.ctx, gast.Load)
                    and isinstance(child.value, gast.Subscript) and isinstance(child.value.value, gast.Name)
                    and child.value.value.id == star and _constant_index(child.value, count) == index):
                found.add("")  # models[0].h = v
            if not isinstance(child, gast.Call):
                continue
            func = child.func
            target = func.value if isinstance(func, gast.Attribute) else func
            if (isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name)
                    and target.value.id == star and _constant_index(target, count) == index):
                found.add(func.attr if isinstance(func, gast.Attribute) else "__call__")
        return found


def unroll_star_loops(node, star, count):
    """Write out each ``for NAME in star:`` loop of the function ``node``
    (``count`` items) as copies of its body with ``star[i]`` for ``NAME``
    (then its ``else:``), where that is the same program (see the module's
    docstring); other loops are left as they are."""
    while True:
        found = next(((parent, field, position, stmt) for parent in walk_tree(node)
                      for field in ("body", "orelse", "finalbody", "handlers")
                      if isinstance(getattr(parent, field, None), list)
                      for position, stmt in enumerate(getattr(parent, field))
                      if _unrollable(node, stmt, star)), None)
        if found is None:
            return
        parent, field, position, loop = found
        written = []
        for index in range(count):
            for statement in loop.body:
                copy = clone(statement)
                for child in walk_tree(copy):
                    for name, value in gast.iter_fields(child):
                        values = value if isinstance(value, list) else [value]
                        for i, sub in enumerate(values):
                            if isinstance(sub, gast.Name) and sub.id == loop.target.id:
                                item = gast.copy_location(gast.Subscript(
                                    value=gast.Name(id=star, ctx=gast.Load(), annotation=None, type_comment=None),
                                    slice=gast.Constant(value=index, kind=None), ctx=gast.Load()), sub)
                                if isinstance(value, list):
                                    value[i] = item
                                else:
                                    setattr(child, name, item)
                written.append(copy)
        written.extend(loop.orelse)
        if not written:
            written = [gast.copy_location(gast.Pass(), loop)]
        getattr(parent, field)[position:position + 1] = written


def _unrollable(function, stmt, star):
    if not (isinstance(stmt, gast.For) and isinstance(stmt.iter, gast.Name) and stmt.iter.id == star
            and isinstance(stmt.target, gast.Name)):
        return False
    if any(isinstance(n, gast.Name) and n.id == star and not isinstance(n.ctx, (gast.Load, gast.Param))
           for n in walk_tree(function)):
        return False  # (the name given another value: its length may differ)
    name = stmt.target.id
    inside = {id(n) for part in stmt.body for n in walk_tree(part)} | {id(stmt.target)}
    for part in stmt.body:
        for child in walk_tree(part):
            if isinstance(child, (gast.Break, gast.Continue, gast.FunctionDef, gast.Lambda, gast.ClassDef)):
                return False
            if isinstance(child, gast.Name) and child.id == name and not isinstance(child.ctx, gast.Load):
                return False
            if isinstance(child, (gast.Global, gast.Nonlocal)):
                return False
    # the name used elsewhere (after the loop it is the last item; a nested function reads it): as it is
    return not any(isinstance(n, gast.Name) and n.id == name and id(n) not in inside for n in walk_tree(function))
