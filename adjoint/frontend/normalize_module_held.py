"""Objects held by an object of the module that the function changes
through an attribute chain: ``MODEL.layer.W = v``,
``MODEL.block.layer.step(x)`` on ``MODEL`` of the function's module (or a
closure), with or without a derivative. (``MODEL.layer.W *= 2`` alone
updates the module's array in place as written, with no derivative
through it; with one of the others it is refused as for an argument's.)

Such a root is followed as an object of the module whose attributes the
function sets (normalize_objects.bind_outside_objects), and the objects of
the user's classes it holds when the function is transformed
(frontend/held_objects: each held once, at most 8 links deep) are followed
under their attributes, as those of an argument are (normalize_held): a
change through the chain is made on the object itself and carried up to
the root in the derivative code.

What is assumed is checked each time the code runs (``rt.check_held_objects``,
at entry): the same paths still hold objects of the same classes, each held
only there (not under another attribute, by another object, list or dict of
the module the function reads); otherwise the call is refused at the line
of the first change, since a read under the other name would miss the
change's derivative.
"""
import gast

from .. import errors
from .gastutil import constant, load
from .gastutil import walk as walk_tree
from .ir import NONDIFF, Op
from .resolve import UNRESOLVED


def _root(node):
    """The name an attribute chain starts from (``MODEL`` of ``MODEL.a.b``), if it is longer than one link."""
    if not isinstance(node, gast.Attribute):
        return None
    node = node.value
    if not isinstance(node, gast.Attribute):
        return None
    while isinstance(node, gast.Attribute):
        node = node.value
    return node if isinstance(node, gast.Name) else None


def _load_name(name):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def chains_changed(function_node, value_of, local, user_instance):
    """``({name: (object, first changing node)}, {name: object})``: the
    objects of the module or closure changed through an attribute chain of
    two links or more (``MODEL.layer.W = v``, ``MODEL.layer.step(x)``; an
    update in place, ``MODEL.layer.W *= 2``, counts only with one of
    those), and those only updated in place through one."""
    found, updated_roots = {}, {}
    # (MODEL.layer.W *= 2 alone: an update in place of the module's array, run as written, as before)
    updated = {id(child.target) for child in walk_tree(function_node) if isinstance(child, gast.AugAssign)}
    for child in walk_tree(function_node):
        if id(child) in updated:
            root = _root(child)
            value = value_of(_load_name(root.id)) if root is not None and not local(root.id) else UNRESOLVED
            if value is not UNRESOLVED and user_instance(value):
                updated_roots[root.id] = value
            continue
        if isinstance(child, gast.Attribute) and isinstance(child.ctx, gast.Store):
            root = _root(child)
        elif isinstance(child, gast.Call) and isinstance(child.func, gast.Attribute):
            root = _root(child.func)
        else:
            continue
        if root is None or local(root.id) or root.id in found:
            continue
        value = value_of(_load_name(root.id))
        if value is not UNRESOLVED and user_instance(value):
            found[root.id] = (value, child)
    return found, updated_roots


class ModuleHeld:
    """Methods of ``normalize.Normalizer``; see the module docstring."""

    def bind_module_held(self, node, name, version, value, changing):
        """The objects ``value`` (the module's ``name``, followed as
        ``version``) holds, followed under their attributes, and the check
        made at entry that it still holds them alone (``changing``: the
        user's first change through a chain, named by the refusal)."""
        from .held_objects import held_objects  # (it imports normalize_objects, which imports this module)

        others = self.module_values_read(node, name)
        found = held_objects(version, value, [v for _, v in others])
        for path, cls in found:
            self.new_token(path, cls, outside=True)
            holder, _, last = path.rpartition(".")
            self.attribute_holds[(holder, last)] = frozenset([path])
        if not found:
            return
        message = str(errors.UnsupportedSyntaxError(
            self.parsed.location(changing), f"change of an object held by {name}, an object of the module",
            f"adjoint follows the objects {name} holds as they were when the function was transformed, each "
            "held only there (a read under another name would miss this change's derivative), and {other}.",
            f"Keep each object {name} holds in one attribute only, of the class it had, or pass {name} to the "
            "function as an argument (the objects it holds are then looked at on each call)."))
        expected = gast.Tuple(elts=[gast.Tuple(elts=[constant(name + path[len(version):]), load(self.class_holder(cls))],
                                               ctx=gast.Load()) for path, cls in found], ctx=gast.Load())
        call = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="check_held_objects", ctx=gast.Load()),
                         args=[load(name), expected, constant(message),
                               gast.Tuple(elts=[load(n) for n, _ in others], ctx=gast.Load())], keywords=[])
        self.ops.append(Op("expr", [], call, NONDIFF, [load(name)], lineno=self.lineno, no_grad=self.no_grad,
                           construct=f"the objects {name} holds, checked"))

    def module_chains(self, node, local, changed):
        """``chains_changed`` for ``node``; their roots are added to
        ``changed`` (the objects of the module followed)."""
        chains, updated = chains_changed(node, self.resolver.value_of, local, self.user_instance)
        for name, (value, _) in chains.items():
            changed.setdefault(name, value)
        for name, value in updated.items():  # (not followed; passes give its state back: api/passes.py)
            self.followed_globals.setdefault(name, type(value))
        return chains

    def note_module_change(self, receiver):
        """``receiver.attr = v`` or ``op= v`` run as written (not followed):
        if ``receiver`` is an object or a class of the user's that the
        module holds (``MODEL.block.layer``, ``Counter``), it is listed on
        ``Normalized.changed_values``, whose state the passes of a
        derivative give back (api/passes.py)."""
        from .normalize_objects import user_class

        root = receiver
        while isinstance(root, gast.Attribute):
            root = root.value
        if not isinstance(root, gast.Name) or root.id in self.resolver.locals or root.id in self.params:
            return
        value = self.resolver.value_of(receiver)
        if value is UNRESOLVED or not (user_class(value) or self.user_instance(value)):
            return
        if not any(value is seen for seen in self.changed_values):
            self.changed_values.append(value)

    def user_instance(self, value):
        from .normalize_objects import user_instance

        return user_instance(value)

    def class_holder(self, cls):
        """A name of the generated code's namespace holding ``cls``."""
        holder = self.namer.fresh(f"class_{cls.__name__}")
        self.resolver.constants[holder] = cls
        return holder

    def module_values_read(self, node, name):
        """``[(name, value)]``: the other objects, lists, dicts and tuples of
        the module or closure the function reads by name."""
        found, seen = [], {name}
        for child in walk_tree(node):
            if not (isinstance(child, gast.Name) and isinstance(child.ctx, gast.Load)) or child.id in seen:
                continue
            seen.add(child.id)
            if child.id in self.resolver.locals or child.id in self.params:
                continue
            value = self.resolver.value_of(child)
            if value is not UNRESOLVED and (isinstance(value, (list, dict, tuple)) or self.user_instance(value)):
                found.append((child.id, value))
        return found
