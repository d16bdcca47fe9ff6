"""A-normal form of in-place updates (``y[i] = v``, ``y += v``,
``items.append(v)``, ``np.add.at``) and of the items of lists and dicts: an
update is allowed only on a value this function made and shared with
nothing. Which values those are is worked out in ``normalize_ownership``;
updates of the caller's objects are written back (``normalize_caller_objects``)."""
import gast
import numpy as np

from .. import errors
from .. import runtime as rt
from .gastutil import clone, constant, load
from .ir import NONDIFF, Op, symbol


def _is_add_at(value):
    """Whether ``value`` is ``np.add.at``, NumPy's unbuffered scatter-add."""
    return getattr(value, "__self__", None) is np.add and getattr(value, "__name__", None) == "at"


class InPlace:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

    def check_owned(self, name, version, node, what):
        """An update in place is exact only on a value this function made and
        shared with nothing: elsewhere NumPy would change the other holders too."""
        if self.owners.get(version) == "owned":
            if version in self.merged:
                # A loop's phi: the value the next iteration brings is checked at the latch.
                self.owner_assumptions.setdefault(version, []).append((name, node, what))
            return
        param = name
        name = self.user_names.get(name, name)  # a nested function's own name, as its user wrote it
        fix = f"Work on a copy made in the function: {name} = {name}.copy() (for a list: list(...))."
        if self.owners.get(version) == "read whole":
            raise self.in_place_refusal(node, f"{what} of {name!r}",
                                   f"{name!r} was already used as a whole, and the derivative of "
                                   "that use reads it again after the forward pass.",
                                   f"Collect every item first, or append to a copy: {name} = list({name}).")
        if version in self.version.values() and version == param and param in self.params:
            raise errors.ArgumentChangedError(
                self.parsed.location(node), f"{what} of {name!r}",
                f"{name!r} is an argument of the function, so the caller's value would change too.", fix)
        # Whether it shares memory with anything (a view made in a branch
        # that did not run) is seen when the code runs.
        if (what == "in-place update" and version not in self.container_versions and version not in self.merged
                and self.runtime_check(node, version, f"{what} of {name!r}",
                                       f"{{other}}, and NumPy would change that value too.", fix)):
            return
        raise self.unsupported(node, f"{what} of {name!r}",
                               f"{name!r} may share memory with another value (an argument, a view, "
                               "another name or a container), and NumPy would change that value too.", fix)

    def check_rebinding_update(self, stmt):
        """``y += v`` updates an array in place, so every other holder of that
        array sees the change; the derivative code computes ``y = y + v``.
        The two agree when nothing else holds y's value: y was made here and
        is shared with nothing, or is an argument no other name holds (only
        the caller's copy would differ), or is a number or flag."""
        name = stmt.target.id
        version = self.read(name)
        if name not in self.version or version in self.rebindable or self.owners.get(version) == "owned" or (
                version in self.rebind_ok and self.owners.get(version) != "shared"):
            if name in self.version and version in self.merged:
                self.owner_assumptions.setdefault(version, []).append((name, stmt, "augmented assignment"))
            return
        if self.owners.get(version) != "shared" and version == name and name in self.params:
            # Exact for this function; a caller that passes an array it reads
            # again sees NumPy change it, which the caller checks.
            self.augmented_params.setdefault(name, self.parsed.location(stmt))
            return
        name = self.user_names.get(name, name)  # a nested function's own name, as its user wrote it
        construct = f"augmented assignment to {name!r}"
        fix = (f"Write {name} = {name} {symbol(stmt.op)} ... to make a new value, or make a copy "
               f"first: {name} = {name}.copy().")
        # A number (x[0] of a 1-d x) is re-bound, an array changed in place:
        # which one it is, and what it shares memory with, is seen when the code runs.
        if version not in self.container_versions and version not in self.merged and self.runtime_check(
                stmt, version, construct, f"here {name!r} is an array and {{other}}, so NumPy would "
                "change that value too.", fix):
            return
        raise self.unsupported(
            stmt, construct,
            f"{name!r} may hold an array that another value also holds (a view, another name, "
            "a container, a value returned by a call), and NumPy would change that value too.", fix)

    def check_item_update(self, stmt):
        """``d[k] += v`` on a list or dict: NumPy updates the item itself in
        place, so a name that holds the same array sees the change; the
        derivative code puts ``d[k] + v`` in a new container. The two agree
        unless the item is an array some name still holds."""
        target = stmt.target
        if not isinstance(target.value, gast.Name):
            return
        version = self.read(target.value.id)
        if version not in self.container_versions:
            if version in self.merged:
                # A loop's phi holding an array here: a later iteration may
                # bring a list or dict, whose item NumPy would update in place
                # (checked at the latch).
                self.owner_assumptions.setdefault(version, []).append(
                    (target.value.id, stmt, "augmented assignment to an item"))
            return
        key = target.slice.value if isinstance(target.slice, gast.Constant) else None
        if self.item_only_in_container(version, key):
            if version in self.merged:
                # A loop's phi: what the next iterations bring is checked at the latch.
                self.item_assumptions.setdefault(version, []).append((key, lambda: self.item_update_error(stmt)))
            return
        if version not in self.merged:
            # A number (x[0] put in a dict) is re-bound in its slot, an array
            # changed in place: which one it is is seen when the code runs.
            name = target.value.id
            item = self.expression(gast.Subscript(value=load(name), slice=clone(target.slice), ctx=gast.Load()))
            if self.runtime_check(stmt, version, f"augmented assignment to an item of {name!r}",
                                  "here the item is an array and {other}, so NumPy would change that value "
                                  "too.", f"Write {name}[...] = {name}[...] {symbol(stmt.op)} ... to make a new "
                                  "value.", value=item, slot=(load(version), self.index_value(self.index(target.slice)))):
                return
        raise self.item_update_error(stmt)

    def item_only_in_container(self, version, key):
        """Whether the item at ``key`` (None: a key not known when the
        function is transformed) is a number, or a new value this function
        made (not a view, not read out of a container) that no user's name
        and nothing outside the container holds."""
        items = self.items_at(version, key)
        return items is not None and all(
            isinstance(item, gast.Constant) or (isinstance(item, gast.Name)
                                                and (item.id in self.made_here or item.id in self.rebindable)
                                                and item.id not in self.version.values()
                                                and item.id not in self.held_elsewhere)
            for item in items)

    def holds_only_new_items(self, version, seen=()):
        """Whether ``version`` (a value this function made) holds no value
        from elsewhere: not a container, or one whose items are numbers or
        new values this function made (``return [v]`` holds the caller's
        ``v``: a caller that counts the list as new would miss that it
        keeps its argument)."""
        if version not in self.container_versions:
            return True
        items = self.all_items(version)
        if items is None or version in seen:
            return False
        return all(isinstance(item, gast.Constant) or (
            isinstance(item, gast.Name) and (item.id in self.rebindable or (
                item.id in self.made_here and self.owners.get(item.id) == "owned"
                and self.holds_only_new_items(item.id, (*seen, version)))))
            for item in items)

    def items_at(self, version, key):
        """The atoms the item of ``version`` at ``key`` may be: one where its
        position is known, every item where not; None if they are unknown."""
        items = self.literal_items.get(version)
        if key is not None and version not in self.possible_items:
            if isinstance(items, list) and isinstance(key, int):
                # (a key outside the list: what it holds is not what was tracked)
                return [items[key]] if -len(items) <= key < len(items) else None
            if version in self.dict_items:
                return [self.dict_items[version].get(key)]
        return self.all_items(version)

    def all_items(self, version):
        """Every atom an item of ``version`` may be, or None if unknown."""
        if version in self.possible_items:
            return list(self.possible_items[version])
        if version in self.literal_items:
            return list(self.literal_items[version])
        if version in self.dict_items:
            return list(self.dict_items[version].values())
        return None

    def items_read(self, version, index):
        """The names of the items ``version[index]`` may be, where known."""
        items = self.items_at(version, index.value if isinstance(index, gast.Constant) else None)
        return {item.id for item in items or () if isinstance(item, gast.Name)}

    def item_update_error(self, stmt):
        name = stmt.target.value.id
        return self.in_place_refusal(
            stmt, f"augmented assignment to an item of {name!r}",
            "the item may be an array that a name also holds, and NumPy would update it in place.",
            f"Write {name}[...] = {name}[...] {symbol(stmt.op)} ... with a copy of the item, or build "
            "the item in the container (no other name for it).")

    def merge_items(self, target, source, first):
        """What the items of a phi or merge name are: known only where every
        source agrees they are held by the container alone."""
        if first and source in self.possible_items:
            self.possible_items[target] = self.possible_items[source]
        elif not first and (target in self.possible_items or source in self.possible_items):
            # Where items are somewhere in the container, the merge may hold either's.
            before, after = self.all_items(target), self.all_items(source)
            self.possible_items.pop(target, None)
            if before is not None and after is not None:
                self.possible_items[target] = tuple(before) + tuple(after)
        for table in (self.dict_items, self.literal_items):
            if first:
                if source in table:
                    table[target] = dict(table[source]) if isinstance(table[source], dict) else list(table[source])
                continue
            if target not in table:
                continue
            if table is self.literal_items and (source not in table or len(table[source]) != len(table[target])):
                del table[target]  # its length differs between the sources (or is unknown)
                continue
            if table is self.dict_items and (source not in table or set(table[source]) != set(table[target])):
                del table[target]  # its keys differ between the sources (or are unknown)
                continue
            keys = list(table[target]) if isinstance(table[target], dict) else range(len(table[target]))
            for key in keys:
                if not self.item_only_in_container(source, key):
                    table[target][key] = None  # unknown from here on
        for key, error in self.item_assumptions.get(target, []) if not first else []:
            if not self.item_only_in_container(source, key):
                raise error()
        for keys, node in self.mapping_assumptions.get(target, []) if not first else []:
            if source not in self.dict_items or set(self.dict_items[source]) != set(keys):
                raise self.unsupported(node, "**mapping in a call",
                                       "the dict changes keys from one iteration of the loop to the next, "
                                       "so the keyword arguments are not known when the function is "
                                       "transformed.", "Pass the keyword arguments one by one.")
        for count, node in self.starred_assumptions.get(target, []) if not first else []:
            if source not in self.literal_items or len(self.literal_items[source]) != count:
                raise self.unsupported(node, "*args in a call",
                                       "the list changes length from one iteration of the loop to the "
                                       "next, so the number of arguments is not known when the function "
                                       "is transformed.", "Pass the arguments one by one.")

    def setitem(self, target, value):
        self.refuse_object_item_store(target)  # (t[i] = v on an object of the user's class)
        if isinstance(target.value, gast.Subscript):
            return self.setitem_of_an_item(target, value)
        if isinstance(target.value, gast.Name) and target.value.id not in self.version:
            # counts["f"] += 1 on a dict of the module: state kept outside the function
            raise errors.outside_item_update_error(self.parsed.location(target), target.value.id)
        if not isinstance(target.value, gast.Name) or target.value.id not in self.version:
            raise self.in_place(target)
        name = target.value.id
        new_value = self.atom(value)
        version = self.read(name)
        self.check_owned(name, version, target, "in-place update")
        index = self.index_value(self.from_the_front(version, self.index(target.slice)))
        # A list or dict made here gets its item replaced; anything else is an array.
        helper, prim = (("replace_item", rt.replace_item) if version in self.container_versions
                        else ("setitem", rt.setitem))
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr=helper, ctx=gast.Load()),
                         args=[load(version), index, new_value], keywords=[])
        new = self.bind(name)
        self.emit(call, prim, [load(version), index, new_value], target=new, construct="in-place update")
        self.owners[new] = "owned"
        self.changed_in_place(target, name, version)
        # What each item of the new container is, where known (for d[k] += v).
        key = index.value if isinstance(index, gast.Constant) else None
        if prim is rt.replace_item and version in self.dict_items and key is not None:
            self.dict_items[new] = {**self.dict_items[version], key: new_value}
        elif (prim is rt.replace_item and version in self.literal_items and version not in self.possible_items
              and isinstance(key, int) and -len(self.literal_items[version]) <= key < len(self.literal_items[version])):
            items = list(self.literal_items[version])
            items[key] = new_value
            self.literal_items[new] = items
        elif prim is rt.replace_item and self.all_items(version) is not None:
            # The slot is not known: the new item may be anywhere.
            self.possible_items[new] = tuple(self.all_items(version)) + (new_value,)
            if version in self.literal_items:
                self.literal_items[new] = list(self.literal_items[version])  # its length, for *items

    def setitem_of_an_item(self, target, value):
        """``items[k][i] = v`` on a list or dict made here whose item at ``k``
        nothing else holds: a new item with ``[i] = v``, put back at ``k``
        (NumPy updates the item in place; no one else can tell)."""
        outer = target.value
        if (isinstance(outer.value, gast.Name) and outer.value.id in self.version
                and self.read(outer.value.id) not in self.container_versions):
            return self.setitem_of_a_view(target, value)
        if not (isinstance(outer.value, gast.Name) and outer.value.id in self.version
                and self.read(outer.value.id) in self.container_versions
                and not isinstance(outer.slice, (gast.Slice, gast.Tuple))):
            raise self.in_place(target)
        name = outer.value.id
        version = self.read(name)
        self.check_owned(name, version, target, "in-place update")
        slot = self.atom(outer.slice)  # evaluated once, as Python does
        key = slot.value if isinstance(slot, gast.Constant) else None

        def error():
            return self.in_place_refusal(
                target, f"in-place update of an item of {name!r}",
                "the item may be an array that a name or another container also holds, and NumPy "
                "would update it in place.",
                f"Build the new item and put it back: row = {name}[...].copy(); row[...] = ...; "
                f"{name}[...] = row.")

        if not self.item_only_in_container(version, key):
            raise error()
        if version in self.merged:  # a loop's phi: what the next iterations bring is checked at the latch
            self.item_assumptions.setdefault(version, []).append((key, error))
        new_value = self.atom(value)
        # The item is a list or dict made here (a grid of lists), or an array.
        nested = all(isinstance(atom, gast.Name) and atom.id in self.container_versions
                     for atom in self.items_at(version, key) or [None])
        helper, prim = ("replace_item", rt.replace_item) if nested else ("setitem", rt.setitem)
        item = self.atom(gast.Subscript(value=load(name), slice=clone(slot), ctx=gast.Load()))
        index = self.index_value(self.index(target.slice))
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr=helper, ctx=gast.Load()),
                         args=[item, index, new_value], keywords=[])
        new_item = self.emit(call, prim, [item, index, new_value], construct="in-place update")
        self.setitem(gast.Subscript(value=load(name), slice=clone(slot), ctx=gast.Store()), new_item)

    def setitem_of_a_view(self, target, value):
        """``y[i][j] = v`` on an array: ``y[i]`` is a view of y where ``i``
        is a basic index (numbers and slices), so this is ``row = y[i];
        row[j] = v; y[i] = row``. An index array would give a copy, which
        NumPy updates and drops (y unchanged): refused, when the code runs
        for an index only known then."""
        outer = target.value
        name = outer.value.id
        self.check_owned(name, self.read(name), target, "in-place update")
        slot = self.index(outer.slice)
        parts = slot.elts if isinstance(slot, gast.Tuple) else [slot]
        for part in parts:
            if isinstance(part, gast.Slice) or (isinstance(part, gast.Constant) and (
                    part.value is None or part.value is Ellipsis
                    or (isinstance(part.value, int) and not isinstance(part.value, bool)))):
                continue
            if not isinstance(part, gast.Name):
                raise self.in_place(target)
            message = str(self.unsupported(
                target, f"in-place update of an item of {name!r}",
                f"here {name}[...] is indexed with an array, which makes a copy: NumPy updates the copy "
                f"and leaves {name!r} as it was.",
                f"Index with numbers and slices ({name}[i, j] = ...), or write {name}[...] = ... with the "
                "index you mean."))
            call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="check_basic_index",
                                                 ctx=gast.Load()),
                             args=[clone(part), constant(message)], keywords=[])
            self.ops.append(Op("expr", [], call, NONDIFF, [clone(part)], lineno=self.lineno,
                               no_grad=self.no_grad, construct="index check"))
        index = self.index_value(slot)
        item = self.emit(gast.Subscript(value=load(self.read(name)), slice=clone(slot), ctx=gast.Load()),
                         rt.getitem, [load(self.read(name)), index], construct="indexing")
        new_value = self.atom(value)
        inner = self.index_value(self.index(target.slice))
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="setitem", ctx=gast.Load()),
                         args=[item, inner, new_value], keywords=[])
        new_item = self.emit(call, rt.setitem, [item, inner, new_value], construct="in-place update")
        self.setitem(gast.Subscript(value=load(name), slice=clone(slot), ctx=gast.Store()), new_item)

    def from_the_front(self, version, index):
        """``index`` into a list made here, counted from the front: the list
        may grow by appends later, in place, and the backward pass must know
        which item was read or replaced (xs[-1] is not the last item of the
        longer list)."""
        if version not in self.list_versions or (isinstance(index, gast.Constant)
                                                 and isinstance(index.value, int) and index.value >= 0):
            return index
        key = self.index_value(index)  # a slice as np.s_[...]
        return self.emit(gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="item_position",
                                                       ctx=gast.Load()),
                                   args=[load(version), key], keywords=[]),
                         NONDIFF, [load(version), clone(key)], construct="position in the list")

    def add_at(self, call):
        """``np.add.at(y, indices, v)`` on an array ``y`` this function made and
        shares with nothing: ``y = rt.add_at(y, indices, v)``, which adds ``v``
        at every index, once per occurrence of a repeated one, into a new
        array (no one else held y, so no one can tell). Returns False for any
        other form (an array not owned here stays a call changing its argument
        in place, refused where its values are differentiated)."""
        if len(call.args) != 3 or call.keywords or not isinstance(call.args[0], gast.Name):
            return False
        name = call.args[0].id
        version = self.read(name)
        if name not in self.version or self.owners.get(version) != "owned":
            return False
        self.check_owned(name, version, call, "np.add.at")
        index = self.atom(call.args[1])
        value = self.atom(call.args[2])
        added = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="add_at", ctx=gast.Load()),
                          args=[load(version), index, value], keywords=[])
        new = self.bind(name)
        self.emit(added, rt.add_at, [load(version), clone(index), clone(value)], target=new, construct="np.add.at")
        self.owners[new] = "owned"
        return True

    def fill_diagonal(self, call):
        """``np.fill_diagonal(a, val)`` (``wrap=False``, its default) on a
        name: ``a[rt.diagonal_index(a.shape)] = val``, an in-place update
        like any other (exact on an array made here and shared with nothing,
        refused elsewhere as those are). Returns False for any other form."""
        wrap = [k for k in call.keywords if k.arg == "wrap"]
        if (len(call.args) != 2 or len(call.keywords) != len(wrap)
                or any(not (isinstance(k.value, gast.Constant) and k.value.value is False) for k in wrap)
                or not isinstance(call.args[0], gast.Name) or call.args[0].id not in self.version):
            return False
        name = call.args[0].id
        shape = self.atom(gast.Attribute(value=load(name), attr="shape", ctx=gast.Load()))
        index = self.emit(gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="diagonal_index",
                                                        ctx=gast.Load()), args=[shape], keywords=[]),
                          NONDIFF, [clone(shape)], construct="np.fill_diagonal's positions")
        target = gast.copy_location(gast.Subscript(value=load(name), slice=index, ctx=gast.Store()), call)
        self.setitem(target, call.args[1])
        return True

    def list_append(self, call):
        name = call.func.value.id
        version = self.read(name)
        self.check_owned(name, version, call, "append to list")
        item = self.atom(call.args[0])
        position = self.emit(gast.Call(func=load("len"), args=[load(version)], keywords=[]), NONDIFF,
                             [load(version)], construct="len")
        append = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="append", ctx=gast.Load()),
                           args=[load(version), item], keywords=[])
        new = self.bind(name)
        self.emit(append, rt.append, [load(version), item, position], target=new, construct="list.append")
        self.owners[new] = "owned"
