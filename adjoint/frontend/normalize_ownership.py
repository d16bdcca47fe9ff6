"""Ownership for in-place updates (normalize_inplace): which values this
function made and shares with nothing (``owners``: "owned", "shared", "read
whole"), which values a view or a user's name holds (``held_elsewhere``),
and which values may share memory (``aliases``), for the checks made when
the code runs where that is not known when the function is transformed."""
import gast
import numpy as np

from .. import errors, rules
from .. import runtime as rt
from .gastutil import clone, constant, load
from .ir import ARRAY_METHODS, NONDIFF, OPAQUE, UNPACK, MethodCall, Op, UserCall, fresh_result


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


#: functions whose result holds their arguments (containers) or may (copies of lists)
_HOLD_ITEMS = {rt.make_list, rt.make_tuple, rt.make_dict, rt.append, rt.replace_item, rt.concat_items,
               rt.repeat_items, list, dict, tuple, rt.copy}


class Ownership:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

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

    def track_unbound_phi(self, phi):
        """A loop-carried name with no value before the loop (first bound in
        the body, under a branch or with an update that reads it): the None it
        starts with is never updated (Python would fail first), so the name's
        ownership is that of the values the iterations bring. It is taken as
        owned, and every update in the body that relies on that is checked
        again at the latch against the value the iteration leaves (a view of
        another array is refused there, at the user's line), as for a name
        bound before the loop."""
        self.merged.add(phi)
        self.assigned.add(phi)
        self.owners[phi] = "owned"
        self.rebind_ok.add(phi)

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
                    if what == "augmented assignment to an item" and source in self.container_versions:
                        key = node.target.slice.value if isinstance(node.target.slice, gast.Constant) else None
                        if not self.item_only_in_container(source, key):
                            raise self.in_place_refusal(
                                node, f"{what} of {name!r}",
                                f"in a later iteration {name!r} is a list or dict whose item another name "
                                "or container also holds (it is re-bound further down the loop), and NumPy "
                                "would change that item too.",
                                f"Write {name}[...] = {name}[...] + ... to make a new value.")
                        continue
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
        if prim in (rt.make_list, rt.append, list, rt.array_to_list) or (lists and prim in (
                rt.concat_items, rt.repeat_items, rt.copy, np.multiply, rt.replace_item)):
            self.list_versions.add(target)  # a list made here, which appends may grow
        if prim in (rt.make_list, rt.make_tuple, rt.append, rt.make_dict, rt.replace_item, rt.concat_items,
                    rt.repeat_items, list, dict, rt.array_to_list):
            self.container_versions.add(target)
        slices = self.__dict__.setdefault("slice_positions", set())
        if (op.construct == "position in the list" and len(op.args) == 2 and isinstance(op.args[1], gast.Subscript)
                and isinstance(op.args[1].slice, gast.Slice)):
            slices.add(target)  # rt.item_position(items, np.s_[1:]): a slice
        if (prim is rt.getitem and len(op.args) == 2 and isinstance(op.args[1], gast.Name) and op.args[1].id in slices
                and isinstance(op.args[0], gast.Name) and op.args[0].id in self.list_versions):
            self.container_versions.add(target)  # items[1:]: a new list (items[1:] + items[:1] joins them)
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
