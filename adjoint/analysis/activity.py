"""Activity analysis: which names carry derivatives.

A name is *varied* when its value depends, through differentiable
primitives, on an input being differentiated, and *useful* when the output
depends on it. Only names that are both (*active*) get adjoints. Values made
by nondifferentiable primitives (comparisons, ``x.shape``, ``np.sign``),
inside ``with no_grad():`` or through ``stop_gradient`` are constants.

Guarantees: ``Activity.active`` is exactly varied & useful; an op whose
result is active and whose primitive has no derivative rule raises
``NoRuleError`` (or ``UnsupportedSyntaxError`` for a construct) with the
user's file and line, so nothing is silently treated as a constant.
"""
import functools

import gast
import numpy as np

from .. import errors
from . import shapes
from .. import rules
from ..frontend.gastutil import clone, loaded_names, walk as walk_tree
from ..frontend.ir import NONDIFF, OPAQUE, UNPACK, MethodCall, Op, StarredCall, UndefinedName, UserCall, is_library, walk_ops
from .. import runtime as rt

#: container operations whose adjoints the reverse transformer writes itself
#: (they need the batch size for items without an adjoint).
STRUCTURAL = {rt.make_tuple, rt.make_list, rt.make_dict, rt.append, rt.replace_item, rt.concat_items,
              rt.repeat_items, UNPACK, rt.store_attribute, rt.init_attribute}


class Activity:
    def __init__(self, varied, useful):
        self.varied = varied
        self.useful = useful
        self.active = varied & useful
        #: ops inside a branch whose derivative is missing: an error only if
        #: the branch is taken (id(op) -> the NoRuleError to raise then)
        self.deferred = {}
        self.in_branches = set()


def _ops_in_branches(ops, inside=False, found=None):
    found = set() if found is None else found
    for op in ops:
        if inside:
            found.add(id(op))
        if op.compound:
            branch = inside or op.kind == "if"
            for block in (op.body, op.orelse, op.latch, op.exit_check):
                _ops_in_branches(block, branch, found)
    return found


def carries_derivative(op):
    if op.no_grad or op.prim is NONDIFF:
        return False
    if op.prim in (OPAQUE, None, UNPACK):
        return True
    return not rules.is_nondifferentiable(op.prim)


def varied_from(normalized, wrt, mode="vjp"):
    """Names whose values depend on ``wrt`` through differentiable
    primitives. Loops carry values from one iteration to the next through
    their phi names, so this is a fixed point. In forward mode an argument
    that a tangent rule declares constant carries nothing to the result
    (``rt.unreduce(g, x)`` reads only x's shape), so second derivatives
    through backward code skip the zero tangents of the cotangents."""
    ops = [op for op in walk_ops(normalized.ops) if not op.compound]
    # A loop over an iterator binds its target names itself.
    iterator_loops = [op for op in walk_ops(normalized.ops) if op.loop_target is not None]
    reads = {id(op): _derivative_reads(op) if mode == "jvp" else op.reads() for op in ops + iterator_loops}
    for op in ops:
        if op.attribute_sources is not None:
            # obj.name of an object followed attribute by attribute (normalize_objects):
            # it varies with the values stored under that name only
            reads[id(op)] = {a.id for a in op.attribute_sources if isinstance(a, gast.Name)}
    varied = set(wrt)
    changed = True
    while changed:
        changed = False
        for op in ops + iterator_loops:
            if op.targets and (carries_derivative(op) or op.compound) and reads[id(op)] & varied:
                if not varied.issuperset(op.targets):
                    varied.update(op.targets)
                    changed = True
    return varied


def _derivative_reads(op):
    """The names an op reads whose derivatives can reach its targets."""
    if op.compound or op.statement is not None or op.prim in (OPAQUE, None, UNPACK, NONDIFF):
        return op.reads()
    if not rules.TANGENT_CONSTANTS.get(op.prim) or isinstance(op.prim, (UserCall, MethodCall)):
        return op.reads()
    atoms = rules.tangent_reads(op.prim, op.args, op.kwargs)
    if atoms is None:
        return op.reads()
    return {name for atom in atoms if isinstance(atom, gast.AST) for name in loaded_names(atom)}


def independent_outputs(normalized, wrt):
    """For a function that returns a literal (``return a, b`` or ``{"a": a,
    ...}``): the pairs (item, argument) where the item cannot depend on the
    argument. Their Jacobian blocks are exact zeros, even where the other
    items' derivatives are NaN (0 * NaN would be NaN)."""
    output = normalized.output
    literal = next((op for op in walk_ops(normalized.ops) if op.targets == [getattr(output, "id", None)]
                    and op.prim in (rt.make_tuple, rt.make_list, rt.make_dict)), None)
    if literal is None:
        return None
    pairs = set()
    for position, name in enumerate(wrt):
        varied = varied_from(normalized, {name})
        for item, atom in enumerate(literal.args):
            if not (isinstance(atom, gast.Name) and atom.id in varied):
                pairs.add((item, position))
    return len(literal.args), pairs


# ----- which items of tuples, lists and dicts the output depends on
#
# An item nobody reads (pair = (np.cbrt(x), 2 * x); return pair[1]), or one
# replaced before it is read (d["a"] = v), needs no derivative: were it
# given a zero adjoint, its rule would pull the zero back, and 0 * inf (the
# slope of cbrt at 0) is NaN. A set of keys is (negated, keys): the keys
# themselves, or (negated) every key but those.

_NONE = (False, frozenset())
_ALL = (True, frozenset())


def _union(a, b):
    if not a[0] and not b[0]:
        return (False, a[1] | b[1])
    if a[0] and b[0]:
        return (True, a[1] & b[1])
    positive, negative = (a, b) if not a[0] else (b, a)
    return (True, negative[1] - positive[1])


def _has(keys, key):
    return (key not in keys[1]) if keys[0] else (key in keys[1])


def _without(keys, key):
    return (True, keys[1] | {key}) if keys[0] else (False, keys[1] - {key})


def _constant_key(atom):
    if isinstance(atom, gast.Constant) and type(atom.value) in (int, str):
        return True, atom.value
    return False, None


class _ItemsRead:
    """For each container name, the keys of its items that the output
    depends on (grown to a fixed point with usefulness)."""

    def __init__(self, ops, mode="vjp"):
        self.mode = mode
        self.keys = {}
        definitions = {}
        for op in ops:
            for target in op.targets:
                definitions[target] = definitions.get(target, 0) + 1
        # Lengths of tuples and lists bound once (literals and appends on
        # them), and the append positions they give (len(items) before it).
        self.length = {}
        self.position = {}
        for op in ops:
            if len(op.targets) != 1 or definitions[op.targets[0]] != 1:
                continue
            target = op.targets[0]
            first = op.args[0].id if op.args and isinstance(op.args[0], gast.Name) else None
            if op.prim in (rt.make_tuple, rt.make_list) and not op.kwargs:
                self.length[target] = len(op.args)
            elif op.prim is rt.append and first in self.length:
                self.length[target] = self.length[first] + 1
            elif op.prim is rt.replace_item and first in self.length:
                self.length[target] = self.length[first]
            elif (op.prim is NONDIFF and op.construct == "len" and first in self.length
                  and isinstance(op.value, gast.Call) and len(op.value.args) == 1):
                self.position[target] = self.length[first]
            elif op.prim is NONDIFF and op.construct == "position in the list" and first in self.length:
                known, key = _constant_key(op.args[1])  # items[-1]: counted from the front
                if known and isinstance(key, int) and -self.length[first] <= key < self.length[first]:
                    self.position[target] = key % self.length[first]

    def want(self, name, keys):
        before = self.keys.get(name, _NONE)
        after = _union(before, keys)
        if after == before:
            return False
        self.keys[name] = after
        return True

    def key(self, container, atom):
        known, key = _constant_key(atom)
        if isinstance(atom, gast.Name) and atom.id in self.position:
            return True, self.position[atom.id]
        if known and isinstance(key, int) and key < 0:
            length = self.length.get(container)
            return (True, key + length) if length is not None and key + length >= 0 else (False, None)
        return known, key

    def needed(self, op, useful):
        """(names whose derivatives ``op``'s useful targets need, [(container, keys) read])."""
        reads = op.reads()
        prim = op.prim
        target = op.targets[0] if op.targets else None
        wanted = self.keys.get(target, _ALL)
        first = op.args[0] if op.args else None
        container = first.id if isinstance(first, gast.Name) else None
        if prim in (rt.make_tuple, rt.make_list, rt.make_dict) and len(op.targets) == 1 and not op.kwargs:
            keys = op.keys if op.keys is not None else range(len(op.args))
            needed = set()
            for key, atom in zip(keys, op.args, strict=True):
                key = key.value if isinstance(key, gast.Constant) else key
                if _has(wanted, key) and isinstance(atom, gast.Name):
                    needed.add(atom.id)
            return needed, [(name, _ALL) for name in needed]  # an item read is read whole
        if prim is rt.getitem and container is not None and len(op.args) == 2:
            known, key = self.key(container, op.args[1])
            if known:
                return {container}, [(container, (False, frozenset([key])))]
        if prim is rt.replace_item and container is not None and len(op.args) == 3:
            known, key = self.key(container, op.args[1])
            if op.construct == "method ._replace()":
                known = False  # a namedtuple field's name, not the slot it names (known when the code runs)
            value = op.args[2]
            needed = set(n for n in reads if n != container)
            rest = _without(wanted, key) if known else wanted
            if known and not _has(wanted, key) and isinstance(value, gast.Name):
                needed.discard(value.id)
            whole = [(name, _ALL) for name in needed]
            if rest != _NONE:
                needed.add(container)
            return needed, [(container, rest)] + whole
        if prim is rt.append and container is not None and len(op.args) == 3:
            items, value, position = op.args
            known, key = self.key(container, position)
            needed = set(n for n in reads if n != container)
            if known and not _has(wanted, key) and isinstance(value, gast.Name):
                needed.discard(value.id)
            rest = _without(wanted, key) if known else wanted
            whole = [(name, _ALL) for name in needed]
            if rest != _NONE:
                needed.add(container)
            return needed, [(container, rest)] + whole
        if prim is rt.identity and container is not None and len(op.args) == 1 and len(op.targets) == 1:
            return {container}, [(container, wanted)]
        if prim is UNPACK and container is not None:
            keys = frozenset(i for i, t in enumerate(op.targets) if t in useful)
            return {container}, [(container, (False, keys))]
        if self.mode == "jvp":
            # (an argument a tangent rule reads as a constant, rt.unreduce(g, x)'s x
            # for its shape, needs no tangent there: as in varied_from)
            reads = _derivative_reads(op)
        return reads, [(name, _ALL) for name in reads]


def analyze(normalized, wrt, parsed, callees, mode="vjp"):
    ops = [op for op in walk_ops(normalized.ops) if not op.compound]
    varied = varied_from(normalized, wrt, mode)
    useful = set()
    output = normalized.output
    items = _ItemsRead(ops, mode)
    if isinstance(output, gast.Name):
        useful.add(output.id)
        items.want(output.id, _ALL)
    changed = True
    while changed:
        changed = False
        for op in reversed(ops):
            if any(t in useful and t in varied for t in op.targets) and carries_derivative(op):
                needed, wanted = items.needed(op, useful)
                for name, keys in wanted:
                    changed |= items.want(name, keys)
                new = (needed & varied) - useful
                if new:
                    useful.update(new)
                    changed = True
    activity = Activity(varied, useful)
    activity.in_branches = _ops_in_branches(normalized.ops)
    activity.frozen_in_branches = getattr(normalized, "frozen_in_branches", set())
    # Numbers and flags, and values of shape () (NumPy gives scalars for
    # them): a callee's ``p += v`` re-binds them, changing nothing in place.
    immutable = normalized.immutable | shapes.scalar_names(ops) | _temporary_arguments(normalized)
    checks = []
    for op in walk_ops(normalized.ops):
        check_effects(op, varied, parsed, callees, mode)
        checks.extend((op, check) for check in check_callee_changes(
            op, varied, immutable, parsed, callees, normalized.rt_name, mode) or ())
        if op.loop_target is not None and op.reads() & varied:
            if any(t in useful for t in op.targets):
                raise errors.UnsupportedSyntaxError(
                    parsed.location(op), "for loop over an iterator of differentiated values",
                    "the items of this kind of iterable cannot carry derivatives.",
                    "Loop over the sequence itself, or over range(len(...)) and index it.")
    if mode != "jvp":  # (forward mode computes each derivative where its op runs)
        _check_changed_after_read(normalized.ops, varied, parsed, set(), getattr(normalized, "aliases", {}))
    for op, check in checks:
        _insert_before(normalized.ops, op, check)
    for op in walk_ops(normalized.ops):
        if any(t in activity.active for t in op.targets) and not op.compound:
            try:
                check_rule(op, activity, parsed, mode)
            except errors.NoRuleError as error:
                if id(op) not in activity.in_branches:
                    raise
                # A branch an option selects (if robust: np.median(x)) may never
                # run: its missing derivative is an error when it does.
                activity.deferred[id(op)] = error
    return activity


#: NumPy functions and array methods that write into their first argument.
IN_PLACE_FUNCTIONS = {np.fill_diagonal, np.copyto, np.put, np.place, np.putmask, np.put_along_axis}
IN_PLACE_METHODS = {"sort", "fill", "put", "itemset", "resize", "partition", "setfield", "byteswap"}


def _changes_arguments(op):
    prim = op.prim
    if isinstance(prim, MethodCall):
        return prim.name in IN_PLACE_METHODS
    if getattr(prim, "__name__", None) == "at" and isinstance(getattr(prim, "__self__", None), np.ufunc):
        return True  # np.add.at(y, i, v)
    if isinstance(prim, np.ufunc) and len(op.args) > prim.nin:
        return True  # an output array passed by position: np.negative(x, y)
    try:
        return prim in IN_PLACE_FUNCTIONS
    except TypeError:
        return False


def _written_in_place(op):
    """The names whose arrays ``op`` writes into (np.copyto(y, v), y.fill(v),
    np.multiply(a, b, y), out=y), or an empty set."""
    names = set()
    if _changes_arguments(op) and op.args:
        names = op.args[0].id if isinstance(op.args[0], gast.Name) else None
        names = {names} if names else set()
        if isinstance(op.prim, np.ufunc) and len(op.args) > op.prim.nin:
            names = {a.id for a in op.args[op.prim.nin:] if isinstance(a, gast.Name)}
    out = op.kwargs.get("out")
    if isinstance(out, gast.AST):
        names |= {n.id for n in walk_tree(out) if isinstance(n, gast.Name)}
    return names


def _sharing(names, aliases):
    """``names`` with every value that may share memory with one of them."""
    component, pending = set(names), list(names)
    while pending:
        for other in aliases.get(pending.pop(), ()):
            if other not in component:
                component.add(other)
                pending.append(other)
    return component


def _check_changed_after_read(ops, varied, parsed, read, aliases):
    """Refuses an array that carries no derivative changed in place after
    (or, in a loop, around) an op on differentiated values read it: that
    op's derivative reads its operands when the derivative code runs, and
    would get the changed values (x ** y, then np.copyto(y, 3.0), or into
    a view of y). ``read``: the names such ops read so far (grown in place);
    ``aliases``: the normalizer's links between values that may share memory."""
    for op in ops:
        if op.compound:
            if op.kind in ("for", "while"):
                read |= {n for inner in walk_ops(op.body + op.orelse + op.latch) if not inner.compound
                         and inner.reads() & varied for n in inner.reads()}
            for block in (op.body, op.orelse, op.latch, op.exit_check):
                _check_changed_after_read(block, varied, parsed, read, aliases)
            continue
        written = _written_in_place(op)
        stale = sorted(_sharing(written, aliases) & read - varied) if written else []
        if stale:
            named = [n for n in stale if not (n[:1] == "t" and n[1:].isdigit())]  # (not a temporary)
            what, name = (repr(named[0]), named[0]) if named else ("an array", "y")
            raise errors.InPlaceChangeError(
                parsed.location(op), f"{op.construct} writing into {what}",
                f"an operation on differentiated values read {what} before, and its derivative "
                "reads it again when the derivative code runs, after this change: it would get the new "
                "values, a wrong derivative.",
                f"Write the new values into a new array ({name} = np.full_like({name}, v), "
                f"{name} = np.exp({name})), or change a copy: {name} = {name}.copy() first.")
        if op.reads() & varied:
            read |= op.reads()


def _callee_transform(callees, mode, function, positions, arity):
    """The callee's transform of the caller's own mode: a forward-mode caller
    needs the callee's JVP (built anyway), not a VJP built only to be checked."""
    if mode == "jvp":
        return callees.jvp(function, positions, arity)
    return callees.vjp(function, positions, arity)


def _transforms_cleanly(op, varied, callees, mode="vjp"):
    """Whether the user's function called for its effect (``report(y)``)
    transforms with respect to the differentiated values it gets: its
    transform refuses in-place changes of them, so then it has none."""
    try:
        found = op.prim.differentiated(op.args, op.kwargs,
                                       lambda atom: isinstance(atom, gast.Name) and atom.id in varied)
    except TypeError:
        return False
    if found:  # raises, at the callee's line, if the callee changes them in place
        _callee_transform(callees, mode, op.prim.function, tuple(p for p, _, _ in found), op.prim.arity)
    return True


def _allocates(op):
    """Whether ``op`` makes a new array (never a view of another): a ufunc
    called without ``out`` (``x * 1.0``, ``np.exp(x)``), np.copy, np.array."""
    if op.kind != "assign" or len(op.targets) != 1 or op.compound:
        return False
    prim = op.prim
    if isinstance(prim, np.ufunc):
        return len(op.args) <= prim.nin and "out" not in op.kwargs
    return prim is np.copy or (prim is np.array and "copy" not in op.kwargs)


def _temporary_arguments(normalized):
    """Names that hold a new array made only to be passed to one call
    (``callee(x * 1.0)``): made in the block of the call, before it, and
    read by that call alone. A callee that changes it in place changes
    nothing anyone reads again, so it is fine (as a number re-bound is)."""
    reads = {}
    for op in walk_ops(normalized.ops):
        for name in op.reads():
            reads[name] = reads.get(name, 0) + 1
    for node in (normalized.output, normalized.result):
        for name in (n.id for n in walk_tree(node) if isinstance(n, gast.Name)) if node is not None else ():
            reads[name] = reads.get(name, 0) + 2  # the value returned is read again by the caller
    found = set()

    def visit(block):
        made = {}
        for op in block:
            if op.compound:
                for inner in (op.body, op.orelse, op.latch, op.exit_check):
                    visit(inner)
                made = {}  # (not across a loop or branch)
                continue
            if isinstance(op.prim, UserCall):
                found.update(a.id for a in list(op.args) + list(op.kwargs.values())
                             if isinstance(a, gast.Name) and a.id in made and reads.get(a.id) == 1)
            if _allocates(op):
                made[op.targets[0]] = op

    visit(normalized.ops)
    defined = {}
    for op in walk_ops(normalized.ops):
        for target in op.targets:
            defined[target] = defined.get(target, 0) + 1
    return {name for name in found if defined.get(name) == 1 and name not in normalized.params}


def check_callee_changes(op, varied, immutable, parsed, callees, rt_name="rt", mode="vjp"):
    """A call of the user's function that gets differentiated values: NumPy
    would see the callee change them in place, the derivative would not.
    Its transform refuses item updates and appends on them; ``p += v`` on a
    parameter is exact inside the callee, so it is refused here, where an
    array the caller may read again is passed to it: the checks returned,
    run before the call, refuse it if an array is passed (a number is
    re-bound by ``p += v``, which changes nothing)."""
    if not isinstance(op.prim, UserCall) or op.compound or callees.in_progress(op.prim.function, mode):
        return  # (a recursive call: its transform is the one being built)
    try:
        found = op.prim.differentiated(op.args, op.kwargs,
                                       lambda atom: isinstance(atom, gast.Name) and atom.id in varied)
        mutable = op.prim.differentiated(op.args, op.kwargs,
                                         lambda atom: isinstance(atom, gast.Name) and atom.id not in immutable)
    except TypeError:
        return  # the call does not match the function: an error of its own, elsewhere
    if any(position is None for position, _, _ in found):
        return
    if found:
        try:
            augmented = _callee_transform(callees, mode, op.prim.function, tuple(p for p, _, _ in found),
                                          op.prim.arity).augmented_params
        except errors.InPlaceChangeError:
            raise  # (ArgumentChangedError among them) the call matters even if its result is unused
        except errors.TransformError:
            # Not differentiated here (its result is not needed), and checked
            # where it is; what it changes in place counts all the same.
            found = []
    if not found:  # nothing differentiated is passed (or a batched transform): its changes still count
        augmented = callees.facts(op.prim.function)[1]
    checks = []
    for _, parameter, atom in mutable:
        if parameter in augmented:
            message = str(errors.changed_argument_at_call_error(
                parsed.location(op), op.prim.name, parameter, augmented[parameter]))
            # A number (x[0] of a 1-d x) is re-bound there, an array changed:
            # which one is passed is seen when the code runs.
            call = gast.Call(func=gast.Attribute(value=gast.Name(id=rt_name, ctx=gast.Load(), annotation=None,
                                                                 type_comment=None),
                                                 attr="check_not_array", ctx=gast.Load()),
                             args=[clone(atom), gast.Constant(value=message, kind=None)], keywords=[])
            checks.append(Op("expr", [], call, NONDIFF, [clone(atom)], lineno=op.lineno, no_grad=op.no_grad,
                             construct="alias check"))
    return checks


def _insert_before(ops, op, new):
    """Put ``new`` right before ``op`` in the block (at any depth) that holds it."""
    for position, other in enumerate(ops):
        if other is op:
            ops.insert(position, new)
            return True
        if other.compound and any(_insert_before(block, op, new)
                                  for block in (other.body, other.orelse, other.latch, other.exit_check)):
            return True
    return False


def check_effects(op, varied, parsed, callees, mode="vjp"):
    """Changes made in place to differentiated values are invisible to the
    derivative: ``out=`` arguments, and calls whose result is dropped
    (``np.add.at(y, i, v)``, ``np.fill_diagonal(A, 0)``, ``y.sort()``)."""
    reads = op.reads() & varied
    if not reads or op.prim is NONDIFF or op.prim is rt.write_back:  # (the caller's argument, written back)
        return
    if op.prim is rt.set_attribute:
        if isinstance(op.args[2], gast.Name) and op.args[2].id in varied:
            raise errors.UnsupportedSyntaxError(
                parsed.location(op), f"{op.construct} to a differentiated value",
                "adjoint follows the attributes of objects the function makes (State(x), a dataclass), of "
                "objects of the module or a closure it changes (cell.h = v, cell.step(x)) and of the objects "
                "they or the arguments hold once each (MODEL.layer.W = v); this one is none of those (an "
                "object held under two names, or in a container, or changed by a method that a function the "
                "differentiated one calls runs), so code that reads the attribute back would get no "
                "derivative.",
                "Make the object in the function, or keep the value in a local name or return it; objects "
                "may hold values that are not differentiated (settings, counters, arrays given as constants).")
        return
    if rt.is_helper(op.prim) and rules.is_nondifferentiable(op.prim):
        return  # a check generated code makes (rt.check_keys_unchanged): it changes nothing
    if op.prim in (np.bitwise_or, np.bitwise_and, np.bitwise_xor) and not op.no_grad:
        raise errors.UnsupportedSyntaxError(
            parsed.location(op), op.construct,
            "on differentiated values it can only merge dicts or sets, which is not differentiated.",
            "Build the dict with a literal, dict(d) and item assignment (d[k] = v).",
        )
    if (getattr(op.prim, "__self__", None) is np.add and getattr(op.prim, "__name__", None) == "at"
            and op.args and isinstance(op.args[0], gast.Name)):
        raise errors.UnsupportedSyntaxError(
            parsed.location(op), op.construct,
            "it adds into its first argument in place, which is differentiated only on an array "
            "made in the function and held by no other name (it may share memory with an argument, "
            "a view or another value, and NumPy would change that value too).",
            "Work on a copy made in the function: y = y.copy() (or np.zeros(...)), then np.add.at(y, ...).",
        )
    if _changes_arguments(op):
        raise errors.InPlaceChangeError(
            parsed.location(op), op.construct,
            "it changes its arguments in place, and adjoint cannot follow changes made in place "
            "to differentiated values.",
            "Use a function that returns the new value (np.sort(x), np.where, y = y + ...).",
        )
    if "out" in op.kwargs:
        raise errors.InPlaceChangeError(
            parsed.location(op), f"{op.construct} with out=",
            "it writes into an existing array, and adjoint cannot follow changes made in place "
            "to differentiated values.",
            "Use the result instead: y = np.exp(y).",
        )
    if op.kind == "expr" and isinstance(op.prim, UserCall) and _transforms_cleanly(op, varied, callees, mode):
        return  # the user's function, transformed: it cannot change its arguments in place
    func = op.value.func if op.kind == "expr" and isinstance(op.value, gast.Call) else None
    if (op.construct in ("list.append", "list.extend", "list.insert") and isinstance(func, gast.Attribute)
            and isinstance(func.value, gast.Name)):
        from ..frontend.resolve import local_names

        if func.value.id not in local_names(parsed.node):  # LOG.append(h): a list of the module or a closure
            raise errors.outside_list_grown(parsed.location(op), op.construct, func.value.id)
    if op.kind == "expr" and op.prim is not print:
        raise errors.InPlaceChangeError(
            parsed.location(op), f"{op.construct} (its result unused)",
            "a call on differentiated values whose result is dropped matters only if it changes "
            "its arguments in place (np.add.at, np.fill_diagonal, x.sort(), x.fill()) or sets attributes "
            "of its object (self.h = ...; followed for objects the function makes, is given as an argument "
            "(by name, through *args read by index, and the objects an argument holds in its attributes, "
            "each once) or that the module or a closure holds, and on objects and lists those hold when the "
            "function put them there: not self.hs.append(h) on a list made before the call, nor an object "
            "an argument holds under two names, nor inside a derivative called by a differentiated "
            "function), "
            "and adjoint cannot follow such changes.",
            "Use a function that returns the new value (np.sort(x), y = y + ..., np.where), or "
            "wrap the arguments in adjoint.stop_gradient(...) if the call only reads them.",
        )


#: ndarray attributes with no rule, unlikely as namedtuple field names
#: (``.data`` or ``.base`` may well be fields, so they are left to run time).
ARRAY_ONLY_ATTRIBUTES = {"real", "imag", "flat"}


def check_rule(op, activity, parsed, mode="vjp"):
    if op.prim is NONDIFF:  # a name left unbound on one path of a branch: no value, no derivative
        return
    if not carries_derivative(op):
        # a constant (np.zeros(3), stop_gradient, a no_grad block) assigned to a name
        # that another path of a branch differentiates: its derivative is zero
        return
    location = parsed.location(op)
    refusal = getattr(op.construct, "refusal", None)
    if refusal is not None:  # a SciPy option without a rule (frontend/normalize_scipy_calls.RefusedOption)
        raise errors.UnsupportedSyntaxError(location, str(op.construct), *refusal)
    if op.prim is OPAQUE and op.construct == "lambda":
        raise errors.UnsupportedSyntaxError(
            location, "lambda used as a value",
            "it captures differentiated values, and a lambda that is passed on or stored (not "
            "called here) is not differentiated, so they would get no derivative.",
            "Pass those values to it as arguments, or call the lambda here.",
        )
    if op.prim is OPAQUE and op.construct == "generator expression":
        raise errors.UnsupportedSyntaxError(
            location, "generator expression of differentiated values",
            "Python runs a generator lazily, item by item, for whoever reads it; adjoint differentiates "
            "one only where sum, max, min, list, tuple, sorted or dict reads it at once.",
            "Use a list comprehension [...] instead, or hand the generator straight to one of those.",
        )
    if op.prim is OPAQUE and op.construct == "set comprehension":
        raise errors.UnsupportedSyntaxError(
            location, "set comprehension of differentiated values",
            "a set has no order for derivatives to follow, and equal values merge into one.",
            "Use a list comprehension [...] (or a dict comprehension) instead.",
        )
    if op.prim is OPAQUE:
        raise errors.UnsupportedSyntaxError(
            location, op.construct,
            "it cannot be differentiated, and a value it computes depends on the inputs.",
            "Rewrite it with NumPy operations, or wrap the value in adjoint.stop_gradient(...).",
        )
    if (op.prim is rt.attribute and isinstance(op.args[1], gast.Constant)
            and op.args[1].value in ARRAY_ONLY_ATTRIBUTES):
        raise errors.UnsupportedSyntaxError(
            location, f"attribute .{op.args[1].value}",
            "it has no derivative rule on a differentiated array.",
            "Use a supported form instead (x.ravel()[i] for x.flat[i]; a real array is its own "
            ".real), or wrap the value in adjoint.stop_gradient(...).",
        )
    if op.prim in STRUCTURAL or op.prim in (rt.getitem, rt.identity, rt.attribute):
        return
    if op.prim is functools.partial:
        raise errors.UnsupportedSyntaxError(
            location, "functools.partial of differentiated values used as a value",
            "a partial made in the function is differentiated where it is called under the name it "
            "was made with, or inside a function of the same module it is passed to; this one is chosen "
            "by a branch or a loop, passed to a function of another module, stored or returned, so the "
            "values it binds would get no derivative.",
            "Call it where it is made (or in a function of this module it is passed to), or pass those "
            "values to the function as arguments.",
        )
    if isinstance(op.prim, StarredCall) and op.prim.function is zip:
        raise errors.UnsupportedSyntaxError(
            location, "zip(*...) of differentiated values",
            "how many sequences zip pairs up is known only when the code runs, and zip itself "
            "has no derivative rule.",
            "Take the columns with comprehensions (Ws = [W for W, b in params], bs = [b for W, b in "
            "params]), or loop with for W, b in params.",
        )
    if isinstance(op.prim, (UserCall, StarredCall)):
        return
    if isinstance(op.prim, MethodCall):
        receiver = op.args[0]
        if op.prim.name is None and isinstance(receiver, gast.Name) and receiver.id in activity.varied:
            raise errors.UnsupportedSyntaxError(
                location, op.construct,
                "the function called here was made from differentiated values (a closure "
                "returned by another call, for instance), and the values it captured would get "
                "no derivative.",
                "Pass those values to it as arguments, or call a function defined at module level.",
            )
        if op.prim.name == "_replace" and isinstance(receiver, gast.Name) and receiver.id in activity.varied:
            raise errors.namedtuple_replace_error(location, op.construct)
        if (op.prim.name is not None and isinstance(receiver, gast.Name) and receiver.id in activity.varied
                and receiver.id in getattr(activity, "frozen_in_branches", ())):
            from ..frontend.normalize_scipy import frozen_in_branches_error

            raise frozen_in_branches_error(location, op.prim.name, receiver.id)
        if (op.prim.name is not None and isinstance(receiver, gast.Name) and receiver.id in activity.varied
                and not hasattr(np.ndarray, op.prim.name)):
            raise errors.UnsupportedSyntaxError(
                location, op.construct,
                "no array has this method: it is a method of an object (of your class, say) that adjoint "
                "does not follow here, so the values it reads from the object would get no derivative. "
                "adjoint follows an object made in this function (Model(W)), or returned by a function of "
                "this module that makes it, and reads its methods in place.",
                "Make the object in this function, or pass the arrays its method needs as arguments "
                "(model.apply(params, x)).",
            )
        if op.prim.name is not None and isinstance(receiver, gast.Name) and receiver.id in activity.varied:
            raise errors.NoRuleError(
                location, op.construct,
                "adjoint has no derivative for this method of a differentiated value.",
                "Call the NumPy function instead (np.name(x, ...)) if adjoint has a rule for it "
                "(docs/supported.md lists them), or compute the value another way.",
            )
        return
    if op.prim is None and op.construct.startswith("method ."):
        raise errors.NoRuleError(
            location, op.construct,
            "adjoint has no derivative for this method of a differentiated value.",
            "Call the NumPy function instead (np.name(x, ...)) if adjoint has a rule for it "
            "(docs/supported.md lists them), or compute the value another way.",
        )
    if op.prim is None and isinstance(op.construct, UndefinedName):
        raise errors.undefined_name_error(location, str(op.construct))
    if op.prim is None:
        raise errors.NoRuleError(
            location, op.construct,
            "this callable is only known when the code runs, so adjoint cannot choose a "
            "derivative for it.",
            "Call a function defined at module level, or register its derivative with "
            "adjoint.defvjp.",
        )
    if isinstance(op.prim, type) and not is_library(op.prim) and rules.lookup(op.prim) is None:
        raise errors.UnsupportedSyntaxError(
            location, f"an object of class {op.prim.__name__} made from differentiated values",
            "adjoint follows an object's attributes by reading its class's __init__ and methods in place "
            "of the calls, which this class does not allow (a library's class, super() or another closure, "
            "*args, a custom __new__, a dataclass field made by a factory, no source), so the values its "
            "methods read from it would get no derivative.",
            "Pass the arrays to its methods as arguments (model.apply(params, x)), or make the object "
            "outside the function and differentiate with respect to the arrays its methods take.")
    if isinstance(op.prim, np.vectorize) and rules.lookup(op.prim) is None:
        pyfunc = getattr(op.prim.pyfunc, "__name__", None)
        raise errors.library_callable_error(location, f"np.vectorize({pyfunc})" if pyfunc else op.construct, True)
    if mode == "jvp" and op.prim in (rt.setitem, rt.copy):
        return  # the forward builder writes their tangents itself
    if mode == "jvp" and op.prim in rt.DYNAMIC_HELPERS:
        return  # the forward builder transforms the callee they find when they run (rt.dynamic_tangent)
    if mode == "jvp" and rules.helper_by_source(op.prim):
        return  # the forward builder transforms the helper's own source
    if mode == "jvp" and rules.lookup_tangent(op.prim) is None:
        raise errors.NoRuleError(
            location, op.construct,
            "adjoint has no forward-mode (tangent) rule for this function, and the value it "
            "computes depends on the inputs being differentiated.",
            errors.no_tangent_rule_fix(op.construct),
        )
    if mode == "vjp" and rules.lookup(op.prim) is None:
        raise errors.NoRuleError(
            location, op.construct,
            "adjoint has no derivative rule for this function, and the value it computes "
            "depends on the inputs being differentiated.",
            errors.no_rule_fix(op.construct),
        )
