"""The caller's objects updated in place: a parameter the function updates
(``x[i] = v``, ``x += v``) is read from a copy made at entry, each update
is written back into the caller's object, and arguments that may share
memory are checked at entry (normalize_inplace)."""
import gast

from .. import errors
from .. import runtime as rt
from .gastutil import constant, load, walk
from .ir import NONDIFF, Op


def _changed_in_place(node, params):
    """The parameters ``node``'s body updates in place: ``x[...] = v``,
    ``x[...] op= v`` and ``x op= v`` (which re-binds a number, and changes an
    array, a list or a dict in place), each with the first statement that
    updates it by item (``x[...] = v``) where one does."""
    found = {}
    for stmt in walk(node):
        if _fills_diagonal(stmt) and stmt.value.args[0].id in params:
            found.setdefault(stmt.value.args[0].id, None)  # np.fill_diagonal(x, v): x[diagonal] = v (normalize_inplace)
            continue
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
                    found.setdefault(target.id, None)
                continue
            while isinstance(target, gast.Subscript):
                target = target.value
            if isinstance(target, gast.Name) and target.id in params:
                first = found.get(target.id)
                if first is None or stmt.lineno < first.lineno:
                    found[target.id] = stmt
    return found


def _fills_diagonal(stmt):
    """Whether ``stmt`` reads as ``np.fill_diagonal(name, ...)`` (by its
    spelling: which function it is is known later, and a parameter wrongly
    taken for updated is only copied at entry)."""
    if not (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) and stmt.value.args
            and isinstance(stmt.value.args[0], gast.Name)):
        return False
    func = stmt.value.func
    return (isinstance(func, gast.Attribute) and func.attr == "fill_diagonal") or (
        isinstance(func, gast.Name) and func.id == "fill_diagonal")


class CallerObjects:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

    def values_at_entry(self, node, params):
        """A parameter that the function updates in place (``x[i] = v``,
        ``x += v``) is read from a copy made at entry: the derivative is that
        of the values at entry (torch.func's meaning), and each update is
        written back into the caller's object (``changed_in_place``)."""
        changed = _changed_in_place(node, set(params))
        for name in params:
            if name not in changed:
                continue
            if changed[name] is not None:
                self.entry_container_check(changed[name], name)
            copy = self.namer.fresh(name)
            call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="entry_value", ctx=gast.Load()),
                             args=[load(name)], keywords=[])
            self.emit(call, rt.copy, [load(name)], target=copy, construct="the argument's value at entry")
            self.entry_alias_check(node, name, [p for p in params if p != name])
            self.version[name] = copy
            self.owners[copy] = "owned"
            self.caller_objects[copy] = name

    def entry_container_check(self, stmt, name):
        """A check, made when the code runs, that the argument ``name``, whose
        items ``stmt`` sets, is not a list or dict: adjoint writes the updates
        of the caller's arrays back into them, not those of its containers."""
        message = str(errors.UnsupportedSyntaxError(
            self.parsed.location(stmt), f"item assignment into argument {name!r}, a list or dict",
            "adjoint writes the updates of an argument array back into the caller's array, as the plain "
            "call changes it, but the transforms hand the function lists and dicts of their own, so the "
            "caller's list or dict would not end as the plain call leaves it.",
            f"Work on a copy made in the function ({name} = dict({name}) or list({name})) and return what "
            "the caller needs."))
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="check_not_container", ctx=gast.Load()),
                         args=[load(name), constant(message)], keywords=[])
        self.ops.append(Op("expr", [], call, NONDIFF, [load(name)], lineno=stmt.lineno,
                           no_grad=self.no_grad, construct="argument check"))

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
        if self.outside_list_changed(node, name, before):  # LAYERS[k] = v on a list of the module
            return
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
