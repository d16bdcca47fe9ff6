"""A-normal form of in-place updates (``y[i] = v``, ``items.append(v)``) and
the ownership analysis that makes them exact: an update is allowed only on
a value this function made and shared with nothing."""


import gast
import numpy as np

from .. import errors, rules
from .. import runtime as rt
from .gastutil import clone, constant, load, walk
from .ir import ARRAY_METHODS, NONDIFF, OPAQUE, UNPACK, MethodCall, Op, UserCall, fresh_result, symbol


#: functions that return Python numbers (immutable: y += 1 re-binds them).
_SCALAR_FUNCTIONS = {len, int, float, round, bool}
_NUMPY_SCALAR_TYPES = {np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8, np.bool_}
#: operators that give a number from numbers (i + 1 with i a loop counter).
_NUMBER_ARITHMETIC = {np.add, np.subtract, np.multiply, np.divide, np.floor_divide, np.mod, np.power,
                      np.negative, np.positive}


def _immutable_atom(atom, immutable):
    return isinstance(atom, gast.Constant) or (isinstance(atom, gast.Name) and atom.id in immutable)


def _python_scalar(op, immutable):
    """Whether ``op`` makes a value no one can change in place: a number
    literal, len(...), float(...), a math function, an item of an immutable
    value (x.shape[0])."""
    prim = op.prim
    if prim is NONDIFF:
        return ((len(op.args) == 1 and isinstance(op.args[0], gast.Constant))
                or op.construct in ("attribute .shape", "attribute .ndim", "attribute .size"))
    if prim is rt.getitem:
        return isinstance(op.args[0], gast.Name) and op.args[0].id in immutable
    if prim in _NUMPY_SCALAR_TYPES:  # np.float64(0.0): a NumPy number (of an array it is an array)
        return not op.kwargs and all(_immutable_atom(a, immutable) for a in op.args)
    if prim is rt.identity or prim in _NUMBER_ARITHMETIC:  # a copy of a number, arithmetic on numbers
        return not op.kwargs and all(_immutable_atom(a, immutable) for a in op.args)
    try:
        return prim in _SCALAR_FUNCTIONS or getattr(prim, "__module__", None) == "math"
    except TypeError:
        return False


def _changed_in_place(node, params):
    """The parameters ``node``'s body updates in place: ``x[...] = v``,
    ``x[...] op= v`` and ``x op= v`` (which re-binds a number, and changes an
    array, a list or a dict in place)."""
    found = set()
    for stmt in walk(node):
        if isinstance(stmt, gast.AugAssign):
            targets = [stmt.target]
        elif isinstance(stmt, gast.Assign):
            targets = list(stmt.targets)
        else:
            continue
        while targets:
            target = targets.pop()
            if isinstance(target, (gast.Tuple, gast.List)):
                targets.extend(target.elts)
                continue
            if isinstance(target, gast.Starred):
                targets.append(target.value)
                continue
            if isinstance(target, gast.Name):
                if isinstance(stmt, gast.AugAssign) and target.id in params:
                    found.add(target.id)
                continue
            while isinstance(target, gast.Subscript):
                target = target.value
            if isinstance(target, gast.Name) and target.id in params:
                found.add(target.id)
    return found


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

    # ------------------------------------------------ the caller's objects

    def values_at_entry(self, node, params):
        """A parameter that the function updates in place (``x[i] = v``,
        ``x += v``) is read from a copy made at entry: the derivative is that
        of the values at entry (torch.func's meaning), and each update is
        written back into the caller's object (``changed_in_place``)."""
        changed = _changed_in_place(node, set(params))
        for name in params:
            if name not in changed:
                continue
            copy = self.namer.fresh(name)
            call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="entry_value", ctx=gast.Load()),
                             args=[load(name)], keywords=[])
            self.emit(call, rt.copy, [load(name)], target=copy, construct="the argument's value at entry")
            self.entry_alias_check(node, name, [p for p in params if p != name])
            self.version[name] = copy
            self.owners[copy] = "owned"
            self.caller_objects[copy] = name

    def entry_alias_check(self, node, name, others):
        """A check, made when the code runs, that the argument ``name``,
        which the function changes in place, shares memory with no other
        argument (``f(a, a)``, ``f(a[:2], a)``): NumPy would change that
        one too, and the derivative, of each argument's value at entry,
        would not be that of the values the function reads."""
        if not others:
            return
        message = str(errors.UnsupportedSyntaxError(
            self.parsed.location(node), f"in-place update of argument {name!r}",
            f"{name!r} is changed in place and {{other}}, so NumPy changes that argument too, and the "
            "derivative (of each argument's value at entry, apart) would not be that of the values "
            "the function reads.",
            f"Pass arrays that do not share memory (a copy: .copy()), or work on a copy in the "
            f"function: {name} = {name}.copy()."))
        held = [gast.Tuple(elts=[constant(f"argument {other!r}"), load(other)], ctx=gast.Load())
                for other in others]
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="check_unshared", ctx=gast.Load()),
                         args=[load(name), constant(message), gast.Dict(keys=[], values=[]),
                               gast.Tuple(elts=[], ctx=gast.Load())] + held, keywords=[])
        self.ops.append(Op("expr", [], call, NONDIFF, [load(name)], lineno=node.lineno,
                           no_grad=self.no_grad, construct="alias check"))

    def changed_in_place(self, node, name, before):
        """``name`` was updated in place from version ``before``: if that is
        the caller's object, the new value is written back into it."""
        if before in self.caller_mixed:
            raise self.unsupported(
                node, f"in-place update of {name!r}",
                f"{name!r} is the caller's argument on some paths and a new value on others, so whether "
                "the caller's array changes depends on the path taken.",
                f"Make a copy first on every path ({name} = {name}.copy()), or re-bind {name} on every path.")
        param = self.caller_objects.get(before)
        if param is None:
            return
        new = self.read(name)
        self.caller_objects[new] = param
        if before in self.merged:  # a loop's phi: what the next iterations bring is checked at the latch
            self.caller_assumptions.setdefault(before, []).append((name, node))
        self.augmented_params.setdefault(param, self.parsed.location(node))
        args = [load(param), load(new)]
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="write_back", ctx=gast.Load()),
                         args=[load(param), load(new)], keywords=[])
        self.ops.append(Op("expr", [], call, rt.write_back, args, lineno=self.lineno, no_grad=self.no_grad,
                           construct="the caller's argument changed in place"))

    def merge_caller_object(self, target, source, first):
        """A phi or merge is the caller's object if each of its sources is."""
        param = self.caller_objects.get(source) if isinstance(source, str) else None
        mixed = isinstance(source, str) and source in self.caller_mixed
        if first:
            if param is not None:
                self.caller_objects[target] = param
            elif mixed:
                self.caller_mixed.add(target)
            return
        if target in self.caller_mixed or (param == self.caller_objects.get(target) and not mixed):
            return
        for name, node in self.caller_assumptions.get(target, []):
            raise self.unsupported(
                node, f"in-place update of {name!r}",
                f"in a later iteration {name!r} is no longer the caller's argument (it is re-bound further "
                "down the loop), so whether the caller's array changes depends on the iteration.",
                f"Make a copy before the loop ({name} = {name}.copy()), or re-bind {name} before updating it.")
        self.caller_objects.pop(target, None)
        self.caller_mixed.add(target)

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

    def track_ownership(self, op):
        """Which values are owned by this function alone (may be updated in
        place). A name that both arms of ``a if c else b`` (or a phi) define
        is owned only if every definition is."""
        target = op.targets[0] if op.targets else None
        again = target in self.assigned
        before = self.owners.get(target)
        self._track_ownership(op)
        if target is not None:
            self.assigned.add(target)
            if again and before != "owned" and self.owners.get(target) == "owned":
                if before is None:
                    del self.owners[target]
                else:
                    self.owners[target] = before

    def _track_ownership(self, op):
        prim, target = op.prim, op.targets[0] if op.targets else None
        if target is None:
            return
        holds_nothing = prim is NONDIFF or (rules.is_nondifferentiable(prim)
                                            and getattr(prim, "__name__", "") != "stop_gradient")
        fresh = fresh_result(prim, op.kwargs) or self.returns_new_value(prim)
        self.track_aliases(op, fresh or (holds_nothing and prim is not rt.identity))
        if _python_scalar(op, self.rebindable):
            self.rebindable.add(target)  # numbers, len(...), x.shape[0]: immutable values
        if op.construct in ("phi", "merge"):
            # A name merged from several places is owned (or safe to re-bind)
            # only if the values from all of them are.
            source = op.args[0].id if op.args and isinstance(op.args[0], gast.Name) else None
            self.merge_caller_object(target, source, target not in self.merged)
            owned = source is not None and self.owners.get(source) == "owned"
            # Safe to re-bind in place of an update: numbers and flags only; an
            # array's safety is its ownership, which aliasing later withdraws.
            safe = source in self.rebindable or isinstance(op.args[0], gast.Constant)
            self.merge_items(target, source, target not in self.merged)
            if source in self.views or source in self.item_views:
                # A parameter bound to a view made at the call (``R(z[:2])``,
                # inlined): whatever keeps the parameter keeps the view, so it
                # views (or is the item) its source does.
                self.views[target] = self.views.get(target, set()) | self.views.get(source, set())
                if source in self.item_views:
                    self.item_views[target] = self.item_views.get(target, set()) | set(self.item_views[source])
            # A value another name came to hold after it was found safe is no longer.
            shared = self.owners.get(source) == "shared"
            rebind_ok = owned or safe or (source in self.rebind_ok and not shared)
            if target not in self.merged:
                self.merged.add(target)
                if owned:
                    self.owners[target] = "owned"
                if shared:
                    self.owners[target] = "shared"
                if safe:
                    self.rebindable.add(target)
                if rebind_ok:
                    self.rebind_ok.add(target)
            else:
                # An update made in the loop's body assumed the value was its
                # own (or a number); the next iteration may bring one that is not.
                for name, node, what in self.owner_assumptions.get(target, []):
                    name = self.user_names.get(name, name)
                    if not (rebind_ok if what == "augmented assignment" else owned):
                        raise self.in_place_refusal(
                            node, f"{what} of {name!r}",
                            f"in a later iteration {name!r} holds a value that another name, a view or "
                            "a container also holds (it is re-bound further down the loop), and NumPy "
                            "would change that value too.",
                            f"Work on a copy: {name} = {name}.copy() where it is re-bound.")
                if shared:
                    self.owners[target] = "shared"
                elif not owned and self.owners.get(target) == "owned":
                    del self.owners[target]
                if not safe:
                    self.rebindable.discard(target)
                if not rebind_ok:
                    self.rebind_ok.discard(target)
            if source in self.list_versions:
                self.list_versions.add(target)
            if source in self.container_versions:
                self.container_versions.add(target)
            return
        if fresh:
            self.owners[target] = "owned"
            self.made_here.add(target)  # a new value, not a view of another
        lists = [a for a in op.args if isinstance(a, gast.Name) and a.id in self.list_versions]
        if prim in (rt.make_list, rt.append, list) or (lists and prim in (
                rt.concat_items, rt.repeat_items, rt.copy, np.multiply, rt.replace_item)):
            self.list_versions.add(target)  # a list made here, which appends may grow
        if prim in (rt.make_list, rt.make_tuple, rt.append, rt.make_dict, rt.replace_item, rt.concat_items,
                    rt.repeat_items, list, dict):
            self.container_versions.add(target)
        containers = [a for a in op.args if isinstance(a, gast.Name) and a.id in self.container_versions]
        if prim is rt.identity and containers:
            self.container_versions.add(target)  # z = items: the same list
            if lists:
                self.list_versions.add(target)
        if prim is rt.copy and containers:
            self.container_versions.add(target)  # items.copy() of a list or dict made here
        if prim is np.multiply and containers and any(
                isinstance(a, gast.Constant) and isinstance(a.value, int) for a in op.args):
            self.container_versions.add(target)  # [0.0] * n
        # A list read whole (np.stack(items)) is read again by the backward
        # pass, so it must not grow afterwards: later appends are refused.
        # Whatever reads a list or dict whole (dict(d), d.copy(), a call) may
        # keep its items.
        if prim not in (rt.getitem, rt.append, rt.replace_item) and not holds_nothing:
            for arg in list(op.args) + list(op.kwargs.values()):
                if isinstance(arg, gast.Name) and arg.id in self.list_versions:
                    self.owners[arg.id] = "read whole"
                if isinstance(arg, gast.Name) and arg.id in self.container_versions:
                    self.held_elsewhere.update(item.id for item in self.all_items(arg.id) or ()
                                               if isinstance(item, gast.Name))
        if prim is rt.getitem:
            # A view kept under a user's name shares memory with its source;
            # one used right away (``y[i] + 1``) does not outlive the statement,
            # unless something keeps it: its source is remembered for that.
            source = op.args[0]
            if isinstance(source, gast.Name) and source.id in self.container_versions:
                # An item of a list or dict: re-binding the slot later leaves it
                # alone, but the item itself is held by the container too. The
                # result is the item itself: whoever keeps it holds the item.
                items = self.items_read(source.id, op.args[1])
                self.item_views[target] = items
                if target in self.user_versions:
                    self.held_elsewhere.update(items)
                return
            if isinstance(source, gast.Name) and target in self.user_versions:
                self.hold(source.id)
            elif isinstance(source, gast.Name):
                self.views[target] = {source.id}
            return
        keeps = prim in (rt.make_list, rt.make_tuple, rt.make_dict, rt.append, rt.replace_item,
                         rt.concat_items, rt.repeat_items)
        if prim in (rt.make_list, rt.make_tuple, rt.make_dict, rt.append, rt.replace_item):
            # A value put in a second slot (``[y, y]``, or in two containers):
            # an update through one slot changes it in the other.
            inserted = op.args[1:2] if prim is rt.append else op.args[2:3] if prim is rt.replace_item else op.args
            for arg in inserted:
                if isinstance(arg, gast.Name):
                    if arg.id in self.in_slots:
                        self.held_elsewhere.add(arg.id)
                    self.in_slots.add(arg.id)
        for arg in list(op.args) + list(op.kwargs.values()):
            if not isinstance(arg, gast.Name) or arg.id == target:
                continue
            if prim in (rt.setitem, rt.append, rt.replace_item) and arg is op.args[0]:
                continue  # the array or container being updated
            if prim is rt.setitem:
                continue  # y[i] = v copies v's values into y
            if not keeps and (fresh or holds_nothing):
                continue  # arithmetic, len(x), x > 0 read a value without keeping it
            # Kept in a container, or possibly viewed by the result
            # (np.reshape(y[1:], ...)): shared, with what it views. A view
            # used right away (np.sum(y.T)) does not outlive the statement,
            # unless something keeps it: its source is remembered for that.
            if keeps:
                self.share(arg.id)
            else:
                if target in self.user_versions or not self.tracked(prim):
                    self.hold(arg.id)
                self.views[target] = self.views.get(target, set()) | {arg.id}

    def track_unpacking(self, targets, atom):
        """``a, b = value``: the items of a tuple of numbers (x.shape) are
        numbers; anything else's items may be views of it (rows of an array)
        or arrays it holds."""
        if not isinstance(atom, gast.Name):
            return
        source = atom.id
        for target in targets:
            if source in self.rebindable:
                self.rebindable.add(target)
                continue
            self.aliases.setdefault(target, set()).add(source)
            self.aliases.setdefault(source, set()).add(target)
            if source in self.untracked:
                self.untracked.add(target)
        if source not in self.rebindable:
            self.hold(source)

    def hold(self, name):
        """``name``'s value is kept by a user's name or a view: shared, and
        if it (or what it views) is an item of a list or dict, held outside it."""
        pending, seen = [name], set()
        while pending:
            held = pending.pop()
            if held not in seen:
                seen.add(held)
                self.held_elsewhere.add(held)
                pending.extend(self.views.get(held, ()))
                pending.extend(self.item_views.get(held, ()))
        self.share(name)

    def share(self, name):
        """``name``'s value, and every value it may view, is held elsewhere too."""
        pending = [name]
        while pending:
            name = pending.pop()
            # An item read out of a list or dict is now held outside it too.
            self.held_elsewhere.update(self.item_views.get(name, ()))
            if self.owners.get(name) != "shared":
                self.owners[name] = "shared"
                pending.extend(self.views.get(name, ()))

    # ----- which values may share memory, for the checks made when the code runs

    def track_aliases(self, op, fresh):
        """Link ``op``'s result with the values it may share memory with
        (those it may view or hold, and what holds them), and note results
        whose other holders are not visible here (a callee may return an
        array it keeps elsewhere)."""
        target = op.targets[0]
        if not self.tracked(op.prim):
            self.untracked.add(target)
        if fresh and op.prim not in _HOLD_ITEMS:
            return
        links = list(op.args) + list(op.kwargs.values())
        if op.prim is rt.setitem:
            links = op.args[:1]  # y[i] = v copies v's values into y
        for arg in links:
            if isinstance(arg, gast.Name) and arg.id != target:
                self.aliases.setdefault(target, set()).add(arg.id)
                self.aliases.setdefault(arg.id, set()).add(target)

    def tracked(self, prim):
        """Whether a result of ``prim`` can share memory only with its
        arguments: NumPy, adjoint's own helpers, Python's builtins."""
        if isinstance(prim, UserCall):
            return self.returns_new_value(prim)
        if prim is None or prim is OPAQUE or isinstance(prim, MethodCall):
            return False
        if prim is NONDIFF or prim is UNPACK:
            return True
        module = getattr(prim, "__module__", None) or ""
        return (isinstance(prim, np.ufunc) or module.split(".")[0] in ("numpy", "builtins", "math")
                or rt.is_helper(prim) or prim in ARRAY_METHODS.values())

    def returns_new_value(self, prim):
        """Whether ``prim`` is the user's function and returns a new value
        its arguments, globals or anything else do not hold."""
        if not isinstance(prim, UserCall) or prim.bound:
            return False
        return self.callees.facts(prim.function)[0]

    def alias_candidates(self, version):
        """The names whose values the value of ``version`` may share memory
        with, as (name, the user's name) pairs, and the free names
        (globals, closures) among them; None where some are not visible."""
        component, pending = {version}, [version]
        while pending:
            for other in self.aliases.get(pending.pop(), ()):
                if other not in component:
                    component.add(other)
                    pending.append(other)
        if component & self.untracked:
            return None
        # Only what a name holds now, or the caller's arguments: a value a
        # name held before it was re-bound is gone (w = v; w = w * 2.0).
        closures = getattr(self, "closure_held", {})  # values functions made here keep
        held = set(self.version.values()) | self.params
        local = sorted((n, closures.get(n) or self.user_versions[n]) for n in component - {version}
                       if (n in self.user_versions and n in held) or n in closures)
        free = sorted(n for n in component if n not in self.defined and n not in self.params)
        return local, free

    def runtime_check(self, node, version, construct, reason, fix, value=None, slot=None):
        """A check, made when the code runs, that ``version``'s value shares
        memory with none of the values it may share it with (where that is
        not known when the function is transformed); False if those values
        are not all visible here. ``value``: the atom checked, if not
        ``version`` itself (an item of it); ``slot``: (the container,
        the key) it is read from, whose other slots may hold it too."""
        candidates = self.alias_candidates(version)
        if candidates is None:
            return False
        local, free = candidates
        message = str(errors.UnsupportedSyntaxError(self.parsed.location(node), construct, reason, fix))
        names = gast.Tuple(elts=[gast.Tuple(elts=[constant(n), constant(label)], ctx=gast.Load())
                                 for n, label in local], ctx=gast.Load())
        value = load(version) if value is None else clone(value)
        args = [value, constant(message), gast.Call(func=load("locals"), args=[], keywords=[]), names]
        args += [gast.Tuple(elts=[constant(n), load(n)], ctx=gast.Load()) for n in free]
        keywords = [] if slot is None else [gast.keyword(arg="slot", value=gast.Tuple(elts=list(slot),
                                                                                      ctx=gast.Load()))]
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="check_unshared", ctx=gast.Load()),
                         args=args, keywords=keywords)
        self.ops.append(Op("expr", [], call, NONDIFF, [clone(value)], lineno=self.lineno,
                           no_grad=self.no_grad, construct="alias check"))
        return True


#: functions whose result holds their arguments (containers) or may (copies of lists)
_HOLD_ITEMS = {rt.make_list, rt.make_tuple, rt.make_dict, rt.append, rt.replace_item, rt.concat_items,
               rt.repeat_items, list, dict, tuple, rt.copy}
