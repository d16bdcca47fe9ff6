"""Lists of the module (or of a closure) whose items the function replaces:
``LAYERS[0] = W``, ``LAYERS[-1] *= 2`` on a ``LAYERS = []`` that another
function filled (``register(W)`` appending to it).

Such a list is read, at entry, into a working copy of its own (its arrays
copied, ``rt.outside_list_entry``), followed in SSA form like a list the
function made, and each change is made on the module's list too, at once,
as Python makes it (``rt.outside_item_back``): ``LAYERS[k] = v`` puts ``v``
itself in the slot; ``LAYERS[k] op= v`` updates an array that was in the
list at entry in place, as NumPy does, so whatever else holds that array
(the caller that registered it) sees the new values. The derivative code
reads only the working copy, so what is written back never changes a value
it keeps.

What stays exact is refused: another change of the list in the function
(``LAYERS.append(v)``, ``del LAYERS[0]``) and a call of a function that
names the list (it would read or change the module's list while this
function reads its copy), at the user's line; and, when the code runs, an
update in place of an array that the function also reads from the module
under another name (the derivative code would keep the changed values).
A differentiated value stored in the list is listed on
``Normalized.outside_stores``, as for objects of the module
(normalize_objects): a transform used by a caller that has any is refused,
since the caller would read it without its derivative.
"""
import types

import gast

from .. import errors
from .. import runtime as rt
from .gastutil import constant, load
from .gastutil import walk as walk_tree
from .ir import NONDIFF, Op, is_library
from .resolve import UNRESOLVED

#: methods that change a list in place
LIST_CHANGES = frozenset(("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"))


def _names_in(code, seen):
    """The global names ``code`` and the code nested in it use."""
    found, codes = set(), [code]
    while codes:
        current = codes.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.update(current.co_names)
        codes.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    return found


def _names_list(function, name, items, depth=0, seen=None):
    """Whether the user's ``function`` (or one it names, a few calls deep)
    reads the list ``items`` of its module under ``name``."""
    seen = set() if seen is None else seen
    if not isinstance(function, types.FunctionType) or is_library(function) or depth > 3:
        return False
    names = _names_in(function.__code__, seen)
    namespace = function.__globals__
    if name in names and namespace.get(name) is items:
        return True
    return any(_names_list(namespace[n], name, items, depth + 1, seen) for n in names
               if isinstance(namespace.get(n), types.FunctionType))


class ModuleLists:
    """Methods of ``normalize.Normalizer``; see the module docstring."""

    def bind_outside_lists(self, node):
        """The lists of the module or closure whose items ``node``'s body
        replaces get a working copy before anything else runs."""
        self.outside_list_names = {}  # the user's name -> the version holding the module's original items
        self.outside_list_stores = []  # (location, stored atom), see Normalized.outside_stores
        self.outside_list_updates = set()  # (line, column) of the targets of LAYERS[k] op= v
        params = set(self.params)

        def outside_list(target):
            if not (isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name)):
                return None
            name = target.value.id
            if name in self.resolver.locals or name in params or name in self.version:
                return None
            value = self.resolver.value_of(gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None))
            return name if value is not UNRESOLVED and type(value) is list else None

        changed = {}
        for child in walk_tree(node):
            targets = (child.targets if isinstance(child, gast.Assign)
                       else [child.target] if isinstance(child, gast.AugAssign) else [])
            for target in targets:
                name = outside_list(target)
                if name is None:
                    continue
                changed.setdefault(name, self.resolver.value_of(target.value))
                if isinstance(child, gast.AugAssign):
                    self.outside_list_updates.add((target.lineno, target.col_offset))
        if not changed:
            return
        for child in walk_tree(node):
            self.refuse_other_list_changes(child, changed)
        module_arrays = self.module_arrays(node, changed)
        for name in sorted(changed):
            originals, version = self.namer.fresh(f"{name}_at_entry"), self.namer.fresh(name)
            for target, helper in ((originals, "outside_list_originals"), (version, "outside_list_entry")):
                call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr=helper, ctx=gast.Load()),
                                 args=[load(name)], keywords=[])
                self.ops.append(Op("assign", [target], call, NONDIFF, [], lineno=self.lineno, no_grad=self.no_grad,
                                   construct=f"the module's list {name} at entry"))
                self.defined.add(target)
            self.version[name] = version
            self.user_versions[version] = name
            self.owners[version] = "owned"
            self.container_versions.add(version)
            self.list_versions.add(version)
            self.outside_list_names[name] = (originals, module_arrays)
            self.followed_globals[name] = list  # (the transform is stale once the name holds something else)

    def refuse_other_list_changes(self, child, changed):
        """``LAYERS.append(v)``, ``del LAYERS[k]`` and calls of functions
        that name the list, in a function that replaces its items."""
        if isinstance(child, gast.Delete):
            for target in child.targets:
                if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) \
                        and target.value.id in changed:
                    raise self.outside_list_error(child, target.value.id, f"del {target.value.id}[...]")
        if not isinstance(child, gast.Call):
            return
        func = child.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and func.value.id in changed \
                and func.attr in LIST_CHANGES:
            raise self.outside_list_error(child, func.value.id, f"{func.value.id}.{func.attr}(...)")
        callee = self.resolver.value_of(func)
        for name, items in changed.items():
            if callee is not UNRESOLVED and _names_list(callee, name, items):
                raise self.unsupported(
                    child, f"call of {getattr(callee, '__name__', 'a function')}",
                    f"this function replaces items of {name}, a list of the module, and the function it "
                    f"calls here uses {name} too: it would read or change the module's list while this "
                    "function follows its own view of it.",
                    f"Change {name} in one function only (return the values from the other one), or pass "
                    "the items as arguments.")

    def outside_list_error(self, node, name, construct):
        return self.unsupported(
            node, construct,
            f"{name} is a list of the module (or a closure) whose items this function replaces, and adjoint "
            "follows such a list only through its items (LAYERS[k] = v, LAYERS[k] op= v): its length does "
            "not change in the function.",
            f"Append to {name} or remove from it in a function that calls this one (or before the call).")

    def module_arrays(self, node, changed):
        """Loads of the arrays of the module the function reads by name
        (other than the lists it changes): an update in place of an item
        that shares memory with one is refused when the code runs."""
        found = []
        for child in walk_tree(node):
            if not (isinstance(child, gast.Name) and isinstance(child.ctx, gast.Load)) or child.id in changed:
                continue
            if child.id in self.resolver.locals or child.id in self.params or child.id in found:
                continue
            value = self.resolver.value_of(child)
            if value is not UNRESOLVED and type(value).__module__ == "numpy" and hasattr(value, "shape"):
                found.append(child.id)
        return found

    def outside_list_changed(self, node, name, before):
        """After ``name[k] = v`` (or ``op=``) on a list of the module: the
        same change made on the module's list. True if ``name`` is one."""
        entry = getattr(self, "outside_list_names", {}).get(name)
        if entry is None or not isinstance(node, gast.Subscript):
            return False
        originals, module_arrays = entry
        new = self.read(name)
        made = next((op for op in reversed(self.ops) if op.targets == [new] and op.prim is rt.replace_item), None)
        if made is None:
            raise self.outside_list_error(node, name, f"update of an item of {name!r}")
        _, key, value = made.args
        in_place = (getattr(node, "lineno", None), getattr(node, "col_offset", None)) in self.outside_list_updates
        message = "" if not in_place else str(errors.UnsupportedSyntaxError(
            self.parsed.location(node), f"augmented assignment to an item of {name!r}",
            f"the item is an array of the module's list {name}, which NumPy updates in place, and it shares "
            "memory with an array the function also reads from its module, whose values the derivative "
            "code would then not have.",
            f"Write {name}[...] = {name}[...] ... (a new array), or read the array only through {name}."))
        others = gast.Tuple(elts=[load(n) for n in module_arrays if in_place], ctx=gast.Load())
        args = [load(name), key, value, constant(in_place), load(originals), others, constant(message)]
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="outside_item_back", ctx=gast.Load()),
                         args=args, keywords=[])
        self.ops.append(Op("expr", [], call, rt.outside_item_back, [key, value, load(originals)],
                           lineno=self.lineno, no_grad=self.no_grad,
                           construct=f"an item of {name}, a list of the module, changed"))
        where = self.parsed.location(node)
        self.outside_list_stores.append((errors.ModuleListLocation(where.filename, where.lineno, where.line), value))
        return True
