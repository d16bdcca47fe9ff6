"""Ownership across an inlined nested function's call (normalize_inline).

Binding a nested function's parameter to the caller's value (``a =
force(x)``) makes the parameter a second name of that value, so the value
counts as shared (normalize_ownership.hold): an update in place of ``x``
while the parameter lives would change what the parameter reads. Once the
inlined body is over, its parameters are gone; if nothing that outlives the
call can hold the value through them (the result, a name of the caller, a
container, a closure, a call whose result the transform cannot see into),
the value is the caller's alone again, as it is after a call of a module
function that returns a new value (``x += dt * v`` after ``a = force(x)``
in a velocity-Verlet loop). A nested function that returns its argument or
a view of it keeps the value shared.
"""
from .ir import NONDIFF, walk_ops


class BindingShare:
    """What binding the parameters of one inlined call changed in the
    ownership state: taken before the binding (``before``) and after it
    (``after``), given back by ``release`` when the body is over."""

    def __init__(self, normalizer):
        self.owners = dict(normalizer.owners)
        self.held = set(normalizer.held_elsewhere)
        self.changed, self.bound = {}, {}  # name -> its owner state before the binding, after it
        self.added = set()
        self.functions = (len(normalizer.local_functions), len(normalizer.local_partials))
        self.start = None

    def after(self, normalizer):
        """Note what the binding changed, and where the body's ops begin."""
        owners = normalizer.owners
        self.changed = {name: self.owners.get(name) for name in set(owners) | set(self.owners)
                        if owners.get(name) != self.owners.get(name)}
        self.bound = {name: owners.get(name) for name in self.changed}
        self.added = normalizer.held_elsewhere - self.held
        self.start = len(normalizer.ops)
        self.ops = normalizer.ops

    def release(self, normalizer, params, result):
        """Give the caller's values back their ownership from before the
        binding when nothing outliving the call can hold them through the
        parameters (see the module's text); otherwise leave them shared."""
        touched = set(self.changed) | self.added
        if not touched or normalizer.ops is not self.ops:
            return
        if (len(normalizer.local_functions), len(normalizer.local_partials)) != self.functions:
            return  # a function made in the body may keep the parameter (a closure)
        body = list(walk_ops(self.ops[self.start:]))
        if any(op.reads() & touched for op in body):
            return  # the body reads the caller's value itself too (a closure), not only as its parameter
        component = _reached(normalizer.aliases, set(params), touched)
        if component & normalizer.untracked:
            return  # a call the transform cannot see into got the value
        live = set(normalizer.version.values()) | {result} | set(getattr(normalizer, "closure_held", {}))
        if component & live:
            return  # the result or a caller's name (a container it holds) may hold the value
        for op in body:
            if component & op.reads() and (op.kind not in ("assign", "unpack", "expr", "if", "while")
                                           or (op.kind == "expr" and op.prim is not NONDIFF
                                               and not normalizer.tracked(op.prim))):
                return  # a loop over it, a statement kept as it is, a call for its effect that may keep it
        for name, before in self.changed.items():
            if normalizer.owners.get(name) != self.bound[name]:
                continue  # changed again by the body: left as the body left it
            if before is None:
                normalizer.owners.pop(name, None)
            else:
                normalizer.owners[name] = before
        normalizer.held_elsewhere -= self.added


def _reached(aliases, start, stop):
    """The values linked to ``start`` by ``aliases`` (may share memory),
    not going through the names in ``stop`` (the caller's values bound)."""
    found, pending = set(start), list(start)
    while pending:
        for other in aliases.get(pending.pop(), ()):
            if other not in found and other not in stop:
                found.add(other)
                pending.append(other)
    return found
